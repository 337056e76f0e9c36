/*
 * Live capture. One thread: poll the capture handles, feed packets to the
 * analyzer, and every flush interval write new and changed flows to SQLite
 * in one transaction, expiring the idle ones. Signal handlers only set
 * flags; the loop acts on them.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <linux/landlock.h>
#include <poll.h>

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE	/* ABI 3, newer than Debian 12's headers */
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)
#endif
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "daemon/analyzer.h"
#include "daemon/clock.h"
#include "daemon/live.h"
#include "daemon/log.h"
#include "daemon/writer.h"
#include "common/flow_json.h"
#include "store/store.h"

/*
 * Everything the analysis needs, VLAN-tagged too. The snap length keeps
 * whole packets up to 64 KiB, so an ICMP error's quote is never cut by us.
 */
#define BASE_FILTER	"udp or tcp or icmp or icmp6"
#define SNAPLEN		65535
#define READ_TIMEOUT_MS	100	/* short, not immediate: keeps batching */
#define PRUNE_EVERY_US	(3600 * 1000000LL)

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

struct handle {
	pcap_t		*p;
	const char	*name;
	int		 linktype;
	struct pcap_stat base;
};

struct live {
	const struct live_opts	*o;
	dev_t			 db_dev;	/* the file the database is */
	ino_t			 db_ino;
	int			 db_same;	/* reopened the same file */
	struct handle		 h[LIVE_MAX_IFACES];
	int			 nh;
	struct analyzer		*a;
	struct store		*db;
	FILE			*ndjson;
	struct store_live_stats	 st;
	int64_t			 last_flush, last_stats, last_prune;
};

static void attach_db(struct live *);

static int64_t
wall_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* VLAN tags only exist on Ethernet; libpcap refuses "vlan" elsewhere. */
void
live_filter(char *buf, size_t len, int ethernet, const char *extra)
{
	char base[256];

	if (ethernet)
		snprintf(base, sizeof(base), "(%s) or (vlan and (%s))",
		    BASE_FILTER, BASE_FILTER);
	else
		snprintf(base, sizeof(base), "%s", BASE_FILTER);
	if (extra != NULL && *extra != '\0')
		snprintf(buf, len, "(%s) and (%s)", base, extra);
	else
		snprintf(buf, len, "%s", base);
}

