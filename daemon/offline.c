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
#include "daemon/clock.h"
#include "daemon/offline.h"
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
	struct capture_reader *rd;
	struct capture_packet pk;
	struct stat sb;
	off_t size = 0;
	FILE *fp;
	pcap_t *p;
	int rc, linktype, classic;
	char *rbuf = NULL;
	uint64_t record_at = PCAP_FILE_HEADER_LEN;
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

	if ((rd = capture_reader_new(p, fp)) == NULL) {
		snprintf(in->err, sizeof(in->err), "%s: out of memory",
		    in->name);
		pcap_close(p);
		free(rbuf);
		return -1;
	}
	int64_t next_tick = INT64_MIN;
	int stopped = 0;
	while ((rc = capture_reader_next(rd, &pk, seek_err,
	    sizeof(seek_err))) == 1) {
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
	capture_reader_free(rd);
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
