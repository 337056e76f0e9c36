/*
 * Records of a classic pcap savefile (pcap-savefile(5)), parsed where they
 * lie in a buffer: a 16-byte header (seconds, micro- or nanoseconds,
 * captured length, original length) and the captured bytes. Pure: bytes
 * in, a record out, no allocation, no I/O.
 *
 * It takes only what libpcap would return unchanged: anything it would
 * treat specially (a captured length above the file's snapshot length,
 * which libpcap truncates or rejects) is left to libpcap, so that both
 * give a caller the same packets.
 */
#ifndef UDPFLOWS_PCAP_RECORD_H
#define UDPFLOWS_PCAP_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define PCAP_FILE_HEADER_LEN	24	/* before the first record */
#define PCAP_RECORD_HEADER_LEN	16

enum pcap_record_status {
	PCAP_RECORD_OK,
	PCAP_RECORD_SHORT,	/* the buffer ends inside the record */
	PCAP_RECORD_OVERSIZE,	/* captured length above the snapshot length */
};

/* How the file's header says its records are written. */
struct pcap_record_format {
	int		big_endian;	/* the byte order of the header fields */
	int		nsec;		/* the second field is nanoseconds */
	uint32_t	snaplen;	/* libpcap's pcap_snapshot() */
};

struct pcap_record {
	int64_t		 ts_us;		/* as libpcap gives it in microseconds */
	uint32_t	 caplen, len;
	const uint8_t	*data;		/* caplen bytes, inside the buffer */
	size_t		 size;		/* the whole record: header and data */
};

enum pcap_record_status pcap_record_parse(const struct pcap_record_format *,
    const uint8_t *buf, size_t len, struct pcap_record *);

#endif
