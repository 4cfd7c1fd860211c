/* Data-parallel training's library side: a batch computed as slices, one model copy per slice
 * (seqgen_train_options::slices, slice), gives gradients and statistics that add up
 * to the whole batch's, and leaves every copy's generators where the whole pass leaves them; a
 * test set evaluated in parts (seqgen_eval_options::first/limit) gives, weighted by the counts
 * of seqgen_eval_results, the whole evaluation's numbers. Bad slices and parts are refused.
 *
 * Tolerance: a slice runs the same arithmetic as the whole pass's threads on their rows, but
 * the rows of a GEMM differ (the whole batch's thread slices are not the slices here), so sums
 * agree to float rounding: 1e-5 relative for the losses, 1e-5 of a tensor's largest gradient.
 * A slice that divided by its own predictions instead of the batch's would be off by a factor
 * of about 2; coins drawn for the slice alone would change the second pass's loss by percents. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seqgen.h"

enum { D = 3, H = 12, L = 2, B = 7, LONGEST = 30 };

static const size_t lens[B] = {30, 12, 25, 1, 30, 17, 8};

static seqgen_model *make_model(int start_step, int threads)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = D, cfg.hidden = H, cfg.layers = L, cfg.seed = 11, cfg.threads = threads;
    cfg.start_step = start_step;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    return m;
}

/* Runs one pass over slice `slice` of `slices` of the batch; returns the stats. */
static seqgen_train_stats run(seqgen_model *m, const float *x, int with_lengths, double p,
                              int slice, int slices)
{
    seqgen_batch batch = seqgen_batch_of_sequences(m, x, B, LONGEST);
    batch.lengths = with_lengths ? lens : NULL;
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = SEQGEN_LOSS_BCE, opts.teacher_prob = p;
    opts.slice = slice, opts.slices = slices;
    seqgen_train_stats st;
    assert_ok(seqgen_model_forward_backward(m, &batch, &opts, NULL, &st));
    return st;
}

/* The whole batch on one copy, its two slices (3 and 4 sequences) on two others: sums equal the
 * whole; then a second whole pass on every copy agrees exactly (same generators). */
static void check_slices(int start_step, int with_lengths, double p, int threads)
{
    float *x = tu_random_bits((size_t)B * LONGEST * D, 5);
    seqgen_model *whole = make_model(start_step, threads), *a = make_model(start_step, 1),
                 *b = make_model(start_step, threads);
    seqgen_train_stats sw = run(whole, x, with_lengths, p, 0, 0);
    seqgen_train_stats sa = run(a, x, with_lengths, p, 0, 2);
    seqgen_train_stats sb = run(b, x, with_lengths, p, 1, 2);
    assert_allclose(sa.loss + sb.loss, sw.loss, 1e-5, 0.0);
    assert_allclose(sa.mse + sb.mse, sw.mse, 1e-5, 0.0);
    assert_allclose(sa.bce + sb.bce, sw.bce, 1e-5, 0.0);
    assert_allclose(sa.nll_nats + sb.nll_nats, sw.nll_nats, 1e-5, 0.0);
    assert_true(sa.predictions + sb.predictions == sw.predictions);
    assert_true(sa.mixable + sb.mixable == sw.mixable);
    assert_true(sa.teacher_forced + sb.teacher_forced == sw.teacher_forced);
    assert_true(sa.predictions > 0 && sb.predictions > 0);
    size_t P = seqgen_model_param_count(whole), at = 0;
    const float *gw = seqgen_model_gradients(whole), *ga = seqgen_model_gradients(a),
                *gb = seqgen_model_gradients(b);
    for (int t = 0; t < seqgen_model_tensor_count(whole); t++) {
        int rows, cols;
        assert_ok(seqgen_model_tensor_info(whole, t, NULL, &rows, &cols));
        size_t n = (size_t)rows * cols;
        double largest = 0.0;
        for (size_t i = at; i < at + n; i++)
            largest = fmax(largest, fabs(gw[i]));
        assert_true(largest > 0.0);
        for (size_t i = at; i < at + n; i++)
            assert_allclose(ga[i] + gb[i], gw[i], 0.0, 1e-5 * largest);
        at += n;
    }
    assert_true(at == P);
    /* the generators moved alike: a second whole pass is bit for bit the same on every copy */
    seqgen_train_stats w2 = run(whole, x, with_lengths, p, 0, 0);
    seqgen_train_stats a2 = run(a, x, with_lengths, p, 0, 0);
    seqgen_train_stats b2 = run(b, x, with_lengths, p, 0, 0);
    assert_true(w2.teacher_forced == a2.teacher_forced && w2.teacher_forced == b2.teacher_forced);
    if (threads == 1) /* same thread count as copy a: the same arithmetic */
        assert_true(w2.loss == a2.loss);
    assert_allclose(b2.loss, w2.loss, 1e-6, 0.0);
    seqgen_model_free(whole);
    seqgen_model_free(a);
    seqgen_model_free(b);
    free(x);
}

