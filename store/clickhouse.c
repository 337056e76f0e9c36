/*
 * ClickHouse over HTTP: one libcurl handle a connection, a request a
 * statement (the SQL in the URL's query parameter, rows or an external
 * table in the body), the answer read as it comes.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* libcurl's types and constants; its functions are called through lc */
#include <curl/curl.h>
#include <jansson.h>

#include "common/encap.h"
#include "common/flowstate.h"
#include "common/text.h"
#include "store/clickhouse.h"

/* store/clickhouse.sql, made a C string by the build */
static const char schema_sql[] =
#include "store/clickhouse_sql.h"
    ;

struct ch {
	CURL		*curl;
	char		*base;		/* scheme://[user@]host:port/ */
	char		*where;		/* the same without user and password */
	char		*params;	/* the URL's other parameters, "&k=v"... */
	char		 db[64];	/* the database; "" for the default */
	long		 timeout_ms;
	const atomic_int *abort;	/* set: the request in flight ends */
	char		 err[512];
};

struct ch_rows {
	char		*buf;
	size_t		 len, cap, n;
	char		 gateway[128];
	char		 db[64];
};

/*
 * libcurl is loaded by the first ch_open, not linked: it brings some
 * thirty libraries with it (TLS, Kerberos, LDAP), whose loading would
 * slow every start of udpflowd and udpflows, though only the fleet store
 * needs them. Its ABI has been libcurl.so.4 since 2006.
 */
#define CURL_SONAME	"libcurl.so.4"

static struct curl_fns {
	CURLcode	 (*global_init)(long);
	CURL		*(*easy_init)(void);
	void		 (*easy_cleanup)(CURL *);
	void		 (*easy_reset)(CURL *);
	CURLcode	 (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode	 (*easy_getinfo)(CURL *, CURLINFO, ...);
	CURLcode	 (*easy_perform)(CURL *);
	const char	*(*easy_strerror)(CURLcode);
	char		*(*easy_escape)(CURL *, const char *, int);
	void		 (*free)(void *);
	curl_mime	*(*mime_init)(CURL *);
	void		 (*mime_free)(curl_mime *);
	curl_mimepart	*(*mime_addpart)(curl_mime *);
	CURLcode	 (*mime_name)(curl_mimepart *, const char *);
	CURLcode	 (*mime_filename)(curl_mimepart *, const char *);
	CURLcode	 (*mime_data)(curl_mimepart *, const char *, size_t);
} lc;

static pthread_once_t lc_once = PTHREAD_ONCE_INIT;
static char lc_err[256];	/* why libcurl is not there; "" when it is */

static void
lc_load(void)
{
	static const struct {
		const char	*name;
		size_t		 off;
	} sym[] = {
#define LC_SYM(f)	{ "curl_" #f, offsetof(struct curl_fns, f) }
		LC_SYM(global_init), LC_SYM(easy_init), LC_SYM(easy_cleanup),
		LC_SYM(easy_reset), LC_SYM(easy_setopt), LC_SYM(easy_getinfo),
		LC_SYM(easy_perform), LC_SYM(easy_strerror),
		LC_SYM(easy_escape), LC_SYM(free), LC_SYM(mime_init),
		LC_SYM(mime_free), LC_SYM(mime_addpart), LC_SYM(mime_name),
		LC_SYM(mime_filename), LC_SYM(mime_data),
#undef LC_SYM
	};
	void *h = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		snprintf(lc_err, sizeof(lc_err), "the fleet store needs "
		    "libcurl (the Debian package libcurl4): %s", dlerror());
		return;
	}
	for (size_t i = 0; i < sizeof(sym) / sizeof(sym[0]); i++) {
		void *f = dlsym(h, sym[i].name);
		if (f == NULL) {
			snprintf(lc_err, sizeof(lc_err), "%s: no %s in it",
			    CURL_SONAME, sym[i].name);
			return;
		}
		/* POSIX: a function's address as dlsym gives it */
		memcpy((char *)&lc + sym[i].off, &f, sizeof(f));
	}
	lc.global_init(CURL_GLOBAL_DEFAULT);
}

const char *
ch_errmsg(const struct ch *c)
{
	return c->err;
}

const char *
ch_where(const struct ch *c)
{
	return c->where;
}

/* A server that does not take the connection soon is not there. */
static long
connect_ms(const struct ch *c)
{
	return c->timeout_ms < 3000 ? c->timeout_ms : 3000L;
}

void
ch_set_timeout(struct ch *c, long ms)
{
	c->timeout_ms = ms;
}

void
ch_set_abort(struct ch *c, const atomic_int *flag)
{
	c->abort = flag;
}

static int
on_progress(void *arg, curl_off_t dlt, curl_off_t dln, curl_off_t ult,
    curl_off_t uln)
{
	const atomic_int *flag = arg;

	(void)dlt, (void)dln, (void)ult, (void)uln;
	return atomic_load(flag) != 0;
}

/* A URL from a file no one else may read; NULL with err set. */
static char *
url_from_file(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	char line[2048];
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		snprintf(err, errlen, "%s: cannot read it", path);
		return NULL;
	}
	if (fstat(fileno(fp), &sb) != 0 || (sb.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: readable by others (it may hold a "
		    "password): chmod 600 it", path);
		fclose(fp);
		return NULL;
	}
	if (fgets(line, sizeof(line), fp) == NULL) {
		snprintf(err, errlen, "%s: empty, no URL in it", path);
		fclose(fp);
		return NULL;
	}
	fclose(fp);
	line[strcspn(line, "\r\n")] = '\0';
	return strdup(line);
}

char *
ch_url_load(const char *arg, char *err, size_t errlen)
{
	char *url = arg[0] == '@' ? url_from_file(arg + 1, err, errlen) :
	    strdup(arg);

	if (url == NULL && arg[0] != '@')
		snprintf(err, errlen, "out of memory");
	return url;
}

