/*
 * libFuzzer target: the whole path from a capture file's bytes to the flow
 * table and the rows written, as udpflowd -r takes it (pcap or pcapng read
 * by libpcap from memory).
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

#include <pcap/pcap.h>

#include "daemon/analyzer.h"
#include "daemon/clock.h"
#include "daemon/writer.h"
#include "parsers/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
to_store(struct flow *f, void *arg)
{
	struct analyzer *a = arg;
	struct store_flow sf;
	struct store_error *buf = NULL;
	size_t cap = 0;

	writer_flow_to_store(a, f, &sf, &buf, &cap);
	free(buf);
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
	if (a != NULL && link_supported(linktype))
		while (pcap_next_ex(p, &h, &pkt) == 1)
			analyzer_packet(a, linktype, pkt, h->caplen,
			    timeval_us(&h->ts));
	if (a != NULL)
		flow_table_foreach(analyzer_flows(a), to_store, a);
	analyzer_free(a);
	pcap_close(p);
	return 0;
}
