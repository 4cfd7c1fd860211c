/* The categorical model (seqgen_model_config::vocab): its configuration limits, initialisation,
 * the step API against the pass, evaluation against training, the fed-back symbols, the
 * argmax fed back by scheduled sampling against a rollout of the step API, scheduled sampling
 * across thread counts, checkpoints (round trip and a bit-identical resume), and every refusal
 * with its detail.
 * PyTorch's numbers are checked by refcheck (tests/fixtures/symbols-*.txt), the gradients by
 * finite differences in test_gradcheck.c. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "head.h"
#include "seqgen.h"

#define V 6
#define E 4
#define H 8
#define B 5
#define WIDTH 9 /* symbols per sequence */

/* The detail of a failure must contain `detail`. */
static seqgen_model_config symbol_config(int start_step, int threads)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.vocab = V, cfg.embedding = E, cfg.hidden = H, cfg.layers = 2;
    cfg.start_step = start_step, cfg.threads = threads, cfg.seed = 3;
    return cfg;
}

static seqgen_model *symbol_model(int start_step, int threads)
{
    seqgen_model_config cfg = symbol_config(start_step, threads);
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    return m;
}

/* B sequences of WIDTH random symbols; lengths WIDTH, 7, 5, 3, 2 with -1 in the padding. */
static const size_t lengths[B] = {WIDTH, 7, 5, 3, 2};

static void make_symbols(int32_t *s, uint64_t seed)
{
    uint64_t x = seed * 6364136223846793005u + 1442695040888963407u;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < WIDTH; i++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            s[b * WIDTH + i] = (size_t)i < lengths[b] ? (int32_t)((x >> 33) % V) : -1;
        }
}

static seqgen_train_options ce_options(void)
{
    seqgen_train_options o = seqgen_train_options_default();
    o.loss = SEQGEN_LOSS_CE;
    return o;
}

/* ---- Configuration and initialisation ------------------------------------------------------ */

static void config_limits_are_checked(void **state)
{
    (void)state;
    const struct {
        int D, vocab, embedding;
        const char *detail;
    } bad[] = {
        {1, 1, 4, "vocab must be 0 (binary units) or at least 2 symbols, got 1"},
        {1, -1, 4, "vocab must be in [0, 65536], got -1"},
        {1, 65537, 4, "vocab must be in [0, 65536], got 65537"},
        {1, 5, 0, "embedding must be in [1, 65536] with vocab 5, got 0"},
        {1, 5, 65537, "embedding must be in [0, 65536], got 65537"},
        {1, 0, 3, "embedding must be 0 without a vocab (binary units), got 3"},
        {2, 5, 3, "units_per_step must be 1 with vocab 5 (one symbol per step), got 2"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        seqgen_model_config cfg = seqgen_model_config_default();
        cfg.units_per_step = bad[i].D, cfg.vocab = bad[i].vocab, cfg.embedding = bad[i].embedding;
        seqgen_model *m = NULL;
        assert_fails_with(seqgen_model_create(&m, &cfg), SEQGEN_EINVAL, bad[i].detail);
        assert_null(m);
    }
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.vocab = 2, cfg.embedding = 1, cfg.hidden = 1;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg)); /* the smallest */
    seqgen_model_free(m);
}

/* The tensor table in PyTorch's state_dict order, the embedding N(0, 1), the rest uniform in
 * [-1/sqrt(H), 1/sqrt(H)], and the same seed gives the same model. */
