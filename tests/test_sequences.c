/* Datasets of a user's own binary sequences: from memory (copied and borrowed) and from .npy
 * files with labels and lengths; their shape rules, the batch iterator over them (lengths,
 * labels, padding), and the nearest-neighbour search over binary units. The .npy parser itself
 * is tested against files written by NumPy in test_npy.c; here the files are written by
 * npy_write.h, the format's few lines. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy_write.h"
#include "seqgen.h"

#define N 5
#define T 6
#define D0 2

/* units[i][t][d] = (i + t + d) % 2 within a length, 9 in the padding (never read) */
static const size_t lengths[N] = {6, 1, 3, 6, 4};
static const int64_t labels[N] = {-3, 7, 1000000000000, 7, 0};

static void fill(uint8_t *units, const size_t *lens)
{
    for (size_t i = 0; i < N; i++)
        for (size_t t = 0; t < T; t++)
            for (size_t d = 0; d < D0; d++)
                units[(i * T + t) * D0 + d] =
                    !lens || t < lens[i] ? (uint8_t)((i + t + d) % 2) : 9;
}

static void expect_detail(int status, int expected, const char *fragment)
{
    if (status != expected || !strstr(seqgen_last_error(), fragment))
        fail_msg("expected %s with \"%s\", got %d (%s): %s", seqgen_strerror(expected), fragment,
                 status, seqgen_strerror(status), seqgen_last_error());
}

static void memory_dataset_holds_what_it_was_given(void **state)
{
    (void)state;
    uint8_t units[N * T * D0];
    fill(units, lengths);
    seqgen_sequences seqs = {units, N, T, D0, lengths, labels};
    for (int own = 0; own <= 1; own++) {
        seqgen_dataset *ds = NULL;
        assert_ok(seqgen_dataset_from_memory(&ds, &seqs, own ? SEQGEN_BORROW : SEQGEN_COPY));
        assert_int_equal(seqgen_dataset_count(ds), N);
        assert_int_equal(seqgen_dataset_steps(ds), T);
        assert_int_equal(seqgen_dataset_units_per_step(ds), D0);
        assert_int_equal(seqgen_dataset_units(ds), T * D0);
        assert_int_equal(seqgen_dataset_rows(ds), T);
        assert_int_equal(seqgen_dataset_cols(ds), D0);
        assert_int_equal(seqgen_dataset_is_binary(ds), 1);
        assert_int_equal(seqgen_dataset_has_lengths(ds), 1);
        assert_int_equal(seqgen_dataset_has_labels(ds), 1);
        for (size_t i = 0; i < N; i++) {
            assert_int_equal(seqgen_dataset_length(ds, i), lengths[i]);
            assert_true(tu_label(ds, i) == labels[i]);
            const uint8_t *raw = seqgen_dataset_raw(ds, i);
            assert_memory_equal(raw, units + i * T * D0, T * D0);
            assert_true((raw == units + i * T * D0) == own); /* borrowed: the caller's array */
        }
        /* as floats: the units within each length, then zeros */
        size_t all[N] = {0, 1, 2, 3, 4};
        float out[N * T * D0];
        assert_ok(seqgen_dataset_sequences(ds, all, N, NULL, 0, out));
        for (size_t k = 0; k < N * T * D0; k++) {
            size_t i = k / (T * D0), t = k / D0 % T;
            assert_true(out[k] == (t < lengths[i] ? (float)units[k] : 0.0f));
        }
        seqgen_dataset_free(ds);
    }
}

