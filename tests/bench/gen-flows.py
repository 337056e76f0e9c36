#!/usr/bin/env python3
"""Write a synthetic capture of N one-packet UDP flows (stdlib only).

    gen-flows.py OUT.pcap [N] [SPAN_SECONDS]

Flows go from 198.18.x.y:port to 198.19.0.1-255:53 over the last
SPAN_SECONDS (default 7200) before now, in time order; every 10th draws a
port unreachable from its destination, with a correct quote. Used by
tests/bench/query.sh; never committed (it is large).
"""
import struct
import sys
import time


def ip4(src, dst, proto, payload):
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64,
                       proto, 0, src, dst) + payload


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
    span = int(sys.argv[3]) if len(sys.argv) > 3 else 7200
    eth = bytes.fromhex("020000000001020000000002") + b"\x08\x00"
    start = int(time.time() * 1e6) - span * 1000000
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            src = bytes([198, 18, (i >> 16) & 0xff, (i >> 8) & 0xff])
            dst = bytes([198, 19, 0, 1 + i % 255])
            u = struct.pack("!HHHH", 1024 + (i & 0xff), 53, 12, 0) + b"abcd"
            p = eth + ip4(src, dst, 17, u)
            ts = start + i * span * 1000000 // n
            f.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(p), len(p)))
            f.write(p)
            if i % 10 == 0:
                e = eth + ip4(dst, src, 1, struct.pack("!BBHI", 3, 3, 0, 0) + p[14:14 + 28])
                ts += 50
                f.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(e), len(e)))
                f.write(e)


if __name__ == "__main__":
    main()
