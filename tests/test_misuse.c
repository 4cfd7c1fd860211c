/* API misuse: every public function of include/seqgen.h called with NULL handles, NULL buffers,
 * zero, negative or out-of-range sizes and mismatched shapes must return the documented status
 * (mostly SEQGEN_EINVAL) with a new detail message, or the documented neutral value for the
 * functions that return no status, and never crash. The table below names each function it
 * covers; the test fails if include/seqgen.h declares a function the table does not cover. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idx_fixture.h"
#include "seqgen.h"
#include "status.h"
#include "testutil.h"

#define SENTINEL "misuse-test: no detail was recorded"
#define SIDE 2
#define PIXELS (SIDE * SIDE)
#define IMAGES 6

/* Valid handles and files to combine with the bad arguments. */
static struct {
    const char *dir;
    char images[256], labels[256], model_ckpt[256], train_ckpt[256];
    seqgen_dataset *ds;
    seqgen_batch_iter *iter;
    seqgen_model *model, *other; /* D = 2, H = 4 and D = 1, H = 3 */
    seqgen_model_state *state, *other_state;
    seqgen_optim *optim, *other_optim;
    seqgen_sched *sched;
    float pixels[IMAGES * PIXELS], out[IMAGES * PIXELS];
} fx;

/* Calls `call` with the sentinel as the detail: it must return `expected` and replace it. */
#define EXPECT(expected, call)                                                                     \
    do {                                                                                           \
        sg_error(SEQGEN_OK, "%s", SENTINEL);                                                       \
        check_status((call), (expected), #call, __LINE__);                                         \
    } while (0)

static void check_status(int status, int expected, const char *call, int line)
{
    const char *detail = seqgen_last_error();
    if (status != expected)
        fail_msg("line %d: %s returned %d (%s), expected %d (%s); detail: %s", line, call, status,
                 seqgen_strerror(status), expected, seqgen_strerror(expected), detail);
    if (detail[0] == '\0' || strcmp(detail, SENTINEL) == 0)
        fail_msg("line %d: %s returned %d without a detail message", line, call, status);
}

static int setup(void **state)
{
    (void)state;
    fx.dir = tu_tempdir();
    uint8_t pixels[IMAGES * PIXELS], labels[IMAGES];
    for (int i = 0; i < IMAGES * PIXELS; i++)
        pixels[i] = (uint8_t)(i * 53 % 256);
    for (int i = 0; i < IMAGES; i++)
        labels[i] = (uint8_t)i;
    write_mnist_pair(fx.dir, "train", IMAGES, SIDE, SIDE, pixels, labels, 0, 0);
    snprintf(fx.images, sizeof fx.images, "%s/train-images-idx3-ubyte", fx.dir);
    snprintf(fx.labels, sizeof fx.labels, "%s/train-labels-idx1-ubyte", fx.dir);
    snprintf(fx.model_ckpt, sizeof fx.model_ckpt, "%s/model.ckpt", fx.dir);
    snprintf(fx.train_ckpt, sizeof fx.train_ckpt, "%s/train.ckpt", fx.dir);
    assert_ok(seqgen_dataset_open(&fx.ds, fx.images, fx.labels));
    seqgen_batch_config bcfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    bcfg.batch_size = 4;
    bcfg.units_per_step = 2; /* the model's D */
    assert_ok(seqgen_batch_iter_create(&fx.iter, fx.ds, &bcfg));
    size_t all[IMAGES] = {0, 1, 2, 3, 4, 5};
    assert_ok(seqgen_dataset_sequences(fx.ds, all, IMAGES, NULL, 0, fx.pixels));
    fx.model = tu_make_model(2, 4, 1, 1, 1);
    fx.other = tu_make_model(1, 3, 1, 1, 1);
    assert_ok(seqgen_model_state_create(&fx.state, fx.model, 1));
    assert_ok(seqgen_model_state_create(&fx.other_state, fx.other, 1));
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    assert_ok(seqgen_optim_create(&fx.optim, fx.model, &ocfg));
    assert_ok(seqgen_optim_create(&fx.other_optim, fx.other, &ocfg));
    seqgen_sched_config scfg = seqgen_sched_config_default(SEQGEN_SCHED_LINEAR);
    assert_ok(seqgen_sched_create(&fx.sched, &scfg));
    assert_ok(seqgen_checkpoint_save(fx.model_ckpt, fx.model, NULL));
    seqgen_train_state train = {fx.optim, fx.sched, fx.iter, 0, 0, seqgen_run_config_default(), NULL, NULL};
    train.run.batches = bcfg;
    train.run.train_sequences = IMAGES;
    assert_ok(seqgen_checkpoint_save(fx.train_ckpt, fx.model, &train));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    seqgen_batch_iter_free(fx.iter);
    seqgen_dataset_free(fx.ds);
    seqgen_model_state_free(fx.state);
    seqgen_model_state_free(fx.other_state);
    seqgen_optim_free(fx.optim);
    seqgen_optim_free(fx.other_optim);
    seqgen_sched_free(fx.sched);
    seqgen_model_free(fx.model);
    seqgen_model_free(fx.other);
    tu_rmtree(fx.dir);
    return 0;
}

/* ---- Core ---------------------------------------------------------------------------------- */

static void version(void) { assert_string_equal(seqgen_version(), SEQGEN_VERSION_STRING); }

static void strerror_any(void)
{
    int codes[] = {-1000, -16, 2, 1000, -2147483647 - 1, 2147483647};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        assert_string_equal(seqgen_strerror(codes[i]), "unknown status");
}

static void last_error(void)
{
    seqgen_dataset *ds = NULL;
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_open(&ds, NULL, fx.labels));
    assert_non_null(strstr(seqgen_last_error(), "NULL"));
}

/* Any status and any detail, NULL included: the status comes back, the detail is set. */
static void set_last_error(void)
{
    assert_int_equal(seqgen_set_last_error(12345, NULL), 12345);
    assert_string_equal(seqgen_last_error(), "");
    assert_int_equal(seqgen_set_last_error(SEQGEN_OK, "x"), SEQGEN_OK);
    assert_string_equal(seqgen_last_error(), "x");
}

/* ---- Dataset ------------------------------------------------------------------------------- */

static void dataset_open(void)
{
    seqgen_dataset *ds = NULL;
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_open(NULL, fx.images, fx.labels));
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_open(&ds, NULL, fx.labels));
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_open(&ds, fx.images, NULL));
    EXPECT(SEQGEN_ENOENT, seqgen_dataset_open(&ds, "", fx.labels));
    EXPECT(SEQGEN_EFORMAT, seqgen_dataset_open(&ds, fx.labels, fx.labels)); /* swapped */
    EXPECT(SEQGEN_EFORMAT, seqgen_dataset_open(&ds, fx.images, fx.images));
    EXPECT(SEQGEN_EFORMAT, seqgen_dataset_open(&ds, fx.dir, fx.labels)); /* a directory */
    assert_null(ds);
}

static void data_limits_default(void)
{
    seqgen_data_limits l = seqgen_data_limits_default();
    assert_true(l.max_bytes >= 1 && l.max_units >= 1 && l.max_sequences >= 1);
}

static void dataset_open_with_limits(void)
{
    seqgen_dataset *ds = NULL;
    seqgen_data_limits l = seqgen_data_limits_default();
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_open_with_limits(NULL, fx.images, fx.labels, &l));
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_open_with_limits(&ds, NULL, fx.labels, &l));
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_open_with_limits(&ds, fx.images, NULL, NULL));
    l.max_units = 0;
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_open_with_limits(&ds, fx.images, fx.labels, &l));
    l.max_units = PIXELS - 1;
    EXPECT(SEQGEN_EOVERFLOW, seqgen_dataset_open_with_limits(&ds, fx.images, fx.labels, &l));
    assert_null(ds);
}

static void dataset_open_dir_with_limits(void)
{
    seqgen_dataset *ds = NULL;
    seqgen_data_limits l = seqgen_data_limits_default();
    EXPECT(SEQGEN_EINVAL,
           seqgen_dataset_open_dir_with_limits(NULL, fx.dir, SEQGEN_SPLIT_TRAIN, &l));
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_open_dir_with_limits(&ds, fx.dir, (seqgen_split)7, &l));
    l.max_sequences = (uint64_t)UINT32_MAX + 1;
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_open_dir_with_limits(&ds, fx.dir, SEQGEN_SPLIT_TRAIN, &l));
    assert_null(ds);
}

static void dataset_open_dir(void)
{
    seqgen_dataset *ds = NULL;
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_open_dir(NULL, fx.dir, SEQGEN_SPLIT_TRAIN));
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_open_dir(&ds, NULL, SEQGEN_SPLIT_TRAIN));
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_open_dir(&ds, fx.dir, (seqgen_split)7));
    EXPECT(SEQGEN_ENOENT, seqgen_dataset_open_dir(&ds, fx.dir, SEQGEN_SPLIT_TEST));
    assert_null(ds);
}

static void dataset_free(void) { seqgen_dataset_free(NULL); }
static void dataset_count(void) { assert_int_equal(seqgen_dataset_count(NULL), 0); }
static void dataset_rows(void) { assert_int_equal(seqgen_dataset_rows(NULL), 0); }
static void dataset_cols(void) { assert_int_equal(seqgen_dataset_cols(NULL), 0); }
static void dataset_units(void) { assert_int_equal(seqgen_dataset_units(NULL), 0); }
static void dataset_steps(void) { assert_int_equal(seqgen_dataset_steps(NULL), 0); }
static void dataset_units_per_step(void) { assert_int_equal(seqgen_dataset_units_per_step(NULL), 0); }
static void dataset_is_binary(void) { assert_int_equal(seqgen_dataset_is_binary(NULL), 0); }
static void dataset_has_lengths(void) { assert_int_equal(seqgen_dataset_has_lengths(NULL), 0); }
static void dataset_has_labels(void) { assert_int_equal(seqgen_dataset_has_labels(NULL), 0); }

static void dataset_length(void)
{
    assert_int_equal(seqgen_dataset_length(NULL, 0), 0);
    assert_int_equal(seqgen_dataset_length(fx.ds, IMAGES), 0);
    assert_int_equal(seqgen_dataset_length(fx.ds, (size_t)-1), 0);
}

static void dataset_raw(void)
{
    assert_null(seqgen_dataset_raw(NULL, 0));
    assert_null(seqgen_dataset_raw(fx.ds, IMAGES));
    assert_null(seqgen_dataset_raw(fx.ds, (size_t)-1));
}

