#include <stdlib.h>
#include <sys/mman.h>

#include "daemon/hugemem.h"

void *
hugemem_alloc(size_t size)
{
	void *p;

	if (size < HUGEMEM_PAGE)
		return malloc(size);
	/* whole huge pages: the last one's tail is never touched */
	size_t whole = (size + HUGEMEM_PAGE - 1) & ~(HUGEMEM_PAGE - 1);
	if (whole < size || (p = aligned_alloc(HUGEMEM_PAGE, whole)) == NULL)
		return NULL;
#ifdef MADV_HUGEPAGE
	/*
	 * Only advice: where huge pages are off or none is free, the kernel
	 * gives small ones and nothing else changes.
	 */
	(void)madvise(p, whole, MADV_HUGEPAGE);
#endif
	return p;
}
