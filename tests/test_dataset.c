/* The dataset handle on small files the tests write: opening pairs and directories, bad inputs,
 * subsets, binarisation, the sequence layout, and the shuffling batch iterator. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "idx_fixture.h"
#include "seqgen.h"

#define N_IMAGES 10u
#define SIDE 28u
#define PIXELS (SIDE * SIDE)

typedef struct fixture {
    char dir[64];
    uint8_t images[N_IMAGES * PIXELS];
    uint8_t labels[N_IMAGES];
    seqgen_dataset *ds; /* N_IMAGES images of 28x28, train split of dir */
} fixture;

/* Image i: byte (i * 31 + p * 7) mod 256 at pixel p, so thresholds and positions are checkable. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s", tu_tempdir());
    for (size_t i = 0; i < N_IMAGES; i++) {
        f->labels[i] = (uint8_t)((i * 3) % 10);
        for (size_t p = 0; p < PIXELS; p++)
            f->images[i * PIXELS + p] = (uint8_t)(i * 31 + p * 7);
    }
    write_mnist_pair(f->dir, "train", N_IMAGES, SIDE, SIDE, f->images, f->labels, 1, 0);
    if (seqgen_dataset_open_dir(&f->ds, f->dir, SEQGEN_SPLIT_TRAIN) != SEQGEN_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    seqgen_dataset_free(f->ds);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

static void expect_detail(int status, int expected, const char *fragment)
{
    if (status != expected || !strstr(seqgen_last_error(), fragment))
        fail_msg("expected %s with \"%s\", got %d (%s): %s", seqgen_strerror(expected), fragment,
                 status, seqgen_strerror(status), seqgen_last_error());
}

/* ---- Opening ------------------------------------------------------------------------------- */

static void open_dir_reads_images_and_labels(void **state)
{
    fixture *f = *state;
    assert_int_equal(seqgen_dataset_count(f->ds), N_IMAGES);
    assert_int_equal(seqgen_dataset_rows(f->ds), SIDE);
    assert_int_equal(seqgen_dataset_cols(f->ds), SIDE);
    assert_int_equal(seqgen_dataset_units(f->ds), PIXELS);
    for (size_t i = 0; i < N_IMAGES; i++) {
        assert_memory_equal(seqgen_dataset_raw(f->ds, i), f->images + i * PIXELS, PIXELS);
        assert_int_equal(tu_label(f->ds, i), f->labels[i]);
    }
    assert_int_equal(seqgen_dataset_steps(f->ds), PIXELS);
    assert_int_equal(seqgen_dataset_units_per_step(f->ds), 1);
    assert_int_equal(seqgen_dataset_is_binary(f->ds), 0);
    assert_int_equal(seqgen_dataset_has_labels(f->ds), 1);
    assert_int_equal(seqgen_dataset_has_lengths(f->ds), 0);
    assert_int_equal(seqgen_dataset_length(f->ds, 3), PIXELS);
    assert_null(seqgen_dataset_raw(f->ds, N_IMAGES));
    int64_t label = 77;
    assert_int_equal(seqgen_dataset_label(f->ds, N_IMAGES, &label), SEQGEN_EINVAL);
    assert_null(seqgen_dataset_raw(NULL, 0));
    assert_int_equal(seqgen_dataset_label(NULL, 0, &label), SEQGEN_EINVAL);
    assert_int_equal(seqgen_dataset_label(f->ds, 0, NULL), SEQGEN_EINVAL);
    assert_int_equal(label, 77);
    assert_int_equal(seqgen_dataset_count(NULL), 0);
    assert_int_equal(seqgen_dataset_units(NULL), 0);
    assert_int_equal(seqgen_dataset_length(NULL, 0), 0);
    seqgen_dataset_free(NULL);
}

static void open_pair_and_test_split(void **state)
{
    fixture *f = *state;
    static const uint8_t images[3 * 4] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    static const uint8_t labels[3] = {9, 0, 5};
    write_mnist_pair(f->dir, "t10k", 3, 2, 2, images, labels, 0, 1);
    seqgen_dataset *ds = NULL;
    assert_ok(seqgen_dataset_open_dir(&ds, f->dir, SEQGEN_SPLIT_TEST));
    assert_int_equal(seqgen_dataset_count(ds), 3);
    assert_int_equal(seqgen_dataset_rows(ds), 2);
    assert_memory_equal(seqgen_dataset_raw(ds, 2), images + 8, 4);
    assert_int_equal(tu_label(ds, 0), 9);
    seqgen_dataset_free(ds);

    char images_path[128], labels_path[128];
    snprintf(images_path, sizeof images_path, "%s/t10k-images-idx3-ubyte", f->dir);
    snprintf(labels_path, sizeof labels_path, "%s/t10k-labels-idx1-ubyte.gz", f->dir);
    assert_ok(seqgen_dataset_open(&ds, images_path, labels_path));
    assert_int_equal(tu_label(ds, 2), 5);
    seqgen_dataset_free(ds);
}