static void
open_handle(struct handle *h, const struct live_opts *o)
{
	char errbuf[PCAP_ERRBUF_SIZE], filter[2048];
	struct bpf_program prog;
	int rc;

	if ((h->p = pcap_create(h->name, errbuf)) == NULL)
		fatalx("%s: %s", h->name, errbuf);
	pcap_set_snaplen(h->p, SNAPLEN);
	pcap_set_timeout(h->p, READ_TIMEOUT_MS);
	pcap_set_buffer_size(h->p, o->buffer_mb * 1024 * 1024);
	rc = pcap_activate(h->p);
	if (rc < 0)
		fatalx("%s: %s", h->name, pcap_geterr(h->p));
	if (rc > 0)
		log_warnx("%s: %s", h->name, pcap_geterr(h->p));
	/* "any" speaks cooked v2 where libpcap can: it names the interface */
	if (pcap_datalink(h->p) == DLT_LINUX_SLL)
		pcap_set_datalink(h->p, DLT_LINUX_SLL2);
	h->linktype = pcap_datalink(h->p);
	if (!link_supported(h->linktype))
		fatalx("%s: link type %d is not supported", h->name,
		    h->linktype);
	live_filter(filter, sizeof(filter), h->linktype == DLT_EN10MB,
	    o->filter);
	if (pcap_compile(h->p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0)
		fatalx("%s: filter \"%s\": %s", h->name, filter,
		    pcap_geterr(h->p));
	if (pcap_setfilter(h->p, &prog) != 0)
		fatalx("%s: %s", h->name, pcap_geterr(h->p));
	pcap_freecode(&prog);
	if (pcap_setnonblock(h->p, 1, errbuf) != 0)
		fatalx("%s: %s", h->name, errbuf);
	if (pcap_get_selectable_fd(h->p) < 0)
		fatalx("%s: cannot be polled", h->name);
}

static void
on_packet(u_char *arg, const struct pcap_pkthdr *hdr, const u_char *data)
{
	void **ctx = (void **)arg;
	struct live *l = ctx[0];
	struct handle *h = ctx[1];

	analyzer_packet_on(l->a, (int)(h - l->h), h->linktype, data,
	    hdr->caplen, timeval_us(&hdr->ts));
}

struct pending {
	struct flow	*f;
	int64_t		 id;
	json_t		*line;		/* for --ndjson, written after commit */
};

struct flush_ctx {
	struct live	*l;
	int64_t		 now, evict_before;
	int		 all;
	struct pending	*put;		/* written: applied after commit */
	size_t		 nput, capput;
	struct flow_key	*gone;		/* to drop after commit */
	size_t		 ngone, capgone;
	size_t		 evicted;
	struct error_record *ebuf;
	size_t		 ecap;
	int		 failed;
};

static int
grow(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 1024;
	void *nv = realloc(*v, ncap * size);
	if (nv == NULL)
		return -1;
	*v = nv;
	*cap = ncap;
	return 0;
}

static int
flush_one(struct flow *f, void *arg)
{
	struct flush_ctx *c = arg;
	struct live *l = c->l;
	int expired = c->all || c->now - f->last_us >
	    export_idle_timeout(&l->o->ex, f);
	int evicted = !expired && f->last_us <= c->evict_before;
	struct flow_record sf;
	int64_t id = f->db_id;

	if (c->failed || (!f->dirty && !expired && !evicted))
		return 0;
	if (f->dirty) {
		if (grow((void **)&c->put, &c->capput, c->nput,
		    sizeof(*c->put)) != 0 ||
		    export_flow(l->a, f, &sf,
		    &c->ebuf, &c->ecap) != 0 ||
		    store_flow_put(l->db, &sf, &id) != 0) {
			c->failed = 1;
			return 0;
		}
		c->put[c->nput].f = f;
		c->put[c->nput].line = l->ndjson != NULL ? flow_json(&sf) : NULL;
		c->put[c->nput++].id = id;
	}
	if (expired || evicted) {
		if (grow((void **)&c->gone, &c->capgone, c->ngone,
		    sizeof(*c->gone)) != 0)
			return 0;	/* stays in memory; retried next time */
		c->gone[c->ngone++] = f->key;
		if (evicted)
			c->evicted++;
	}
	return 0;
}

/*
 * Write every new or changed flow in one transaction and drop the expired
 * ones (all of them when all is set). Nothing in memory changes until the
 * commit succeeds: a failed write keeps every flow as it was, to be
 * written at the next flush.
 */
static void
flush(struct live *l, int64_t now, int64_t evict_before, int all)
{
	struct flush_ctx c = { .l = l, .now = now, .all = all,
	    .evict_before = evict_before };
	struct flow_table *ft = analyzer_settle(l->a);

	attach_db(l);
	if (l->db == NULL) {
		l->st.write_failures++;
		return;
	}
	if (store_batch_begin(l->db) != 0) {
		c.failed = 1;
	} else {
		flow_table_foreach(ft, flush_one, &c);
		if (c.failed || store_batch_commit(l->db) != 0) {
			store_batch_abort(l->db);
			c.failed = 1;
		}
	}
	if (c.failed) {
		l->st.write_failures++;
		log_warnx("%s (%zu flows kept in memory, retried in %llds)",
		    store_errmsg(l->db), flow_table_count(ft),
		    (long long)(l->o->flush_us / 1000000));
		goto out;
	}
	/* committed: the rows exist, so the flows are clean now */
	for (size_t i = 0; i < c.nput; i++) {
		struct flow *f = c.put[i].f;
		f->db_id = c.put[i].id;
		f->dirty = 0;
		if (c.put[i].line != NULL &&
		    json_line_write(c.put[i].line, l->ndjson) != 0)
			log_warn("%s", l->o->ndjson);
	}
	if (l->ndjson != NULL && fflush(l->ndjson) != 0)
		log_warn("%s", l->o->ndjson);
	for (size_t i = 0; i < c.ngone; i++) {
		struct flow *f = flow_table_find(ft, &c.gone[i]);
		if (f != NULL)
			flow_table_remove(ft, f);
	}
	l->st.flows_written += c.nput;
	l->st.flows_evicted += c.evicted;
out:
	for (size_t i = 0; i < c.nput; i++)
		json_decref(c.put[i].line);
	free(c.put);
	free(c.gone);
	free(c.ebuf);
}

static int
cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return a < b ? -1 : a > b;
}