int
ch_url_has_password(const char *url)
{
	const char *auth = strstr(url, "://");
	size_t hostlen;

	if (auth == NULL)
		return 0;
	auth += 3;
	hostlen = strcspn(auth, "/?");
	const char *at = memchr(auth, '@', hostlen);
	const char *q = strchr(auth, '?');
	return (at != NULL && memchr(auth, ':', (size_t)(at - auth)) != NULL) ||
	    (q != NULL && (strstr(q, "?password=") != NULL ||
	    strstr(q, "&password=") != NULL));
}

/*
 * scheme://[userinfo@]host[:port][/][?params]: base and where without the
 * parameters, the database from database=NAME (letters, digits, _).
 */
static int
url_parse(struct ch *c, const char *url)
{
	const char *scheme_end = strstr(url, "://");
	if (scheme_end == NULL || (strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0)) {
		snprintf(c->err, sizeof(c->err), "%.200s: not an http:// or "
		    "https:// URL", url);
		return -1;
	}
	const char *auth = scheme_end + 3;
	size_t hostlen = strcspn(auth, "/?");
	const char *at = memchr(auth, '@', hostlen);
	const char *params = strchr(auth, '?');
	size_t baselen = (size_t)(auth - url) + hostlen;

	if ((c->base = malloc(baselen + 2)) == NULL ||
	    (c->where = malloc(baselen + 2)) == NULL)
		return -1;
	memcpy(c->base, url, baselen);
	strcpy(c->base + baselen, "/");
	size_t wl = (size_t)(auth - url);
	memcpy(c->where, url, wl);
	const char *host = at != NULL ? at + 1 : auth;
	size_t hl = hostlen - (size_t)(host - auth);
	memcpy(c->where + wl, host, hl);
	strcpy(c->where + wl + hl, "/");
	/* user=, password=, a setting: every request passes them on */
	if ((c->params = calloc(1, params ? strlen(params) + 2 : 1)) == NULL)
		return -1;
	for (const char *p = params; p != NULL && *p != '\0';) {
		p++;
		size_t n = strcspn(p, "&");
		if (n > 0 && strncmp(p, "database=", 9) != 0 &&
		    strncmp(p, "query=", 6) != 0) {
			strcat(c->params, "&");
			strncat(c->params, p, n);
		}
		if (n > 9 && strncmp(p, "database=", 9) == 0) {
			if (n - 9 >= sizeof(c->db)) {
				snprintf(c->err, sizeof(c->err), "database "
				    "name too long");
				return -1;
			}
			memcpy(c->db, p + 9, n - 9);
			c->db[n - 9] = '\0';
		}
		p = strchr(p, '&');
	}
	/* a name, since CREATE DATABASE takes it as an identifier */
	for (const char *p = c->db; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '_') {
			snprintf(c->err, sizeof(c->err), "database=%s: only "
			    "letters, digits and _ in a database name", c->db);
			return -1;
		}
	return 0;
}

struct ch *
ch_open(const char *url, char *err, size_t errlen)
{
	struct ch *c;
	char *owned = NULL;

	pthread_once(&lc_once, lc_load);
	if (lc_err[0] != '\0') {
		snprintf(err, errlen, "%s", lc_err);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->timeout_ms = 10000;
	if ((url = owned = ch_url_load(url, err, errlen)) == NULL) {
		free(c);
		return NULL;
	}
	if (url_parse(c, url) != 0 || (c->curl = lc.easy_init()) == NULL) {
		snprintf(err, errlen, "%s", c->err[0] ? c->err :
		    "out of memory");
		free(owned);
		ch_close(c);
		return NULL;
	}
	free(owned);
	return c;
}

void
ch_close(struct ch *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		lc.easy_cleanup(c->curl);
	free(c->base);
	free(c->where);
	free(c->params);
	free(c);
}

/* What a request gets back, and where lines of it go as they come. */
struct answer {
	CURL	*curl;
	char	*buf;
	size_t	 len, cap;
	int	(*line)(const char *, size_t, void *);
	void	*arg;
	int	 stopped;	/* the line callback said enough */
};

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t add = size * n;

	if (a->len + add + 1 > a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 16384;
		while (ncap < a->len + add + 1)
			ncap *= 2;
		char *nb = realloc(a->buf, ncap);
		if (nb == NULL)
			return 0;
		a->buf = nb;
		a->cap = ncap;
	}
	memcpy(a->buf + a->len, p, add);
	a->len += add;
	a->buf[a->len] = '\0';
	/* an error's text is kept whole, to be said */
	long status = 0;
	lc.easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
	if (a->line == NULL || status != 200)
		return add;
	/* complete lines to the callback, the rest kept */
	char *start = a->buf, *nl;
	while ((nl = memchr(start, '\n', a->len - (size_t)(start - a->buf)))) {
		if (a->line(start, (size_t)(nl - start), a->arg) != 0) {
			a->stopped = 1;
			return 0;	/* abort the transfer */
		}
		start = nl + 1;
	}
	a->len -= (size_t)(start - a->buf);
	memmove(a->buf, start, a->len + 1);
	return add;
}

/*
 * One statement: sql in the URL (never a value in it), body the rows or
 * NULL, ext an external table "p" (TabSeparated, of structure ext_struct)
 * or NULL; with db, in the connection's database.
 */
static int
request(struct ch *c, const char *sql, int with_db, const char *body,
    size_t bodylen, const char *ext, const char *ext_struct,
    struct answer *a)
{
	char *q = lc.easy_escape(c->curl, sql, 0);
	char *s = ext_struct ? lc.easy_escape(c->curl, ext_struct, 0) : NULL;
	size_t ulen = strlen(c->base) + strlen(c->params) + strlen(q) +
	    (s ? strlen(s) : 0) + 256;
	char *url = malloc(ulen);
	curl_mime *mime = NULL;
	long status = 0;
	int rc = -1;