/* With both names present the plain file wins (here it holds fewer images than the .gz). */
static void plain_file_preferred_over_gz(void **state)
{
    fixture *f = *state;
    write_mnist_pair(f->dir, "train", 4, SIDE, SIDE, f->images, f->labels, 0, 1);
    seqgen_dataset *ds = NULL;
    expect_detail(seqgen_dataset_open_dir(&ds, f->dir, SEQGEN_SPLIT_TRAIN), SEQGEN_EMISMATCH,
                  "train-images-idx3-ubyte holds 4 images but");
    assert_null(ds);
    write_mnist_pair(f->dir, "train", 4, SIDE, SIDE, f->images, f->labels, 0, 0);
    assert_ok(seqgen_dataset_open_dir(&ds, f->dir, SEQGEN_SPLIT_TRAIN));
    assert_int_equal(seqgen_dataset_count(ds), 4);
    seqgen_dataset_free(ds);
}

static void bad_pairs_and_directories(void **state)
{
    fixture *f = *state;
    char images_path[128], labels_path[128], other[128];
    snprintf(images_path, sizeof images_path, "%s/train-images-idx3-ubyte.gz", f->dir);
    snprintf(labels_path, sizeof labels_path, "%s/train-labels-idx1-ubyte", f->dir);
    seqgen_dataset *ds = (seqgen_dataset *)f; /* must stay untouched on failure */

    uint32_t seven = 7;
    snprintf(other, sizeof other, "%s/seven-labels", f->dir);
    write_idx_file(other, 1, &seven, f->labels, 0);
    expect_detail(seqgen_dataset_open(&ds, images_path, other), SEQGEN_EMISMATCH,
                  "holds 10 images but");
    assert_non_null(strstr(seqgen_last_error(), "seven-labels holds 7 labels"));

    uint8_t bad_labels[N_IMAGES];
    memcpy(bad_labels, f->labels, sizeof bad_labels);
    bad_labels[6] = 10;
    uint32_t count = N_IMAGES;
    snprintf(other, sizeof other, "%s/bad-labels.gz", f->dir);
    write_idx_file(other, 1, &count, bad_labels, 1);
    expect_detail(seqgen_dataset_open(&ds, images_path, other), SEQGEN_ERANGE,
                  "bad-labels.gz: label 10 of image 6 is outside 0-9");

    expect_detail(seqgen_dataset_open(&ds, labels_path, labels_path), SEQGEN_EFORMAT,
                  "train-labels-idx1-ubyte: IDX file has 1 dimensions, expected 3");
    expect_detail(seqgen_dataset_open(&ds, images_path, images_path), SEQGEN_EFORMAT,
                  "train-images-idx3-ubyte.gz: IDX file has 3 dimensions, expected 1");
    snprintf(other, sizeof other, "%s/absent.gz", f->dir);
    expect_detail(seqgen_dataset_open(&ds, other, labels_path), SEQGEN_ENOENT, "absent.gz: no such file");
    expect_detail(seqgen_dataset_open(&ds, images_path, other), SEQGEN_ENOENT, "absent.gz: no such file");

    snprintf(other, sizeof other, "%s/nowhere", f->dir);
    expect_detail(seqgen_dataset_open_dir(&ds, other, SEQGEN_SPLIT_TRAIN), SEQGEN_ENOENT,
                  "nowhere: no such directory");
    expect_detail(seqgen_dataset_open_dir(&ds, labels_path, SEQGEN_SPLIT_TRAIN), SEQGEN_ENOENT,
                  "train-labels-idx1-ubyte: not a directory");
    expect_detail(seqgen_dataset_open_dir(&ds, f->dir, SEQGEN_SPLIT_TEST), SEQGEN_ENOENT,
                  "has neither t10k-images-idx3-ubyte nor t10k-images-idx3-ubyte.gz");
    assert_non_null(strstr(seqgen_last_error(), f->dir));
    remove(labels_path); /* images present, labels missing */
    expect_detail(seqgen_dataset_open_dir(&ds, f->dir, SEQGEN_SPLIT_TRAIN), SEQGEN_ENOENT,
                  "has neither train-labels-idx1-ubyte nor train-labels-idx1-ubyte.gz");

    expect_detail(seqgen_dataset_open(NULL, images_path, labels_path), SEQGEN_EINVAL, "NULL");
    expect_detail(seqgen_dataset_open_dir(&ds, f->dir, (seqgen_split)7), SEQGEN_EINVAL, "split");
    assert_ptr_equal(ds, (seqgen_dataset *)f);
}

/* Writes the header of an IDX file (magic and sizes) and nothing else: the payload is never
 * reached when the header alone is refused. */
