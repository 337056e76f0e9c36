/*
 * Memory for the large tables that grow with the flows: from 2 MiB on,
 * mapped 2 MiB aligned and advised for transparent huge pages, so that
 * touching it for the first time costs one page fault a 2 MiB, not one a
 * 4 KiB page (in a virtual machine a fault is dear). Mapped apart from
 * malloc's heap, so that when freed it goes back to the kernel and no
 * small allocation lands in a huge page.
 */
#ifndef UDPFLOWS_HUGEMEM_H
#define UDPFLOWS_HUGEMEM_H

#include <stddef.h>

#define HUGEMEM_PAGE	((size_t)2 << 20)

/* size bytes, zeroed; NULL: no memory. */
void *hugemem_calloc(size_t size);
/* Memory from hugemem_calloc, with the size it was asked for. */
void hugemem_free(void *, size_t size);

#endif