	if (q == NULL || url == NULL || (ext_struct != NULL && s == NULL)) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		goto done;
	}
	snprintf(url, ulen, "%s?query=%s%s%s%s%s%s%s", c->base, q,
	    with_db && c->db[0] ? "&database=" : "", with_db ? c->db : "",
	    c->params, "&output_format_json_quote_64bit_integers=0",
	    s ? "&p_format=TabSeparated&p_structure=" : "", s ? s : "");
	lc.easy_reset(c->curl);
	lc.easy_setopt(c->curl, CURLOPT_URL, url);
	lc.easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	lc.easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms(c));
	lc.easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	lc.easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	lc.easy_setopt(c->curl, CURLOPT_WRITEDATA, a);
	a->curl = c->curl;
	if (c->abort != NULL) {
		lc.easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
		lc.easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
		lc.easy_setopt(c->curl, CURLOPT_XFERINFODATA,
		    (void *)(uintptr_t)c->abort);
	}
	if (ext != NULL) {
		mime = lc.mime_init(c->curl);
		curl_mimepart *part = lc.mime_addpart(mime);
		lc.mime_name(part, "p");
		lc.mime_filename(part, "p");
		lc.mime_data(part, ext, CURL_ZERO_TERMINATED);
		lc.easy_setopt(c->curl, CURLOPT_MIMEPOST, mime);
	} else {
		lc.easy_setopt(c->curl, CURLOPT_POSTFIELDS, body ? body : "");
		lc.easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(body ? bodylen : 0));
	}
	CURLcode cc = lc.easy_perform(c->curl);
	lc.easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (a->stopped) {
		rc = 0;
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		curl_off_t connected = 0;
		lc.easy_getinfo(c->curl, CURLINFO_CONNECT_TIME_T, &connected);
		if (connected == 0)
			snprintf(c->err, sizeof(c->err), "%s: cannot connect "
			    "within %ld ms", c->where, connect_ms(c));
		else
			snprintf(c->err, sizeof(c->err), "%s: no whole answer "
			    "within %g s", c->where, c->timeout_ms / 1000.0);
	} else if (cc != CURLE_OK) {
		snprintf(c->err, sizeof(c->err), "%s: %s", c->where,
		    lc.easy_strerror(cc));
	} else if (status != 200) {
		/* ClickHouse says why in the body: its first line */
		const char *why = a->buf ? a->buf : "";
		snprintf(c->err, sizeof(c->err), "%s: HTTP %ld: %.*s", c->where,
		    status, (int)strcspn(why, "\n"), why);
	} else {
		rc = 0;
		/* the last line, when the answer did not end with one */
		if (a->line != NULL && a->len > 0)
			(void)a->line(a->buf, a->len, a->arg);
	}
done:
	lc.mime_free(mime);
	lc.free(q);
	lc.free(s);
	free(url);
	return rc;
}

static int
simple(struct ch *c, const char *sql, int with_db, char *out, size_t outlen)
{
	struct answer a = { .buf = NULL };
	int rc = request(c, sql, with_db, NULL, 0, NULL, NULL, &a);

	if (rc == 0 && out != NULL)
		snprintf(out, outlen, "%.*s", (int)strcspn(a.buf ? a.buf : "",
		    "\n"), a.buf ? a.buf : "");
	free(a.buf);
	return rc;
}

int
ch_init(struct ch *c, char *note, size_t notelen)
{
	char version[64] = "", sql[sizeof(schema_sql)];
	int major = 0, minor = 0;

	note[0] = '\0';
	if (simple(c, "SELECT version()", 0, version, sizeof(version)) != 0)
		return -1;
	sscanf(version, "%d.%d", &major, &minor);
	if (c->db[0] != '\0') {
		/* an identifier, checked in url_parse: only a name */
		char create[128];
		snprintf(create, sizeof(create), "CREATE DATABASE IF NOT "
		    "EXISTS %s", c->db);
		if (simple(c, create, 0, NULL, 0) != 0)
			return -1;
	}
	/* the statement, less comments; TTL only where the server has it */
	size_t n = 0;
	for (const char *p = schema_sql; *p != '\0';) {
		size_t ll = strcspn(p, "\n");
		int keep = !(ll >= 2 && p[0] == '-' && p[1] == '-') &&
		    !(strncmp(p, "TTL ", 4) == 0 &&
		    (major < 19 || (major == 19 && minor < 6)));
		if (strncmp(p, "TTL ", 4) == 0 && !keep)
			snprintf(note, notelen, "ClickHouse %s has no TTL: "
			    "drop old months with ALTER TABLE flows DROP "
			    "PARTITION", version);
		if (keep) {
			memcpy(sql + n, p, ll);
			n += ll;
			sql[n++] = '\n';
		}
		p += ll + (p[ll] == '\n');
	}
	sql[n] = '\0';
	/* a statement a request: HTTP takes one at a time */
	for (char *stmt = sql, *semi; (semi = strchr(stmt, ';')) != NULL;
	    stmt = semi + 1) {
		*semi = '\0';
		if (simple(c, stmt, 1, NULL, 0) != 0)
			return -1;
	}
	return 0;
}

struct ch_rows *
ch_rows_new(const char *gateway, const char *db)
{
	struct ch_rows *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	snprintf(r->gateway, sizeof(r->gateway), "%s", gateway);
	snprintf(r->db, sizeof(r->db), "%s", db);
	return r;
}

void
ch_rows_free(struct ch_rows *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}

size_t
ch_rows_count(const struct ch_rows *r)
{
	return r->n;
}

void
ch_rows_clear(struct ch_rows *r)
{
	r->len = 0;
	r->n = 0;
}

