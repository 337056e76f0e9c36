# Test network: three namespaces, client - router - server, made and torn
# down by the tests themselves. Only addresses from 198.18.0.0/15 and
# 2001:db8::/32 exist in them, and nothing leaves them.
#
#   client c0 198.18.0.2   2001:db8:0::2
#          r0 198.18.0.1   2001:db8:0::1   router (forwards, no default route)
#          r1 198.18.1.1   2001:db8:1::1   MTU 1280 towards the server
#   server s0 198.18.1.2   2001:db8:1::2   (and .3 / ::3)
#
# 198.18.1.99 / 2001:db8:1::99 sit on the server link but nobody has them
# (ARP/ND fails: host unreachable); 198.19.0.0/16 and 2001:db8:ff::/48 have
# no route on the router (net unreachable).
#
# Source this file; call netns_up, and netns_down from an EXIT trap.

NS_C="ufc$$"
NS_R="ufr$$"
NS_S="ufs$$"

in_c() { ip netns exec "$NS_C" "$@"; }
in_r() { ip netns exec "$NS_R" "$@"; }
in_s() { ip netns exec "$NS_S" "$@"; }

netns_can() {
	[ "$(id -u)" = 0 ] || { echo "not root"; return 1; }
	command -v ip >/dev/null || { echo "no ip(8): install iproute2"; return 1; }
	ip netns add "ufprobe$$" 2>/dev/null || { echo "cannot create network namespaces"; return 1; }
	ip netns del "ufprobe$$"
	return 0
}

netns_up() {
	set -e
	ip netns add "$NS_C"
	ip netns add "$NS_R"
	ip netns add "$NS_S"
	ip link add c0 netns "$NS_C" type veth peer name r0 netns "$NS_R"
	ip link add r1 netns "$NS_R" type veth peer name s0 netns "$NS_S"
	for ns in "$NS_C" "$NS_R" "$NS_S"; do
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0
	done
	ip -n "$NS_R" link set r1 mtu 1280
	ip -n "$NS_S" link set s0 mtu 1280

	ip -n "$NS_C" addr add 198.18.0.2/24 dev c0
	ip -n "$NS_C" addr add 2001:db8:0::2/64 dev c0 nodad
	ip -n "$NS_R" addr add 198.18.0.1/24 dev r0
	ip -n "$NS_R" addr add 2001:db8:0::1/64 dev r0 nodad
	ip -n "$NS_R" addr add 198.18.1.1/24 dev r1
	ip -n "$NS_R" addr add 2001:db8:1::1/64 dev r1 nodad
	ip -n "$NS_S" addr add 198.18.1.2/24 dev s0
	ip -n "$NS_S" addr add 198.18.1.3/24 dev s0
	ip -n "$NS_S" addr add 2001:db8:1::2/64 dev s0 nodad
	ip -n "$NS_S" addr add 2001:db8:1::3/64 dev s0 nodad
	ip -n "$NS_C" link set c0 up
	ip -n "$NS_R" link set r0 up
	ip -n "$NS_R" link set r1 up
	ip -n "$NS_S" link set s0 up

	ip -n "$NS_C" route add default via 198.18.0.1
	ip -n "$NS_C" -6 route add default via 2001:db8:0::1
	ip -n "$NS_S" route add default via 198.18.1.1
	ip -n "$NS_S" -6 route add default via 2001:db8:1::1
	in_r sysctl -qw net.ipv4.ip_forward=1
	in_r sysctl -qw net.ipv6.conf.all.forwarding=1
	set +e
}

netns_down() {
	for ns in "$NS_C" "$NS_R" "$NS_S"; do
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}
