/* Variable lengths (seqgen_batch::lengths): a batch of sequences of their own lengths, padded to
 * the longest with garbage (NaN, infinity, 7, -3) that the pass must never read, gives the loss
 * and every gradient of its sequences run one by one, weighted by their numbers of predictions
 * n_b * D; the same statistics, the same probabilities at counted steps and 0 at padding; for
 * both losses, D = 1 and 3, with and without a start step, 1 and 2 threads, and scheduled
 * sampling with deterministic feedback (p = 0, THRESHOLD and PROB). Lengths that are not
 * allowed are refused naming the sequence.
 *
 * Tolerance: the batch and the single runs do the same arithmetic on differently shaped GEMMs
 * (B rows against 1, over T steps against n_b), so they differ by float rounding only: about
 * 1e-7 relative per operation, grown by a few hundred steps of recurrence. Losses and
 * probabilities: 1e-5 relative (+1e-6 absolute for probabilities). Gradients, per tensor: 1e-4
 * of the tensor's largest gradient. A real mistake is far above these: padding that leaks into
 * the gradients, or a mean over B*T*D instead of the counted predictions, changes the loss and
 * the gradients by several percent or more (the weights of the sequences differ by a factor 4).
 * The worst errors measured are printed: with OPENBLAS_CORETYPE=Haswell, about 2e-9 for the
 * losses, 1.5e-7 for the probabilities and 1.3e-5 for the gradients (out.bias, a sum of some
 * thousand terms of both signs). */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seqgen.h"

enum { H = 16, L = 2, B = 6, LONGEST = 200 };

static const size_t lens[B] = {50, 77, 120, 143, 181, 200};

#define LOSS_RTOL 1e-5
#define PROB_RTOL 1e-5
#define PROB_ATOL 1e-6
#define GRAD_TOL 1e-4

/* The worst errors over the cases of a test, relative as the tolerances are. */
static double worst_loss, worst_prob, worst_grad;

static seqgen_model *make_model(int D, int start_step, int threads)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = D, cfg.hidden = H, cfg.layers = L, cfg.seed = 3, cfg.threads = threads;
    cfg.start_step = start_step;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    return m;
}

/* B sequences of LONGEST steps of D random units, garbage after each one's length. */
static float *padded_sequences(int D, uint64_t seed)
{
    static const float garbage[] = {NAN, 7.0f, INFINITY, -3.0f};
    float *x = tu_random_bits((size_t)B * LONGEST * D, seed);
    assert_non_null(x);
    for (int b = 0; b < B; b++)
        for (size_t i = lens[b] * D; i < (size_t)LONGEST * D; i++)
            x[(size_t)b * LONGEST * D + i] = garbage[i % 4];
    return x;
}

/* Every gradient of the model, tensor after tensor in the model's order. */
static void all_grads(const seqgen_model *m, float *out)
{
    for (int i = 0; i < seqgen_model_tensor_count(m); i++) {
        const char *name;
        int rows, cols;
        assert_ok(seqgen_model_tensor_info(m, i, &name, &rows, &cols));
        assert_ok(seqgen_model_get_grad(m, name, out, (size_t)rows * cols));
        out += (size_t)rows * cols;
    }
}

static void check_loss(double actual, double expected)
{
    const double err = fabs(actual - expected) / fabs(expected);
    if (err > worst_loss)
        worst_loss = err;
    assert_allclose(actual, expected, LOSS_RTOL, 0.0);
}

/* Per tensor: |batch - weighted singles| <= GRAD_TOL * the tensor's largest weighted gradient
 * (a tensor whose gradient is 0, as weight_ih_l0 when the first layer reads only zeros, must be
 * exactly 0 in the batch too). */