/*
 * Rows go in ClickHouse's RowBinary: each value in the column's own bytes
 * (integers little-endian, a string or an array its length as LEB128 then
 * its items), so nothing needs escaping and nothing is parsed from text.
 */
static const char insert_sql[] = "INSERT INTO flows (gateway, db, id,"
    " version, run, proto, family, src, dst, has_ports, sport, dport,"
    " first_us, last_us, pkts_sent, bytes_sent, pkts_back, bytes_back, state,"
    " pkts_errored, syns, syn_span_us, tcp_end, end_by, rst_ttl, dst_ttl,"
    " tunnel, encap, errors.family, errors.type, errors.code,"
    " errors.reporter, errors.count, errors.first_us, errors.last_us,"
    " errors.has_mtu, errors.mtu, errors.matched, errors.altered,"
    " errors.rtt_us, errors.sent_ttl, errors.quoted_ttl) FORMAT RowBinary";

_Static_assert(STATE_REFUSED == 1 && STATE_SILENT == 11 && STATE_MAX == 11,
    "the state Enum8 of store/clickhouse.sql numbers the states as this");

/* Room for n more bytes; 0, or -1 when memory runs out (r->full set). */
static int
room(struct ch_rows *r, size_t n)
{
	if (r->len + n <= r->cap)
		return 0;
	size_t ncap = r->cap ? r->cap * 2 : 1 << 20;
	while (ncap < r->len + n)
		ncap *= 2;
	char *nb = realloc(r->buf, ncap);
	if (nb == NULL)
		return -1;
	r->buf = nb;
	r->cap = ncap;
	return 0;
}

/* An unsigned value of width bytes, little-endian. */
static void
put_le(struct ch_rows *r, uint64_t v, int width)
{
	for (int i = 0; i < width; i++)
		r->buf[r->len++] = (char)(v >> (8 * i));
}

static void
put_leb(struct ch_rows *r, uint64_t v)
{
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		r->buf[r->len++] = (char)(b | (v ? 0x80 : 0));
	} while (v);
}

static void
put_str(struct ch_rows *r, const char *s)
{
	size_t n = strlen(s);

	put_leb(r, n);
	memcpy(r->buf + r->len, s, n);
	r->len += n;
}

int
ch_rows_add(struct ch_rows *r, const struct flow_record *f, uint64_t version)
{
	char src[64], dst[64], text[ENCAP_TEXT_MAX] = "";
	const char *tunnel = f->encap && f->encap->tunnel ?
	    encap_kind_name(f->encap->tunnel) : "";
	size_t ne = f->nerrors;

	addr_text(f->family, f->src, src, sizeof(src));
	addr_text(f->family, f->dst, dst, sizeof(dst));
	if (f->encap != NULL)
		encap_text(f->encap, text, sizeof(text));
	/* the strings, the fixed columns, the arrays: a bound on the bytes */
	if (room(r, strlen(r->gateway) + strlen(r->db) + strlen(src) +
	    strlen(dst) + strlen(tunnel) + strlen(text) + 6 * 10 + 160 +
	    14 * 10 + ne * (64 + 10 + 60)) != 0)
		return -1;
	put_str(r, r->gateway);
	put_str(r, r->db);
	put_le(r, (uint64_t)f->id, 8);
	put_le(r, version, 8);
	put_le(r, (uint64_t)f->run_id, 8);
	put_le(r, f->proto, 1);
	put_le(r, f->family, 1);
	put_str(r, src);
	put_str(r, dst);
	put_le(r, f->has_ports, 1);
	put_le(r, f->sport, 2);
	put_le(r, f->dport, 2);
	put_le(r, (uint64_t)f->first_us, 8);
	put_le(r, (uint64_t)f->last_us, 8);
	put_le(r, f->pkts_sent, 8);
	put_le(r, f->bytes_sent, 8);
	put_le(r, f->pkts_back, 8);
	put_le(r, f->bytes_back, 8);
	/* an Enum8 refuses a value it does not name */
	put_le(r, f->state >= STATE_REFUSED && f->state <= STATE_MAX ?
	    f->state : STATE_SILENT, 1);
	put_le(r, f->pkts_errored, 8);
	put_le(r, f->syns, 4);
	put_le(r, (uint64_t)f->syn_span_us, 8);
	put_le(r, f->end, 1);
	put_le(r, f->end_by, 1);
	put_le(r, f->rst_ttl, 1);
	put_le(r, f->dst_ttl, 1);
	put_str(r, tunnel);
	put_str(r, text);
	/* Nested: a column an array, each of the flow's errors */
#define ERRORS(width, expr) do {					\
	put_leb(r, ne);							\
	for (size_t i = 0; i < ne; i++) {				\
		const struct error_record *e = &f->errors[i];		\
		put_le(r, (uint64_t)(expr), width);			\
	}								\
} while (0)
	ERRORS(1, e->family);
	ERRORS(1, e->type);
	ERRORS(1, e->code);
	put_leb(r, ne);
	for (size_t i = 0; i < ne; i++) {
		char rep[64];
		addr_text(f->errors[i].family, f->errors[i].reporter, rep,
		    sizeof(rep));
		put_str(r, rep);
	}
	ERRORS(4, e->count);
	ERRORS(8, e->first_us);
	ERRORS(8, e->last_us);
	ERRORS(1, e->has_mtu);
	ERRORS(4, e->mtu);
	ERRORS(4, e->matched);
	ERRORS(4, e->altered);
	ERRORS(8, e->rtt_us);
	ERRORS(1, e->sent_ttl);
	ERRORS(1, e->quoted_ttl);
#undef ERRORS
	r->n++;
	return 0;
}

int
ch_insert(struct ch *c, const struct ch_rows *r)
{
	struct answer a = { .buf = NULL };
	int rc;

	if (r->n == 0)
		return 0;
	rc = request(c, insert_sql, 1, r->buf, r->len, NULL, NULL, &a);
	free(a.buf);
	return rc;
}

