/* The linear autoregressive head (seqgen_model_config::head = SEQGEN_HEAD_LINEAR_AR): its
 * configuration and tensor, the strictly lower-triangular U kept so by every door, its
 * gradients against central finite differences of a double-precision reference written out
 * here (every tensor, both losses), the teacher-forced probabilities against completion from
 * every K (so the training product and the unit-by-unit decoding agree and completion conditions
 * on the given units of a partly given step), a hand-set U that copies unit d - 1 into unit d,
 * the refusals, threads, and an end-to-end run on data whose units within a step are equal,
 * which only the autoregressive head can model.
 *
 * Finite differences: see test_gradcheck.c for why double, the step and the tolerance. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gru_reference.h"
#include "model.h"
#include "rng.h"
#include "seqgen.h"

#define FD_STEP 1e-5

static seqgen_model *ar_model(int D, int H, int L, uint64_t seed, int threads)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = D, cfg.hidden = H, cfg.layers = L, cfg.seed = seed, cfg.threads = threads;
    cfg.head = SEQGEN_HEAD_LINEAR_AR;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    return m;
}

/* Sets U's strictly lower triangle uniform in [-scale, scale]. */
static void random_ar_weight(seqgen_model *m, double scale, uint64_t seed)
{
    const int D = seqgen_model_get_config(m).units_per_step;
    float *u = calloc((size_t)D * D, sizeof *u);
    assert_non_null(u);
    sg_rng rng;
    sg_rng_seed(&rng, seed, 5);
    for (int d = 0; d < D; d++)
        for (int j = 0; j < d; j++)
            u[d * D + j] = (float)(scale * (2.0 * sg_rng_double(&rng) - 1.0));
    assert_ok(seqgen_model_set_tensor(m, "out.ar_weight", u, (size_t)D * D));
    free(u);
}

/* ---- Configuration and tensor --------------------------------------------------------------- */

static void config_and_tensor(void **state)
{
    (void)state;
    seqgen_model_config cfg = seqgen_model_config_default();
    assert_int_equal(cfg.head, SEQGEN_HEAD_INDEPENDENT);
    seqgen_model *m = NULL;
    cfg.vocab = 5, cfg.embedding = 3, cfg.head = SEQGEN_HEAD_LINEAR_AR;
    assert_fails_with(seqgen_model_create(&m, &cfg), SEQGEN_EINVAL,
                      "a categorical model (vocab 5) takes SEQGEN_HEAD_INDEPENDENT");
    cfg = seqgen_model_config_default();
    cfg.head = (seqgen_head_kind)2;
    assert_fails_with(seqgen_model_create(&m, &cfg), SEQGEN_EINVAL, "head must be in [0, 1], got 2");
    assert_null(m);

    /* The tensors of the independent head of the same seed, drawn alike, then U = 0. */
    m = ar_model(4, 5, 2, 9, 1);
    seqgen_model *plain = tu_make_model(4, 5, 2, 9, 1);
    assert_int_equal(seqgen_model_tensor_count(m), 4 * 2 + 3);
    const char *name;
    int rows, cols;
    assert_ok(seqgen_model_tensor_info(m, 10, &name, &rows, &cols));
    assert_string_equal(name, "out.ar_weight");
    assert_int_equal(rows, 4);
    assert_int_equal(cols, 4);
    const size_t n = seqgen_model_param_count(plain);
    assert_int_equal(seqgen_model_param_count(m), n + 16);
    assert_memory_equal(seqgen_model_parameters(m), seqgen_model_parameters(plain), n * sizeof(float));
    for (size_t i = n; i < n + 16; i++)
        assert_true(seqgen_model_parameters(m)[i] == 0.0f);
    assert_int_equal(seqgen_model_get_config(m).head, SEQGEN_HEAD_LINEAR_AR);
    seqgen_model_free(plain);
    seqgen_model_free(m);
}

/* seqgen_model_set_tensor() takes a strictly lower-triangular U and refuses any other, changing
 * nothing. */
