/* Completion: greedy and sampled rollouts against a rollout written here with the single-step
 * API (seqgen_model_step), bit for bit; given pixels untouched; sampling reproducible, streamed
 * per sequence and independent of threads; temperature limits; K = 0 and K = P; sequences of
 * their own lengths each completed as alone, zeros after; the model's steps; bad arguments. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seqgen.h"

#define PIXELS 784

static seqgen_dataset *digits; /* the bundled test split, loaded once */

static int load_digits(void **state)
{
    (void)state;
    return seqgen_dataset_open_dir(&digits, "data/mnist10k", SEQGEN_SPLIT_TEST);
}

static int free_digits(void **state)
{
    (void)state;
    seqgen_dataset_free(digits);
    return 0;
}

/* Binary pixels of test digits first, first + 1, ..., first + count - 1. */
static float *digit_pixels(size_t first, size_t count)
{
    size_t *idx = malloc(count * sizeof *idx);
    float *x = malloc(count * PIXELS * sizeof *x);
    assert_non_null(idx);
    assert_non_null(x);
    for (size_t i = 0; i < count; i++)
        idx[i] = first + i;
    assert_ok(seqgen_dataset_sequences(digits, idx, count, NULL, 0, x));
    free(idx);
    return x;
}

static float *floats(size_t n, float fill)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = fill;
    return x;
}

/* The reference: a rollout with seqgen_model_step, for given >= D. The first `given` pixels are
 * fed from `truth`; each later pixel is what `decide` chose from the probabilities of the step
 * before (for sampling, the decisions are read from `decided`, the completion under test, so
 * that the probabilities can still be compared bit for bit). Writes the pixels and
 * probabilities. */
static void step_rollout(const seqgen_model *m, const float *truth, int count, int given,
                         const float *decided, float *out, float *probs)
{
    const int D = seqgen_model_get_config(m).units_per_step, T = PIXELS / D;
    const int gen = PIXELS - given;
    seqgen_model_state *st = NULL;
    assert_ok(seqgen_model_state_create(&st, m, count));
    float *x = floats((size_t)count * D, 0), *p = floats((size_t)count * D, 0);
    memcpy(out, truth, (size_t)count * PIXELS * sizeof *out);
    for (int t = 0; t + 1 < T; t++) {
        for (int b = 0; b < count; b++)
            memcpy(x + b * D, out + (size_t)b * PIXELS + t * D, D * sizeof *x);
        assert_ok(seqgen_model_step(m, st, x, NULL, p));
        for (int b = 0; b < count; b++)
            for (int d = 0; d < D; d++) {
                if ((t + 1) * D + d < given)
                    continue;
                size_t i = (size_t)b * PIXELS + (t + 1) * D + d;
                out[i] = decided ? decided[i] : (p[b * D + d] > 0.5f ? 1.0f : 0.0f);
                probs[(size_t)b * gen + (t + 1) * D + d - given] = p[b * D + d];
            }
    }
    free(x);
    free(p);
    seqgen_model_state_free(st);
}

static size_t count_different(const float *a, const float *b, size_t n)
{
    size_t diff = 0;
    for (size_t i = 0; i < n; i++)
        diff += a[i] != b[i];
    return diff;
}