static void copied_dataset_outlives_the_arrays(void **state)
{
    (void)state;
    uint8_t *units = malloc(N * T * D0);
    size_t *lens = malloc(sizeof lengths);
    int64_t *labs = malloc(sizeof labels);
    assert_non_null(units);
    assert_non_null(lens);
    assert_non_null(labs);
    fill(units, lengths);
    memcpy(lens, lengths, sizeof lengths);
    memcpy(labs, labels, sizeof labels);
    uint8_t expected[N * T * D0];
    memcpy(expected, units, sizeof expected);
    seqgen_sequences seqs = {units, N, T, D0, lens, labs};
    seqgen_dataset *ds = NULL;
    assert_ok(seqgen_dataset_from_memory(&ds, &seqs, SEQGEN_COPY));
    memset(units, 1, N * T * D0);
    free(units);
    free(lens);
    free(labs);
    for (size_t i = 0; i < N; i++) {
        assert_memory_equal(seqgen_dataset_raw(ds, i), expected + i * T * D0, T * D0);
        assert_int_equal(seqgen_dataset_length(ds, i), lengths[i]);
        assert_true(tu_label(ds, i) == labels[i]);
    }
    seqgen_dataset_free(ds);
}

static void memory_dataset_refuses_bad_values(void **state)
{
    (void)state;
    uint8_t units[N * T * D0];
    fill(units, NULL);
    size_t lens[N];
    memcpy(lens, lengths, sizeof lens);
    seqgen_sequences seqs = {units, N, T, D0, NULL, NULL};
    seqgen_dataset *ds = NULL;
    units[(3 * T + 4) * D0 + 1] = 2;
    expect_detail(seqgen_dataset_from_memory(&ds, &seqs, SEQGEN_COPY), SEQGEN_ERANGE,
                  "sequence 3, step 4, unit 1 is 2, not 0 or 1");
    seqs.lengths = lens; /* sequence 3 is 6 long: still read */
    expect_detail(seqgen_dataset_from_memory(&ds, &seqs, SEQGEN_COPY), SEQGEN_ERANGE,
                  "sequence 3, step 4");
    lens[3] = 4; /* the bad unit is now padding: not read */
    assert_ok(seqgen_dataset_from_memory(&ds, &seqs, SEQGEN_BORROW));
    seqgen_dataset_free(ds);
    ds = NULL;
    lens[2] = 0;
    expect_detail(seqgen_dataset_from_memory(&ds, &seqs, SEQGEN_COPY), SEQGEN_ERANGE,
                  "sequence 2 has length 0, not in [1, 6]");
    lens[2] = 7;
    expect_detail(seqgen_dataset_from_memory(&ds, &seqs, SEQGEN_COPY), SEQGEN_ERANGE,
                  "sequence 2 has length 7");
    lens[2] = 3;
    seqs.count = (size_t)UINT32_MAX + 1;
    expect_detail(seqgen_dataset_from_memory(&ds, &seqs, SEQGEN_BORROW), SEQGEN_EOVERFLOW,
                  "more than the 4294967295");
    seqs.count = N, seqs.steps = SIZE_MAX / 2;
    expect_detail(seqgen_dataset_from_memory(&ds, &seqs, SEQGEN_BORROW), SEQGEN_EOVERFLOW,
                  "overflow");
    assert_null(ds);
}

