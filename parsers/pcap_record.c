#include "parsers/cursor.h"
#include "parsers/pcap_record.h"

static uint32_t
field(struct span s, size_t off, int big_endian)
{
	uint32_t v = span_be32(s, off);

	return big_endian ? v : __builtin_bswap32(v);
}

enum pcap_record_status
pcap_record_parse(const struct pcap_record_format *fmt, const uint8_t *buf,
    size_t len, struct pcap_record *r)
{
	struct cursor c = cur_make(buf, len);
	struct span h = cur_take(&c, PCAP_RECORD_HEADER_LEN);

	if (h.len == 0)
		return PCAP_RECORD_SHORT;
	/*
	 * libpcap keeps both time fields as signed 32-bit numbers, so a
	 * time before 1970 (or a corrupt one) comes out negative; a
	 * nanosecond field is divided down as the signed number it is.
	 */
	int32_t sec = (int32_t)field(h, 0, fmt->big_endian);
	int32_t frac = (int32_t)field(h, 4, fmt->big_endian);
	r->caplen = field(h, 8, fmt->big_endian);
	r->len = field(h, 12, fmt->big_endian);
	if (r->caplen > fmt->snaplen)
		return PCAP_RECORD_OVERSIZE;
	if (cur_left(&c) < r->caplen)
		return PCAP_RECORD_SHORT;
	r->ts_us = (int64_t)sec * 1000000 + (fmt->nsec ? frac / 1000 : frac);
	r->data = buf + PCAP_RECORD_HEADER_LEN;
	r->size = PCAP_RECORD_HEADER_LEN + (size_t)r->caplen;
	return PCAP_RECORD_OK;
}