static void tensors_and_initialisation(void **state)
{
    (void)state;
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.vocab = 64, cfg.embedding = 65, cfg.hidden = 16, cfg.seed = 9;
    seqgen_model *m = NULL, *again = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    assert_ok(seqgen_model_create(&again, &cfg));
    assert_int_equal(seqgen_model_tensor_count(m), 7);
    const char *expected[7] = {"embedding.weight", "weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                               "bias_hh_l0", "out.weight", "out.bias"};
    const int shapes[7][2] = {{64, 65}, {48, 65}, {48, 16}, {48, 1}, {48, 1}, {64, 16}, {64, 1}};
    size_t total = 0;
    for (int i = 0; i < 7; i++) {
        const char *name;
        int rows, cols;
        assert_ok(seqgen_model_tensor_info(m, i, &name, &rows, &cols));
        assert_string_equal(name, expected[i]);
        assert_int_equal(rows, shapes[i][0]);
        assert_int_equal(cols, shapes[i][1]);
        total += (size_t)rows * cols;
        float *a = malloc((size_t)rows * cols * sizeof *a), *b = malloc((size_t)rows * cols * 4);
        assert_ok(seqgen_model_get_tensor(m, name, a, (size_t)rows * cols));
        assert_ok(seqgen_model_get_tensor(again, name, b, (size_t)rows * cols));
        assert_memory_equal(a, b, (size_t)rows * cols * sizeof *a);
        double sum = 0.0, squares = 0.0, largest = 0.0;
        for (int k = 0; k < rows * cols; k++) {
            sum += a[k], squares += (double)a[k] * a[k];
            largest = fmax(largest, fabs(a[k]));
        }
        const double n = (double)rows * cols, mean = sum / n, sd = sqrt(squares / n - mean * mean);
        if (i == 0) { /* 4160 normals: the mean within 4 standard errors, the deviation 1 */
            assert_true(fabs(mean) < 4.0 / sqrt(n));
            assert_allclose(sd, 1.0, 0.05, 0.0);
            assert_true(largest > 2.5 && largest < 6.0);
        } else {
            assert_true(largest <= 0.25f);
        }
        free(a), free(b);
    }
    assert_int_equal(seqgen_model_param_count(m), total);
    seqgen_model_free(m);
    seqgen_model_free(again);
}

/* ---- The pass, the step API, evaluation ---------------------------------------------------- */

/* Stepping the sequences one symbol at a time gives the pass's probabilities, with and without
 * a start step (-1 feeds it), and the logits' softmax is the probabilities. */
static void steps_match_the_pass(void **state)
{
    (void)state;
    for (int start = 0; start <= 1; start++) {
        seqgen_model *m = symbol_model(start, 2);
        int32_t s[B * WIDTH];
        make_symbols(s, 1);
        seqgen_symbol_batch batch = seqgen_symbol_batch_of_sequences(m, s, B, WIDTH);
        batch.lengths = lengths;
        const int T = batch.steps;
        float *probs = malloc((size_t)B * T * V * sizeof *probs);
        seqgen_train_stats st;
        assert_ok(seqgen_model_evaluate_symbols(m, &batch, probs, &st));
        assert_true(isnan(st.mse) && isnan(st.bce));
        seqgen_model_state *ms = NULL;
        assert_ok(seqgen_model_state_create(&ms, m, B));
        for (int t = 0; t < T; t++) {
            int32_t in[B];
            float logits[B * V], p[B * V];
            for (int b = 0; b < B; b++) /* padding: any valid symbol, its outputs are not used */
                in[b] = t < start ? -1 : s[b * WIDTH + t - start] < 0 ? 0 : s[b * WIDTH + t - start];
            assert_ok(seqgen_model_step_symbols(m, ms, in, logits, p));
            for (int b = 0; b < B; b++) {
                const int counted = (int)lengths[b] - 1 + start;
                double total = 0.0;
                for (int v = 0; v < V; v++) {
                    const float want = t < counted ? probs[((size_t)b * T + t) * V + v] : 0.0f;
                    total += p[b * V + v];
                    if (t < counted)
                        assert_allclose(p[b * V + v], want, 1e-5, 1e-7);
                    else
                        assert_true(want == 0.0f);
                }
                assert_allclose(total, 1.0, 1e-6, 0.0);
            }
        }
        seqgen_model_state_free(ms);
        free(probs);
        seqgen_model_free(m);
    }
}

/* Evaluation is the training pass's forward; the gradients of padding (symbols -1 there, never
 * read) and of rows never read are exactly zero; NLL per sequence and per symbol agree. */
static void evaluation_is_the_forward(void **state)
{
    (void)state;
    seqgen_model *m = symbol_model(0, 2);
    int32_t s[B * WIDTH];
    make_symbols(s, 2);
    for (int i = 0; i < B * WIDTH; i++) /* symbol 5 is never read */
        s[i] = s[i] == 5 ? 4 : s[i];
    seqgen_symbol_batch batch = seqgen_symbol_batch_of_sequences(m, s, B, WIDTH);
    batch.lengths = lengths;
    const size_t n = (size_t)B * batch.steps * V;
    float *p1 = malloc(n * sizeof *p1), *p2 = malloc(n * sizeof *p2);
    seqgen_train_stats a, b;
    seqgen_train_options o = ce_options();
    assert_ok(seqgen_model_forward_backward_symbols(m, &batch, &o, p1, &a));
    assert_ok(seqgen_model_evaluate_symbols(m, &batch, p2, &b));
    assert_memory_equal(p1, p2, n * sizeof *p1);
    assert_true(a.loss == b.loss && a.nll_nats == b.nll_nats);
    size_t predictions = 0;
    for (int i = 0; i < B; i++)
        predictions += lengths[i] - 1;
    assert_allclose(a.nll_nats * B, a.loss * (double)predictions, 1e-12, 0.0);
    float grad[V * E];
    assert_ok(seqgen_model_get_grad(m, "embedding.weight", grad, V * E));
    for (int e = 0; e < E; e++)
        assert_true(grad[5 * E + e] == 0.0f);
    free(p1), free(p2);
    seqgen_model_free(m);
}

/* The fed-back symbol: SAMPLE inverts the softmax's distribution function at the uniform (a
 * grid of uniforms gives each symbol its probability's share), THRESHOLD is the argmax, the
 * lowest id on ties. */
static void feedback_symbols(void **state)
{
    (void)state;
    const float logits[4] = {0.5f, -1.0f, 2.0f, 0.0f};
    double p[4], total = 0.0;
    for (int v = 0; v < 4; v++)
        total += p[v] = exp(logits[v]);
    int counts[4] = {0, 0, 0, 0};
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        const float u = (float)((i + 0.5) / n);
        int32_t s = sg_head_feedback(SG_HEAD_CATEGORICAL, 4, logits, SEQGEN_FEEDBACK_SAMPLE, &u,
                                     NULL);
        assert_true(s >= 0 && s < 4);
        counts[s]++;
    }
    for (int v = 0; v < 4; v++)
        assert_allclose(counts[v] / (double)n, p[v] / total, 0.0, 2.0 / n);
    assert_int_equal(sg_head_feedback(SG_HEAD_CATEGORICAL, 4, logits, SEQGEN_FEEDBACK_THRESHOLD,
                                      NULL, NULL), 2);
    const float tie[3] = {1.0f, 3.0f, 3.0f};
    assert_int_equal(sg_head_feedback(SG_HEAD_CATEGORICAL, 3, tie, SEQGEN_FEEDBACK_THRESHOLD,
                                      NULL, NULL), 1);
}

