/* The model: configuration and tensor API, causality, the teacher-forcing fast path against the
 * step-by-step path and the double reference, scheduled-sampling mixing (p = 1, p = 0 against a
 * greedy rollout, the observed fraction, reproducibility), thread-count independence, saturated
 * units and NaN detection, and the single-step generation API. */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gru_reference.h"
#include "kernels.h"
#include "model.h"
#include "rng.h"
#include "seqgen.h"
#include "train.h"

/* Largest |a - b| relative to the largest |b|. */
static double rel_diff(const float *a, const float *b, size_t n)
{
    double err = 0.0, big = 0.0;
    for (size_t i = 0; i < n; i++) {
        err = fmax(err, fabs((double)a[i] - b[i]));
        big = fmax(big, fabs((double)b[i]));
    }
    return big > 0.0 ? err / big : err;
}

static float *copy_grads(seqgen_model *m)
{
    size_t n = seqgen_model_param_count(m);
    float *g = malloc(n * sizeof *g);
    assert_non_null(g);
    memcpy(g, sg_model_grads(m), n * sizeof *g);
    return g;
}

/* ---- Configuration and tensors -------------------------------------------------------------- */

static void defaults_are_documented_values(void **state)
{
    (void)state;
    seqgen_model_config cfg = seqgen_model_config_default();
    assert_int_equal(cfg.units_per_step, 1);
    assert_int_equal(cfg.hidden, 128);
    assert_int_equal(cfg.layers, 1);
    assert_int_equal(cfg.threads, 0);
    seqgen_train_options opts = seqgen_train_options_default();
    assert_int_equal(opts.loss, SEQGEN_LOSS_MSE);
    assert_true(opts.teacher_prob == 1.0);
    assert_int_equal(opts.feedback, SEQGEN_FEEDBACK_SAMPLE);
}

static void bad_configs_are_rejected(void **state)
{
    (void)state;
    seqgen_model *m = (seqgen_model *)0x1;
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.hidden = 0;
    assert_int_equal(seqgen_model_create(&m, &cfg), SEQGEN_EINVAL);
    assert_non_null(strstr(seqgen_last_error(), "hidden"));
    cfg = seqgen_model_config_default();
    cfg.layers = -1;
    assert_int_equal(seqgen_model_create(&m, &cfg), SEQGEN_EINVAL);
    cfg = seqgen_model_config_default();
    cfg.units_per_step = 0;
    assert_int_equal(seqgen_model_create(&m, &cfg), SEQGEN_EINVAL);
    cfg = seqgen_model_config_default();
    cfg.threads = -2;
    assert_int_equal(seqgen_model_create(&m, &cfg), SEQGEN_EINVAL);
    assert_int_equal(seqgen_model_create(&m, NULL), SEQGEN_EINVAL);
    assert_ptr_equal(m, (seqgen_model *)0x1); /* untouched on failure */
    seqgen_model_free(NULL);
}

static void tensors_have_pytorch_names_and_shapes(void **state)
{
    (void)state;
    const int D = 3, H = 5, L = 2;
    seqgen_model *m = tu_make_model(D, H, L, 1, 1);
    const struct { const char *name; int rows, cols; } expected[] = {
        {"weight_ih_l0", 3 * H, D}, {"weight_hh_l0", 3 * H, H}, {"bias_ih_l0", 3 * H, 1},
        {"bias_hh_l0", 3 * H, 1},   {"weight_ih_l1", 3 * H, H}, {"weight_hh_l1", 3 * H, H},
        {"bias_ih_l1", 3 * H, 1},   {"bias_hh_l1", 3 * H, 1},   {"out.weight", D, H},
        {"out.bias", D, 1}};
    assert_int_equal(seqgen_model_tensor_count(m), 10);
    size_t total = 0;
    for (int i = 0; i < 10; i++) {
        const char *name;
        int rows, cols;
        assert_ok(seqgen_model_tensor_info(m, i, &name, &rows, &cols));
        assert_string_equal(name, expected[i].name);
        assert_int_equal(rows, expected[i].rows);
        assert_int_equal(cols, expected[i].cols);
        assert_int_equal(sg_model_tensor(m, i)->offset, total); /* contiguous, in order */
        total += (size_t)rows * cols;
    }
    assert_int_equal(seqgen_model_param_count(m), total);
    assert_int_equal(seqgen_model_tensor_info(m, 10, NULL, NULL, NULL), SEQGEN_EINVAL);
    seqgen_model_free(m);
}

static void tensor_get_set_and_errors(void **state)
{
    (void)state;
    seqgen_model *m = tu_make_model(2, 4, 1, 1, 1);
    float w[12 * 4], back[12 * 4];
    for (int i = 0; i < 48; i++)
        w[i] = 0.01f * (float)i;
    assert_ok(seqgen_model_set_tensor(m, "weight_hh_l0", w, 48));
    assert_ok(seqgen_model_get_tensor(m, "weight_hh_l0", back, 48));
    assert_memory_equal(w, back, sizeof w);
    /* an unknown name is an invalid argument, not a missing file */
    assert_int_equal(seqgen_model_get_tensor(m, "weight_hh_l1", back, 48), SEQGEN_EINVAL);
    assert_string_equal(seqgen_last_error(), "no tensor called \"weight_hh_l1\" (H=4, L=1)");
    assert_int_equal(seqgen_model_get_tensor(m, "weight_hh_l0", back, 47), SEQGEN_EMISMATCH);
    assert_int_equal(seqgen_model_get_grad(m, "nope", back, 1), SEQGEN_EINVAL);
    assert_int_equal(seqgen_model_set_tensor(m, "", w, 1), SEQGEN_EINVAL);
    assert_null(strstr(seqgen_strerror(SEQGEN_EINVAL), "file"));
    w[5] = NAN;
    assert_int_equal(seqgen_model_set_tensor(m, "weight_hh_l0", w, 48), SEQGEN_ENUMERIC);
    assert_ok(seqgen_model_get_tensor(m, "weight_hh_l0", back, 48));
    assert_false(isnan(back[5])); /* nothing changed */
    seqgen_model_free(m);
}

