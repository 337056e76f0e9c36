/* Live capture: the daemon's main use, on a gateway for months. */
#ifndef UDPFLOWS_LIVE_H
#define UDPFLOWS_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/ch_sender.h"
#include "daemon/export.h"

#define LIVE_MAX_IFACES		16

struct live_opts {
	const char	*ifaces[LIVE_MAX_IFACES];
	int		 nifaces;
	const char	*filter;	/* -f: a BPF filter, or NULL */
	int		 buffer_mb;	/* -B: kernel ring per interface */
	struct expiry	 ex;		/* idle flows leave memory */
	int64_t		 flush_us;	/* database at most this far behind */
	int64_t		 stats_us;	/* statistics rows this often */
	size_t		 max_flows;
	int		 retain_days;	/* 0: keep everything */
	const char	*ndjson;	/* also append written flows here */
	const char	*user;		/* -Z: run as this user */
	const char	*pidfile;
	int		 foreground;
	const char	*dbpath;
	struct ch_sender_opts ch;	/* ch.url NULL: no fleet store */
};

/* Capture until SIGTERM/SIGINT; returns the exit status. */
int live_run(const struct live_opts *);

#endif