/* Scheduled sampling feeds the fed-back symbol: with p = 0 and THRESHOLD every input after the
 * first is the argmax of the step before, so the pass's probabilities are those of a rollout of
 * the step API that feeds the argmax back (up to the float rounding of the batched products),
 * with and without a start step, up to each sequence's length. */
static void fed_back_argmax_is_the_input(void **state)
{
    (void)state;
    int32_t s[B * WIDTH];
    make_symbols(s, 6);
    for (int start = 0; start < 2; start++) {
        seqgen_model *m = symbol_model(start, 2);
        seqgen_symbol_batch batch = seqgen_symbol_batch_of_sequences(m, s, B, WIDTH);
        batch.lengths = lengths;
        seqgen_train_options o = ce_options();
        o.teacher_prob = 0.0, o.feedback = SEQGEN_FEEDBACK_THRESHOLD;
        const int steps = batch.steps;
        float *pass = malloc((size_t)B * steps * V * sizeof *pass);
        assert_non_null(pass);
        seqgen_train_stats st;
        assert_ok(seqgen_model_forward_backward_symbols(m, &batch, &o, pass, &st));
        assert_int_equal(st.teacher_forced, 0);

        seqgen_model_state *ms = NULL;
        assert_ok(seqgen_model_state_create(&ms, m, B));
        int32_t fed[B];
        float logits[B * V], probs[B * V];
        int compared = 0;
        for (int t = 0; t < steps; t++) {
            for (int b = 0; b < B; b++) {
                if (t == 0)
                    fed[b] = start ? -1 : s[b * WIDTH];
                else { /* the argmax of the step before, the lowest id on ties */
                    int32_t best = 0;
                    for (int v = 1; v < V; v++)
                        if (logits[b * V + v] > logits[b * V + best])
                            best = v;
                    fed[b] = best;
                }
            }
            assert_ok(seqgen_model_step_symbols(m, ms, fed, logits, probs));
            for (int b = 0; b < B; b++) {
                const int counted = (int)lengths[b] - 1 + start;
                for (int v = 0; v < V; v++) {
                    const float p = pass[((size_t)b * steps + t) * V + v];
                    if (t < counted)
                        assert_allclose(p, probs[b * V + v], 1e-5, 1e-7);
                    else
                        assert_true(p == 0.0f);
                }
                compared += t < counted;
            }
        }
        assert_int_equal(compared, (int)st.predictions);
        seqgen_model_state_free(ms);
        free(pass);
        seqgen_model_free(m);
    }
}

