/*
 * Capture digests: see capture_digest.h.
 */
#include <stdio.h>

#include "daemon/capture_digest.h"

void
capture_digest_init(struct capture_digest *d, int legacy)
{
	d->h1 = 0x6a09e667f3bcc908ull;
	d->h2 = 0xbb67ae8584caa73bull;
	d->v1a = 0x6a09e667f3bcc908ull;
	d->v1b = 0xbb67ae8584caa73bull;
	d->legacy = legacy;
}

void
capture_digest_hex(const struct capture_digest *d, char *out)
{
	snprintf(out, CAPTURE_DIGEST_LEN + 1, "v2:%016llx%016llx",
	    (unsigned long long)d->h1, (unsigned long long)d->h2);
}

/* Version 1, unchanged: the digests earlier versions stored. */
static void
v1_word(struct capture_digest *d, uint64_t w)
{
	d->v1a = (d->v1a ^ w) * 0x9e3779b97f4a7c15ull;
	d->v1a ^= d->v1a >> 29;
	d->v1b = (d->v1b + w) * 0xc2b2ae3d27d4eb4full;
	d->v1b ^= d->v1b >> 31;
}

void
capture_digest_v1_packet(struct capture_digest *d, int64_t ts_us,
    uint32_t caplen, uint32_t len, const uint8_t *p)
{
	uint64_t w[8] = { 0 };
	size_t n = caplen < sizeof(w) ? caplen : sizeof(w);

	v1_word(d, (uint64_t)ts_us);
	v1_word(d, (uint64_t)caplen << 32 | len);
	memcpy(w, p, n);
	for (size_t i = 0; i < (n + 7) / 8; i++)
		v1_word(d, w[i]);
}

void
capture_digest_v1_hex(const struct capture_digest *d, char *out)
{
	if (!d->legacy) {
		out[0] = '\0';
		return;
	}
	snprintf(out, CAPTURE_DIGEST_V1_LEN + 1, "%016llx%016llx",
	    (unsigned long long)d->v1a, (unsigned long long)d->v1b);
}