struct collect_last {
	int64_t	*v;
	size_t	 n;
};

static int
collect_last(struct flow *f, void *arg)
{
	struct collect_last *c = arg;

	c->v[c->n++] = f->last_us;
	return 0;
}

/*
 * At --max-flows, write out and drop the least recently active eighth of
 * the flows, so a flood of new tuples costs evictions, counted and logged,
 * never memory without bound and never silent loss.
 */
static void
evict(struct live *l, int64_t now)
{
	struct flow_table *ft = analyzer_settle(l->a);
	size_t n = flow_table_count(ft);
	struct collect_last c = { calloc(n ? n : 1, sizeof(int64_t)), 0 };

	if (c.v == NULL)
		return;
	flow_table_foreach(ft, collect_last, &c);
	qsort(c.v, c.n, sizeof(*c.v), cmp_i64);
	int64_t before = c.v[c.n / 8];
	free(c.v);
	uint64_t was = l->st.flows_evicted;
	flush(l, now, before, 0);
	log_warnx("%zu flows in memory reached --max-flows %zu: wrote out and "
	    "dropped %llu of the least recently active", n, l->o->max_flows,
	    (unsigned long long)(l->st.flows_evicted - was));
}

static void
update_stats(struct live *l)
{
	const struct analyzer_stats *as = analyzer_stats(l->a);

	l->st.packets = as->packets;
	l->st.decoded = as->decoded;
	l->st.malformed = analyzer_malformed_total(as);
	l->st.duplicates = as->duplicates;
	l->st.errors_matched = as->errors_matched;
	l->st.errors_unseen = as->errors_unseen;
	l->st.errors_capped = as->errors_capped;
	l->st.flows_active = flow_table_count(analyzer_settle(l->a));
	l->st.kernel_drops = 0;
	for (int i = 0; i < l->nh; i++) {
		struct pcap_stat ps;
		if (pcap_stats(l->h[i].p, &ps) == 0)
			l->st.kernel_drops += ps.ps_drop + ps.ps_ifdrop;
	}
}

static void
log_stats(struct live *l)
{
	char why[512];

	update_stats(l);
	export_malformed_text(analyzer_stats(l->a), why, sizeof(why));
	log_info("%llu packets, %llu decoded, %llu malformed%s, %llu duplicates, "
	    "%llu kernel drops; flows %llu active, %llu written, %llu evicted; "
	    "errors %llu matched, %llu whose flow was never seen; "
	    "%llu failed writes",
	    (unsigned long long)l->st.packets, (unsigned long long)l->st.decoded,
	    (unsigned long long)l->st.malformed, why,
	    (unsigned long long)l->st.duplicates,
	    (unsigned long long)l->st.kernel_drops,
	    (unsigned long long)l->st.flows_active,
	    (unsigned long long)l->st.flows_written,
	    (unsigned long long)l->st.flows_evicted,
	    (unsigned long long)l->st.errors_matched,
	    (unsigned long long)l->st.errors_unseen,
	    (unsigned long long)l->st.write_failures);
}

static int
store_malformed(struct live *l)
{
	if (store_malformed_clear(l->db) != 0)
		return -1;
	return export_malformed(l->db, analyzer_stats(l->a));
}

static void
store_stats(struct live *l)
{
	update_stats(l);
	if (l->db == NULL)
		return;
	if (store_batch_begin(l->db) != 0 ||
	    store_stats_put(l->db, &l->st) != 0 ||
	    store_malformed(l) != 0 ||
	    store_batch_commit(l->db) != 0) {
		store_batch_abort(l->db);
		log_warnx("%s", store_errmsg(l->db));
	}
}