static void init_is_pytorch_uniform_and_seeded(void **state)
{
    (void)state;
    const int H = 64;
    seqgen_model *a = tu_make_model(1, H, 2, 42, 1), *b = tu_make_model(1, H, 2, 42, 1);
    seqgen_model *c = tu_make_model(1, H, 2, 43, 1);
    const size_t n = seqgen_model_param_count(a);
    const float *pa = sg_model_params_const(a);
    const float bound = 1.0f / sqrtf((float)H);
    double mean = 0.0, sq = 0.0;
    for (size_t i = 0; i < n; i++) {
        assert_true(fabsf(pa[i]) <= bound);
        mean += pa[i];
        sq += (double)pa[i] * pa[i];
    }
    mean /= (double)n;
    /* U(-k, k) has mean 0 and variance k^2 / 3; n ~ 75000 so 5 standard errors are small. */
    assert_allclose(mean, 0.0, 0.0, 5.0 * bound / sqrt(3.0 * n));
    assert_allclose(sq / (double)n, bound * bound / 3.0, 0.02, 0.0);
    assert_memory_equal(pa, sg_model_params_const(b), n * sizeof *pa);
    assert_memory_not_equal(pa, sg_model_params_const(c), n * sizeof *pa);
    seqgen_model_free(a), seqgen_model_free(b), seqgen_model_free(c);
}

/* ---- Forward against the reference, causality ------------------------------------------------ */

static void forward_matches_double_reference(void **state)
{
    (void)state;
    const int D = 2, H = 9, L = 3, B = 5, T = 17;
    seqgen_model *m = tu_make_model(D, H, L, 3, 2);
    const size_t n = (size_t)B * T * D;
    float *x = tu_random_bits(n, 1), *y = tu_random_bits(n, 2), *p = malloc(n * sizeof *p);
    seqgen_train_stats st;
    assert_ok(seqgen_model_evaluate(m, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, SEQGEN_LOSS_BCE, p, &st));
    ref_model r;
    ref_load(&r, m);
    double *xd = malloc(n * sizeof *xd), *yd = malloc(n * sizeof *yd),
           *logits = malloc(n * sizeof *logits);
    for (size_t i = 0; i < n; i++)
        xd[i] = x[i], yd[i] = y[i];
    ref_forward(&r, B, T, xd, NULL, SEQGEN_FEEDBACK_PROB, NULL, logits);
    for (size_t i = 0; i < n; i++)
        assert_allclose(p[i], ref_sigmoid(logits[i]), 1e-5, 1e-7);
    assert_allclose(st.bce, ref_loss(SEQGEN_LOSS_BCE, n, logits, yd), 1e-5, 0.0);
    assert_allclose(st.mse, ref_loss(SEQGEN_LOSS_MSE, n, logits, yd), 1e-5, 0.0);
    assert_allclose(st.nll_nats, ref_loss(SEQGEN_LOSS_BCE, n, logits, yd) * T * D, 1e-5, 0.0);
    ref_free(&r);
    seqgen_model_free(m);
    free(x), free(y), free(p), free(xd), free(yd), free(logits);
}

/* Changing the pixels of steps after t must leave the outputs of steps 0..t bit-identical. */
static void check_causality(int D, int L, int T, const int *cuts, int ncuts, int mixing)
{
    const int B = 3, H = 12;
    seqgen_model *m = tu_make_model(D, H, L, 5, 2);
    const size_t n = (size_t)B * T * D;
    float *x = tu_random_bits(n, 11), *y = tu_random_bits(n, 12), *x2 = malloc(n * sizeof *x2);
    float *p = malloc(n * sizeof *p), *p2 = malloc(n * sizeof *p2);
    uint8_t *teacher = malloc((size_t)B * T);
    memset(teacher, 1, (size_t)B * T);
    seqgen_train_options opts = seqgen_train_options_default();
    opts.feedback = SEQGEN_FEEDBACK_PROB;
    for (int c = 0; c < ncuts; c++) {
        const int t = cuts[c];
        memcpy(x2, x, n * sizeof *x);
        for (int b = 0; b < B; b++)
            for (int s = t + 1; s < T; s++)
                for (int d = 0; d < D; d++)
                    x2[((size_t)b * T + s) * D + d] = 1.0f - x[((size_t)b * T + s) * D + d];
        if (mixing) {
            assert_ok(
                sg_model_forward_backward_masked(m, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, &opts, teacher,
                                                 NULL, p, NULL));
            assert_ok(
                sg_model_forward_backward_masked(m, &(seqgen_batch){x2, y, 0, B, T, 0, NULL}, &opts, teacher,
                                                 NULL, p2, NULL));
        } else {
            assert_ok(seqgen_model_evaluate(m, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, SEQGEN_LOSS_MSE, p,
                                            NULL));
            assert_ok(seqgen_model_evaluate(m, &(seqgen_batch){x2, y, 0, B, T, 0, NULL}, SEQGEN_LOSS_MSE, p2,
                                            NULL));
        }
        for (int b = 0; b < B; b++) {
            const size_t at = (size_t)b * T * D;
            assert_memory_equal(p + at, p2 + at, (size_t)(t + 1) * D * sizeof *p);
            /* and the output right after the cut does see the change */
            assert_memory_not_equal(p + at + (size_t)(t + 1) * D, p2 + at + (size_t)(t + 1) * D,
                                    D * sizeof *p);
        }
    }
    seqgen_model_free(m);
    free(x), free(y), free(x2), free(p), free(p2), free(teacher);
}

static void outputs_do_not_see_the_future(void **state)
{
    (void)state;
    const int cuts[] = {0, 1, 7, 20, 38};
    check_causality(1, 1, 40, cuts, 5, 0);
    check_causality(1, 3, 40, cuts, 5, 0);
    check_causality(4, 2, 40, cuts, 5, 0);
    check_causality(2, 2, 40, cuts, 5, 1);
}

/* ---- Paths and threads ----------------------------------------------------------------------- */

/* The batched teacher-forcing path and the step-by-step (mixing) path with every coin on
 * "teacher" compute the same function; only float rounding of differently shaped GEMMs differs. */
