/* The exact 1-nearest-neighbour search against a brute-force byte-by-byte reference, on random
 * data (with many ties), on the bundled digits, and its speed. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "idx_fixture.h"
#include "rng.h"
#include "seqgen.h"

#define BUNDLED "data/mnist10k"

/* The reference: every pixel compared one by one, the first minimum kept. */
static void brute_force_nearest(const seqgen_dataset *ds, const float *query, size_t *index,
                                uint32_t *distance)
{
    size_t pixels = seqgen_dataset_units(ds);
    *distance = UINT32_MAX;
    for (size_t i = 0; i < seqgen_dataset_count(ds); i++) {
        const uint8_t *image = seqgen_dataset_raw(ds, i);
        uint32_t d = 0;
        for (size_t p = 0; p < pixels; p++)
            d += (image[p] > 127) != (query[p] > 0.5f);
        if (d < *distance) {
            *distance = d;
            *index = i;
        }
    }
}

static void expect_same_as_brute_force(seqgen_dataset *ds, const float *queries, size_t count)
{
    size_t pixels = seqgen_dataset_units(ds);
    size_t *nearest = malloc(count * sizeof *nearest);
    uint32_t *distance = malloc(count * sizeof *distance);
    assert_true(nearest && distance);
    assert_ok(seqgen_dataset_nearest(ds, queries, count, nearest, distance));
    for (size_t q = 0; q < count; q++) {
        size_t index = 0;
        uint32_t d;
        brute_force_nearest(ds, queries + q * pixels, &index, &d);
        if (nearest[q] != index || distance[q] != d)
            fail_msg("query %zu: got image %zu at %u, reference image %zu at %u", q, nearest[q],
                     distance[q], index, d);
    }
    size_t *again = malloc(count * sizeof *again); /* without distances: same answer */
    assert_non_null(again);
    assert_ok(seqgen_dataset_nearest(ds, queries, count, again, NULL));
    assert_memory_equal(again, nearest, count * sizeof *again);
    free(again);
    free(nearest);
    free(distance);
}

/* A dataset of random images, bytes drawn from {0, 100, 127, 128, 200, 255} (both sides of the
 * threshold), written to a temporary directory and opened. */
static seqgen_dataset *random_dataset(const char *dir, uint32_t count, uint32_t rows, uint32_t cols,
                                      uint64_t seed)
{
    static const uint8_t levels[6] = {0, 100, 127, 128, 200, 255};
    sg_rng rng;
    sg_rng_seed(&rng, seed, 1);
    size_t pixels = (size_t)rows * cols;
    uint8_t *images = malloc(count * pixels), *labels = malloc(count);
    assert_true(images && labels);
    for (size_t i = 0; i < count * pixels; i++)
        images[i] = levels[sg_rng_below(&rng, 6)];
    for (size_t i = 0; i < count; i++)
        labels[i] = (uint8_t)(i % 10);
    write_mnist_pair(dir, "train", count, rows, cols, images, labels, 1, 1);
    free(images);
    free(labels);
    seqgen_dataset *ds = NULL;
    assert_ok(seqgen_dataset_open_dir(&ds, dir, SEQGEN_SPLIT_TRAIN));
    return ds;
}

/* Queries in [0, 1): binary and probability-like values both count as ink above 0.5. */
static float *random_queries(size_t count, size_t pixels, uint64_t seed)
{
    sg_rng rng;
    sg_rng_seed(&rng, seed, 2);
    float *queries = malloc(count * pixels * sizeof *queries);
    assert_non_null(queries);
    for (size_t i = 0; i < count * pixels; i++)
        queries[i] = i % 3 == 0 ? sg_rng_float(&rng) : (float)sg_rng_below(&rng, 2);
    return queries;
}

static void random_images_of_several_sizes(void **state)
{
    (void)state;
    /* 28x28 spans 13 words, the last partly used; 8x8 exactly one; 2x3 six bits, so many ties */
    static const uint32_t shapes[][3] = {{300, 28, 28}, {150, 8, 8}, {400, 2, 3}, {37, 9, 15}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const char *dir = tu_tempdir();
        seqgen_dataset *ds = random_dataset(dir, shapes[s][0], shapes[s][1], shapes[s][2], s + 1);
        size_t pixels = seqgen_dataset_units(ds), count = 45; /* not a multiple of the block */
        float *queries = random_queries(count, pixels, s + 10);
        expect_same_as_brute_force(ds, queries, count);
        free(queries);
        seqgen_dataset_free(ds);
        tu_rmtree(dir);
    }
}

/* Ties go to the lowest index, and a dataset image finds itself (distance 0) or an identical
 * earlier copy. */
