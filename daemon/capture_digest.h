/*
 * The identity of a capture: a 128-bit digest of its packet records (the
 * timestamp, both lengths and the first 64 bytes of each), so that the same
 * packets read again, from a copy, a renamed file or standard input, are
 * recognised and replace the earlier analysis instead of adding to it.
 *
 * Version 2 ("v2:" and 32 hex digits) multiplies pairs of words into 128
 * bits, five independent products a packet and one dependent step for each
 * half of the state, so that the products overlap; version 1 (32 hex
 * digits, written before) chained ten dependent multiplies a packet. Version 1
 * is still computed when a database holds such digests (legacy), so that
 * captures analyzed before are still recognised.
 */
#ifndef UDPFLOWS_CAPTURE_DIGEST_H
#define UDPFLOWS_CAPTURE_DIGEST_H

#include <stdint.h>
#include <string.h>

#include "daemon/mix.h"

#define CAPTURE_DIGEST_LEN	35	/* "v2:" and 32 hex digits */
#define CAPTURE_DIGEST_V1_LEN	32

struct capture_digest {
	uint64_t	h1, h2;		/* version 2 */
	uint64_t	v1a, v1b;	/* version 1, when legacy */
	int		legacy;
};

void capture_digest_init(struct capture_digest *, int legacy);
/* "v2:..." into out (CAPTURE_DIGEST_LEN + 1 bytes) */
void capture_digest_hex(const struct capture_digest *, char *out);
/* version 1 into out (CAPTURE_DIGEST_V1_LEN + 1 bytes); "" unless legacy */
void capture_digest_v1_hex(const struct capture_digest *, char *out);
void capture_digest_v1_packet(struct capture_digest *, int64_t ts_us,
    uint32_t caplen, uint32_t len, const uint8_t *p);

static inline void
capture_digest_packet(struct capture_digest *d, int64_t ts_us,
    uint32_t caplen, uint32_t len, const uint8_t *p)
{
	uint64_t w[8];

	if (caplen >= sizeof(w)) {
		memcpy(w, p, sizeof(w));
	} else {
		memset(w, 0, sizeof(w));
		memcpy(w, p, caplen);
	}
	uint64_t lens = (uint64_t)caplen << 32 | len;
	uint64_t m0 = mix_mum((uint64_t)ts_us ^ 0xa0761d6478bd642full,
	    lens ^ 0xe7037ed1a0b428dbull);
	uint64_t m1 = mix_mum(w[0] ^ 0x8ebc6af09c88c6e3ull,
	    w[1] ^ 0x589965cc75374cc3ull);
	uint64_t m2 = mix_mum(w[2] ^ 0x1d8e4e27c47d124full,
	    w[3] ^ 0x9e3779b97f4a7c15ull);
	uint64_t m3 = mix_mum(w[4] ^ 0xc2b2ae3d27d4eb4full,
	    w[5] ^ 0x165667b19e3779f9ull);
	uint64_t m4 = mix_mum(w[6] ^ 0xd6e8feb86659fd93ull,
	    w[7] ^ 0xff51afd7ed558ccdull);
	/* two different sums, so that the halves are not one value twice */
	d->h1 = mix_mum(d->h1 ^ (m0 ^ m1 ^ m2 ^ m3 ^ m4),
	    0x2d358dccaa6c78a5ull);
	d->h2 = mix_mum(d->h2 ^ (m0 + m1 + m2 + m3 + m4),
	    0x4f1bbcdcbfa53e0bull);
	if (d->legacy)
		capture_digest_v1_packet(d, ts_us, caplen, len, p);
}

#endif
