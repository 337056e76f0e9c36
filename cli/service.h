/*
 * Service names, as /etc/services gives them: "--port domain,123,
 * 1000-2000" and "--proto dns" take them, and the outputs for people show
 * a well-known port's name beside it, as tcpdump does without -n.
 */
#ifndef UDPFLOWS_SERVICE_H
#define UDPFLOWS_SERVICE_H

#include <stdint.h>

/* -n: numbers only. */
void service_numeric(int);
/* The port of a service's name ("http", "domain", "dns"); -1: none. */
int service_port(const char *name);
/*
 * The name of a well-known port (below 1024) of protocol proto, or NULL:
 * none, or -n.
 */
const char *service_name(uint16_t port, uint8_t proto);

#endif