/* Greedy completion against the stepwise rollout, for one configuration. */
static void check_greedy(int D, int H, int L, int given)
{
    enum { N = 6 };
    seqgen_model *m = tu_make_model(D, H, L, 7, 1);
    float *truth = digit_pixels(10, N);
    float *out = floats(N * PIXELS, -1), *probs = floats(N * (PIXELS - given), -1);
    float *ref = floats(N * PIXELS, -2), *ref_probs = floats(N * (PIXELS - given), -2);
    assert_ok(seqgen_complete(m, truth, N, PIXELS / D, NULL, given, NULL, out, probs));
    step_rollout(m, truth, N, given, NULL, ref, ref_probs);
    assert_memory_equal(out, ref, N * PIXELS * sizeof *out);
    assert_memory_equal(probs, ref_probs, N * (PIXELS - given) * sizeof *probs);
    /* the probabilities must vary, or equality would be that of two constants (a fresh model's
     * greedy pixels settle at once: the alternating model below checks decisions that vary) */
    size_t changes = 0;
    for (size_t i = 1; i < (size_t)N * (PIXELS - given); i++)
        changes += probs[i] != probs[i - 1];
    if (given <= 500) /* late in the image every digit's state has settled alike */
        assert_true(changes > 10);
    free(truth), free(out), free(probs), free(ref), free(ref_probs);
    seqgen_model_free(m);
}

static void greedy_equals_stepwise_rollout(void **state)
{
    (void)state;
    check_greedy(1, 16, 1, 500);
    check_greedy(4, 12, 2, 500);
    check_greedy(7, 9, 3, 392);
    check_greedy(1, 16, 1, 1);
    check_greedy(1, 16, 1, 783);
    /* K not a multiple of D: the step holding pixel K is partly given */
    check_greedy(4, 12, 2, 502);
    check_greedy(28, 16, 1, 300);
    check_greedy(28, 16, 1, 783);
}

/* A one-unit model that writes the opposite of its input: z = 0 so h = n = tanh(10 x - 5), about
 * +1 after ink and -1 after blank, and the logit -10 h. Greedy completion must alternate from
 * the last given pixel on, whatever the pixels before. */
static void greedy_follows_its_own_output(void **state)
{
    (void)state;
    enum { N = 3, K = 500 };
    seqgen_model *m = tu_make_model(1, 1, 1, 1, 1);
    const float w_ih[3] = {0, 0, 10}, w_hh[3] = {0, 0, 0}, b_ih[3] = {0, -30, -5};
    const float b_hh[3] = {0, 0, 0}, out_w[1] = {-10}, out_b[1] = {0};
    assert_ok(seqgen_model_set_tensor(m, "weight_ih_l0", w_ih, 3));
    assert_ok(seqgen_model_set_tensor(m, "weight_hh_l0", w_hh, 3));
    assert_ok(seqgen_model_set_tensor(m, "bias_ih_l0", b_ih, 3));
    assert_ok(seqgen_model_set_tensor(m, "bias_hh_l0", b_hh, 3));
    assert_ok(seqgen_model_set_tensor(m, "out.weight", out_w, 1));
    assert_ok(seqgen_model_set_tensor(m, "out.bias", out_b, 1));
    float *truth = digit_pixels(0, N), *out = floats(N * PIXELS, -1);
    truth[K - 1] = 1.0f, truth[PIXELS + K - 1] = 0.0f, truth[2 * PIXELS + K - 1] = 1.0f;
    assert_ok(seqgen_complete(m, truth, N, PIXELS, NULL, K, NULL, out, NULL));
    for (int b = 0; b < N; b++)
        for (int i = K; i < PIXELS; i++)
            assert_true(out[b * PIXELS + i] == 1.0f - out[b * PIXELS + i - 1]);
    free(truth), free(out);
    seqgen_model_free(m);
}

/* Sampled completion: its probabilities are those the step API gives on its own pixels. */
static void check_sampled(int D, int K)
{
    enum { N = 5 };
    seqgen_model *m = tu_make_model(D, 16, 2, 3, 1);
    float *truth = digit_pixels(0, N);
    float *out = floats(N * PIXELS, -1), *probs = floats(N * (PIXELS - K), -1);
    float *ref = floats(N * PIXELS, -2), *ref_probs = floats(N * (PIXELS - K), -2);
    seqgen_complete_options opts = seqgen_complete_options_default();
    opts.decode = SEQGEN_DECODE_SAMPLE;
    opts.seed = 11;
    assert_ok(seqgen_complete(m, truth, N, PIXELS / D, NULL, K, &opts, out, probs));
    step_rollout(m, truth, N, K, out, ref, ref_probs);
    assert_memory_equal(probs, ref_probs, N * (PIXELS - K) * sizeof *probs);
    for (size_t i = 0; i < N * PIXELS; i++)
        assert_true(out[i] == 0.0f || out[i] == 1.0f);
    free(truth), free(out), free(probs), free(ref), free(ref_probs);
    seqgen_model_free(m);
}

