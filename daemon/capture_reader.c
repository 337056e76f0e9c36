#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/capture_reader.h"
#include "daemon/clock.h"
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
};

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

void
capture_reader_free(struct capture_reader *r)
{
	if (r != NULL)
		free(r->buf);
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

/* The next record, or 0: libpcap is to read on from buf_at + pos. */
static int
own_next(struct capture_reader *r, struct pcap_record *rec)
{
	for (;;) {
		switch (pcap_record_parse(&r->fmt, r->buf + r->pos,
		    r->have - r->pos, rec)) {
		case PCAP_RECORD_OK:
			r->pos += rec->size;
			return 1;
		case PCAP_RECORD_OVERSIZE:
			return 0;
		case PCAP_RECORD_SHORT:
			if (r->eof)
				return 0;
			fill(r);
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
