/*
 * Reading saved captures (pcap or pcapng) into the analyzer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "daemon/capture_digest.h"
#include "daemon/clock.h"
#include "daemon/offline.h"
#include "parsers/pcap_record.h"

#define PCAP_FILE_HEADER	24	/* classic pcap: file header bytes */
#define PROGRESS_EVERY		65536	/* packets between clock checks */
#define READ_BUFFER		(32 << 10)	/* fits L1 with room */
#define FAST_CHUNK		(64 << 10)	/* a read(2); 32-256 KiB measured alike */
#define FAST_MAX_SNAPLEN	(1u << 20)	/* beyond: libpcap reads */

/*
 * A classic pcap file in the byte order of this machine is read by udpflowd
 * itself: chunks read(2) into one buffer and each packet handed on where it
 * lies, where libpcap copies every record twice through stdio (that copying
 * was most of the bare libpcap loop's time). libpcap has checked the file
 * header, and takes over from the first record this reader does not take
 * (pcap_record.h), at the end of the file, and at a read error, so that
 * truncated and damaged files read and fail exactly as before.
 */
struct fast_reader {
	int				 fd;
	struct pcap_record_format	 fmt;
	uint8_t				*buf;
	size_t				 cap;
	size_t				 pos, have;	/* next record; bytes */
	off_t				 buf_at;	/* file offset of buf[0] */
	int				 eof;
};

/* The fast reader for fp, positioned after its file header, or NULL. */
static struct fast_reader *
fast_open(FILE *fp, pcap_t *p)
{
	struct fast_reader *f;
	struct stat sb;
	uint8_t magic[4];
	uint32_t m;
	off_t at;

	if (pcap_major_version(p) != 2 || pcap_minor_version(p) < 4 ||
	    pcap_snapshot(p) <= 0 ||
	    (uint32_t)pcap_snapshot(p) > FAST_MAX_SNAPLEN)
		return NULL;
	if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (at = ftello(fp)) < PCAP_FILE_HEADER ||
	    pread(fileno(fp), magic, sizeof(magic), at - PCAP_FILE_HEADER) !=
	    (ssize_t)sizeof(magic))
		return NULL;
	/* the two standard magic numbers, written in this machine's order */
	memcpy(&m, magic, sizeof(m));
	if (m != 0xa1b2c3d4 && m != 0xa1b23c4d)
		return NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->fd = fileno(fp);
	f->fmt.big_endian = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;
	f->fmt.nsec = m == 0xa1b23c4d;
	f->fmt.snaplen = (uint32_t)pcap_snapshot(p);
	/* room for a chunk beside the largest record left over */
	f->cap = FAST_CHUNK + PCAP_RECORD_HEADER_LEN + f->fmt.snaplen;
	if ((f->buf = malloc(f->cap)) == NULL) {
		free(f);
		return NULL;
	}
	f->buf_at = at;
	return f;
}

static void
fast_free(struct fast_reader *f)
{
	if (f != NULL)
		free(f->buf);
	free(f);
}

/* More bytes behind the ones not yet taken; at the end or an error, eof. */
static void
fast_fill(struct fast_reader *f)
{
	size_t left = f->have - f->pos;
	ssize_t n;

	memmove(f->buf, f->buf + f->pos, left);
	f->buf_at += (off_t)f->pos;
	f->pos = 0;
	f->have = left;
	size_t want = f->cap - left < FAST_CHUNK ? f->cap - left : FAST_CHUNK;
	do
		n = pread(f->fd, f->buf + left, want, f->buf_at + (off_t)left);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		f->eof = 1;		/* libpcap reads on and says what it was */
	else
		f->have += (size_t)n;
}

/* The next record, or 0: libpcap is to read on from fast_offset(). */
static int
fast_next(struct fast_reader *f, struct pcap_record *r)
{
	for (;;) {
		switch (pcap_record_parse(&f->fmt, f->buf + f->pos,
		    f->have - f->pos, r)) {
		case PCAP_RECORD_OK:
			f->pos += r->size;
			return 1;
		case PCAP_RECORD_OVERSIZE:
			return 0;
		case PCAP_RECORD_SHORT:
			if (f->eof)
				return 0;
			fast_fill(f);
			break;
		}
	}
}

