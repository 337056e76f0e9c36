/*
 * Compressed captures, read as tshark reads them: a capture that begins
 * with the magic of gzip, zstd or an lz4 frame is decompressed on the fly
 * (whatever its name), and libpcap reads the stream as any other.
 */
#ifndef UDPFLOWS_DECOMPRESS_H
#define UDPFLOWS_DECOMPRESS_H

#include <stdint.h>
#include <stdio.h>

enum compression { COMP_NONE, COMP_GZIP, COMP_ZSTD, COMP_LZ4 };

struct decompress;

/*
 * The stream to read the capture on src from, into *out: src itself when
 * it is not compressed and can be read again from its start (a regular
 * file; *d is then NULL), else a stream that gives the decompressed bytes
 * (or, from a pipe, the bytes as they came), *d its state. Closing *out
 * closes src and frees *d. -1, with err set, when memory runs out or src
 * cannot be read.
 */
int decompress_open(FILE *src, FILE **out, struct decompress **d,
    char *err, size_t errlen);

/* What *d reads: COMP_NONE for src itself (d NULL) or a pipe. */
enum compression decompress_kind(const struct decompress *);
/* "gzip", "zstd", "lz4". */
const char *decompress_name(enum compression);
/*
 * The compressed bytes read so far (where in the file the reading is),
 * and what went wrong ("" when nothing did); valid until *out is closed.
 */
uint64_t decompress_consumed(const struct decompress *);
const char *decompress_error(const struct decompress *);

#endif