static void test_slices_add_up_teacher_forcing(void **state)
{
    (void)state;
    check_slices(0, 0, 1.0, 1);
    check_slices(1, 1, 1.0, 2);
    check_slices(0, 1, 1.0, 2);
}

static void test_slices_add_up_scheduled_sampling(void **state)
{
    (void)state;
    check_slices(0, 0, 0.5, 1);
    check_slices(1, 1, 0.3, 2);
}

/* A slice of one sequence of length 1 (no start step) predicts nothing, and a slice of a batch
 * of 7 cut in 8 may hold no sequence: zero gradient and statistics, no stale gradient left
 * behind; the empty slice's coins are still drawn. */
static void test_slice_without_predictions(void **state)
{
    (void)state;
    float *x = tu_random_bits((size_t)B * LONGEST * D, 6);
    seqgen_model *m = make_model(0, 2);
    (void)run(m, x, 1, 1.0, 0, 0); /* non-zero gradients first */
    seqgen_train_stats st = run(m, x, 1, 1.0, 3, 7); /* sequence 3, of length 1 */
    assert_true(st.predictions == 0 && st.mixable == 0);
    assert_true(st.loss == 0.0 && st.nll_nats == 0.0);
    const float *g = seqgen_model_gradients(m);
    for (size_t i = 0; i < seqgen_model_param_count(m); i++)
        assert_true(g[i] == 0.0f);
    (void)run(m, x, 1, 1.0, 0, 0);
    st = run(m, x, 1, 1.0, 0, 8); /* floor(7 * 1 / 8) = 0: slice 0 of 8 is empty */
    assert_true(st.predictions == 0 && st.loss == 0.0);
    for (size_t i = 0; i < seqgen_model_param_count(m); i++)
        assert_true(g[i] == 0.0f);
    seqgen_model *other = make_model(0, 2), *empty = make_model(0, 1);
    (void)run(other, x, 1, 0.5, 0, 0);
    (void)run(empty, x, 1, 0.5, 0, 8); /* draws the batch's coins all the same */
    seqgen_train_stats so = run(other, x, 1, 0.5, 0, 0), se = run(empty, x, 1, 0.5, 0, 0);
    assert_true(so.teacher_forced == se.teacher_forced);
    seqgen_model_free(other);
    seqgen_model_free(empty);
    seqgen_model_free(m);
    free(x);
}

/* Only the slice's probabilities are written; the other sequences' are left as they were. */
static void test_slice_writes_its_probabilities_only(void **state)
{
    (void)state;
    float *x = tu_random_bits((size_t)B * LONGEST * D, 7);
    seqgen_model *m = make_model(1, 2);
    seqgen_batch batch = seqgen_batch_of_sequences(m, x, B, LONGEST);
    const size_t per = (size_t)batch.steps * D;
    float *probs = malloc(B * per * sizeof *probs), *whole = malloc(B * per * sizeof *whole);
    assert_non_null(probs);
    assert_non_null(whole);
    assert_ok(seqgen_model_evaluate(m, &batch, SEQGEN_LOSS_BCE, whole, NULL));
    for (size_t i = 0; i < B * per; i++)
        probs[i] = -1.0f;
    seqgen_train_options opts = seqgen_train_options_default();
    opts.slice = 1, opts.slices = 3; /* sequences 2 and 3 */
    assert_ok(seqgen_model_forward_backward(m, &batch, &opts, probs, NULL));
    for (size_t s = 0; s < B; s++)
        for (size_t i = 0; i < per; i++) {
            float v = probs[s * per + i];
            if (s >= 2 && s < 4)
                assert_allclose(v, whole[s * per + i], 1e-5, 1e-6);
            else
                assert_true(v == -1.0f);
        }
    free(probs);
    free(whole);
    seqgen_model_free(m);
    free(x);
}

/* Garbage outside the slice is never read. */
static void test_slice_reads_its_sequences_only(void **state)
{
    (void)state;
    float *x = tu_random_bits((size_t)B * LONGEST * D, 8);
    for (size_t i = 0; i < (size_t)LONGEST * D; i++)
        x[i] = NAN; /* sequence 0 */
    seqgen_model *m = make_model(0, 1);
    (void)run(m, x, 0, 1.0, 1, 7); /* sequence 1 */
    seqgen_batch batch = seqgen_batch_of_sequences(m, x, B, LONGEST);
    assert_int_equal(seqgen_model_forward_backward(m, &batch, NULL, NULL, NULL), SEQGEN_EINVAL);
    assert_non_null(strstr(seqgen_last_error(), "sequence 0"));
    seqgen_model_free(m);
    free(x);
}

