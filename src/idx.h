/* The IDX file format of MNIST (Y. LeCun, yann.lecun.com/exdb/mnist): a 4-byte big-endian magic
 * `0x00 0x00 TYPE NDIMS`, NDIMS big-endian uint32 sizes, then the elements in row-major order.
 * Only unsigned bytes (TYPE 0x08) are supported. Files are read through zlib's gzread, so plain
 * and gzip-compressed files go through the same code path. Only regular files are read. */
#ifndef SEQGEN_IDX_H
#define SEQGEN_IDX_H

#include <stddef.h>
#include <stdint.h>

#define SG_IDX_TYPE_UBYTE 0x08u
#define SG_IDX_MAX_DIMS 3u
/* The largest payload accepted (1 GiB): full MNIST training images are 47 MB. */
#define SG_IDX_MAX_BYTES ((uint64_t)1 << 30)

typedef struct sg_idx {
    uint8_t *data;                   /* dims[0] * ... * dims[ndims-1] bytes, owned */
    size_t size;                     /* number of bytes in data */
    uint32_t ndims;
    uint32_t dims[SG_IDX_MAX_DIMS];
} sg_idx;

/* Reads the IDX file at `path` (plain or gzip), which must have exactly `ndims` dimensions
 * (1 to SG_IDX_MAX_DIMS) of unsigned bytes. On success fills `out`, to be released with
 * sg_idx_free. On failure `out` is untouched, nothing is allocated, and the status is one of:
 * ENOENT (no such file), EIO (read error), EFORMAT (not a regular file: a FIFO, device or
 * directory, refused before anything can block on it; bad magic, type or number of dimensions),
 * EOVERFLOW (a zero size or a payload above SG_IDX_MAX_BYTES), ETRUNCATED (ends before the
 * header or the payload does; also a compressed stream cut short), ETRAILING (bytes after the
 * payload), ECOMPRESSED (corrupt gzip data), ENOMEM. The detail message starts with `path`.
 * (zlib itself ignores non-gzip bytes after the last gzip member; bytes after the payload inside
 * the compressed data are reported.) */
int sg_idx_read(const char *path, uint32_t ndims, sg_idx *out);

/* Releases what sg_idx_read allocated; `idx` may be NULL or already freed. */
void sg_idx_free(sg_idx *idx);

#endif
