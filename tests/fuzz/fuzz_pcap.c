/*
 * libFuzzer target: the whole path from a capture file's bytes to the flow
 * table and the rows written, as udpflowd -r takes it (pcap or pcapng read
 * by libpcap from memory). A classic pcap file is also walked by udpflowd's
 * own record parser, which must give every packet exactly as libpcap does
 * until it stops, and stop only where libpcap ends, fails or is left to go
 * on alone.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "daemon/analyzer.h"
#include "daemon/capture_reader.h"
#include "daemon/clock.h"
#include "daemon/export.h"
#include "parsers/decode.h"
#include "parsers/pcap_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
to_store(struct flow *f, void *arg)
{
	struct analyzer *a = arg;
	struct flow_record sf;
	struct error_record *buf = NULL;
	size_t cap = 0;

	export_flow(a, f, &sf, &buf, &cap);
	free(buf);
	return 0;
}

/*
 * One packet libpcap read (rc its pcap_next_ex status) against the record
 * parser at *off; 0 once the parser has stopped for good.
 */
static int
same_as_own(const struct pcap_record_format *fmt, const uint8_t *data,
    size_t size, size_t *off, int rc, const struct pcap_pkthdr *h,
    const u_char *pkt)
{
	struct pcap_record r;
	enum pcap_record_status st = pcap_record_parse(fmt, data + *off,
	    size - *off, &r);

	if (st == PCAP_RECORD_OK) {
		if (rc != 1 || h->caplen != r.caplen || h->len != r.len ||
		    timeval_us(&h->ts) != r.ts_us ||
		    memcmp(pkt, r.data, r.caplen) != 0)
			abort();	/* a packet libpcap gives otherwise */
		*off += r.size;
		return 1;
	}
	/* short: libpcap ends there (no bytes left) or fails */
	if (st == PCAP_RECORD_SHORT && rc != (*off == size ? PCAP_ERROR_BREAK :
	    PCAP_ERROR))
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *pkt;
	FILE *fp;
	pcap_t *p;

	if (size == 0 || (fp = fmemopen((void *)data, size, "rb")) == NULL)
		return 0;
	p = pcap_fopen_offline_with_tstamp_precision(fp,
	    PCAP_TSTAMP_PRECISION_MICRO, errbuf);
	if (p == NULL) {
		fclose(fp);
		return 0;
	}
	struct analyzer *a = analyzer_new();
	int linktype = pcap_datalink(p);
	struct pcap_record_format fmt = { 0, 0, 0 };
	int own = size >= PCAP_FILE_HEADER_LEN &&
	    capture_reader_format(p, data, &fmt);
	size_t off = PCAP_FILE_HEADER_LEN;
	int rc;
	do {
		rc = pcap_next_ex(p, &h, &pkt);
		if (own)
			own = same_as_own(&fmt, data, size, &off, rc, h, pkt);
		if (rc == 1 && a != NULL && link_supported(linktype))
			analyzer_packet(a, linktype, pkt, h->caplen,
			    timeval_us(&h->ts));
	} while (rc == 1);
	if (a != NULL)
		flow_table_foreach(analyzer_settle(a), to_store, a);
	analyzer_free(a);
	pcap_close(p);
	return 0;
}