static void sampled_probabilities_equal_the_step_api(void **state)
{
    (void)state;
    check_sampled(2, 300);
    check_sampled(4, 302); /* step 75 partly given */
}

static void given_pixels_are_untouched(void **state)
{
    (void)state;
    enum { N = 4, K = 502, T = PIXELS / 4 }; /* step 125 of 4 pixels partly given */
    seqgen_model *m = tu_make_model(4, 16, 1, 5, 1);
    float *truth = digit_pixels(20, N), *keep = digit_pixels(20, N), *out = floats(N * PIXELS, -1);
    seqgen_complete_options opts = seqgen_complete_options_default();
    opts.decode = SEQGEN_DECODE_SAMPLE;
    assert_ok(seqgen_complete(m, truth, N, T, NULL, K, &opts, out, NULL));
    assert_memory_equal(truth, keep, N * PIXELS * sizeof *truth); /* input only read */
    for (int b = 0; b < N; b++)
        assert_memory_equal(out + b * PIXELS, truth + b * PIXELS, K * sizeof *out);
    /* in place: the same result */
    assert_ok(seqgen_complete(m, truth, N, T, NULL, K, &opts, truth, NULL));
    assert_memory_equal(truth, out, N * PIXELS * sizeof *out);
    free(truth), free(keep), free(out);
    seqgen_model_free(m);
}

static void sampling_is_reproducible_and_streamed(void **state)
{
    (void)state;
    enum { N = 7, K = 400 };
    seqgen_model *m = tu_make_model(1, 16, 1, 9, 1);
    float *truth = digit_pixels(30, N);
    float *a = floats(N * PIXELS, 0), *b = floats(N * PIXELS, 0), *part = floats(3 * PIXELS, 0);
    seqgen_complete_options opts = seqgen_complete_options_default();
    opts.decode = SEQGEN_DECODE_SAMPLE;
    opts.seed = 42;
    opts.temperature = 1.5;
    assert_ok(seqgen_complete(m, truth, N, PIXELS, NULL, K, &opts, a, NULL));
    assert_ok(seqgen_complete(m, truth, N, PIXELS, NULL, K, &opts, b, NULL));
    assert_memory_equal(a, b, N * PIXELS * sizeof *a);
    /* sequences 2..4 alone, with their stream numbers, are the same samples */
    opts.first_stream = 2;
    assert_ok(seqgen_complete(m, truth + 2 * PIXELS, 3, PIXELS, NULL, K, &opts, part, NULL));
    assert_memory_equal(part, a + 2 * PIXELS, 3 * PIXELS * sizeof *a);
    /* another seed, or another temperature, gives other samples */
    opts.first_stream = 0;
    opts.seed = 43;
    assert_ok(seqgen_complete(m, truth, N, PIXELS, NULL, K, &opts, b, NULL));
    assert_true(count_different(a, b, N * PIXELS) > 50);
    opts.seed = 42;
    opts.temperature = 0.5;
    assert_ok(seqgen_complete(m, truth, N, PIXELS, NULL, K, &opts, b, NULL));
    assert_true(count_different(a, b, N * PIXELS) > 20);
    free(truth), free(a), free(b), free(part);
    seqgen_model_free(m);
}

/* Blocks and streams do not depend on the thread count: 1 and 3 threads agree bit for bit, for
 * more sequences than one block holds. */
