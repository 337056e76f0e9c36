/*
 * A stdio cookie stream over the compressed capture: zlib for gzip
 * (several members one after another, as gzip -c a b makes), libzstd's
 * streaming API, and liblz4's frame API, each fed from a 64 KiB buffer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lz4frame.h>
#include <zlib.h>
#include <zstd.h>

#include "daemon/decompress.h"

#define IN_BUF	65536

struct decompress {
	FILE			*src;
	enum compression	 kind;
	uint8_t			 in[IN_BUF];
	size_t			 in_pos, in_len;
	int			 src_eof;
	uint64_t		 consumed;	/* compressed bytes used */
	uint8_t			 head[4];	/* bytes peeked from a pipe */
	size_t			 head_pos, head_len;
	int			 ended;		/* a frame ended; more may come */
	char			 err[128];
	z_stream		 z;
	ZSTD_DStream		*zs;
	LZ4F_dctx		*lz;
};

const char *
decompress_name(enum compression k)
{
	switch (k) {
	case COMP_GZIP:	return "gzip";
	case COMP_ZSTD:	return "zstd";
	case COMP_LZ4:	return "lz4";
	case COMP_NONE:	break;
	}
	return "none";
}

static enum compression
magic_kind(const uint8_t *m, size_t n)
{
	if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		return COMP_GZIP;
	if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f &&
	    m[3] == 0xfd)
		return COMP_ZSTD;
	if (n >= 4 && m[0] == 0x04 && m[1] == 0x22 && m[2] == 0x4d &&
	    m[3] == 0x18)
		return COMP_LZ4;
	return COMP_NONE;
}

/* More compressed input; 0 at the end of src. */
static size_t
refill(struct decompress *d)
{
	if (d->in_pos < d->in_len)
		return d->in_len - d->in_pos;
	d->in_pos = d->in_len = 0;
	if (d->head_pos < d->head_len) {
		memcpy(d->in, d->head + d->head_pos, d->head_len - d->head_pos);
		d->in_len = d->head_len - d->head_pos;
		d->head_pos = d->head_len;
	}
	if (!d->src_eof) {
		size_t n = fread(d->in + d->in_len, 1, IN_BUF - d->in_len,
		    d->src);
		d->in_len += n;
		if (n == 0 && ferror(d->src)) {
			snprintf(d->err, sizeof(d->err), "%s", strerror(errno));
			return 0;
		}
		if (n == 0)
			d->src_eof = 1;
	}
	return d->in_len;
}

static ssize_t
fail(struct decompress *d, const char *what)
{
	if (d->err[0] == '\0')
		snprintf(d->err, sizeof(d->err), "%s data %s at byte %llu of "
		    "the compressed file", decompress_name(d->kind), what,
		    (unsigned long long)d->consumed);
	errno = EIO;
	return -1;
}

static ssize_t
read_gzip(struct decompress *d, char *buf, size_t size)
{
	d->z.next_out = (Bytef *)buf;
	d->z.avail_out = (uInt)size;
	while (d->z.avail_out == size) {
		if (refill(d) == 0)
			return d->err[0] ? fail(d, "unreadable") :
			    d->ended ? 0 : fail(d, "cut short");
		if (d->ended) {		/* another member follows */
			inflateReset(&d->z);
			d->ended = 0;
		}
		d->z.next_in = d->in + d->in_pos;
		d->z.avail_in = (uInt)(d->in_len - d->in_pos);
		int rc = inflate(&d->z, Z_NO_FLUSH);
		size_t used = d->in_len - d->in_pos - d->z.avail_in;
		d->in_pos += used;
		d->consumed += used;
		if (rc == Z_STREAM_END)
			d->ended = 1;
		else if (rc != Z_OK && rc != Z_BUF_ERROR)
			return fail(d, "corrupt");
	}
	return (ssize_t)(size - d->z.avail_out);
}

static ssize_t
read_zstd(struct decompress *d, char *buf, size_t size)
{
	ZSTD_outBuffer out = { buf, size, 0 };

	while (out.pos == 0) {
		if (refill(d) == 0)
			return d->err[0] ? fail(d, "unreadable") :
			    d->ended ? 0 : fail(d, "cut short");
		ZSTD_inBuffer in = { d->in + d->in_pos, d->in_len - d->in_pos,
		    0 };
		size_t rc = ZSTD_decompressStream(d->zs, &out, &in);
		d->in_pos += in.pos;
		d->consumed += in.pos;
		if (ZSTD_isError(rc))
			return fail(d, "corrupt");
		d->ended = rc == 0;	/* a frame ended */
	}
	return (ssize_t)out.pos;
}