static void iterator_gives_lengths_labels_and_padding(void **state)
{
    (void)state;
    uint8_t units[N * T * D0];
    fill(units, lengths);
    seqgen_sequences seqs = {units, N, T, D0, lengths, labels};
    seqgen_dataset *ds = NULL;
    assert_ok(seqgen_dataset_from_memory(&ds, &seqs, SEQGEN_BORROW));
    seqgen_batch_config cfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    cfg.batch_size = 3, cfg.units_per_step = 2 * D0;
    seqgen_batch_iter *it = NULL;
    expect_detail(seqgen_batch_iter_create(&it, ds, &cfg), SEQGEN_EMISMATCH,
                  "reads 4 units per step, but the data's lengths are in steps of 2 units");
    cfg.units_per_step = 1;
    expect_detail(seqgen_batch_iter_create(&it, ds, &cfg), SEQGEN_EMISMATCH,
                  "not a multiple of the data's 2 units per step");
    cfg.units_per_step = D0;
    assert_ok(seqgen_batch_iter_create(&it, ds, &cfg));
    assert_int_equal(seqgen_batch_iter_steps(it), T);
    size_t seen = 0, n;
    const float *x;
    while (seqgen_batch_iter_next(it, &x, &n) == SEQGEN_OK) {
        const size_t *idx = seqgen_batch_iter_indices(it), *len = seqgen_batch_iter_lengths(it);
        const int64_t *lab = seqgen_batch_iter_labels(it);
        assert_non_null(len);
        assert_non_null(lab);
        for (size_t b = 0; b < n; b++) {
            assert_int_equal(len[b], lengths[idx[b]]);
            assert_true(lab[b] == labels[idx[b]]);
            for (size_t k = 0; k < T * D0; k++) {
                float want = k / D0 < lengths[idx[b]] ? (float)units[idx[b] * T * D0 + k] : 0.0f;
                assert_true(x[b * T * D0 + k] == want);
            }
        }
        seen += n;
    }
    assert_int_equal(seen, N);
    seqgen_batch_iter_free(it);
    seqgen_dataset_free(ds);

    /* without lengths, any multiple of D0 dividing the units; no labels, no lengths given */
    seqs.lengths = NULL, seqs.labels = NULL;
    fill(units, NULL);
    assert_ok(seqgen_dataset_from_memory(&ds, &seqs, SEQGEN_BORROW));
    cfg.units_per_step = 3 * D0;
    assert_ok(seqgen_batch_iter_create(&it, ds, &cfg));
    assert_int_equal(seqgen_batch_iter_steps(it), T / 3);
    assert_int_equal(seqgen_batch_iter_next(it, &x, &n), SEQGEN_OK);
    assert_null(seqgen_batch_iter_lengths(it));
    assert_null(seqgen_batch_iter_labels(it));
    int64_t label;
    expect_detail(seqgen_dataset_label(ds, 0, &label), SEQGEN_ESTATE, "no labels");
    seqgen_batch_iter_free(it);
    seqgen_dataset_free(ds);
}

static void nearest_compares_binary_units_within_lengths(void **state)
{
    (void)state;
    uint8_t units[N * T * D0];
    fill(units, lengths);
    seqgen_sequences seqs = {units, N, T, D0, lengths, labels};
    seqgen_dataset *ds = NULL;
    assert_ok(seqgen_dataset_from_memory(&ds, &seqs, SEQGEN_COPY));
    float queries[N * T * D0];
    size_t all[N] = {0, 1, 2, 3, 4}, nearest[N];
    uint32_t distance[N];
    assert_ok(seqgen_dataset_sequences(ds, all, N, NULL, 0, queries));
    assert_ok(seqgen_dataset_nearest(ds, queries, N, nearest, distance));
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(distance[i], 0);
        assert_int_equal(nearest[i], i); /* no two sequences are equal with their padding */
    }
    /* sequence 1 (length 1: units 1 0, then zeros) with two units of its padding set: the
     * padding counts as zeros, so it is 2 units away */
    queries[T * D0 + 2 * D0] = 1.0f, queries[T * D0 + 5 * D0 + 1] = 1.0f;
    assert_ok(seqgen_dataset_nearest(ds, queries + T * D0, 1, nearest, distance));
    assert_int_equal(nearest[0], 1);
    assert_int_equal(distance[0], 2);
    seqgen_dataset_free(ds);
}

/* ---- .npy files ---------------------------------------------------------------------------- */

static void write_npy(const char *path, const char *descr, const char *shape, const void *data,
                      size_t bytes)
{
    assert_int_equal(npy_write(path, descr, shape, data, bytes), 0);
}

