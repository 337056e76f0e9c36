#include <stdio.h>

#include <pcap/pcap.h>

#include "daemon/live_capture.h"
#include "daemon/log.h"
#include "parsers/decode.h"

/*
 * Everything the analysis needs, VLAN-tagged too. The snap length keeps
 * whole packets up to 64 KiB, so an ICMP error's quote is never cut by us.
 */
#define BASE_FILTER	"udp or tcp or icmp or icmp6"
#define SNAPLEN		65535

/* VLAN tags only exist on Ethernet; libpcap refuses "vlan" elsewhere. */
void
live_capture_filter(char *buf, size_t len, int ethernet, const char *extra)
{
	char base[256];

	if (ethernet)
		snprintf(base, sizeof(base), "(%s) or (vlan and (%s))",
		    BASE_FILTER, BASE_FILTER);
	else
		snprintf(base, sizeof(base), "%s", BASE_FILTER);
	if (extra != NULL && *extra != '\0')
		snprintf(buf, len, "(%s) and (%s)", base, extra);
	else
		snprintf(buf, len, "%s", base);
}

void
live_capture_open(struct live_handle *h, const struct live_opts *o)
{
	char errbuf[PCAP_ERRBUF_SIZE], filter[2048];
	struct bpf_program prog;
	int rc;

	if ((h->p = pcap_create(h->name, errbuf)) == NULL)
		fatalx("%s: %s", h->name, errbuf);
	pcap_set_snaplen(h->p, SNAPLEN);
	pcap_set_timeout(h->p, LIVE_READ_TIMEOUT_MS);
	pcap_set_buffer_size(h->p, o->buffer_mb * 1024 * 1024);
	rc = pcap_activate(h->p);
	if (rc < 0)
		fatalx("%s: %s", h->name, pcap_geterr(h->p));
	if (rc > 0)
		log_warnx("%s: %s", h->name, pcap_geterr(h->p));
	/* "any" speaks cooked v2 where libpcap can: it names the interface */
	if (pcap_datalink(h->p) == DLT_LINUX_SLL)
		pcap_set_datalink(h->p, DLT_LINUX_SLL2);
	h->linktype = pcap_datalink(h->p);
	if (!link_supported(h->linktype))
		fatalx("%s: link type %d is not supported", h->name,
		    h->linktype);
	live_capture_filter(filter, sizeof(filter), h->linktype == DLT_EN10MB,
	    o->filter);
	if (pcap_compile(h->p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0)
		fatalx("%s: filter \"%s\": %s", h->name, filter,
		    pcap_geterr(h->p));
	if (pcap_setfilter(h->p, &prog) != 0)
		fatalx("%s: %s", h->name, pcap_geterr(h->p));
	pcap_freecode(&prog);
	if (pcap_setnonblock(h->p, 1, errbuf) != 0)
		fatalx("%s: %s", h->name, errbuf);
	if (pcap_get_selectable_fd(h->p) < 0)
		fatalx("%s: cannot be polled", h->name);
}

uint64_t
live_capture_drops(const struct live_handle *h, int n)
{
	uint64_t drops = 0;

	for (int i = 0; i < n; i++) {
		struct pcap_stat ps;
		if (pcap_stats(h[i].p, &ps) == 0)
			drops += ps.ps_drop + ps.ps_ifdrop;
	}
	return drops;
}