int
ch_forget_runs(struct ch *c, const char *gateway, const char *db,
    const int64_t *runs, size_t n)
{
	struct answer a = { .buf = NULL };
	char *body = NULL;
	size_t len = 0;
	FILE *fp;
	int rc = -1;

	if (n == 0)
		return 0;
	if ((fp = open_memstream(&body, &len)) == NULL) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s, s:s, s:I}", "gateway", gateway,
		    "db", db, "run", (json_int_t)runs[i]);
		if (o == NULL || json_dumpf(o, fp, JSON_COMPACT) != 0) {
			json_decref(o);
			fclose(fp);
			free(body);
			snprintf(c->err, sizeof(c->err), "out of memory");
			return -1;
		}
		json_decref(o);
		fputc('\n', fp);
	}
	if (fclose(fp) == 0)
		rc = request(c, "INSERT INTO gone FORMAT JSONEachRow", 1, body,
		    len, NULL, NULL, &a);
	else
		snprintf(c->err, sizeof(c->err), "out of memory");
	free(body);
	free(a.buf);
	return rc;
}

/*
 * Reading. The query is fixed fragments chosen by which filters are
 * present, as store/query.c builds SQLite's; the values are the one row of
 * the external table p.
 */
static const char ext_struct[] = "states Array(Int8), host_lo String, "
    "host_hi String, src_lo String, src_hi String, dst_lo String, "
    "dst_hi String, net_lo String, net_hi String, reporter String, "
    "port_lo Array(UInt16), port_hi Array(UInt16), proto Int16, "
    "since Int64, until Int64, gateway String";

struct sqlbuf {
	char	sql[4096];
	size_t	len;
	int	full;		/* something did not fit: do not send it */
};

static void
add(struct sqlbuf *b, const char *frag)
{
	size_t n = strlen(frag);

	if (b->len + n < sizeof(b->sql)) {
		memcpy(b->sql + b->len, frag, n + 1);
		b->len += n;
	} else
		b->full = 1;
}

/* One text field of the external row, TabSeparated-escaped. */
static void
tsv_text(struct sqlbuf *b, const char *s, int last)
{
	char esc[512];
	size_t n = 0;

	for (; *s != '\0' && n + 3 < sizeof(esc); s++) {
		if (*s == '\t' || *s == '\n' || *s == '\\') {
			esc[n++] = '\\';
			esc[n++] = *s == '\t' ? 't' : *s == '\n' ? 'n' : '\\';
		} else
			esc[n++] = *s;
	}
	esc[n] = '\0';
	add(b, esc);
	add(b, last ? "\n" : "\t");
}

static void
tsv_int(struct sqlbuf *b, long long v, int last)
{
	char t[32];

	snprintf(t, sizeof(t), "%lld%c", v, last ? '\n' : '\t');
	add(b, t);
}

/* An address as text for IPv6StringToNum: IPv4 as ::ffff:a.b.c.d. */
static void
addr_param(const uint8_t *p, size_t len, char *out, size_t outlen)
{
	char a[64] = "";

	if (p == NULL) {
		out[0] = '\0';
		return;
	}
	if (len == 4) {
		inet_ntop(AF_INET, p, a, sizeof(a));
		snprintf(out, outlen, "::ffff:%s", a);
	} else {
		inet_ntop(AF_INET6, p, a, sizeof(a));
		snprintf(out, outlen, "%s", a);
	}
}

static void
range_params(struct sqlbuf *b, const struct store_addr_filter *f)
{
	char lo[80], hi[80];

	addr_param(f->lo, f->len, lo, sizeof(lo));
	addr_param(f->hi, f->len, hi, sizeof(hi));
	tsv_text(b, lo, 0);
	tsv_text(b, hi, 0);
}

static void
ext_row(struct sqlbuf *b, const struct store_query *q, size_t nstates,
    const char *gateway)
{
	char t[32], rep[64] = "";

	add(b, "[");
	for (size_t i = 0; i < nstates; i++) {
		snprintf(t, sizeof(t), "%s%d", i ? "," : "", q->states[i]);
		add(b, t);
	}
	add(b, "]\t");
	range_params(b, &q->host);
	range_params(b, &q->src);
	range_params(b, &q->dst);
	range_params(b, &q->net);
	if (q->reporter != NULL)
		addr_text(q->reporterlen == 16 ? 6 : 4, q->reporter, rep,
		    sizeof(rep));
	tsv_text(b, rep, 0);
	for (int hi = 0; hi < 2; hi++) {
		add(b, "[");
		for (size_t i = 0; i < q->nports; i++) {
			snprintf(t, sizeof(t), "%s%u", i ? "," : "",
			    hi ? q->ports[i].hi : q->ports[i].lo);
			add(b, t);
		}
		add(b, "]\t");
	}
	tsv_int(b, q->proto, 0);
	tsv_int(b, q->since_us, 0);
	tsv_int(b, q->until_us, 0);
	tsv_text(b, gateway ? gateway : "", 1);
}

#define EITHER(col_lo, col_hi) \
	" AND ((src_bin BETWEEN IPv6StringToNum((SELECT " col_lo " FROM p))" \
	" AND IPv6StringToNum((SELECT " col_hi " FROM p))) OR" \
	" (dst_bin BETWEEN IPv6StringToNum((SELECT " col_lo " FROM p))" \
	" AND IPv6StringToNum((SELECT " col_hi " FROM p))))"

/*
 * A flow alive when its gateway's database was rotated is written again,
 * whole, into the new file, under that file's db and id: the newest row
 * of a flow's identity is the flow. Filters on what a newer version only
 * keeps or grows (addresses, ports, first_us, last_us, errors) may come
 * before this; the state, which a later version may change, after.
 */
