/* Text forms shared by every output: times, addresses, protocols. */
#ifndef UDPFLOWS_TEXT_H
#define UDPFLOWS_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* "2026-11-21T18:01:25.866581Z" into buf (at least 32 bytes). */
void time_iso(int64_t us, char *buf, size_t len);
/* inet_ntop of a 4- or 16-byte address. */
void addr_text(uint8_t family, const uint8_t *addr, char *buf, size_t len);
/* "udp", "tcp", "icmp", "ipv6-icmp", "gre"... (IANA keywords), or the number. */
const char *proto_name(uint8_t proto, char *buf, size_t len);

#endif