static void threads_do_not_change_the_result(void **state)
{
    (void)state;
    enum { N = 150, K = 600 };
    seqgen_model *m = tu_make_model(1, 8, 1, 2, 1);
    float *truth = digit_pixels(100, N);
    float *one = floats(N * PIXELS, 0), *three = floats(N * PIXELS, 0);
    float *p1 = floats(N * (PIXELS - K), 0), *p3 = floats(N * (PIXELS - K), 0);
    for (int decode = SEQGEN_DECODE_GREEDY; decode <= SEQGEN_DECODE_SAMPLE; decode++) {
        seqgen_complete_options opts = seqgen_complete_options_default();
        opts.decode = (seqgen_decode)decode;
        assert_ok(seqgen_model_set_threads(m, 1));
        assert_ok(seqgen_complete(m, truth, N, PIXELS, NULL, K, &opts, one, p1));
        assert_ok(seqgen_model_set_threads(m, 3));
        assert_ok(seqgen_complete(m, truth, N, PIXELS, NULL, K, &opts, three, p3));
        assert_memory_equal(one, three, N * PIXELS * sizeof *one);
        assert_memory_equal(p1, p3, N * (PIXELS - K) * sizeof *p1);
    }
    free(truth), free(one), free(three), free(p1), free(p3);
    seqgen_model_free(m);
}

/* Temperature 1e-3 samples the greedy choice wherever |logit| > ~0.02: nearly every pixel. A
 * huge temperature flips fair coins. At temperature 1 the ink rate follows the probabilities. */
static void temperature_limits(void **state)
{
    (void)state;
    enum { N = 20, K = 500, GEN = PIXELS - K };
    seqgen_model *m = tu_make_model(1, 16, 1, 4, 1);
    float *truth = digit_pixels(200, N);
    float *greedy = floats(N * PIXELS, 0), *sampled = floats(N * PIXELS, 0);
    float *probs = floats(N * GEN, 0);
    seqgen_complete_options opts = seqgen_complete_options_default();
    assert_ok(seqgen_complete(m, truth, N, PIXELS, NULL, K, &opts, greedy, NULL));
    opts.decode = SEQGEN_DECODE_SAMPLE;
    opts.temperature = 1e-3;
    assert_ok(seqgen_complete(m, truth, N, PIXELS, NULL, K, &opts, sampled, NULL));
    assert_true(count_different(greedy, sampled, N * PIXELS) <= N * GEN / 100);

    opts.temperature = 1e6;
    assert_ok(seqgen_complete(m, truth, N, PIXELS, NULL, K, &opts, sampled, NULL));
    double ones = 0;
    for (int b = 0; b < N; b++)
        for (int i = K; i < PIXELS; i++)
            ones += sampled[b * PIXELS + i];
    const double n = N * GEN, sd = sqrt(n * 0.25);
    assert_allclose(ones, n / 2, 0.0, 5 * sd);

    opts.temperature = 1.0;
    assert_ok(seqgen_complete(m, truth, N, PIXELS, NULL, K, &opts, sampled, probs));
    assert_true(count_different(greedy, sampled, N * PIXELS) > N * GEN / 20); /* T matters */
    double ink = 0, expected = 0, variance = 0;
    for (int b = 0; b < N; b++)
        for (int i = 0; i < GEN; i++) {
            double p = probs[b * GEN + i];
            ink += sampled[b * PIXELS + K + i];
            expected += p;
            variance += p * (1 - p);
        }
    assert_allclose(ink, expected, 0.0, 5 * sqrt(variance));
    free(truth), free(greedy), free(sampled), free(probs);
    seqgen_model_free(m);
}

/* K = 0 is a completion of K = D from a blank first step, 0 < K < D one with the rest of step 0
 * blank; K = P copies. */