#define NEWEST_OF_EACH_FLOW \
	" ORDER BY version DESC LIMIT 1 BY gateway, proto, src, dst, sport," \
	" dport, first_us, encap"

#define ERROR_COLUMNS \
	"errors.family, errors.type, errors.code, errors.reporter," \
	" errors.count, errors.first_us, errors.last_us, errors.has_mtu," \
	" errors.mtu, errors.matched, errors.altered, errors.rtt_us," \
	" errors.sent_ttl, errors.quoted_ttl"

#define FLOW_COLUMNS \
	"gateway, id, run, proto, family, src, dst, has_ports," \
	" sport, dport, first_us, last_us, pkts_sent, bytes_sent," \
	" pkts_back, bytes_back, toInt8(state) AS st, pkts_errored, syns," \
	" syn_span_us, tcp_end, end_by, rst_ttl, dst_ttl, tunnel, encap, " \
	ERROR_COLUMNS

static void
query_sql(struct sqlbuf *b, const struct store_query *q, size_t nstates,
    const char *gateway)
{
	static const char *const order[] = {
		[SORT_FIRST]	= " ORDER BY first_us, gateway, id",
		[SORT_LAST]	= " ORDER BY last_us DESC, gateway, id",
		[SORT_PACKETS]	= " ORDER BY pkts_sent + pkts_back DESC,"
		    " gateway, id",
		[SORT_ERRORS]	= " ORDER BY arraySum(errors.count) DESC,"
		    " gateway, id",
	};

	add(b, "SELECT * FROM (SELECT " FLOW_COLUMNS
	    " FROM flows FINAL WHERE 1");
	if (q->host.lo != NULL)
		add(b, EITHER("host_lo", "host_hi"));
	if (q->src.lo != NULL)
		add(b, " AND src_bin BETWEEN IPv6StringToNum((SELECT src_lo FROM"
		    " p)) AND IPv6StringToNum((SELECT src_hi FROM p))");
	if (q->dst.lo != NULL)
		add(b, " AND dst_bin BETWEEN IPv6StringToNum((SELECT dst_lo FROM"
		    " p)) AND IPv6StringToNum((SELECT dst_hi FROM p))");
	if (q->net.lo != NULL)
		add(b, EITHER("net_lo", "net_hi"));
	if (q->reporter != NULL)
		add(b, " AND has(errors.reporter, (SELECT reporter FROM p))");
	if (q->nports > 0)
		add(b, " AND has_ports AND arrayExists((lo, hi) ->"
		    " (sport BETWEEN lo AND hi) OR (dport BETWEEN lo AND hi),"
		    " (SELECT port_lo FROM p), (SELECT port_hi FROM p))");
	if (q->proto >= 0)
		add(b, " AND proto = (SELECT proto FROM p)");
	if (q->has_since)
		add(b, " AND last_us >= (SELECT since FROM p)");
	if (q->has_until)
		add(b, " AND first_us <= (SELECT until FROM p)");
	if (gateway != NULL)
		add(b, " AND gateway = (SELECT gateway FROM p)");
	/* runs analyzed again: their new flows stand, these do not */
	add(b, " AND (gateway, db, run) NOT IN (SELECT gateway, db, run FROM"
	    " gone)" NEWEST_OF_EACH_FLOW ") WHERE 1");
	if (nstates > 0)
		add(b, " AND st IN (SELECT arrayJoin(states) FROM p)");
	add(b, order[q->sort <= SORT_ERRORS ? q->sort : SORT_FIRST]);
	/* a number we print, not a value from the user's text */
	if (q->limit > 0) {
		char lim[40];
		snprintf(lim, sizeof(lim), " LIMIT %lld", (long long)q->limit);
		add(b, lim);
	}
	add(b, " FORMAT JSONEachRow");
}

struct reading {
	ch_flow_fn	 fn;
	void		*arg;
	int		 ret;
	struct error_record *errs;
	size_t		 errcap;
};

static json_int_t
jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static json_int_t
jat(json_t *o, const char *k, size_t i)
{
	return json_integer_value(json_array_get(json_object_get(o, k), i));
}

