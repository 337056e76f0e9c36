/*
 * Memory on transparent huge pages, so that touching it for the first
 * time costs one page fault a 2 MiB, not one a 4 KiB page: in a virtual
 * machine that shadows the guest's page tables, each first touch of a
 * small page is a trip into the hypervisor, orders of magnitude dearer
 * than any later touch (measured in tests/bench/README.md).
 *
 * The large tables that grow with the flows: from 2 MiB on, mapped 2 MiB
 * aligned apart from malloc's heap, so that when freed they go back to
 * the kernel at once.
 */
#ifndef UDPFLOWS_HUGEMEM_H
#define UDPFLOWS_HUGEMEM_H

#include <stddef.h>

#define HUGEMEM_PAGE	((size_t)2 << 20)

/* size bytes, zeroed; NULL: no memory. */
void *hugemem_calloc(size_t size);
/* Memory from hugemem_calloc, with the size it was asked for. */
void hugemem_free(void *, size_t size);

/*
 * malloc's heap too: everything else that grows with the flows (error
 * aggregates, the expiry wheel, batches, SQLite's pages). The price is
 * memory malloc holds free inside huge pages it has touched.
 *
 * hugemem_heap_init, first thing in main, before any thread: one heap for
 * all threads (thread arenas would be fresh 4 KiB pages again), grown 64
 * MiB at a time, and advised for huge pages. Only the part of a heap
 * that exists can be advised: hugemem_heap_grown advises what the heap
 * has grown by since (call it now and then; cheap when it has not).
 * hugemem_heap_init returns 0 where malloc is not glibc's or takes no
 * heap (a sanitizer's allocator), and then nothing changes.
 */
int hugemem_heap_init(void);
void hugemem_heap_grown(void);

#endif