/* Scheduled sampling draws its coins and samples in a fixed order: 1 and 3 threads feed back
 * the same symbols (the same counts, the same loss up to float rounding). */
static void sampling_does_not_depend_on_threads(void **state)
{
    (void)state;
    int32_t s[B * WIDTH];
    make_symbols(s, 3);
    seqgen_train_stats st[2][2];
    for (int k = 0; k < 2; k++) {
        seqgen_model *m = symbol_model(1, k == 0 ? 1 : 3);
        seqgen_symbol_batch batch = seqgen_symbol_batch_of_sequences(m, s, B, WIDTH);
        batch.lengths = lengths;
        seqgen_train_options o = ce_options();
        o.teacher_prob = 0.4;
        for (int f = 0; f < 2; f++) {
            o.feedback = f ? SEQGEN_FEEDBACK_THRESHOLD : SEQGEN_FEEDBACK_SAMPLE;
            assert_ok(seqgen_model_forward_backward_symbols(m, &batch, &o, NULL, &st[k][f]));
        }
        seqgen_model_free(m);
    }
    for (int f = 0; f < 2; f++) {
        assert_int_equal(st[0][f].teacher_forced, st[1][f].teacher_forced);
        assert_int_equal(st[0][f].mixable, st[1][f].mixable);
        assert_true(st[0][f].teacher_forced < st[0][f].mixable);
        assert_allclose(st[0][f].loss, st[1][f].loss, 1e-6, 0.0);
    }
}

/* ---- Checkpoints ---------------------------------------------------------------------------- */

static void train_steps(seqgen_model *m, seqgen_optim *opt, const int32_t *s, int steps)
{
    seqgen_symbol_batch batch = seqgen_symbol_batch_of_sequences(m, s, B, WIDTH);
    batch.lengths = lengths;
    seqgen_train_options o = ce_options();
    o.teacher_prob = 0.5; /* the mixing generator is part of the state */
    for (int i = 0; i < steps; i++) {
        assert_ok(seqgen_model_forward_backward_symbols(m, &batch, &o, NULL, NULL));
        assert_ok(seqgen_optim_step(opt, m));
    }
}

