/*
 * pcap-send: the live benchmark's sender. Sends a capture's packets out of
 * an interface from memory, LIMIT packets in all (looping over the
 * capture), or for LIMIT seconds when it ends in "s" ("30s"), at PPS
 * packets a second or as fast as it can ("top").
 *
 *   pcap-send IFACE CAPTURE PPS|top LIMIT|SECONDSs
 *
 * Prints "sent N packets in S s: R pps". On a veth the receiving side's
 * kernel work (the capture's copy into its ring included) is done on the
 * sender's core, so what the sender spends on each packet bounds what any
 * receiver can be shown to hold: packets go out 64 to a sendmmsg(2) on a
 * packet socket that bypasses the qdisc, where tcpreplay makes a system
 * call a packet and became the limit of what the benchmark could show.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define BATCH	64

struct packet {
	const unsigned char	*data;
	size_t			 len;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Every packet of the capture in one buffer, so sending reads memory only. */
static struct packet *
load(const char *path, size_t *count)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const unsigned char *data;
	unsigned char *buf = NULL;
	size_t n = 0, cap = 0, used = 0, bufcap = 0;
	size_t *offs = NULL;
	struct packet *pk;
	pcap_t *p;
	int rc;

	if ((p = pcap_open_offline(path, errbuf)) == NULL)
		errx(2, "%s: %s", path, errbuf);
	if (pcap_datalink(p) != DLT_EN10MB)
		errx(2, "%s: link type %d, not Ethernet", path, pcap_datalink(p));
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			if ((offs = realloc(offs, cap * 2 * sizeof(*offs))) == NULL)
				err(2, "realloc");
		}
		if (used + h->caplen > bufcap) {
			bufcap = bufcap ? bufcap * 2 : (size_t)64 << 20;
			if ((buf = realloc(buf, bufcap)) == NULL)
				err(2, "realloc");
		}
		memcpy(buf + used, data, h->caplen);
		offs[2 * n] = used;
		offs[2 * n + 1] = h->caplen;
		used += h->caplen;
		n++;
	}
	if (rc == -1)
		errx(2, "%s: %s", path, pcap_geterr(p));
	pcap_close(p);
	if (n == 0)
		errx(2, "%s: no packets", path);
	if ((pk = calloc(n, sizeof(*pk))) == NULL)
		err(2, "calloc");
	for (size_t i = 0; i < n; i++) {
		pk[i].data = buf + offs[2 * i];
		pk[i].len = offs[2 * i + 1];
	}
	free(offs);
	*count = n;
	return pk;
}

int
main(int argc, char **argv)
{
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_ll sll;
	struct packet *pk;
	size_t count, next = 0;
	unsigned long long limit, sent = 0;
	double pps = 0, start, elapsed, seconds = 0;
	char *end;
	int fd, one = 1;

	if (argc != 5)
		errx(2, "usage: pcap-send IFACE CAPTURE PPS|top LIMIT|SECONDSs");
	if (strcmp(argv[3], "top") != 0) {
		pps = strtod(argv[3], &end);
		if (*end != '\0' || pps <= 0)
			errx(2, "rate '%s': a number of packets a second, or top", argv[3]);
	}
	limit = strtoull(argv[4], &end, 10);
	if (*end == 's' && end[1] == '\0' && limit > 0) {
		/* a run of that long, however fast the sender turns out */
		seconds = (double)limit;
		limit = ULLONG_MAX;
	} else if (*end != '\0' || limit == 0)
		errx(2, "limit '%s': a number of packets, or seconds ('30s')",
		    argv[4]);
	pk = load(argv[2], &count);

	if ((fd = socket(AF_PACKET, SOCK_RAW, 0)) == -1)
		err(2, "packet socket");
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = 0;
	if ((sll.sll_ifindex = (int)if_nametoindex(argv[1])) == 0)
		err(2, "%s", argv[1]);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) == -1)
		err(2, "bind %s", argv[1]);
	/* Not fatal: older kernels send through the qdisc, a little slower. */
	(void)setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));

	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	start = now_s();
	while (sent < limit && (seconds == 0 || now_s() - start < seconds)) {
		unsigned int want = BATCH;
		int done;

		if (limit - sent < want)
			want = (unsigned int)(limit - sent);
		if (pps > 0) {
			/*
			 * The batch leaves when its first packet is due. A spin,
			 * not a sleep: at 800,000 packets/s a batch is due every
			 * 80 us, less than a timer's slack and a virtual CPU's
			 * wake-up. live-rate gives the sender a core of its own,
			 * so the spin takes nothing from the receiver.
			 */
			double due = start + (double)sent / pps;

			while (now_s() < due)
				;
		}
		for (unsigned int i = 0; i < want; i++) {
			iov[i].iov_base = (void *)pk[next].data;
			iov[i].iov_len = pk[next].len;
			if (++next == count)
				next = 0;
		}
		done = sendmmsg(fd, msgs, want, 0);
		if (done == -1) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)
				done = 0;
			else
				err(2, "sendmmsg on %s", argv[1]);
		}
		/* what did not go out is sent again next round */
		if ((unsigned int)done < want) {
			size_t back = want - (unsigned int)done;
			next = (next + count - back % count) % count;
		}
		sent += (unsigned int)done;
	}
	elapsed = now_s() - start;
	printf("sent %llu packets in %.3f s: %.0f pps\n", sent, elapsed,
	    elapsed > 0 ? sent / elapsed : 0);
	return 0;
}
