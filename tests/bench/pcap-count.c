/*
 * pcap-count: the bare libpcap loop the benchmark compares udpflowd with.
 * It reads every packet record of a capture and counts them, nothing more.
 *
 *   pcap-count FILE
 */
#include <err.h>
#include <stdio.h>

#include <pcap/pcap.h>

int
main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const unsigned char *data;
	unsigned long long n = 0, bytes = 0;
	pcap_t *p;
	int rc;

	if (argc != 2)
		errx(2, "usage: pcap-count FILE");
	if ((p = pcap_open_offline(argv[1], errbuf)) == NULL)
		errx(1, "%s", errbuf);
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		n++;
		bytes += h->caplen;	/* touch the header, as any reader does */
	}
	if (rc == PCAP_ERROR)
		errx(1, "%s: %s", argv[1], pcap_geterr(p));
	pcap_close(p);
	printf("%llu packets, %llu bytes\n", n, bytes);
	return 0;
}