static void set_tensor_keeps_u_strictly_lower(void **state)
{
    (void)state;
    seqgen_model *m = ar_model(3, 4, 1, 1, 1);
    float u[9] = {0, 0, 0, 1, 0, 0, 2, 3, 0}, got[9];
    assert_ok(seqgen_model_set_tensor(m, "out.ar_weight", u, 9));
    float diagonal[9] = {0, 0, 0, 1, 0, 0, 2, 3, 0.5f};
    assert_fails_with(seqgen_model_set_tensor(m, "out.ar_weight", diagonal, 9), SEQGEN_EINVAL,
                      "tensor \"out.ar_weight\" is strictly lower triangular: element [2][2] (on "
                      "or above the diagonal) must be 0, got 0.5");
    float upper[9] = {0, -1, 0, 1, 0, 0, 2, 3, 0};
    assert_fails_with(seqgen_model_set_tensor(m, "out.ar_weight", upper, 9), SEQGEN_EINVAL,
                      "element [0][1] (on or above the diagonal) must be 0, got -1");
    assert_ok(seqgen_model_get_tensor(m, "out.ar_weight", got, 9));
    assert_memory_equal(got, u, sizeof u);
    seqgen_model_free(m);
}

/* ---- Gradients ------------------------------------------------------------------------------- */

/* The reference loss: the GRU and the output layer (gru_reference.h), plus the autoregressive
 * term written out as its definition, a_d += sum_{j<d} U_dj y_j with the targets y; U's entries
 * on and above the diagonal are not read, so their difference quotients are 0. */
static double ar_loss(const ref_model *r, int B, int T, seqgen_loss loss, const double *x,
                      const double *y, double *logits)
{
    const int D = r->D;
    const double *u = ref_tensor(r, "out.ar_weight");
    ref_forward(r, B, T, x, NULL, SEQGEN_FEEDBACK_PROB, NULL, logits);
    for (size_t row = 0; row < (size_t)B * T; row++)
        for (int d = 0; d < D; d++)
            for (int j = 0; j < d; j++)
                logits[row * D + d] += u[d * D + j] * y[row * D + j];
    return ref_loss(loss, (size_t)B * T * D, logits, y);
}

static void gradients_of(seqgen_loss loss)
{
    const int D = 4, H = 5, L = 2, B = 3, T = 6;
    seqgen_model *m = ar_model(D, H, L, 7, 2);
    float *params = sg_model_params_for_write(m); /* gates away from their linear regime */
    for (size_t i = 0; i < seqgen_model_param_count(m) - (size_t)D * D; i++)
        params[i] *= 3.0f;
    random_ar_weight(m, 1.5, 3);

    const size_t n = (size_t)B * T * D, width = (size_t)(T + 1) * D;
    float *seqs = tu_random_bits((size_t)B * width, 11), *probs = malloc(n * sizeof *probs);
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    double *logits = malloc(n * sizeof *logits);
    assert_true(probs && x && y && logits);
    for (int b = 0; b < B; b++)
        for (size_t i = 0; i < (size_t)T * D; i++) {
            x[b * T * D + i] = seqs[b * width + i];
            y[b * T * D + i] = seqs[b * width + D + i];
        }
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = loss;
    seqgen_train_stats st;
    assert_ok(seqgen_model_forward_backward(m, TU_SEQUENCES(m, seqs, B, T + 1), &opts, probs,
                                            &st));

    ref_model r;
    ref_load(&r, m);
    assert_allclose(st.loss, ar_loss(&r, B, T, loss, x, y, logits), 1e-5, 0.0);
    for (size_t i = 0; i < n; i++)
        assert_allclose(probs[i], ref_sigmoid(logits[i]), 1e-5, 1e-7);
    double worst = 0.0;
    for (int k = 0; k < r.count; k++) {
        float *grad = malloc(r.n[k] * sizeof *grad);
        double *fd = malloc(r.n[k] * sizeof *fd);
        assert_true(grad && fd);
        assert_ok(seqgen_model_get_grad(m, r.names[k], grad, r.n[k]));
        double biggest = 0.0;
        for (size_t i = 0; i < r.n[k]; i++) {
            double saved = r.t[k][i];
            r.t[k][i] = saved + FD_STEP;
            double up = ar_loss(&r, B, T, loss, x, y, logits);
            r.t[k][i] = saved - FD_STEP;
            double down = ar_loss(&r, B, T, loss, x, y, logits);
            r.t[k][i] = saved;
            fd[i] = (up - down) / (2.0 * FD_STEP);
            biggest = fmax(biggest, fabs(fd[i]));
        }
        assert_true(biggest > 0.0);
        for (size_t i = 0; i < r.n[k]; i++) {
            assert_allclose(grad[i], fd[i], 1e-3, 1e-4 * biggest);
            worst = fmax(worst, fabs(grad[i] - fd[i]) / biggest);
        }
        if (strcmp(r.names[k], "out.ar_weight") == 0) /* masked exactly, not nearly */
            for (int d = 0; d < D; d++)
                for (int j = d; j < D; j++)
                    assert_true(grad[d * D + j] == 0.0f);
        free(grad);
        free(fd);
    }
    print_message("    %s: loss %.9f, worst gradient error %.2e of a tensor's largest\n",
                  loss == SEQGEN_LOSS_BCE ? "BCE" : "MSE", st.loss, worst);
    ref_free(&r);
    seqgen_model_free(m);
    free(seqs), free(probs), free(x), free(y), free(logits);
}

