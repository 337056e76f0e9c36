#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/capture_reader.h"
#include "daemon/clock.h"
#include "daemon/read_ahead.h"
#include "parsers/decode.h"
#include "parsers/pcap_record.h"

/*
 * A read: many records, still in L2 when parsed; and few calls, which
 * count in a virtual machine, where a system call is dear.
 */
#define CHUNK		(256 << 10)
#define MAX_SNAPLEN	(1u << 20)	/* beyond: libpcap reads */

struct capture_reader {
	pcap_t				*p;
	FILE				*fp;
	int				 own;	/* else libpcap reads */
	int				 fd;
	struct pcap_record_format	 fmt;
	uint8_t				*buf;
	size_t				 cap;
	size_t				 pos, have;	/* next record; bytes */
	off_t				 buf_at;	/* offset of buf[0] */
	int				 eof;
	/*
	 * Read ahead: records parsed in the chunk where they lie (buf_at
	 * its offset, pos in it, have its length); buf is only where a
	 * record across chunks is put together.
	 */
	struct read_ahead		*ra;
	const uint8_t			*chunk;
	size_t				 fetched;	/* prefetched up to */
};

/*
 * A chunk the writer thread read is in the other core's cache, and the
 * hardware prefetcher does not fetch it far enough ahead: without this,
 * the reader waits on the first look at each record header.
 */
#define PREFETCH_AHEAD	4096

int
capture_reader_format(pcap_t *p, const uint8_t magic[4],
    struct pcap_record_format *fmt)
{
	uint32_t m;

	if (pcap_major_version(p) != 2 || pcap_minor_version(p) < 4 ||
	    pcap_snapshot(p) <= 0 || (uint32_t)pcap_snapshot(p) > MAX_SNAPLEN)
		return 0;
	/*
	 * Only the link types udpflowd decodes: libpcap hands those over as
	 * they are, where it rewrites some others (the length of a Linux
	 * USB memory-mapped isochronous completion).
	 */
	if (!link_supported(pcap_datalink(p)))
		return 0;
	/* the two standard magic numbers, written in this machine's order */
	memcpy(&m, magic, sizeof(m));
	if (m != 0xa1b2c3d4 && m != 0xa1b23c4d)
		return 0;
	fmt->big_endian = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;
	fmt->nsec = m == 0xa1b23c4d;
	fmt->snaplen = (uint32_t)pcap_snapshot(p);
	return 1;
}

