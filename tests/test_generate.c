/* Generation of symbols (seqgen_generate): greedy against a rollout written here with
 * seqgen_model_step_symbols, bit for bit, with and without a start step, an end symbol and in
 * place; top-k 1, a tiny top-p and a tiny temperature are greedy; the frequencies of sampled
 * symbols against the softmax, with temperature, top-k, top-p (nothing outside the kept set);
 * the end symbol and what follows it; 1 and 3 threads, and a set cut into calls; every
 * refusal with its detail, nothing written. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seqgen.h"

#define V 6
#define E 4
#define H 8

/* count rows of T random symbols in [0, V). */
static int32_t *random_symbols(size_t count, int T, uint64_t seed)
{
    int32_t *s = malloc(count * T * sizeof *s);
    assert_non_null(s);
    uint64_t x = seed * 6364136223846793005u + 1442695040888963407u;
    for (size_t i = 0; i < count * T; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        s[i] = (int32_t)((x >> 33) % V);
    }
    return s;
}

/* The lowest id among the largest logits. */
static int32_t argmax(const float *a)
{
    int32_t best = 0;
    for (int k = 1; k < V; k++)
        if (a[k] > a[best])
            best = k;
    return best;
}

/* The reference: greedy generation written with the single-step API, as the header describes
 * it (every sequence fed every step, -1 after its end and at the start step). */
static void greedy_by_hand(const seqgen_model *m, const int32_t *prefixes, const size_t *given,
                           size_t count, int T, int32_t end, int32_t *out, size_t *lengths,
                           float *probs)
{
    seqgen_model_state *st = NULL;
    assert_ok(seqgen_model_state_create(&st, m, (int)count));
    float *logits = malloc(count * V * sizeof *logits), *p = malloc(count * V * sizeof *p);
    int32_t *fed = malloc(count * sizeof *fed);
    int *ended = malloc(count * sizeof *ended);
    for (size_t b = 0; b < count; b++) {
        for (int i = 0; i < T; i++) {
            out[b * T + i] = (size_t)i < given[b] ? prefixes[b * T + i] : -1;
            probs[b * T + i] = 0.0f;
        }
        lengths[b] = given[b];
        ended[b] = given[b] >= (size_t)T;
    }
    for (int t = seqgen_model_get_config(m).start_step ? -1 : 0; t + 1 < T; t++) {
        int live = 0;
        for (size_t b = 0; b < count; b++) {
            live |= !ended[b];
            fed[b] = t >= 0 && (size_t)t < lengths[b] ? out[b * T + t] : -1;
        }
        if (!live)
            break;
        assert_ok(seqgen_model_step_symbols(m, st, fed, logits, p));
        for (size_t b = 0; b < count; b++) {
            if (ended[b] || lengths[b] != (size_t)(t + 1))
                continue;
            const int32_t s = argmax(logits + b * V);
            out[b * T + lengths[b]] = s;
            probs[b * T + lengths[b]] = p[b * V + s];
            lengths[b]++;
            ended[b] = s == end || lengths[b] == (size_t)T;
        }
    }
    free(logits), free(p), free(fed), free(ended);
    seqgen_model_state_free(st);
}

/* Every sequence: its prefix, then generated symbols with no end symbol before the last, then
 * -1 and probabilities 0; a generated symbol's probability in (0, 1]. */
static void check_shape(const int32_t *prefixes, const size_t *given, size_t count, int T,
                        int32_t end, const int32_t *out, const size_t *lengths, const float *probs)
{
    for (size_t b = 0; b < count; b++) {
        const size_t n = lengths[b];
        assert_true(n >= given[b] && n <= (size_t)T);
        if (n < (size_t)T)
            assert_int_equal(out[b * T + n - 1], end);
        for (size_t i = 0; i < (size_t)T; i++) {
            const int32_t s = out[b * T + i];
            const float p = probs[b * T + i];
            if (i < given[b]) {
                assert_int_equal(s, prefixes[b * T + i]);
                assert_true(p == 0.0f);
            } else if (i < n) {
                assert_true(s >= 0 && s < V);
                assert_true(i + 1 == n || s != end);
                assert_true(p > 0.0f && p <= 1.0f);
            } else {
                assert_int_equal(s, -1);
                assert_true(p == 0.0f);
            }
        }
    }
}

