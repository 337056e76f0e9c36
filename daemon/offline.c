/*
 * Reading saved captures (pcap or pcapng) into the analyzer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "daemon/capture_digest.h"
#include "daemon/capture_reader.h"
#include "daemon/decompress.h"
#include "daemon/clock.h"
#include "daemon/offline.h"
#include "daemon/read_ahead.h"
#include "daemon/writer.h"
#include "parsers/pcap_record.h"

#define PROGRESS_EVERY		65536	/* packets between clock checks */
#define READ_BUFFER		(32 << 10)	/* fits L1 with room */

static void
progress(const struct offline_input *in, struct analyzer *a, off_t pos,
    off_t size, uint64_t packets, double started)
{
	double secs = mono_seconds() - started;
	double rate = secs > 0 ? (double)packets / secs : 0;
	size_t flows = flow_table_count(analyzer_settle(a));

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

/*
 * Say what libpcap's read error means, and where in the file; in a
 * compressed capture, what the decompression said first, and offsets in
 * the decompressed bytes.
 */
static void
read_error(struct offline_input *in, pcap_t *p, FILE *fp, int classic,
    uint64_t record_at, const struct decompress *dz)
{
	const char *msg = pcap_geterr(p);

	int compressed = decompress_kind(dz) != COMP_NONE;

	if (compressed && decompress_error(dz)[0] != '\0')
		snprintf(in->err, sizeof(in->err), "%s: %s (packet record at "
		    "byte %llu of the decompressed capture)", in->name,
		    decompress_error(dz), (unsigned long long)record_at);
	else if (compressed && classic)
		snprintf(in->err, sizeof(in->err), "%s: %s at byte %llu of the "
		    "decompressed capture", in->name,
		    strstr(msg, "header bytes, only got") != NULL ?
		    "truncated packet header" : "truncated packet record",
		    (unsigned long long)record_at);
	else if (classic && strstr(msg, "header bytes, only got") != NULL)
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
open_error(struct offline_input *in, const char *msg,
    const struct decompress *dz)
{
	const char *zerr = decompress_error(dz);

	if (zerr[0] != '\0')
		snprintf(in->err, sizeof(in->err), "%s: %s", in->name, zerr);
	else if (decompress_kind(dz) != COMP_NONE &&
	    strstr(msg, "unknown file format") != NULL)
		snprintf(in->err, sizeof(in->err), "%s: %s-compressed, but "
		    "not a pcap or pcapng file inside", in->name,
		    decompress_name(decompress_kind(dz)));
	else if (strstr(msg, "file header bytes, only got 0") != NULL)
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

/* An open capture: the stream, libpcap's handle of it, what it is. */
struct capture_file {
	FILE		*fp;
	struct decompress *dz;		/* a compressed capture's, or NULL */
	pcap_t		*p;
	char		*rbuf;		/* fp's buffer */
	off_t		 size;		/* 0: not a regular file */
	int		 linktype;
	int		 classic;	/* pcap, not pcapng */
	int		 filtered;	/* prog holds -f */
	struct bpf_program prog;
};

static void
file_close(struct capture_file *cf)
{
	if (cf->filtered)
		pcap_freecode(&cf->prog);
	pcap_close(cf->p);		/* closes fp, stdin included */
	free(cf->rbuf);
}

/*
 * -f compiled for this capture's link type, as tcpdump -r does: a filter
 * that does not fit the link type ("vlan" on raw IP) is an error.
 */
static int
filter_compile(struct offline_input *in, struct capture_file *cf)
{
	if (in->filter == NULL || *in->filter == '\0')
		return 0;
	if (pcap_compile(cf->p, &cf->prog, in->filter, 1,
	    PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(in->err, sizeof(in->err), "%s: filter \"%s\": %s",
		    in->name, in->filter, pcap_geterr(cf->p));
		return -1;
	}
	cf->filtered = 1;
	return 0;
}

/* Open in's capture; -1 with in->err set when it cannot be read. */
static int
file_open(struct offline_input *in, struct capture_file *cf)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct stat sb;

	if (strcmp(in->name, "-") == 0) {
		cf->fp = stdin;
	} else if ((cf->fp = fopen(in->name, "rb")) == NULL) {
		snprintf(in->err, sizeof(in->err), "%s: %s", in->name,
		    strerror(errno));
		return -1;
	}
	/*
	 * libpcap reads each record with two freads; with a writer thread
	 * running, stdio would lock the stream for each. Only this thread
	 * reads it.
	 */
	__fsetlocking(cf->fp, FSETLOCKING_BYCALLER);
	/*
	 * Eight pages a read(2), not one; a larger buffer's copy no longer
	 * stays in cache. glibc ignores a size without a buffer.
	 */
	if ((cf->rbuf = malloc(READ_BUFFER)) != NULL)
		setvbuf(cf->fp, cf->rbuf, _IOFBF, READ_BUFFER);
	if (fstat(fileno(cf->fp), &sb) == 0 && S_ISREG(sb.st_mode))
		cf->size = sb.st_size;
	/* compressed or not by its magic, whatever its name */
	FILE *raw = cf->fp;
	if (decompress_open(raw, &cf->fp, &cf->dz, errbuf,
	    sizeof(errbuf)) != 0) {
		snprintf(in->err, sizeof(in->err), "%s: %s", in->name, errbuf);
		if (raw != stdin)
			fclose(raw);
		free(cf->rbuf);
		return -1;
	}
	cf->p = pcap_fopen_offline_with_tstamp_precision(cf->fp,
	    PCAP_TSTAMP_PRECISION_MICRO, errbuf);
	if (cf->p == NULL) {
		open_error(in, errbuf, cf->dz);
		if (cf->fp != stdin)
			fclose(cf->fp);
		free(cf->rbuf);
		return -1;
	}
	in->linktype = cf->linktype = pcap_datalink(cf->p);
	if (!link_supported(cf->linktype)) {
		const char *name = pcap_datalink_val_to_name(cf->linktype);
		snprintf(in->err, sizeof(in->err), "%s: link type %d (%s) is "
		    "not supported", in->name, cf->linktype,
		    name ? name : "unknown");
		file_close(cf);
		return -1;
	}
	/* pcapng says major version 1, classic pcap 2. */
	cf->classic = pcap_major_version(cf->p) == 2;
	if (filter_compile(in, cf) != 0) {
		file_close(cf);
		return -1;
	}
	return 0;
}

/* Whether the packet passes -f (every packet does without one). */
static int
filter_pass(const struct capture_file *cf, const struct capture_packet *pk)
{
	if (!cf->filtered)
		return 1;
	struct pcap_pkthdr h = { .caplen = pk->caplen, .len = pk->len };
	return pcap_offline_filter(&cf->prog, &h, pk->data) != 0;
}

/* Where a read is: the packets' digest, the next record, the progress. */
struct reading {
	struct capture_digest	dg;
	uint64_t		record_at;	/* of a classic file */
	double			started, shown;	/* progress last shown */
	int64_t			next_tick;
};

static void
show_progress(struct reading *r, const struct offline_input *in,
    struct analyzer *a, const struct capture_file *cf)
{
	double now = mono_seconds();

	if (now - r->shown < 0.5)
		return;
	/* the share of the file read: of a compressed one, its own bytes */
	off_t at = decompress_kind(cf->dz) != COMP_NONE ?
	    (off_t)decompress_consumed(cf->dz) :
	    cf->classic ? (off_t)r->record_at : ftello(cf->fp);
	progress(in, a, at, cf->size, in->packets, r->started);
	r->shown = now;
}

/*
 * Every packet into the analyzer and the digest; the reader's last
 * result: 1 when the tick stopped it, else PCAP_ERROR_BREAK at the end
 * or PCAP_ERROR.
 */
static int
read_packets(struct reading *r, struct analyzer *a, struct offline_input *in,
    const struct capture_file *cf, struct capture_reader *rd,
    int progress_shown, const struct offline_tick *tick, char *seek_err,
    size_t seek_errlen)
{
	struct capture_packet pk;
	int rc;

	while ((rc = capture_reader_next(rd, &pk, seek_err, seek_errlen)) ==
	    1) {
		int64_t ts = pk.ts_us;
		if (tick != NULL && ts >= r->next_tick) {
			if (r->next_tick != INT64_MIN &&
			    tick->fn(tick->arg, ts))
				return 1;
			r->next_tick = ts + tick->every_us;
		}
		r->record_at += PCAP_RECORD_HEADER_LEN + pk.caplen;
		/* the digest is of the packets analyzed: those -f lets in */
		if (filter_pass(cf, &pk)) {
			analyzer_packet(a, cf->linktype, pk.data, pk.caplen,
			    ts);
			capture_digest_packet(&r->dg, ts, pk.caplen, pk.len,
			    pk.data);
		} else
			in->filtered_out++;
		if (++in->packets % PROGRESS_EVERY == 0 && progress_shown)
			show_progress(r, in, a, cf);
	}
	return rc;
}

int
offline_read(struct analyzer *a, struct offline_input *in, int progress_shown,
    const struct offline_tick *tick, struct writer_async *helper)
{
	char seek_err[256] = "";
	struct capture_file cf = { .size = 0, .filtered = 0 };
	struct capture_reader *rd;
	struct read_ahead *ra = NULL;
	struct reading r = { .record_at = PCAP_FILE_HEADER_LEN,
	    .next_tick = INT64_MIN };
	int rc;

	r.started = r.shown = mono_seconds();
	in->err[0] = '\0';
	in->packets = 0;
	in->filtered_out = 0;
	capture_digest_init(&r.dg, in->legacy_digest);
	if (file_open(in, &cf) != 0)
		return -1;
	if ((rd = capture_reader_new(cf.p, cf.fp)) == NULL) {
		snprintf(in->err, sizeof(in->err), "%s: out of memory",
		    in->name);
		file_close(&cf);
		return -1;
	}
	if (helper != NULL && (ra = capture_reader_read_ahead(rd,
	    writer_async_wake, helper)) != NULL)
		writer_async_lend(helper, read_ahead_work, read_ahead_wanted,
		    ra);
	rc = read_packets(&r, a, in, &cf, rd, progress_shown, tick, seek_err,
	    sizeof(seek_err));
	if (ra != NULL)
		writer_async_lend(helper, NULL, NULL, NULL);
	capture_reader_free(rd);
	if (progress_shown && r.shown != r.started)
		fprintf(stderr, "\r\033[K");
	if (rc == PCAP_ERROR && seek_err[0] != '\0')
		snprintf(in->err, sizeof(in->err), "%s: %s", in->name,
		    seek_err);
	else if (rc == PCAP_ERROR)
		read_error(in, cf.p, cf.fp, cf.classic, r.record_at, cf.dz);
	off_t pos = cf.classic ? 0 : ftello(cf.fp);
	in->bytes_read = cf.classic ? r.record_at :
	    (uint64_t)(pos > 0 ? pos : 0);
	/* the decompressed offset is no place in the file: count packets */
	in->bytes_known = decompress_kind(cf.dz) == COMP_NONE &&
	    (cf.classic || pos >= 0);
	capture_digest_hex(&r.dg, in->digest);
	capture_digest_v1_hex(&r.dg, in->digest_v1);
	file_close(&cf);
	return rc == PCAP_ERROR || rc == 1 ? -1 : 0;
}
