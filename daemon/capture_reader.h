/*
 * The packets of a saved capture that libpcap has opened. A classic pcap
 * file in this machine's byte order, of a link type udpflowd decodes, on a
 * regular file, is read by udpflowd itself: chunks read with pread(2)
 * into one buffer, or into a ring by a helper thread too (read ahead),
 * each packet handed on where it lies (parsers/pcap_record.h), where
 * libpcap copies every record twice through stdio, which was most of a
 * bare libpcap loop's time. libpcap has checked the file header, reads
 * every other file, and takes over, at the record where this reader
 * stops, from the first record it would treat specially, at the end of
 * the file and at a read error: truncated and damaged files read and fail
 * as with libpcap.
 */
#ifndef UDPFLOWS_CAPTURE_READER_H
#define UDPFLOWS_CAPTURE_READER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <pcap/pcap.h>

struct pcap_record_format;

struct capture_packet {
	int64_t		 ts_us;
	uint32_t	 caplen, len;
	const uint8_t	*data;		/* valid until the next call */
};

struct capture_reader;

/*
 * fp is the stream p was opened on (pcap_fopen_offline, for microsecond
 * times, the precision packets come in). NULL only when memory runs out.
 */
struct capture_reader *capture_reader_new(pcap_t *p, FILE *fp);

/*
 * 1: a packet; else what pcap_next_ex returns at the end
 * (PCAP_ERROR_BREAK) or on an error (PCAP_ERROR: pcap_geterr says what,
 * unless err, errlen bytes, is set).
 */
int capture_reader_next(struct capture_reader *, struct capture_packet *,
    char *err, size_t errlen);

/* Whether udpflowd's own reader is reading (not yet handed to libpcap). */
int capture_reader_own(const struct capture_reader *);

void capture_reader_free(struct capture_reader *);

/*
 * Have the file read ahead (daemon/read_ahead.h) from its first record,
 * before any is read: the read_ahead for a helper thread to work on, or
 * NULL when this reader does not read the file itself or memory runs out
 * (it then reads as before). A record may span chunks. Take the helper
 * off it before capture_reader_free.
 */
struct read_ahead;
struct read_ahead *capture_reader_read_ahead(struct capture_reader *,
    void (*wake)(void *), void *wake_arg);

/*
 * Whether this reader reads a classic file whose header libpcap has read
 * into p and which starts with these magic bytes, and how (fmt).
 */
int capture_reader_format(pcap_t *p, const uint8_t magic[4],
    struct pcap_record_format *fmt);

#endif