static void
prune(struct live *l, int64_t now)
{
	uint64_t deleted = 0;
	int64_t before = now - (int64_t)l->o->retain_days * 86400 * 1000000;

	if (l->db == NULL)
		return;
	if (store_batch_begin(l->db) != 0 ||
	    store_prune(l->db, before, &deleted) != 0 ||
	    store_batch_commit(l->db) != 0) {
		store_batch_abort(l->db);
		log_warnx("%s", store_errmsg(l->db));
		return;
	}
	if (deleted > 0)
		log_info("pruned %llu flows older than %d days",
		    (unsigned long long)deleted, l->o->retain_days);
}

static FILE *
open_ndjson(const char *path)
{
	FILE *f = fopen(path, "a");

	if (f == NULL)
		log_warn("%s", path);
	return f;
}

static struct store *
open_db(const char *path)
{
	char err[512];
	struct store *db = store_open(path, STORE_WRITE, err, sizeof(err));

	if (db == NULL)
		log_warnx("%s", err);
	return db;
}

static void
remember_db_file(struct live *l)
{
	struct stat sb;

	if (stat(l->o->dbpath, &sb) == 0) {
		l->db_dev = sb.st_dev;
		l->db_ino = sb.st_ino;
	}
}

static int forget_row(struct flow *, void *);

/*
 * (Re)open the database after a SIGHUP; on failure the flows stay in
 * memory and this is tried again at the next flush.
 */
static void
attach_db(struct live *l)
{
	if (l->db != NULL)
		return;
	if ((l->db = open_db(l->o->dbpath)) == NULL)
		return;
	if (l->db_same) {
		store_live_continue(l->db);
	} else {
		if (store_live_begin(l->db, l->o->ifaces, l->o->nifaces) != 0)
			log_warnx("%s", store_errmsg(l->db));
		/* the new file has none of the rows: write every flow anew */
		flow_table_foreach(analyzer_settle(l->a), forget_row, NULL);
		l->db_same = 1;
	}
	remember_db_file(l);
}

static int
forget_row(struct flow *f, void *arg)
{
	(void)arg;
	f->db_id = 0;
	f->dirty = 1;
	return 0;
}

/*
 * SIGHUP: reopen the log, the database and the NDJSON file. When the
 * database file was moved away (rotation), the new file gets a run of its
 * own and every flow in memory is written to it anew.
 */
static void
reopen(struct live *l)
{
	struct stat sb;

	log_reopen();
	flush(l, wall_us(), INT64_MIN, 0);
	int same = stat(l->o->dbpath, &sb) == 0 && sb.st_dev == l->db_dev &&
	    sb.st_ino == l->db_ino;
	/*
	 * A moved database keeps its -wal under the old name, and SQLite does
	 * not checkpoint a moved file on close: checkpoint it now through the
	 * open descriptors, close, and remove the orphaned names before a new
	 * file of that name is created, or it would adopt the old WAL.
	 */
	if (!same && l->db != NULL && store_checkpoint(l->db) != 0)
		log_warnx("%s", store_errmsg(l->db));
	store_close(l->db);
	l->db = NULL;
	if (!same) {
		char path[4096];
		snprintf(path, sizeof(path), "%s-wal", l->o->dbpath);
		unlink(path);
		snprintf(path, sizeof(path), "%s-shm", l->o->dbpath);
		unlink(path);
	}
	l->db_same = same;
	attach_db(l);
	if (l->o->ndjson != NULL) {
		if (l->ndjson != NULL)
			fclose(l->ndjson);
		l->ndjson = open_ndjson(l->o->ndjson);
	}
	log_info("reopened the log, %s%s%s", l->o->dbpath,
	    l->o->ndjson ? " and " : "", l->o->ndjson ? l->o->ndjson : "");
}

static void
chown_if_exists(const char *path, uid_t uid, gid_t gid)
{
	if (chown(path, uid, gid) != 0 && errno != ENOENT)
		log_warn("chown %s", path);
}