static off_t
fast_offset(const struct fast_reader *f)
{
	return f->buf_at + (off_t)f->pos;
}

/* One packet as either reader gives it. */
struct packet {
	int64_t		 ts_us;
	uint32_t	 caplen, len;
	const uint8_t	*data;
};

struct reader {
	pcap_t			*p;
	FILE			*fp;
	struct fast_reader	*fast;		/* NULL: libpcap reads */
};

/* 1: a packet; else pcap_next_ex's end (PCAP_ERROR_BREAK) or error. */
static int
reader_next(struct reader *rd, struct packet *pk, char *err, size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc;

	if (rd->fast != NULL) {
		struct pcap_record r;
		if (fast_next(rd->fast, &r)) {
			pk->ts_us = r.ts_us;
			pk->caplen = r.caplen;
			pk->len = r.len;
			pk->data = r.data;
			return 1;
		}
		off_t at = fast_offset(rd->fast);
		fast_free(rd->fast);
		rd->fast = NULL;
		if (fseeko(rd->fp, at, SEEK_SET) != 0) {
			snprintf(err, errlen, "cannot seek to byte %lld: %s",
			    (long long)at, strerror(errno));
			return PCAP_ERROR;
		}
	}
	if ((rc = pcap_next_ex(rd->p, &h, &data)) != 1)
		return rc;
	pk->ts_us = timeval_us(&h->ts);
	pk->caplen = h->caplen;
	pk->len = h->len;
	pk->data = data;
	return 1;
}

static void
progress(const struct offline_input *in, struct analyzer *a, off_t pos,
    off_t size, uint64_t packets, double started)
{
	double secs = mono_seconds() - started;
	double rate = secs > 0 ? (double)packets / secs : 0;
	size_t flows = flow_table_count(analyzer_flows(a));

	if (size > 0) {
		fprintf(stderr, "\rudpflowd: %s: %3.0f%%, %.0f packets/s, "
		    "%zu flows\033[K", in->name,
		    pos > 0 ? 100.0 * (double)pos / (double)size : 0.0, rate,
		    flows);
	} else {
		fprintf(stderr, "\rudpflowd: %s: %llu packets, %.0f packets/s, "
		    "%zu flows\033[K", in->name, (unsigned long long)packets,
		    rate, flows);
	}
}

/* Say what libpcap's read error means, and where in the file. */
static void
read_error(struct offline_input *in, pcap_t *p, FILE *fp, int classic,
    uint64_t record_at)
{
	const char *msg = pcap_geterr(p);

	if (classic && strstr(msg, "header bytes, only got") != NULL)
		snprintf(in->err, sizeof(in->err), "%s: truncated packet "
		    "header at byte %llu", in->name,
		    (unsigned long long)record_at);
	else if (classic && strstr(msg, "captured bytes, only got") != NULL)
		snprintf(in->err, sizeof(in->err), "%s: truncated packet "
		    "record at byte %llu", in->name,
		    (unsigned long long)record_at);
	else if (classic)
		snprintf(in->err, sizeof(in->err), "%s: %s (packet record at "
		    "byte %llu)", in->name, msg, (unsigned long long)record_at);
	else if (ftello(fp) >= 0)
		snprintf(in->err, sizeof(in->err), "%s: %s (read up to byte "
		    "%lld)", in->name, msg, (long long)ftello(fp));
	else				/* a pipe */
		snprintf(in->err, sizeof(in->err), "%s: %s", in->name, msg);
}

static void
open_error(struct offline_input *in, const char *msg)
{
	if (strstr(msg, "file header bytes, only got 0") != NULL)
		snprintf(in->err, sizeof(in->err), "%s: empty file, not a "
		    "capture", in->name);
	else if (strstr(msg, "unknown file format") != NULL)
		snprintf(in->err, sizeof(in->err), "%s: not a pcap or pcapng "
		    "file", in->name);
	else if (strstr(msg, "truncated dump file") != NULL)
		snprintf(in->err, sizeof(in->err), "%s: truncated file header",
		    in->name);
	else
		snprintf(in->err, sizeof(in->err), "%s: %s", in->name, msg);
}

