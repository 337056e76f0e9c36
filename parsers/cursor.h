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
 * A fixed-size header checked once, as tcpdump's ND_TCHECK_LEN does: the
 * next n bytes, or none (len 0, the sticky error set) when fewer are left.
 * Its fields are read at constant offsets through span_*, which check them
 * against len; with n a constant those checks fold away once the caller
 * has tested len, so a header costs one bounds check, not one a field.
 */
struct span {
	const uint8_t	*p;
	size_t		 len;
};

static inline struct span
cur_take(struct cursor *c, size_t n)
{
	struct span s = { NULL, 0 };

	if (cur_need(c, n)) {
		s.p = c->base + c->off;
		s.len = n;
		c->off += n;
	}
	return s;
}

static inline uint8_t
span_u8(struct span s, size_t off)
{
	return off < s.len ? s.p[off] : 0;
}

static inline uint16_t
span_be16(struct span s, size_t off)
{
	if (off + 2 > s.len)
		return 0;
	return (uint16_t)(s.p[off] << 8 | s.p[off + 1]);
}

static inline uint32_t
span_be32(struct span s, size_t off)
{
	if (off + 4 > s.len)
		return 0;
	return (uint32_t)s.p[off] << 24 | (uint32_t)s.p[off + 1] << 16 |
	    (uint32_t)s.p[off + 2] << 8 | s.p[off + 3];
}

static inline void
span_copy(struct span s, size_t off, void *dst, size_t n)
{
	if (off + n > s.len) {
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, s.p + off, n);
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