static ssize_t
read_lz4(struct decompress *d, char *buf, size_t size)
{
	size_t done = 0;

	while (done == 0) {
		if (refill(d) == 0)
			return d->err[0] ? fail(d, "unreadable") :
			    d->ended ? 0 : fail(d, "cut short");
		size_t out = size, in = d->in_len - d->in_pos;
		size_t rc = LZ4F_decompress(d->lz, buf, &out, d->in + d->in_pos,
		    &in, NULL);
		d->in_pos += in;
		d->consumed += in;
		if (LZ4F_isError(rc))
			return fail(d, "corrupt");
		d->ended = rc == 0;
		done = out;
	}
	return (ssize_t)done;
}

/* A pipe's own bytes: the ones peeked, then the rest as it comes. */
static ssize_t
read_plain(struct decompress *d, char *buf, size_t size)
{
	if (d->head_pos < d->head_len) {
		size_t n = d->head_len - d->head_pos;
		if (n > size)
			n = size;
		memcpy(buf, d->head + d->head_pos, n);
		d->head_pos += n;
		return (ssize_t)n;
	}
	size_t n = fread(buf, 1, size, d->src);
	if (n == 0 && ferror(d->src))
		return -1;
	d->consumed += n;
	return (ssize_t)n;
}

static ssize_t
cookie_read(void *c, char *buf, size_t size)
{
	struct decompress *d = c;

	switch (d->kind) {
	case COMP_GZIP:
		return read_gzip(d, buf, size);
	case COMP_ZSTD:
		return read_zstd(d, buf, size);
	case COMP_LZ4:
		return read_lz4(d, buf, size);
	case COMP_NONE:
		break;
	}
	return read_plain(d, buf, size);
}

static int
cookie_close(void *c)
{
	struct decompress *d = c;
	int rc = fclose(d->src);

	if (d->kind == COMP_GZIP)
		inflateEnd(&d->z);
	ZSTD_freeDStream(d->zs);
	LZ4F_freeDecompressionContext(d->lz);
	free(d);
	return rc;
}

static int
decoder_init(struct decompress *d)
{
	switch (d->kind) {
	case COMP_GZIP:
		/* 15 + 32: a window of 32 KiB, gzip or zlib header */
		return inflateInit2(&d->z, 15 + 32) == Z_OK ? 0 : -1;
	case COMP_ZSTD:
		return (d->zs = ZSTD_createDStream()) != NULL &&
		    !ZSTD_isError(ZSTD_initDStream(d->zs)) ? 0 : -1;
	case COMP_LZ4:
		return LZ4F_isError(LZ4F_createDecompressionContext(&d->lz,
		    LZ4F_VERSION)) ? -1 : 0;
	case COMP_NONE:
		break;
	}
	return 0;
}

int
decompress_open(FILE *src, FILE **out, struct decompress **dp, char *err,
    size_t errlen)
{
	struct stat sb;
	uint8_t m[4];
	size_t n;
	int regular = fstat(fileno(src), &sb) == 0 && S_ISREG(sb.st_mode);

	*out = src;
	*dp = NULL;
	/* a file is peeked where it lies; a pipe's bytes are kept */
	if (regular) {
		ssize_t got = pread(fileno(src), m, sizeof(m), ftello(src));
		n = got > 0 ? (size_t)got : 0;
		if (magic_kind(m, n) == COMP_NONE)
			return 0;
	} else
		n = fread(m, 1, sizeof(m), src);
	struct decompress *d = calloc(1, sizeof(*d));
	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->src = src;
	d->kind = magic_kind(m, n);
	if (!regular) {
		memcpy(d->head, m, n);
		d->head_len = n;
	}
	cookie_io_functions_t io = { .read = cookie_read,
	    .close = cookie_close };
	if (decoder_init(d) != 0 || (*out = fopencookie(d, "r", io)) == NULL) {
		snprintf(err, errlen, "cannot start %s decompression",
		    decompress_name(d->kind));
		if (d->kind == COMP_GZIP)
			inflateEnd(&d->z);
		ZSTD_freeDStream(d->zs);
		LZ4F_freeDecompressionContext(d->lz);
		free(d);
		*out = src;
		return -1;
	}
	*dp = d;
	return 0;
}

enum compression
decompress_kind(const struct decompress *d)
{
	return d != NULL ? d->kind : COMP_NONE;
}

uint64_t
decompress_consumed(const struct decompress *d)
{
	return d != NULL ? d->consumed : 0;
}

const char *
decompress_error(const struct decompress *d)
{
	return d != NULL ? d->err : "";
}
