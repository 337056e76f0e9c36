#!/usr/bin/env python3
"""Split classic pcap files into one file per packet for the decoder fuzz
target: the first byte picks the link type (the order of links[] in
fuzz_decode.c), the rest is the frame.  seed-packets.py OUTDIR PCAP..."""
import os
import struct
import sys

LINKS = {1: 0, 113: 1, 276: 2, 101: 3, 12: 3, 228: 4, 229: 5, 0: 6, 108: 7,
         9: 8, 50: 9, 51: 10, 104: 11, 204: 12}

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
n = 0
for path in sys.argv[2:]:
    data = open(path, "rb").read()
    if len(data) < 24 or data[:4] not in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        continue
    link = struct.unpack_from("<I", data, 20)[0]
    if link not in LINKS:
        continue
    off = 24
    while off + 16 <= len(data):
        caplen = struct.unpack_from("<I", data, off + 8)[0]
        frame = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        with open(os.path.join(out, "%s-%d" % (os.path.basename(path), n)), "wb") as f:
            f.write(bytes([LINKS[link]]) + frame)
        n += 1
print("seeded %d packets" % n)