/* ---- Greedy --------------------------------------------------------------------------------- */

#define COUNT 7
#define STEPS 12

static void greedy_is_a_rollout_by_hand(void **state)
{
    (void)state;
    for (int start = 0; start < 2; start++) {
        seqgen_model *m = tu_make_symbol_model(V, E, H, start, 2, 11 + start);
        int32_t *prefixes = random_symbols(COUNT, STEPS, 4);
        size_t given[COUNT] = {1, 3, 2, 5, 1, STEPS, 11};
        if (start)
            given[0] = 0, given[4] = 0;
        int32_t out[COUNT * STEPS], ref[COUNT * STEPS];
        size_t lengths[COUNT], ref_lengths[COUNT];
        float probs[COUNT * STEPS], ref_probs[COUNT * STEPS];
        seqgen_generate_options o = seqgen_generate_options_default();
        for (int with_end = 0; with_end < 2; with_end++) {
            if (with_end) /* the third symbol generated for sequence 0 */
                o.end_symbol = out[given[0] + 2];
            assert_ok(seqgen_generate(m, prefixes, given, COUNT, STEPS, &o, out, lengths, probs));
            greedy_by_hand(m, prefixes, given, COUNT, STEPS, o.end_symbol, ref, ref_lengths,
                           ref_probs);
            assert_memory_equal(out, ref, sizeof out);
            assert_memory_equal(lengths, ref_lengths, sizeof lengths);
            assert_memory_equal(probs, ref_probs, sizeof probs);
            check_shape(prefixes, given, COUNT, STEPS, o.end_symbol, out, lengths, probs);
            if (with_end) {
                assert_true(lengths[0] <= given[0] + 3);
                int stopped = 0;
                for (size_t b = 0; b < COUNT; b++)
                    stopped += lengths[b] < STEPS;
                assert_true(stopped >= 1);
            } else {
                for (size_t b = 0; b < COUNT; b++)
                    assert_int_equal(lengths[b], STEPS);
            }
        }
        /* in place, without lengths or probabilities */
        int32_t *inplace = malloc(sizeof out);
        memcpy(inplace, prefixes, sizeof out);
        assert_ok(seqgen_generate(m, inplace, given, COUNT, STEPS, &o, inplace, NULL, NULL));
        assert_memory_equal(inplace, out, sizeof out);
        free(inplace);
        free(prefixes);
        seqgen_model_free(m);
    }
}

/* With a start step and no prefix lengths, every sequence is generated from nothing: all the
 * same, greedily. */
static void from_nothing(void **state)
{
    (void)state;
    seqgen_model *m = tu_make_symbol_model(V, E, H, 1, 1, 5);
    int32_t out[3 * STEPS];
    size_t lengths[3];
    assert_ok(seqgen_generate(m, NULL, NULL, 3, STEPS, NULL, out, lengths, NULL));
    const size_t none[3] = {0, 0, 0};
    int32_t ref[3 * STEPS], unused[3 * STEPS] = {0};
    size_t ref_lengths[3];
    float ref_probs[3 * STEPS];
    greedy_by_hand(m, unused, none, 3, STEPS, -1, ref, ref_lengths, ref_probs);
    assert_memory_equal(out, ref, sizeof out);
    assert_memory_equal(out, out + STEPS, STEPS * sizeof *out);
    seqgen_model_free(m);
}

/* Sampling that keeps only the most probable symbol is greedy: top-k 1, top-p 1e-6, and a
 * temperature so small that every other weight is 0. */