/* One JSONEachRow line into a record and its errors. */
static int
on_row(const char *line, size_t len, void *arg)
{
	struct reading *r = arg;
	json_error_t jerr;
	json_t *o;
	struct flow_record f;
	struct flow_encap e;
	uint8_t fam;

	if (len == 0)
		return 0;
	if ((o = json_loadb(line, len, 0, &jerr)) == NULL) {
		r->ret = -1;
		return 1;
	}
	memset(&f, 0, sizeof(f));
	f.id = jint(o, "id");
	f.run_id = jint(o, "run");
	f.proto = (uint8_t)jint(o, "proto");
	fam = (uint8_t)jint(o, "family");
	f.family = fam;
	const char *src = json_string_value(json_object_get(o, "src"));
	const char *dst = json_string_value(json_object_get(o, "dst"));
	if (src == NULL || dst == NULL || (fam != 4 && fam != 6) ||
	    inet_pton(fam == 6 ? AF_INET6 : AF_INET, src, f.src) != 1 ||
	    inet_pton(fam == 6 ? AF_INET6 : AF_INET, dst, f.dst) != 1) {
		json_decref(o);
		r->ret = -1;
		return 1;
	}
	f.has_ports = (uint8_t)jint(o, "has_ports");
	f.sport = (uint16_t)jint(o, "sport");
	f.dport = (uint16_t)jint(o, "dport");
	f.first_us = jint(o, "first_us");
	f.last_us = jint(o, "last_us");
	f.pkts_sent = (uint64_t)jint(o, "pkts_sent");
	f.bytes_sent = (uint64_t)jint(o, "bytes_sent");
	f.pkts_back = (uint64_t)jint(o, "pkts_back");
	f.bytes_back = (uint64_t)jint(o, "bytes_back");
	f.state = (uint8_t)jint(o, "st");
	f.pkts_errored = (uint64_t)jint(o, "pkts_errored");
	f.syns = (uint32_t)jint(o, "syns");
	f.syn_span_us = jint(o, "syn_span_us");
	f.end = (uint8_t)jint(o, "tcp_end");
	f.end_by = (uint8_t)jint(o, "end_by");
	f.rst_ttl = (uint8_t)jint(o, "rst_ttl");
	f.dst_ttl = (uint8_t)jint(o, "dst_ttl");
	const char *tunnel = json_string_value(json_object_get(o, "tunnel"));
	int kind = tunnel && *tunnel ? encap_kind_of(tunnel) : -1;
	memset(&e, 0, sizeof(e));
	e.tunnel = (uint8_t)(kind > 0 ? kind : ENCAP_NONE);
	(void)encap_parse(json_string_value(json_object_get(o, "encap")), &e);
	f.encap = e.tunnel != ENCAP_NONE || e.n > 0 ? &e : NULL;
	size_t ne = json_array_size(json_object_get(o, "errors.type"));
	if (ne > r->errcap) {
		struct error_record *nb = realloc(r->errs, ne * sizeof(*nb));
		if (nb == NULL) {
			json_decref(o);
			r->ret = -1;
			return 1;
		}
		r->errs = nb;
		r->errcap = ne;
	}
	for (size_t i = 0; i < ne; i++) {
		struct error_record *x = &r->errs[i];
		memset(x, 0, sizeof(*x));
		x->family = (uint8_t)jat(o, "errors.family", i);
		x->type = (uint8_t)jat(o, "errors.type", i);
		x->code = (uint8_t)jat(o, "errors.code", i);
		const char *rep = json_string_value(json_array_get(
		    json_object_get(o, "errors.reporter"), i));
		if (rep != NULL)
			inet_pton(x->family == 6 ? AF_INET6 : AF_INET, rep,
			    x->reporter);
		x->count = (uint32_t)jat(o, "errors.count", i);
		x->first_us = jat(o, "errors.first_us", i);
		x->last_us = jat(o, "errors.last_us", i);
		x->has_mtu = (uint8_t)jat(o, "errors.has_mtu", i);
		x->mtu = (uint32_t)jat(o, "errors.mtu", i);
		x->matched = (uint32_t)jat(o, "errors.matched", i);
		x->altered = (uint32_t)jat(o, "errors.altered", i);
		x->rtt_us = jat(o, "errors.rtt_us", i);
		x->sent_ttl = (uint8_t)jat(o, "errors.sent_ttl", i);
		x->quoted_ttl = (uint8_t)jat(o, "errors.quoted_ttl", i);
	}
	f.errors = r->errs;
	f.nerrors = ne;
	const char *gw = json_string_value(json_object_get(o, "gateway"));
	f.gateway = gw;
	r->ret = r->fn(&f, gw ? gw : "", r->arg);
	json_decref(o);
	return r->ret != 0;
}

int
ch_query_flows(struct ch *c, const struct store_query *q,
    const char *gateway, ch_flow_fn fn, void *arg)
{
	struct sqlbuf sql = { .len = 0 }, ext = { .len = 0 };
	size_t nstates = q->states ? q->nstates : 0;
	struct reading r = { .fn = fn, .arg = arg };
	struct answer a = { .line = on_row, .arg = &r };

	query_sql(&sql, q, nstates, gateway);
	ext_row(&ext, q, nstates, gateway);
	if (sql.full || ext.full) {
		snprintf(c->err, sizeof(c->err), "the query is too long");
		return -1;
	}
	int rc = request(c, sql.sql, 1, NULL, 0, ext.sql, ext_struct, &a);
	free(a.buf);
	free(r.errs);
	if (rc == 0 && r.ret < 0)
		snprintf(c->err, sizeof(c->err), "%s: an answer that is not "
		    "a row of flows", c->where);
	return rc != 0 ? -1 : r.ret < 0 ? -1 : r.ret;
}

/*
 * The context --explain gives a tunnel's flow and a carried one, as
 * store_tunnel_carried and store_tunnel_errors do, among gateway's flows.
 */
static int
on_count(const char *line, size_t len, void *arg)
{
	uint64_t *n = arg;
	char buf[32];

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, line, len);
	buf[len] = '\0';
	*n = strtoull(buf, NULL, 10);
	return 0;
}

int
ch_tunnel_carried(struct ch *c, const char *gateway,
    const struct flow_record *t, uint64_t *n)
{
	static const char sql[] = "SELECT count() FROM (SELECT 1 FROM flows"
	    " FINAL WHERE gateway = (SELECT gateway FROM p)"
	    " AND last_us >= (SELECT first_us FROM p)"
	    " AND first_us <= (SELECT last_us FROM p) AND tunnel = ''"
	    " AND (encap LIKE (SELECT ab FROM p) OR encap LIKE (SELECT ba FROM p))"
	    " AND (gateway, db, run) NOT IN (SELECT gateway, db, run FROM gone)"
	    NEWEST_OF_EACH_FLOW ") FORMAT TabSeparated";
	static const char structure[] = "gateway String, first_us Int64, "
	    "last_us Int64, ab String, ba String";
	struct sqlbuf ext = { .len = 0 };
	struct answer a = { .line = on_count, .arg = n };
	char x[64], y[64], pat[160];
	const char *kind = encap_kind_name(t->encap->tunnel);
	int rc;

	*n = 0;
	tsv_text(&ext, gateway, 0);
	tsv_int(&ext, t->first_us, 0);
	tsv_int(&ext, t->last_us, 0);
	/* "%gre%@A>B%": the kind, any id, then the endpoints, either way */
	addr_text(t->family, t->src, x, sizeof(x));
	addr_text(t->family, t->dst, y, sizeof(y));
	snprintf(pat, sizeof(pat), "%%%s%%@%s>%s%%", kind, x, y);
	tsv_text(&ext, pat, 0);
	snprintf(pat, sizeof(pat), "%%%s%%@%s>%s%%", kind, y, x);
	tsv_text(&ext, pat, 1);
	rc = request(c, sql, 1, NULL, 0, ext.sql, structure, &a);
	free(a.buf);
	return rc;
}