static void assert_same_parameters(const seqgen_model *a, const seqgen_model *b)
{
    assert_int_equal(seqgen_model_param_count(a), seqgen_model_param_count(b));
    for (int i = 0; i < seqgen_model_tensor_count(a); i++) {
        const char *name;
        int rows, cols;
        assert_ok(seqgen_model_tensor_info(a, i, &name, &rows, &cols));
        const size_t n = (size_t)rows * cols;
        float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
        assert_ok(seqgen_model_get_tensor(a, name, x, n));
        assert_ok(seqgen_model_get_tensor(b, name, y, n));
        assert_memory_equal(x, y, n * sizeof *x);
        free(x), free(y);
    }
}

/* A categorical model saves its vocab and embedding (format 4) and loads back the same; a
 * training run saved midway and resumed ends bit-identical to the straight run. */
static void checkpoints_resume_bit_identically(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    char path[256];
    snprintf(path, sizeof path, "%s/symbols.ckpt", dir);
    int32_t s[B * WIDTH];
    make_symbols(s, 4);
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);

    seqgen_model *straight = symbol_model(1, 2);
    seqgen_optim *straight_opt = NULL;
    assert_ok(seqgen_optim_create(&straight_opt, straight, &ocfg));
    train_steps(straight, straight_opt, s, 6);

    seqgen_model *m = symbol_model(1, 2);
    seqgen_optim *opt = NULL;
    assert_ok(seqgen_optim_create(&opt, m, &ocfg));
    train_steps(m, opt, s, 3);
    seqgen_train_state train = {opt, NULL, NULL, 0, 3, seqgen_run_config_default(), NULL, NULL};
    assert_ok(seqgen_checkpoint_save(path, m, &train));
    seqgen_model_free(m);
    seqgen_optim_free(opt);

    seqgen_checkpoint_info info;
    assert_ok(seqgen_checkpoint_inspect(path, &info));
    assert_int_equal(info.version, 7);
    assert_int_equal(info.model.vocab, V);
    assert_int_equal(info.model.embedding, E);

    seqgen_model *resumed = NULL;
    seqgen_train_state back = {NULL, NULL, NULL, 0, 0, seqgen_run_config_default(), NULL, NULL};
    assert_ok(seqgen_checkpoint_load_training(path, &resumed, &back));
    assert_int_equal(back.iteration, 3);
    train_steps(resumed, back.optim, s, 3);
    assert_same_parameters(straight, resumed);

    seqgen_model *loaded = NULL; /* a model checkpoint of it too */
    assert_ok(seqgen_checkpoint_save(path, resumed, NULL));
    assert_ok(seqgen_checkpoint_load_model(&loaded, path));
    seqgen_model_config c = seqgen_model_get_config(loaded);
    assert_int_equal(c.vocab, V);
    assert_int_equal(c.embedding, E);
    assert_same_parameters(resumed, loaded);

    /* a binary model does not resume into a categorical one, nor the other way */
    seqgen_model_config bcfg = symbol_config(1, 1);
    bcfg.vocab = 0, bcfg.embedding = 0;
    seqgen_model *binary = NULL;
    assert_ok(seqgen_model_create(&binary, &bcfg));
    seqgen_train_state into = {NULL, NULL, NULL, 0, 0, seqgen_run_config_default(), NULL, NULL};
    assert_ok(seqgen_checkpoint_save(path, resumed, &back));
    assert_fails_with(seqgen_checkpoint_load_training(path, &binary, &into), SEQGEN_EMISMATCH,
                      "the model has vocab 0, embedding 0 but the checkpoint's has vocab 6, "
                      "embedding 4");
    seqgen_model_free(binary);
    seqgen_model_free(loaded);
    seqgen_model_free(resumed);
    seqgen_optim_free(back.optim);
    seqgen_model_free(straight);
    seqgen_optim_free(straight_opt);
    tu_rmtree(dir);
}

/* ---- Refusals -------------------------------------------------------------------------------- */

/* Symbols out of [0, V) where the pass reads them are refused, naming the sequence and step;
 * the same values in the padding are never read. */