static void dataset_from_memory(void)
{
    seqgen_dataset *ds = NULL;
    const uint8_t units[6] = {0, 1, 1, 0, 1, 1};
    const size_t bad_length[2] = {3, 4};
    seqgen_sequences seqs = {units, 2, 3, 1, NULL, NULL};
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_from_memory(NULL, &seqs, SEQGEN_COPY));
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_from_memory(&ds, NULL, SEQGEN_COPY));
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_from_memory(&ds, &seqs, (seqgen_ownership)2));
    seqs.units = NULL;
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_from_memory(&ds, &seqs, SEQGEN_COPY));
    seqs.units = units, seqs.count = 0;
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_from_memory(&ds, &seqs, SEQGEN_COPY));
    seqs.count = 2, seqs.units_per_step = 0;
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_from_memory(&ds, &seqs, SEQGEN_COPY));
    seqs.units_per_step = 1, seqs.steps = SIZE_MAX;
    EXPECT(SEQGEN_EOVERFLOW, seqgen_dataset_from_memory(&ds, &seqs, SEQGEN_BORROW));
    seqs.steps = 3, seqs.lengths = bad_length;
    EXPECT(SEQGEN_ERANGE, seqgen_dataset_from_memory(&ds, &seqs, SEQGEN_COPY));
    assert_null(ds);
}

static void dataset_open_npy(void)
{
    seqgen_dataset *ds = NULL;
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_open_npy(NULL, "x.npy", NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_open_npy(&ds, NULL, NULL, NULL));
    EXPECT(SEQGEN_ENOENT, seqgen_dataset_open_npy(&ds, "/nonexistent/x.npy", NULL, NULL));
    assert_null(ds);
}

static void dataset_label(void)
{
    int64_t label = 0;
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_label(NULL, 0, &label));
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_label(fx.ds, IMAGES, &label));
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_label(fx.ds, (size_t)-1, &label));
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_label(fx.ds, 0, NULL));
}

static void dataset_limit(void)
{
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_limit(NULL, 1));
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_limit(fx.ds, 0));
    assert_int_equal(seqgen_dataset_count(fx.ds), IMAGES);
}

static void dataset_sequences(void)
{
    size_t good[2] = {0, 1}, bad[2] = {0, IMAGES};
    seqgen_binarize_config mode = SEQGEN_BINARIZE_CONFIG_DEFAULT;
    mode.mode = (seqgen_binarize_mode)9;
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_sequences(NULL, good, 2, NULL, 0, fx.out));
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_sequences(fx.ds, NULL, 2, NULL, 0, fx.out));
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_sequences(fx.ds, good, 2, NULL, 0, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_sequences(fx.ds, bad, 2, NULL, 0, fx.out));
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_sequences(fx.ds, good, 2, &mode, 0, fx.out));
}

static void dataset_nearest(void)
{
    size_t nearest[2];
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_nearest(NULL, fx.pixels, 2, nearest, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_nearest(fx.ds, NULL, 2, nearest, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_dataset_nearest(fx.ds, fx.pixels, 2, NULL, NULL));
}

static void batch_iter_create(void)
{
    seqgen_batch_iter *it = NULL;
    seqgen_batch_config cfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    EXPECT(SEQGEN_EINVAL, seqgen_batch_iter_create(NULL, fx.ds, &cfg));
    EXPECT(SEQGEN_EINVAL, seqgen_batch_iter_create(&it, NULL, &cfg));
    cfg.batch_size = 0;
    EXPECT(SEQGEN_EINVAL, seqgen_batch_iter_create(&it, fx.ds, &cfg));
    cfg.batch_size = 2, cfg.units_per_step = 3; /* does not divide 4 pixels */
    EXPECT(SEQGEN_EMISMATCH, seqgen_batch_iter_create(&it, fx.ds, &cfg));
    cfg.units_per_step = 0;
    EXPECT(SEQGEN_EMISMATCH, seqgen_batch_iter_create(&it, fx.ds, &cfg));
    cfg.units_per_step = 1, cfg.binarize.mode = (seqgen_binarize_mode)-1;
    EXPECT(SEQGEN_EINVAL, seqgen_batch_iter_create(&it, fx.ds, &cfg));
    cfg.binarize.mode = SEQGEN_BINARIZE_THRESHOLD, cfg.batch_size = IMAGES + 1, cfg.drop_last = 1;
    EXPECT(SEQGEN_EINVAL, seqgen_batch_iter_create(&it, fx.ds, &cfg));
    cfg.batch_size = (size_t)-1, cfg.drop_last = 0;
    int status = seqgen_batch_iter_create(&it, fx.ds, &cfg); /* clamped or refused, never overflowed */
    assert_true(status == SEQGEN_OK || status == SEQGEN_EINVAL || status == SEQGEN_ENOMEM);
    seqgen_batch_iter_free(it);
}

static void batch_iter_free(void) { seqgen_batch_iter_free(NULL); }

static void batch_iter_next(void)
{
    const float *x;
    size_t n;
    EXPECT(SEQGEN_EINVAL, seqgen_batch_iter_next(NULL, &x, &n));
    EXPECT(SEQGEN_EINVAL, seqgen_batch_iter_next(fx.iter, NULL, &n));
    EXPECT(SEQGEN_EINVAL, seqgen_batch_iter_next(fx.iter, &x, NULL));
}

static void batch_iter_labels(void) { assert_null(seqgen_batch_iter_labels(NULL)); }
static void batch_iter_lengths(void) { assert_null(seqgen_batch_iter_lengths(NULL)); }
static void batch_iter_indices(void) { assert_null(seqgen_batch_iter_indices(NULL)); }
static void batch_iter_steps(void) { assert_int_equal(seqgen_batch_iter_steps(NULL), 0); }
static void batch_iter_batches(void) { assert_int_equal(seqgen_batch_iter_batches_per_epoch(NULL), 0); }
static void batch_iter_epoch(void) { assert_int_equal(seqgen_batch_iter_epoch(NULL), 0); }
static void batch_iter_position(void) { assert_int_equal(seqgen_batch_iter_position(NULL), 0); }

static void batch_iter_seek(void)
{
    EXPECT(SEQGEN_EINVAL, seqgen_batch_iter_seek(NULL, 0, 0));
    EXPECT(SEQGEN_EINVAL, seqgen_batch_iter_seek(fx.iter, 0, IMAGES + 1));
    EXPECT(SEQGEN_EINVAL, seqgen_batch_iter_seek(fx.iter, 0, (size_t)-1));
}

/* ---- Vocabulary and symbol data (the refusals' details are checked in test_text.c) --------- */

static seqgen_vocab *abc_vocab(void)
{
    seqgen_vocab *v = NULL;
    assert_ok(seqgen_vocab_from_text(&v, "abc", 3));
    return v;
}

static void vocab_create(void)
{
    seqgen_vocab *v = NULL;
    const uint32_t cps[2] = {'a', 'b'}, bad[2] = {'b', 'a'};
    EXPECT(SEQGEN_EINVAL, seqgen_vocab_create(NULL, cps, 2));
    EXPECT(SEQGEN_EINVAL, seqgen_vocab_create(&v, NULL, 2));
    EXPECT(SEQGEN_EINVAL, seqgen_vocab_create(&v, cps, 0));
    EXPECT(SEQGEN_EINVAL, seqgen_vocab_create(&v, cps, (size_t)-1));
    EXPECT(SEQGEN_EINVAL, seqgen_vocab_create(&v, bad, 2));
    assert_null(v);
}

static void vocab_from_text(void)
{
    seqgen_vocab *v = NULL;
    EXPECT(SEQGEN_EINVAL, seqgen_vocab_from_text(NULL, "a", 1));
    EXPECT(SEQGEN_EINVAL, seqgen_vocab_from_text(&v, NULL, 1));
    EXPECT(SEQGEN_EINVAL, seqgen_vocab_from_text(&v, "a", 0));
    EXPECT(SEQGEN_EFORMAT, seqgen_vocab_from_text(&v, "\xC3", 1));
    assert_null(v);
}

static void vocab_free(void) { seqgen_vocab_free(NULL); }
static void vocab_size(void) { assert_int_equal(seqgen_vocab_size(NULL), 0); }

static void vocab_code_point(void)
{
    seqgen_vocab *v = abc_vocab();
    assert_int_equal(seqgen_vocab_code_point(NULL, 1), -1);
    assert_int_equal(seqgen_vocab_code_point(v, SEQGEN_VOCAB_END), -1);
    assert_int_equal(seqgen_vocab_code_point(v, 4), -1);
    assert_int_equal(seqgen_vocab_code_point(v, (size_t)-1), -1);
    seqgen_vocab_free(v);
}

static void vocab_symbol_text(void)
{
    seqgen_vocab *v = abc_vocab();
    assert_null(seqgen_vocab_symbol_text(NULL, 0));
    assert_null(seqgen_vocab_symbol_text(v, 4));
    assert_null(seqgen_vocab_symbol_text(v, (size_t)-1));
    seqgen_vocab_free(v);
}

static void vocab_id(void)
{
    seqgen_vocab *v = abc_vocab();
    assert_int_equal(seqgen_vocab_id(NULL, 'a'), -1);
    assert_int_equal(seqgen_vocab_id(v, 0), -1);
    assert_int_equal(seqgen_vocab_id(v, 0xFFFFFFFFu), -1);
    seqgen_vocab_free(v);
}

static void vocab_encode(void)
{
    seqgen_vocab *v = abc_vocab();
    int32_t ids[4];
    size_t n;
    EXPECT(SEQGEN_EINVAL, seqgen_vocab_encode(NULL, "a", 1, ids, 4, &n));
    EXPECT(SEQGEN_EINVAL, seqgen_vocab_encode(v, NULL, 1, ids, 4, &n));
    EXPECT(SEQGEN_EINVAL, seqgen_vocab_encode(v, "a", 1, NULL, 4, &n));
    EXPECT(SEQGEN_EINVAL, seqgen_vocab_encode(v, "a", 1, ids, 4, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_vocab_encode(v, "abc", 3, ids, 2, &n));
    EXPECT(SEQGEN_EINVAL, seqgen_vocab_encode(v, "abd", 3, ids, 4, &n));
    seqgen_vocab_free(v);
}

static void vocab_decode(void)
{
    seqgen_vocab *v = abc_vocab();
    const int32_t ids[3] = {1, 2, 3}, bad[2] = {1, 4};
    char text[8];
    size_t n;
    EXPECT(SEQGEN_EINVAL, seqgen_vocab_decode(NULL, ids, 3, text, 8, &n));
    EXPECT(SEQGEN_EINVAL, seqgen_vocab_decode(v, NULL, 3, text, 8, &n));
    EXPECT(SEQGEN_EINVAL, seqgen_vocab_decode(v, ids, 3, NULL, 8, &n));
    EXPECT(SEQGEN_EINVAL, seqgen_vocab_decode(v, ids, 3, text, 8, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_vocab_decode(v, ids, 3, text, 3, &n));
    EXPECT(SEQGEN_EINVAL, seqgen_vocab_decode(v, bad, 2, text, 8, &n));
    seqgen_vocab_free(v);
}

static const int32_t fx_symbols[2 * 3] = {1, 2, 0, 2, 0, 0};
static const size_t fx_symbol_lengths[2] = {3, 2};

static seqgen_symbol_dataset *small_symbols(void)
{
    seqgen_symbol_sequences s = {fx_symbols, 2, 3, fx_symbol_lengths, 3};
    seqgen_symbol_dataset *ds = NULL;
    assert_ok(seqgen_symbol_dataset_from_memory(&ds, &s));
    return ds;
}

static void symbol_dataset_from_memory(void)
{
    seqgen_symbol_dataset *ds = NULL;
    seqgen_symbol_sequences s = {fx_symbols, 2, 3, fx_symbol_lengths, 3};
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_dataset_from_memory(NULL, &s));
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_dataset_from_memory(&ds, NULL));
    s.symbols = NULL;
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_dataset_from_memory(&ds, &s));
    s.symbols = fx_symbols, s.steps = 0;
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_dataset_from_memory(&ds, &s));
    s.steps = 3, s.vocab = 0;
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_dataset_from_memory(&ds, &s));
    s.vocab = 2;
    EXPECT(SEQGEN_ERANGE, seqgen_symbol_dataset_from_memory(&ds, &s));
    s.vocab = 3, s.count = (size_t)-1;
    EXPECT(SEQGEN_EOVERFLOW, seqgen_symbol_dataset_from_memory(&ds, &s));
    assert_null(ds);
}