static void narrow_sampling_is_greedy(void **state)
{
    (void)state;
    seqgen_model *m = tu_make_symbol_model(V, E, H, 1, 2, 21);
    enum { N = 100, T = 16 };
    int32_t *prefixes = random_symbols(N, T, 8);
    size_t given[N];
    for (size_t b = 0; b < N; b++)
        given[b] = b % 4;
    static int32_t greedy[N * T], sampled[N * T];
    static float greedy_probs[N * T], sampled_probs[N * T];
    size_t greedy_lengths[N], sampled_lengths[N];
    seqgen_generate_options o = seqgen_generate_options_default();
    o.end_symbol = 2;
    assert_ok(seqgen_generate(m, prefixes, given, N, T, &o, greedy, greedy_lengths,
                              greedy_probs));
    for (int variant = 0; variant < 3; variant++) {
        seqgen_generate_options s = o;
        s.decode = SEQGEN_DECODE_SAMPLE, s.seed = 99;
        if (variant == 0)
            s.top_k = 1, s.temperature = 3.0;
        else if (variant == 1)
            s.top_p = 1e-6, s.temperature = 0.7;
        else
            s.temperature = 1e-30;
        assert_ok(seqgen_generate(m, prefixes, given, N, T, &s, sampled, sampled_lengths,
                                  sampled_probs));
        assert_memory_equal(sampled, greedy, sizeof greedy);
        assert_memory_equal(sampled_lengths, greedy_lengths, sizeof greedy_lengths);
        assert_memory_equal(sampled_probs, greedy_probs, sizeof greedy_probs);
    }
    free(prefixes);
    seqgen_model_free(m);
}

/* Sampled sequences replayed through the step API, each fed its own symbols: every recorded
 * probability is the step's softmax of the symbol, bit for bit, and every generated symbol is
 * among the top-k of that step's logits (ties to the lower id) and, of those, in the nucleus. */
static void sampled_symbols_replay(void **state)
{
    (void)state;
    enum { N = 40, T = 14, K = 3 };
    const double P = 0.8, temperature = 1.7;
    seqgen_model *m = tu_make_symbol_model(V, E, H, 0, 2, 31);
    int32_t *prefixes = random_symbols(N, T, 6);
    size_t given[N];
    for (size_t b = 0; b < N; b++)
        given[b] = 1 + b % 3;
    int32_t out[N * T];
    size_t lengths[N];
    float probs[N * T];
    seqgen_generate_options o = seqgen_generate_options_default();
    o.decode = SEQGEN_DECODE_SAMPLE, o.seed = 3, o.temperature = temperature;
    o.top_k = K, o.top_p = P, o.end_symbol = 0;
    assert_ok(seqgen_generate(m, prefixes, given, N, T, &o, out, lengths, probs));
    check_shape(prefixes, given, N, T, o.end_symbol, out, lengths, probs);
    seqgen_model_state *st = NULL;
    assert_ok(seqgen_model_state_create(&st, m, N));
    float logits[N * V], p[N * V];
    int32_t fed[N];
    size_t generated = 0;
    for (int t = 0; t + 1 < T; t++) {
        for (size_t b = 0; b < N; b++)
            fed[b] = (size_t)t < lengths[b] ? out[b * T + t] : -1;
        assert_ok(seqgen_model_step_symbols(m, st, fed, logits, p));
        for (size_t b = 0; b < N; b++) {
            const size_t at = (size_t)t + 1;
            if (at < given[b] || at >= lengths[b])
                continue;
            const int32_t s = out[b * T + at];
            const float *a = logits + b * V;
            assert_true(probs[b * T + at] == p[b * V + s]);
            /* the rank of s: the symbols before it in the ranking */
            int rank = 0;
            for (int k = 0; k < V; k++)
                rank += a[k] > a[s] || (a[k] == a[s] && k < s);
            assert_true(rank < K);
            /* the nucleus of the top K at the temperature: s is within it */
            double w[V], top = a[argmax(a)], mass = 0.0, before = 0.0;
            int order[V], used[V] = {0};
            for (int k = 0; k < V; k++)
                w[k] = exp(((double)a[k] - top) / temperature);
            for (int r = 0; r < K; r++) {
                int best = -1;
                for (int k = 0; k < V; k++)
                    if (!used[k] && (best < 0 || a[k] > a[best]))
                        best = k;
                used[best] = 1, order[r] = best, mass += w[best];
            }
            for (int r = 0; r < rank; r++)
                before += w[order[r]];
            assert_true(before < P * mass); /* the nucleus had not been reached before s */
            generated++;
        }
    }
    print_message("    %zu sampled symbols replayed\n", generated);
    assert_true(generated > N);
    seqgen_model_state_free(st);
    free(prefixes);
    seqgen_model_free(m);
}

