/* Writes a NumPy .npy file (format 1.0, numpy.lib.format): the magic, a little-endian u16
 * header length, the header dict padded with spaces to a multiple of 64 bytes and ending in
 * '\n', then the data. For tests and tools that make files the library reads; the reader is
 * checked against files written by NumPy itself in test_npy.c. */
#ifndef SEQGEN_TESTS_NPY_WRITE_H
#define SEQGEN_TESTS_NPY_WRITE_H

#include <stdio.h>
#include <string.h>

/* `bytes` bytes of `data` as an array of dtype `descr` (e.g. "|u1") and `shape` (e.g. "(5, 6)");
 * 0, or -1 with errno set. */
static inline int npy_write(const char *path, const char *descr, const char *shape,
                            const void *data, size_t bytes)
{
    char header[256];
    int n = snprintf(header, sizeof header,
                     "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    if (n < 0 || (size_t)n >= sizeof header - 64)
        return -1;
    size_t total = (10 + (size_t)n + 1 + 63) / 64 * 64; /* magic, length, text, '\n' */
    memset(header + n, ' ', total - 10 - (size_t)n);
    header[total - 11] = '\n';
    unsigned char prefix[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                (unsigned char)((total - 10) & 0xff),
                                (unsigned char)((total - 10) >> 8)};
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int failed = fwrite(prefix, 1, sizeof prefix, f) != sizeof prefix ||
                 fwrite(header, 1, total - 10, f) != total - 10 ||
                 (bytes > 0 && fwrite(data, 1, bytes, f) != bytes);
    failed |= fclose(f) != 0;
    return failed ? -1 : 0;
}

#endif
