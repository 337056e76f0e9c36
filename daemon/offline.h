/* Reading saved captures into the analyzer. */
#ifndef UDPFLOWS_OFFLINE_H
#define UDPFLOWS_OFFLINE_H

#include <stdint.h>

#include "daemon/analyzer.h"
#include "daemon/capture_digest.h"

struct offline_input {
	const char	*name;		/* path, or "-" for standard input */
	const char	*filter;	/* -f: a BPF filter, or NULL */
	uint64_t	 filtered_out;	/* records the filter left out */
	int		 legacy_digest;	/* also compute version 1 */
	char		 digest[CAPTURE_DIGEST_LEN + 1]; /* of the packets read */
	char		 digest_v1[CAPTURE_DIGEST_V1_LEN + 1]; /* or "" */
	uint64_t	 packets;
	uint64_t	 bytes_read;	/* how far the analysis got */
	int		 bytes_known;	/* not for pcapng from a pipe */
	int		 linktype;
	char		 err[512];	/* "file: what is wrong", or empty */
};

/*
 * Called each time packet time has moved on by every_us, with that time,
 * so that idle flows can be written out as the capture is read; non-zero
 * stops the read (offline_read then returns -1 with in->err empty).
 */
struct offline_tick {
	int	(*fn)(void *arg, int64_t ts_us);
	void	*arg;
	int64_t	every_us;
};

/*
 * Feed every packet of one capture to the analyzer. Returns -1 with in->err
 * set when the file cannot be read to its end; what was read before the bad
 * spot stays in the analyzer. helper, if not NULL, is lent the reading
 * ahead of the file between its batches (daemon/read_ahead.h).
 */
struct writer_async;
int offline_read(struct analyzer *, struct offline_input *, int show_progress,
    const struct offline_tick *, struct writer_async *helper);

#endif