/* ---- Sampling frequencies ------------------------------------------------------------------- */

/* A model whose first symbol (after the start step) has probabilities `target`: every parameter
 * 0 but the output bias, log(target), so the logits are the bias whatever the state. Two
 * symbols tie, to test the order of the ranking. */
static const double target[V] = {0.3, 0.2, 0.2, 0.15, 0.1, 0.05};

/* The 99.9% quantiles of the chi-square distribution with 1 to 5 degrees of freedom. */
static const double chi2_999[V] = {0.0, 10.828, 13.816, 16.266, 18.467, 20.515};

/* Samples N first symbols with `o` and compares their frequencies with the distribution the
 * header defines, computed here from the logits the step API gives: softmax(a / temperature)
 * over the kept symbols. Returns the worst deviation in standard deviations. */
static double check_frequencies(const seqgen_model *m, seqgen_generate_options o, int keep_k,
                                double keep_p, const int kept_expected[V])
{
    enum { N = 100000 };
    int32_t *out = malloc(N * sizeof *out);
    assert_non_null(out);
    assert_ok(seqgen_generate(m, NULL, NULL, N, 1, &o, out, NULL, NULL));
    float a[V];
    seqgen_model_state *st = NULL;
    assert_ok(seqgen_model_state_create(&st, m, 1));
    assert_ok(seqgen_model_step_symbols(m, st, (const int32_t[]){-1}, a, NULL));
    seqgen_model_state_free(st);
    /* the ranking of target (ties by id) is the id order here; keep its beginning */
    double q[V], mass = 0.0, top = a[0];
    int kept = keep_k > 0 && keep_k < V ? keep_k : V;
    for (int k = 0; k < V; k++)
        q[k] = exp(((double)a[k] - top) / o.temperature);
    for (int k = 0; k < kept; k++)
        mass += q[k];
    double cumulative = 0.0;
    for (int k = 0; k < kept; k++)
        if ((cumulative += q[k]) >= keep_p * mass) {
            kept = k + 1;
            break;
        }
    double kept_mass = 0.0;
    for (int k = 0; k < kept; k++)
        kept_mass += q[k];
    for (int k = 0; k < V; k++) {
        q[k] = k < kept ? q[k] / kept_mass : 0.0;
        assert_int_equal(k < kept, kept_expected[k]);
    }
    size_t counts[V] = {0};
    for (size_t i = 0; i < N; i++) {
        assert_true(out[i] >= 0 && out[i] < V);
        counts[out[i]]++;
    }
    double worst = 0.0, chi2 = 0.0;
    for (int k = 0; k < V; k++) {
        if (q[k] == 0.0) {
            assert_int_equal(counts[k], 0); /* never outside the kept set */
            continue;
        }
        const double expected = N * q[k], sd = sqrt(N * q[k] * (1.0 - q[k]));
        chi2 += (counts[k] - expected) * (counts[k] - expected) / expected;
        if (sd > 0.0)
            worst = fmax(worst, fabs(counts[k] - expected) / sd);
    }
    print_message("    T %.2f, top-k %d, top-p %.2f: %d kept, worst deviation %.2f sd, "
                  "chi-square %.2f (df %d, 99.9%% quantile %.2f)\n", o.temperature, o.top_k,
                  o.top_p, kept, worst, chi2, kept - 1, chi2_999[kept - 1]);
    /* Each count is Binomial(N, q_k) if the streams' draws are independent: 5 sd per symbol
     * (two-sided 5.7e-7 each, under 3e-5 over the 42 comparisons of this test) and the
     * chi-square's 99.9% quantile; both catch a temperature or a kept set that is off (0.01 in
     * a probability is 5 to 8 sd at N = 1e5). The chi-squares come out far below their means
     * (df): the first uniforms of streams 0, 1, 2, ... of one seed are spread more evenly than
     * independent draws (docs/symbols.md), which makes the bounds only looser. */
    if (kept > 1)
        assert_true(chi2 < chi2_999[kept - 1]);
    assert_true(worst < 5.0);
    free(out);
    return worst;
}