static void fast_path_matches_stepwise_path(void **state)
{
    (void)state;
    const int D = 2, H = 20, L = 2, B = 6, T = 50;
    const size_t n = (size_t)B * T * D;
    for (int loss = SEQGEN_LOSS_MSE; loss <= SEQGEN_LOSS_BCE; loss++) {
        seqgen_model *m = tu_make_model(D, H, L, 9, 2);
        float *x = tu_random_bits(n, 21), *y = tu_random_bits(n, 22);
        float *p1 = malloc(n * sizeof *p1), *p2 = malloc(n * sizeof *p2);
        uint8_t *teacher = malloc((size_t)B * T);
        memset(teacher, 1, (size_t)B * T);
        seqgen_train_options opts = seqgen_train_options_default();
        opts.loss = (seqgen_loss)loss;
        opts.feedback = SEQGEN_FEEDBACK_THRESHOLD;
        seqgen_train_stats s1, s2;
        assert_ok(seqgen_model_forward_backward(m, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, &opts, p1, &s1));
        float *g1 = copy_grads(m);
        assert_ok(sg_model_forward_backward_masked(m, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, &opts,
                                                   teacher, NULL, p2, &s2));
        assert_allclose(s2.loss, s1.loss, 1e-6, 0.0);
        assert_true(rel_diff(p2, p1, n) < 1e-6);
        assert_true(rel_diff(sg_model_grads(m), g1, seqgen_model_param_count(m)) < 1e-5);
        assert_allclose(s2.teacher_fraction, 1.0, 0.0, 0.0);
        seqgen_model_free(m);
        free(x), free(y), free(p1), free(p2), free(teacher), free(g1);
    }
}

/* 1 thread against 2 and 3 (uneven slices of 7 sequences), teacher forcing and mixing; then
 * more threads than sequences. */
static void thread_count_changes_only_rounding(void **state)
{
    (void)state;
    const int D = 1, H = 16, L = 2, B = 7, T = 30;
    const size_t n = (size_t)B * T * D;
    float *x = tu_random_bits(n, 31), *y = tu_random_bits(n, 32);
    for (int threads = 2; threads <= 3; threads++) {
        seqgen_model *m1 = tu_make_model(D, H, L, 4, 1), *mt = tu_make_model(D, H, L, 4, threads);
        for (int mixing = 0; mixing <= 1; mixing++) {
            seqgen_train_options opts = seqgen_train_options_default();
            opts.teacher_prob = mixing ? 0.5 : 1.0;
            opts.feedback = SEQGEN_FEEDBACK_PROB;
            seqgen_train_stats s1, st;
            assert_ok(seqgen_model_forward_backward(m1, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, &opts, NULL,
                                                    &s1));
            assert_ok(seqgen_model_forward_backward(mt, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, &opts, NULL,
                                                    &st));
            assert_allclose(st.loss, s1.loss, 1e-6, 0.0);
            assert_true(st.teacher_fraction == s1.teacher_fraction); /* the same coins */
            assert_true(rel_diff(sg_model_grads(mt), sg_model_grads(m1),
                                 seqgen_model_param_count(m1)) < 1e-5);
        }
        assert_ok(seqgen_model_set_threads(mt, 16));
        assert_ok(seqgen_model_forward_backward(mt, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, NULL, NULL,
                                                NULL));
        assert_int_equal(seqgen_model_set_threads(mt, -1), SEQGEN_EINVAL);
        seqgen_model_free(m1), seqgen_model_free(mt);
    }
    free(x), free(y);
}

static void workspace_regrows_without_changing_results(void **state)
{
    (void)state;
    const int D = 2, H = 8, L = 2;
    float *x = tu_random_bits(5 * 9 * D, 41), *y = tu_random_bits(5 * 9 * D, 42);
    seqgen_model *a = tu_make_model(D, H, L, 6, 2), *b = tu_make_model(D, H, L, 6, 2);
    seqgen_train_stats sa, sb;
    assert_ok(seqgen_model_forward_backward(a, &(seqgen_batch){x, y, 0, 2, 5, 0, NULL}, NULL, NULL, &sa));
    assert_ok(seqgen_model_forward_backward(b, &(seqgen_batch){x, y, 0, 5, 9, 0, NULL}, NULL, NULL,
                                            NULL)); /* grow first */
    assert_ok(seqgen_model_forward_backward(b, &(seqgen_batch){x, y, 0, 2, 5, 0, NULL}, NULL, NULL, &sb));
    assert_true(sa.loss == sb.loss);
    assert_memory_equal(sg_model_grads(a), sg_model_grads(b),
                        seqgen_model_param_count(a) * sizeof(float));
    /* an evaluation's workspace has no gate cache: a training pass after it must regrow it */
    seqgen_model *c = tu_make_model(D, H, L, 6, 2);
    assert_ok(seqgen_model_evaluate(c, &(seqgen_batch){x, y, 0, 2, 5, 0, NULL}, SEQGEN_LOSS_MSE, NULL,
                                    NULL));
    assert_ok(seqgen_model_forward_backward(c, &(seqgen_batch){x, y, 0, 2, 5, 0, NULL}, NULL, NULL, &sb));
    assert_true(sa.loss == sb.loss);
    assert_memory_equal(sg_model_grads(a), sg_model_grads(c),
                        seqgen_model_param_count(a) * sizeof(float));
    seqgen_model_free(a), seqgen_model_free(b), seqgen_model_free(c);
    free(x), free(y);
}

static void whole_sequences_are_shifted_inputs_and_targets(void **state)
{
    (void)state;
    const int D = 2, B = 3, len = 12, T = len - 1;
    float *px = tu_random_bits((size_t)B * len * D, 51);
    float *x = malloc((size_t)B * T * D * sizeof *x), *y = malloc((size_t)B * T * D * sizeof *y);
    for (int b = 0; b < B; b++) {
        memcpy(x + (size_t)b * T * D, px + (size_t)b * len * D, (size_t)T * D * sizeof *x);
        memcpy(y + (size_t)b * T * D, px + ((size_t)b * len + 1) * D, (size_t)T * D * sizeof *y);
    }
    seqgen_model *a = tu_make_model(D, 6, 1, 2, 2), *b = tu_make_model(D, 6, 1, 2, 2);
    seqgen_train_stats sa, sb;
    assert_ok(seqgen_model_forward_backward(a, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, NULL, NULL, &sa));
    assert_ok(seqgen_model_forward_backward(b, TU_SEQUENCES(b, px, B, len), NULL, NULL, &sb));
    assert_true(sa.loss == sb.loss);
    assert_memory_equal(sg_model_grads(a), sg_model_grads(b),
                        seqgen_model_param_count(a) * sizeof(float));
    assert_int_equal(seqgen_model_forward_backward(b, TU_SEQUENCES(b, px, B, 1), NULL, NULL,
                                                   NULL), SEQGEN_EINVAL);
    seqgen_model_free(a), seqgen_model_free(b);
    free(px), free(x), free(y);
}

/* ---- Scheduled sampling ---------------------------------------------------------------------- */