static void write_idx_header(const char *path, unsigned ndims, const uint32_t *dims)
{
    uint8_t header[16] = {0, 0, 0x08, (uint8_t)ndims};
    for (unsigned d = 0; d < ndims; d++)
        for (int b = 0; b < 4; b++)
            header[4 + 4 * d + b] = (uint8_t)(dims[d] >> (24 - 8 * b));
    tu_write_file(path, header, 4 + 4 * ndims);
}

/* Headers whose datasets would need more memory than the default limits allow are refused
 * before any payload is read, with the sizes in the message: one 32768x32768 image (1 GiB of
 * pixels, a batch of 4 GiB of floats), 2^28 images of 1x3 (768 MiB of pixels and 2 GiB of
 * 8-byte labels), 2^26 images of 4x4 (exactly 1 GiB of pixels, plus the labels). */
static void headers_needing_too_much_memory_are_refused(void **state)
{
    fixture *f = *state;
    char images[128], labels[128];
    snprintf(images, sizeof images, "%s/huge-images", f->dir);
    snprintf(labels, sizeof labels, "%s/huge-labels", f->dir);
    static const struct {
        uint32_t dims[3];
        const char *fragment;
    } cases[] = {
        {{1, 32768, 32768}, "header says 1 images of 32768x32768: 1073741824 pixels per image, "
                            "more than the limit of 1048576"},
        {{1u << 28, 1, 3}, "268435456 images of 1x3 need 2952790016 bytes (3 pixels and an "
                           "8-byte label each), more than the limit of 1073741824"},
        {{1u << 26, 4, 4}, "67108864 images of 4x4 need 1610612736 bytes"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        write_idx_header(images, 3, cases[c].dims);
        write_idx_header(labels, 1, cases[c].dims);
        seqgen_dataset *ds = NULL;
        expect_detail(seqgen_dataset_open(&ds, images, labels), SEQGEN_EOVERFLOW,
                      cases[c].fragment);
        assert_non_null(strstr(seqgen_last_error(), images));
        assert_null(ds);
    }
}

/* The limits hold exactly at their values, whichever way they are moved, and pass through
 * seqgen_dataset_open_dir_with_limits too. */
static void data_limits_can_be_lowered_and_raised(void **state)
{
    fixture *f = *state;
    const seqgen_data_limits defaults = seqgen_data_limits_default();
    assert_int_equal(defaults.max_bytes, (uint64_t)1 << 30);
    assert_int_equal(defaults.max_units, (uint64_t)1 << 20);
    assert_int_equal(defaults.max_sequences, UINT32_MAX);
    char images[128], labels[128];
    snprintf(images, sizeof images, "%s/train-images-idx3-ubyte.gz", f->dir);
    snprintf(labels, sizeof labels, "%s/train-labels-idx1-ubyte", f->dir);
    seqgen_dataset *ds = NULL;
    seqgen_data_limits l = defaults;

    l.max_units = PIXELS - 1;
    expect_detail(seqgen_dataset_open_with_limits(&ds, images, labels, &l), SEQGEN_EOVERFLOW,
                  "header says 10 images of 28x28: 784 pixels per image, more than the limit of "
                  "783 units per sequence (seqgen_data_limits.max_units)");
    l.max_units = PIXELS;
    l.max_sequences = N_IMAGES - 1;
    expect_detail(seqgen_dataset_open_dir_with_limits(&ds, f->dir, SEQGEN_SPLIT_TRAIN, &l),
                  SEQGEN_EOVERFLOW, "more than the limit of 9 sequences");
    l.max_sequences = N_IMAGES;
    l.max_bytes = N_IMAGES * (PIXELS + 8) - 1;
    expect_detail(seqgen_dataset_open_with_limits(&ds, images, labels, &l), SEQGEN_EOVERFLOW,
                  "10 images of 28x28 need 7920 bytes (784 pixels and an 8-byte label each), "
                  "more than the limit of 7919 bytes");
    assert_null(ds);
    l.max_bytes = N_IMAGES * (PIXELS + 8);
    assert_ok(seqgen_dataset_open_with_limits(&ds, images, labels, &l));
    assert_int_equal(seqgen_dataset_count(ds), N_IMAGES);
    seqgen_dataset_free(ds);
    ds = NULL;

    /* One image of 2048x1024, twice the default units per sequence. */
    const uint32_t rows = 2048, cols = 1024;
    uint8_t *big = calloc((size_t)rows * cols, 1);
    assert_non_null(big);
    big[(size_t)rows * cols - 1] = 255;
    write_mnist_pair(f->dir, "t10k", 1, rows, cols, big, f->labels, 1, 1);
    free(big);
    expect_detail(seqgen_dataset_open_dir(&ds, f->dir, SEQGEN_SPLIT_TEST), SEQGEN_EOVERFLOW,
                  "2097152 pixels per image, more than the limit of 1048576 units per sequence");
    l = defaults;
    l.max_units = (uint64_t)rows * cols;
    assert_ok(seqgen_dataset_open_dir_with_limits(&ds, f->dir, SEQGEN_SPLIT_TEST, &l));
    assert_int_equal(seqgen_dataset_rows(ds), rows);
    assert_int_equal(seqgen_dataset_cols(ds), cols);
    assert_int_equal(seqgen_dataset_raw(ds, 0)[(size_t)rows * cols - 1], 255);
    seqgen_dataset_free(ds);
    ds = NULL;

    /* Limits that cannot be. */
    static const seqgen_data_limits bad[] = {
        {0, 1, 1}, {1, 0, 1}, {1, 1, 0}, {1, 1, (uint64_t)UINT32_MAX + 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_detail(seqgen_dataset_open_with_limits(&ds, images, labels, &bad[i]), SEQGEN_EINVAL,
                      "each must be >= 1");
    assert_null(ds);
    assert_ok(seqgen_dataset_open_with_limits(&ds, images, labels, NULL)); /* the defaults */
    seqgen_dataset_free(ds);
}

static void limit_keeps_the_first_images(void **state)
{
    fixture *f = *state;
    assert_int_equal(seqgen_dataset_limit(f->ds, 0), SEQGEN_EINVAL);
    assert_int_equal(seqgen_dataset_limit(NULL, 3), SEQGEN_EINVAL);
    assert_ok(seqgen_dataset_limit(f->ds, 1000));
    assert_int_equal(seqgen_dataset_count(f->ds), N_IMAGES);
    assert_ok(seqgen_dataset_limit(f->ds, 4));
    assert_int_equal(seqgen_dataset_count(f->ds), 4);
    assert_memory_equal(seqgen_dataset_raw(f->ds, 3), f->images + 3 * PIXELS, PIXELS);
    assert_null(seqgen_dataset_raw(f->ds, 4));

    seqgen_batch_config cfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    seqgen_batch_iter *it;
    assert_ok(seqgen_batch_iter_create(&it, f->ds, &cfg));
    const float *x;
    size_t n;
    assert_ok(seqgen_batch_iter_next(it, &x, &n));
    assert_int_equal(n, 4);
    int seen[4] = {0};
    for (size_t k = 0; k < n; k++) {
        assert_true(seqgen_batch_iter_indices(it)[k] < 4);
        seen[seqgen_batch_iter_indices(it)[k]]++;
    }
    assert_memory_equal(seen, ((int[4]){1, 1, 1, 1}), sizeof seen);
    assert_int_equal(seqgen_batch_iter_next(it, &x, &n), SEQGEN_DONE);
    seqgen_batch_iter_free(it);
}

/* ---- Binarisation and layout ----------------------------------------------------------------- */

static void threshold_binarisation(void **state)
{
    fixture *f = *state;
    static const uint8_t bytes[4] = {0, 127, 128, 255};
    static const uint8_t labels[1] = {3};
    write_mnist_pair(f->dir, "t10k", 1, 2, 2, bytes, labels, 0, 0);
    seqgen_dataset *ds;
    assert_ok(seqgen_dataset_open_dir(&ds, f->dir, SEQGEN_SPLIT_TEST));
    float out[4];
    size_t index = 0;
    assert_ok(seqgen_dataset_sequences(ds, &index, 1, NULL, 0, out));
    assert_memory_equal(out, ((float[4]){0.0f, 0.0f, 1.0f, 1.0f}), sizeof out);
    seqgen_binarize_config b = SEQGEN_BINARIZE_CONFIG_DEFAULT;
    b.threshold = 0;
    assert_ok(seqgen_dataset_sequences(ds, &index, 1, &b, 0, out));
    assert_memory_equal(out, ((float[4]){0.0f, 1.0f, 1.0f, 1.0f}), sizeof out);
    b.threshold = 254;
    assert_ok(seqgen_dataset_sequences(ds, &index, 1, &b, 0, out));
    assert_memory_equal(out, ((float[4]){0.0f, 0.0f, 0.0f, 1.0f}), sizeof out);

    size_t beyond = 1;
    expect_detail(seqgen_dataset_sequences(ds, &beyond, 1, NULL, 0, out), SEQGEN_EINVAL,
                  "sequence index 1 (entry 0) is beyond the 1 sequences");
    b.mode = (seqgen_binarize_mode)5;
    expect_detail(seqgen_dataset_sequences(ds, &index, 1, &b, 0, out), SEQGEN_EINVAL,
                  "unknown binarisation mode 5");
    seqgen_dataset_free(ds);
}

/* The pixels of one image as 0/1 under the stochastic mode, from an independent Python
 * implementation of PCG32 (pcg32_srandom_r) following the rule documented in seqgen.h: image 5,
 * seed 9, stream 2^62 + 5, pixel 1 iff u * 255 < byte * 2^32. */
static void stochastic_binarisation_matches_reference(void **state)
{
    fixture *f = *state;
    static const uint8_t pattern[8] = {0, 1, 64, 127, 128, 200, 254, 255};
    static const float expected[16] = {0, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1};
    uint8_t images[6 * 16] = {0}, labels[6] = {0};
    for (int p = 0; p < 16; p++)
        images[5 * 16 + p] = pattern[p % 8];
    write_mnist_pair(f->dir, "t10k", 6, 4, 4, images, labels, 0, 0);
    seqgen_dataset *ds;
    assert_ok(seqgen_dataset_open_dir(&ds, f->dir, SEQGEN_SPLIT_TEST));
    seqgen_binarize_config b = {SEQGEN_BINARIZE_STOCHASTIC, 127, 9, 0};
    float out[16];
    size_t index = 5;
    assert_ok(seqgen_dataset_sequences(ds, &index, 1, &b, 0, out));
    assert_memory_equal(out, expected, sizeof out);
    assert_ok(seqgen_dataset_sequences(ds, &index, 1, &b, 17, out)); /* fixed: epoch ignored */
    assert_memory_equal(out, expected, sizeof out);
    b.resample_each_epoch = 1;
    assert_ok(seqgen_dataset_sequences(ds, &index, 1, &b, 0, out)); /* epoch 0 = the fixed draw */
    assert_memory_equal(out, expected, sizeof out);
    seqgen_dataset_free(ds);
}

/* Frequencies of ones follow byte / 255; fixed samples repeat across epochs, resampled ones do
 * not; the seed matters. */
static void stochastic_binarisation_statistics(void **state)
{
    fixture *f = *state;
    static const uint8_t levels[5] = {0, 51, 128, 204, 255};
    enum { COUNT = 40, SIZE = 100 };
    uint8_t *images = malloc(COUNT * SIZE), labels[COUNT] = {0};
    float *a = malloc(COUNT * SIZE * sizeof *a), *b2 = malloc(COUNT * SIZE * sizeof *b2);
    assert_true(images && a && b2);
    for (int i = 0; i < COUNT * SIZE; i++)
        images[i] = levels[i % 5];
    write_mnist_pair(f->dir, "t10k", COUNT, 10, 10, images, labels, 0, 0);
    seqgen_dataset *ds;
    assert_ok(seqgen_dataset_open_dir(&ds, f->dir, SEQGEN_SPLIT_TEST));
    size_t indices[COUNT];
    for (size_t i = 0; i < COUNT; i++)
        indices[i] = i;
    seqgen_binarize_config cfg = {SEQGEN_BINARIZE_STOCHASTIC, 127, 1234, 1};

    double ones[5] = {0};
    for (uint64_t epoch = 0; epoch < 10; epoch++) {
        assert_ok(seqgen_dataset_sequences(ds, indices, COUNT, &cfg, epoch, a));
        for (int i = 0; i < COUNT * SIZE; i++) {
            assert_true(a[i] == 0.0f || a[i] == 1.0f);
            ones[i % 5] += a[i];
        }
    }
    for (int l = 0; l < 5; l++) /* 8000 draws per level: sd <= 0.0056 */
        assert_allclose(ones[l] / 8000, levels[l] / 255.0, 0, 0.03);
    assert_true(ones[0] == 0 && ones[4] == 8000);

    assert_ok(seqgen_dataset_sequences(ds, indices, COUNT, &cfg, 3, a));
    assert_ok(seqgen_dataset_sequences(ds, indices, COUNT, &cfg, 3, b2));
    assert_memory_equal(a, b2, COUNT * SIZE * sizeof *a); /* reproducible */
    assert_ok(seqgen_dataset_sequences(ds, indices, COUNT, &cfg, 4, b2));
    assert_memory_not_equal(a, b2, COUNT * SIZE * sizeof *a); /* resampled */
    cfg.resample_each_epoch = 0;
    assert_ok(seqgen_dataset_sequences(ds, indices, COUNT, &cfg, 3, a));
    assert_ok(seqgen_dataset_sequences(ds, indices, COUNT, &cfg, 4, b2));
    assert_memory_equal(a, b2, COUNT * SIZE * sizeof *a); /* fixed */
    cfg.seed = 1235;
    assert_ok(seqgen_dataset_sequences(ds, indices, COUNT, &cfg, 4, b2));
    assert_memory_not_equal(a, b2, COUNT * SIZE * sizeof *a);
    seqgen_dataset_free(ds);
    free(images);
    free(a);
    free(b2);
}

/* Element [b][t][d] of a batch is pixel t*D + d (row-major) of the batch's image b. */
static void sequence_layout_for_each_units_per_step(void **state)
{
    fixture *f = *state;
    static const size_t steps_sizes[] = {1, 2, 4, 7, 14, 16, 28, 49, 112, 784};
    for (size_t s = 0; s < sizeof steps_sizes / sizeof steps_sizes[0]; s++) {
        size_t D = steps_sizes[s], T = PIXELS / D;
        seqgen_batch_config cfg = SEQGEN_BATCH_CONFIG_DEFAULT;
        cfg.batch_size = 4;
        cfg.units_per_step = D;
        cfg.shuffle = 0;
        seqgen_batch_iter *it;
        assert_ok(seqgen_batch_iter_create(&it, f->ds, &cfg));
        assert_int_equal(seqgen_batch_iter_steps(it), T);
        const float *x;
        size_t n;
        assert_ok(seqgen_batch_iter_next(it, &x, &n));
        assert_int_equal(n, 4);
        for (size_t b = 0; b < n; b++) {
            const uint8_t *image = f->images + seqgen_batch_iter_indices(it)[b] * PIXELS;
            for (size_t t = 0; t < T; t++)
                for (size_t d = 0; d < D; d++) {
                    size_t row = (t * D + d) / SIDE, col = (t * D + d) % SIDE;
                    float expected = image[row * SIDE + col] > 127 ? 1.0f : 0.0f;
                    if (x[(b * T + t) * D + d] != expected)
                        fail_msg("D=%zu b=%zu t=%zu d=%zu", D, b, t, d);
                }
        }
        seqgen_batch_iter_free(it);
    }
}

/* ---- Batch iterator -------------------------------------------------------------------------- */

/* Orders from an independent Python implementation of PCG32 and Fisher-Yates as documented. */
static void shuffle_matches_reference_and_is_a_permutation(void **state)
{
    (void)state;
    uint32_t order[1000];
    sg_epoch_order(order, 10, 1, 42, 0);
    assert_memory_equal(order, ((uint32_t[10]){1, 6, 7, 8, 4, 3, 9, 5, 2, 0}), 10 * sizeof *order);
    sg_epoch_order(order, 10, 1, 42, 1);
    assert_memory_equal(order, ((uint32_t[10]){6, 9, 8, 2, 5, 7, 3, 0, 4, 1}), 10 * sizeof *order);
    sg_epoch_order(order, 20, 1, 7, 3);
    assert_memory_equal(order, ((uint32_t[20]){1, 15, 16, 14, 5, 18, 10, 3, 8, 4, 6, 13, 12, 17, 2,
                                               19, 9, 0, 7, 11}),
                        20 * sizeof *order);
    sg_epoch_order(order, 10, 0, 42, 5);
    assert_memory_equal(order, ((uint32_t[10]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9}), 10 * sizeof *order);

    uint32_t again[1000];
    sg_epoch_order(order, 1000, 1, 99, 2);
    sg_epoch_order(again, 1000, 1, 99, 2);
    assert_memory_equal(order, again, sizeof order);
    char seen[1000] = {0};
    size_t fixed_points = 0;
    for (size_t k = 0; k < 1000; k++) {
        assert_true(order[k] < 1000);
        assert_int_equal(seen[order[k]]++, 0);
        fixed_points += order[k] == k;
    }
    assert_true(fixed_points < 10); /* about 1 expected for a random permutation */
    sg_epoch_order(again, 1000, 1, 99, 3);
    assert_memory_not_equal(order, again, sizeof order);
    sg_epoch_order(again, 1000, 1, 100, 2);
    assert_memory_not_equal(order, again, sizeof order);
}

/* Runs one epoch; checks batch sizes, that each image comes exactly once, and that sequences and
 * labels belong to the reported indices. Returns the number of batches; order[] gets the indices. */
static size_t run_epoch(fixture *f, seqgen_batch_iter *it, const seqgen_batch_config *cfg,
                        size_t *order)
{
    size_t batches = 0, position = 0, n;
    const float *x;
    int status;
    float expected[N_IMAGES * PIXELS];
    uint64_t epoch = seqgen_batch_iter_epoch(it);
    while ((status = seqgen_batch_iter_next(it, &x, &n)) == SEQGEN_OK) {
        assert_true(n >= 1 && n <= cfg->batch_size);
        const size_t *indices = seqgen_batch_iter_indices(it);
        assert_ok(seqgen_dataset_sequences(f->ds, indices, n, &cfg->binarize, epoch, expected));
        assert_memory_equal(x, expected, n * PIXELS * sizeof *x);
        for (size_t k = 0; k < n; k++) {
            assert_int_equal(seqgen_batch_iter_labels(it)[k], f->labels[indices[k]]);
            order[position + k] = indices[k];
        }
        position += n;
        assert_int_equal(seqgen_batch_iter_position(it), position);
        batches++;
    }
    assert_int_equal(status, SEQGEN_DONE);
    assert_int_equal(n, 0);
    assert_null(x);
    assert_int_equal(seqgen_batch_iter_epoch(it), epoch + 1);
    assert_int_equal(seqgen_batch_iter_position(it), 0);
    assert_int_equal(batches, seqgen_batch_iter_batches_per_epoch(it));
    return batches;
}

static void every_image_once_per_epoch_last_batch_kept(void **state)
{
    fixture *f = *state;
    seqgen_batch_config cfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    cfg.batch_size = 3;
    cfg.seed = 5;
    seqgen_batch_iter *it;
    assert_ok(seqgen_batch_iter_create(&it, f->ds, &cfg));
    size_t orders[3][N_IMAGES];
    for (int epoch = 0; epoch < 3; epoch++) {
        assert_int_equal(run_epoch(f, it, &cfg, orders[epoch]), 4); /* 3 + 3 + 3 + 1 */
        char seen[N_IMAGES] = {0};
        for (size_t k = 0; k < N_IMAGES; k++)
            assert_int_equal(seen[orders[epoch][k]]++, 0);
        uint32_t order[N_IMAGES];
        sg_epoch_order(order, N_IMAGES, 1, 5, (uint64_t)epoch);
        for (size_t k = 0; k < N_IMAGES; k++)
            assert_int_equal(orders[epoch][k], order[k]);
    }
    assert_memory_not_equal(orders[0], orders[1], sizeof orders[0]);
    seqgen_batch_iter_free(it);
}

static void last_batch_dropped_on_request(void **state)
{
    fixture *f = *state;
    seqgen_batch_config cfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    cfg.batch_size = 3;
    cfg.drop_last = 1;
    seqgen_batch_iter *it;
    assert_ok(seqgen_batch_iter_create(&it, f->ds, &cfg));
    size_t order[N_IMAGES];
    for (int epoch = 0; epoch < 2; epoch++) {
        assert_int_equal(run_epoch(f, it, &cfg, order), 3);
        char seen[N_IMAGES] = {0};
        for (size_t k = 0; k < 9; k++)
            assert_int_equal(seen[order[k]]++, 0);
    }
    seqgen_batch_iter_free(it);

    cfg.batch_size = 5; /* divides the count: nothing to drop either way */
    cfg.drop_last = 0;
    assert_ok(seqgen_batch_iter_create(&it, f->ds, &cfg));
    assert_int_equal(run_epoch(f, it, &cfg, order), 2);
    seqgen_batch_iter_free(it);

    cfg.batch_size = 64; /* larger than the dataset: one partial batch */
    assert_ok(seqgen_batch_iter_create(&it, f->ds, &cfg));
    assert_int_equal(run_epoch(f, it, &cfg, order), 1);
    seqgen_batch_iter_free(it);
}

/* Seeking, in an iterator made as described by the interrupted one (what a checkpoint records:
 * its configuration, count, epoch and position), reproduces the rest of the run. */
static void seek_and_state_resume_exactly(void **state)
{
    fixture *f = *state;
    seqgen_batch_config cfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    cfg.batch_size = 4;
    cfg.seed = 77;
    cfg.binarize = (seqgen_binarize_config){SEQGEN_BINARIZE_STOCHASTIC, 127, 3, 1};
    seqgen_batch_iter *a, *b, *c;
    assert_ok(seqgen_batch_iter_create(&a, f->ds, &cfg));
    const float *x;
    size_t n, m;
    for (int k = 0; k < 7; k++) /* epoch 0: 3 batches + DONE; epoch 1: 3 batches */
        assert_true(seqgen_batch_iter_next(a, &x, &n) >= 0);
    assert_int_equal(seqgen_batch_iter_epoch(a), 1);
    assert_int_equal(seqgen_batch_iter_position(a), 10);
    assert_int_equal(seqgen_batch_iter_next(a, &x, &n), SEQGEN_DONE);
    assert_ok(seqgen_batch_iter_next(a, &x, &n)); /* epoch 2, first batch */
    assert_int_equal(seqgen_batch_iter_epoch(a), 2);
    assert_int_equal(seqgen_batch_iter_position(a), 4);
    seqgen_batch_config described;
    uint64_t count;
    sg_batch_iter_describe(a, &described, &count);
    assert_int_equal(count, N_IMAGES);
    assert_int_equal(described.seed, 77);
    assert_int_equal(described.batch_size, 4);
    assert_int_equal(described.binarize.seed, 3);
    assert_int_equal(described.binarize.resample_each_epoch, 1);

    assert_ok(seqgen_batch_iter_create(&b, f->ds, &cfg));
    assert_ok(seqgen_batch_iter_seek(b, 2, 4));
    assert_ok(seqgen_batch_iter_create(&c, f->ds, &described));
    assert_ok(seqgen_batch_iter_seek(c, seqgen_batch_iter_epoch(a), seqgen_batch_iter_position(a)));
    for (int k = 0; k < 6; k++) {
        int sa = seqgen_batch_iter_next(a, &x, &n);
        const float *y, *z;
        assert_int_equal(seqgen_batch_iter_next(b, &y, &m), sa);
        assert_int_equal(m, n);
        if (sa == SEQGEN_OK) {
            assert_memory_equal(x, y, n * PIXELS * sizeof *x);
            assert_memory_equal(seqgen_batch_iter_indices(a), seqgen_batch_iter_indices(b), n * sizeof(size_t));
        }
        assert_int_equal(seqgen_batch_iter_next(c, &z, &m), sa);
        if (sa == SEQGEN_OK) {
            assert_memory_equal(x, z, n * PIXELS * sizeof *x);
            assert_memory_equal(seqgen_batch_iter_labels(a), seqgen_batch_iter_labels(c), n * sizeof(int64_t));
        }
    }
    expect_detail(seqgen_batch_iter_seek(b, 0, N_IMAGES + 1), SEQGEN_EINVAL, "position 11");
    assert_ok(seqgen_batch_iter_seek(b, 0, N_IMAGES));
    assert_int_equal(seqgen_batch_iter_next(b, &x, &n), SEQGEN_DONE);
    seqgen_batch_iter_free(a);
    seqgen_batch_iter_free(b);
    seqgen_batch_iter_free(c);
}

static void bad_iterator_settings(void **state)
{
    fixture *f = *state;
    seqgen_batch_iter *it = (seqgen_batch_iter *)f;
    seqgen_batch_config cfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    cfg.batch_size = 0;
    expect_detail(seqgen_batch_iter_create(&it, f->ds, &cfg), SEQGEN_EINVAL, "batch size");
    cfg.batch_size = 4;
    cfg.units_per_step = 5;
    expect_detail(seqgen_batch_iter_create(&it, f->ds, &cfg), SEQGEN_EMISMATCH,
                  "reads 5 units per step, which is not a multiple of the data's 1 units per "
                  "step dividing its 784 units");
    cfg.units_per_step = 0;
    assert_int_equal(seqgen_batch_iter_create(&it, f->ds, &cfg), SEQGEN_EMISMATCH);
    cfg.units_per_step = 1;
    cfg.batch_size = 11;
    cfg.drop_last = 1;
    expect_detail(seqgen_batch_iter_create(&it, f->ds, &cfg), SEQGEN_EINVAL, "leaves no batch");
    cfg.drop_last = 0;
    cfg.binarize.mode = (seqgen_binarize_mode)-1;
    expect_detail(seqgen_batch_iter_create(&it, f->ds, &cfg), SEQGEN_EINVAL, "binarisation mode");
    assert_int_equal(seqgen_batch_iter_create(&it, NULL, NULL), SEQGEN_EINVAL);
    assert_ptr_equal(it, (seqgen_batch_iter *)f);

    assert_ok(seqgen_batch_iter_create(&it, f->ds, NULL)); /* defaults: B = 64, D = 1 */
    assert_int_equal(seqgen_batch_iter_steps(it), PIXELS);
    assert_int_equal(seqgen_batch_iter_batches_per_epoch(it), 1);
    const float *x;
    size_t n;
    assert_int_equal(seqgen_batch_iter_next(it, NULL, &n), SEQGEN_EINVAL);
    assert_int_equal(seqgen_batch_iter_next(it, &x, NULL), SEQGEN_EINVAL);
    seqgen_batch_iter_free(it);
    seqgen_batch_iter_free(NULL);
    assert_null(seqgen_batch_iter_labels(NULL));
    assert_null(seqgen_batch_iter_indices(NULL));
    assert_int_equal(seqgen_batch_iter_steps(NULL), 0);
    assert_int_equal(seqgen_batch_iter_epoch(NULL), 0);
    assert_int_equal(seqgen_batch_iter_position(NULL), 0);
    assert_int_equal(seqgen_batch_iter_batches_per_epoch(NULL), 0);
    assert_int_equal(seqgen_batch_iter_seek(NULL, 0, 0), SEQGEN_EINVAL);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(open_dir_reads_images_and_labels),
        T(open_pair_and_test_split),
        T(plain_file_preferred_over_gz),
        T(bad_pairs_and_directories),
        T(headers_needing_too_much_memory_are_refused),
        T(data_limits_can_be_lowered_and_raised),
        T(limit_keeps_the_first_images),
        T(threshold_binarisation),
        T(stochastic_binarisation_matches_reference),
        T(stochastic_binarisation_statistics),
        T(sequence_layout_for_each_units_per_step),
        T(shuffle_matches_reference_and_is_a_permutation),
        T(every_image_once_per_epoch_last_batch_kept),
        T(last_batch_dropped_on_request),
        T(seek_and_state_resume_exactly),
        T(bad_iterator_settings),
    };
#undef T
    return cmocka_run_group_tests_name("dataset", tests, NULL, NULL);
}