static void bad_symbols_are_refused(void **state)
{
    (void)state;
    seqgen_model *m = symbol_model(0, 1);
    int32_t s[B * WIDTH];
    make_symbols(s, 5);
    seqgen_symbol_batch batch = seqgen_symbol_batch_of_sequences(m, s, B, WIDTH);
    batch.lengths = lengths;
    seqgen_train_options o = ce_options();
    s[2 * WIDTH + 3] = V; /* sequence 2 (length 5): input of step 3, target of step 2 */
    assert_fails_with(seqgen_model_forward_backward_symbols(m, &batch, &o, NULL, NULL),
                      SEQGEN_EINVAL, "input symbols: sequence 2, step 3 is symbol 6, not in [0, 6)");
    s[2 * WIDTH + 3] = 0;
    s[1 * WIDTH + 6] = -1; /* sequence 1 (length 7): the last symbol, only a target */
    assert_fails_with(seqgen_model_evaluate_symbols(m, &batch, NULL, NULL), SEQGEN_EINVAL,
                      "target symbols: sequence 1, step 5 is symbol -1, not in [0, 6)");
    s[1 * WIDTH + 6] = 0;
    s[1 * WIDTH + 7] = 1000; /* padding */
    assert_ok(seqgen_model_evaluate_symbols(m, &batch, NULL, NULL));
    seqgen_model_free(m);
}