static void frequencies_follow_the_softmax(void **state)
{
    (void)state;
    seqgen_model *m = tu_make_symbol_model(V, E, H, 1, 2, 1);
    tu_zero_parameters(m);
    float bias[V];
    for (int k = 0; k < V; k++)
        bias[k] = (float)log(target[k]);
    assert_ok(seqgen_model_set_tensor(m, "out.bias", bias, V));
    const struct {
        double temperature;
        int top_k;
        double top_p;
        int kept[V];
    } cases[] = {
        {1.0, 0, 1.0, {1, 1, 1, 1, 1, 1}},
        {0.5, 0, 1.0, {1, 1, 1, 1, 1, 1}},
        {2.0, 0, 1.0, {1, 1, 1, 1, 1, 1}},
        {1.0, 2, 1.0, {1, 1, 0, 0, 0, 0}},  /* 1 and 2 tie: the lower id is kept */
        {1.0, 3, 1.0, {1, 1, 1, 0, 0, 0}},
        {1.0, 0, 0.6, {1, 1, 1, 0, 0, 0}},  /* 0.3 + 0.2 + 0.2 >= 0.6 */
        {1.0, 0, 0.45, {1, 1, 0, 0, 0, 0}}, /* 0.3 + 0.2 >= 0.45 */
        {1.5, 4, 0.7, {1, 1, 1, 0, 0, 0}},  /* nucleus of the top 4 at temperature 1.5 */
        {0.5, 6, 0.98, {1, 1, 1, 1, 1, 0}}, /* at T 0.5 the last has 0.012 of the mass */
    };
    double worst = 0.0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        seqgen_generate_options o = seqgen_generate_options_default();
        o.decode = SEQGEN_DECODE_SAMPLE, o.seed = 7 + i;
        o.temperature = cases[i].temperature, o.top_k = cases[i].top_k;
        o.top_p = cases[i].top_p;
        worst = fmax(worst, check_frequencies(m, o, cases[i].top_k, cases[i].top_p,
                                              cases[i].kept));
    }
    print_message("    worst deviation over all cases: %.2f sd\n", worst);
    seqgen_model_free(m);
}

/* ---- Reproducibility ------------------------------------------------------------------------ */

/* Sampling, with an end symbol, over 150 sequences (3 blocks): 1 and 3 threads agree bit for
 * bit, and so do calls over the blocks with their first streams; sequences 2..4 alone are the
 * same (one block); another seed gives other samples. */
static void threads_and_calls_agree(void **state)
{
    (void)state;
    enum { N = 150, T = 20 };
    int32_t *prefixes = random_symbols(N, T, 12);
    size_t given[N];
    for (size_t b = 0; b < N; b++)
        given[b] = b % 5;
    static int32_t out[3][N * T];
    static float probs[3][N * T];
    size_t lengths[3][N];
    seqgen_generate_options o = seqgen_generate_options_default();
    o.decode = SEQGEN_DECODE_SAMPLE, o.seed = 42, o.first_stream = 1000;
    o.top_k = 4, o.top_p = 0.9, o.temperature = 1.3, o.end_symbol = 5;
    for (int k = 0; k < 2; k++) {
        seqgen_model *m = tu_make_symbol_model(V, E, H, 1, k ? 3 : 1, 17);
        assert_ok(seqgen_generate(m, prefixes, given, N, T, &o, out[k], lengths[k], probs[k]));
        if (k == 1) {
            for (size_t s0 = 0; s0 < N; s0 += 64) { /* the blocks, one call each */
                const size_t n = N - s0 < 64 ? N - s0 : 64;
                seqgen_generate_options part = o;
                part.first_stream = o.first_stream + s0;
                assert_ok(seqgen_generate(m, prefixes + s0 * T, given + s0, n, T, &part,
                                          out[2] + s0 * T, lengths[2] + s0,
                                          probs[2] + s0 * T));
            }
            int32_t alone[3 * T];
            seqgen_generate_options part = o;
            part.first_stream = o.first_stream + 2;
            assert_ok(seqgen_generate(m, prefixes + 2 * T, given + 2, 3, T, &part, alone, NULL,
                                      NULL));
            assert_memory_equal(alone, out[0] + 2 * T, sizeof alone);
            part = o, part.seed = 43;
            static int32_t other[N * T];
            assert_ok(seqgen_generate(m, prefixes, given, N, T, &part, other, NULL, NULL));
            size_t different = 0;
            for (size_t i = 0; i < N * T; i++)
                different += other[i] != out[0][i];
            assert_true(different > N);
        }
        seqgen_model_free(m);
    }
    for (int k = 1; k < 3; k++) {
        assert_memory_equal(out[k], out[0], sizeof out[0]);
        assert_memory_equal(lengths[k], lengths[0], sizeof lengths[0]);
        assert_memory_equal(probs[k], probs[0], sizeof probs[0]);
    }
    check_shape(prefixes, given, N, T, o.end_symbol, out[0], lengths[0], probs[0]);
    size_t stopped = 0;
    for (size_t b = 0; b < N; b++)
        stopped += lengths[0][b] < T;
    print_message("    %zu of %d sequences ended with symbol 5\n", stopped, N);
    assert_true(stopped >= 10);
    free(prefixes);
}