static void k_zero_and_k_full(void **state)
{
    (void)state;
    enum { N = 3, D = 2 };
    seqgen_model *m = tu_make_model(D, 12, 1, 6, 1);
    float *truth = digit_pixels(40, N);
    float *out = floats(N * PIXELS, -1), *probs = floats(N * PIXELS, -1);
    float *ref = floats(N * PIXELS, -2), *ref_probs = floats(N * PIXELS, -2);
    assert_ok(seqgen_complete(m, truth, N, PIXELS / D, NULL, 0, NULL, out, probs));
    float *blank_first = digit_pixels(40, N);
    for (int b = 0; b < N; b++)
        blank_first[b * PIXELS] = blank_first[b * PIXELS + 1] = 0.0f;
    assert_ok(seqgen_complete(m, blank_first, N, PIXELS / D, NULL, D, NULL, ref,
                              ref_probs + N * D));
    assert_memory_equal(out, ref, N * PIXELS * sizeof *out);
    for (int b = 0; b < N; b++) {
        assert_true(out[b * PIXELS] == 0.0f && out[b * PIXELS + 1] == 0.0f);
        assert_true(probs[b * PIXELS] == 0.0f && probs[b * PIXELS + 1] == 0.0f);
        assert_memory_equal(probs + b * PIXELS + D, ref_probs + N * D + b * (PIXELS - D),
                            (PIXELS - D) * sizeof *probs);
    }
    /* 0 < K < D: step 0's pixels not given are blank, as for K = 0 */
    float *half_first = digit_pixels(40, N);
    for (int b = 0; b < N; b++)
        half_first[b * PIXELS + 1] = 0.0f;
    assert_ok(seqgen_complete(m, truth, N, PIXELS / D, NULL, 1, NULL, out, probs));
    assert_ok(seqgen_complete(m, half_first, N, PIXELS / D, NULL, D, NULL, ref, ref_probs));
    assert_memory_equal(out, ref, N * PIXELS * sizeof *out);
    for (int b = 0; b < N; b++) {
        assert_true(out[b * PIXELS] == truth[b * PIXELS] && probs[b * (PIXELS - 1)] == 0.0f);
        assert_memory_equal(probs + b * (PIXELS - 1) + 1, ref_probs + b * (PIXELS - D),
                            (PIXELS - D) * sizeof *probs);
    }
    free(half_first);
    /* K = P: a copy, and no probability written */
    float sentinel = -7.0f;
    assert_ok(seqgen_complete(m, truth, N, PIXELS / D, NULL, PIXELS, NULL, out, &sentinel));
    assert_memory_equal(out, truth, N * PIXELS * sizeof *out);
    assert_true(sentinel == -7.0f);
    /* a one-step sequence from scratch is one blank step */
    float one_step[D] = {1, 1};
    assert_ok(seqgen_complete(m, one_step, 1, 1, NULL, 0, NULL, one_step, NULL));
    assert_true(one_step[0] == 0.0f && one_step[1] == 0.0f);
    free(truth), free(out), free(probs), free(ref), free(ref_probs), free(blank_first);
    seqgen_model_free(m);
}

/* Every rejected call returns `expected`, says why and writes nothing. */
static void expect_refusal(int expected, const seqgen_model *m, const float *in, size_t count,
                           int steps, const size_t *lengths, int given,
                           const seqgen_complete_options *opts, float *out, const char *why)
{
    float before = out ? out[0] : 0.0f;
    int status = seqgen_complete(m, in, count, steps, lengths, given, opts, out, NULL);
    if (status != expected)
        fail_msg("%s: expected %d, got %d", why, expected, status);
    if (strstr(seqgen_last_error(), why) == NULL)
        fail_msg("message \"%s\" does not mention \"%s\"", seqgen_last_error(), why);
    if (out)
        assert_true(out[0] == before);
}

