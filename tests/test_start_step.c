/* The start step (seqgen_model_config::start_step): a pass over whole sequences is the pass on
 * the same data with a step of zeros put in front, bit for bit; completion from nothing reads a
 * step of zeros first, as a rollout with seqgen_model_step does, and samples the first step with
 * the model's probability; trained on a source whose first step is known, the model generates
 * first steps with the source's frequency. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "seqgen.h"

static seqgen_model *start_step_model(int D, int H, int L, uint64_t seed)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = D, cfg.hidden = H, cfg.layers = L, cfg.seed = seed, cfg.threads = 2;
    cfg.start_step = 1;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    return m;
}

/* seqgen_batch_of_sequences() of a start-step model against explicit arrays: inputs with a step
 * of zeros in front, targets the sequences themselves. Teacher forcing and scheduled sampling
 * (the same coins: two models of the same seed) give the same loss and gradients, bit for bit. */
static void pass_is_the_pass_on_data_with_zeros_in_front(void **state)
{
    (void)state;
    enum { D = 2, H = 5, L = 2, B = 3, LEN = 7 };
    float *x = tu_random_bits((size_t)B * LEN * D, 1);
    float in[B * LEN * D];
    for (int b = 0; b < B; b++) {
        memset(in + (size_t)b * LEN * D, 0, D * sizeof *in);
        memcpy(in + (size_t)b * LEN * D + D, x + (size_t)b * LEN * D,
               (LEN - 1) * D * sizeof *in);
    }
    for (int mixing = 0; mixing <= 1; mixing++) {
        seqgen_model *a = start_step_model(D, H, L, 7), *b = start_step_model(D, H, L, 7);
        seqgen_train_options opts = seqgen_train_options_default();
        opts.loss = SEQGEN_LOSS_BCE;
        opts.teacher_prob = mixing ? 0.5 : 1.0;
        seqgen_batch whole = seqgen_batch_of_sequences(a, x, B, LEN);
        assert_int_equal(whole.steps, LEN);
        assert_int_equal(whole.start_step, 1);
        assert_ptr_equal(whole.targets, x);
        seqgen_batch shifted = {in, x, 0, B, LEN, 0, NULL};
        seqgen_train_stats sa, sb;
        float pa[B * LEN * D], pb[B * LEN * D];
        assert_ok(seqgen_model_forward_backward(a, &whole, &opts, pa, &sa));
        assert_ok(seqgen_model_forward_backward(b, &shifted, &opts, pb, &sb));
        assert_true(sa.loss == sb.loss && sa.nll_nats == sb.nll_nats);
        assert_int_equal(sa.teacher_forced, sb.teacher_forced);
        assert_memory_equal(pa, pb, sizeof pa);
        const size_t n = seqgen_model_param_count(a);
        float *ga = malloc(n * sizeof *ga), *gb = malloc(n * sizeof *gb);
        for (int i = 0; i < seqgen_model_tensor_count(a); i++) {
            const char *name;
            int rows, cols;
            assert_ok(seqgen_model_tensor_info(a, i, &name, &rows, &cols));
            assert_ok(seqgen_model_get_grad(a, name, ga, (size_t)rows * cols));
            assert_ok(seqgen_model_get_grad(b, name, gb, (size_t)rows * cols));
            assert_memory_equal(ga, gb, (size_t)rows * cols * sizeof *ga);
        }
        free(ga), free(gb);
        seqgen_model_free(a), seqgen_model_free(b);
    }
    free(x);
}

/* Completion of a start-step model equals a greedy rollout written here with seqgen_model_step
 * from a step of zeros, for K = 0 (from nothing), inside the first step, and beyond it. */
static void completion_is_a_rollout_from_zeros(void **state)
{
    (void)state;
    enum { D = 3, H = 6, B = 4, T = 9, P = T * D };
    seqgen_model *m = start_step_model(D, H, 1, 11);
    float *x = tu_random_bits((size_t)B * P, 12);
    const int givens[] = {0, 2, D, D + 1, 10};
    for (size_t g = 0; g < sizeof givens / sizeof givens[0]; g++) {
        const int K = givens[g];
        float done[B * P], probs[B * P], mine[B * P], mine_probs[B * P];
        assert_ok(seqgen_complete(m, x, B, T, NULL, K, NULL, done, probs));
        seqgen_model_state *s = NULL;
        assert_ok(seqgen_model_state_create(&s, m, 1));
        for (int b = 0; b < B; b++) {
            float *seq = mine + (size_t)b * P, *p = mine_probs + (size_t)b * (P - K);
            memcpy(seq, x + (size_t)b * P, K * sizeof *seq);
            seqgen_model_state_reset(s);
            float zeros[D] = {0}, out[D];
            for (int t = -1; t + 1 < T; t++) {
                assert_ok(seqgen_model_step(m, s, t < 0 ? zeros : seq + t * D, NULL, out));
                for (int d = 0; d < D; d++) {
                    const int i = (t + 1) * D + d;
                    if (i >= K) {
                        seq[i] = out[d] > 0.5f ? 1.0f : 0.0f;
                        p[i - K] = out[d];
                    }
                }
            }
        }
        seqgen_model_state_free(s);
        assert_memory_equal(done, mine, sizeof done);
        for (int b = 0; b < B; b++)
            assert_memory_equal(probs + (size_t)b * (P - K), mine_probs + (size_t)b * (P - K),
                                (size_t)(P - K) * sizeof *probs);
    }
    free(x);
    seqgen_model_free(m);
}

