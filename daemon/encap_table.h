/*
 * The encapsulations flows in memory were carried in, each kept once: on
 * a gateway thousands of flows share one tunnel, one PPPoE session, one
 * label stack, so a flow holds only a number (0: carried plainly). Counted
 * references: a context goes when its last flow leaves.
 */
#ifndef UDPFLOWS_ENCAP_TABLE_H
#define UDPFLOWS_ENCAP_TABLE_H

#include <stdint.h>

#include "common/encap.h"

/* Numbers fit in 24 bits (struct flow keeps three bytes). */
#define ENCAP_TABLE_MAX	0xffffffu

struct encap_table;

struct encap_table *encap_table_new(void);
void encap_table_free(struct encap_table *);
/*
 * The number of context e, taking a reference (made when new); 0 when
 * memory runs out or the table is full.
 */
uint32_t encap_table_ref(struct encap_table *, const struct flow_encap *e);
void encap_table_unref(struct encap_table *, uint32_t id);
/* The context of number id (valid while referenced). */
const struct flow_encap *encap_table_get(const struct encap_table *,
    uint32_t id);
/* Contexts held (for the tests). */
uint32_t encap_table_count(const struct encap_table *);

#endif