/*
 * Give up root for good once the capture handles and the files are open,
 * after making the database files the user's, so SQLite can go on writing
 * its journal.
 */
static void
drop_privileges(const struct live_opts *o)
{
	struct passwd *pw = getpwnam(o->user);
	char path[4096];

	if (pw == NULL)
		fatalx("-Z %s: no such user", o->user);
	if (getuid() == 0) {
		chown_if_exists(o->dbpath, pw->pw_uid, pw->pw_gid);
		snprintf(path, sizeof(path), "%s-wal", o->dbpath);
		chown_if_exists(path, pw->pw_uid, pw->pw_gid);
		snprintf(path, sizeof(path), "%s-shm", o->dbpath);
		chown_if_exists(path, pw->pw_uid, pw->pw_gid);
		if (o->ndjson != NULL)
			chown_if_exists(o->ndjson, pw->pw_uid, pw->pw_gid);
	}
	if (setgroups(1, &pw->pw_gid) != 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)
		fatal("dropping privileges to %s", o->user);
	if (pw->pw_uid != 0 && setuid(0) != -1)
		fatalx("could regain root after dropping privileges");
}

static void
allow_writes_beneath(int ruleset, const char *file, __u64 rights)
{
	char copy[4096];
	struct landlock_path_beneath_attr pb = { .allowed_access = rights };

	snprintf(copy, sizeof(copy), "%s", file);
	if ((pb.parent_fd = open(dirname(copy), O_PATH | O_CLOEXEC)) < 0) {
		log_warn("%s", copy);
		return;
	}
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH,
	    &pb, 0) != 0)
		log_warn("landlock rule for %s", copy);
	close(pb.parent_fd);
}

/*
 * Once everything is open, confine every later write (SQLite's journal, a
 * reopened database or NDJSON file) to the directories of those files with
 * Landlock, whoever we run as: a compromised parser cannot write anywhere
 * else. Reads are not restricted.
 */
static void
confine_writes(const struct live_opts *o)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	__u64 rights = LANDLOCK_ACCESS_FS_WRITE_FILE |
	    LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
	    LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
	    LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
	    LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
	    LANDLOCK_ACCESS_FS_MAKE_SYM;

	if (abi < 1) {
		log_warnx("Landlock is not available: writes are not confined "
		    "to the database directory");
		return;
	}
	if (abi >= 2)
		rights |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
	struct landlock_ruleset_attr attr = { .handled_access_fs = rights };
	int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr),
	    0);
	if (rs < 0) {
		log_warn("landlock");
		return;
	}
	allow_writes_beneath(rs, o->dbpath, rights);
	if (o->ndjson != NULL)
		allow_writes_beneath(rs, o->ndjson, rights);
	if (o->pidfile != NULL)
		allow_writes_beneath(rs, o->pidfile, rights);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_landlock_restrict_self, rs, 0) != 0)
		log_warn("landlock: writes are not confined");
	close(rs);
}

static void
daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		fatal("setsid");
	if ((pid = fork()) < 0)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	if (chdir("/") != 0)
		fatal("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

static void
write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 ||
	    fclose(f) != 0)
		fatal("%s", path);
}

