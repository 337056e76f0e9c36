#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "daemon/hugemem.h"

static size_t
whole_pages(size_t size)
{
	return (size + HUGEMEM_PAGE - 1) & ~(HUGEMEM_PAGE - 1);
}

void *
hugemem_calloc(size_t size)
{
	if (size < HUGEMEM_PAGE)
		return calloc(1, size);
	size_t whole = whole_pages(size);
	if (whole < size || whole + HUGEMEM_PAGE < whole)
		return NULL;
	/* one page more, to cut an aligned run out of it */
	uint8_t *p = mmap(NULL, whole + HUGEMEM_PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	size_t lead = (HUGEMEM_PAGE - (uintptr_t)p % HUGEMEM_PAGE) %
	    HUGEMEM_PAGE;
	if (lead > 0)
		munmap(p, lead);
	munmap(p + lead + whole, HUGEMEM_PAGE - lead);	/* lead < a page */
	p += lead;
#ifdef MADV_HUGEPAGE
	/*
	 * Only advice: where huge pages are off or none is free, the kernel
	 * gives small ones and nothing else changes.
	 */
	(void)madvise(p, whole, MADV_HUGEPAGE);
#endif
	return p;
}

void
hugemem_free(void *p, size_t size)
{
	if (p == NULL)
		return;
	if (size < HUGEMEM_PAGE)
		free(p);
	else
		munmap(p, whole_pages(size));
}