static void npy_files_with_companions(void **state)
{
    (void)state;
    char dir[64], units_path[96], labels_path[96], lengths_path[96];
    snprintf(dir, sizeof dir, "%s", tu_tempdir());
    snprintf(units_path, sizeof units_path, "%s/x.npy", dir);
    snprintf(labels_path, sizeof labels_path, "%s/x.labels.npy", dir);
    snprintf(lengths_path, sizeof lengths_path, "%s/x.lengths.npy", dir);
    uint8_t units[N * T * D0];
    fill(units, lengths);
    write_npy(units_path, "|u1", "(5, 6, 2)", units, sizeof units);
    write_npy(labels_path, "<i8", "(5,)", labels, sizeof labels);
    int32_t lens32[N];
    for (size_t i = 0; i < N; i++)
        lens32[i] = (int32_t)lengths[i];
    write_npy(lengths_path, "<i4", "(5,)", lens32, sizeof lens32);

    seqgen_dataset *ds = NULL;
    assert_ok(seqgen_dataset_open_npy(&ds, units_path, labels_path, lengths_path));
    assert_int_equal(seqgen_dataset_count(ds), N);
    assert_int_equal(seqgen_dataset_steps(ds), T);
    assert_int_equal(seqgen_dataset_units_per_step(ds), D0);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(seqgen_dataset_length(ds, i), lengths[i]);
        assert_true(tu_label(ds, i) == labels[i]);
        assert_memory_equal(seqgen_dataset_raw(ds, i), units + i * T * D0, T * D0);
    }
    seqgen_dataset_free(ds);
    ds = NULL;

    /* padding unread: without the lengths, the 9s are refused, naming the file */
    expect_detail(seqgen_dataset_open_npy(&ds, units_path, NULL, NULL), SEQGEN_ERANGE,
                  "x.npy: sequence 1, step 1, unit 0 is 9, not 0 or 1");
    /* [N][T] is D0 = 1 */
    fill(units, NULL);
    write_npy(units_path, "|b1", "(5, 12)", units, sizeof units);
    assert_ok(seqgen_dataset_open_npy(&ds, units_path, labels_path, NULL));
    assert_int_equal(seqgen_dataset_steps(ds), T * D0);
    assert_int_equal(seqgen_dataset_units_per_step(ds), 1);
    seqgen_dataset_free(ds);
    ds = NULL;
    /* companions of another count, lengths out of range, a 2-D companion, a float array */
    write_npy(labels_path, "<i8", "(4,)", labels, 4 * sizeof *labels);
    expect_detail(seqgen_dataset_open_npy(&ds, units_path, labels_path, NULL), SEQGEN_EMISMATCH,
                  "x.labels.npy: the labels must be a 1-D array of 5");
    lens32[2] = 13;
    write_npy(lengths_path, "<i4", "(5,)", lens32, sizeof lens32);
    expect_detail(seqgen_dataset_open_npy(&ds, units_path, NULL, lengths_path), SEQGEN_ERANGE,
                  "x.lengths.npy: sequence 2 has length 13, not in [1, 12]");
    lens32[2] = -1;
    write_npy(lengths_path, "<i4", "(5,)", lens32, sizeof lens32);
    expect_detail(seqgen_dataset_open_npy(&ds, units_path, NULL, lengths_path), SEQGEN_ERANGE,
                  "has length -1");
    write_npy(lengths_path, "<i4", "(5, 1)", lens32, sizeof lens32);
    expect_detail(seqgen_dataset_open_npy(&ds, units_path, NULL, lengths_path), SEQGEN_EMISMATCH,
                  "the lengths must be a 1-D array");
    float floats[N * T] = {0};
    write_npy(units_path, "<f4", "(5, 6)", floats, sizeof floats);
    expect_detail(seqgen_dataset_open_npy(&ds, units_path, NULL, NULL), SEQGEN_EFORMAT, "x.npy");
    write_npy(units_path, "|u1", "(30,)", units, 30);
    expect_detail(seqgen_dataset_open_npy(&ds, units_path, NULL, NULL), SEQGEN_EFORMAT,
                  "[N][T] or [N][T][D]");
    assert_null(ds);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(memory_dataset_holds_what_it_was_given),
        cmocka_unit_test(copied_dataset_outlives_the_arrays),
        cmocka_unit_test(memory_dataset_refuses_bad_values),
        cmocka_unit_test(iterator_gives_lengths_labels_and_padding),
        cmocka_unit_test(nearest_compares_binary_units_within_lengths),
        cmocka_unit_test(npy_files_with_companions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
