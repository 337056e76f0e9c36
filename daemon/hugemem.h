/*
 * Memory for the large tables that grow with the flows: from 2 MiB on,
 * 2 MiB aligned and advised for transparent huge pages, so that touching
 * it for the first time costs one page fault a 2 MiB, not one a 4 KiB
 * page. In a virtual machine a fault costs about 10 us; a busy gateway's
 * 130,000 flows took 11,000 of them.
 */
#ifndef UDPFLOWS_HUGEMEM_H
#define UDPFLOWS_HUGEMEM_H

#include <stddef.h>

#define HUGEMEM_PAGE	((size_t)2 << 20)

/*
 * size bytes, uncleared (smaller than HUGEMEM_PAGE: plain malloc);
 * NULL: no memory. Freed with free(3).
 */
void *hugemem_alloc(size_t size);

#endif