static void p_one_is_exactly_teacher_forcing(void **state)
{
    (void)state;
    const int D = 1, B = 4, T = 25;
    float *x = tu_random_bits((size_t)B * T * D, 61), *y = tu_random_bits((size_t)B * T * D, 62);
    seqgen_model *a = tu_make_model(D, 10, 2, 8, 2), *b = tu_make_model(D, 10, 2, 8, 2);
    sg_rng before = *sg_model_mix_rng(a);
    seqgen_train_options opts = seqgen_train_options_default();
    opts.teacher_prob = 1.0;
    opts.feedback = SEQGEN_FEEDBACK_THRESHOLD;
    seqgen_train_stats sa, sb;
    assert_ok(seqgen_model_forward_backward(a, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, &opts, NULL, &sa));
    assert_ok(seqgen_model_evaluate(b, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, SEQGEN_LOSS_MSE, NULL,
                                    &sb)); /* no gradient */
    assert_true(sa.loss == sb.loss);
    assert_ok(seqgen_model_forward_backward(b, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, NULL, NULL,
                                            &sb)); /* defaults: p = 1 */
    assert_true(sa.loss == sb.loss);
    assert_memory_equal(sg_model_grads(a), sg_model_grads(b),
                        seqgen_model_param_count(a) * sizeof(float));
    assert_true(sa.teacher_fraction == 1.0);
    assert_memory_equal(&before, sg_model_mix_rng(a), sizeof before); /* no coin drawn */
    seqgen_model_free(a), seqgen_model_free(b);
    free(x), free(y);
}

/* p = 0, thresholded: the pass feeds exactly the greedy rollout of the single-step API. */
static void p_zero_threshold_is_greedy_rollout(void **state)
{
    (void)state;
    const int D = 2, H = 16, L = 2, B = 5, T = 60;
    const size_t n = (size_t)B * T * D;
    seqgen_model *m = tu_make_model(D, H, L, 12, 2);
    /* Stronger weights than the init, so that the rollout is not a constant. */
    float *params = sg_model_params_for_write(m);
    for (size_t i = 0; i < seqgen_model_param_count(m); i++)
        params[i] *= 4.0f;
    float *x = tu_random_bits(n, 71), *y = tu_random_bits(n, 72), *p = malloc(n * sizeof *p);
    seqgen_train_options opts = seqgen_train_options_default();
    opts.teacher_prob = 0.0;
    opts.feedback = SEQGEN_FEEDBACK_THRESHOLD;
    seqgen_train_stats st;
    assert_ok(seqgen_model_forward_backward(m, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, &opts, p, &st));
    assert_true(st.teacher_fraction == 0.0);

    seqgen_model_state *s = NULL;
    assert_ok(seqgen_model_state_create(&s, m, B));
    float in[5 * 2], out[5 * 2];
    int ones = 0, zeros = 0;
    for (int b = 0; b < B; b++)
        memcpy(in + b * D, x + (size_t)b * T * D, D * sizeof *in); /* the first pixel is true */
    for (int t = 0; t < T; t++) {
        if (t > 0)
            for (int b = 0; b < B; b++)
                for (int d = 0; d < D; d++) {
                    /* what the pass fed at step t: its own thresholded output of step t - 1 */
                    float fed = p[((size_t)b * T + t - 1) * D + d] > 0.5f ? 1.0f : 0.0f;
                    in[b * D + d] = out[b * D + d] > 0.5f ? 1.0f : 0.0f;
                    assert_true(fed == in[b * D + d]);
                    ones += fed == 1.0f, zeros += fed == 0.0f;
                }
        assert_ok(seqgen_model_step(m, s, in, NULL, out));
        for (int b = 0; b < B; b++)
            for (int d = 0; d < D; d++)
                assert_allclose(out[b * D + d], p[((size_t)b * T + t) * D + d], 1e-5, 1e-7);
    }
    assert_true(ones > 0 && zeros > 0);
    seqgen_model_state_free(s);
    seqgen_model_free(m);
    free(x), free(y), free(p);
}

static void teacher_fraction_matches_p(void **state)
{
    (void)state;
    const int B = 64, T = 200;
    float *x = tu_random_bits((size_t)B * T, 81), *y = tu_random_bits((size_t)B * T, 82);
    seqgen_model *m = tu_make_model(1, 4, 1, 13, 2);
    const double ps[] = {0.05, 0.3, 0.7, 0.95};
    for (int i = 0; i < 4; i++) {
        seqgen_train_options opts = seqgen_train_options_default();
        opts.teacher_prob = ps[i];
        seqgen_train_stats st;
        assert_ok(seqgen_model_forward_backward(m, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, &opts, NULL,
                                                &st));
        /* n = B (T - 1) independent coins: 5 binomial standard deviations (false alarm ~6e-7) */
        const double count = (double)B * (T - 1);
        assert_allclose(st.teacher_fraction, ps[i], 0.0, 5.0 * sqrt(ps[i] * (1.0 - ps[i]) / count));
        assert_int_equal(st.mixable, (uint64_t)B * (T - 1));
        assert_allclose((double)st.teacher_forced / count, st.teacher_fraction, 0.0, 0.0);
    }
    seqgen_model_free(m);
    free(x), free(y);
}

static void mixing_is_reproducible_for_a_seed(void **state)
{
    (void)state;
    const int D = 2, B = 6, T = 40;
    const size_t n = (size_t)B * T * D;
    float *x = tu_random_bits(n, 91), *y = tu_random_bits(n, 92);
    seqgen_model *a = tu_make_model(D, 8, 2, 21, 2), *b = tu_make_model(D, 8, 2, 21, 1);
    seqgen_train_options opts = seqgen_train_options_default();
    opts.teacher_prob = 0.5; /* SAMPLE feedback: coins and Bernoulli samples */
    seqgen_train_stats sa, sb, sa2;
    assert_ok(seqgen_model_forward_backward(a, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, &opts, NULL, &sa));
    assert_ok(seqgen_model_forward_backward(b, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, &opts, NULL, &sb));
    assert_true(sa.teacher_fraction == sb.teacher_fraction);
    assert_allclose(sa.loss, sb.loss, 1e-6, 0.0);
    assert_memory_equal(sg_model_mix_rng(a), sg_model_mix_rng(b), sizeof(sg_rng));
    /* restoring the generator replays the same coins */
    sg_rng saved = *sg_model_mix_rng(a);
    assert_ok(seqgen_model_forward_backward(a, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, &opts, NULL, &sa2));
    *sg_model_mix_rng(a) = saved;
    assert_ok(seqgen_model_forward_backward(a, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, &opts, NULL, &sa));
    assert_true(sa.loss == sa2.loss && sa.teacher_fraction == sa2.teacher_fraction);
    seqgen_model_free(a), seqgen_model_free(b);
    free(x), free(y);
}