static void text_options_default(void)
{
    seqgen_text_options o = seqgen_text_options_default();
    assert_null(o.vocab);
    assert_int_equal(o.holdout_every, 0);
    assert_true(o.max_bytes >= 1 && o.max_line_symbols >= 1 && o.max_sequences >= 1);
}

static void symbol_dataset_open_text(void)
{
    seqgen_symbol_dataset *ds = NULL, *held = NULL;
    seqgen_text_options o = seqgen_text_options_default();
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_dataset_open_text(NULL, NULL, NULL, fx.labels, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_dataset_open_text(&ds, NULL, NULL, NULL, NULL));
    o.holdout_every = 2;
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_dataset_open_text(&ds, NULL, NULL, fx.labels, &o));
    o.holdout_every = 1;
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_dataset_open_text(&ds, &held, NULL, fx.labels, &o));
    o = seqgen_text_options_default();
    o.max_bytes = 0;
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_dataset_open_text(&ds, NULL, NULL, fx.labels, &o));
    EXPECT(SEQGEN_ENOENT, seqgen_symbol_dataset_open_text(&ds, NULL, NULL, "/nonexistent/x", NULL));
    EXPECT(SEQGEN_EFORMAT, seqgen_symbol_dataset_open_text(&ds, NULL, NULL, fx.dir, NULL));
    EXPECT(SEQGEN_EFORMAT, seqgen_symbol_dataset_open_text(&ds, NULL, NULL, fx.labels, NULL));
    assert_null(ds);
    assert_null(held);
}

static void symbol_dataset_free(void) { seqgen_symbol_dataset_free(NULL); }
static void symbol_dataset_count(void) { assert_int_equal(seqgen_symbol_dataset_count(NULL), 0); }
static void symbol_dataset_steps(void) { assert_int_equal(seqgen_symbol_dataset_steps(NULL), 0); }
static void symbol_dataset_vocab_size(void)
{
    assert_int_equal(seqgen_symbol_dataset_vocab_size(NULL), 0);
}

static void symbol_dataset_length(void)
{
    seqgen_symbol_dataset *ds = small_symbols();
    assert_int_equal(seqgen_symbol_dataset_length(NULL, 0), 0);
    assert_int_equal(seqgen_symbol_dataset_length(ds, 2), 0);
    assert_int_equal(seqgen_symbol_dataset_length(ds, (size_t)-1), 0);
    seqgen_symbol_dataset_free(ds);
}

static void symbol_dataset_sequence(void)
{
    seqgen_symbol_dataset *ds = small_symbols();
    assert_null(seqgen_symbol_dataset_sequence(NULL, 0));
    assert_null(seqgen_symbol_dataset_sequence(ds, 2));
    assert_null(seqgen_symbol_dataset_sequence(ds, (size_t)-1));
    seqgen_symbol_dataset_free(ds);
}

/* NULL gives back the checksum it continues; a dataset changes it, and chains. */
static void symbol_dataset_checksum(void)
{
    seqgen_symbol_dataset *ds = small_symbols();
    assert_int_equal(seqgen_symbol_dataset_checksum(NULL, 0), 0);
    assert_int_equal(seqgen_symbol_dataset_checksum(NULL, 12345), 12345);
    uint64_t once = seqgen_symbol_dataset_checksum(ds, 0);
    assert_int_not_equal(once, 0);
    assert_int_equal(seqgen_symbol_dataset_checksum(ds, 0), once);
    assert_int_not_equal(seqgen_symbol_dataset_checksum(ds, once), once);
    seqgen_symbol_dataset_free(ds);
}

static void symbol_iter_create(void)
{
    seqgen_symbol_dataset *ds = small_symbols();
    seqgen_symbol_iter *it = NULL;
    seqgen_batch_config cfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_iter_create(NULL, ds, &cfg));
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_iter_create(&it, NULL, &cfg));
    cfg.batch_size = 0;
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_iter_create(&it, ds, &cfg));
    cfg.batch_size = 3, cfg.drop_last = 1;
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_iter_create(&it, ds, &cfg));
    cfg.drop_last = 0, cfg.units_per_step = 0;
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_iter_create(&it, ds, &cfg));
    assert_null(it);
    seqgen_symbol_dataset_free(ds);
}

static void symbol_iter_free(void) { seqgen_symbol_iter_free(NULL); }

static void symbol_iter_next(void)
{
    seqgen_symbol_dataset *ds = small_symbols();
    seqgen_symbol_iter *it = NULL;
    assert_ok(seqgen_symbol_iter_create(&it, ds, NULL));
    const int32_t *x;
    size_t n;
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_iter_next(NULL, &x, &n));
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_iter_next(it, NULL, &n));
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_iter_next(it, &x, NULL));
    seqgen_symbol_iter_free(it);
    seqgen_symbol_dataset_free(ds);
}

static void symbol_iter_lengths(void) { assert_null(seqgen_symbol_iter_lengths(NULL)); }
static void symbol_iter_indices(void) { assert_null(seqgen_symbol_iter_indices(NULL)); }
static void symbol_iter_steps(void) { assert_int_equal(seqgen_symbol_iter_steps(NULL), 0); }
static void symbol_iter_epoch(void) { assert_int_equal(seqgen_symbol_iter_epoch(NULL), 0); }
static void symbol_iter_position(void) { assert_int_equal(seqgen_symbol_iter_position(NULL), 0); }

static void symbol_iter_seek(void)
{
    seqgen_symbol_dataset *ds = small_symbols();
    seqgen_symbol_iter *it = NULL;
    assert_ok(seqgen_symbol_iter_create(&it, ds, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_iter_seek(NULL, 0, 0));
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_iter_seek(it, 0, 3));
    EXPECT(SEQGEN_EINVAL, seqgen_symbol_iter_seek(it, 0, (size_t)-1));
    seqgen_symbol_iter_free(it);
    seqgen_symbol_dataset_free(ds);
}

/* ---- Model --------------------------------------------------------------------------------- */

static void model_config_default(void)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    assert_true(cfg.units_per_step >= 1 && cfg.hidden >= 1 && cfg.layers >= 1);
}

static void train_options_default(void)
{
    seqgen_train_options o = seqgen_train_options_default();
    assert_true(o.teacher_prob >= 0 && o.teacher_prob <= 1);
}

static void model_create(void)
{
    seqgen_model *m = NULL;
    seqgen_model_config good = seqgen_model_config_default(), cfg;
    EXPECT(SEQGEN_EINVAL, seqgen_model_create(NULL, &good));
    EXPECT(SEQGEN_EINVAL, seqgen_model_create(&m, NULL));
    const int bad[][4] = {{0, 4, 1, 1},  {2, 0, 1, 1},      {2, 4, 0, 1},  {-1, 4, 1, 1},
                          {2, -4, 1, 1}, {2, 4, -1, 1},     {65537, 4, 1, 1}, {2, 65537, 1, 1},
                          {2, 4, 65537, 1}, {2, 4, 1, -1}, {2, 4, 1, 1025}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg = good;
        cfg.units_per_step = bad[i][0], cfg.hidden = bad[i][1], cfg.layers = bad[i][2];
        cfg.threads = bad[i][3];
        EXPECT(SEQGEN_EINVAL, seqgen_model_create(&m, &cfg));
    }
    cfg = good; /* in range one by one, but 65536^2 x 3 x 65536 floats in all */
    cfg.hidden = 65536, cfg.layers = 65536;
    int status = seqgen_model_create(&m, &cfg);
    assert_true(status == SEQGEN_ENOMEM || status == SEQGEN_EINVAL);
    assert_null(m);
}

static void model_free(void) { seqgen_model_free(NULL); }

static void model_get_config(void)
{
    seqgen_model_config cfg = seqgen_model_get_config(NULL);
    assert_int_equal(cfg.units_per_step, 0);
    assert_int_equal(cfg.hidden, 0);
}

static void model_set_threads(void)
{
    EXPECT(SEQGEN_EINVAL, seqgen_model_set_threads(NULL, 1));
    EXPECT(SEQGEN_EINVAL, seqgen_model_set_threads(fx.model, -1));
    EXPECT(SEQGEN_EINVAL, seqgen_model_set_threads(fx.model, 1025));
    assert_int_equal(seqgen_model_get_config(fx.model).threads, 1);
}

static void model_param_count(void) { assert_int_equal(seqgen_model_param_count(NULL), 0); }
static void model_tensor_count(void) { assert_int_equal(seqgen_model_tensor_count(NULL), 0); }
static void model_gradients(void) { assert_null(seqgen_model_gradients(NULL)); }
static void model_parameters(void) { assert_null(seqgen_model_parameters(NULL)); }

static void model_tensor_info(void)
{
    const char *name;
    int rows, cols;
    EXPECT(SEQGEN_EINVAL, seqgen_model_tensor_info(NULL, 0, &name, &rows, &cols));
    EXPECT(SEQGEN_EINVAL, seqgen_model_tensor_info(fx.model, -1, &name, &rows, &cols));
    EXPECT(SEQGEN_EINVAL, seqgen_model_tensor_info(fx.model, 6, &name, &rows, &cols));
}

/* get_tensor, set_tensor and get_grad take the same arguments. */
typedef int (*tensor_fn)(seqgen_model *, const char *, float *, size_t);
static int get_tensor(seqgen_model *m, const char *n, float *v, size_t c) { return seqgen_model_get_tensor(m, n, v, c); }
static int set_tensor(seqgen_model *m, const char *n, float *v, size_t c) { return seqgen_model_set_tensor(m, n, v, c); }
static int get_grad(seqgen_model *m, const char *n, float *v, size_t c) { return seqgen_model_get_grad(m, n, v, c); }