static void gradients_bce(void **state)
{
    (void)state;
    gradients_of(SEQGEN_LOSS_BCE);
}

static void gradients_mse(void **state)
{
    (void)state;
    gradients_of(SEQGEN_LOSS_MSE);
}

/* With lengths (rows sorted and packed by counted steps, the targets gathered alike), a pass
 * on 1 and on 3 threads gives the same gradients up to float rounding, and U's gradient is 0
 * on and above the diagonal. */
static void lengths_and_threads(void **state)
{
    (void)state;
    const int D = 5, B = 7, T = 9;
    float *seqs = tu_random_bits((size_t)B * T * D, 4);
    const size_t lengths[7] = {9, 2, 5, 9, 1, 7, 3};
    float *grads[2];
    for (int k = 0; k < 2; k++) {
        seqgen_model *m = ar_model(D, 6, 2, 2, k == 0 ? 1 : 3);
        random_ar_weight(m, 1.0, 8);
        seqgen_batch batch = seqgen_batch_of_sequences(m, seqs, B, T);
        batch.lengths = lengths;
        seqgen_train_options opts = seqgen_train_options_default();
        opts.loss = SEQGEN_LOSS_BCE;
        assert_ok(seqgen_model_forward_backward(m, &batch, &opts, NULL, NULL));
        grads[k] = malloc(D * D * sizeof(float));
        assert_ok(seqgen_model_get_grad(m, "out.ar_weight", grads[k], (size_t)D * D));
        seqgen_model_free(m);
    }
    double biggest = 0.0;
    for (int i = 0; i < D * D; i++)
        biggest = fmax(biggest, fabs(grads[0][i]));
    assert_true(biggest > 0.0);
    for (int d = 0; d < D; d++)
        for (int j = 0; j < D; j++) {
            assert_allclose(grads[1][d * D + j], grads[0][d * D + j], 1e-5, 1e-6 * biggest);
            if (j >= d)
                assert_true(grads[0][d * D + j] == 0.0f);
        }
    free(grads[0]), free(grads[1]), free(seqs);
}

/* ---- Completion ------------------------------------------------------------------------------ */

/* For every K from D to T D - 1, the probability completion gives the first unit it decodes is
 * the teacher-forced pass's probability of that unit: both condition on the same units, those
 * of the steps before and the given ones of its own step (the pass reads them through one matrix
 * product over the targets, completion one unit at a time). */
static void completion_conditions_on_given_units(void **state)
{
    (void)state;
    const int D = 5, T = 4, N = 3;
    seqgen_model *m = ar_model(D, 6, 1, 4, 1);
    random_ar_weight(m, 3.0, 6);
    float *seqs = tu_random_bits((size_t)N * T * D, 21);
    float *pass = malloc((size_t)N * (T - 1) * D * sizeof *pass);
    float *out = malloc((size_t)N * T * D * sizeof *out);
    float *probs = malloc((size_t)N * T * D * sizeof *probs);
    assert_true(pass && out && probs);
    assert_ok(seqgen_model_evaluate(m, TU_SEQUENCES(m, seqs, N, T), SEQGEN_LOSS_BCE, pass, NULL));
    double worst = 0.0;
    for (int K = D; K < T * D; K++) {
        assert_ok(seqgen_complete(m, seqs, N, T, NULL, K, NULL, out, probs));
        for (int s = 0; s < N; s++) {
            const float expected = pass[((size_t)s * (T - 1) + K / D - 1) * D + K % D];
            const float got = probs[(size_t)s * (T * D - K)];
            assert_allclose(got, expected, 1e-5, 1e-6);
            worst = fmax(worst, fabs(got - expected));
        }
    }
    print_message("    worst |completion - pass| over %d values of K: %.2e\n", T * D - D, worst);
    seqgen_model_free(m);
    free(seqs), free(pass), free(out), free(probs);
}

