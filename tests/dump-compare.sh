#!/usr/bin/env bash
# Prove that a change leaves udpflows' results alone: analyze the same
# captures with two builds and compare, capture by capture, what udpflowd
# says and its exit status, the database's tables (flows and errors by
# content, malformed counts, inputs, runs without their clock times; row
# ids are surrogate keys and left out) and nine views
# of udpflows (table, --json, --explain, --summary, --refused, --csv,
# --timeline, --stats, --unreachable --json).
#
#   tests/dump-compare.sh OLD_BUILD NEW_BUILD [CAPTURE ...]
#
# Without captures: every capture in pcaps/, the peer captures in
# ../shared/peer-pcaps when present, and two made by NEW_BUILD's
# tests/bench/gen-capture (make tests/bench/gen-capture): one of
# 300,000 packets with a few hundred flows alive at a time, one of 400,000
# packets with 100,000 flows alive at once. Exit 0 when everything is the
# same, 1 with the differences.
set -u
[ $# -ge 2 ] || { sed -n '2,16p' "$0" >&2; exit 2; }
old=$(cd "$1" && pwd) new=$(cd "$2" && pwd)
shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
for b in "$old" "$new"; do
	for p in udpflowd udpflows; do
		[ -x "$b/$p" ] || { echo "dump-compare: no $b/$p" >&2; exit 2; }
	done
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ $# -eq 0 ]; then
	set -- "$here"/pcaps/*.pcap*
	for c in "$here"/../shared/peer-pcaps/*/*.pcap*; do
		[ -f "$c" ] && set -- "$@" "$c"
	done
	gen=$new/tests/bench/gen-capture
	if [ -x "$gen" ]; then
		"$gen" "$work/sparse.pcap" 300000 30000 >/dev/null &&
		    "$gen" "$work/busy.pcap" 400000 100000 20 7 >/dev/null &&
		    set -- "$@" "$work/sparse.pcap" "$work/busy.pcap"
	else
		echo "dump-compare: no $gen: generated captures left out" >&2
	fi
fi

views=("" "--json" "--explain" "--summary" "--refused" "--csv" "--timeline"
    "--stats" "--unreachable --json")

dump() {	# build out capture...
	local bin=$1 out=$2 db=$work/x.db
	shift 2
	mkdir -p "$out"
	for c in "$@"; do
		n=$(basename "$c")
		rm -f "$db" "$db-wal" "$db-shm"
		"$bin/udpflowd" -r "$c" -d "$db" 2>&1 |
		    sed -E -e 's/[0-9]+\.[0-9]+ s$/T s/' -e "s#^$bin/##" \
		    >"$out/$n.udpflowd"
		echo "exit ${PIPESTATUS[0]}" >>"$out/$n.udpflowd"
		[ -f "$db" ] || continue
		# flows and errors by content: row ids are surrogate keys,
		# numbered in the order flows were written
		sqlite3 "$db" "SELECT run_id, proto, hex(src), sport, hex(dst),
		      dport, first_us, last_us, pkts_sent, bytes_sent, pkts_back,
		      bytes_back, state, pkts_errored, syns, syn_span_us, tcp_end,
		      end_by, rst_ttl, dst_ttl FROM flows ORDER BY 2, 3, 4, 5, 6, 7;
		    SELECT f.proto, hex(f.src), f.sport, hex(f.dst), f.dport,
		      f.first_us, e.family, e.type, e.code, hex(e.reporter),
		      e.count, e.first_us, e.last_us, e.mtu, e.matched, e.altered,
		      e.rtt_us, e.sent_ttl, e.quoted_ttl
		      FROM errors e JOIN flows f ON f.id = e.flow_id
		      ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12;
		    SELECT count(*) FROM errors;
		    SELECT run_id, reason, count FROM malformed ORDER BY 1, 2;
		    SELECT run_id, name, digest, packets, linktype FROM inputs;
		    SELECT id, mode, packets, decoded, malformed, flows,
		      errors_matched, errors_unseen, flow_first, flow_last
		      FROM runs;" >"$out/$n.tables" 2>&1
		for v in "${views[@]}"; do
			# shellcheck disable=SC2086
			# --stats names each run by when it ran
			COLUMNS=120 "$bin/udpflows" -d "$db" $v 2>&1 |
			    sed -E 's/^(run [0-9]+ \([a-z]+\)), [0-9-]+ [0-9:]+ UTC:/\1, TIME:/' \
			    >"$out/$n.view${v// /}"
			echo "exit ${PIPESTATUS[0]}" >>"$out/$n.view${v// /}"
		done
	done
}

dump "$old" "$work/old" "$@"
dump "$new" "$work/new" "$@"
if diff -r "$work/old" "$work/new"; then
	echo "dump-compare: $# captures, the same tables, views and messages"
	exit 0
fi
echo "dump-compare: the builds differ (above: < $old, > $new)"
exit 1