static void misuse_tensor_fn(tensor_fn fn)
{
    float v[2] = {0.5f, 0.25f}; /* out.bias of D = 2 */
    EXPECT(SEQGEN_EINVAL, fn(NULL, "out.bias", v, 2));
    EXPECT(SEQGEN_EINVAL, fn(fx.model, NULL, v, 2));
    EXPECT(SEQGEN_EINVAL, fn(fx.model, "out.bias", NULL, 2));
    EXPECT(SEQGEN_EINVAL, fn(fx.model, "out.bias2", v, 2));
    EXPECT(SEQGEN_EINVAL, fn(fx.model, "", v, 2));
    EXPECT(SEQGEN_EMISMATCH, fn(fx.model, "out.bias", v, 1));
    EXPECT(SEQGEN_EMISMATCH, fn(fx.model, "out.bias", v, 0));
    EXPECT(SEQGEN_EMISMATCH, fn(fx.model, "out.bias", v, (size_t)-1));
}

static void model_get_tensor(void) { misuse_tensor_fn(get_tensor); }
static void model_get_grad(void) { misuse_tensor_fn(get_grad); }

static void model_set_tensor(void)
{
    misuse_tensor_fn(set_tensor);
    float before[2], bad[2] = {1.0f, NAN}, after[2];
    assert_ok(seqgen_model_get_tensor(fx.model, "out.bias", before, 2));
    EXPECT(SEQGEN_ENUMERIC, seqgen_model_set_tensor(fx.model, "out.bias", bad, 2));
    bad[1] = INFINITY;
    EXPECT(SEQGEN_ENUMERIC, seqgen_model_set_tensor(fx.model, "out.bias", bad, 2));
    assert_ok(seqgen_model_get_tensor(fx.model, "out.bias", after, 2));
    assert_memory_equal(before, after, sizeof before);
}

/* Options a training pass must refuse. */
static seqgen_train_options bad_options(int which)
{
    seqgen_train_options o = seqgen_train_options_default();
    switch (which) {
    case 0: o.teacher_prob = 1.5; break;
    case 1: o.teacher_prob = -0.1; break;
    case 2: o.teacher_prob = NAN; break;
    case 3: o.loss = (seqgen_loss)7; break;
    default: o.feedback = (seqgen_feedback)9; break;
    }
    return o;
}

