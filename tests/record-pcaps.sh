#!/usr/bin/env bash
# Record real kernel behaviour into captures: builds the test namespaces
# (tests/netns.sh), drives one scenario at a time from the client and
# captures on the router's client-side interface, where the client's packets
# and every answer or ICMP error to them pass.
#
#   tests/record-pcaps.sh [OUTDIR]        (root; default OUTDIR: pcaps/)
#
# Writes OUTDIR/SCENARIO.pcap for each scenario below and OUTDIR/demo.pcap
# with all of them. Needs: iproute2, iptables, tcpdump, python3.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../pcaps}
mkdir -p "$out"
out=$(cd "$out" && pwd)
. "$here/netns.sh"

why=$(netns_can) || { echo "record-pcaps: $why" >&2; exit 77; }
for tool in tcpdump iptables ip6tables python3; do
	command -v $tool >/dev/null || { echo "record-pcaps: $tool missing" >&2; exit 77; }
done

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	netns_down
}
trap cleanup EXIT
trap 'exit 1' INT TERM

netns_up || exit 1
send="python3 $here/netsend.py"

# Firewall on the router: a REJECT that says "prohibited", a REJECT with the
# default port-unreachable (sent by the router, not the server), DROPs.
for ipt in iptables ip6tables; do
	if [ $ipt = iptables ]; then pro=icmp-admin-prohibited; else pro=icmp6-adm-prohibited; fi
	in_r $ipt -A FORWARD -p udp --dport 5001 -j REJECT --reject-with $pro
	in_r $ipt -A FORWARD -p udp --dport 5002 -j REJECT
	in_r $ipt -A FORWARD -p udp --dport 5003 -j DROP
	in_r $ipt -A FORWARD -p tcp --dport 8082 -j DROP
done

# Servers: UDP echo on 7, TCP on 8080; nothing on 9999 or 8081.
ip netns exec "$NS_S" $send echo 7 198.18.1.2 198.18.1.3 2001:db8:1::2 \
    2001:db8:1::3 & pids+=($!)
ip netns exec "$NS_S" $send listen 8080 & pids+=($!)
sleep 0.5

start_capture() {	# file
	ip netns exec "$NS_R" tcpdump -i r0 -U -Z root -s 0 -w "$1" 2>/dev/null &
	cap=$!
	pids+=($cap)
	sleep 1
}
stop_capture() {
	sleep 0.5
	kill -TERM "$cap"
	wait "$cap" 2>/dev/null
}

start_capture "$out/demo.pcap"; demo=$cap

scenario() {	# name, then commands run in the client for v4 and v6
	local name=$1; shift
	ip netns exec "$NS_R" tcpdump -i r0 -U -Z root -s 0 -w "$out/$name.pcap" \
	    2>/dev/null &
	local c=$!
	pids+=($c)
	sleep 1
	while [ $# -gt 0 ]; do
		in_c $1
		sleep 1		# stay clear of ICMP rate limits
		shift
	done
	sleep 0.5
	kill -TERM "$c"
	wait "$c" 2>/dev/null
	echo "recorded $name.pcap"
}

S4=198.18.1.2 S6=2001:db8:1::2
scenario udp-echo \
	"$send udp $S4 7 --sport 40001 --count 2" \
	"$send udp $S6 7 --sport 40001 --count 2"
scenario udp-closed \
	"$send udp $S4 9999 --sport 40002" \
	"$send udp $S6 9999 --sport 40002"
scenario udp-absent-host \
	"$send udp 198.18.1.99 9999 --sport 40003 --wait 5" \
	"$send udp 2001:db8:1::99 9999 --sport 40003 --wait 5"
scenario udp-unrouted \
	"$send udp 198.19.5.5 9999 --sport 40004" \
	"$send udp 2001:db8:ff::5 9999 --sport 40004"
scenario udp-reject \
	"$send udp $S4 5001 --sport 40005" \
	"$send udp $S6 5001 --sport 40005" \
	"$send udp $S4 5002 --sport 40006" \
	"$send udp $S6 5002 --sport 40006"
scenario udp-drop \
	"$send udp $S4 5003 --sport 40007 --wait 2" \
	"$send udp $S6 5003 --sport 40007 --wait 2"
scenario udp-frag-needed \
	"$send udp $S4 7 --sport 40008 --size 1400 --df" \
	"$send udp $S6 7 --sport 40008 --size 1400 --df"
scenario udp-ttl1 \
	"$send udp $S4 7 --sport 40009 --ttl 1" \
	"$send udp $S6 7 --sport 40009 --ttl 1"
# Large datagrams to the server's second address (no PMTU learned there
# yet): IPv4 is fragmented by the client and again by the router; IPv6 is
# fragmented by the client only, so the first try draws "packet too big"
# quoting a first fragment, and the second goes through.
scenario udp-fragments \
	"$send udp 198.18.1.3 7 --sport 40010 --size 3000" \
	"$send udp 2001:db8:1::3 7 --sport 40010 --size 3000 --count 2"
scenario tcp \
	"$send tcp $S4 8080 --sport 41001" \
	"$send tcp $S6 8080 --sport 41001" \
	"$send tcp $S4 8081 --sport 41002" \
	"$send tcp $S6 8081 --sport 41002" \
	"$send tcp $S4 8082 --sport 41003 --timeout 3.5" \
	"$send tcp $S6 8082 --sport 41003 --timeout 3.5"

cap=$demo
stop_capture
echo "recorded demo.pcap"
