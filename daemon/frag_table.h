/*
 * Which flow a later fragment belongs to. Only the first fragment carries
 * the ports; it is remembered here under (family, proto, addresses, ID) so
 * that later fragments can be counted towards its flow. Direct-mapped and
 * fixed in size: a new first fragment overwrites whatever shared its slot,
 * so memory stays bounded whatever the traffic.
 */
#ifndef UDPFLOWS_FRAG_TABLE_H
#define UDPFLOWS_FRAG_TABLE_H

#include <stdint.h>

#include "parsers/decode.h"

#define FRAG_SLOTS	4096

struct frag_slot {
	struct tuple	t;		/* of the first fragment, with ports */
	uint32_t	id;
	uint8_t		used;
};

struct frag_table {
	struct frag_slot slots[FRAG_SLOTS];
};

void frag_table_add(struct frag_table *, const struct tuple *first,
    uint32_t id);
/* The first fragment's tuple for a later fragment, if remembered. */
int frag_table_find(const struct frag_table *, const struct tuple *later,
    uint32_t id, struct tuple *out);

#endif