/* ---- Numerics and errors --------------------------------------------------------------------- */

static void saturated_units_stay_finite(void **state)
{
    (void)state;
    const int D = 2, H = 8, L = 2, B = 3, T = 20;
    const size_t n = (size_t)B * T * D;
    seqgen_model *m = tu_make_model(D, H, L, 14, 2);
    /* Every unit saturated: biases of +-1e5 (the same sign in bias_ih and bias_hh, so they
     * cannot cancel) dwarf the weighted sums, at most 1e3 * (D + H) = 1e4. Exploding gradients
     * of unsaturated huge weights would be genuine mathematics, not a numerical fault. */
    sg_rng rng;
    sg_rng_seed(&rng, 5, 5);
    for (int k = 0; k < seqgen_model_tensor_count(m); k++) {
        const char *name;
        int rows, cols;
        assert_ok(seqgen_model_tensor_info(m, k, &name, &rows, &cols));
        float *t = sg_model_params_for_write(m) + sg_model_tensor(m, k)->offset;
        for (int i = 0; i < rows * cols; i++)
            t[i] = (sg_rng_u32(&rng) & 1 ? 1e3f : -1e3f) * sg_rng_float(&rng);
    }
    for (int l = 0; l < L; l++) {
        char ih[32], hh[32];
        snprintf(ih, sizeof ih, "bias_ih_l%d", l);
        snprintf(hh, sizeof hh, "bias_hh_l%d", l);
        float *b_ih = sg_model_params_for_write(m) + sg_model_tensor(m, sg_model_find_tensor(m, ih))->offset;
        float *b_hh = sg_model_params_for_write(m) + sg_model_tensor(m, sg_model_find_tensor(m, hh))->offset;
        for (int i = 0; i < 3 * H; i++)
            b_ih[i] = b_hh[i] = sg_rng_u32(&rng) & 1 ? 1e5f : -1e5f;
    }
    float *b_out =
        sg_model_params_for_write(m) + sg_model_tensor(m, sg_model_find_tensor(m, "out.bias"))->offset;
    for (int d = 0; d < D; d++)
        b_out[d] = d % 2 ? 1e5f : -1e5f;
    float *x = tu_random_bits(n, 101), *y = tu_random_bits(n, 102), *p = malloc(n * sizeof *p);
    for (int loss = SEQGEN_LOSS_MSE; loss <= SEQGEN_LOSS_BCE; loss++)
        for (int mixing = 0; mixing <= 1; mixing++) {
            seqgen_train_options opts = seqgen_train_options_default();
            opts.loss = (seqgen_loss)loss;
            opts.teacher_prob = mixing ? 0.5 : 1.0;
            seqgen_train_stats st;
            assert_ok(seqgen_model_forward_backward(m, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, &opts, p,
                                                    &st));
            assert_true(isfinite(st.loss) && isfinite(st.nll_nats));
            for (size_t i = 0; i < n; i++)
                assert_true(p[i] >= 0.0f && p[i] <= 1.0f);
            const float *g = sg_model_grads(m);
            for (size_t i = 0; i < seqgen_model_param_count(m); i++)
                assert_true(isfinite(g[i]));
        }
    seqgen_model_free(m);
    free(x), free(y), free(p);
}

static void nan_in_the_loss_is_reported(void **state)
{
    (void)state;
    const int B = 2, T = 5;
    seqgen_model *m = tu_make_model(1, 4, 1, 15, 1);
    float *x = tu_random_bits(B * T, 111), *y = tu_random_bits(B * T, 112);
    /* a NaN among the inputs or targets is refused before anything is computed */
    x[3] = NAN;
    assert_int_equal(seqgen_model_forward_backward(m, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, NULL, NULL,
                                                   NULL),
                     SEQGEN_EINVAL);
    assert_non_null(strstr(seqgen_last_error(), "inputs: sequence 0, step 3, unit 0 is nan"));
    /* a NaN from the parameters reaches the loss check */
    x[3] = 1.0f;
    sg_model_params_for_write(m)[0] = INFINITY;
    assert_int_equal(seqgen_model_evaluate(m, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, SEQGEN_LOSS_BCE, NULL,
                                           NULL),
                     SEQGEN_ENUMERIC);
    seqgen_model_free(m);
    free(x), free(y);
}

/* One sequence of one step: nothing to mix, and the gradient still matches the reference. */
static void smallest_pass(void **state)
{
    (void)state;
    seqgen_model *m = tu_make_model(2, 3, 2, 18, 4);
    float x[2] = {1.0f, 0.0f}, y[2] = {0.0f, 1.0f}, p[2];
    seqgen_train_options opts = seqgen_train_options_default();
    opts.teacher_prob = 0.0;
    seqgen_train_stats st;
    assert_ok(seqgen_model_forward_backward(m, &(seqgen_batch){x, y, 0, 1, 1, 0, NULL}, &opts, p, &st));
    assert_true(st.teacher_fraction == 1.0);
    ref_model r;
    ref_load(&r, m);
    double xd[2] = {1.0, 0.0}, yd[2] = {0.0, 1.0}, logits[2];
    ref_forward(&r, 1, 1, xd, NULL, SEQGEN_FEEDBACK_PROB, NULL, logits);
    assert_allclose(st.loss, ref_loss(SEQGEN_LOSS_MSE, 2, logits, yd), 1e-5, 0.0);
    for (int d = 0; d < 2; d++)
        assert_allclose(p[d], ref_sigmoid(logits[d]), 1e-5, 1e-7);
    ref_free(&r);
    seqgen_model_free(m);
}

