/*
 * The live run. The capture thread polls the capture handles and feeds
 * packets to the analyzer; between dispatches it hands the live writer's
 * thread new and changed flows every flush interval (daemon/live_writer.h)
 * and never waits for it. Signal handlers only set flags; the loop acts on
 * them.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/analyzer.h"
#include "daemon/clock.h"
#include "daemon/hugemem.h"
#include "daemon/live.h"
#include "daemon/live_capture.h"
#include "daemon/live_writer.h"
#include "daemon/log.h"
#include "daemon/sandbox.h"

#define PRUNE_EVERY_US	(3600 * 1000000LL)
#define FLUSH_EARLY_FLOWS	16384	/* changed flows that flush at once */
#define DRAIN_MAX_US	(2 * 1000000LL)	/* reading on after the stop, at most */

static volatile sig_atomic_t sig_quit, sig_hup, sig_usr1;

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		sig_quit = 1;
		break;
	case SIGHUP:
		sig_hup = 1;
		break;
	case SIGUSR1:
		sig_usr1 = 1;
		break;
	}
}

struct live {
	const struct live_opts	*o;
	struct live_handle	 h[LIVE_MAX_IFACES];
	struct pollfd		 pfd[LIVE_MAX_IFACES];
	void			*ctx[LIVE_MAX_IFACES][2];	/* live, handle */
	int			 nh;
	struct analyzer		*a;
	struct live_writer	*w;
	int64_t			 last_flush, last_stats, last_prune;
};

static void
on_packet(u_char *arg, const struct pcap_pkthdr *hdr, const u_char *data)
{
	void **ctx = (void **)arg;
	struct live *l = ctx[0];
	struct live_handle *h = ctx[1];

	analyzer_packet_on(l->a, (int)(h - l->h), h->linktype, data,
	    hdr->caplen, timeval_us(&hdr->ts));
}

/* The run's counters as they are now, in the writer's statistics. */
static struct store_live_stats *
update_stats(struct live *l)
{
	const struct analyzer_stats *as = analyzer_stats(l->a);
	struct store_live_stats *st = live_writer_stats(l->w);

	st->packets = as->packets;
	st->decoded = as->decoded;
	st->malformed = analyzer_malformed_total(as);
	st->undecoded = as->not_ip;
	st->tunneled = as->tunneled;
	st->fam = (struct store_families){ as->ip_pkts[0], as->ip_pkts[1],
	    as->icmp_pkts[0], as->icmp_pkts[1] };
	st->duplicates = as->duplicates;
	st->errors_matched = as->errors_matched;
	st->errors_unseen = as->errors_unseen;
	st->errors_capped = as->errors_capped;
	st->flows_active = flow_table_count(analyzer_settle(l->a));
	st->kernel_drops = live_capture_drops(l->h, l->nh);
	return st;
}

/* fleet: the ClickHouse sender's too (at the stop it says its own, last) */
static void
log_stats(struct live *l, int fleet)
{
	const struct store_live_stats *st = update_stats(l);
	char why[512], skipped[600];

	export_malformed_text(analyzer_stats(l->a), why, sizeof(why));
	export_undecoded_text(analyzer_stats(l->a), skipped, sizeof(skipped));
	log_info("%llu packets, %llu decoded, %llu malformed%s, "
	    "%llu not decoded%s, %llu duplicates, "
	    "%llu kernel drops; flows %llu active, %llu written, %llu evicted; "
	    "errors %llu matched, %llu whose flow was never seen; "
	    "%llu failed writes",
	    (unsigned long long)st->packets, (unsigned long long)st->decoded,
	    (unsigned long long)st->malformed, why,
	    (unsigned long long)st->undecoded, skipped,
	    (unsigned long long)st->duplicates,
	    (unsigned long long)st->kernel_drops,
	    (unsigned long long)st->flows_active,
	    (unsigned long long)st->flows_written,
	    (unsigned long long)st->flows_evicted,
	    (unsigned long long)st->errors_matched,
	    (unsigned long long)st->errors_unseen,
	    (unsigned long long)st->write_failures);
	struct ch_sender_stats ch;
	if (fleet && live_writer_fleet_stats(l->w, &ch))
		ch_sender_log(&ch);
}

static int
store_stats(struct live *l)
{
	update_stats(l);
	return live_writer_store_stats(l->w, l->a);
}

/*
 * Everything that needs root or may fail is opened first, in the
 * foreground, so failures reach the terminal; then the daemon detaches
 * and gives up what it no longer needs. 0, or -1 (said) on failure.
 */
