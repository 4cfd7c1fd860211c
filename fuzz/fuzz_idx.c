/* libFuzzer harness for the IDX reader (plain and gzip) and the dataset built on it.
 *
 * Input: one control byte, then file bytes. Control % 4:
 *   0, 1, 2: the rest is one IDX file read with sg_idx_read() expecting 1, 2 or 3 dimensions;
 *   3: the next two bytes (little-endian) give the length of a labels file, the rest after it is
 *      an images file; both go to seqgen_dataset_open() and, if it succeeds, one batch and a
 *      nearest-neighbour search run over the dataset.
 * Control bit 2 gzips the (images) file and bit 3 the labels file before they are written, so
 * that mutations of the content reach the reader through a valid compressed stream. Bit 4 opens
 * the pair with small limits (seqgen_dataset_open_with_limits), so that mutated headers reach
 * every limit check.
 * Any failure must be a status with a detail message; crashes, leaks and sanitizer reports are
 * the findings. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz_file.h"
#include "idx.h"
#include "seqgen.h"

static fuzz_file images, labels;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_file_open(&images, "fuzz-images");
    fuzz_file_open(&labels, "fuzz-labels");
    return 0;
}

/* A failed call must say why. */
static void expect_detail(int status)
{
    if (status < 0 && seqgen_last_error()[0] == '\0')
        abort();
}

/* Writes the bytes to `f`, gzip-compressed if asked. */
static void put_file(fuzz_file *f, const uint8_t *data, size_t size, int gzip)
{
    if (!gzip) {
        fuzz_file_set(f, data, size);
        return;
    }
    z_stream z;
    memset(&z, 0, sizeof z);
    uLong bound = compressBound((uLong)size) + 32; /* + the gzip header and trailer */
    uint8_t *packed = malloc(bound);
    if (!packed || deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)size;
    z.next_out = packed;
    z.avail_out = (uInt)bound;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        abort();
    fuzz_file_set(f, packed, z.total_out);
    deflateEnd(&z);
    free(packed);
}

static void read_one_file(uint32_t ndims, const uint8_t *data, size_t size, int gzip)
{
    put_file(&images, data, size, gzip);
    sg_idx idx;
    int status = sg_idx_read(images.path, ndims, &idx);
    expect_detail(status);
    if (status != SEQGEN_OK)
        return;
    size_t expected = 1;
    for (uint32_t d = 0; d < ndims; d++)
        expected *= idx.dims[d];
    if (expected != idx.size)
        abort();
    if (idx.size > 0) { /* both ends of the data are readable: ASan checks the accesses */
        volatile uint8_t ends = idx.data[0] ^ idx.data[idx.size - 1];
        (void)ends;
    }
    sg_idx_free(&idx);
}

/* One batch of every image's sequence and a nearest-neighbour search of the first image. */
static void use_dataset(seqgen_dataset *ds)
{
    seqgen_batch_config cfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    cfg.batch_size = 4;
    seqgen_batch_iter *it = NULL;
    int status = seqgen_batch_iter_create(&it, ds, &cfg);
    expect_detail(status);
    if (status != SEQGEN_OK)
        return;
    const float *batch = NULL;
    size_t count = 0;
    if (seqgen_batch_iter_next(it, &batch, &count) == SEQGEN_OK && count > 0) {
        size_t nearest = 0;
        uint32_t distance = 0;
        expect_detail(seqgen_dataset_nearest(ds, batch, 1, &nearest, &distance));
        if (nearest >= seqgen_dataset_count(ds) || distance != 0)
            abort(); /* the image itself is in the dataset: distance 0 */
    }
    seqgen_batch_iter_free(it);
}

static void open_pair(const uint8_t *data, size_t size, int gzip_images, int gzip_labels,
                      int small_limits)
{
    if (size < 2)
        return;
    size_t label_size = ((size_t)data[0] | (size_t)data[1] << 8) % (size - 1);
    put_file(&labels, data + 2, label_size, gzip_labels);
    put_file(&images, data + 2 + label_size, size - 2 - label_size, gzip_images);
    seqgen_dataset *ds = NULL;
    seqgen_data_limits limits = seqgen_data_limits_default();
    if (small_limits) {
        limits.max_bytes = 256;
        limits.max_units = 16;
        limits.max_sequences = 8;
    }
    int status = seqgen_dataset_open_with_limits(&ds, images.path, labels.path, &limits);
    expect_detail(status);
    if (status != SEQGEN_OK)
        return;
    use_dataset(ds);
    seqgen_dataset_free(ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0] % 4, gzip = data[0] >> 2 & 1, gzip_labels = data[0] >> 3 & 1;
    if (mode < 3)
        read_one_file(mode + 1, data + 1, size - 1, gzip);
    else
        open_pair(data + 1, size - 1, gzip, gzip_labels, data[0] >> 4 & 1);
    return 0;
}