static void bad_pass_arguments_are_rejected(void **state)
{
    (void)state;
    seqgen_model *m = tu_make_model(1, 4, 1, 16, 1);
    float x[10] = {0}, y[10] = {0};
    seqgen_train_options opts = seqgen_train_options_default();
    assert_int_equal(seqgen_model_forward_backward(m, &(seqgen_batch){x, y, 0, 0, 5, 0, NULL}, NULL, NULL,
                                                   NULL), SEQGEN_EINVAL);
    assert_int_equal(seqgen_model_forward_backward(m, &(seqgen_batch){x, y, 0, 2, 0, 0, NULL}, NULL, NULL,
                                                   NULL), SEQGEN_EINVAL);
    assert_int_equal(seqgen_model_forward_backward(m, &(seqgen_batch){NULL, y, 0, 2, 5, 0, NULL}, NULL, NULL,
                                                   NULL),
                     SEQGEN_EINVAL);
    opts.teacher_prob = 1.5;
    assert_int_equal(seqgen_model_forward_backward(m, &(seqgen_batch){x, y, 0, 2, 5, 0, NULL}, &opts, NULL,
                                                   NULL),
                     SEQGEN_EINVAL);
    opts.teacher_prob = NAN;
    assert_int_equal(seqgen_model_forward_backward(m, &(seqgen_batch){x, y, 0, 2, 5, 0, NULL}, &opts, NULL,
                                                   NULL),
                     SEQGEN_EINVAL);
    opts = seqgen_train_options_default();
    opts.loss = (seqgen_loss)7;
    assert_int_equal(seqgen_model_forward_backward(m, &(seqgen_batch){x, y, 0, 2, 5, 0, NULL}, &opts, NULL,
                                                   NULL),
                     SEQGEN_EINVAL);
    opts = seqgen_train_options_default();
    opts.feedback = (seqgen_feedback)9;
    assert_int_equal(seqgen_model_forward_backward(m, &(seqgen_batch){x, y, 0, 2, 5, 0, NULL}, &opts, NULL,
                                                   NULL),
                     SEQGEN_EINVAL);
    seqgen_model_free(m);
}

/* ---- Single-step generation ------------------------------------------------------------------ */

static void stepping_matches_the_batched_forward(void **state)
{
    (void)state;
    const int D = 3, H = 10, L = 3, B = 4, T = 15;
    const size_t n = (size_t)B * T * D;
    seqgen_model *m = tu_make_model(D, H, L, 17, 2);
    float *x = tu_random_bits(n, 121), *y = tu_random_bits(n, 122), *p = malloc(n * sizeof *p);
    assert_ok(seqgen_model_evaluate(m, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, SEQGEN_LOSS_MSE, p, NULL));
    seqgen_model_state *s = NULL;
    assert_ok(seqgen_model_state_create(&s, m, B));
    float in[4 * 3], out[4 * 3];
    for (int pass = 0; pass < 2; pass++) { /* the second time after a reset */
        for (int t = 0; t < T; t++) {
            for (int b = 0; b < B; b++)
                memcpy(in + b * D, x + ((size_t)b * T + t) * D, D * sizeof *in);
            assert_ok(seqgen_model_step(m, s, in, NULL, out));
            for (int b = 0; b < B; b++)
                for (int d = 0; d < D; d++)
                    assert_allclose(out[b * D + d], p[((size_t)b * T + t) * D + d], 1e-5, 1e-7);
        }
        seqgen_model_state_reset(s);
    }
    seqgen_model *other = tu_make_model(D, H + 1, L, 17, 1);
    assert_int_equal(seqgen_model_step(other, s, in, NULL, out), SEQGEN_EMISMATCH);
    assert_int_equal(seqgen_model_step(m, s, NULL, NULL, out), SEQGEN_EINVAL);
    seqgen_model_state *none = NULL;
    assert_int_equal(seqgen_model_state_create(&none, m, 0), SEQGEN_EINVAL);
    assert_null(none);
    seqgen_model_state_free(NULL);
    seqgen_model_state_free(s);
    seqgen_model_free(other);
    seqgen_model_free(m);
    free(x), free(y), free(p);
}

/* Runs T steps of `s` from a reset on x [B][T][D] and writes every output to out [T][B][D]. */
static void run_steps(const seqgen_model *m, seqgen_model_state *s, const float *x, int B, int T,
                      int D, float *out)
{
    float in[2 * 3];
    seqgen_model_state_reset(s);
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++)
            memcpy(in + b * D, x + ((size_t)b * T + t) * D, D * sizeof *in);
        assert_ok(seqgen_model_step(m, s, in, NULL, out + (size_t)t * B * D));
    }
}

/* A state keeps W_hh packed between steps: it must see every change of the parameters (a
 * tensor set, an optimiser step) and a different model of the same shape, as a new state does. */
static void a_state_follows_parameter_changes(void **state)
{
    (void)state;
    enum { D = 3, H = 9, L = 2, B = 2, T = 6 };
    const size_t n = (size_t)B * T * D;
    seqgen_model *m = tu_make_model(D, H, L, 23, 1), *twin = tu_make_model(D, H, L, 24, 1);
    float *x = tu_random_bits(n, 131), *y = tu_random_bits(n, 132);
    float kept[T * B * D], fresh[T * B * D];
    seqgen_model_state *s = NULL;
    assert_ok(seqgen_model_state_create(&s, m, B));
    for (int change = 0; change < 3; change++) {
        seqgen_model *used = m;
        run_steps(m, s, x, B, T, D, kept);
        if (change == 0) { /* scale W_hh of the top layer */
            float whh[3 * H * H];
            assert_ok(seqgen_model_get_tensor(m, "weight_hh_l1", whh, 3 * H * H));
            for (int i = 0; i < 3 * H * H; i++)
                whh[i] *= 1.5f;
            assert_ok(seqgen_model_set_tensor(m, "weight_hh_l1", whh, 3 * H * H));
        } else if (change == 1) { /* one Adam step */
            seqgen_optim_config cfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
            cfg.lr = 0.05;
            seqgen_optim *opt = NULL;
            assert_ok(seqgen_optim_create(&opt, m, &cfg));
            assert_ok(seqgen_model_forward_backward(m, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, NULL, NULL,
                                                    NULL));
            assert_ok(seqgen_optim_step(opt, m));
            seqgen_optim_free(opt);
        } else {
            used = twin;
        }
        run_steps(used, s, x, B, T, D, kept);
        seqgen_model_state *new_state = NULL;
        assert_ok(seqgen_model_state_create(&new_state, used, B));
        run_steps(used, new_state, x, B, T, D, fresh);
        seqgen_model_state_free(new_state);
        assert_memory_equal(kept, fresh, sizeof kept);
    }
    seqgen_model_state_free(s);
    seqgen_model_free(m);
    seqgen_model_free(twin);
    free(x), free(y);
}

/* The step's logits are the output layer's values before the sigmoid: against the double
 * reference's logits, and its probabilities exactly the library's sigmoid of them; asking for
 * one, the other or both gives the same values. */
