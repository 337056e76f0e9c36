/* The plain outputs of udpflows: table, CSV and JSON lines. */
#ifndef UDPFLOWS_RENDER_H
#define UDPFLOWS_RENDER_H

#include <stddef.h>
#include <stdio.h>

#include "cli/flowvec.h"
#include "common/flowstate.h"

struct render_opts {
	int	color;		/* ANSI colors on */
	size_t	width;		/* terminal columns; 0: no limit */
};

void render_table(const struct flowvec *, const struct render_opts *);
/* fleet: the rows are the fleet store's, with their gateway */
void render_csv_header(int fleet);
void render_csv(const struct flow_record *);
void render_json(const struct flow_record *);

/*
 * "198.18.0.2:40000", "[2001:db8::2]:40000", or the address alone; a
 * well-known port's service name beside it ("198.18.1.2:53 (domain)").
 */
void endpoint_text(char *buf, size_t len, uint8_t family, const uint8_t *addr,
    int has_port, uint16_t port, uint8_t proto);
/* A role as the table says it: "the destination", "the source", "router". */
const char *role_text(enum error_role);
/* Text folded at width (0: never), each line after an indent. */
void print_wrapped(FILE *, const char *text, size_t indent, size_t width);
/* ANSI color of a state ("" when none), and the reset sequence. */
const char *state_color(int state);
#define COLOR_RESET "\033[0m"

#endif
