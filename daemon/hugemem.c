#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* the heap's growth step */
#define HEAP_STEP	((size_t)64 << 20)
#define SMALL_PAGE	((uintptr_t)4096)
/* below malloc's mmap threshold (128 KiB, fixed once M_TOP_PAD is set) */
#define HEAP_NUDGE	((size_t)64 << 10)

static pthread_mutex_t	heap_mu = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t	heap_advised;	/* up to here; 0: not in use */

void
hugemem_heap_grown(void)
{
	pthread_mutex_lock(&heap_mu);
	void *brk_now = sbrk(0);
	uintptr_t top = (uintptr_t)brk_now & ~(SMALL_PAGE - 1);
	if (heap_advised != 0 && brk_now != (void *)-1) {
#ifdef MADV_HUGEPAGE
		if (top > heap_advised)
			(void)madvise((void *)heap_advised, top - heap_advised,
			    MADV_HUGEPAGE);
#endif
		heap_advised = top;	/* below it when trimmed: again from there */
	}
	pthread_mutex_unlock(&heap_mu);
}

int
hugemem_heap_init(void)
{
	/*
	 * One arena: another thread's own would be mapped apart, in small
	 * pages. The heap grown (and kept when trimmed) a step at a time.
	 */
	if (!mallopt(M_ARENA_MAX, 1) || !mallopt(M_TOP_PAD, (int)HEAP_STEP))
		return 0;	/* not glibc's malloc: left as it is */
	void *brk_then = sbrk(0);
	if (brk_then == (void *)-1)
		return 0;
	/*
	 * The heap grown by a step now, so that it is advised untouched:
	 * blocks malloc takes from the heap, not maps, until it has to grow.
	 */
	void *blocks[64];
	int n = 0;
	while (n < 64 && sbrk(0) == brk_then &&
	    (blocks[n] = malloc(HEAP_NUDGE)) != NULL)
		n++;
	while (n > 0)
		free(blocks[--n]);
	if (sbrk(0) == brk_then)
		return 0;	/* malloc takes no heap (a sanitizer's own) */
	pthread_mutex_lock(&heap_mu);
	heap_advised = ((uintptr_t)brk_then + SMALL_PAGE - 1) &
	    ~(SMALL_PAGE - 1);
	pthread_mutex_unlock(&heap_mu);
	hugemem_heap_grown();
	return 1;
}