static void check_grads(const seqgen_model *m, const float *batch, const double *expected)
{
    size_t at = 0;
    for (int i = 0; i < seqgen_model_tensor_count(m); i++) {
        int rows, cols;
        assert_ok(seqgen_model_tensor_info(m, i, NULL, &rows, &cols));
        const size_t n = (size_t)rows * cols;
        double largest = 0.0;
        for (size_t k = 0; k < n; k++)
            largest = fmax(largest, fabs(expected[at + k]));
        for (size_t k = 0; k < n; k++) {
            if (largest > 0.0)
                worst_grad = fmax(worst_grad, fabs(batch[at + k] - expected[at + k]) / largest);
            assert_allclose(batch[at + k], expected[at + k], 0.0, GRAD_TOL * largest);
        }
        at += n;
    }
}

/* The padded batch against its sequences run alone (each a batch of 1 of its own counted steps,
 * without lengths). Mixing: p = 0 with THRESHOLD or PROB feedback, both deterministic, so that
 * each single run feeds back what the batch does (THRESHOLD may feed back only zeros: with a
 * start step, the first layer's input weights then get no gradient; PROB always has one). */
static void run_case(int D, int start_step, seqgen_loss loss, int threads, int mixing,
                     seqgen_feedback feedback)
{
    seqgen_model *m = make_model(D, start_step, threads);
    float *x = padded_sequences(D, 40 + D + 2 * start_step);
    const int T = LONGEST - 1 + start_step;
    const size_t P = seqgen_model_param_count(m), cells = (size_t)B * T * D;
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = loss;
    if (mixing)
        opts.teacher_prob = 0.0, opts.feedback = feedback;

    seqgen_batch batch = seqgen_batch_of_sequences(m, x, B, LONGEST);
    assert_null(batch.lengths);
    batch.lengths = lens;
    float *probs = malloc(cells * sizeof *probs), *grads = malloc(P * sizeof *grads);
    assert_non_null(probs), assert_non_null(grads);
    for (size_t i = 0; i < cells; i++)
        probs[i] = -1.0f; /* so that the zeros of padding are seen written */
    seqgen_train_stats st;
    assert_ok(seqgen_model_forward_backward(m, &batch, &opts, probs, &st));
    all_grads(m, grads);

    size_t predictions = 0, mixable = 0;
    for (int b = 0; b < B; b++) {
        predictions += (lens[b] - 1 + start_step) * D;
        mixable += lens[b] - 2 + start_step;
    }
    assert_int_equal(st.mixable, mixable);
    assert_int_equal(st.teacher_forced, mixing ? 0 : mixable);

    double loss_ref = 0.0, mse_ref = 0.0, bce_ref = 0.0, nll_ref = 0.0;
    double *grads_ref = calloc(P, sizeof *grads_ref);
    float *one = malloc((size_t)LONGEST * D * sizeof *one);
    float *one_probs = malloc((size_t)LONGEST * D * sizeof *one_probs);
    float *one_grads = malloc(P * sizeof *one_grads);
    assert_non_null(grads_ref), assert_non_null(one), assert_non_null(one_grads);
    for (int b = 0; b < B; b++) {
        const int n = (int)lens[b] - 1 + start_step;
        memcpy(one, x + (size_t)b * LONGEST * D, lens[b] * D * sizeof *one);
        seqgen_batch alone = seqgen_batch_of_sequences(m, one, 1, (int)lens[b]);
        assert_int_equal(alone.steps, n);
        seqgen_train_stats s1;
        assert_ok(seqgen_model_forward_backward(m, &alone, &opts, one_probs, &s1));
        all_grads(m, one_grads);
        const double w = (double)n * D / (double)predictions;
        loss_ref += w * s1.loss, mse_ref += w * s1.mse, bce_ref += w * s1.bce;
        nll_ref += s1.nll_nats / B;
        for (size_t k = 0; k < P; k++)
            grads_ref[k] += w * one_grads[k];
        const float *pb = probs + (size_t)b * T * D;
        for (size_t i = 0; i < (size_t)n * D; i++) {
            worst_prob = fmax(worst_prob, fabs(pb[i] - one_probs[i]) / fabs(one_probs[i]));
            assert_allclose(pb[i], one_probs[i], PROB_RTOL, PROB_ATOL);
        }
        for (size_t i = (size_t)n * D; i < (size_t)T * D; i++)
            assert_true(pb[i] == 0.0f);
    }
    check_loss(st.loss, loss_ref);
    check_loss(st.mse, mse_ref);
    check_loss(st.bce, bce_ref);
    check_loss(st.nll_nats, nll_ref);
    assert_true(st.loss == (loss == SEQGEN_LOSS_BCE ? st.bce : st.mse));
    check_grads(m, grads, grads_ref);

    if (!mixing) { /* evaluation is the same forward pass: the same losses and probabilities */
        float *eval_probs = malloc(cells * sizeof *eval_probs);
        assert_non_null(eval_probs);
        seqgen_train_stats se;
        assert_ok(seqgen_model_evaluate(m, &batch, loss, eval_probs, &se));
        assert_true(se.loss == st.loss && se.nll_nats == st.nll_nats);
        assert_memory_equal(eval_probs, probs, cells * sizeof *probs);
        free(eval_probs);
    }
    free(one), free(one_probs), free(one_grads), free(grads_ref);
    free(probs), free(grads), free(x);
    seqgen_model_free(m);
}

