#!/usr/bin/env python3
"""Craft the captures that no namespace can record: other link types, IP
options and extension headers, every ICMP error code, short quotes, and
malformed packets. Run by hand (needs python3-scapy); writes into pcaps/.

    tests/craft-pcaps.py [OUTDIR]

Every capture here is documented in pcaps/README.md, and its expected
analysis is in tests/expect/NAME.expect.
"""
import os
import struct
import sys

from scapy.all import (ICMP, IP, TCP, UDP, Ether, Dot1Q, Dot1AD, IPv6,
                       IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                       IPv6ExtHdrRouting, ICMPv6DestUnreach, ICMPv6EchoRequest,
                       ICMPv6PacketTooBig, ICMPv6ParamProblem, ICMPv6TimeExceeded,
                       ICMPv6ND_NS, ICMPv6ND_NA, IPOption_Router_Alert, Raw,
                       fragment)

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "pcaps")
T0 = 1795284000.0       # 2026-11-21T18:00:00Z: fixed, so outputs never change
MAC_C = "02:00:00:00:00:02"
MAC_R = "02:00:00:00:00:01"
C4, S4, R4 = "198.18.0.2", "198.18.1.2", "198.18.0.1"
C6, S6, R6 = "2001:db8::2", "2001:db8:1::2", "2001:db8::1"


