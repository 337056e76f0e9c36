/*
 * libFuzzer target: the link, decapsulation, IP, transport and ICMP
 * decoders on one packet, then the analyzer (tunnel flows, encapsulation
 * contexts, correlation).
 * The first byte picks the link type, the rest is the captured frame, in a
 * buffer of exactly its size so any over-read is caught.
 */
#include <stddef.h>
#include <stdint.h>

#include "daemon/analyzer.h"
#include "parsers/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int links[] = {
	LINK_EN10MB, LINK_LINUX_SLL, LINK_LINUX_SLL2, LINK_RAW, LINK_IPV4,
	LINK_IPV6, LINK_NULL, LINK_LOOP, LINK_PPP, LINK_PPP_SERIAL,
	LINK_PPP_ETHER, LINK_C_HDLC, LINK_PPP_WITH_DIR,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct analyzer *a;
	struct decoded d;

	if (size < 1)
		return 0;
	int link = links[data[0] % (sizeof(links) / sizeof(links[0]))];
	pkt_decode(link, data + 1, size - 1, &d);
	/* and through correlation, so quotes meet the flow table */
	if (a == NULL)
		a = analyzer_new();
	analyzer_packet(a, link, data + 1, (uint32_t)(size - 1), 0);
	if (flow_table_count(analyzer_settle(a)) > 100000) {
		analyzer_free(a);
		a = NULL;
	}
	return 0;
}