static void report_worst(const char *what)
{
    print_message("    %s: worst relative error: loss %.2e (tol %.0e), probability %.2e "
                  "(tol %.0e), gradient %.2e of the tensor's largest (tol %.0e)\n", what,
                  worst_loss, LOSS_RTOL, worst_prob, PROB_RTOL, worst_grad, GRAD_TOL);
    worst_loss = worst_prob = worst_grad = 0.0;
}

static void padded_batch_is_the_weighted_single_runs(void **state)
{
    (void)state;
    for (int D = 1; D <= 3; D += 2)
        for (int start = 0; start <= 1; start++)
            for (int loss = SEQGEN_LOSS_MSE; loss <= SEQGEN_LOSS_BCE; loss++)
                for (int threads = 1; threads <= 2; threads++)
                    run_case(D, start, (seqgen_loss)loss, threads, 0, SEQGEN_FEEDBACK_SAMPLE);
    report_worst("teacher forcing");
}

static void padded_batch_with_deterministic_feedback(void **state)
{
    (void)state;
    for (int D = 1; D <= 3; D += 2)
        for (int start = 0; start <= 1; start++)
            for (int loss = SEQGEN_LOSS_MSE; loss <= SEQGEN_LOSS_BCE; loss++)
                for (int threads = 1; threads <= 2; threads++)
                    for (int fb = SEQGEN_FEEDBACK_THRESHOLD; fb <= SEQGEN_FEEDBACK_PROB; fb++)
                        run_case(D, start, (seqgen_loss)loss, threads, 1, (seqgen_feedback)fb);
    report_worst("fed back (p = 0, THRESHOLD and PROB)");
}

/* Lengths that leave no padding are the pass without lengths, bit for bit. */
static void full_lengths_are_no_lengths(void **state)
{
    (void)state;
    enum { D = 2, T = 30 };
    for (int start = 0; start <= 1; start++) {
        seqgen_model *m = make_model(D, start, 2);
        float *x = tu_random_bits((size_t)B * T * D, 8);
        seqgen_batch plain = seqgen_batch_of_sequences(m, x, B, T), full = plain;
        const size_t full_lens[B] = {T, T, T, T, T, T};
        full.lengths = full_lens;
        const size_t P = seqgen_model_param_count(m), cells = (size_t)B * plain.steps * D;
        float *pa = malloc(cells * sizeof *pa), *pb = malloc(cells * sizeof *pb);
        float *ga = malloc(P * sizeof *ga), *gb = malloc(P * sizeof *gb);
        seqgen_train_options opts = seqgen_train_options_default();
        opts.loss = SEQGEN_LOSS_BCE;
        seqgen_train_stats sa, sb;
        assert_ok(seqgen_model_forward_backward(m, &plain, &opts, pa, &sa));
        all_grads(m, ga);
        assert_ok(seqgen_model_forward_backward(m, &full, &opts, pb, &sb));
        all_grads(m, gb);
        assert_memory_equal(&sa, &sb, sizeof sa);
        assert_memory_equal(pa, pb, cells * sizeof *pa);
        assert_memory_equal(ga, gb, P * sizeof *ga);
        free(pa), free(pb), free(ga), free(gb), free(x);
        seqgen_model_free(m);
    }
}