def write(name, linktype, frames, nano=False):
    """Classic pcap, one frame every 10 ms from T0 (libpcap's file format:
    magic, version 2.4, snaplen 65535; a1b23c4d magic for nanoseconds)."""
    magic = 0xa1b23c4d if nano else 0xa1b2c3d4
    with open(os.path.join(OUT, name), "wb") as fh:
        fh.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 65535, linktype))
        for i, f in enumerate(frames):
            f = bytes(f)
            frac = (i % 100) * (10000000 if nano else 10000)
            fh.write(struct.pack("<IIII", int(T0) + i // 100, frac, len(f), len(f)))
            fh.write(f)
    print("crafted", name)


def eth(ip_pkt, src=MAC_C, dst=MAC_R):
    raw = bytes(ip_pkt)
    et = 0x86dd if raw[0] >> 4 == 6 else 0x0800
    return bytes(Ether(src=src, dst=dst, type=et)) + raw


def refused4(sport, dst=S4, reporter=None):
    """A UDP datagram to a closed port and the port unreachable it draws."""
    u = IP(src=C4, dst=dst, id=sport) / UDP(sport=sport, dport=9999) / Raw(b"q" * 10)
    e = IP(src=reporter or dst, dst=C4) / ICMP(type=3, code=3) / bytes(u)
    return [bytes(u), bytes(e)]


def refused6(sport, dst=S6):
    u = IPv6(src=C6, dst=dst) / UDP(sport=sport, dport=9999) / Raw(b"q" * 10)
    e = IPv6(src=dst, dst=C6) / ICMPv6DestUnreach(code=4) / bytes(u)
    return [bytes(u), bytes(e)]


def links():
    # 802.1Q and QinQ (802.1ad outer tag, then 802.1Q).
    f = []
    for p in refused4(42001):
        f.append(bytes(Ether(src=MAC_C, dst=MAC_R) / Dot1Q(vlan=10) / IP(p)))
    for p in refused6(42002):
        f.append(bytes(Ether(src=MAC_C, dst=MAC_R) / Dot1AD(vlan=100) /
                       Dot1Q(vlan=20) / IPv6(p)))
    write("link-vlan.pcap", 1, f)

    # Linux cooked v1 (DLT_LINUX_SLL 113): type, ARPHRD, alen, addr[8], proto.
    def sll(p, et):
        return struct.pack("!HHH8sH", 0, 1, 6, bytes(8), et) + p
    f = [sll(p, 0x0800) for p in refused4(42003)] + \
        [sll(p, 0x86dd) for p in refused6(42004)]
    write("link-sll.pcap", 113, f)

    # Linux cooked v2 (DLT_LINUX_SLL2 276): proto, res, ifindex, ARPHRD,
    # pkttype, alen, addr[8].
    def sll2(p, et):
        return struct.pack("!HHIHBB8s", et, 0, 2, 1, 0, 6, bytes(8)) + p
    f = [sll2(p, 0x0800) for p in refused4(42005)] + \
        [sll2(p, 0x86dd) for p in refused6(42006)]
    write("link-sll2.pcap", 276, f)

    write("link-raw.pcap", 101, refused4(42007) + refused6(42008))
    write("link-ipv4.pcap", 228, refused4(42009))
    write("link-ipv6.pcap", 229, refused6(42010))

    # BSD loopback: DLT_NULL in the writer's byte order (little-endian AF_INET
    # 2, big-endian FreeBSD AF_INET6 28), DLT_LOOP in network order (OpenBSD
    # AF_INET6 24).
    f = [struct.pack("<I", 2) + p for p in refused4(42011)] + \
        [struct.pack(">I", 28) + p for p in refused6(42012)]
    write("link-null.pcap", 0, f)
    f = [struct.pack(">I", 2) + p for p in refused4(42013)] + \
        [struct.pack(">I", 24) + p for p in refused6(42014)]
    write("link-loop.pcap", 108, f)

    # Nanosecond timestamps must come out in microseconds.
    write("link-nsec.pcap", 1, [eth(p) for p in refused4(42015)], nano=True)


def ip_features():
    # IPv4 options on the packet and in the quote (IHL 6).
    u = IP(src=C4, dst=S4, options=[IPOption_Router_Alert()]) / \
        UDP(sport=43001, dport=9999) / Raw(b"opt")
    e = IP(src=S4, dst=C4) / ICMP(type=3, code=3) / bytes(u)
    f = [eth(u), eth(e, MAC_R, MAC_C)]

    # IPv4 fragments: a 3000-byte datagram in three, its reply in three, and
    # a stray later fragment whose first fragment was never seen.
    big = IP(src=C4, dst=S4, id=777) / UDP(sport=43002, dport=7) / Raw(b"f" * 3000)
    f += [eth(x) for x in fragment(big, fragsize=1200)]
    back = IP(src=S4, dst=C4, id=778) / UDP(sport=7, dport=43002) / Raw(b"f" * 3000)
    f += [eth(x, MAC_R, MAC_C) for x in fragment(back, fragsize=1200)]
    stray = fragment(IP(src=C4, dst=S4, id=779) / UDP(sport=43003, dport=7) /
                     Raw(b"s" * 3000), fragsize=1200)[1]
    f.append(eth(stray))
    # A time exceeded quoting a later fragment: found through the first one.
    first = fragment(IP(src=C4, dst=S4, id=780) / UDP(sport=43004, dport=7) /
                     Raw(b"t" * 3000), fragsize=1200)
    f += [eth(first[0]), eth(first[1])]
    f.append(eth(IP(src=R4, dst=C4) / ICMP(type=11, code=1) / bytes(first[1])[:28],
                 MAC_R, MAC_C))
    write("ipv4-features.pcap", 1, f)

    # IPv6 extension headers on the packet, and a quote that walks through
    # hop-by-hop, destination options and routing headers to the ports.
    def ext(p):
        return IPv6(src=C6, dst=S6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / \
            IPv6ExtHdrRouting(addresses=[]) / p
    u = ext(UDP(sport=43101, dport=9999) / Raw(b"ext"))
    e = IPv6(src=S6, dst=C6) / ICMPv6DestUnreach(code=4) / bytes(u)
    f = [eth(u), eth(e, MAC_R, MAC_C)]
    # IPv6 fragments: first (with ports), second counted through the first.
    big = IPv6(src=C6, dst=S6) / IPv6ExtHdrFragment(id=0x1234) / \
        UDP(sport=43102, dport=7) / Raw(b"g" * 2000)
    frags = fragment6(big, 1280)
    f += [eth(x) for x in frags]
    # Packet too big quoting the first fragment (fragment header in the quote).
    f.append(eth(IPv6(src=R6, dst=C6) / ICMPv6PacketTooBig(mtu=1280) /
                 bytes(frags[0])[:1232], MAC_R, MAC_C))
    write("ipv6-features.pcap", 1, f)


def fragment6(pkt, mtu):
    from scapy.all import fragment6 as f6
    return f6(pkt, mtu)


def icmp_codes():
    """One UDP flow per ICMP error type/code, source port 44000 + index."""
    f = []
    n = 0
    for t, codes in ((3, range(16)), (11, (0, 1)), (12, (0,))):
        for c in codes:
            sport = 44000 + n
            n += 1
            u = IP(src=C4, dst=S4) / UDP(sport=sport, dport=9999) / Raw(b"c")
            rep = S4 if (t, c) == (3, 3) else R4
            icmp = ICMP(type=t, code=c)
            if (t, c) == (3, 4):
                icmp = ICMP(type=3, code=4, nexthopmtu=1000)
            f += [eth(u), eth(IP(src=rep, dst=C4) / icmp / bytes(u), MAC_R, MAC_C)]
    n = 0
    six = [(ICMPv6DestUnreach, c) for c in range(9)] + \
        [(ICMPv6PacketTooBig, None), (ICMPv6TimeExceeded, 0),
         (ICMPv6ParamProblem, 0)]
    for cls, c in six:
        sport = 45000 + n
        n += 1
        u = IPv6(src=C6, dst=S6) / UDP(sport=sport, dport=9999) / Raw(b"c")
        if cls is ICMPv6PacketTooBig:
            icmp = cls(mtu=1280)
        else:
            icmp = cls(code=c)
        f += [eth(u), eth(IPv6(src=R6, dst=C6) / icmp / bytes(u), MAC_R, MAC_C)]
    write("icmp-codes.pcap", 1, f)


def quotes():
    """Quotes cut short at each step, and ICMP that is not an error."""
    f = []
    u = bytes(IP(src=C4, dst=S4, options=[IPOption_Router_Alert()]) /
              UDP(sport=46001, dport=9999) / Raw(b"quote"))
    # Full header with options but no transport bytes: address pair only.
    f.append(eth(IP(src=S4, dst=C4) / ICMP(type=3, code=1) / u[:24], MAC_R, MAC_C))
    # Two bytes of the UDP header: still no ports.
    f.append(eth(IP(src=S4, dst=C4) / ICMP(type=3, code=1) / u[:26], MAC_R, MAC_C))
    # Options cut short: address pair only.
    f.append(eth(IP(src=S4, dst=C4) / ICMP(type=3, code=1) / u[:22], MAC_R, MAC_C))
    # Less than an IP header: no quote at all, counted, never a flow.
    f.append(eth(IP(src=S4, dst=C4) / ICMP(type=3, code=3) / u[:12], MAC_R, MAC_C))
    # IPv6 quote cut inside its extension headers: pair known, protocol not.
    u6 = bytes(IPv6(src=C6, dst=S6) / IPv6ExtHdrDestOpt(options=[]) /
               UDP(sport=46002, dport=9999) / Raw(b"q"))
    f.append(eth(IPv6(src=S6, dst=C6) / ICMPv6DestUnreach(code=4) / u6[:44],
                 MAC_R, MAC_C))
    # Not errors: echo request/reply, neighbour solicitation.
    f.append(eth(IP(src=C4, dst=S4) / ICMP(type=8) / Raw(b"ping")))
    f.append(eth(IP(src=S4, dst=C4) / ICMP(type=0) / Raw(b"ping"), MAC_R, MAC_C))
    f.append(eth(IPv6(src=C6, dst=S6) / ICMPv6EchoRequest()))
    f.append(eth(IPv6(src=C6, dst="ff02::1:ff00:2") / ICMPv6ND_NS(tgt=S6)))
    # Answered, then refused: the server died mid-conversation.
    a = IP(src=C4, dst=S4) / UDP(sport=46003, dport=53) / Raw(b"dns?")
    r = IP(src=S4, dst=C4) / UDP(sport=53, dport=46003) / Raw(b"dns!")
    f += [eth(a), eth(r, MAC_R, MAC_C), eth(a)]
    f.append(eth(IP(src=S4, dst=C4) / ICMP(type=3, code=3) / bytes(a), MAC_R, MAC_C))
    # ICMP errors quoting TCP SYNs attach to the TCP flow, as for UDP.
    syn = IP(src=C4, dst=S4) / TCP(sport=46004, dport=80, flags="S")
    f += [eth(syn), eth(IP(src=R4, dst=C4) / ICMP(type=3, code=1) / bytes(syn)[:28],
                        MAC_R, MAC_C)]
    syn6 = IPv6(src=C6, dst=S6) / TCP(sport=46005, dport=443, flags="S")
    f += [eth(syn6), eth(IPv6(src=R6, dst=C6) / ICMPv6DestUnreach(code=1) /
                         bytes(syn6), MAC_R, MAC_C)]
    write("quotes.pcap", 1, f)


def write_timed(name, linktype, frames):
    """Classic pcap with explicit times: (seconds after T0, frame) pairs."""
    with open(os.path.join(OUT, name), "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, linktype))
        for t, f in frames:
            f = bytes(f)
            us = int(round(t * 1e6))
            fh.write(struct.pack("<IIII", int(T0) + us // 1000000, us % 1000000,
                                 len(f), len(f)))
            fh.write(f)
    print("crafted", name)


def exact():
    """Matching an ICMP error to the very packet it quotes: round trip,
    hops, a quote that matches no captured packet, a quote whose source NAT
    rewrote and did not restore, an ambiguous one, identical IPv6 packets,
    TCP resets told apart by their TTL, a timeout and an open connection."""
    R3 = "198.18.3.1"       # a router three hops past the capture point
    f = []

    def quoted(pkt, **change):
        """The first 28 bytes of pkt as a reporter quotes it, changed."""
        q = IP(bytes(pkt))
        for k, v in change.items():
            setattr(q, k, v)
        del q.chksum
        return bytes(q)[:28]

    # (a) host unreachable from a router 3 hops on: it quotes TTL 61.
    a = IP(src=C4, dst=S4, id=1000, ttl=64) / UDP(sport=45001, dport=53) / Raw(b"a" * 20)
    f += [(0.0, eth(a)), (0.020, eth(IP(src=R3, dst=C4) / ICMP(type=3, code=1) /
                                      quoted(a, ttl=61), MAC_R, MAC_C))]
    # (b) port unreachable quoting a datagram that was not captured (ID 2999).
    b = IP(src=C4, dst=S4, id=2000) / UDP(sport=45002, dport=53) / Raw(b"b" * 20)
    f += [(0.100, eth(b)), (0.101, eth(IP(src=S4, dst=C4) / ICMP(type=3, code=3) /
                                       quoted(b, id=2999), MAC_R, MAC_C))]
    # (c) the quote names the NAT's outside address and port: same ID,
    # length and destination, one source sent it: matched, rewritten.
    c = IP(src=C4, dst=S4, id=3000) / UDP(sport=45003, dport=53) / Raw(b"c" * 20)
    qc = IP(src="198.18.200.1", dst=S4, id=3000) / UDP(sport=61003, dport=53) / Raw(b"c" * 20)
    f += [(0.200, eth(c)), (0.203, eth(IP(src=S4, dst=C4) / ICMP(type=3, code=3) /
                                       bytes(qc)[:28], MAC_R, MAC_C))]
    # (d) two clients sent such a packet: ambiguous, so the quote makes a
    # flow of its own.
    for src in (C4, "198.18.0.3"):
        d = IP(src=src, dst=S4, id=4000) / UDP(sport=45004, dport=53) / Raw(b"d" * 20)
        f.append((0.300, eth(d)))
    qd = IP(src="198.18.200.1", dst=S4, id=4000) / UDP(sport=61004, dport=53) / Raw(b"d" * 20)
    f.append((0.304, eth(IP(src=S4, dst=C4) / ICMP(type=3, code=3) / bytes(qd)[:28],
                         MAC_R, MAC_C)))
    # (e) three identical IPv6 datagrams a second apart, one error 50 us
    # after the second: the newest not yet quoted is the one.
    e = IPv6(src=C6, dst=S6) / UDP(sport=45005, dport=53) / Raw(b"e" * 20)
    for t in (1.0, 2.0, 3.0):
        f.append((t, eth(e)))
    f.append((2.00005, eth(IPv6(src=S6, dst=C6) / ICMPv6DestUnreach(code=4) /
                           bytes(e), MAC_R, MAC_C)))
    # (f) TTL 3 runs out three hops on.
    g = IP(src=C4, dst=S4, id=6000, ttl=3) / UDP(sport=45006, dport=53) / Raw(b"f" * 20)
    f += [(3.100, eth(g)), (3.103, eth(IP(src=R3, dst=C4) / ICMP(type=11, code=0) /
                                       quoted(g, ttl=1), MAC_R, MAC_C))]
    # (g) a SYN refused by a reset from a host never heard otherwise.
    syn = IP(src=C4, dst="198.18.1.50", ttl=64) / TCP(sport=45007, dport=443, flags="S", seq=1)
    rst = IP(src="198.18.1.50", dst=C4, ttl=64) / TCP(sport=443, dport=45007, flags="RA", ack=2)
    f += [(3.200, eth(syn)), (3.201, eth(rst, MAC_R, MAC_C))]
    # (h) a connection already open when the capture began, reset by a
    # segment whose TTL (60) is not the server's (57): forged on the way.
    seq_c, seq_s = 1000, 5000
    for i in range(3):
        f.append((3.300 + i * 0.01, eth(IP(src=C4, dst=S4, ttl=64) /
                  TCP(sport=45008, dport=22, flags="PA", seq=seq_c, ack=seq_s) /
                  Raw(b"x" * 10))))
        seq_c += 10
        f.append((3.305 + i * 0.01, eth(IP(src=S4, dst=C4, ttl=57) /
                  TCP(sport=22, dport=45008, flags="PA", seq=seq_s, ack=seq_c) /
                  Raw(b"y" * 10), MAC_R, MAC_C)))
        seq_s += 10
    f.append((3.400, eth(IP(src=S4, dst=C4, ttl=60) /
                         TCP(sport=22, dport=45008, flags="R", seq=seq_s), MAC_R, MAC_C)))
    # (i) data retransmitted three times and never answered: a timeout.
    f.append((3.500, eth(IP(src=C4, dst=S4) / TCP(sport=45009, dport=22, flags="S", seq=99))))
    f.append((3.501, eth(IP(src=S4, dst=C4, ttl=57) / TCP(sport=22, dport=45009, flags="SA",
                                                          seq=499, ack=100), MAC_R, MAC_C)))
    f.append((3.502, eth(IP(src=C4, dst=S4) / TCP(sport=45009, dport=22, flags="A",
                                                   seq=100, ack=500))))
    for t in (3.6, 3.8, 4.2, 5.0):
        f.append((t, eth(IP(src=C4, dst=S4) / TCP(sport=45009, dport=22, flags="PA",
                                                   seq=100, ack=500) / Raw(b"z" * 10))))
    # (j) a connection still open when the capture ends.
    f.append((5.100, eth(IP(src=C4, dst=S4) / TCP(sport=45010, dport=22, flags="S", seq=9))))
    f.append((5.101, eth(IP(src=S4, dst=C4, ttl=57) / TCP(sport=22, dport=45010, flags="SA",
                                                          seq=19, ack=10), MAC_R, MAC_C)))
    f.append((5.102, eth(IP(src=C4, dst=S4) / TCP(sport=45010, dport=22, flags="PA",
                                                   seq=10, ack=20) / Raw(b"ls\n"))))
    f.append((5.103, eth(IP(src=S4, dst=C4, ttl=57) / TCP(sport=22, dport=45010, flags="PA",
                                                          seq=20, ack=13) / Raw(b"ok\n"), MAC_R, MAC_C)))
    # (k) IPv6: the server answers DNS with hop limit 62, then a neighbour
    # advertisement (hop limit 255, as RFC 4861 wants), then refuses a SYN
    # with hop limit 62: the reset is the server's own, the NA no reference
    f.append((5.200, eth(IPv6(src=S6, dst=C6, hlim=62) / UDP(sport=53, dport=45011) /
                         Raw(b"dns"), MAC_R, MAC_C)))
    f.append((5.201, eth(IPv6(src=S6, dst=C6, hlim=255) / ICMPv6ND_NA(tgt=S6), MAC_R, MAC_C)))
    f.append((5.202, eth(IPv6(src=C6, dst=S6) / TCP(sport=45012, dport=443, flags="S", seq=5))))
    f.append((5.203, eth(IPv6(src=S6, dst=C6, hlim=62) / TCP(sport=443, dport=45012, flags="RA",
                                                           ack=6), MAC_R, MAC_C)))
    f.sort(key=lambda x: x[0])
    write_timed("exact.pcap", 1, f)


def idle():
    """Flows that go idle: offline analysis expires them by packet time,
    as the live daemon does by the clock (UDP 60 s, TCP 300 s idle)."""
    f = []
    q = IP(src=C4, dst=S4) / UDP(sport=49001, dport=53) / Raw(b"q?")
    r = IP(src=S4, dst=C4) / UDP(sport=53, dport=49001) / Raw(b"r!")
    # the same UDP 5-tuple, answered, then again after 100 s of silence
    f += [(0.0, eth(q)), (0.010, eth(r, MAC_R, MAC_C)),
          (100.0, eth(q)), (100.010, eth(r, MAC_R, MAC_C))]
    # another flow later
    b = IP(src=C4, dst=S4) / UDP(sport=49002, dport=53) / Raw(b"b?")
    f.append((200.0, eth(b)))
    # TCP: opened at 0, quiet for 250 s (less than 300), then data
    f.append((0.5, eth(IP(src=C4, dst=S4) / TCP(sport=49003, dport=22, flags="S", seq=1))))
    f.append((0.501, eth(IP(src=S4, dst=C4) / TCP(sport=22, dport=49003, flags="SA",
                                                  seq=7, ack=2), MAC_R, MAC_C)))
    f.append((250.0, eth(IP(src=C4, dst=S4) / TCP(sport=49003, dport=22, flags="PA",
                                                  seq=2, ack=8) / Raw(b"hi"))))
    f.sort(key=lambda x: x[0])
    write_timed("idle.pcap", 1, f)


def malformed():
    """One packet per reason a packet is refused, and one good flow."""
    good = eth(IP(src=C4, dst=S4) / UDP(sport=47000, dport=7) / Raw(b"ok"))
    ip = bytes(IP(src=C4, dst=S4) / UDP(sport=47001, dport=7) / Raw(b"bad"))
    hdr = bytes(Ether(src=MAC_C, dst=MAC_R, type=0x0800))
    f = [good]
    f.append(hdr[:10])                                   # link-truncated
    f.append(hdr + ip[:12])                              # ip-truncated
    f.append(hdr + bytes([0x55]) + ip[1:])               # ip-bad-version
    f.append(hdr + bytes([0x43]) + ip[1:])               # ip-bad-header-length
    f.append(hdr + ip[:2] + struct.pack("!H", 16) + ip[4:])  # ip-bad-total-length
    f.append(hdr + bytes([0x47]) + ip[1:24])             # ip-truncated (options)
    f.append(hdr + ip[:22])                              # udp-truncated
    bad_ulen = bytearray(ip)
    bad_ulen[24:26] = struct.pack("!H", 4)
    f.append(hdr + bytes(bad_ulen))                      # udp-bad-length
    tcp = bytes(IP(src=C4, dst=S4) / TCP(sport=47002, dport=80, flags="S"))
    f.append(hdr + tcp[:30])                             # tcp-truncated
    bad_off = bytearray(tcp)
    bad_off[32] = 0x20
    f.append(hdr + bytes(bad_off))                       # tcp-bad-header-length
    icmp = bytes(IP(src=S4, dst=C4) / ICMP(type=3, code=3))
    f.append(hdr + icmp[:24])                            # icmp-truncated
    e6 = bytes(IPv6(src=C6, dst=S6) / IPv6ExtHdrHopByHop() / UDP(sport=47003, dport=7))
    f.append(bytes(Ether(src=MAC_C, dst=MAC_R, type=0x86dd)) + e6[:44])  # ip6-ext-truncated
    deep = b"".join(struct.pack("!HH", 1, 0x8100) for _ in range(9))
    f.append(bytes(Ether(src=MAC_C, dst=MAC_R, type=0x8100))[:12] +
             struct.pack("!H", 0x8100) + deep + struct.pack("!H", 0x0800) + ip)  # vlan-too-deep
    f.append(bytes(Ether(src=MAC_C, dst=MAC_R, type=0x0806)) + bytes(28))  # ARP: not IP
    write("malformed.pcap", 1, f)

    # A capture whose last record is cut short: the file ends mid-packet.
    path = os.path.join(OUT, "truncated-record.pcap")
    write("truncated-record.pcap", 1,
          [eth(p) for p in refused4(48001)] + [good])
    with open(path, "rb+") as fh:
        fh.seek(0, 2)
        fh.truncate(fh.tell() - 20)
    print("truncated truncated-record.pcap by 20 bytes")


# Tunnel endpoints and the underlay router (198.18.2.0/23, 2001:db8:2::/47).
TA4, TB4, TC4, TD4, RU4 = "198.18.2.1", "198.18.3.1", "198.18.2.5", "198.18.3.5", "198.18.2.254"
TE4, TF4 = "198.18.2.9", "198.18.3.9"
TA6, TB6 = "2001:db8:2::1", "2001:db8:3::1"


def refused_pair(sport, v6=False):
    """The inner conversation of every case: a datagram to a closed port and
    the port unreachable the server answers, as IP bytes."""
    return refused6(sport) if v6 else refused4(sport)


def pppoe_session(ip, session=0x0012):
    proto = 0x0057 if ip[0] >> 4 == 6 else 0x0021
    return struct.pack("!BBHH", 0x11, 0, session, len(ip) + 2) + \
        struct.pack("!H", proto) + ip


def mpls(ip, labels, cw=False):
    """A label stack (the last one bottom of stack, TTL 64), then ip."""
    out = b"".join(struct.pack("!I", l << 12 | (0x100 if i == len(labels) - 1 else 0) | 64)
                   for i, l in enumerate(labels))
    return out + (bytes(4) if cw else b"") + ip


def gre(payload, proto, key=None, seq=None, csum=False, version=0):
    flags = (0x8000 if csum else 0) | (0x2000 if key is not None else 0) | \
        (0x1000 if seq is not None else 0) | version
    out = struct.pack("!HH", flags, proto)
    if csum:
        out += bytes(4)
    if key is not None:
        out += struct.pack("!I", key)
    if seq is not None:
        out += struct.pack("!I", seq)
    return out + payload


def outer(payload, proto, src=TA4, dst=TB4):
    """An outer IP packet of protocol proto carrying payload."""
    if ":" in src:
        return bytes(IPv6(src=src, dst=dst, nh=proto) / Raw(payload))
    return bytes(IP(src=src, dst=dst, proto=proto) / Raw(payload))


def outer_udp(payload, dport, sport=50000, src=TA4, dst=TB4):
    return bytes(IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / Raw(payload))


def inner_eth(ip, src=MAC_C, dst=MAC_R):
    return eth(ip, src, dst)


def both_ways(sport, wrap, v6=False):
    """The case's datagram wrapped from A to B, its error from B to A."""
    fwd, back = refused_pair(sport, v6)
    return [wrap(fwd, False), wrap(back, True)]


def encap():
    """What a gateway's wire carries: PPPoE, MPLS and tunnels, each around a
    datagram to a closed port and the port unreachable it draws."""
    E = lambda et, body, a=MAC_C, b=MAC_R: bytes(Ether(src=a, dst=b, type=et)) + body
    f = []
    # PPPoE session, IPv4 and IPv6, then inside QinQ (802.1ad 100, 802.1Q 20).
    f += both_ways(44001, lambda ip, r: E(0x8864, pppoe_session(ip)))
    f += both_ways(44002, lambda ip, r: E(0x8864, pppoe_session(ip)), v6=True)
    f += both_ways(44003, lambda ip, r: E(0x88a8, struct.pack("!HH", 100, 0x8100) +
                                          struct.pack("!HH", 20, 0x8864) +
                                          pppoe_session(ip, 0x0034)))
    # MPLS: one label (IPv4), two (IPv6), a pseudowire with its control word.
    f += both_ways(44004, lambda ip, r: E(0x8847, mpls(ip, [16])))
    f += both_ways(44005, lambda ip, r: E(0x8847, mpls(ip, [1003, 16])), v6=True)
    f += both_ways(44006, lambda ip, r: E(0x8847, mpls(inner_eth(ip), [2000], cw=True)))
    # GRE: plain; with checksum, key 7 and sequence; over IPv6; Ethernet (TEB).
    T = lambda body, proto, r, s4=TA4, d4=TB4: E(0x0800 if ":" not in s4 else 0x86dd,
                                                 outer(body, proto, d4 if r else s4, s4 if r else d4))
    f += both_ways(44010, lambda ip, r: T(gre(ip, 0x0800), 47, r))
    f += both_ways(44011, lambda ip, r: T(gre(ip, 0x0800, key=7, seq=1, csum=True), 47, r))
    f += both_ways(44012, lambda ip, r: T(gre(ip, 0x86dd), 47, r, TA6, TB6), v6=True)
    f += both_ways(44013, lambda ip, r: T(gre(inner_eth(ip), 0x6558), 47, r))
    # ERSPAN mirrors (one way, A to B): type I, type II session 5, type III
    # session 6 with its platform subheader.
    M = lambda hdr, proto, seq: lambda ip, r: T(gre(hdr + inner_eth(ip), proto, seq=seq), 47, False)
    f += both_ways(44014, M(b"", 0x88be, None))
    f += both_ways(44015, M(struct.pack("!HHI", 0x1000, 5, 0), 0x88be, 1))
    f += both_ways(44016, M(struct.pack("!HHII", 0x2000, 6, 0, 1) + bytes(8), 0x22eb, 2))
    # IP in IP: 4 in 4, 6 in 4, 4 in 6, 6 in 6.
    f += both_ways(44020, lambda ip, r: T(ip, 4, r))
    f += both_ways(44021, lambda ip, r: T(ip, 41, r), v6=True)
    f += both_ways(44022, lambda ip, r: T(ip, 4, r, TA6, TB6))
    f += both_ways(44023, lambda ip, r: T(ip, 41, r, TA6, TB6), v6=True)
    # UDP tunnels: VXLAN VNI 42; Geneve VNI 77 with a 4-byte option, of
    # Ethernet and of IPv4; GTP-U TEID 0x1234 with an extension header.
    U = lambda body, port, r: E(0x0800, outer_udp(body, port, 50001 if r else 50000,
                                                  TB4 if r else TA4, TA4 if r else TB4))
    vx = lambda vni, body: struct.pack("!BBHI", 0x08, 0, 0, vni << 8) + body
    f += both_ways(44030, lambda ip, r: U(vx(42, inner_eth(ip)), 4789, r))
    gen = lambda vni, proto, body: struct.pack("!BBHI", 1, 0, proto, vni << 8) + \
        struct.pack("!HBB", 0x0104, 1, 0) + body
    f += both_ways(44031, lambda ip, r: U(gen(77, 0x6558, inner_eth(ip)), 6081, r))
    f += both_ways(44032, lambda ip, r: U(gen(77, 0x0800, ip), 6081, r))
    gtp = lambda teid, body: struct.pack("!BBHI", 0x34, 255, len(body) + 8, teid) + \
        struct.pack("!HBB", 0, 0, 0x85) + struct.pack("!BBBB", 1, 0x10, 9, 0) + body
    f += both_ways(44033, lambda ip, r: U(gtp(0x1234, ip), 2152, r))
    # PPTP: GRE version 1 (key: length and call ID 9; sequence), PPP inside.
    pptp = lambda ip: struct.pack("!HHHHI", 0x3001, 0x880b, len(ip) + 4, 9, 1) + \
        b"\xff\x03\x00\x21" + ip
    f += both_ways(44034, lambda ip, r: T(pptp(ip), 47, r))
    # Nesting: VXLAN (VNI 5, between C and D) inside GRE key 9 (A to B).
    f += both_ways(44040, lambda ip, r: T(gre(outer_udp(vx(5, inner_eth(ip)), 4789, 50003,
                                                         TD4 if r else TC4, TC4 if r else TD4),
                                               0x0800, key=9), 47, r))
    # The tunnel path MTU black hole: GRE key 11 carries a small datagram,
    # answered, and a 1400-byte one that a router on the tunnel's own path
    # drops with fragmentation needed (MTU 1400), quoting the outer packet
    # as Linux does (576 bytes). The inner hosts hear nothing.
    small = IP(src=C4, dst=S4) / UDP(sport=44050, dport=7) / Raw(b"s" * 20)
    echo = IP(src=S4, dst=C4) / UDP(sport=7, dport=44050) / Raw(b"s" * 20)
    big = IP(src=C4, dst=S4, flags="DF") / UDP(sport=44051, dport=7) / Raw(b"b" * 1372)
    f.append(T(gre(bytes(small), 0x0800, key=11), 47, False, TE4, TF4))
    f.append(T(gre(bytes(echo), 0x0800, key=11), 47, True, TE4, TF4))
    big_outer = outer(gre(bytes(big), 0x0800, key=11), 47, TE4, TF4)
    f.append(E(0x0800, big_outer))
    f.append(E(0x0800, bytes(IP(src=RU4, dst=TE4) / ICMP(type=3, code=4, nexthopmtu=1400) /
                             big_outer[:548]), MAC_R, MAC_C))
    # A VXLAN peer that is gone: the underlay router says host unreachable.
    lost = IP(src=C4, dst=S4) / UDP(sport=44052, dport=9999) / Raw(b"q" * 10)
    vx_lost = outer_udp(vx(42, inner_eth(bytes(lost))), 4789, 50004, TA4, "198.18.3.99")
    f.append(E(0x0800, vx_lost))
    f.append(E(0x0800, bytes(IP(src=RU4, dst=TA4) / ICMP(type=3, code=1) / vx_lost[:576]),
               MAC_R, MAC_C))
    # Not decoded, each for a reason it names: PPPoE discovery (PADI), LCP in
    # a session, GTP-U echo, GRE of IPX, eleven MPLS labels, LLDP.
    f.append(E(0x8863, struct.pack("!BBHH", 0x11, 0x09, 0, 4) + struct.pack("!HH", 0x0101, 0)))
    f.append(E(0x8864, struct.pack("!BBHHH", 0x11, 0, 0x0012, 6, 0xc021) + bytes(4)))
    f.append(U(struct.pack("!BBHIHBB", 0x32, 1, 4, 0, 1, 0, 0), 2152, False))
    f.append(T(gre(b"\xff" * 30, 0x8137), 47, False))
    f.append(E(0x8847, mpls(bytes(refused4(44060)[0]), list(range(100, 111)))))
    f.append(E(0x88cc, bytes(40), MAC_C, "01:80:c2:00:00:0e"))
    write("encap.pcap", 1, f)

    # PPP link types: PPP (9) with and without HDLC framing, PPP_SERIAL (50)
    # in PPP and Cisco framing, PPPoE without Ethernet (51), PPP with a
    # direction byte (204), Cisco HDLC (104) carrying MPLS and IPv4.
    f = both_ways(44070, lambda ip, r: b"\xff\x03\x00\x21" + ip)
    f += both_ways(44071, lambda ip, r: b"\x00\x57" + ip, v6=True)
    f.append(b"\xff\x03\xc0\x21" + bytes(8))                      # LCP
    write("link-ppp.pcap", 9, f)
    f = both_ways(44072, lambda ip, r: b"\xff\x03\x00\x21" + ip)
    f += both_ways(44073, lambda ip, r: b"\x0f\x00\x08\x00" + ip)
    write("link-ppp-serial.pcap", 50, f)
    write("link-ppp-ether.pcap", 51, both_ways(44074, lambda ip, r: pppoe_session(ip, 0x0056)))
    write("link-ppp-dir.pcap", 204,
          both_ways(44075, lambda ip, r: (b"\x00" if r else b"\x01") + b"\xff\x03\x00\x21" + ip))
    f = both_ways(44076, lambda ip, r: b"\x0f\x00\x88\x47" + mpls(ip, [20]))
    f += both_ways(44077, lambda ip, r: b"\x8f\x00\x08\x00" + ip)
    write("link-chdlc.pcap", 104, f)

    # Nothing to decode at all: udpflowd names the commonest reason.
    f = [E(0x88cc, bytes(40), MAC_C, "01:80:c2:00:00:0e") for _ in range(3)]
    f.append(E(0x8863, struct.pack("!BBHH", 0x11, 0x09, 0, 0)))
    write("undecoded.pcap", 1, f)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    links()
    ip_features()
    icmp_codes()
    quotes()
    exact()
    idle()
    malformed()
    encap()