/* ---- Refusals ------------------------------------------------------------------------------- */

static void refusals_have_details(void **state)
{
    (void)state;
    seqgen_model *m = tu_make_symbol_model(V, E, H, 0, 1, 3);
    seqgen_model *started = tu_make_symbol_model(V, E, H, 1, 1, 3);
    seqgen_model *binary = tu_make_model(1, 4, 1, 1, 1);
    enum { N = 3, T = 5 };
    int32_t in[N * T] = {0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 0, 1, 2};
    size_t given[N] = {2, 5, 1};
    int32_t out[N * T], before[N * T];
    size_t lengths[N] = {77, 77, 77};
    float probs[N * T];
    for (size_t i = 0; i < N * T; i++)
        out[i] = 1234, probs[i] = 0.5f;
    memcpy(before, out, sizeof out);
    seqgen_generate_options o = seqgen_generate_options_default();
#define REFUSE(call, expected, detail)                                                             \
    do {                                                                                           \
        assert_fails_with((call), (expected), (detail));                                           \
        assert_memory_equal(out, before, sizeof out);                                              \
        assert_true(probs[0] == 0.5f && lengths[0] == 77);                                         \
    } while (0)
    REFUSE(seqgen_generate(NULL, in, given, N, T, &o, out, lengths, probs), SEQGEN_EINVAL,
           "seqgen_generate: NULL model");
    REFUSE(seqgen_generate(m, in, given, N, T, &o, NULL, lengths, probs), SEQGEN_EINVAL,
           "seqgen_generate: NULL output");
    REFUSE(seqgen_generate(m, NULL, given, N, T, &o, out, lengths, probs), SEQGEN_EINVAL,
           "seqgen_generate: NULL prefixes");
    REFUSE(seqgen_generate(binary, in, given, N, T, &o, out, lengths, probs), SEQGEN_EINVAL,
           "the model is of binary units (vocab 0)");
    REFUSE(seqgen_generate(m, in, given, 0, T, &o, out, lengths, probs), SEQGEN_EINVAL,
           "count must be >= 1, got 0");
    REFUSE(seqgen_generate(m, in, given, N, 0, &o, out, lengths, probs), SEQGEN_EINVAL,
           "max_steps must be >= 1, got 0");
    REFUSE(seqgen_generate(m, in, given, (size_t)1 << 38, 8, &o, out, lengths, probs),
           SEQGEN_EINVAL, "274877906944 sequences of 8 symbols is too many");
    REFUSE(seqgen_generate(m, in, given, N, 4, &o, out, lengths, probs), SEQGEN_EINVAL,
           "sequence 1: its prefix of 5 symbols is longer than max_steps 4");
    in[5 + 3] = V; /* sequence 1, position 3 */
    REFUSE(seqgen_generate(m, in, given, N, T, &o, out, lengths, probs), SEQGEN_EINVAL,
           "sequence 1: prefix symbol 3 is 6, not in [0, 6)");
    in[5 + 3] = -1;
    REFUSE(seqgen_generate(m, in, given, N, T, &o, out, lengths, probs), SEQGEN_EINVAL,
           "sequence 1: prefix symbol 3 is -1, not in [0, 6)");
    in[5 + 3] = 3;
    given[2] = 0;
    REFUSE(seqgen_generate(m, in, given, N, T, &o, out, lengths, probs), SEQGEN_EINVAL,
           "sequence 2: an empty prefix, but the model has no start step");
    REFUSE(seqgen_generate(m, NULL, NULL, N, T, &o, out, lengths, probs), SEQGEN_EINVAL,
           "sequence 0: an empty prefix, but the model has no start step");
    given[2] = 1;
    in[2 * T + 1] = 99; /* after sequence 2's prefix: not read */
    assert_ok(seqgen_generate(started, in, given, N, T, &o, out, lengths, probs));
    in[2 * T + 1] = 1;
    for (size_t i = 0; i < N * T; i++)
        out[i] = 1234, probs[i] = 0.5f;
    for (size_t i = 0; i < N; i++)
        lengths[i] = 77;
    const struct {
        int field;
        double value;
        const char *detail;
    } bad[] = {
        {0, 7, "unknown decoder 7"},
        {1, 0.0, "the sampling temperature must be finite and > 0, got 0"},
        {1, -1.0, "the sampling temperature must be finite and > 0, got -1"},
        {1, NAN, "the sampling temperature must be finite and > 0, got nan"},
        {1, INFINITY, "the sampling temperature must be finite and > 0, got inf"},
        {2, -1, "top_k must be 0 (off) or >= 1, got -1"},
        {3, 0.0, "top_p must be in (0, 1] (1: off), got 0"},
        {3, 1.5, "top_p must be in (0, 1] (1: off), got 1.5"},
        {3, NAN, "top_p must be in (0, 1] (1: off), got nan"},
        {4, V, "the end symbol must be in [0, 6) or -1 (none), got 6"},
        {4, -2, "the end symbol must be in [0, 6) or -1 (none), got -2"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int decode = 0; decode < 2; decode++) {
            seqgen_generate_options b = seqgen_generate_options_default();
            b.decode = decode ? SEQGEN_DECODE_SAMPLE : SEQGEN_DECODE_GREEDY;
            switch (bad[i].field) {
            case 0: b.decode = (seqgen_decode)(int)bad[i].value; break;
            case 1: b.temperature = bad[i].value; break;
            case 2: b.top_k = (int)bad[i].value; break;
            case 3: b.top_p = bad[i].value; break;
            default: b.end_symbol = (int32_t)bad[i].value; break;
            }
            REFUSE(seqgen_generate(m, in, given, N, T, &b, out, lengths, probs), SEQGEN_EINVAL,
                   bad[i].detail);
        }
    }
    /* overlaps: output over the prefixes but not on them; probabilities over the output */
    int32_t *shifted = malloc((N * T + 1) * sizeof *shifted);
    memcpy(shifted, in, sizeof in);
    assert_fails_with(seqgen_generate(m, shifted, given, N, T, &o, shifted + 1, NULL, NULL),
                      SEQGEN_EINVAL, "the output overlaps the prefixes");
    assert_memory_equal(shifted, in, sizeof in);
    free(shifted);
    REFUSE(seqgen_generate(m, in, given, N, T, &o, out, lengths, (float *)(void *)in),
           SEQGEN_EINVAL, "the probabilities overlap the prefixes or the output");
    REFUSE(seqgen_generate(m, in, given, N, T, &o, out, (size_t *)(void *)probs, probs),
           SEQGEN_EINVAL, "the lengths overlap the prefixes, the output or the probabilities");
#undef REFUSE
    seqgen_model_free(m);
    seqgen_model_free(started);
    seqgen_model_free(binary);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(greedy_is_a_rollout_by_hand),
        cmocka_unit_test(from_nothing),
        cmocka_unit_test(narrow_sampling_is_greedy),
        cmocka_unit_test(sampled_symbols_replay),
        cmocka_unit_test(frequencies_follow_the_softmax),
        cmocka_unit_test(threads_and_calls_agree),
        cmocka_unit_test(refusals_have_details),
    };
    return cmocka_run_group_tests_name("generate", tests, NULL, NULL);
}