/* The coins are drawn for every step, padding included, so the lengths do not change what the
 * counted steps see: two models of the same seed, SAMPLE feedback at p = 0.5, one batch with
 * garbage padding and lengths, the other with valid units instead of the garbage and no lengths,
 * give the same probabilities at the counted steps. */
static void coins_do_not_depend_on_lengths(void **state)
{
    (void)state;
    enum { D = 1 };
    const int T = LONGEST - 1;
    seqgen_model *a = make_model(D, 0, 2), *b = make_model(D, 0, 2);
    float *padded = padded_sequences(D, 9), *clean = tu_random_bits((size_t)B * LONGEST * D, 10);
    for (int s = 0; s < B; s++)
        memcpy(clean + (size_t)s * LONGEST * D, padded + (size_t)s * LONGEST * D,
               lens[s] * D * sizeof *clean);
    seqgen_batch with = seqgen_batch_of_sequences(a, padded, B, LONGEST);
    with.lengths = lens;
    seqgen_batch without = seqgen_batch_of_sequences(b, clean, B, LONGEST);
    seqgen_train_options opts = seqgen_train_options_default();
    opts.teacher_prob = 0.5;
    const size_t cells = (size_t)B * T * D;
    float *pa = malloc(cells * sizeof *pa), *pb = malloc(cells * sizeof *pb);
    seqgen_train_stats sa, sb;
    for (int pass = 0; pass < 2; pass++) { /* the second pass draws after the first's coins */
        assert_ok(seqgen_model_forward_backward(a, &with, &opts, pa, &sa));
        assert_ok(seqgen_model_forward_backward(b, &without, &opts, pb, &sb));
        assert_true(sa.teacher_forced < sb.teacher_forced);
        assert_true(sa.teacher_forced > 0 && sa.teacher_forced < sa.mixable);
        for (int s = 0; s < B; s++)
            for (size_t i = 0; i < (lens[s] - 1) * D; i++)
                assert_allclose(pa[(size_t)s * T * D + i], pb[(size_t)s * T * D + i], PROB_RTOL,
                                PROB_ATOL);
    }
    free(pa), free(pb), free(padded), free(clean);
    seqgen_model_free(a), seqgen_model_free(b);
}

/* A sequence of length 1 without a start step predicts nothing: it adds nothing to the losses
 * but counts in the average over sequences of nll_nats. With a start step it predicts its
 * first step. */
static void sequences_of_length_one(void **state)
{
    (void)state;
    enum { D = 1, LEN = 40 };
    float *x = tu_random_bits((size_t)2 * LEN * D, 11);
    for (int start = 0; start <= 1; start++) {
        seqgen_model *m = make_model(D, start, 1);
        const size_t two[2] = {1, 25};
        seqgen_batch batch = seqgen_batch_of_sequences(m, x, 2, LEN);
        batch.lengths = two;
        seqgen_train_options opts = seqgen_train_options_default();
        opts.loss = SEQGEN_LOSS_BCE;
        seqgen_train_stats st, s0, s1;
        assert_ok(seqgen_model_forward_backward(m, &batch, &opts, NULL, &st));
        assert_ok(seqgen_model_forward_backward(m, TU_SEQUENCES(m, x + LEN * D, 1, 25), &opts,
                                                NULL, &s1));
        assert_int_equal(st.mixable, 24 - 1 + start);
        if (!start) {
            check_loss(st.loss, s1.loss);
            check_loss(st.nll_nats, s1.nll_nats / 2);
        } else {
            assert_ok(seqgen_model_forward_backward(m, TU_SEQUENCES(m, x, 1, 1), &opts, NULL,
                                                    &s0));
            check_loss(st.loss, (s0.loss * 1 + s1.loss * 25) / 26);
            check_loss(st.nll_nats, (s0.nll_nats + s1.nll_nats) / 2);
        }
        seqgen_model_free(m);
    }
    free(x);
}

