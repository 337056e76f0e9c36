/*
 * A bounded read cursor over captured bytes.
 *
 * Every field of a packet is read through these accessors. A read past the
 * window does not touch memory: it returns 0 and sets a sticky error, so a
 * decoder can read a whole header and check the error once (the way Knot's
 * wire_ctx works). Multi-byte reads are big-endian, as on the wire, and make
 * no alignment assumption.
 */
#ifndef UDPFLOWS_CURSOR_H
#define UDPFLOWS_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cursor {
	const uint8_t	*base;
	size_t		 len;	/* bytes available in the window */
	size_t		 off;	/* next byte to read */
	bool		 err;	/* a read went past the window */
};

static inline struct cursor
cur_make(const uint8_t *base, size_t len)
{
	struct cursor c = { base, len, 0, false };
	return c;
}

static inline size_t
cur_left(const struct cursor *c)
{
	return c->err ? 0 : c->len - c->off;
}

static inline bool
cur_need(struct cursor *c, size_t n)
{
	if (c->err || c->len - c->off < n) {
		c->err = true;
		return false;
	}
	return true;
}

static inline uint8_t
cur_u8(struct cursor *c)
{
	if (!cur_need(c, 1))
		return 0;
	return c->base[c->off++];
}

static inline uint16_t
cur_be16(struct cursor *c)
{
	if (!cur_need(c, 2))
		return 0;
	const uint8_t *p = c->base + c->off;
	c->off += 2;
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
cur_be32(struct cursor *c)
{
	if (!cur_need(c, 4))
		return 0;
	const uint8_t *p = c->base + c->off;
	c->off += 4;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Host byte order of the capturing machine is unknown: read both ways. */
static inline uint32_t
cur_le32(struct cursor *c)
{
	if (!cur_need(c, 4))
		return 0;
	const uint8_t *p = c->base + c->off;
	c->off += 4;
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[1] << 8 | p[0];
}

static inline void
cur_copy(struct cursor *c, void *dst, size_t n)
{
	if (!cur_need(c, n)) {
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, c->base + c->off, n);
	c->off += n;
}

static inline void
cur_skip(struct cursor *c, size_t n)
{
	if (cur_need(c, n))
		c->off += n;
}

/*
 * The next n bytes as a window of their own (an IP payload, an ICMP quote).
 * When fewer than n are left, the window holds what is there: callers that
 * must have all n check cur_left() first.
 */
static inline struct cursor
cur_window(const struct cursor *c, size_t n)
{
	size_t left = cur_left(c);
	return cur_make(c->base + (c->err ? 0 : c->off), n < left ? n : left);
}

#endif
