/*
 * The multiply the hashes of daemon/ are built from (flow keys, the
 * sent-packet and host tables, the capture digest): two 64-bit words into
 * their 128-bit product, the halves folded, so that every input bit reaches
 * most output bits, the low ones included (tables index by them).
 * Independent products run in parallel, where a chain of multiplies would
 * wait for each other.
 */
#ifndef UDPFLOWS_MIX_H
#define UDPFLOWS_MIX_H

#include <stdint.h>

static inline uint64_t
mix_mum(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

#endif