/* EINVAL naming the sequence: a length 0, a length above T + 1 - start_step, and (without a
 * start step) lengths that are all 1, which leave nothing to predict. */
static void bad_lengths_are_refused(void **state)
{
    (void)state;
    enum { D = 1, LEN = 12, N = 3 };
    float *x = tu_random_bits((size_t)N * LEN * D, 12);
    for (int start = 0; start <= 1; start++) {
        seqgen_model *m = make_model(D, start, 1);
        seqgen_batch batch = seqgen_batch_of_sequences(m, x, N, LEN);
        const int T = batch.steps;
        size_t bad[N] = {LEN, 0, LEN};
        batch.lengths = bad;
        assert_int_equal(seqgen_model_forward_backward(m, &batch, NULL, NULL, NULL), SEQGEN_EINVAL);
        assert_non_null(strstr(seqgen_last_error(), "sequence 1 has length 0"));
        bad[1] = 1, bad[2] = (size_t)T + 2 - start; /* one above the longest allowed */
        assert_int_equal(seqgen_model_evaluate(m, &batch, SEQGEN_LOSS_MSE, NULL, NULL),
                         SEQGEN_EINVAL);
        assert_non_null(strstr(seqgen_last_error(), "sequence 2 has length"));
        print_message("    %s\n", seqgen_last_error());
        bad[2] = (size_t)T + 1 - start; /* the longest allowed */
        assert_ok(seqgen_model_forward_backward(m, &batch, NULL, NULL, NULL));
        bad[0] = bad[1] = bad[2] = 1;
        const int status = seqgen_model_forward_backward(m, &batch, NULL, NULL, NULL);
        if (start) {
            assert_ok(status); /* each predicts its first step */
        } else {
            assert_int_equal(status, SEQGEN_EINVAL);
            assert_non_null(strstr(seqgen_last_error(), "length 1"));
            print_message("    %s\n", seqgen_last_error());
        }
        seqgen_model_free(m);
    }
    free(x);
}

/* The value check reads the counted steps, and all of them: a bad value just inside a length
 * is refused, naming its place. */
static void bad_values_inside_a_length_are_refused(void **state)
{
    (void)state;
    enum { D = 1 };
    seqgen_model *m = make_model(D, 0, 1);
    float *x = padded_sequences(D, 13);
    seqgen_batch batch = seqgen_batch_of_sequences(m, x, B, LONGEST);
    batch.lengths = lens;
    assert_ok(seqgen_model_forward_backward(m, &batch, NULL, NULL, NULL));
    x[3 * LONGEST + lens[3] - 1] = 2.0f; /* the last unit of sequence 3: a target */
    assert_int_equal(seqgen_model_forward_backward(m, &batch, NULL, NULL, NULL), SEQGEN_EINVAL);
    assert_non_null(strstr(seqgen_last_error(), "sequence 3"));
    free(x);
    seqgen_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(padded_batch_is_the_weighted_single_runs),
        cmocka_unit_test(padded_batch_with_deterministic_feedback),
        cmocka_unit_test(full_lengths_are_no_lengths),
        cmocka_unit_test(coins_do_not_depend_on_lengths),
        cmocka_unit_test(sequences_of_length_one),
        cmocka_unit_test(bad_lengths_are_refused),
        cmocka_unit_test(bad_values_inside_a_length_are_refused),
    };
    return cmocka_run_group_tests_name("lengths", tests, NULL, NULL);
}