/* A hand-set head whose unit d copies unit d - 1 (U_d,d-1 = 40, bias -20, W_out = 0): greedy and
 * sampled completion of a partly given step continue its last given unit to the end of the
 * step; every later step is 0 (its unit 0 has logit -20). Without U the head gives 0 for all.
 * The units after K are NaN in the input and in the output before the call: completion must
 * read neither (the decoding of unit d reads only the units before it, not U's zeros times
 * units still to be decoded). */
static void partly_given_step_is_copied(void **state)
{
    (void)state;
    enum { D = 6, T = 3, N = 4 };
    seqgen_model *m = ar_model(D, 4, 1, 3, 1);
    float w[D * 4] = {0}, bias[D], u[D * D] = {0};
    for (int d = 0; d < D; d++)
        bias[d] = -20.0f;
    for (int d = 1; d < D; d++)
        u[d * D + d - 1] = 40.0f;
    assert_ok(seqgen_model_set_tensor(m, "out.weight", w, D * 4));
    assert_ok(seqgen_model_set_tensor(m, "out.bias", bias, D));
    assert_ok(seqgen_model_set_tensor(m, "out.ar_weight", u, D * D));
    /* step 1 of each sequence is given up to K: its units as below, then NaN never read */
    const int K[N] = {D + 3, D + 3, D + 1, D + 5};
    const float given[N][D] = {{0, 1, 1}, {1, 1, 0}, {1}, {0, 0, 0, 0, 1}};
    for (int decode = SEQGEN_DECODE_GREEDY; decode <= SEQGEN_DECODE_SAMPLE; decode++)
        for (int s = 0; s < N; s++) {
            float seq[T * D], out[T * D], probs[T * D];
            for (int i = 0; i < T * D; i++)
                seq[i] = i < D ? 1.0f : NAN, out[i] = NAN;
            memcpy(seq + D, given[s], (size_t)(K[s] - D) * sizeof(float));
            seqgen_complete_options opts = seqgen_complete_options_default();
            opts.decode = (seqgen_decode)decode, opts.seed = 5;
            assert_ok(seqgen_complete(m, seq, 1, T, NULL, K[s], &opts, out, probs));
            const float last = given[s][K[s] - D - 1];
            for (int d = K[s] - D; d < D; d++) {
                assert_true(out[D + d] == last);
                assert_allclose(probs[D + d - K[s]], last, 0.0, 1e-6);
            }
            for (int i = 2 * D; i < T * D; i++)
                assert_true(out[i] == 0.0f);
        }
    /* the independent part alone decodes every unit to 0 */
    memset(u, 0, sizeof u);
    assert_ok(seqgen_model_set_tensor(m, "out.ar_weight", u, D * D));
    float seq[T * D] = {0}, out[T * D];
    seq[D] = 1.0f;
    assert_ok(seqgen_complete(m, seq, 1, T, NULL, D + 1, NULL, out, NULL));
    for (int i = D + 1; i < T * D; i++)
        assert_true(out[i] == 0.0f);
    seqgen_model_free(m);
}

/* ---- Refusals -------------------------------------------------------------------------------- */