/* Each door takes its own kind of model, and a loss of its kind; PROB feedback has no symbol. */
static void wrong_kinds_are_refused(void **state)
{
    (void)state;
    seqgen_model *m = symbol_model(0, 1), *binary = tu_make_model(1, H, 1, 1, 1);
    int32_t s[B * WIDTH];
    make_symbols(s, 6);
    float x[WIDTH] = {0, 1, 1, 0, 1, 0, 0, 1, 1}, probs[V];
    seqgen_symbol_batch symbols = seqgen_symbol_batch_of_sequences(m, s, 1, WIDTH);
    seqgen_train_options o = ce_options();
    assert_fails_with(seqgen_model_forward_backward(m, TU_SEQUENCES(m, x, 1, WIDTH), &o, NULL,
                                                    NULL),
                      SEQGEN_EINVAL, "the model is categorical (vocab 6): it reads batches of "
                                     "symbols");
    assert_fails_with(seqgen_model_evaluate(m, TU_SEQUENCES(m, x, 1, WIDTH), SEQGEN_LOSS_CE, NULL,
                                            NULL),
                      SEQGEN_EINVAL, "the model is categorical");
    assert_fails_with(seqgen_model_forward_backward_symbols(binary, &symbols, &o, NULL, NULL),
                      SEQGEN_EINVAL, "the model is of binary units (vocab 0): it reads "
                                     "seqgen_batch");
    assert_fails_with(seqgen_model_evaluate_symbols(binary, &symbols, NULL, NULL), SEQGEN_EINVAL,
                      "the model is of binary units");
    o.loss = SEQGEN_LOSS_BCE;
    assert_fails_with(seqgen_model_forward_backward_symbols(m, &symbols, &o, NULL, NULL),
                      SEQGEN_EINVAL, "loss 1 is a loss of binary units: a categorical model "
                                     "takes SEQGEN_LOSS_CE");
    o = seqgen_train_options_default(); /* MSE */
    assert_fails_with(seqgen_model_forward_backward_symbols(m, &symbols, &o, NULL, NULL),
                      SEQGEN_EINVAL, "loss 0 is a loss of binary units");
    o.loss = SEQGEN_LOSS_CE;
    assert_fails_with(seqgen_model_forward_backward(binary, TU_SEQUENCES(binary, x, 1, WIDTH),
                                                    &o, NULL, NULL),
                      SEQGEN_EINVAL, "SEQGEN_LOSS_CE is the loss of symbols");
    assert_fails_with(seqgen_model_evaluate(binary, TU_SEQUENCES(binary, x, 1, WIDTH),
                                            SEQGEN_LOSS_CE, NULL, NULL),
                      SEQGEN_EINVAL, "SEQGEN_LOSS_CE is the loss of symbols");
    o = ce_options();
    o.feedback = SEQGEN_FEEDBACK_PROB;
    assert_ok(seqgen_model_forward_backward_symbols(m, &symbols, &o, NULL, NULL)); /* p = 1 */
    o.teacher_prob = 0.5;
    assert_fails_with(seqgen_model_forward_backward_symbols(m, &symbols, &o, NULL, NULL),
                      SEQGEN_EINVAL, "SEQGEN_FEEDBACK_PROB feeds probabilities back, which a "
                                     "categorical model cannot read");

    seqgen_model_state *ms = NULL, *bs = NULL;
    assert_ok(seqgen_model_state_create(&ms, m, 1));
    assert_ok(seqgen_model_state_create(&bs, binary, 1));
    const int32_t ok[1] = {2}, out_of_range[1] = {V}, below[1] = {-2};
    assert_fails_with(seqgen_model_step(m, ms, x, NULL, probs), SEQGEN_EINVAL,
                      "the model is categorical (vocab 6): step it with "
                      "seqgen_model_step_symbols()");
    assert_fails_with(seqgen_model_step_symbols(binary, bs, ok, NULL, probs), SEQGEN_EINVAL,
                      "the model is of binary units (vocab 0): step it with seqgen_model_step()");
    assert_fails_with(seqgen_model_step_symbols(m, ms, out_of_range, NULL, probs), SEQGEN_EINVAL,
                      "sequence 0: symbol 6 is not in [0, 6) nor -1 (the start step)");
    assert_fails_with(seqgen_model_step_symbols(m, ms, below, NULL, probs), SEQGEN_EINVAL,
                      "sequence 0: symbol -2");
    assert_fails_with(seqgen_model_step_symbols(m, bs, ok, NULL, probs), SEQGEN_EMISMATCH,
                      "state made for H=8, L=1, D=1, V=0, E=0 used with H=8, L=2, D=1, V=6, E=4");

    float completed[WIDTH];
    assert_fails_with(seqgen_complete(m, x, 1, WIDTH, NULL, 2, NULL, completed, NULL),
                      SEQGEN_EINVAL, "the model is categorical (vocab 6): seqgen_complete() "
                                     "completes binary units");
    const uint8_t units[WIDTH] = {0, 1, 1, 0, 1, 0, 0, 1, 1};
    seqgen_sequences seqs = {units, 1, WIDTH, 1, NULL, NULL};
    seqgen_dataset *ds = NULL;
    seqgen_eval_results results;
    assert_ok(seqgen_dataset_from_memory(&ds, &seqs, SEQGEN_BORROW));
    for (unsigned metric = SEQGEN_EVAL_LOSS; metric <= SEQGEN_EVAL_COMPLETION; metric <<= 1) {
        seqgen_eval_options eo = seqgen_eval_options_default();
        eo.metrics = metric;
        assert_fails_with(seqgen_evaluate_dataset(m, ds, NULL, &eo, &results), SEQGEN_EINVAL,
                          "the model is categorical (vocab 6)");
    }
    seqgen_dataset_free(ds);
    seqgen_model_state_free(ms);
    seqgen_model_state_free(bs);
    seqgen_model_free(binary);
    seqgen_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_limits_are_checked),
        cmocka_unit_test(tensors_and_initialisation),
        cmocka_unit_test(steps_match_the_pass),
        cmocka_unit_test(evaluation_is_the_forward),
        cmocka_unit_test(feedback_symbols),
        cmocka_unit_test(fed_back_argmax_is_the_input),
        cmocka_unit_test(sampling_does_not_depend_on_threads),
        cmocka_unit_test(checkpoints_resume_bit_identically),
        cmocka_unit_test(bad_symbols_are_refused),
        cmocka_unit_test(wrong_kinds_are_refused),
    };
    return cmocka_run_group_tests_name("symbols", tests, NULL, NULL);
}
