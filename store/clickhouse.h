/*
 * The fleet store: flows in ClickHouse, over its HTTP interface (libcurl).
 * Like store.h for SQLite, this is the only place that speaks ClickHouse's
 * SQL: the schema (store/clickhouse.sql), the insert, and the queries of
 * udpflows. Values never go into the SQL text: a query's values travel as
 * an external table ("external data", ClickHouse's way of binding them)
 * beside it, and rows as JSONEachRow.
 *
 * A URL is http[s]://[user[:password]@]host:port/?database=NAME; "@FILE"
 * reads it from FILE, which must not be readable by group or others (a
 * password on the command line shows in ps).
 */
#ifndef UDPFLOWS_CLICKHOUSE_H
#define UDPFLOWS_CLICKHOUSE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/flow_record.h"
#include "store/store.h"

struct ch;

/* The URL an argument names (itself, or @FILE's); malloc'd, or NULL. */
char *ch_url_load(const char *arg, char *err, size_t errlen);
/* Whether it holds user:password@. */
int ch_url_has_password(const char *url);

/* NULL, with err set, when the URL is not one or memory runs out. */
struct ch *ch_open(const char *url, char *err, size_t errlen);
void ch_close(struct ch *);
const char *ch_errmsg(const struct ch *);
/* Give up on a request after this long (default 10 s). */
void ch_set_timeout(struct ch *, long ms);
/* A request in flight ends as soon as *flag is set (another thread's). */
void ch_set_abort(struct ch *, const atomic_int *flag);
/* The URL without its user and password, to say where. */
const char *ch_where(const struct ch *);

/*
 * Create the database and the table (store/clickhouse.sql); *note says
 * what was left out for an older server ("" when nothing was).
 */
int ch_init(struct ch *, char *note, size_t notelen);

/* Rows to insert, built a flow at a time. */
struct ch_rows;
struct ch_rows *ch_rows_new(const char *gateway, const char *db);
void ch_rows_free(struct ch_rows *);
/* version: when the flow was written, for the newest to win. */
int ch_rows_add(struct ch_rows *, const struct flow_record *,
    uint64_t version);
size_t ch_rows_count(const struct ch_rows *);
void ch_rows_clear(struct ch_rows *);
/* Insert them, all or none. */
int ch_insert(struct ch *, const struct ch_rows *);
/* The flows of these runs of the gateway's database db are gone. */
int ch_forget_runs(struct ch *, const char *gateway, const char *db,
    const int64_t *runs, size_t n);

/*
 * Flows matching q (the same selection as store_query_flows), only
 * gateway's when gateway is not NULL, newest version of each; fn gets each
 * with its gateway's name. Stops when fn returns != 0 or at q->limit.
 */
typedef int (*ch_flow_fn)(const struct flow_record *, const char *gateway,
    void *arg);
int ch_query_flows(struct ch *, const struct store_query *q,
    const char *gateway, ch_flow_fn fn, void *arg);

/* When gateway's flows (all, when NULL) were last active; *any 0: none. */
int ch_flow_span(struct ch *, const char *gateway, int *any,
    int64_t *oldest_us, int64_t *newest_us);

/* For --explain, as store_tunnel_carried and store_tunnel_errors. */
int ch_tunnel_carried(struct ch *, const char *gateway,
    const struct flow_record *tunnel, uint64_t *n);
struct encap_layer;
int ch_tunnel_errors(struct ch *, const char *gateway,
    const struct encap_layer *l, int64_t first_us, int64_t last_us,
    struct error_record *out, size_t max, size_t *n);

#endif
