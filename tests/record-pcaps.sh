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
	in_r $ipt -A FORWARD -p tcp --dport 8083 -j REJECT --reject-with tcp-reset
	in_r $ipt -A FORWARD -p tcp --dport 8087 -j REJECT --reject-with $pro
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

scenario() {	# name, then commands run in the client, or functions
	local name=$1; shift
	ip netns exec "$NS_R" tcpdump -i r0 -U -Z root -s 0 -w "$out/$name.pcap" \
	    2>/dev/null &
	local c=$!
	pids+=($c)
	sleep 1
	while [ $# -gt 0 ]; do
		# a shell function of this script drives its own namespaces
		if [ "$(type -t "$1")" = function ]; then "$1"; else in_c $1; fi
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
# the same capture as pcapng, when editcap (wireshark-common) is there
command -v editcap >/dev/null &&
	editcap -F pcapng "$out/udp-closed.pcap" "$out/udp-closed.pcapng"
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

# Twenty datagrams to a closed port, 100 ms apart: the server's ICMP rate
# limit (a burst, then about one a second per destination) answers some.
scenario udp-ratelimit \
	"$send udp $S4 9999 --sport 40030 --count 20 --wait 0.1" \
	"$send udp $S6 9999 --sport 40030 --count 20 --wait 0.1"
sleep 5			# let the server's ICMP token bucket refill

# TCP failure modes. A server process started for one scenario is ended by
# its PID, as a crash or kill would.
# Until the server namespace has n TCP sockets on port in state (listening,
# established), at most 10 s: a scenario's clock starts from there, not
# from when a process was started, which on a loaded machine is later.
tcp_ready() {	# state port n
	for _ in $(seq 100); do
		[ "$(ip netns exec "$NS_S" ss -Htn state "$1" "( sport = :$2 )" |
		    grep -c .)" -ge "$3" ] && return 0
		sleep 0.1
	done
	echo "record-pcaps: no $3 $1 sockets on port $2 within 10 s" >&2
	return 1
}
server() {	# port [--noread]: start a TCP server in the server namespace
	ip netns exec "$NS_S" $send serve "$@" & srv=$!
	pids+=($srv)
	tcp_ready listening "$1" 2
}
sessions() {	# port sport args...: a v4 and a v6 client, both connected
	local port=$1 sport=$2; shift 2
	ip netns exec "$NS_C" $send session $S4 $port --sport $sport "$@" & c4=$!
	ip netns exec "$NS_C" $send session $S6 $port --sport $sport "$@" & c6=$!
	pids+=($c4 $c6)
	tcp_ready established "$port" 2
}
tcp_failures() {
	# the server process is killed: its kernel closes with FIN. Pings a
	# second apart and the kill half-way between two (after the third), so
	# that a late start on a loaded machine cannot leave a ping unread at
	# the kill, which would make the kernel reset instead.
	server 8084
	sessions 8084 41004 --rounds 6 --gap 1
	sleep 2.5
	kill -KILL $srv; wait $c4 $c6 2>/dev/null
	sleep 1
	# a server crashes with unread data: its kernel resets (RST)
	server 8085 --noread
	sessions 8085 41005 --rounds 4
	sleep 1.3
	kill -KILL $srv; wait $c4 $c6 2>/dev/null
	sleep 1
	# the router rejects with a forged reset, or with ICMP prohibited
	in_c $send tcp $S4 8083 --sport 41006; sleep 0.5
	in_c $send tcp $S6 8083 --sport 41006; sleep 0.5
	in_c $send tcp $S4 8087 --sport 41007; sleep 0.5
	in_c $send tcp $S6 8087 --sport 41007; sleep 0.5
	# SYNs to an absent host: host unreachable from the router
	in_c $send tcp 198.18.1.99 8080 --sport 41008 --timeout 5
	in_c $send tcp 2001:db8:1::99 8080 --sport 41008 --timeout 5
}
scenario tcp-failures tcp_failures
sleep 3			# the router's last host unreachable for the SYNs

# A NAT router: the client's packets leave r1 with the router's address.
# Captured on both sides: r0 sees the client's addresses, r1 the router's.
for ipt in iptables ip6tables; do
	in_r $ipt -t nat -A POSTROUTING -o r1 -j MASQUERADE
done
ip netns exec "$NS_R" tcpdump -i r1 -U -Z root -s 0 -w "$out/nat-outside.pcap" \
    2>/dev/null & natout=$!
pids+=($natout)
scenario nat \
	"$send udp $S4 9999 --sport 40020" \
	"$send udp $S6 9999 --sport 40020" \
	"$send udp 198.18.1.99 9999 --sport 40021 --wait 5" \
	"$send udp 2001:db8:1::99 9999 --sport 40021 --wait 5" \
	"$send tcp $S4 8081 --sport 41020" \
	"$send tcp $S6 8081 --sport 41020"
kill -TERM $natout; wait $natout 2>/dev/null
echo "recorded nat-outside.pcap"
for ipt in iptables ip6tables; do
	in_r $ipt -t nat -F POSTROUTING
done

# Last, as it takes the server's link away: the server's interface goes
# down in the middle of a connection; the client retransmits unanswered.
# Both captures stop 2 s later, before the router gives up resolving the
# server's address (about 3 s) and sends host unreachable.
ip netns exec "$NS_R" tcpdump -i r0 -U -Z root -s 0 -w "$out/tcp-link-down.pcap" \
    2>/dev/null & down=$!
pids+=($down)
sleep 1
server 8086
sessions 8086 41009 --rounds 8 --hold 2
sleep 1.2
ip -n "$NS_S" link set s0 down
sleep 2
kill -TERM $down; wait $down 2>/dev/null
echo "recorded tcp-link-down.pcap"

cap=$demo
kill -TERM "$cap"
wait "$cap" 2>/dev/null
echo "recorded demo.pcap"
kill $c4 $c6 2>/dev/null