struct tunnel_errors {
	struct error_record	*out;
	size_t			 max, n;
	int			 bad;
};

static int
on_error_row(const char *line, size_t len, void *arg)
{
	struct tunnel_errors *t = arg;
	json_error_t jerr;
	json_t *o;

	if (len == 0 || t->n >= t->max)
		return 0;
	if ((o = json_loadb(line, len, 0, &jerr)) == NULL) {
		t->bad = 1;
		return 1;
	}
	struct error_record *x = &t->out[t->n++];
	memset(x, 0, sizeof(*x));
	x->family = (uint8_t)jint(o, "errors.family");
	x->type = (uint8_t)jint(o, "errors.type");
	x->code = (uint8_t)jint(o, "errors.code");
	const char *rep = json_string_value(json_object_get(o,
	    "errors.reporter"));
	if (rep == NULL || inet_pton(x->family == 6 ? AF_INET6 : AF_INET, rep,
	    x->reporter) != 1)
		t->bad = 1;
	x->count = (uint32_t)jint(o, "errors.count");
	x->first_us = jint(o, "errors.first_us");
	x->last_us = jint(o, "errors.last_us");
	x->has_mtu = (uint8_t)jint(o, "errors.has_mtu");
	x->mtu = (uint32_t)jint(o, "errors.mtu");
	x->matched = (uint32_t)jint(o, "errors.matched");
	x->altered = (uint32_t)jint(o, "errors.altered");
	x->rtt_us = jint(o, "errors.rtt_us");
	x->sent_ttl = (uint8_t)jint(o, "errors.sent_ttl");
	x->quoted_ttl = (uint8_t)jint(o, "errors.quoted_ttl");
	json_decref(o);
	return t->bad;
}

int
ch_tunnel_errors(struct ch *c, const char *gateway,
    const struct encap_layer *l, int64_t first_us, int64_t last_us,
    struct error_record *out, size_t max, size_t *n)
{
	static const char sql[] = "SELECT * FROM (SELECT "
	    ERROR_COLUMNS " FROM flows FINAL"
	    " WHERE gateway = (SELECT gateway FROM p)"
	    " AND tunnel = (SELECT kind FROM p)"
	    " AND ((src = (SELECT a FROM p) AND dst = (SELECT b FROM p)) OR"
	    " (src = (SELECT b FROM p) AND dst = (SELECT a FROM p)))"
	    " AND last_us >= (SELECT first_us FROM p)"
	    " AND first_us <= (SELECT last_us FROM p)"
	    " AND (gateway, db, run) NOT IN (SELECT gateway, db, run FROM gone)"
	    NEWEST_OF_EACH_FLOW ") ARRAY JOIN errors"
	    " ORDER BY errors.first_us FORMAT JSONEachRow";
	static const char structure[] = "gateway String, kind String, "
	    "a String, b String, first_us Int64, last_us Int64";
	struct sqlbuf ext = { .len = 0 };
	struct tunnel_errors t = { .out = out, .max = max };
	struct answer a = { .line = on_error_row, .arg = &t };
	char x[64];
	int rc;

	tsv_text(&ext, gateway, 0);
	tsv_text(&ext, encap_kind_name(l->kind), 0);
	addr_text(l->family, l->src, x, sizeof(x));
	tsv_text(&ext, x, 0);
	addr_text(l->family, l->dst, x, sizeof(x));
	tsv_text(&ext, x, 0);
	tsv_int(&ext, first_us, 0);
	tsv_int(&ext, last_us, 1);
	rc = request(c, sql, 1, NULL, 0, ext.sql, structure, &a);
	free(a.buf);
	*n = t.n;
	if (rc == 0 && t.bad) {
		snprintf(c->err, sizeof(c->err), "%s: an answer that is not "
		    "a row of errors", c->where);
		return -1;
	}
	return rc;
}

struct span {
	int	any;
	int64_t	oldest, newest;
};

static int
on_span(const char *line, size_t len, void *arg)
{
	struct span *sp = arg;
	char buf[96];
	long long n, lo, hi;

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (sscanf(buf, "%lld\t%lld\t%lld", &n, &lo, &hi) == 3 && n > 0) {
		sp->any = 1;
		sp->oldest = lo;
		sp->newest = hi;
	}
	return 0;
}

int
ch_flow_span(struct ch *c, const char *gateway, int *any, int64_t *oldest_us,
    int64_t *newest_us)
{
	static const char all[] = "SELECT count(), min(last_us), max(last_us)"
	    " FROM flows WHERE 1", one[] = " AND gateway = (SELECT gateway"
	    " FROM p)", tail[] = " FORMAT TabSeparated";
	struct sqlbuf sql = { .len = 0 }, ext = { .len = 0 };
	struct span sp = { 0, 0, 0 };
	struct answer a = { .line = on_span, .arg = &sp };
	int rc;

	/* every version counts: a flow's last_us only grows */
	add(&sql, all);
	if (gateway != NULL)
		add(&sql, one);
	add(&sql, tail);
	tsv_text(&ext, gateway ? gateway : "", 1);
	rc = request(c, sql.sql, 1, NULL, 0, ext.sql, "gateway String", &a);
	free(a.buf);
	*any = sp.any;
	*oldest_us = sp.oldest;
	*newest_us = sp.newest;
	return rc;
}