/* Set r up to read fp itself, if it is a file this reader takes. */
static void
own_open(struct capture_reader *r)
{
	struct stat sb;
	uint8_t magic[4];
	off_t at;

	r->fd = fileno(r->fp);
	if (fstat(r->fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (at = ftello(r->fp)) < PCAP_FILE_HEADER_LEN ||
	    pread(r->fd, magic, sizeof(magic), at - PCAP_FILE_HEADER_LEN) !=
	    (ssize_t)sizeof(magic) ||
	    !capture_reader_format(r->p, magic, &r->fmt))
		return;
	/* room for a chunk beside the largest record left over */
	r->cap = CHUNK + PCAP_RECORD_HEADER_LEN + r->fmt.snaplen;
	if ((r->buf = malloc(r->cap)) == NULL)
		return;			/* libpcap reads it all, slower */
	r->buf_at = at;
	r->own = 1;
}

struct capture_reader *
capture_reader_new(pcap_t *p, FILE *fp)
{
	struct capture_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->p = p;
	r->fp = fp;
	own_open(r);
	return r;
}

struct read_ahead *
capture_reader_read_ahead(struct capture_reader *r, void (*wake)(void *),
    void *wake_arg)
{
	size_t stage = PCAP_RECORD_HEADER_LEN + r->fmt.snaplen;
	uint8_t *b;

	if (!r->own || r->ra != NULL || r->have > 0 ||
	    (b = malloc(stage)) == NULL)
		return NULL;
	if ((r->ra = read_ahead_new(r->fd, r->buf_at, wake, wake_arg)) ==
	    NULL) {
		free(b);
		return NULL;
	}
	free(r->buf);
	r->buf = b;
	r->cap = stage;
	return r->ra;
}

void
capture_reader_free(struct capture_reader *r)
{
	if (r != NULL) {
		free(r->buf);
		read_ahead_free(r->ra);
	}
	free(r);
}

int
capture_reader_own(const struct capture_reader *r)
{
	return r->own;
}

/* More bytes behind the ones not yet taken; at the end or an error, eof. */
static void
fill(struct capture_reader *r)
{
	size_t left = r->have - r->pos;
	ssize_t n;

	memmove(r->buf, r->buf + r->pos, left);
	r->buf_at += (off_t)r->pos;
	r->pos = 0;
	r->have = left;
	size_t want = r->cap - left < CHUNK ? r->cap - left : CHUNK;
	do
		n = pread(r->fd, r->buf + left, want, r->buf_at + (off_t)left);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		r->eof = 1;	/* libpcap reads on and says what it was */
	else
		r->have += (size_t)n;
}

/*
 * The chunks after the one being parsed: 1 with the record that goes on
 * in them in rec (put together in buf), else 0, in the next chunk (the
 * last ended with a record) or at the end or an error (the record across
 * left to libpcap).
 */
static int
next_chunk(struct capture_reader *r, struct pcap_record *rec)
{
	size_t staged = r->have - r->pos, used = 0;
	off_t rec_at = r->buf_at + (off_t)r->pos;
	const uint8_t *p;
	ssize_t n;

	if (r->chunk != NULL && r->have < READ_AHEAD_CHUNK)
		goto end;		/* the last chunk ends inside it */
	/* copied before the chunk is given up */
	if (staged > 0)
		memcpy(r->buf, r->chunk + r->pos, staged);
	for (;;) {
		if ((n = read_ahead_next(r->ra, &p)) <= 0)
			goto end;
		used = 0;
		if (staged == 0)
			goto done;
		for (;;) {
			switch (pcap_record_parse(&r->fmt, r->buf, staged,
			    rec)) {
			case PCAP_RECORD_OK:
				goto done;
			case PCAP_RECORD_OVERSIZE:
				goto end;
			case PCAP_RECORD_SHORT:
				break;
			}
			size_t need = staged < PCAP_RECORD_HEADER_LEN ?
			    PCAP_RECORD_HEADER_LEN - staged :
			    PCAP_RECORD_HEADER_LEN + rec->caplen - staged;
			if (need > (size_t)n - used)
				need = (size_t)n - used;
			if (need == 0)
				break;		/* on in the next chunk */
			memcpy(r->buf + staged, p + used, need);
			staged += need;
			used += need;
		}
		if (n < (ssize_t)READ_AHEAD_CHUNK)
			goto end;	/* the file ends inside it */
	}
done:
	r->chunk = p;
	r->have = (size_t)n;
	r->pos = used;
	r->buf_at = read_ahead_offset(r->ra);
	return staged > 0;
end:
	/* libpcap takes over at the record across */
	r->chunk = NULL;
	r->buf_at = rec_at;
	r->pos = r->have = 0;
	r->eof = 1;
	return 0;
}

/*
 * The next record, or 0: libpcap is to read on from buf_at + pos. Read
 * ahead, records lie in the ring's chunks, else in buf.
 */
static int
own_next(struct capture_reader *r, struct pcap_record *rec)
{
	for (;;) {
		const uint8_t *at = r->ra != NULL ? r->chunk : r->buf;
		switch (at == NULL ? PCAP_RECORD_SHORT : pcap_record_parse(
		    &r->fmt, at + r->pos, r->have - r->pos, rec)) {
		case PCAP_RECORD_OK:
			r->pos += rec->size;
			while (r->ra != NULL &&
			    r->fetched < r->pos + PREFETCH_AHEAD &&
			    r->fetched < r->have) {
				__builtin_prefetch(at + r->fetched);
				r->fetched += 64;
			}
			return 1;
		case PCAP_RECORD_OVERSIZE:
			return 0;
		case PCAP_RECORD_SHORT:
			if (r->eof)
				return 0;
			if (r->ra == NULL) {
				fill(r);
				break;
			}
			r->fetched = 0;
			if (next_chunk(r, rec))
				return 1;
			break;
		}
	}
}

int
capture_reader_next(struct capture_reader *r, struct capture_packet *pk,
    char *err, size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc;

	if (r->own) {
		struct pcap_record rec;
		if (own_next(r, &rec)) {
			pk->ts_us = rec.ts_us;
			pk->caplen = rec.caplen;
			pk->len = rec.len;
			pk->data = rec.data;
			return 1;
		}
		off_t at = r->buf_at + (off_t)r->pos;
		r->own = 0;
		free(r->buf);
		r->buf = NULL;
		if (fseeko(r->fp, at, SEEK_SET) != 0) {
			snprintf(err, errlen, "cannot seek to byte %lld: %s",
			    (long long)at, strerror(errno));
			return PCAP_ERROR;
		}
	}
	if ((rc = pcap_next_ex(r->p, &h, &data)) != 1)
		return rc;
	pk->ts_us = timeval_us(&h->ts);
	pk->caplen = h->caplen;
	pk->len = h->len;
	pk->data = data;
	return 1;
}