int
live_run(const struct live_opts *o)
{
	struct live l;
	struct pollfd pfd[LIVE_MAX_IFACES];
	struct sigaction sa;
	void *ctx[LIVE_MAX_IFACES][2];

	memset(&l, 0, sizeof(l));
	l.o = o;
	log_init(1);

	/* Everything that needs root or may fail is opened first, in the
	 * foreground, so failures reach the terminal. */
	for (int i = 0; i < o->nifaces; i++) {
		l.h[i].name = o->ifaces[i];
		open_handle(&l.h[i], o);
		pfd[i].fd = pcap_get_selectable_fd(l.h[i].p);
		pfd[i].events = POLLIN;
		ctx[i][0] = &l;
		ctx[i][1] = &l.h[i];
	}
	l.nh = o->nifaces;
	if ((l.db = open_db(o->dbpath)) == NULL)
		return 1;
	if (o->ndjson != NULL && (l.ndjson = open_ndjson(o->ndjson)) == NULL)
		return 1;
	if (!o->foreground) {
		/* an SQLite connection must not cross fork(): reopen after */
		store_close(l.db);
		daemonize();
		log_init(0);
		if ((l.db = open_db(o->dbpath)) == NULL)
			return 1;
	}
	if (o->pidfile != NULL)
		write_pidfile(o->pidfile);
	if (store_live_begin(l.db, o->ifaces, o->nifaces) != 0)
		fatalx("%s", store_errmsg(l.db));
	remember_db_file(&l);
	if (o->user != NULL)
		drop_privileges(o);
	confine_writes(o);

	if ((l.a = analyzer_new()) == NULL)
		fatalx("out of memory");
	/*
	 * A router seen on several interfaces sees each packet twice, the
	 * second time up to ~3 s later when the packet waited for ARP/ND.
	 */
	if (o->nifaces > 1 || strcmp(o->ifaces[0], "any") == 0)
		analyzer_set_dedupe(l.a, 3 * 1000000);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;		/* no SA_RESTART: poll wakes */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	log_info("capturing on %d interface%s into %s (written every %llds)",
	    o->nifaces, o->nifaces == 1 ? "" : "s", o->dbpath,
	    (long long)(o->flush_us / 1000000));
	l.last_flush = l.last_stats = wall_us();
	l.last_prune = o->retain_days > 0 ? 0 : INT64_MAX;

	while (!sig_quit) {
		int n = poll(pfd, (nfds_t)l.nh, READ_TIMEOUT_MS);
		if (n < 0 && errno != EINTR)
			fatal("poll");
		for (int i = 0; i < l.nh; i++) {
			/* drain in bounded rounds so one busy link cannot
			 * starve the flushes */
			for (int round = 0; round < 64; round++) {
				int got = pcap_dispatch(l.h[i].p, 256, on_packet,
				    (u_char *)ctx[i]);
				if (got < 0)
					fatalx("%s: %s", l.h[i].name,
					    pcap_geterr(l.h[i].p));
				if (got == 0)
					break;
				if (flow_table_count(analyzer_settle(l.a)) >=
				    o->max_flows)
					evict(&l, wall_us());
			}
		}
		int64_t now = wall_us();
		if (sig_hup) {
			sig_hup = 0;
			reopen(&l);
		}
		if (sig_usr1) {
			sig_usr1 = 0;
			log_stats(&l);
		}
		if (now - l.last_flush >= o->flush_us) {
			struct stat sb;
			if (l.db != NULL && (stat(o->dbpath, &sb) != 0 ||
			    sb.st_ino != l.db_ino || sb.st_dev != l.db_dev)) {
				log_warnx("%s was removed or replaced: starting "
				    "a new file with the flows in memory",
				    o->dbpath);
				reopen(&l);
			}
			flush(&l, now, INT64_MIN, 0);
			l.last_flush = now;
		}
		if (now - l.last_stats >= o->stats_us) {
			store_stats(&l);
			l.last_stats = now;
		}
		if (now - l.last_prune >= PRUNE_EVERY_US) {
			prune(&l, now);
			l.last_prune = now;
		}
	}

	/* Drain what the kernel still holds, then write everything. */
	for (int i = 0; i < l.nh; i++)
		while (pcap_dispatch(l.h[i].p, 256, on_packet,
		    (u_char *)ctx[i]) > 0)
			;
	flush(&l, wall_us(), INT64_MIN, 1);
	store_stats(&l);
	log_stats(&l);
	int status = 0;
	if (flow_table_count(analyzer_settle(l.a)) > 0) {
		log_warnx("%zu flows could not be written",
		    flow_table_count(analyzer_settle(l.a)));
		status = 1;
	}
	if (l.db != NULL && store_live_end(l.db) != 0)
		log_warnx("%s", store_errmsg(l.db));
	store_close(l.db);
	if (l.ndjson != NULL)
		fclose(l.ndjson);
	for (int i = 0; i < l.nh; i++)
		pcap_close(l.h[i].p);
	if (o->pidfile != NULL)
		unlink(o->pidfile);
	analyzer_free(l.a);
	log_info("stopped");
	return status;
}