static int
live_open(struct live *l)
{
	const struct live_opts *o = l->o;
	const char *writable[] = { o->dbpath, o->ndjson, o->pidfile };
	int nwritable = 0;

	for (int i = 0; i < o->nifaces; i++) {
		l->h[i].name = o->ifaces[i];
		live_capture_open(&l->h[i], o);
		l->pfd[i].fd = pcap_get_selectable_fd(l->h[i].p);
		l->pfd[i].events = POLLIN;
		l->ctx[i][0] = l;
		l->ctx[i][1] = &l->h[i];
	}
	l->nh = o->nifaces;
	if ((l->w = live_writer_new(o)) == NULL)
		return -1;
	if (!o->foreground) {
		live_writer_before_fork(l->w);
		sandbox_daemonize();
		log_init(0);
		if (live_writer_after_fork(l->w) != 0)
			return -1;
	}
	if (o->pidfile != NULL)
		sandbox_write_pidfile(o->pidfile);
	live_writer_begin(l->w);
	if (o->user != NULL)
		sandbox_drop_privileges(o->user, o->dbpath, o->ndjson);
	for (size_t i = 0; i < sizeof(writable) / sizeof(writable[0]); i++)
		if (writable[i] != NULL)
			writable[nwritable++] = writable[i];
	sandbox_confine_writes(writable, nwritable);

	if ((l->a = analyzer_new()) == NULL)
		fatalx("out of memory");
	/*
	 * A router seen on several interfaces sees each packet twice, the
	 * second time up to ~3 s later when the packet waited for ARP/ND.
	 */
	if (o->nifaces > 1 || strcmp(o->ifaces[0], "any") == 0)
		analyzer_set_dedupe(l->a, 3 * 1000000);
	return 0;
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;		/* no SA_RESTART: poll wakes */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * Dispatch what the handles hold, in bounded rounds so that one busy link
 * cannot starve the flushes; evict at --max-flows. The packets taken.
 */
static long
capture_dispatch(struct live *l)
{
	long total = 0;

	for (int i = 0; i < l->nh; i++) {
		for (int round = 0; round < 64; round++) {
			int got = pcap_dispatch(l->h[i].p, 256, on_packet,
			    (u_char *)l->ctx[i]);
			if (got < 0)
				fatalx("%s: %s", l->h[i].name,
				    pcap_geterr(l->h[i].p));
			if (got == 0)
				break;
			total += got;
			if (flow_table_count(analyzer_settle(l->a)) >=
			    l->o->max_flows)
				live_writer_evict(l->w, l->a, wall_us());
		}
	}
	return total;
}

static void
capture_round(struct live *l)
{
	int n = poll(l->pfd, (nfds_t)l->nh, LIVE_READ_TIMEOUT_MS);

	if (n < 0 && errno != EINTR)
		fatal("poll");
	capture_dispatch(l);
}

/*
 * At the stop, read what the kernel has already taken. It is not all
 * readable at once: the ring hands a block over when it is full or when
 * its timer (the read timeout) runs out, so a burst just before SIGTERM
 * waits in a block for up to that long, and one empty read says nothing.
 * Read until a read timeout and a margin have passed with the ring empty;
 * a link that keeps sending is cut off after DRAIN_MAX_US.
 */
static void
capture_drain(struct live *l)
{
	const int64_t settle = 2 * LIVE_READ_TIMEOUT_MS * 1000LL;
	int64_t start = wall_us(), now = start;

	while (now - start < DRAIN_MAX_US) {
		if (capture_dispatch(l) == 0) {
			if (now - start >= settle)
				break;
			int64_t wait = settle - (now - start);
			if (poll(l->pfd, (nfds_t)l->nh,
			    (int)(wait / 1000) + 1) < 0 && errno != EINTR)
				fatal("poll");
		}
		now = wall_us();
	}
}

/* What the signals asked for, and what is due: flush, statistics, prune. */
static void
housekeeping(struct live *l)
{
	const struct live_opts *o = l->o;
	int64_t now = wall_us();

	if (sig_hup) {
		sig_hup = 0;
		live_writer_reopen(l->w, l->a);
	}
	if (sig_usr1) {
		sig_usr1 = 0;
		log_stats(l, 1);
	}
	/*
	 * Each tried again at the next round while the writer is busy. A
	 * flush exports its flows on this thread (they may not change while
	 * they are copied), and capture waits meanwhile: flushing once that
	 * many have changed keeps each export well inside what the kernel's
	 * ring holds, however many new flows an interval brings.
	 */
	if (now - l->last_flush >= o->flush_us ||
	    live_writer_changed(l->w, l->a) >= FLUSH_EARLY_FLOWS) {
		live_writer_check_file(l->w, l->a);
		if (live_writer_flush(l->w, l->a, now, INT64_MIN, 0) == 0)
			l->last_flush = now;
		hugemem_heap_grown();
	}
	if (now - l->last_stats >= o->stats_us && store_stats(l) == 0)
		l->last_stats = now;
	if (now - l->last_prune >= PRUNE_EVERY_US &&
	    live_writer_prune(l->w, l->a, now) == 0)
		l->last_prune = now;
}

/* Drain what the kernel still holds, write everything, close; the status. */
static int
live_close(struct live *l)
{
	int status = 0;

	capture_drain(l);
	live_writer_flush(l->w, l->a, wall_us(), INT64_MIN, 1);
	store_stats(l);
	log_stats(l, 0);
	size_t left = flow_table_count(analyzer_settle(l->a));
	if (left > 0) {
		log_warnx("%zu flows could not be written", left);
		status = 1;
	}
	live_writer_end(l->w, l->a);
	for (int i = 0; i < l->nh; i++)
		pcap_close(l->h[i].p);
	if (l->o->pidfile != NULL)
		unlink(l->o->pidfile);
	analyzer_free(l->a);
	log_info("stopped");
	return status;
}

int
live_run(const struct live_opts *o)
{
	struct live l = { .o = o };

	log_init(1);
	if (live_open(&l) != 0)
		return 1;
	install_signals();
	log_info("capturing on %d interface%s into %s (written every %llds)",
	    o->nifaces, o->nifaces == 1 ? "" : "s", o->dbpath,
	    (long long)(o->flush_us / 1000000));
	l.last_flush = l.last_stats = wall_us();
	l.last_prune = o->retain_days > 0 ? 0 : INT64_MAX;
	while (!sig_quit) {
		capture_round(&l);
		housekeeping(&l);
	}
	return live_close(&l);
}