int
offline_read(struct analyzer *a, struct offline_input *in, int show_progress,
    const struct offline_tick *tick)
{
	char errbuf[PCAP_ERRBUF_SIZE], seek_err[256] = "";
	struct capture_digest dg;
	struct reader rd;
	struct packet pk;
	struct stat sb;
	off_t size = 0;
	FILE *fp;
	pcap_t *p;
	int rc, linktype, classic;
	char *rbuf = NULL;
	uint64_t record_at = PCAP_FILE_HEADER;
	double started = mono_seconds(), shown = started;

	in->err[0] = '\0';
	in->packets = 0;
	capture_digest_init(&dg, in->legacy_digest);
	if (strcmp(in->name, "-") == 0) {
		fp = stdin;
	} else if ((fp = fopen(in->name, "rb")) == NULL) {
		snprintf(in->err, sizeof(in->err), "%s: %s", in->name,
		    strerror(errno));
		return -1;
	}
	/*
	 * libpcap reads each record with two freads; with a writer thread
	 * running, stdio would lock the stream for each. Only this thread
	 * reads it.
	 */
	__fsetlocking(fp, FSETLOCKING_BYCALLER);
	/*
	 * Eight pages a read(2), not one; larger buffers measured slower (the
	 * copy out of them no longer stays in cache). glibc ignores a size
	 * without a buffer.
	 */
	if ((rbuf = malloc(READ_BUFFER)) != NULL)
		setvbuf(fp, rbuf, _IOFBF, READ_BUFFER);
	if (fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode))
		size = sb.st_size;
	p = pcap_fopen_offline_with_tstamp_precision(fp,
	    PCAP_TSTAMP_PRECISION_MICRO, errbuf);
	if (p == NULL) {
		open_error(in, errbuf);
		if (fp != stdin)
			fclose(fp);
		free(rbuf);
		return -1;
	}
	linktype = pcap_datalink(p);
	in->linktype = linktype;
	if (!link_supported(linktype)) {
		const char *name = pcap_datalink_val_to_name(linktype);
		snprintf(in->err, sizeof(in->err), "%s: link type %d (%s) is "
		    "not supported", in->name, linktype, name ? name : "unknown");
		pcap_close(p);
		free(rbuf);
		return -1;
	}
	/* pcapng says major version 1, classic pcap 2. */
	classic = pcap_major_version(p) == 2;

	rd.p = p;
	rd.fp = fp;
	rd.fast = classic ? fast_open(fp, p) : NULL;
	int64_t next_tick = INT64_MIN;
	int stopped = 0;
	while ((rc = reader_next(&rd, &pk, seek_err, sizeof(seek_err))) == 1) {
		int64_t ts = pk.ts_us;
		if (tick != NULL && ts >= next_tick) {
			if (next_tick != INT64_MIN && tick->fn(tick->arg, ts)) {
				stopped = 1;
				break;
			}
			next_tick = ts + tick->every_us;
		}
		analyzer_packet(a, linktype, pk.data, pk.caplen, ts);
		capture_digest_packet(&dg, ts, pk.caplen, pk.len, pk.data);
		record_at += PCAP_RECORD_HEADER_LEN + pk.caplen;
		if (++in->packets % PROGRESS_EVERY == 0 && show_progress) {
			double now = mono_seconds();
			if (now - shown >= 0.5) {
				progress(in, a, classic ? (off_t)record_at :
				    ftello(fp), size, in->packets, started);
				shown = now;
			}
		}
	}
	fast_free(rd.fast);
	if (show_progress && shown != started)
		fprintf(stderr, "\r\033[K");
	if (rc == PCAP_ERROR && seek_err[0] != '\0')
		snprintf(in->err, sizeof(in->err), "%s: %s", in->name,
		    seek_err);
	else if (rc == PCAP_ERROR)
		read_error(in, p, fp, classic, record_at);
	off_t pos = classic ? 0 : ftello(fp);
	in->bytes_read = classic ? record_at : (uint64_t)(pos > 0 ? pos : 0);
	in->bytes_known = classic || pos >= 0;
	capture_digest_hex(&dg, in->digest);
	capture_digest_v1_hex(&dg, in->digest_v1);
	pcap_close(p);			/* closes fp, stdin included */
	free(rbuf);
	return rc == PCAP_ERROR || stopped ? -1 : 0;
}
