/* Writing small IDX image/label files for the dataset tests (plain or gzip, via zlib). */
#ifndef SEQGEN_TEST_IDX_FIXTURE_H
#define SEQGEN_TEST_IDX_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "testutil.h"

/* Writes an unsigned-byte IDX file (magic 0x000008nn, big-endian sizes, data) to path. */
static void write_idx_file(const char *path, unsigned ndims, const uint32_t *dims,
                           const uint8_t *data, int gzip)
{
    uint8_t header[16] = {0, 0, 0x08, (uint8_t)ndims};
    size_t size = 1;
    for (unsigned d = 0; d < ndims; d++) {
        for (int b = 0; b < 4; b++)
            header[4 + 4 * d + b] = (uint8_t)(dims[d] >> (24 - 8 * b));
        size *= dims[d];
    }
    size_t header_size = 4 + 4 * ndims;
    if (!gzip) {
        uint8_t *file = malloc(header_size + size);
        assert_non_null(file);
        memcpy(file, header, header_size);
        memcpy(file + header_size, data, size);
        tu_write_file(path, file, header_size + size);
        free(file);
        return;
    }
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, header, (unsigned)header_size), (int)header_size);
    assert_int_equal(gzwrite(gz, data, (unsigned)size), (int)size);
    assert_int_equal(gzclose(gz), Z_OK);
}

/* Writes DIR/PREFIX-images-idx3-ubyte and DIR/PREFIX-labels-idx1-ubyte, each with ".gz" and
 * gzipped if asked. */
static void write_mnist_pair(const char *dir, const char *prefix, uint32_t count, uint32_t rows,
                             uint32_t cols, const uint8_t *images, const uint8_t *labels,
                             int gzip_images, int gzip_labels)
{
    char path[256];
    uint32_t image_dims[3] = {count, rows, cols};
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte%s", dir, prefix, gzip_images ? ".gz" : "");
    write_idx_file(path, 3, image_dims, images, gzip_images);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte%s", dir, prefix, gzip_labels ? ".gz" : "");
    write_idx_file(path, 1, &count, labels, gzip_labels);
}

#endif
