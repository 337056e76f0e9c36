#include <stdio.h>

#include <pcap/pcap.h>

#include "daemon/live_capture.h"
#include "daemon/log.h"
#include "parsers/decode.h"

/* The snap length keeps whole packets, so an ICMP quote is never cut. */
#define SNAPLEN		65535

/*
 * Every packet, as Zeek takes them: IP comes carried in VLAN tags, PPPoE,
 * MPLS and tunnels, and a BPF filter that follows all of them is not one
 * libpcap compiles reliably ("vlan", "pppoes" and "mpls" move the offsets
 * of everything after them). What is not decoded is counted by reason,
 * never dropped unseen; the user's filter (-f), when given, is the filter.
 */
void
live_capture_open(struct live_handle *h, const struct live_opts *o)
{
	char errbuf[PCAP_ERRBUF_SIZE];
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
	if (o->filter != NULL && *o->filter != '\0') {
		if (pcap_compile(h->p, &prog, o->filter, 1,
		    PCAP_NETMASK_UNKNOWN) != 0)
			fatalx("%s: filter \"%s\": %s", h->name, o->filter,
			    pcap_geterr(h->p));
		if (pcap_setfilter(h->p, &prog) != 0)
			fatalx("%s: %s", h->name, pcap_geterr(h->p));
		pcap_freecode(&prog);
	}
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
