#ifndef UDPFLOWS_ICMP_TEXT_H
#define UDPFLOWS_ICMP_TEXT_H

#include <stdint.h>

/* A short plain name of an ICMP (family 4) or ICMPv6 (6) error. */
const char *icmp_error_text(uint8_t family, uint8_t type, uint8_t code);

#endif