static void refusals(void **state)
{
    (void)state;
    seqgen_model *m = ar_model(3, 4, 1, 1, 1);
    float seqs[2 * 5 * 3] = {0}, probs[2 * 3];
    seqgen_train_options opts = seqgen_train_options_default();
    opts.teacher_prob = 0.5;
    assert_fails_with(seqgen_model_forward_backward(m, TU_SEQUENCES(m, seqs, 2, 5), &opts, NULL,
                                                    NULL),
                      SEQGEN_EINVAL, "scheduled sampling (teacher_prob < 1) is not implemented "
                      "for the autoregressive head SEQGEN_HEAD_LINEAR_AR");
    seqgen_model_state *st = NULL;
    assert_ok(seqgen_model_state_create(&st, m, 2));
    assert_fails_with(seqgen_model_step(m, st, seqs, NULL, probs), SEQGEN_EINVAL,
                      "seqgen_model_step: the model's head is SEQGEN_HEAD_LINEAR_AR");
    seqgen_model_state_free(st);
    opts.teacher_prob = 1.0;
    assert_ok(seqgen_model_forward_backward(m, TU_SEQUENCES(m, seqs, 2, 5), &opts, NULL, NULL));
    seqgen_model_free(m);
}

/* ---- End to end ------------------------------------------------------------------------------ */

/* Steps whose D units are all equal, each step a fair coin: the independent head cannot beat
 * ln 2 nats per unit, the autoregressive head pays ln 2 for a step's first unit and about 0 for
 * the others, (ln 2) / D per unit. Both heads train alike (same seed, Adam, teacher forcing);
 * U stays strictly lower triangular through the optimiser. */
static double train_on_equal_units(seqgen_head_kind head, seqgen_model **out)
{
    enum { D = 4, T = 8, B = 32, STEPS = 300 };
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = D, cfg.hidden = 8, cfg.seed = 3, cfg.threads = 2, cfg.head = head;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    ocfg.lr = 0.05;
    seqgen_optim *o = NULL;
    assert_ok(seqgen_optim_create(&o, m, &ocfg));
    static float seqs[B * T * D];
    sg_rng rng;
    sg_rng_seed(&rng, 12, 0);
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = SEQGEN_LOSS_BCE;
    seqgen_train_stats st;
    for (int step = 0; step <= STEPS; step++) {
        for (int i = 0; i < B * T; i++) {
            const float bit = (float)(sg_rng_u32(&rng) & 1);
            for (int d = 0; d < D; d++)
                seqs[i * D + d] = bit;
        }
        if (step == STEPS) /* fresh data, forward only */
            break;
        assert_ok(seqgen_model_forward_backward(m, TU_SEQUENCES(m, seqs, B, T), &opts, NULL, NULL));
        assert_ok(seqgen_optim_step(o, m));
    }
    assert_ok(seqgen_model_evaluate(m, TU_SEQUENCES(m, seqs, B, T), SEQGEN_LOSS_BCE, NULL, &st));
    seqgen_optim_free(o);
    *out = m;
    return st.bce;
}

static void learns_equal_units_within_a_step(void **state)
{
    (void)state;
    seqgen_model *ar, *independent;
    const double with_ar = train_on_equal_units(SEQGEN_HEAD_LINEAR_AR, &ar);
    const double without = train_on_equal_units(SEQGEN_HEAD_INDEPENDENT, &independent);
    print_message("    BCE per unit: autoregressive %.4f, independent %.4f (ln 2 = %.4f, "
                  "ln 2 / 4 = %.4f)\n", with_ar, without, log(2.0), log(2.0) / 4);
    assert_true(without > 0.6);
    assert_true(with_ar < 0.3);
    float u[16];
    assert_ok(seqgen_model_get_tensor(ar, "out.ar_weight", u, 16));
    for (int d = 0; d < 4; d++)
        for (int j = 0; j < 4; j++)
            assert_true(j < d ? u[d * 4 + j] != 0.0f : u[d * 4 + j] == 0.0f);
    seqgen_model_free(ar);
    seqgen_model_free(independent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_and_tensor),
        cmocka_unit_test(set_tensor_keeps_u_strictly_lower),
        cmocka_unit_test(gradients_bce),
        cmocka_unit_test(gradients_mse),
        cmocka_unit_test(lengths_and_threads),
        cmocka_unit_test(completion_conditions_on_given_units),
        cmocka_unit_test(partly_given_step_is_copied),
        cmocka_unit_test(refusals),
        cmocka_unit_test(learns_equal_units_within_a_step),
    };
    return cmocka_run_group_tests_name("ar_head", tests, NULL, NULL);
}
