-- The fleet store: every gateway's flows in one ClickHouse table.
--
-- udpflows --clickhouse URL --init runs this (after CREATE DATABASE of the
-- URL's database); so does clickhouse-client --database udpflows
-- --multiquery < clickhouse.sql. Checked against ClickHouse 18.16 (Debian
-- 12) and written for current releases too.
--
-- One row a flow version. udpflowd inserts a flow each time it writes it
-- (it may get more packets, or an error, later); ReplacingMergeTree keeps
-- the newest version (version: when it was written) of each flow, and
-- queries read with FINAL. A row is (gateway, db, id): db is the gateway
-- database's own id, since flow ids start again in a new file. A flow
-- alive when its gateway's database is rotated is written again, whole,
-- into the new file, so it has a row under each: udpflows reads the newest
-- row of each flow, as your own queries should:
--   SELECT ... FROM flows FINAL WHERE ... ORDER BY version DESC
--   LIMIT 1 BY gateway, proto, src, dst, sport, dport, first_us, encap
--
-- The sort key is what versions are merged by, so it may hold only what
-- a flow keeps from its first version on: the day and the destination
-- lead it (the common questions are "what happened to DST" and "what
-- happened that day"), and the flow's identity ends it. The state cannot
-- be in it: a silent flow becomes refused when the ICMP error comes.
-- Months partition by the flow's first packet, which a version keeps.
--
-- Addresses are text (as udpflows prints them); src_bin and dst_bin hold
-- them as 16 bytes (IPv4 mapped) for ranges. Times are microseconds since
-- the epoch, UTC, as in the gateway's database.

CREATE TABLE IF NOT EXISTS flows (
    gateway String,
    db String,
    id Int64,
    version UInt64,
    run Int64,
    proto UInt8,
    family UInt8,
    src String,
    dst String,
    has_ports UInt8,
    sport UInt16,
    dport UInt16,
    first_us Int64,
    last_us Int64,
    pkts_sent UInt64,
    bytes_sent UInt64,
    pkts_back UInt64,
    bytes_back UInt64,
    state Enum8('refused' = 1, 'host-unreachable' = 2, 'net-unreachable' = 3,
        'proto-unreachable' = 4, 'prohibited' = 5, 'frag-needed' = 6,
        'ttl-exceeded' = 7, 'unreachable' = 8, 'param-problem' = 9,
        'answered' = 10, 'silent' = 11),
    pkts_errored UInt64,
    syns UInt32,
    syn_span_us Int64,
    tcp_end UInt8,
    end_by UInt8,
    rst_ttl UInt8,
    dst_ttl UInt8,
    tunnel String,
    encap String,
    errors Nested (
        family UInt8,
        type UInt8,
        code UInt8,
        reporter String,
        count UInt32,
        first_us Int64,
        last_us Int64,
        has_mtu UInt8,
        mtu UInt32,
        matched UInt32,
        altered UInt32,
        rtt_us Int64,
        sent_ttl UInt8,
        quoted_ttl UInt8
    ),
    first DateTime MATERIALIZED toDateTime(intDiv(first_us, 1000000)),
    src_bin FixedString(16) MATERIALIZED if(family = 4,
        IPv4ToIPv6(IPv4StringToNum(src)), IPv6StringToNum(src)),
    dst_bin FixedString(16) MATERIALIZED if(family = 4,
        IPv4ToIPv6(IPv4StringToNum(dst)), IPv6StringToNum(dst))
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(first)
ORDER BY (toDate(first), dst_bin, gateway, db, id)
-- TTL: ClickHouse 19.6 and later keep a year; before, drop old months
-- (ALTER TABLE flows DROP PARTITION 202511). --init leaves this line out
-- of an older server's table and says so.
TTL first + INTERVAL 1 YEAR
;

-- A gateway's runs replaced by a new analysis of the same captures
-- (udpflowd -r on a capture it read before): their flows are gone from
-- the gateway's database, and queries leave them out here too.
CREATE TABLE IF NOT EXISTS gone (
    gateway String,
    db String,
    run Int64
) ENGINE = ReplacingMergeTree
ORDER BY (gateway, db, run)
;

-- A cluster: udpflowd and udpflows use the tables flows and gone of the
-- URL's database. Create them with this file in a database udpflows_local
-- on every shard (ReplicatedReplacingMergeTree where shards have
-- replicas), and in the database udpflows of every server the two tables
-- over them:
--   CREATE TABLE udpflows.flows AS udpflows_local.flows
--       ENGINE = Distributed(CLUSTER, udpflows_local, flows,
--       cityHash64(gateway));
--   CREATE TABLE udpflows.gone AS udpflows_local.gone
--       ENGINE = Distributed(CLUSTER, udpflows_local, gone,
--       cityHash64(gateway));
-- Sharded by gateway, all versions of a flow land on one shard, where
-- FINAL finds the newest, and a gateway's gone runs on the same shard as
-- its flows: give udpflows the URL with &distributed_product_mode=local
-- so that each shard checks its own (ClickHouse refuses a Distributed
-- table's IN over another by default).
