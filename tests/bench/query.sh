#!/usr/bin/env bash
# How fast udpflows answers "--refused --since 1h" over a large database.
#   tests/bench/query.sh [FLOWS]     (default 1000000; run from a build tree)
# Generates a capture (tests/bench/gen-flows.py) spanning the last two hours,
# analyzes it, and prints the database size and the query latency (best of
# five). Nothing here is committed or run by make check.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$(pwd)}
n=${1:-1000000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/udpflows-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

python3 "$here/gen-flows.py" "$tmp/flows.pcap" "$n"
start=$(date +%s.%N)
"$build/udpflowd" -q -r "$tmp/flows.pcap" -d "$tmp/flows.db"
analyze=$(echo "$(date +%s.%N) - $start" | bc)
bytes=$(stat -c %s "$tmp/flows.db")
best=999999
for _ in 1 2 3 4 5; do
	t0=$(date +%s%N)
	rows=$("$build/udpflows" -d "$tmp/flows.db" --refused --since 1h --json | wc -l)
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$ms" -lt "$best" ] && best=$ms
done
printf 'flows               %d\n' "$n"
printf 'analyze (udpflowd)  %.2f s\n' "$analyze"
printf 'database            %d bytes, %d bytes/flow\n' "$bytes" $((bytes / n))
printf 'udpflows --refused --since 1h: %d flows in %d ms (best of 5)\n' "$rows" "$best"