static void bad_arguments_are_rejected(void **state)
{
    (void)state;
    enum { T = PIXELS / 4, E = SEQGEN_EINVAL };
    seqgen_model *m = tu_make_model(4, 8, 1, 1, 1);
    float *in = digit_pixels(0, 2), *out = floats(2 * PIXELS, -5);
    seqgen_complete_options opts = seqgen_complete_options_default();
    expect_refusal(E, NULL, in, 2, T, NULL, 500, NULL, out, "NULL model");
    expect_refusal(E, m, NULL, 2, T, NULL, 500, NULL, out, "NULL sequences");
    expect_refusal(E, m, in, 2, T, NULL, 500, NULL, NULL, "NULL output");
    expect_refusal(E, m, in, 0, T, NULL, 500, NULL, out, "count");
    expect_refusal(E, m, in, 2, T, NULL, 788, NULL, out, "[0, 784]");
    expect_refusal(E, m, in, 2, T, NULL, -4, NULL, out, "[0, 784]");
    expect_refusal(E, m, in, 2, 0, NULL, 0, NULL, out, "steps must be >= 1, got 0");
    expect_refusal(E, m, in, 2, -3, NULL, 0, NULL, out, "steps must be >= 1, got -3");
    /* lengths in [1, T], the sequence named */
    const size_t zero_length[2] = {T, 0}, too_long[2] = {T + 1, T};
    expect_refusal(E, m, in, 2, T, zero_length, 500, NULL, out, "sequence 1: length 0");
    expect_refusal(E, m, in, 2, T, too_long, 500, NULL, out, "sequence 0: length 197");
    opts.decode = SEQGEN_DECODE_SAMPLE;
    const double bad_temps[] = {0.0, -1.0, NAN, INFINITY};
    for (int i = 0; i < 4; i++) {
        opts.temperature = bad_temps[i];
        expect_refusal(E, m, in, 2, T, NULL, 500, &opts, out, "temperature");
    }
    opts.decode = (seqgen_decode)5;
    expect_refusal(E, m, in, 2, T, NULL, 500, &opts, out, "unknown decoder 5");
    in[PIXELS + 123] = NAN;
    expect_refusal(E, m, in, 2, T, NULL, 500, NULL, out, "sequence 1: given unit 123");
    in[PIXELS + 123] = 0.0f;
    expect_refusal(E, m, in, 2, T, NULL, 500, NULL, in + 10, "overlaps");
    float *probs = in + 100;
    assert_int_equal(seqgen_complete(m, in, 2, T, NULL, 500, NULL, out, probs), SEQGEN_EINVAL);
    for (int i = 0; i < 2 * PIXELS; i++)
        assert_true(out[i] == -5.0f);
    free(in), free(out);
    seqgen_model_free(m);
}

/* ---- Lengths -------------------------------------------------------------------------------- */

static seqgen_model *model_with(int D, int H, int start_step, int steps, uint64_t seed)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = D, cfg.hidden = H, cfg.seed = seed, cfg.threads = 2;
    cfg.start_step = start_step, cfg.steps = steps;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    return m;
}

/* Completes `count` sequences of T steps with their lengths, the padding of the input NaN, and
 * checks each against a call for that sequence alone of steps = its length (its own stream):
 * the same units and probabilities bit for bit, then zeros to the end of the T steps. */