static void step_logits_are_the_pre_sigmoid_values(void **state)
{
    (void)state;
    enum { D = 3, H = 9, L = 2, B = 4, T = 6 };
    seqgen_model *m = tu_make_model(D, H, L, 21, 1);
    float *x = tu_random_bits((size_t)B * T * D, 22);
    ref_model r;
    ref_load(&r, m);
    double xd[B * T * D], ref_logits[B * T * D];
    for (int i = 0; i < B * T * D; i++)
        xd[i] = x[i];
    ref_forward(&r, B, T, xd, NULL, SEQGEN_FEEDBACK_PROB, NULL, ref_logits);
    seqgen_model_state *both = NULL, *only_logits = NULL, *only_probs = NULL;
    assert_ok(seqgen_model_state_create(&both, m, B));
    assert_ok(seqgen_model_state_create(&only_logits, m, B));
    assert_ok(seqgen_model_state_create(&only_probs, m, B));
    for (int t = 0; t < T; t++) {
        float in[B * D], logits[B * D], probs[B * D], logits2[B * D], probs2[B * D];
        for (int b = 0; b < B; b++)
            memcpy(in + b * D, x + ((size_t)b * T + t) * D, D * sizeof *in);
        assert_ok(seqgen_model_step(m, both, in, logits, probs));
        assert_ok(seqgen_model_step(m, only_logits, in, logits2, NULL));
        assert_ok(seqgen_model_step(m, only_probs, in, NULL, probs2));
        assert_memory_equal(logits, logits2, sizeof logits);
        assert_memory_equal(probs, probs2, sizeof probs);
        for (int b = 0; b < B; b++)
            for (int d = 0; d < D; d++) {
                const int i = b * D + d;
                assert_allclose(logits[i], ref_logits[((size_t)b * T + t) * D + d], 1e-5, 1e-6);
                assert_true(probs[i] == sg_sigmoidf(logits[i]));
            }
    }
    seqgen_model_state_free(both);
    seqgen_model_state_free(only_logits);
    seqgen_model_state_free(only_probs);
    ref_free(&r);
    seqgen_model_free(m);
    free(x);
}

/* Temperature sampling by hand from the step's logits, as seqgen.h specifies it (u < sigmoid(
 * logit / temperature), one PCG32 generator per sequence seeded (seed, first_stream + b), one
 * draw per generated pixel in scan order), writes exactly what seqgen_complete() writes. */
static void temperature_sampling_from_step_logits_is_completion(void **state)
{
    (void)state;
    enum { D = 2, H = 7, B = 3, T = 40, P = T * D, K = 5 };
    const double temperature = 0.7;
    const uint64_t seed = 9, first_stream = 4;
    seqgen_model *m = tu_make_model(D, H, 1, 31, 1);
    float *x = tu_random_bits((size_t)B * P, 32), done[B * P], mine[B * P];
    seqgen_complete_options opts = seqgen_complete_options_default();
    opts.decode = SEQGEN_DECODE_SAMPLE;
    opts.temperature = temperature;
    opts.seed = seed;
    opts.first_stream = first_stream;
    assert_ok(seqgen_complete(m, x, B, P / D, NULL, K, &opts, done, NULL));
    for (int b = 0; b < B; b++) {
        seqgen_model_state *s = NULL;
        assert_ok(seqgen_model_state_create(&s, m, 1));
        sg_rng rng;
        sg_rng_seed(&rng, seed, first_stream + (uint64_t)b);
        float *seq = mine + (size_t)b * P;
        memcpy(seq, x + (size_t)b * P, K * sizeof *seq);
        for (int t = 0; t + 1 < T; t++) {
            float logits[D];
            assert_ok(seqgen_model_step(m, s, seq + t * D, logits, NULL));
            for (int d = 0; d < D; d++) {
                const int p = (t + 1) * D + d;
                if (p < K)
                    continue; /* given */
                double scaled = (double)logits[d] / temperature;
                scaled = scaled > 100.0 ? 100.0 : scaled < -100.0 ? -100.0 : scaled;
                seq[p] = sg_rng_float(&rng) < sg_sigmoidf((float)scaled) ? 1.0f : 0.0f;
            }
        }
        seqgen_model_state_free(s);
    }
    assert_memory_equal(mine, done, sizeof done);
    seqgen_model_free(m);
    free(x);
}

/* Soft targets: with every weight zero the logit of every unit is out.bias = a, so the losses
 * have closed forms: BCE softplus(a) - p a, MSE (sigmoid(a) - p)^2, and the BCE gradient of
 * out.bias the mean of sigmoid(a) - p. Inputs in (0, 1) are read as they are; values outside
 * [0, 1] are refused, naming where. */
static void soft_targets_have_their_closed_forms(void **state)
{
    (void)state;
    enum { B = 3, T = 4, D = 2, H = 3 };
    seqgen_model *m = tu_make_model(D, H, 1, 16, 1);
    tu_zero_parameters(m);
    const float bias[D] = {0.7f, -1.3f};
    assert_ok(seqgen_model_set_tensor(m, "out.bias", bias, D));
    float x[B * T * D], y[B * T * D];
    double bce = 0.0, mse = 0.0, dbias[D] = {0.0, 0.0};
    for (int i = 0; i < B * T * D; i++) {
        x[i] = (float)((i * 7) % 11) / 10.0f;  /* soft inputs in [0, 1] */
        y[i] = (float)((i * 5) % 9) / 8.0f;    /* soft targets in [0, 1], 0 and 1 included */
        const double a = bias[i % D], p = 1.0 / (1.0 + exp(-a)), target = y[i];
        bce += log1p(exp(a)) - target * a;
        mse += (p - target) * (p - target);
        dbias[i % D] += (p - target) / (B * T * D);
    }
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = SEQGEN_LOSS_BCE;
    seqgen_train_stats st;
    assert_ok(seqgen_model_forward_backward(m, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, &opts, NULL,
                                            &st));
    assert_allclose(st.bce, bce / (B * T * D), 1e-6, 0.0);
    assert_allclose(st.mse, mse / (B * T * D), 1e-6, 0.0);
    float g[D];
    assert_ok(seqgen_model_get_grad(m, "out.bias", g, D));
    for (int d = 0; d < D; d++)
        assert_allclose(g[d], dbias[d], 1e-5, 1e-8);
    const float outside[] = {-0.25f, 1.5f, 7.0f, INFINITY};
    for (size_t k = 0; k < sizeof outside / sizeof outside[0]; k++) {
        const float keep = y[13];
        y[13] = outside[k];
        assert_int_equal(seqgen_model_evaluate(m, &(seqgen_batch){x, y, 0, B, T, 0, NULL},
                                               SEQGEN_LOSS_MSE, NULL, NULL),
                         SEQGEN_EINVAL);
        assert_non_null(strstr(seqgen_last_error(), "targets: sequence 1, step 2, unit 1 is"));
        y[13] = keep;
        x[2] = outside[k];
        assert_int_equal(seqgen_model_forward_backward(m, &(seqgen_batch){x, y, 0, B, T, 0, NULL}, &opts,
                                                       NULL, NULL),
                         SEQGEN_EINVAL);
        assert_non_null(strstr(seqgen_last_error(), "inputs: sequence 0, step 1, unit 0 is"));
        x[2] = 0.5f;
    }
    seqgen_model_free(m);
}

