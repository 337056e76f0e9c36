#!/usr/bin/env python3
"""Traffic for the capture-recording namespaces (stdlib only).

  netsend.py udp  DST PORT --sport N [--ttl N] [--df] [--size N] [--count N]
  netsend.py tcp  DST PORT --sport N [--timeout S]
  netsend.py echo PORT ADDR...  # UDP echo server on these addresses
  netsend.py listen PORT        # TCP server: read, answer, close
  netsend.py serve PORT [--noread]
                                # TCP server: answer each line, keep the
                                # connection; --noread: never read
  netsend.py session DST PORT --sport N [--rounds K] [--gap S] [--hold S]
                                # TCP client: K lines, one every S seconds,
                                # then keep the connection open --hold S

Fixed source ports make every flow's 5-tuple known in advance, so the tests
can name each flow exactly. Only ever run inside the test namespaces.
"""
import argparse
import select
import socket
import sys
import time

IP_MTU_DISCOVER = 10
IP_PMTUDISC_DO = 2
IPV6_MTU_DISCOVER = 23
IPV6_PMTUDISC_DO = 2


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def udp(a):
    fam = family_of(a.dst)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", a.sport))
    if a.ttl:
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, a.ttl)
        else:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, a.ttl)
    if a.df:
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO)
        else:
            s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
    payload = b"x" * a.size
    got = 0
    for _ in range(a.count):
        try:
            s.sendto(payload, (a.dst, a.port))
        except OSError as e:
            print("send: %s" % e, file=sys.stderr)
        r, _, _ = select.select([s], [], [], a.wait)
        if r:
            try:
                s.recvfrom(65535)
                got += 1
            except OSError as e:       # ECONNREFUSED and friends
                print("recv: %s" % e, file=sys.stderr)
    print("udp %s:%d sent %d answered %d" % (a.dst, a.port, a.count, got))


def tcp(a):
    fam = family_of(a.dst)
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", a.sport))
    s.settimeout(a.timeout)
    try:
        s.connect((a.dst, a.port))
        s.sendall(b"hello\n")
        s.recv(100)
        print("tcp %s:%d answered" % (a.dst, a.port))
    except OSError as e:
        print("tcp %s:%d %s" % (a.dst, a.port, e))
    s.close()


def echo(a):
    # One socket per address: a socket bound to the wildcard address would
    # answer from whichever address the kernel picks, not the one asked.
    socks = []
    for addr in a.addrs:
        s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
        s.bind((addr, a.port))
        socks.append(s)
    while True:
        r, _, _ = select.select(socks, [], [])
        for s in r:
            data, peer = s.recvfrom(65535)
            s.sendto(data, peer)


def tcp_listeners(port):
    """Listening sockets on the wildcard address of both families."""
    socks = []
    for fam, any_addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((any_addr, port))
        s.listen(8)
        socks.append(s)
    return socks


def listen(a):
    socks = tcp_listeners(a.port)
    while True:
        r, _, _ = select.select(socks, [], [])
        for s in r:
            c, _ = s.accept()
            c.settimeout(2)
            try:
                c.recv(100)
                c.sendall(b"hi\n")
            except OSError:
                pass
            c.close()


def serve(a):
    socks = tcp_listeners(a.port)
    conns = []
    while True:
        r, _, _ = select.select(socks + ([] if a.noread else conns), [], [])
        for s in r:
            if s in socks:
                c, _ = s.accept()
                conns.append(c)
                continue
            data = s.recv(4096)
            if not data:
                conns.remove(s)
                s.close()
                continue
            s.sendall(data)


def session(a):
    fam = family_of(a.dst)
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", a.sport))
    s.settimeout(3)
    what = "done"
    try:
        s.connect((a.dst, a.port))
        for _ in range(a.rounds):
            s.sendall(b"ping\n")
            r, _, _ = select.select([s], [], [], a.gap)
            if r and not s.recv(100):
                what = "closed by the server"
                break
            time.sleep(max(0.0, a.gap - 0.01) if r else 0)
        else:
            time.sleep(a.hold)
    except OSError as e:
        what = str(e)
    print("session %s:%d %s" % (a.dst, a.port, what))
    s.close()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("udp")
    u.add_argument("dst")
    u.add_argument("port", type=int)
    u.add_argument("--sport", type=int, required=True)
    u.add_argument("--ttl", type=int, default=0)
    u.add_argument("--df", action="store_true")
    u.add_argument("--size", type=int, default=23)
    u.add_argument("--count", type=int, default=1)
    u.add_argument("--wait", type=float, default=1.0)
    t = sub.add_parser("tcp")
    t.add_argument("dst")
    t.add_argument("port", type=int)
    t.add_argument("--sport", type=int, required=True)
    t.add_argument("--timeout", type=float, default=3.5)
    e = sub.add_parser("echo")
    e.add_argument("port", type=int)
    e.add_argument("addrs", nargs="+")
    l = sub.add_parser("listen")
    l.add_argument("port", type=int)
    v = sub.add_parser("serve")
    v.add_argument("port", type=int)
    v.add_argument("--noread", action="store_true")
    c = sub.add_parser("session")
    c.add_argument("dst")
    c.add_argument("port", type=int)
    c.add_argument("--sport", type=int, required=True)
    c.add_argument("--rounds", type=int, default=4)
    c.add_argument("--gap", type=float, default=0.5)
    c.add_argument("--hold", type=float, default=0.0)
    a = p.parse_args()
    {"udp": udp, "tcp": tcp, "echo": echo, "listen": listen, "serve": serve,
     "session": session}[a.cmd](a)


if __name__ == "__main__":
    main()