static void check_lengths(const seqgen_model *m, int T, const size_t *lengths, size_t count,
                          int K, const seqgen_complete_options *opts)
{
    const int D = seqgen_model_get_config(m).units_per_step;
    const size_t P = (size_t)T * D, G = P - (size_t)K;
    float *in = tu_random_bits(count * P, 17);
    for (size_t b = 0; b < count; b++) /* given or not, the padding is never read */
        for (size_t i = lengths[b] * D; i < P; i++)
            in[b * P + i] = NAN;
    float *out = floats(count * P, -1), *probs = floats(count * G, -1);
    float *alone = floats(P, -2), *alone_probs = floats(P, -2);
    assert_ok(seqgen_complete(m, in, count, T, lengths, K, opts, out, probs));
    size_t generated = 0, ones = 0;
    for (size_t b = 0; b < count; b++) {
        const size_t own = lengths[b] * D, own_given = (size_t)K < own ? (size_t)K : own;
        seqgen_complete_options one = *opts;
        one.first_stream = opts->first_stream + b;
        assert_ok(seqgen_complete(m, in + b * P, 1, (int)lengths[b], NULL, (int)own_given, &one,
                                  alone, alone_probs));
        assert_memory_equal(out + b * P, alone, own * sizeof *out);
        assert_memory_equal(probs + b * G, alone_probs, (own - own_given) * sizeof *probs);
        for (size_t i = own; i < P; i++)
            if (out[b * P + i] != 0.0f)
                fail_msg("sequence %zu (length %zu, K %d): unit %zu after its length is %g", b,
                         lengths[b], K, i, out[b * P + i]);
        for (size_t i = own - own_given; i < G; i++)
            if (probs[b * G + i] != 0.0f)
                fail_msg("sequence %zu (length %zu, K %d): probability %zu after its length is "
                         "%g", b, lengths[b], K, i, probs[b * G + i]);
        for (size_t i = own_given; i < own; i++)
            generated++, ones += out[b * P + i] == 1.0f;
    }
    /* what was compared must vary: sampled units take both values */
    if (opts->decode == SEQGEN_DECODE_SAMPLE)
        assert_true(ones > generated / 5 && ones < generated - generated / 5);
    /* in place: the same, the padding of the input overwritten with zeros */
    assert_ok(seqgen_complete(m, in, count, T, lengths, K, opts, in, NULL));
    assert_memory_equal(in, out, count * P * sizeof *in);
    free(in), free(out), free(probs), free(alone), free(alone_probs);
}

/* Sequences of their own lengths (1 step, a few, half, most, all T) are each completed as they
 * would be alone: K inside the given steps, K = 0 from nothing (start step) or from a blank
 * first step, K partly inside a step, K beyond some lengths (copied, zeros after); greedy and
 * sampled. */
static void lengths_complete_each_sequence_as_alone(void **state)
{
    (void)state;
    enum { T = 40, D = 2, N = 5 };
    const size_t lengths[N] = {1, 7, 20, 33, 40};
    for (int start = 0; start <= 1; start++) {
        seqgen_model *m = model_with(D, 12, start, 0, 21 + start);
        const int givens[] = {0, 1, 10, 15, 60};
        for (size_t g = 0; g < sizeof givens / sizeof givens[0]; g++) {
            seqgen_complete_options opts = seqgen_complete_options_default();
            check_lengths(m, T, lengths, N, givens[g], &opts);
            opts.decode = SEQGEN_DECODE_SAMPLE, opts.seed = 5, opts.first_stream = 3;
            check_lengths(m, T, lengths, N, givens[g], &opts);
        }
        seqgen_model_free(m);
    }
}

/* Several blocks of lengths, the last ones all short (a block that stops early): the same for 1
 * and 3 threads, and the same as the blocks completed by separate calls (their own streams);
 * zeros after every length. (Each sequence alone is checked above, within one block: across
 * blocks of other sizes the products' rounding may depend on their number of rows.) */
