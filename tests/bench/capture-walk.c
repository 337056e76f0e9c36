/*
 * capture-walk: udpflowd's capture reader alone (daemon/capture_reader.c),
 * counting packets as pcap-count does with libpcap: what reading costs
 * udpflowd, of the whole analysis the benchmark times.
 *
 *   capture-walk FILE
 */
#include <err.h>
#include <stdio.h>

#include <pcap/pcap.h>

#include "daemon/capture_reader.h"

int
main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE], why[256] = "";
	struct capture_reader *r;
	struct capture_packet pk;
	unsigned long long n = 0, bytes = 0;
	FILE *fp;
	pcap_t *p;
	int rc;

	if (argc != 2)
		errx(2, "usage: capture-walk FILE");
	if ((fp = fopen(argv[1], "rb")) == NULL)
		err(1, "%s", argv[1]);
	if ((p = pcap_fopen_offline(fp, errbuf)) == NULL)
		errx(1, "%s", errbuf);
	if ((r = capture_reader_new(p, fp)) == NULL)
		errx(1, "out of memory");
	if (!capture_reader_own(r))
		warnx("%s: read by libpcap, not by udpflowd's reader", argv[1]);
	while ((rc = capture_reader_next(r, &pk, why, sizeof(why))) == 1) {
		n++;
		bytes += pk.caplen;
	}
	if (rc == PCAP_ERROR)
		errx(1, "%s: %s", argv[1], why[0] ? why : pcap_geterr(p));
	capture_reader_free(r);
	pcap_close(p);
	printf("%llu packets, %llu bytes\n", n, bytes);
	return 0;
}