/* ---- OpenBLAS's thread count ---------------------------------------------------------------- */

/* Declared weak, as the library does: NULL when the CBLAS linked is not OpenBLAS. */
extern int openblas_get_num_threads(void) __attribute__((weak));
extern void openblas_set_num_threads(int num_threads) __attribute__((weak));

enum { BLAS_D = 2, BLAS_H = 24, BLAS_B = 6, BLAS_T = 40 };

typedef struct blas_job {
    seqgen_model *model;
    const float *x;
    int passes, status;
} blas_job;

static void *passes_in_thread(void *arg)
{
    blas_job *job = arg;
    for (int i = 0; i < job->passes && !job->status; i++)
        job->status = seqgen_model_forward_backward(
            job->model, TU_SEQUENCES(job->model, job->x, BLAS_B, BLAS_T), NULL, NULL, NULL);
    return NULL;
}

typedef struct blas_watch {
    atomic_int stop, saw_one;
} blas_watch;

static void *watch_blas_threads(void *arg)
{
    blas_watch *w = arg;
    while (!atomic_load(&w->stop))
        if (openblas_get_num_threads() == 1)
            atomic_store(&w->saw_one, 1);
    return NULL;
}

/* A host program's OpenBLAS setting is its own: every call that computes runs with one BLAS
 * thread (the library's threads split the batch) and gives the caller's count back when it
 * returns, also when two threads run calls at once. */
static void blas_threads_are_the_callers_after_each_call(void **state)
{
    (void)state;
    if (!openblas_get_num_threads || !openblas_set_num_threads)
        skip(); /* not OpenBLAS */
    const int before = openblas_get_num_threads();
    openblas_set_num_threads(3);
    if (openblas_get_num_threads() != 3) {
        openblas_set_num_threads(before);
        skip(); /* a single-threaded OpenBLAS */
    }
    const size_t n = (size_t)BLAS_B * BLAS_T * BLAS_D;
    float *x = tu_random_bits(n, 141), out[BLAS_B * BLAS_T * BLAS_D];
    seqgen_model *m = tu_make_model(BLAS_D, BLAS_H, 2, 1, 2), *other = tu_make_model(BLAS_D, BLAS_H, 1, 2, 2);
    assert_int_equal(openblas_get_num_threads(), 3);
    assert_ok(seqgen_model_forward_backward(m, TU_SEQUENCES(m, x, BLAS_B, BLAS_T), NULL, NULL, NULL));
    assert_int_equal(openblas_get_num_threads(), 3);
    assert_ok(seqgen_model_evaluate(m, TU_SEQUENCES(m, x, BLAS_B, BLAS_T), SEQGEN_LOSS_BCE, NULL, NULL));
    assert_int_equal(openblas_get_num_threads(), 3);
    assert_ok(seqgen_complete(m, x, BLAS_B, BLAS_T, NULL, BLAS_D * 10, NULL, out, NULL));
    assert_int_equal(openblas_get_num_threads(), 3);
    seqgen_model_state *s = NULL;
    assert_ok(seqgen_model_state_create(&s, m, BLAS_B));
    assert_ok(seqgen_model_step(m, s, x, out, NULL));
    assert_int_equal(openblas_get_num_threads(), 3);
    /* two threads' calls overlapping: the count is the caller's once both are done */
    blas_job jobs[2] = {{m, x, 30, 0}, {other, x, 30, 0}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, passes_in_thread, &jobs[i]), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_ok(jobs[i].status);
    }
    assert_int_equal(openblas_get_num_threads(), 3);
    /* and while a pass runs, BLAS has one thread */
    blas_watch watch = {0, 0};
    pthread_t watcher;
    assert_int_equal(pthread_create(&watcher, NULL, watch_blas_threads, &watch), 0);
    for (int i = 0; i < 1000 && !atomic_load(&watch.saw_one); i++)
        assert_ok(seqgen_model_forward_backward(m, TU_SEQUENCES(m, x, BLAS_B, BLAS_T), NULL, NULL,
                                                NULL));
    atomic_store(&watch.stop, 1);
    assert_int_equal(pthread_join(watcher, NULL), 0);
    assert_true(atomic_load(&watch.saw_one));
    assert_int_equal(openblas_get_num_threads(), 3);
    seqgen_model_state_free(s);
    seqgen_model_free(other);
    seqgen_model_free(m);
    free(x);
    openblas_set_num_threads(before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_documented_values),
        cmocka_unit_test(bad_configs_are_rejected),
        cmocka_unit_test(tensors_have_pytorch_names_and_shapes),
        cmocka_unit_test(tensor_get_set_and_errors),
        cmocka_unit_test(init_is_pytorch_uniform_and_seeded),
        cmocka_unit_test(forward_matches_double_reference),
        cmocka_unit_test(outputs_do_not_see_the_future),
        cmocka_unit_test(fast_path_matches_stepwise_path),
        cmocka_unit_test(thread_count_changes_only_rounding),
        cmocka_unit_test(workspace_regrows_without_changing_results),
        cmocka_unit_test(whole_sequences_are_shifted_inputs_and_targets),
        cmocka_unit_test(p_one_is_exactly_teacher_forcing),
        cmocka_unit_test(p_zero_threshold_is_greedy_rollout),
        cmocka_unit_test(teacher_fraction_matches_p),
        cmocka_unit_test(mixing_is_reproducible_for_a_seed),
        cmocka_unit_test(saturated_units_stay_finite),
        cmocka_unit_test(nan_in_the_loss_is_reported),
        cmocka_unit_test(smallest_pass),
        cmocka_unit_test(bad_pass_arguments_are_rejected),
        cmocka_unit_test(stepping_matches_the_batched_forward),
        cmocka_unit_test(a_state_follows_parameter_changes),
        cmocka_unit_test(step_logits_are_the_pre_sigmoid_values),
        cmocka_unit_test(soft_targets_have_their_closed_forms),
        cmocka_unit_test(temperature_sampling_from_step_logits_is_completion),
        cmocka_unit_test(blas_threads_are_the_callers_after_each_call),
    };
    return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