static void ties_and_self_matches(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    seqgen_dataset *ds = random_dataset(dir, 400, 2, 3, 99); /* 6 bits: only 64 distinct images */
    size_t indices[400];
    for (size_t i = 0; i < 400; i++)
        indices[i] = i;
    float *queries = malloc(400 * 6 * sizeof *queries);
    assert_non_null(queries);
    assert_ok(seqgen_dataset_sequences(ds, indices, 400, NULL, 0, queries));
    size_t nearest[400];
    uint32_t distance[400];
    assert_ok(seqgen_dataset_nearest(ds, queries, 400, nearest, distance));
    for (size_t i = 0; i < 400; i++) {
        assert_int_equal(distance[i], 0);
        assert_true(nearest[i] <= i);
        assert_memory_equal(queries + nearest[i] * 6, queries + i * 6, 6 * sizeof *queries);
        for (size_t j = 0; j < nearest[i]; j++) /* no earlier identical image */
            assert_memory_not_equal(queries + j * 6, queries + i * 6, 6 * sizeof *queries);
    }
    expect_same_as_brute_force(ds, queries, 400);

    assert_ok(seqgen_dataset_limit(ds, 50)); /* the index built above serves the subset */
    expect_same_as_brute_force(ds, queries + 100 * 6, 60);
    assert_ok(seqgen_dataset_nearest(ds, queries, 400, nearest, distance));
    for (size_t i = 0; i < 400; i++)
        assert_true(nearest[i] < 50);
    free(queries);
    seqgen_dataset_free(ds);
    tu_rmtree(dir);
}

/* Real digits: test images (as sequences) against the 9003 bundled training images. */
static void bundled_digits_against_brute_force(void **state)
{
    (void)state;
    seqgen_dataset *train, *test;
    assert_ok(seqgen_dataset_open_dir(&train, BUNDLED, SEQGEN_SPLIT_TRAIN));
    assert_ok(seqgen_dataset_open_dir(&test, BUNDLED, SEQGEN_SPLIT_TEST));
    enum { COUNT = 40 };
    size_t indices[COUNT];
    for (size_t q = 0; q < COUNT; q++)
        indices[q] = q * 23; /* spread over the test set */
    float *queries = malloc(COUNT * 784 * sizeof *queries);
    assert_non_null(queries);
    assert_ok(seqgen_dataset_sequences(test, indices, COUNT, NULL, 0, queries));
    expect_same_as_brute_force(train, queries, COUNT);
    /* a training image is its own nearest neighbour unless an identical one comes earlier */
    size_t self = 4321, nearest;
    uint32_t distance;
    assert_ok(seqgen_dataset_sequences(train, &self, 1, NULL, 0, queries));
    assert_ok(seqgen_dataset_nearest(train, queries, 1, &nearest, &distance));
    assert_int_equal(distance, 0);
    assert_true(nearest <= self);
    free(queries);
    seqgen_dataset_free(train);
    seqgen_dataset_free(test);
}

/* All 997 test digits against the 9003 training digits: the classifier's accuracy (a sanity
 * check on real data: 1-NN on binarised MNIST is well above 90%) and the search speed. */
static void bundled_accuracy_and_speed(void **state)
{
    (void)state;
    seqgen_dataset *train, *test;
    assert_ok(seqgen_dataset_open_dir(&train, BUNDLED, SEQGEN_SPLIT_TRAIN));
    assert_ok(seqgen_dataset_open_dir(&test, BUNDLED, SEQGEN_SPLIT_TEST));
    size_t count = seqgen_dataset_count(test);
    size_t *indices = malloc(count * sizeof *indices), *nearest = malloc(count * sizeof *nearest);
    float *queries = malloc(count * 784 * sizeof *queries);
    assert_true(indices && nearest && queries);
    for (size_t q = 0; q < count; q++)
        indices[q] = q;
    assert_ok(seqgen_dataset_sequences(test, indices, count, NULL, 0, queries));
    assert_ok(seqgen_dataset_nearest(train, queries, 1, nearest, NULL)); /* builds the index */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_ok(seqgen_dataset_nearest(train, queries, count, nearest, NULL));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    size_t correct = 0;
    for (size_t q = 0; q < count; q++)
        correct += tu_label(train, nearest[q]) == tu_label(test, q);
    print_message("1-NN: %zu queries against %zu images in %.3f s (%.0f queries/s), accuracy %.4f\n",
                  count, seqgen_dataset_count(train), seconds, (double)count / seconds,
                  (double)correct / (double)count);
    assert_true(correct > 0.9 * (double)count);
    free(indices);
    free(nearest);
    free(queries);
    seqgen_dataset_free(train);
    seqgen_dataset_free(test);
}

static void bad_arguments(void **state)
{
    (void)state;
    seqgen_dataset *train;
    assert_ok(seqgen_dataset_open_dir(&train, BUNDLED, SEQGEN_SPLIT_TEST));
    float query[784] = {0};
    size_t nearest;
    assert_int_equal(seqgen_dataset_nearest(NULL, query, 1, &nearest, NULL), SEQGEN_EINVAL);
    assert_int_equal(seqgen_dataset_nearest(train, NULL, 1, &nearest, NULL), SEQGEN_EINVAL);
    assert_int_equal(seqgen_dataset_nearest(train, query, 1, NULL, NULL), SEQGEN_EINVAL);
    assert_ok(seqgen_dataset_nearest(train, NULL, 0, NULL, NULL));
    seqgen_dataset_free(train);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_images_of_several_sizes),
        cmocka_unit_test(ties_and_self_matches),
        cmocka_unit_test(bundled_digits_against_brute_force),
        cmocka_unit_test(bundled_accuracy_and_speed),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests_name("nearest", tests, NULL, NULL);
}