static void lengths_over_several_blocks(void **state)
{
    (void)state;
    enum { T = 30, D = 1, N = 150, K = 5, G = T * D - K };
    size_t lengths[N];
    for (size_t b = 0; b < N; b++)
        lengths[b] = b < 128 ? 1 + (b * 7) % T : 1 + b % 4;
    seqgen_model *m = model_with(D, 8, 1, T, 4);
    float *in = tu_random_bits((size_t)N * T, 23);
    float *one = floats((size_t)N * T, -1), *three = floats((size_t)N * T, -1);
    float *p1 = floats((size_t)N * G, -1), *p3 = floats((size_t)N * G, -1);
    seqgen_complete_options opts = seqgen_complete_options_default();
    opts.decode = SEQGEN_DECODE_SAMPLE, opts.seed = 8;
    assert_ok(seqgen_model_set_threads(m, 1));
    assert_ok(seqgen_complete(m, in, N, T, lengths, K, &opts, one, p1));
    assert_ok(seqgen_model_set_threads(m, 3));
    assert_ok(seqgen_complete(m, in, N, T, lengths, K, &opts, three, p3));
    assert_memory_equal(one, three, (size_t)N * T * sizeof *one);
    assert_memory_equal(p1, p3, (size_t)N * G * sizeof *p1);
    for (size_t s0 = 0; s0 < N; s0 += 64) {
        const size_t n = N - s0 < 64 ? N - s0 : 64;
        seqgen_complete_options part = opts;
        part.first_stream = s0;
        assert_ok(seqgen_complete(m, in + s0 * T, n, T, lengths + s0, K, &part, three, p3));
        assert_memory_equal(three, one + s0 * T, n * T * sizeof *one);
        assert_memory_equal(p3, p1 + s0 * G, n * G * sizeof *p1);
    }
    for (size_t b = 0; b < N; b++) {
        for (size_t i = lengths[b] * D; i < T * D; i++)
            assert_true(one[b * T * D + i] == 0.0f);
        for (size_t i = lengths[b] * D > K ? lengths[b] * D - K : 0; i < G; i++)
            assert_true(p1[b * G + i] == 0.0f);
    }
    free(in), free(one), free(three), free(p1), free(p3);
    seqgen_model_free(m);
}

/* A model made for T steps completes sequences of T steps, shorter ones through lengths, and
 * refuses other T, naming both. */
static void the_models_steps_are_enforced(void **state)
{
    (void)state;
    enum { T = 12, D = 2 };
    seqgen_model *m = model_with(D, 6, 0, T, 3);
    float *in = tu_random_bits(2 * T * D, 5), *out = floats(2 * T * D, -5);
    assert_ok(seqgen_complete(m, in, 2, T, NULL, 4, NULL, out, NULL));
    const size_t lengths[2] = {3, T};
    assert_ok(seqgen_complete(m, in, 2, T, lengths, 4, NULL, out, NULL));
    for (int i = 0; i < 2 * T * D; i++)
        out[i] = -5.0f;
    expect_refusal(SEQGEN_EMISMATCH, m, in, 1, T + 1, NULL, 4, NULL, out,
                   "the model is for sequences of 12 steps, these have 13");
    expect_refusal(SEQGEN_EMISMATCH, m, in, 2, T - 1, NULL, 4, NULL, out,
                   "the model is for sequences of 12 steps, these have 11");
    /* steps 0 is a bad argument before it is another length */
    expect_refusal(SEQGEN_EINVAL, m, in, 2, 0, NULL, 0, NULL, out, "steps must be >= 1");
    for (int i = 0; i < 2 * T * D; i++)
        assert_true(out[i] == -5.0f);
    free(in), free(out);
    seqgen_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(greedy_equals_stepwise_rollout),
        cmocka_unit_test(greedy_follows_its_own_output),
        cmocka_unit_test(sampled_probabilities_equal_the_step_api),
        cmocka_unit_test(given_pixels_are_untouched),
        cmocka_unit_test(sampling_is_reproducible_and_streamed),
        cmocka_unit_test(threads_do_not_change_the_result),
        cmocka_unit_test(temperature_limits),
        cmocka_unit_test(k_zero_and_k_full),
        cmocka_unit_test(bad_arguments_are_rejected),
        cmocka_unit_test(lengths_complete_each_sequence_as_alone),
        cmocka_unit_test(lengths_over_several_blocks),
        cmocka_unit_test(the_models_steps_are_enforced),
    };
    return cmocka_run_group_tests_name("complete", tests, load_digits, free_digits);
}
