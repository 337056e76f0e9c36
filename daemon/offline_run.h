/*
 * An offline run: saved captures analyzed into one transaction of the
 * store, idle flows written by the writer thread while the files are read.
 * A reader sees the run whole or not at all.
 */
#ifndef UDPFLOWS_OFFLINE_RUN_H
#define UDPFLOWS_OFFLINE_RUN_H

#include "daemon/ch_sender.h"
#include "daemon/export.h"

#define OFFLINE_MAX_INPUTS	256

struct offline_opts {
	const char	*inputs[OFFLINE_MAX_INPUTS];	/* "-": standard input */
	int		 ninputs;
	const char	*dbpath;
	int		 quiet;		/* no progress, no summary */
	const char	*filter;	/* -f: a BPF filter, or NULL */
	struct ch_sender_opts ch;	/* ch.url NULL: no fleet store */
	struct expiry	 ex;
};

/* Analyze the captures and store the flows; returns the exit status. */
int offline_run(const struct offline_opts *);

#endif