/* A model whose every output is logit(0.3) whatever it reads (all weights and GRU biases zero,
 * so the hidden state stays 0): sampled from nothing, the first step is 1 in 30% of sequences,
 * within 4 standard deviations. */
static void sampling_from_nothing_draws_the_first_step(void **state)
{
    (void)state;
    enum { D = 1, T = 5, N = 4000 };
    seqgen_model *m = start_step_model(D, 4, 1, 3);
    tu_zero_parameters(m);
    const float bias = logf(0.3f / 0.7f);
    assert_ok(seqgen_model_set_tensor(m, "out.bias", &bias, 1));
    float *nothing = calloc((size_t)N * T, sizeof *nothing);
    float *done = malloc((size_t)N * T * sizeof *done);
    float *probs = malloc((size_t)N * T * sizeof *probs);
    seqgen_complete_options opts = seqgen_complete_options_default();
    opts.decode = SEQGEN_DECODE_SAMPLE;
    opts.seed = 5;
    assert_ok(seqgen_complete(m, nothing, N, T, NULL, 0, &opts, done, probs));
    int ones = 0;
    for (int s = 0; s < N; s++) {
        ones += done[(size_t)s * T] == 1.0f;
        assert_allclose(probs[(size_t)s * T], 0.3, 1e-6, 0.0); /* step 0 was predicted */
    }
    const double sd = sqrt(0.3 * 0.7 / N);
    assert_true(fabs((double)ones / N - 0.3) < 4 * sd);
    free(nothing), free(done), free(probs);
    seqgen_model_free(m);
}

/* A source whose first step is 1 with probability 0.25 and whose later steps repeat the one
 * before with probability 0.9: after training with a start step, the first steps the model
 * generates from nothing are 1 as often as in the data, within sampling error and a small
 * allowance for what 300 Adam steps leave unlearnt. */
static void trained_first_steps_have_the_data_frequency(void **state)
{
    (void)state;
    enum { T = 8, N = 1024, BATCH = 64, STEPS = 300, SAMPLES = 4000 };
    sg_rng rng;
    sg_rng_seed(&rng, 2026, 1);
    float *data = malloc((size_t)N * T * sizeof *data);
    int first_ones = 0;
    for (int s = 0; s < N; s++) {
        float *seq = data + (size_t)s * T;
        seq[0] = sg_rng_double(&rng) < 0.25 ? 1.0f : 0.0f;
        for (int t = 1; t < T; t++)
            seq[t] = sg_rng_double(&rng) < 0.9 ? seq[t - 1] : 1.0f - seq[t - 1];
        first_ones += seq[0] == 1.0f;
    }
    seqgen_model *m = start_step_model(1, 8, 1, 4);
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    ocfg.lr = 0.02;
    seqgen_optim *adam = NULL;
    assert_ok(seqgen_optim_create(&adam, m, &ocfg));
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = SEQGEN_LOSS_BCE;
    for (int i = 0; i < STEPS; i++) {
        seqgen_batch b = seqgen_batch_of_sequences(m, data + (size_t)(i % (N / BATCH)) * BATCH * T,
                                                   BATCH, T);
        assert_ok(seqgen_model_forward_backward(m, &b, &opts, NULL, NULL));
        assert_ok(seqgen_optim_step(adam, m));
    }
    float *nothing = calloc((size_t)SAMPLES * T, sizeof *nothing);
    float *done = malloc((size_t)SAMPLES * T * sizeof *done);
    seqgen_complete_options copts = seqgen_complete_options_default();
    copts.decode = SEQGEN_DECODE_SAMPLE;
    copts.seed = 6;
    assert_ok(seqgen_complete(m, nothing, SAMPLES, T, NULL, 0, &copts, done, NULL));
    int ones = 0, repeats = 0;
    for (int s = 0; s < SAMPLES; s++) {
        ones += done[(size_t)s * T] == 1.0f;
        for (int t = 1; t < T; t++)
            repeats += done[(size_t)s * T + t] == done[(size_t)s * T + t - 1];
    }
    const double data_p = (double)first_ones / N, model_p = (double)ones / SAMPLES;
    const double sd = sqrt(data_p * (1 - data_p) * (1.0 / N + 1.0 / SAMPLES));
    print_message("    first step 1: %.4f in the data, %.4f generated (sd %.4f); steps repeated "
                  "%.3f (source 0.9)\n", data_p, model_p, sd,
                  (double)repeats / (SAMPLES * (T - 1)));
    assert_true(fabs(model_p - data_p) < 4 * sd + 0.01);
    /* and the later steps follow the source too, so the model was really trained */
    assert_true(fabs((double)repeats / (SAMPLES * (T - 1)) - 0.9) < 0.02);
    free(nothing), free(done), free(data);
    seqgen_optim_free(adam);
    seqgen_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pass_is_the_pass_on_data_with_zeros_in_front),
        cmocka_unit_test(completion_is_a_rollout_from_zeros),
        cmocka_unit_test(sampling_from_nothing_draws_the_first_step),
        cmocka_unit_test(trained_first_steps_have_the_data_frequency),
    };
    return cmocka_run_group_tests_name("start step", tests, NULL, NULL);
}