static void test_bad_slices_are_refused(void **state)
{
    (void)state;
    float *x = tu_random_bits((size_t)B * LONGEST * D, 9);
    seqgen_model *m = make_model(0, 1);
    seqgen_batch batch = seqgen_batch_of_sequences(m, x, B, LONGEST);
    const int bad[][2] = {{-1, 2}, {0, -1}, {1, 0}, {1, 1}, {3, 3}, {-1, 0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        seqgen_train_options opts = seqgen_train_options_default();
        opts.slice = bad[i][0], opts.slices = bad[i][1];
        assert_int_equal(seqgen_model_forward_backward(m, &batch, &opts, NULL, NULL),
                         SEQGEN_EINVAL);
        assert_non_null(strstr(seqgen_last_error(), "slice"));
    }
    seqgen_model_free(m);
    free(x);
}

/* A categorical model's slices add up too (symbols, cross-entropy, sampled feedback). */
static void test_symbol_slices_add_up(void **state)
{
    (void)state;
    enum { V = 5, E = 4, TS = LONGEST };
    int32_t symbols[B * TS];
    for (int i = 0; i < B * TS; i++)
        symbols[i] = (int32_t)((i * 7 + i / 3) % V);
    seqgen_model *copies[3];
    for (int c = 0; c < 3; c++) {
        seqgen_model_config cfg = seqgen_model_config_default();
        cfg.hidden = H, cfg.vocab = V, cfg.embedding = E, cfg.seed = 4, cfg.threads = 1 + (c == 0);
        copies[c] = NULL;
        assert_ok(seqgen_model_create(&copies[c], &cfg));
    }
    seqgen_train_stats st[3];
    for (int c = 0; c < 3; c++) {
        seqgen_symbol_batch batch = seqgen_symbol_batch_of_sequences(copies[c], symbols, B, TS);
        batch.lengths = lens;
        seqgen_train_options opts = seqgen_train_options_default();
        opts.loss = SEQGEN_LOSS_CE, opts.teacher_prob = 0.5;
        opts.slice = c == 0 ? 0 : c - 1, opts.slices = c == 0 ? 0 : 2;
        assert_ok(seqgen_model_forward_backward_symbols(copies[c], &batch, &opts, NULL, &st[c]));
    }
    assert_allclose(st[1].loss + st[2].loss, st[0].loss, 1e-5, 0.0);
    assert_allclose(st[1].nll_nats + st[2].nll_nats, st[0].nll_nats, 1e-5, 0.0);
    assert_true(st[1].teacher_forced + st[2].teacher_forced == st[0].teacher_forced);
    const float *g0 = seqgen_model_gradients(copies[0]), *g1 = seqgen_model_gradients(copies[1]),
                *g2 = seqgen_model_gradients(copies[2]);
    double largest = 0.0;
    for (size_t i = 0; i < seqgen_model_param_count(copies[0]); i++)
        largest = fmax(largest, fabs(g0[i]));
    for (size_t i = 0; i < seqgen_model_param_count(copies[0]); i++)
        assert_allclose(g1[i] + g2[i], g0[i], 0.0, 1e-5 * largest);
    for (int c = 0; c < 3; c++)
        seqgen_model_free(copies[c]);
}

/* ---- Evaluation in parts -------------------------------------------------------------------- */

enum { N = 23, T = 12, TRAIN = 40 };

static seqgen_dataset *make_set(size_t count, uint64_t seed, int with_lengths)
{
    float *x = tu_random_bits(count * T * D, seed);
    uint8_t *units = malloc(count * T * D);
    int64_t *labels = malloc(count * sizeof *labels);
    size_t *lengths = malloc(count * sizeof *lengths);
    assert_non_null(x);
    assert_non_null(units);
    assert_non_null(labels);
    assert_non_null(lengths);
    for (size_t i = 0; i < count * T * D; i++)
        units[i] = x[i] != 0.0f;
    for (size_t i = 0; i < count; i++) {
        labels[i] = units[i * T * D] + 2 * units[i * T * D + 1];
        lengths[i] = 2 + (i * 7) % (T - 1);
    }
    seqgen_sequences seqs = {units, count, T, D, with_lengths ? lengths : NULL, labels};
    seqgen_dataset *ds = NULL;
    assert_ok(seqgen_dataset_from_memory(&ds, &seqs, SEQGEN_COPY));
    free(x);
    free(units);
    free(labels);
    free(lengths);
    return ds;
}

static void check_parts(int with_lengths, seqgen_decode decode)
{
    seqgen_dataset *test = make_set(N, 21, with_lengths), *train = make_set(TRAIN, 22, 0);
    seqgen_model *m = make_model(1, 2);
    seqgen_eval_options opts = seqgen_eval_options_default();
    opts.given = 10, opts.complete.decode = decode, opts.batch_size = 4;
    seqgen_eval_results whole, part[3];
    assert_ok(seqgen_evaluate_dataset(m, test, train, &opts, &whole));
    const size_t cuts[4] = {0, 9, 10, N};
    for (int k = 0; k < 3; k++) {
        opts.first = cuts[k], opts.limit = cuts[k + 1] - cuts[k];
        assert_ok(seqgen_evaluate_dataset(m, test, train, &opts, &part[k]));
        assert_true(part[k].sequences == opts.limit);
    }
    double seqs = 0, pred = 0, gen = 0, nll = 0, mse = 0, err = 0, kept = 0, truth = 0;
    for (int k = 0; k < 3; k++) {
        const seqgen_eval_results *r = &part[k];
        seqs += (double)r->sequences, pred += (double)r->predicted_units;
        gen += (double)r->generated_units;
        nll += r->nll_nats * (double)r->sequences, mse += r->mse * (double)r->predicted_units;
        err += r->unit_error * (double)r->generated_units;
        kept += r->label_kept * (double)r->sequences;
        truth += r->label_kept_truth * (double)r->sequences;
    }
    assert_true(seqs == (double)whole.sequences);
    assert_true(pred == (double)whole.predicted_units && pred > 0);
    assert_true(gen == (double)whole.generated_units && gen > 0);
    assert_allclose(nll / seqs, whole.nll_nats, 1e-5, 0.0);
    assert_allclose(mse / pred, whole.mse, 1e-5, 0.0);
    assert_allclose(err / gen, whole.unit_error, 1e-12, 1e-12);
    assert_allclose(kept / seqs, whole.label_kept, 1e-12, 1e-12);
    assert_allclose(truth / seqs, whole.label_kept_truth, 1e-12, 1e-12);
    opts.first = N, opts.limit = 0;
    assert_int_equal(seqgen_evaluate_dataset(m, test, train, &opts, &part[0]), SEQGEN_EINVAL);
    assert_non_null(strstr(seqgen_last_error(), "first test sequence 23"));
    seqgen_model_free(m);
    seqgen_dataset_free(test);
    seqgen_dataset_free(train);
}

static void test_evaluation_parts_combine(void **state)
{
    (void)state;
    check_parts(0, SEQGEN_DECODE_GREEDY);
    check_parts(1, SEQGEN_DECODE_SAMPLE);
}

/* A run's setup is saved without a slice or a part: both are chosen per call. */
static void test_run_config_refuses_slice_and_part(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/slices.ckpt", tu_tempdir());
    seqgen_model *m = make_model(0, 1);
    seqgen_train_state st = {NULL, NULL, NULL, 0, 0, seqgen_run_config_default(), NULL, NULL};
    st.run.batches.units_per_step = D;
    st.run.train.slices = 2;
    assert_int_equal(seqgen_checkpoint_save(path, m, &st), SEQGEN_EINVAL);
    assert_non_null(strstr(seqgen_last_error(), "train.slices"));
    st.run = seqgen_run_config_default();
    st.run.batches.units_per_step = D;
    st.run.eval.first = 1;
    assert_int_equal(seqgen_checkpoint_save(path, m, &st), SEQGEN_EINVAL);
    assert_non_null(strstr(seqgen_last_error(), "eval.first"));
    st.run = seqgen_run_config_default();
    st.run.batches.units_per_step = D;
    assert_ok(seqgen_checkpoint_save(path, m, &st));
    remove(path);
    seqgen_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slices_add_up_teacher_forcing),
        cmocka_unit_test(test_slices_add_up_scheduled_sampling),
        cmocka_unit_test(test_slice_without_predictions),
        cmocka_unit_test(test_slice_writes_its_probabilities_only),
        cmocka_unit_test(test_slice_reads_its_sequences_only),
        cmocka_unit_test(test_bad_slices_are_refused),
        cmocka_unit_test(test_symbol_slices_add_up),
        cmocka_unit_test(test_evaluation_parts_combine),
        cmocka_unit_test(test_run_config_refuses_slice_and_part),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