static void model_forward_backward(void)
{
    const float *x = fx.pixels, *y = fx.pixels + 2;
    seqgen_train_options o = seqgen_train_options_default();
    EXPECT(SEQGEN_EINVAL, seqgen_model_forward_backward(NULL, &(seqgen_batch){x, y, 0, 1, 1, 0, NULL}, &o,
                                                        NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_forward_backward(fx.model, &(seqgen_batch){NULL, y, 0, 1, 1, 0, NULL},
                                                        &o, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_forward_backward(fx.model, &(seqgen_batch){x, NULL, 0, 1, 1, 0, NULL},
                                                        &o, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_forward_backward(fx.model, &(seqgen_batch){x, y, 0, 0, 1, 0, NULL},
                                                        &o, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_forward_backward(fx.model, &(seqgen_batch){x, y, 0, -1, 1, 0, NULL},
                                                        &o, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_forward_backward(fx.model, &(seqgen_batch){x, y, 0, 1, 0, 0, NULL},
                                                        &o, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_forward_backward(fx.model, &(seqgen_batch){x, y, 0, 1, -3, 0, NULL},
                                                        &o, NULL, NULL));
    for (int i = 0; i < 5; i++) {
        o = bad_options(i);
        EXPECT(SEQGEN_EINVAL, seqgen_model_forward_backward(fx.model,
                                                            &(seqgen_batch){x, y, 0, 1, 1, 0, NULL}, &o,
                                                            NULL, NULL));
    }
}

/* Whole sequences through seqgen_batch_of_sequences(): the pass refuses what it describes
 * badly (NULL model or sequences, no sequence, fewer than 2 steps), a NULL batch, a stride
 * shorter than the steps and a start step that is neither 0 nor 1. */
static void batch_of_sequences(void)
{
    seqgen_train_options o = seqgen_train_options_default();
    const int D = seqgen_model_get_config(fx.model).units_per_step;
    seqgen_batch ok = seqgen_batch_of_sequences(fx.model, fx.pixels, 1, 2);
    assert_ptr_equal(ok.inputs, fx.pixels);
    assert_ptr_equal(ok.targets, fx.pixels + D);
    assert_int_equal(ok.stride, 2 * D);
    assert_int_equal(ok.steps, 1);
    assert_int_equal(ok.start_step, 0);
    seqgen_batch bad[] = {
        seqgen_batch_of_sequences(fx.model, NULL, 1, 2),
        seqgen_batch_of_sequences(fx.model, fx.pixels, 0, 2),
        seqgen_batch_of_sequences(fx.model, fx.pixels, 1, 1),
        seqgen_batch_of_sequences(fx.model, fx.pixels, 1, -2),
        {fx.pixels, fx.pixels, 1, 1, 2, 0, NULL},
        {fx.pixels, fx.pixels, 0, 1, 1, 2, NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EXPECT(SEQGEN_EINVAL, seqgen_model_forward_backward(fx.model, &bad[i], &o, NULL, NULL));
        EXPECT(SEQGEN_EINVAL, seqgen_model_evaluate(fx.model, &bad[i], SEQGEN_LOSS_MSE, NULL,
                                                    NULL));
    }
    seqgen_batch no_model = seqgen_batch_of_sequences(NULL, fx.pixels, 1, 2);
    EXPECT(SEQGEN_EINVAL, seqgen_model_forward_backward(NULL, &no_model, &o, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_forward_backward(fx.model, NULL, &o, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_evaluate(fx.model, NULL, SEQGEN_LOSS_MSE, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_forward_backward(NULL, &ok, &o, NULL, NULL));
    for (int i = 0; i < 5; i++) {
        o = bad_options(i);
        EXPECT(SEQGEN_EINVAL, seqgen_model_forward_backward(fx.model, &ok, &o, NULL, NULL));
    }
}

static void model_evaluate(void)
{
    const float *x = fx.pixels, *y = fx.pixels + 2;
    EXPECT(SEQGEN_EINVAL, seqgen_model_evaluate(NULL, &(seqgen_batch){x, y, 0, 1, 1, 0, NULL},
                                                SEQGEN_LOSS_MSE, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_evaluate(fx.model, &(seqgen_batch){NULL, y, 0, 1, 1, 0, NULL},
                                                SEQGEN_LOSS_MSE, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_evaluate(fx.model, &(seqgen_batch){x, NULL, 0, 1, 1, 0, NULL},
                                                SEQGEN_LOSS_MSE, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_evaluate(fx.model, &(seqgen_batch){x, y, 0, 0, 1, 0, NULL},
                                                SEQGEN_LOSS_MSE, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_evaluate(fx.model, &(seqgen_batch){x, y, 0, 1, -1, 0, NULL},
                                                SEQGEN_LOSS_MSE, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_evaluate(fx.model, &(seqgen_batch){x, y, 0, 1, 1, 0, NULL},
                                                (seqgen_loss)5, NULL, NULL));
}

static void model_state_create(void)
{
    seqgen_model_state *s = NULL;
    EXPECT(SEQGEN_EINVAL, seqgen_model_state_create(NULL, fx.model, 1));
    EXPECT(SEQGEN_EINVAL, seqgen_model_state_create(&s, NULL, 1));
    EXPECT(SEQGEN_EINVAL, seqgen_model_state_create(&s, fx.model, 0));
    EXPECT(SEQGEN_EINVAL, seqgen_model_state_create(&s, fx.model, -1));
    assert_null(s);
}

static void model_state_free(void) { seqgen_model_state_free(NULL); }
static void model_state_reset(void) { seqgen_model_state_reset(NULL); }

static void model_step(void)
{
    float in[2] = {0, 1}, probs[2];
    EXPECT(SEQGEN_EINVAL, seqgen_model_step(NULL, fx.state, in, NULL, probs));
    EXPECT(SEQGEN_EINVAL, seqgen_model_step(fx.model, NULL, in, NULL, probs));
    EXPECT(SEQGEN_EINVAL, seqgen_model_step(fx.model, fx.state, NULL, NULL, probs));
    EXPECT(SEQGEN_EINVAL, seqgen_model_step(fx.model, fx.state, in, NULL, NULL));
    EXPECT(SEQGEN_EMISMATCH, seqgen_model_step(fx.model, fx.other_state, in, NULL, probs));
    EXPECT(SEQGEN_EMISMATCH, seqgen_model_step(fx.other, fx.state, in, NULL, probs));
}

static float choose_zero(void *context, int sequence, int unit, float logit)
{
    (void)context, (void)sequence, (void)unit, (void)logit;
    return 0.0f;
}

/* (the details, and the chooser's values, are checked in test_ar_head.c) */
static void model_step_units(void)
{
    float in[2] = {0, 1}, units[2];
    EXPECT(SEQGEN_EINVAL, seqgen_model_step_units(NULL, fx.state, in, choose_zero, NULL, units,
                                                  NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_step_units(fx.model, NULL, in, choose_zero, NULL, units,
                                                  NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_step_units(fx.model, fx.state, NULL, choose_zero, NULL,
                                                  units, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_step_units(fx.model, fx.state, in, NULL, NULL, units,
                                                  NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_step_units(fx.model, fx.state, in, choose_zero, NULL, NULL,
                                                  NULL));
    EXPECT(SEQGEN_EMISMATCH, seqgen_model_step_units(fx.model, fx.other_state, in, choose_zero,
                                                     NULL, units, NULL));
    EXPECT(SEQGEN_EMISMATCH, seqgen_model_step_units(fx.other, fx.state, in, choose_zero, NULL,
                                                     units, NULL));
}

/* ---- Symbols (the refusals' details are checked in test_symbols.c) -------------------------- */

/* A categorical model: V = 5, E = 3, H = 4. */
static seqgen_model *symbol_model(void)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.hidden = 4, cfg.vocab = 5, cfg.embedding = 3, cfg.threads = 1;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    return m;
}

static void symbol_batch_of_sequences(void)
{
    seqgen_model *m = symbol_model();
    const int32_t s[3] = {0, 1, 2};
    seqgen_train_options o = seqgen_train_options_default();
    o.loss = SEQGEN_LOSS_CE;
    seqgen_symbol_batch ok = seqgen_symbol_batch_of_sequences(m, s, 1, 3);
    assert_ptr_equal(ok.inputs, s);
    assert_ptr_equal(ok.targets, s + 1);
    assert_int_equal(ok.stride, 3);
    assert_int_equal(ok.steps, 2);
    seqgen_symbol_batch bad[] = {
        seqgen_symbol_batch_of_sequences(m, NULL, 1, 3),
        seqgen_symbol_batch_of_sequences(m, s, 0, 3),
        seqgen_symbol_batch_of_sequences(m, s, 1, 1),
        seqgen_symbol_batch_of_sequences(m, s, 1, -2),
        {s, s, 1, 1, 2, 0, NULL},
        {s, s, 0, 1, 1, 2, NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EXPECT(SEQGEN_EINVAL, seqgen_model_forward_backward_symbols(m, &bad[i], &o, NULL, NULL));
        EXPECT(SEQGEN_EINVAL, seqgen_model_evaluate_symbols(m, &bad[i], NULL, NULL));
    }
    seqgen_symbol_batch no_model = seqgen_symbol_batch_of_sequences(NULL, s, 1, 3);
    EXPECT(SEQGEN_EINVAL, seqgen_model_forward_backward_symbols(NULL, &no_model, &o, NULL, NULL));
    seqgen_model_free(m);
}

static void model_forward_backward_symbols(void)
{
    seqgen_model *m = symbol_model();
    const int32_t s[3] = {0, 1, 2};
    seqgen_symbol_batch b = seqgen_symbol_batch_of_sequences(m, s, 1, 3);
    seqgen_train_options o = seqgen_train_options_default();
    o.loss = SEQGEN_LOSS_CE;
    EXPECT(SEQGEN_EINVAL, seqgen_model_forward_backward_symbols(NULL, &b, &o, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_forward_backward_symbols(m, NULL, &o, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_forward_backward_symbols(fx.model, &b, &o, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_forward_backward_symbols(m, &b, NULL, NULL, NULL));
    for (int i = 0; i < 5; i++) {
        o = bad_options(i);
        o.loss = i == 3 ? o.loss : SEQGEN_LOSS_CE;
        EXPECT(SEQGEN_EINVAL, seqgen_model_forward_backward_symbols(m, &b, &o, NULL, NULL));
    }
    seqgen_model_free(m);
}

static void model_evaluate_symbols(void)
{
    seqgen_model *m = symbol_model();
    const int32_t s[3] = {0, 5, 2};
    seqgen_symbol_batch b = seqgen_symbol_batch_of_sequences(m, s, 1, 3);
    EXPECT(SEQGEN_EINVAL, seqgen_model_evaluate_symbols(NULL, &b, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_evaluate_symbols(m, NULL, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_evaluate_symbols(fx.model, &b, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_evaluate_symbols(m, &b, NULL, NULL)); /* symbol 5 */
    seqgen_model_free(m);
}

static void model_step_symbols(void)
{
    seqgen_model *m = symbol_model();
    seqgen_model_state *st = NULL;
    assert_ok(seqgen_model_state_create(&st, m, 1));
    const int32_t s[1] = {1}, out[1] = {5};
    float probs[5], in[2] = {0, 1};
    EXPECT(SEQGEN_EINVAL, seqgen_model_step_symbols(NULL, st, s, NULL, probs));
    EXPECT(SEQGEN_EINVAL, seqgen_model_step_symbols(m, NULL, s, NULL, probs));
    EXPECT(SEQGEN_EINVAL, seqgen_model_step_symbols(m, st, NULL, NULL, probs));
    EXPECT(SEQGEN_EINVAL, seqgen_model_step_symbols(m, st, s, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_model_step_symbols(m, st, out, NULL, probs));
    EXPECT(SEQGEN_EINVAL, seqgen_model_step_symbols(fx.model, fx.state, s, NULL, probs));
    EXPECT(SEQGEN_EMISMATCH, seqgen_model_step_symbols(m, fx.state, s, NULL, probs));
    EXPECT(SEQGEN_EINVAL, seqgen_model_step(m, st, in, NULL, probs));
    seqgen_model_state_free(st);
    seqgen_model_free(m);
}

/* ---- Optimiser ----------------------------------------------------------------------------- */

static void optim_config_default(void)
{
    seqgen_optim_config cfg = seqgen_optim_config_default((seqgen_optim_kind)42);
    seqgen_optim *o = NULL;
    EXPECT(SEQGEN_EINVAL, seqgen_optim_create(&o, fx.model, &cfg));
    assert_null(o);
}

static void optim_create(void)
{
    seqgen_optim *o = NULL;
    seqgen_optim_config good = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    EXPECT(SEQGEN_EINVAL, seqgen_optim_create(NULL, fx.model, &good));
    EXPECT(SEQGEN_EINVAL, seqgen_optim_create(&o, NULL, &good));
    EXPECT(SEQGEN_EINVAL, seqgen_optim_create(&o, fx.model, NULL));
    for (int i = 0; i < 12; i++) {
        seqgen_optim_config c = good;
        switch (i) {
        case 0: c.lr = 0; break;
        case 1: c.lr = -1; break;
        case 2: c.lr = NAN; break;
        case 3: c.lr = INFINITY; break;
        case 4: c.beta1 = 1; break;
        case 5: c.beta2 = -0.1; break;
        case 6: c.eps = 0; break;
        case 7: c.weight_decay = -1; break;
        case 8: c.momentum = 1; c.kind = SEQGEN_OPTIM_SGD; break;
        case 9: c.clip_norm = -1; break;
        case 10: c.clip_norm = NAN; break;
        default: c.kind = (seqgen_optim_kind)-1; break;
        }
        EXPECT(SEQGEN_EINVAL, seqgen_optim_create(&o, fx.model, &c));
    }
    assert_null(o);
}

static void optim_free(void) { seqgen_optim_free(NULL); }

static void optim_step(void)
{
    EXPECT(SEQGEN_EINVAL, seqgen_optim_step(NULL, fx.model));
    EXPECT(SEQGEN_EINVAL, seqgen_optim_step(fx.optim, NULL));
    EXPECT(SEQGEN_EMISMATCH, seqgen_optim_step(fx.optim, fx.other));
    EXPECT(SEQGEN_EMISMATCH, seqgen_optim_step(fx.other_optim, fx.model));
    assert_int_equal(seqgen_optim_step_count(fx.optim), 0);
}

static void optim_get_lr(void) { assert_true(seqgen_optim_get_lr(NULL) == 0.0); }

static void optim_set_lr(void)
{
    double lr = seqgen_optim_get_lr(fx.optim);
    EXPECT(SEQGEN_EINVAL, seqgen_optim_set_lr(NULL, 0.1));
    EXPECT(SEQGEN_EINVAL, seqgen_optim_set_lr(fx.optim, 0));
    EXPECT(SEQGEN_EINVAL, seqgen_optim_set_lr(fx.optim, -1));
    EXPECT(SEQGEN_EINVAL, seqgen_optim_set_lr(fx.optim, NAN));
    EXPECT(SEQGEN_EINVAL, seqgen_optim_set_lr(fx.optim, INFINITY));
    assert_true(seqgen_optim_get_lr(fx.optim) == lr);
}

static void optim_step_count(void) { assert_int_equal(seqgen_optim_step_count(NULL), 0); }
static void optim_last_grad_norm(void) { assert_true(seqgen_optim_last_grad_norm(NULL) == 0.0); }

/* ---- Discriminator ------------------------------------------------------------------------- */

/* A discriminator of F = 3, H_d 2, K 2, M 2 and a batch of B = 2 sequences of T = 2 steps. */
static seqgen_discriminator *make_discriminator(void)
{
    seqgen_discriminator_config c = seqgen_discriminator_config_default(3);
    c.hidden = 2, c.layers = 2, c.mlp_hidden = 2;
    seqgen_discriminator *d = NULL;
    assert_ok(seqgen_discriminator_create(&d, &c));
    return d;
}

static void discriminator_config_default(void)
{
    seqgen_discriminator_config c = seqgen_discriminator_config_default(-1);
    seqgen_discriminator *d = NULL;
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_create(&d, &c)); /* features -1 */
    assert_null(d);
}

static void discriminator_create(void)
{
    seqgen_discriminator *d = NULL;
    seqgen_discriminator_config c = seqgen_discriminator_config_default(3);
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_create(NULL, &c));
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_create(&d, NULL));
    int *fields[] = {&c.features, &c.hidden, &c.layers, &c.mlp_hidden};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        c = seqgen_discriminator_config_default(3);
        *fields[i] = 0;
        EXPECT(SEQGEN_EINVAL, seqgen_discriminator_create(&d, &c));
    }
    c = seqgen_discriminator_config_default(3);
    c.layers = 10;
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_create(&d, &c));
    assert_null(d);
}

static void discriminator_free(void) { seqgen_discriminator_free(NULL); }

static void discriminator_param_count(void)
{
    assert_int_equal(seqgen_discriminator_param_count(NULL), 0);
}

static void discriminator_optim_create(void)
{
    seqgen_discriminator *d = make_discriminator();
    seqgen_optim *o = NULL;
    seqgen_optim_config c = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_optim_create(NULL, d, &c));
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_optim_create(&o, NULL, &c));
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_optim_create(&o, d, NULL));
    c.lr = -1.0;
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_optim_create(&o, d, &c));
    assert_null(o);
    seqgen_discriminator_free(d);
}

static void discriminator_classify(void)
{
    seqgen_discriminator *d = make_discriminator();
    float beh[2 * 2 * 3] = {0}, logits[2];
    size_t lengths[2] = {2, 3};
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_classify(NULL, beh, NULL, 2, 2, logits));
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_classify(d, NULL, NULL, 2, 2, logits));
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_classify(d, beh, NULL, 2, 2, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_classify(d, beh, NULL, 0, 2, logits));
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_classify(d, beh, NULL, 2, -1, logits));
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_classify(d, beh, lengths, 2, 2, logits));
    beh[0] = INFINITY;
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_classify(d, beh, NULL, 2, 2, logits));
    seqgen_discriminator_free(d);
}

static void discriminator_train_step(void)
{
    seqgen_discriminator *d = make_discriminator();
    seqgen_optim *o = NULL;
    seqgen_optim_config c = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    assert_ok(seqgen_discriminator_optim_create(&o, d, &c));
    float beh[2 * 2 * 3] = {0}, labels[2] = {1.0f, 0.0f}, bad[2] = {1.0f, -0.5f};
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_train_step(NULL, o, beh, NULL, 2, 2, labels, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_train_step(d, NULL, beh, NULL, 2, 2, labels, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_train_step(d, o, NULL, NULL, 2, 2, labels, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_train_step(d, o, beh, NULL, 2, 2, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_train_step(d, o, beh, NULL, 2, 2, bad, NULL));
    EXPECT(SEQGEN_EMISMATCH,
           seqgen_discriminator_train_step(d, fx.optim, beh, NULL, 2, 2, labels, NULL));
    EXPECT(SEQGEN_EMISMATCH, seqgen_optim_step(o, fx.model));
    assert_int_equal(seqgen_optim_step_count(o), 0);
    seqgen_optim_free(o);
    seqgen_discriminator_free(d);
}

static void discriminator_input_gradient(void)
{
    seqgen_discriminator *d = make_discriminator();
    float beh[2 * 2 * 3] = {0}, labels[2] = {1.0f, 1.0f}, db[2 * 2 * 3];
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_input_gradient(NULL, beh, NULL, 2, 2, labels, db,
                                                              NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_input_gradient(d, NULL, NULL, 2, 2, labels, db,
                                                              NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_input_gradient(d, beh, NULL, 2, 2, NULL, db,
                                                              NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_input_gradient(d, beh, NULL, 2, 2, labels, NULL,
                                                              NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_discriminator_input_gradient(d, beh, NULL, 0, 2, labels, db,
                                                              NULL));
    seqgen_discriminator_free(d);
}

/* ---- Professor forcing's step ------------------------------------------------------------- */

static void professor_config_default(void)
{
    seqgen_professor_config c = seqgen_professor_config_default(NULL);
    assert_int_equal(c.disc.features, 0);
    seqgen_professor *pf = NULL;
    EXPECT(SEQGEN_EINVAL, seqgen_professor_create(&pf, fx.model, &c)); /* features 0 */
    assert_null(pf);
}

static void professor_create(void)
{
    seqgen_professor *pf = NULL;
    seqgen_professor_config c = seqgen_professor_config_default(fx.model);
    EXPECT(SEQGEN_EINVAL, seqgen_professor_create(NULL, fx.model, &c));
    EXPECT(SEQGEN_EINVAL, seqgen_professor_create(&pf, NULL, &c));
    EXPECT(SEQGEN_EINVAL, seqgen_professor_create(&pf, fx.model, NULL));
    EXPECT(SEQGEN_EMISMATCH, seqgen_professor_create(&pf, fx.other, &c));
    seqgen_model *sym = symbol_model();
    EXPECT(SEQGEN_EINVAL, seqgen_professor_create(&pf, sym, &c));
    seqgen_model_free(sym);
    c.band_high = 2.0;
    EXPECT(SEQGEN_EINVAL, seqgen_professor_create(&pf, fx.model, &c));
    c = seqgen_professor_config_default(fx.model), c.disc_optim.lr = -1.0;
    EXPECT(SEQGEN_EINVAL, seqgen_professor_create(&pf, fx.model, &c));
    assert_null(pf);
}

static void professor_free(void) { seqgen_professor_free(NULL); }

static void professor_get_config(void)
{
    assert_true(seqgen_professor_get_config(NULL).lambda == 0.0);
}

static void professor_discriminator(void) { assert_null(seqgen_professor_discriminator(NULL)); }

static void professor_step(void)
{
    seqgen_professor *pf = NULL;
    seqgen_professor_config c = seqgen_professor_config_default(fx.model);
    assert_ok(seqgen_professor_create(&pf, fx.model, &c));
    float x[2 * 3 * 2] = {0};
    EXPECT(SEQGEN_EINVAL, seqgen_professor_step(NULL, fx.model, x, 2, 3, NULL, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_professor_step(pf, NULL, x, 2, 3, NULL, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_professor_step(pf, fx.model, NULL, 2, 3, NULL, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_professor_step(pf, fx.model, x, 0, 3, NULL, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_professor_step(pf, fx.model, x, 2, 1, NULL, NULL, NULL));
    EXPECT(SEQGEN_EMISMATCH, seqgen_professor_step(pf, fx.other, x, 2, 3, NULL, NULL, NULL));
    x[0] = 2.0f; /* not in [0, 1]: the teacher-forced pass refuses it */
    EXPECT(SEQGEN_EINVAL, seqgen_professor_step(pf, fx.model, x, 2, 3, NULL, NULL, NULL));
    seqgen_professor_free(pf);
}

/* ---- Scheduler ----------------------------------------------------------------------------- */

static void sched_config_default(void)
{
    seqgen_sched_config cfg = seqgen_sched_config_default((seqgen_sched_kind)42);
    seqgen_sched *s = NULL;
    EXPECT(SEQGEN_EINVAL, seqgen_sched_create(&s, &cfg));
    assert_null(s);
}

static void sched_create(void)
{
    seqgen_sched *s = NULL;
    seqgen_sched_config good = seqgen_sched_config_default(SEQGEN_SCHED_LINEAR);
    EXPECT(SEQGEN_EINVAL, seqgen_sched_create(NULL, &good));
    EXPECT(SEQGEN_EINVAL, seqgen_sched_create(&s, NULL));
    for (int i = 0; i < 10; i++) {
        seqgen_sched_config c = good;
        switch (i) {
        case 0: c.kind = (seqgen_sched_kind)9; break;
        case 1: c.unit = (seqgen_sched_unit)9; break;
        case 2: c.k = NAN; break;
        case 3: c.eps = 2; break;
        case 4: c.k = 2; break;
        case 5: c.c = -1; break;
        case 6: c.c = INFINITY; break;
        case 7: c = seqgen_sched_config_default(SEQGEN_SCHED_EXPONENTIAL); c.k = 1; break;
        case 8: c = seqgen_sched_config_default(SEQGEN_SCHED_INVERSE_SIGMOID); c.k = 0.5; break;
        default: c = seqgen_sched_config_default(SEQGEN_SCHED_CONSTANT); c.k = -0.5; break;
        }
        EXPECT(SEQGEN_EINVAL, seqgen_sched_create(&s, &c));
    }
    assert_null(s);
}

static void sched_free(void) { seqgen_sched_free(NULL); }

static void sched_get_config(void)
{
    seqgen_sched_config cfg = seqgen_sched_config_default(SEQGEN_SCHED_CONSTANT);
    seqgen_sched_get_config(NULL, &cfg);
    assert_int_equal(cfg.kind, SEQGEN_SCHED_CONSTANT); /* untouched */
    seqgen_sched_get_config(fx.sched, NULL);
}

static void sched_p(void) { assert_true(isnan(seqgen_sched_p(NULL, 3, 1))); }

/* ---- Completion and evaluation ------------------------------------------------------------- */

static void complete_options_default(void)
{
    seqgen_complete_options o = seqgen_complete_options_default();
    assert_true(o.temperature > 0);
}

static void complete(void)
{
    const seqgen_model *m = fx.model; /* D = 2 */
    const float *x = fx.pixels;
    float *y = fx.out;
    enum { T = PIXELS / 2 };
    seqgen_complete_options o = seqgen_complete_options_default();
    EXPECT(SEQGEN_EINVAL, seqgen_complete(NULL, x, 1, T, NULL, 2, NULL, y, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_complete(m, NULL, 1, T, NULL, 2, NULL, y, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_complete(m, x, 1, T, NULL, 2, NULL, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_complete(m, x, 0, T, NULL, 2, NULL, y, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_complete(m, x, 1, 0, NULL, 0, NULL, y, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_complete(m, x, 1, -4, NULL, 2, NULL, y, NULL));
    const size_t no_steps[1] = {0}, too_long[1] = {T + 1};
    EXPECT(SEQGEN_EINVAL, seqgen_complete(m, x, 1, T, no_steps, 2, NULL, y, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_complete(m, x, 1, T, too_long, 2, NULL, y, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_complete(m, x, 1, T, NULL, -2, NULL, y, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_complete(m, x, 1, T, NULL, PIXELS + 2, NULL, y, NULL));
    o.decode = SEQGEN_DECODE_SAMPLE, o.temperature = 0;
    EXPECT(SEQGEN_EINVAL, seqgen_complete(m, x, 1, T, NULL, 2, &o, y, NULL));
    o.temperature = NAN;
    EXPECT(SEQGEN_EINVAL, seqgen_complete(m, x, 1, T, NULL, 2, &o, y, NULL));
    o = seqgen_complete_options_default();
    o.decode = (seqgen_decode)7;
    EXPECT(SEQGEN_EINVAL, seqgen_complete(m, x, 1, T, NULL, 2, &o, y, NULL));
    float nan_given[PIXELS] = {0, NAN, 0, 0};
    EXPECT(SEQGEN_EINVAL, seqgen_complete(m, nan_given, 1, T, NULL, 2, NULL, y, NULL));
}

static void generate_options_default(void)
{
    seqgen_generate_options o = seqgen_generate_options_default();
    assert_true(o.decode == SEQGEN_DECODE_GREEDY && o.temperature == 1.0 && o.top_k == 0);
    assert_true(o.top_p == 1.0 && o.end_symbol == -1);
}

static void generate(void)
{
    seqgen_model *m = symbol_model(); /* V = 5, no start step */
    int32_t in[6] = {0, 1, 2, 3, 4, 0}, out[6];
    const size_t given[2] = {1, 2}, empty[2] = {1, 0}, too_long[2] = {4, 1};
    size_t lengths[2];
    float probs[6];
    seqgen_generate_options o = seqgen_generate_options_default();
    EXPECT(SEQGEN_EINVAL, seqgen_generate(NULL, in, given, 2, 3, NULL, out, lengths, probs));
    EXPECT(SEQGEN_EINVAL, seqgen_generate(m, NULL, given, 2, 3, NULL, out, lengths, probs));
    EXPECT(SEQGEN_EINVAL, seqgen_generate(m, in, given, 2, 3, NULL, NULL, lengths, probs));
    EXPECT(SEQGEN_EINVAL, seqgen_generate(fx.model, in, given, 2, 3, NULL, out, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_generate(m, in, given, 0, 3, NULL, out, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_generate(m, in, given, 2, 0, NULL, out, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_generate(m, in, given, 2, -3, NULL, out, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_generate(m, in, empty, 2, 3, NULL, out, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_generate(m, NULL, NULL, 2, 3, NULL, out, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_generate(m, in, too_long, 2, 3, NULL, out, NULL, NULL));
    in[4] = 5;
    EXPECT(SEQGEN_EINVAL, seqgen_generate(m, in, given, 2, 3, NULL, out, NULL, NULL));
    in[4] = 4;
    o.top_k = -1;
    EXPECT(SEQGEN_EINVAL, seqgen_generate(m, in, given, 2, 3, &o, out, NULL, NULL));
    o = seqgen_generate_options_default(), o.top_p = 0;
    EXPECT(SEQGEN_EINVAL, seqgen_generate(m, in, given, 2, 3, &o, out, NULL, NULL));
    o = seqgen_generate_options_default(), o.temperature = -1;
    EXPECT(SEQGEN_EINVAL, seqgen_generate(m, in, given, 2, 3, &o, out, NULL, NULL));
    o = seqgen_generate_options_default(), o.end_symbol = 5;
    EXPECT(SEQGEN_EINVAL, seqgen_generate(m, in, given, 2, 3, &o, out, NULL, NULL));
    o = seqgen_generate_options_default(), o.decode = (seqgen_decode)9;
    EXPECT(SEQGEN_EINVAL, seqgen_generate(m, in, given, 2, 3, &o, out, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_generate(m, in, given, 2, 3, NULL, in + 1, NULL, NULL));
    assert_ok(seqgen_generate(m, in, given, 2, 3, NULL, out, lengths, probs));
    seqgen_model_free(m);
}

static void symbol_eval_options_default(void)
{
    seqgen_symbol_eval_options o = seqgen_symbol_eval_options_default();
    assert_true(o.metrics == (SEQGEN_EVAL_LOSS | SEQGEN_EVAL_COMPLETION) && o.batch_size > 0);
    assert_true(o.given == SEQGEN_GIVEN_HALF && o.generate.end_symbol == SEQGEN_VOCAB_END);
}

static void evaluate_symbols(void)
{
    seqgen_model *m = symbol_model(); /* V = 5, no start step */
    const int32_t symbols[6] = {1, 2, 0, 3, 0, 0};
    const size_t lengths[2] = {3, 2};
    seqgen_symbol_sequences seqs = {symbols, 2, 3, lengths, 5}, other = {symbols, 2, 3, NULL, 6};
    seqgen_symbol_dataset *ds = NULL, *ds6 = NULL;
    assert_ok(seqgen_symbol_dataset_from_memory(&ds, &seqs));
    assert_ok(seqgen_symbol_dataset_from_memory(&ds6, &other));
    seqgen_symbol_eval_results r;
    seqgen_symbol_eval_options o = seqgen_symbol_eval_options_default();
    EXPECT(SEQGEN_EINVAL, seqgen_evaluate_symbols(NULL, ds, ds, &o, &r));
    EXPECT(SEQGEN_EINVAL, seqgen_evaluate_symbols(m, NULL, ds, &o, &r));
    EXPECT(SEQGEN_EINVAL, seqgen_evaluate_symbols(m, ds, ds, &o, NULL));
    EXPECT(SEQGEN_EMISMATCH, seqgen_evaluate_symbols(fx.model, ds, NULL, &o, &r));
    EXPECT(SEQGEN_EMISMATCH, seqgen_evaluate_symbols(m, ds6, NULL, &o, &r));
    EXPECT(SEQGEN_EMISMATCH, seqgen_evaluate_symbols(m, ds, ds6, &o, &r));
    o.metrics = SEQGEN_EVAL_ALL;
    EXPECT(SEQGEN_EINVAL, seqgen_evaluate_symbols(m, ds, NULL, &o, &r));
    o = seqgen_symbol_eval_options_default(), o.given = 0; /* no start step */
    EXPECT(SEQGEN_EINVAL, seqgen_evaluate_symbols(m, ds, NULL, &o, &r));
    o = seqgen_symbol_eval_options_default(), o.given = -7;
    EXPECT(SEQGEN_EINVAL, seqgen_evaluate_symbols(m, ds, NULL, &o, &r));
    o = seqgen_symbol_eval_options_default(), o.generate.top_k = -1;
    EXPECT(SEQGEN_EINVAL, seqgen_evaluate_symbols(m, ds, NULL, &o, &r));
    o = seqgen_symbol_eval_options_default(), o.max_steps = 2;
    EXPECT(SEQGEN_EINVAL, seqgen_evaluate_symbols(m, ds, NULL, &o, &r));
    o = seqgen_symbol_eval_options_default(), o.batch_size = 0;
    EXPECT(SEQGEN_EINVAL, seqgen_evaluate_symbols(m, ds, NULL, &o, &r));
    o = seqgen_symbol_eval_options_default(), o.chunk_size = 65;
    EXPECT(SEQGEN_EINVAL, seqgen_evaluate_symbols(m, ds, NULL, &o, &r));
    o = seqgen_symbol_eval_options_default(), o.first = 2;
    EXPECT(SEQGEN_EINVAL, seqgen_evaluate_symbols(m, ds, NULL, &o, &r));
    assert_ok(seqgen_evaluate_symbols(m, ds, ds, NULL, &r));
    assert_int_equal(r.sequences, 2);
    seqgen_symbol_dataset_free(ds6);
    seqgen_symbol_dataset_free(ds);
    seqgen_model_free(m);
}

static void eval_options_default(void)
{
    seqgen_eval_options o = seqgen_eval_options_default();
    assert_true(o.metrics != 0 && o.batch_size > 0);
}

static void evaluate_dataset(void)
{
    seqgen_eval_results r;
    seqgen_eval_options o = seqgen_eval_options_default();
    o.given = 2;
    EXPECT(SEQGEN_EINVAL, seqgen_evaluate_dataset(NULL, fx.ds, fx.ds, &o, &r));
    EXPECT(SEQGEN_EINVAL, seqgen_evaluate_dataset(fx.model, NULL, fx.ds, &o, &r));
    EXPECT(SEQGEN_EINVAL, seqgen_evaluate_dataset(fx.model, fx.ds, fx.ds, &o, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_evaluate_dataset(fx.model, fx.ds, NULL, &o, &r)); /* digit metric */
    seqgen_eval_options bad = o;
    bad.metrics = 0;
    EXPECT(SEQGEN_EINVAL, seqgen_evaluate_dataset(fx.model, fx.ds, fx.ds, &bad, &r));
    bad = o, bad.given = PIXELS + 2;
    EXPECT(SEQGEN_EINVAL, seqgen_evaluate_dataset(fx.model, fx.ds, fx.ds, &bad, &r));
    bad = o, bad.batch_size = 0;
    EXPECT(SEQGEN_EINVAL, seqgen_evaluate_dataset(fx.model, fx.ds, fx.ds, &bad, &r));
}

/* ---- Checkpoints --------------------------------------------------------------------------- */

static void checkpoint_save(void)
{
    seqgen_train_state wrong = {fx.other_optim, NULL, NULL, 0, 0, seqgen_run_config_default(), NULL, NULL};
    EXPECT(SEQGEN_EINVAL, seqgen_checkpoint_save(NULL, fx.model, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_checkpoint_save(fx.model_ckpt, NULL, NULL));
    EXPECT(SEQGEN_EINVAL, seqgen_checkpoint_save(fx.model_ckpt, fx.model, &wrong));
    wrong.optim = NULL;
    wrong.run.batches.batch_size = 0; /* a run out of range */
    EXPECT(SEQGEN_EINVAL, seqgen_checkpoint_save(fx.model_ckpt, fx.model, &wrong));
    EXPECT(SEQGEN_ENOENT, seqgen_checkpoint_save("", fx.model, NULL));
    seqgen_model *m = NULL;
    assert_ok(seqgen_checkpoint_load_model(&m, fx.model_ckpt)); /* the old file is intact */
    seqgen_model_free(m);
}

static void checkpoint_save_with_vocab(void)
{
    seqgen_vocab *v = abc_vocab();
    EXPECT(SEQGEN_EINVAL, seqgen_checkpoint_save_with_vocab(NULL, fx.model, NULL, v));
    EXPECT(SEQGEN_EINVAL, seqgen_checkpoint_save_with_vocab(fx.model_ckpt, NULL, NULL, v));
    EXPECT(SEQGEN_EINVAL, seqgen_checkpoint_save_with_vocab(fx.model_ckpt, fx.model, NULL, NULL));
    /* a model of binary units has no vocabulary */
    EXPECT(SEQGEN_EMISMATCH, seqgen_checkpoint_save_with_vocab(fx.model_ckpt, fx.model, NULL, v));
    seqgen_vocab_free(v);
}

static void checkpoint_load_vocab(void)
{
    seqgen_vocab *v = NULL;
    EXPECT(SEQGEN_EINVAL, seqgen_checkpoint_load_vocab(NULL, fx.model_ckpt));
    EXPECT(SEQGEN_EINVAL, seqgen_checkpoint_load_vocab(&v, NULL));
    EXPECT(SEQGEN_ENOENT, seqgen_checkpoint_load_vocab(&v, ""));
    EXPECT(SEQGEN_EFORMAT, seqgen_checkpoint_load_vocab(&v, fx.images));
    assert_null(v);
    assert_ok(seqgen_checkpoint_load_vocab(&v, fx.model_ckpt));
    assert_null(v); /* none saved */
}

static void checkpoint_load_model(void)
{
    seqgen_model *m = NULL;
    EXPECT(SEQGEN_EINVAL, seqgen_checkpoint_load_model(NULL, fx.model_ckpt));
    EXPECT(SEQGEN_EINVAL, seqgen_checkpoint_load_model(&m, NULL));
    EXPECT(SEQGEN_ENOENT, seqgen_checkpoint_load_model(&m, ""));
    EXPECT(SEQGEN_EFORMAT, seqgen_checkpoint_load_model(&m, fx.images));
    assert_null(m);
}

static void checkpoint_load_training(void)
{
    seqgen_model *m = NULL, *other = fx.other;
    seqgen_train_state t = {NULL, NULL, NULL, 0, 0, seqgen_run_config_default(), NULL, NULL};
    EXPECT(SEQGEN_EINVAL, seqgen_checkpoint_load_training(NULL, &m, &t));
    EXPECT(SEQGEN_EINVAL, seqgen_checkpoint_load_training(fx.train_ckpt, NULL, &t));
    EXPECT(SEQGEN_EINVAL, seqgen_checkpoint_load_training(fx.train_ckpt, &m, NULL));
    EXPECT(SEQGEN_EMISMATCH, seqgen_checkpoint_load_training(fx.model_ckpt, &m, &t));
    EXPECT(SEQGEN_EMISMATCH, seqgen_checkpoint_load_training(fx.train_ckpt, &other, &t));
    t.optim = fx.other_optim;
    EXPECT(SEQGEN_EMISMATCH, seqgen_checkpoint_load_training(fx.train_ckpt, &m, &t));
    assert_true(m == NULL && other == fx.other && t.optim == fx.other_optim && !t.sched);
}

static void run_config_default(void)
{
    seqgen_run_config run = seqgen_run_config_default(); /* valid as it is for D = 1 */
    seqgen_train_state t = {NULL, NULL, NULL, 0, 0, run, NULL, NULL};
    char path[sizeof fx.train_ckpt + 8];
    snprintf(path, sizeof path, "%s.d1", fx.train_ckpt);
    assert_ok(seqgen_checkpoint_save(path, fx.other, &t));
    /* a run whose batches have another D than the model's is refused */
    EXPECT(SEQGEN_EMISMATCH, seqgen_checkpoint_save(path, fx.model, &t));
    assert_int_equal(run.epochs, 10);
    assert_int_equal(run.train_sequences, 0);
    assert_string_equal(run.data_source, "");
}

static void checkpoint_inspect(void)
{
    seqgen_checkpoint_info info;
    EXPECT(SEQGEN_EINVAL, seqgen_checkpoint_inspect(NULL, &info));
    EXPECT(SEQGEN_EINVAL, seqgen_checkpoint_inspect(fx.model_ckpt, NULL));
    EXPECT(SEQGEN_ENOENT, seqgen_checkpoint_inspect("", &info));
}

/* ---- The table ----------------------------------------------------------------------------- */

typedef struct misuse_case {
    const char *function;
    void (*check)(void);
} misuse_case;

#define CASE(fn, check) {#fn, check}
static const misuse_case cases[] = {
    CASE(seqgen_version, version),
    CASE(seqgen_strerror, strerror_any),
    CASE(seqgen_last_error, last_error),
    CASE(seqgen_set_last_error, set_last_error),
    CASE(seqgen_dataset_open, dataset_open),
    CASE(seqgen_dataset_open_dir, dataset_open_dir),
    CASE(seqgen_data_limits_default, data_limits_default),
    CASE(seqgen_dataset_open_with_limits, dataset_open_with_limits),
    CASE(seqgen_dataset_open_dir_with_limits, dataset_open_dir_with_limits),
    CASE(seqgen_dataset_free, dataset_free),
    CASE(seqgen_dataset_count, dataset_count),
    CASE(seqgen_dataset_rows, dataset_rows),
    CASE(seqgen_dataset_cols, dataset_cols),
    CASE(seqgen_dataset_units, dataset_units),
    CASE(seqgen_dataset_steps, dataset_steps),
    CASE(seqgen_dataset_units_per_step, dataset_units_per_step),
    CASE(seqgen_dataset_is_binary, dataset_is_binary),
    CASE(seqgen_dataset_has_lengths, dataset_has_lengths),
    CASE(seqgen_dataset_has_labels, dataset_has_labels),
    CASE(seqgen_dataset_length, dataset_length),
    CASE(seqgen_dataset_raw, dataset_raw),
    CASE(seqgen_dataset_from_memory, dataset_from_memory),
    CASE(seqgen_dataset_open_npy, dataset_open_npy),
    CASE(seqgen_dataset_label, dataset_label),
    CASE(seqgen_dataset_limit, dataset_limit),
    CASE(seqgen_dataset_sequences, dataset_sequences),
    CASE(seqgen_dataset_nearest, dataset_nearest),
    CASE(seqgen_batch_iter_create, batch_iter_create),
    CASE(seqgen_batch_iter_free, batch_iter_free),
    CASE(seqgen_batch_iter_next, batch_iter_next),
    CASE(seqgen_batch_iter_labels, batch_iter_labels),
    CASE(seqgen_batch_iter_lengths, batch_iter_lengths),
    CASE(seqgen_batch_iter_indices, batch_iter_indices),
    CASE(seqgen_batch_iter_steps, batch_iter_steps),
    CASE(seqgen_batch_iter_batches_per_epoch, batch_iter_batches),
    CASE(seqgen_batch_iter_epoch, batch_iter_epoch),
    CASE(seqgen_batch_iter_position, batch_iter_position),
    CASE(seqgen_batch_iter_seek, batch_iter_seek),
    CASE(seqgen_vocab_create, vocab_create),
    CASE(seqgen_vocab_from_text, vocab_from_text),
    CASE(seqgen_vocab_free, vocab_free),
    CASE(seqgen_vocab_size, vocab_size),
    CASE(seqgen_vocab_code_point, vocab_code_point),
    CASE(seqgen_vocab_symbol_text, vocab_symbol_text),
    CASE(seqgen_vocab_id, vocab_id),
    CASE(seqgen_vocab_encode, vocab_encode),
    CASE(seqgen_vocab_decode, vocab_decode),
    CASE(seqgen_symbol_dataset_from_memory, symbol_dataset_from_memory),
    CASE(seqgen_text_options_default, text_options_default),
    CASE(seqgen_symbol_dataset_open_text, symbol_dataset_open_text),
    CASE(seqgen_symbol_dataset_free, symbol_dataset_free),
    CASE(seqgen_symbol_dataset_count, symbol_dataset_count),
    CASE(seqgen_symbol_dataset_steps, symbol_dataset_steps),
    CASE(seqgen_symbol_dataset_vocab_size, symbol_dataset_vocab_size),
    CASE(seqgen_symbol_dataset_length, symbol_dataset_length),
    CASE(seqgen_symbol_dataset_sequence, symbol_dataset_sequence),
    CASE(seqgen_symbol_dataset_checksum, symbol_dataset_checksum),
    CASE(seqgen_symbol_iter_create, symbol_iter_create),
    CASE(seqgen_symbol_iter_free, symbol_iter_free),
    CASE(seqgen_symbol_iter_next, symbol_iter_next),
    CASE(seqgen_symbol_iter_lengths, symbol_iter_lengths),
    CASE(seqgen_symbol_iter_indices, symbol_iter_indices),
    CASE(seqgen_symbol_iter_steps, symbol_iter_steps),
    CASE(seqgen_symbol_iter_epoch, symbol_iter_epoch),
    CASE(seqgen_symbol_iter_position, symbol_iter_position),
    CASE(seqgen_symbol_iter_seek, symbol_iter_seek),
    CASE(seqgen_model_config_default, model_config_default),
    CASE(seqgen_train_options_default, train_options_default),
    CASE(seqgen_model_create, model_create),
    CASE(seqgen_model_free, model_free),
    CASE(seqgen_model_get_config, model_get_config),
    CASE(seqgen_model_set_threads, model_set_threads),
    CASE(seqgen_model_param_count, model_param_count),
    CASE(seqgen_model_tensor_count, model_tensor_count),
    CASE(seqgen_model_gradients, model_gradients),
    CASE(seqgen_model_parameters, model_parameters),
    CASE(seqgen_model_tensor_info, model_tensor_info),
    CASE(seqgen_model_get_tensor, model_get_tensor),
    CASE(seqgen_model_set_tensor, model_set_tensor),
    CASE(seqgen_model_get_grad, model_get_grad),
    CASE(seqgen_model_forward_backward, model_forward_backward),
    CASE(seqgen_batch_of_sequences, batch_of_sequences),
    CASE(seqgen_model_evaluate, model_evaluate),
    CASE(seqgen_model_state_create, model_state_create),
    CASE(seqgen_model_state_free, model_state_free),
    CASE(seqgen_model_state_reset, model_state_reset),
    CASE(seqgen_model_step, model_step),
    CASE(seqgen_model_step_units, model_step_units),
    CASE(seqgen_symbol_batch_of_sequences, symbol_batch_of_sequences),
    CASE(seqgen_model_forward_backward_symbols, model_forward_backward_symbols),
    CASE(seqgen_model_evaluate_symbols, model_evaluate_symbols),
    CASE(seqgen_model_step_symbols, model_step_symbols),
    CASE(seqgen_optim_config_default, optim_config_default),
    CASE(seqgen_optim_create, optim_create),
    CASE(seqgen_optim_free, optim_free),
    CASE(seqgen_optim_step, optim_step),
    CASE(seqgen_optim_get_lr, optim_get_lr),
    CASE(seqgen_optim_set_lr, optim_set_lr),
    CASE(seqgen_optim_step_count, optim_step_count),
    CASE(seqgen_optim_last_grad_norm, optim_last_grad_norm),
    CASE(seqgen_discriminator_config_default, discriminator_config_default),
    CASE(seqgen_discriminator_create, discriminator_create),
    CASE(seqgen_discriminator_free, discriminator_free),
    CASE(seqgen_discriminator_param_count, discriminator_param_count),
    CASE(seqgen_discriminator_optim_create, discriminator_optim_create),
    CASE(seqgen_discriminator_classify, discriminator_classify),
    CASE(seqgen_discriminator_train_step, discriminator_train_step),
    CASE(seqgen_discriminator_input_gradient, discriminator_input_gradient),
    CASE(seqgen_professor_config_default, professor_config_default),
    CASE(seqgen_professor_create, professor_create),
    CASE(seqgen_professor_free, professor_free),
    CASE(seqgen_professor_get_config, professor_get_config),
    CASE(seqgen_professor_discriminator, professor_discriminator),
    CASE(seqgen_professor_step, professor_step),
    CASE(seqgen_sched_config_default, sched_config_default),
    CASE(seqgen_sched_create, sched_create),
    CASE(seqgen_sched_free, sched_free),
    CASE(seqgen_sched_get_config, sched_get_config),
    CASE(seqgen_sched_p, sched_p),
    CASE(seqgen_complete_options_default, complete_options_default),
    CASE(seqgen_complete, complete),
    CASE(seqgen_eval_options_default, eval_options_default),
    CASE(seqgen_evaluate_dataset, evaluate_dataset),
    CASE(seqgen_generate_options_default, generate_options_default),
    CASE(seqgen_generate, generate),
    CASE(seqgen_symbol_eval_options_default, symbol_eval_options_default),
    CASE(seqgen_evaluate_symbols, evaluate_symbols),
    CASE(seqgen_run_config_default, run_config_default),
    CASE(seqgen_checkpoint_save, checkpoint_save),
    CASE(seqgen_checkpoint_save_with_vocab, checkpoint_save_with_vocab),
    CASE(seqgen_checkpoint_load_vocab, checkpoint_load_vocab),
    CASE(seqgen_checkpoint_load_model, checkpoint_load_model),
    CASE(seqgen_checkpoint_load_training, checkpoint_load_training),
    CASE(seqgen_checkpoint_inspect, checkpoint_inspect),
};
#define CASE_COUNT (sizeof cases / sizeof cases[0])

/* One cmocka test per row, so that each function's failure is reported on its own. */
static void run_case(void **state)
{
    const misuse_case *c = *state;
    c->check();
}

static int covered(const char *name)
{
    for (size_t i = 0; i < CASE_COUNT; i++)
        if (strcmp(cases[i].function, name) == 0)
            return 1;
    return 0;
}

/* The name of the function a `SEQGEN_API` declaration starting at `decl` declares: the
 * identifier just before its first '('. */
static int declared_name(const char *decl, char *name, size_t size)
{
    const char *paren = strchr(decl, '(');
    if (!paren)
        return 0;
    const char *end = paren;
    while (end > decl && end[-1] == ' ')
        end--;
    const char *start = end;
    while (start > decl && (start[-1] == '_' || (start[-1] >= 'a' && start[-1] <= 'z') ||
                            (start[-1] >= '0' && start[-1] <= '9')))
        start--;
    size_t n = (size_t)(end - start);
    if (n == 0 || n >= size)
        return 0;
    memcpy(name, start, n);
    name[n] = '\0';
    return 1;
}

/* Every `SEQGEN_API` function declared in the public header has a row in the table. */
static void the_table_covers_the_header(void **state)
{
    (void)state;
    FILE *f = fopen("include/seqgen.h", "r");
    assert_non_null(f);
    char line[512], decl[1024], name[128];
    int declared = 0, missing = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "SEQGEN_API ", 11) != 0)
            continue;
        snprintf(decl, sizeof decl, "%s", line);
        while (!strchr(decl, '(') && fgets(line, sizeof line, f)) /* name on a later line */
            strncat(decl, line, sizeof decl - strlen(decl) - 1);
        assert_true(declared_name(decl, name, sizeof name));
        declared++;
        if (!covered(name)) {
            print_error("%s is public but has no misuse case\n", name);
            missing++;
        }
    }
    fclose(f);
    print_message("    %d public functions declared, %zu in the table\n", declared, CASE_COUNT);
    assert_int_equal(missing, 0);
    assert_int_equal((size_t)declared, CASE_COUNT);
}

int main(void)
{
    struct CMUnitTest tests[CASE_COUNT + 1];
    tests[0] = (struct CMUnitTest)cmocka_unit_test(the_table_covers_the_header);
    for (size_t i = 0; i < CASE_COUNT; i++)
        tests[i + 1] = (struct CMUnitTest){cases[i].function, run_case, NULL, NULL, (void *)&cases[i]};
    return _cmocka_run_group_tests("misuse", tests, CASE_COUNT + 1, setup, teardown);
}
