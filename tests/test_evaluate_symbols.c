/* Evaluation of a categorical model on a test set of symbols (seqgen_evaluate_symbols): the
 * loss against seqgen_model_evaluate_symbols() over the same batches and against a rollout of
 * the step API; the completion counts against one seqgen_generate() call, bit for bit; a
 * constant model whose every number is known in closed form, and a model that learnt one
 * sequence completing it exactly; parts (first, limit) adding up to the whole; thread counts and
 * chunk sizes; training bit-identical with and without evaluation in between; every refusal
 * with its detail; every allocation failure. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "seqgen.h"

#define V 6
#define E 4
#define H 8
#define T 12 /* the test sets' steps */

/* N sequences of random symbols in [1, V) ended by the end symbol 0, of lengths 1 to T (a
 * sequence of length 1 is the end symbol alone). */
static seqgen_symbol_dataset *random_dataset(size_t N, uint64_t seed)
{
    int32_t *s = malloc(N * T * sizeof *s);
    size_t *lengths = malloc(N * sizeof *lengths);
    assert_true(s && lengths);
    uint64_t x = seed * 6364136223846793005u + 1442695040888963407u;
    for (size_t i = 0; i < N; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        lengths[i] = 1 + (size_t)((x >> 33) % T);
        for (size_t t = 0; t < T; t++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            s[i * T + t] = t + 1 < lengths[i] ? 1 + (int32_t)((x >> 33) % (V - 1)) : 0;
        }
    }
    seqgen_symbol_sequences seqs = {s, N, T, lengths, V};
    seqgen_symbol_dataset *ds = NULL;
    assert_ok(seqgen_symbol_dataset_from_memory(&ds, &seqs));
    free(s);
    free(lengths);
    return ds;
}

/* A dataset of the given rows (each `steps` ids, -1 after its length). */
static seqgen_symbol_dataset *dataset_of(const int32_t *rows, size_t N, size_t steps, size_t vocab)
{
    int32_t *s = malloc(N * steps * sizeof *s);
    size_t *lengths = malloc(N * sizeof *lengths);
    assert_true(s && lengths);
    for (size_t i = 0; i < N; i++) {
        lengths[i] = 0;
        for (size_t t = 0; t < steps; t++) {
            s[i * steps + t] = rows[i * steps + t] >= 0 ? rows[i * steps + t] : 0;
            lengths[i] += rows[i * steps + t] >= 0;
        }
    }
    seqgen_symbol_sequences seqs = {s, N, steps, lengths, vocab};
    seqgen_symbol_dataset *ds = NULL;
    assert_ok(seqgen_symbol_dataset_from_memory(&ds, &seqs));
    free(s);
    free(lengths);
    return ds;
}

static seqgen_symbol_eval_options loss_only(size_t batch)
{
    seqgen_symbol_eval_options o = seqgen_symbol_eval_options_default();
    o.metrics = SEQGEN_EVAL_LOSS;
    o.batch_size = batch;
    return o;
}

/* ---- The loss --------------------------------------------------------------------------------- */

/* The sum of seqgen_model_evaluate_symbols() over batches of B, as the header says, exactly; and
 * the cross-entropy of a rollout of the step API, computed here in double. */
static void check_loss(int start_step)
{
    const size_t N = 150, B = 16;
    seqgen_symbol_dataset *test = random_dataset(N, 5);
    seqgen_model *m = tu_make_symbol_model(V, E, H, start_step, 2, 7);
    seqgen_symbol_eval_options o = loss_only(B);
    seqgen_symbol_eval_results r;
    assert_ok(seqgen_evaluate_symbols(m, test, NULL, &o, &r));

    double nats = 0.0;
    uint64_t predicted = 0;
    int32_t batch_symbols[16 * T];
    size_t batch_lengths[16];
    for (size_t first = 0; first < N; first += B) {
        const size_t n = N - first < B ? N - first : B;
        size_t counted = 0;
        for (size_t i = 0; i < n; i++) {
            memcpy(batch_symbols + i * T, seqgen_symbol_dataset_sequence(test, first + i),
                   T * sizeof(int32_t));
            batch_lengths[i] = seqgen_symbol_dataset_length(test, first + i);
            counted += batch_lengths[i] - 1 + (size_t)start_step;
        }
        if (counted == 0)
            continue;
        seqgen_symbol_batch b = seqgen_symbol_batch_of_sequences(m, batch_symbols, (int)n, T);
        b.lengths = batch_lengths;
        seqgen_train_stats st;
        assert_ok(seqgen_model_evaluate_symbols(m, &b, NULL, &st));
        nats += st.loss * (double)st.predictions;
        predicted += st.predictions;
    }
    assert_int_equal(r.sequences, N);
    assert_int_equal(r.predicted_symbols, predicted);
    assert_true(r.nats_per_symbol == nats / (double)predicted);
    assert_true(r.bits_per_symbol == r.nats_per_symbol / log(2.0));
    assert_true(r.nats_per_sequence == nats / (double)N);
    assert_int_equal(r.completed, 0);
    assert_true(isnan(r.symbol_error) && isnan(r.copies));

    /* the step API: every sequence fed its symbols, -log softmax of the next one in double */
    seqgen_model_state *state = NULL;
    assert_ok(seqgen_model_state_create(&state, m, (int)N));
    int32_t *fed = malloc(N * sizeof *fed);
    float *logits = malloc(N * V * sizeof *logits);
    assert_true(fed && logits);
    double ref = 0.0;
    uint64_t ref_count = 0;
    for (int t = start_step ? -1 : 0; t + 1 < T; t++) {
        for (size_t i = 0; i < N; i++)
            fed[i] = t < 0 ? -1 : seqgen_symbol_dataset_sequence(test, i)[t];
        assert_ok(seqgen_model_step_symbols(m, state, fed, logits, NULL));
        for (size_t i = 0; i < N; i++) {
            if ((size_t)(t + 1) >= seqgen_symbol_dataset_length(test, i))
                continue;
            const float *a = logits + i * V;
            double top = a[0], sum = 0.0;
            for (int k = 1; k < V; k++)
                top = fmax(top, a[k]);
            for (int k = 0; k < V; k++)
                sum += exp((double)a[k] - top);
            ref += top + log(sum) - a[seqgen_symbol_dataset_sequence(test, i)[t + 1]];
            ref_count++;
        }
    }
    assert_int_equal(ref_count, predicted);
    assert_allclose(r.nats_per_symbol, ref / (double)ref_count, 1e-5, 0.0);
    free(fed);
    free(logits);
    seqgen_model_state_free(state);
    seqgen_model_free(m);
    seqgen_symbol_dataset_free(test);
}

static void loss_is_the_sum_of_the_passes(void **state)
{
    (void)state;
    check_loss(1);
    check_loss(0);
}

/* ---- Completion against seqgen_generate ------------------------------------------------------- */

typedef struct counts {
    size_t completed, skipped, exact;
    uint64_t true_symbols, generated, errors;
} counts;

/* The counts of a completion written here: one seqgen_generate() call over the whole set (at
 * most 1024 sequences: one chunk) with each sequence's K, or a row left whole when skipped. */
static counts counts_by_generate(const seqgen_model *m, const seqgen_symbol_dataset *test,
                                 const seqgen_symbol_eval_options *o)
{
    const size_t N = seqgen_symbol_dataset_count(test);
    const int start = seqgen_model_get_config(m).start_step;
    const size_t S = o->max_steps ? (size_t)o->max_steps : T;
    int32_t *rows = malloc(N * S * sizeof *rows);
    size_t *given = malloc(N * sizeof *given), *lengths = malloc(N * sizeof *lengths);
    int *skipped = malloc(N * sizeof *skipped);
    assert_true(rows && given && lengths && skipped);
    for (size_t i = 0; i < N; i++) {
        const size_t L = seqgen_symbol_dataset_length(test, i);
        const size_t K = o->given == SEQGEN_GIVEN_HALF ? L / 2 : (size_t)o->given;
        skipped[i] = L <= K || (K == 0 && !start);
        for (size_t t = 0; t < S; t++)
            rows[i * S + t] = t < T ? seqgen_symbol_dataset_sequence(test, i)[t] : 0;
        given[i] = skipped[i] ? S : K;
    }
    seqgen_generate_options g = o->generate;
    g.first_stream += o->first;
    assert_ok(seqgen_generate(m, rows, given, N, (int)S, &g, rows, lengths, NULL));
    counts c = {0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < N; i++) {
        const size_t L = seqgen_symbol_dataset_length(test, i);
        if (skipped[i]) {
            c.skipped++;
            continue;
        }
        const int32_t *truth = seqgen_symbol_dataset_sequence(test, i);
        size_t errors = 0;
        for (size_t j = given[i]; j < (L > lengths[i] ? L : lengths[i]); j++)
            errors += j >= L || j >= lengths[i] || rows[i * S + j] != truth[j];
        c.completed++;
        c.true_symbols += L - given[i];
        c.generated += lengths[i] - given[i];
        c.errors += errors;
        c.exact += errors == 0;
    }
    free(rows);
    free(given);
    free(lengths);
    free(skipped);
    return c;
}

static void assert_counts(const seqgen_symbol_eval_results *r, const counts *c)
{
    assert_int_equal(r->completed, c->completed);
    assert_int_equal(r->skipped, c->skipped);
    assert_int_equal(r->true_symbols, c->true_symbols);
    assert_int_equal(r->generated_symbols, c->generated);
    assert_int_equal(r->symbol_errors, c->errors);
    assert_int_equal(r->exact, c->exact);
    assert_true(r->symbol_error == (double)c->errors / (double)c->true_symbols);
    assert_true(r->exact_match == (double)c->exact / (double)c->completed);
    assert_true(r->mean_generated == (double)c->generated / (double)c->completed);
    assert_true(r->mean_true == (double)c->true_symbols / (double)c->completed);
}

/* Greedy with HALF and a start step (nothing skipped: K = 0 for the sequences of one symbol),
 * sampled with top-k, and a fixed K = 3 without a start step (sequences of at most 3 skipped),
 * with a longer max_steps. */
static void completion_equals_generate(void **state)
{
    (void)state;
    seqgen_symbol_dataset *test = random_dataset(150, 8);
    for (int start = 1; start >= 0; start--) {
        seqgen_model *m = tu_make_symbol_model(V, E, H, start, 3, 11);
        seqgen_symbol_eval_options o = seqgen_symbol_eval_options_default();
        o.metrics = SEQGEN_EVAL_COMPLETION;
        if (!start)
            o.given = 3, o.max_steps = T + 5;
        for (int sample = 0; sample < 2; sample++) {
            if (sample)
                o.generate.decode = SEQGEN_DECODE_SAMPLE, o.generate.top_k = 3,
                o.generate.seed = 9, o.generate.first_stream = 100;
            seqgen_symbol_eval_results r;
            assert_ok(seqgen_evaluate_symbols(m, test, NULL, &o, &r));
            counts c = counts_by_generate(m, test, &o);
            assert_counts(&r, &c);
            assert_int_equal(r.skipped, start ? 0 : c.skipped);
            assert_true(start || r.skipped > 0);
            assert_true(r.completed + r.skipped == 150);
            assert_true(r.symbol_errors > 0 && r.generated_symbols > 0);
            assert_true(isnan(r.nats_per_symbol) && r.predicted_symbols == 0);
            assert_true(isnan(r.copies) && isnan(r.copies_truth));
        }
        seqgen_model_free(m);
    }
    seqgen_symbol_dataset_free(test);
}

/* ---- Known by construction -------------------------------------------------------------------- */

/* A model with every parameter 0 but the output bias: whatever it reads, its logits are the
 * bias, so greedy decoding always writes the bias's argmax and the loss is -log softmax(bias) of
 * each target. */
static void constant_model_in_closed_form(void **state)
{
    (void)state;
    seqgen_model *m = tu_make_symbol_model(V, E, H, 1, 2, 1);
    tu_zero_parameters(m);
    const float bias[V] = {0.5f, -1.0f, 2.0f, 0.0f, 0.25f, -0.5f}; /* argmax 2 */
    assert_ok(seqgen_model_set_tensor(m, "out.bias", bias, V));
    const int32_t rows[4 * 6] = {2, 2, 2, 2, 2, 0, /* L 6, K 3, truth after K: 2 2 0 */
                                 1, 2, 0, -1, -1, -1, /* L 3, K 1: 2 0 */
                                 2, 0, -1, -1, -1, -1, /* L 2, K 1: 0 */
                                 1, 2, -1, -1, -1, -1}; /* L 2, K 1: 2 */
    seqgen_symbol_dataset *test = dataset_of(rows, 4, 6, V);
    const int32_t train_rows[4 * 3] = {1, 2, -1, 2, 2, -1, 3, 3, 0, 1, 2, -1};
    seqgen_symbol_dataset *train = dataset_of(train_rows, 4, 3, V);

    seqgen_symbol_eval_options o = seqgen_symbol_eval_options_default();
    o.max_steps = 8;
    o.batch_size = 3;
    seqgen_symbol_eval_results r;
    /* the end symbol 0 is never the argmax: every completion runs to 8 symbols, all 2 */
    assert_ok(seqgen_evaluate_symbols(m, test, NULL, &o, &r));
    assert_int_equal(r.completed, 4);
    assert_int_equal(r.skipped, 0);
    assert_int_equal(r.true_symbols, 3 + 2 + 1 + 1);
    assert_int_equal(r.generated_symbols, 5 + 7 + 7 + 7);
    assert_int_equal(r.symbol_errors, (1 + 2) + (1 + 5) + (1 + 6) + (0 + 6));
    assert_int_equal(r.exact, 0);
    assert_allclose(r.symbol_error, 22.0 / 7.0, 1e-15, 0.0);
    assert_allclose(r.mean_generated, 26.0 / 4.0, 1e-15, 0.0);
    assert_allclose(r.mean_true, 7.0 / 4.0, 1e-15, 0.0);
    /* the loss: every symbol predicted (a start step), -log softmax(bias)[y] */
    double lse = 0.0, nats = 0.0;
    for (int k = 0; k < V; k++)
        lse += exp((double)bias[k]);
    lse = log(lse);
    uint64_t predicted = 0;
    for (int i = 0; i < 4 * 6; i++)
        if (rows[i] >= 0)
            nats += lse - bias[rows[i]], predicted++;
    assert_int_equal(r.predicted_symbols, predicted);
    assert_allclose(r.nats_per_symbol, nats / (double)predicted, 1e-6, 0.0);
    assert_allclose(r.nats_per_sequence, nats / 4.0, 1e-6, 0.0);
    assert_allclose(r.bits_per_symbol, nats / (double)predicted / log(2.0), 1e-6, 0.0);

    /* with 2 as the end symbol every completion is the one symbol 2 */
    o.generate.end_symbol = 2;
    assert_ok(seqgen_evaluate_symbols(m, test, train, &o, &r));
    assert_int_equal(r.generated_symbols, 4);
    assert_int_equal(r.symbol_errors, 2 + 1 + 1 + 0);
    assert_int_equal(r.exact, 1);
    assert_allclose(r.exact_match, 0.25, 0.0, 0.0);
    /* completed: 2 2 2 2 / 1 2 / 2 2 / 1 2: the last three are training sequences; of the true
     * sequences only 1 2 is */
    assert_int_equal(r.copied, 3);
    assert_int_equal(r.copied_truth, 1);
    assert_allclose(r.copies, 0.75, 0.0, 0.0);
    assert_allclose(r.copies_truth, 0.25, 0.0, 0.0);
    /* K = 2 given: the third and fourth sequences (L 2) are skipped */
    o.given = 2;
    assert_ok(seqgen_evaluate_symbols(m, test, train, &o, &r));
    assert_int_equal(r.completed, 2);
    assert_int_equal(r.skipped, 2);
    assert_int_equal(r.true_symbols, 4 + 1);
    seqgen_symbol_dataset_free(train);
    seqgen_symbol_dataset_free(test);
    seqgen_model_free(m);
}

/* A model trained on one sequence, repeated, completes it exactly from its first half, and every
 * completion is a copy of the training set. */
static void learnt_sequence_is_completed_exactly(void **state)
{
    (void)state;
    const int32_t one[8] = {3, 1, 4, 1, 5, 2, 4, 0};
    int32_t rows[16 * 8];
    for (int i = 0; i < 16; i++)
        memcpy(rows + i * 8, one, sizeof one);
    seqgen_symbol_dataset *train = dataset_of(rows, 16, 8, V);
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.vocab = V, cfg.embedding = 8, cfg.hidden = 16, cfg.start_step = 1, cfg.threads = 1;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    seqgen_optim_config oc = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    oc.lr = 0.03;
    seqgen_optim *opt = NULL;
    assert_ok(seqgen_optim_create(&opt, m, &oc));
    seqgen_train_options to = seqgen_train_options_default();
    to.loss = SEQGEN_LOSS_CE;
    seqgen_symbol_batch b = seqgen_symbol_batch_of_sequences(m, rows, 16, 8);
    for (int i = 0; i < 150; i++) {
        assert_ok(seqgen_model_forward_backward_symbols(m, &b, &to, NULL, NULL));
        assert_ok(seqgen_optim_step(opt, m));
    }
    seqgen_symbol_dataset *test = dataset_of(rows, 3, 8, V);
    seqgen_symbol_eval_results r;
    assert_ok(seqgen_evaluate_symbols(m, test, train, NULL, &r));
    assert_int_equal(r.completed, 3);
    assert_int_equal(r.symbol_errors, 0);
    assert_true(r.symbol_error == 0.0 && r.exact_match == 1.0 && r.copies == 1.0);
    assert_true(r.copies_truth == 1.0);
    assert_true(r.mean_generated == 4.0 && r.mean_true == 4.0);
    assert_true(r.nats_per_symbol < 0.05);
    print_message("    learnt: %.4f nats per symbol, exact %.2f\n", r.nats_per_symbol,
                  r.exact_match);
    seqgen_optim_free(opt);
    seqgen_model_free(m);
    seqgen_symbol_dataset_free(test);
    seqgen_symbol_dataset_free(train);
}

/* ---- Parts, threads and chunks ---------------------------------------------------------------- */

static seqgen_symbol_eval_options sampled(void)
{
    seqgen_symbol_eval_options o = seqgen_symbol_eval_options_default();
    o.generate.decode = SEQGEN_DECODE_SAMPLE, o.generate.temperature = 1.5;
    o.generate.top_p = 0.9, o.generate.seed = 4;
    o.batch_size = 16;
    return o;
}

static void assert_same_completion(const seqgen_symbol_eval_results *a,
                                   const seqgen_symbol_eval_results *b)
{
    assert_int_equal(a->completed, b->completed);
    assert_int_equal(a->skipped, b->skipped);
    assert_int_equal(a->true_symbols, b->true_symbols);
    assert_int_equal(a->generated_symbols, b->generated_symbols);
    assert_int_equal(a->symbol_errors, b->symbol_errors);
    assert_int_equal(a->exact, b->exact);
    assert_int_equal(a->copied, b->copied);
    assert_int_equal(a->copied_truth, b->copied_truth);
}

/* Two parts cut at a block boundary (128) add up to the whole: the counts exactly, the loss up
 * to the order of the sums. */
static void parts_add_up_to_the_whole(void **state)
{
    (void)state;
    seqgen_symbol_dataset *test = random_dataset(300, 12), *train = random_dataset(500, 13);
    seqgen_model *m = tu_make_symbol_model(V, E, H, 1, 2, 5);
    seqgen_symbol_eval_options o = sampled();
    seqgen_symbol_eval_results whole, part[2];
    assert_ok(seqgen_evaluate_symbols(m, test, train, &o, &whole));
    o.limit = 128;
    assert_ok(seqgen_evaluate_symbols(m, test, train, &o, &part[0]));
    o.first = 128, o.limit = 0;
    assert_ok(seqgen_evaluate_symbols(m, test, train, &o, &part[1]));
    assert_int_equal(part[0].sequences, 128);
    assert_int_equal(part[1].sequences, 172);
    seqgen_symbol_eval_results sum = part[0];
    sum.completed += part[1].completed, sum.skipped += part[1].skipped;
    sum.true_symbols += part[1].true_symbols;
    sum.generated_symbols += part[1].generated_symbols;
    sum.symbol_errors += part[1].symbol_errors, sum.exact += part[1].exact;
    sum.copied += part[1].copied, sum.copied_truth += part[1].copied_truth;
    assert_same_completion(&sum, &whole);
    assert_int_equal(part[0].predicted_symbols + part[1].predicted_symbols,
                     whole.predicted_symbols);
    const double nats = part[0].nats_per_symbol * (double)part[0].predicted_symbols +
                        part[1].nats_per_symbol * (double)part[1].predicted_symbols;
    assert_allclose(nats / (double)whole.predicted_symbols, whole.nats_per_symbol, 1e-12, 0.0);
    assert_allclose((part[0].nats_per_sequence * 128 + part[1].nats_per_sequence * 172) / 300.0,
                    whole.nats_per_sequence, 1e-12, 0.0);
    /* random sequences of 5 symbols: some completions are training sequences (short ones) */
    assert_true(whole.copied > 0 && whole.copied_truth > 0);
    seqgen_model_free(m);
    seqgen_symbol_dataset_free(test);
    seqgen_symbol_dataset_free(train);
}

/* 1 and 3 threads, chunks of 64 and the default: the same completions; the loss within float
 * rounding. */
static void threads_and_chunks_do_not_matter(void **state)
{
    (void)state;
    seqgen_symbol_dataset *test = random_dataset(200, 14);
    seqgen_symbol_eval_results r[3];
    for (int k = 0; k < 3; k++) {
        seqgen_model *m = tu_make_symbol_model(V, E, H, 1, k == 0 ? 1 : 3, 6);
        seqgen_symbol_eval_options o = sampled();
        o.chunk_size = k == 2 ? 64 : 0;
        assert_ok(seqgen_evaluate_symbols(m, test, test, &o, &r[k]));
        seqgen_model_free(m);
    }
    for (int k = 1; k < 3; k++) {
        assert_same_completion(&r[k], &r[0]);
        assert_int_equal(r[k].predicted_symbols, r[0].predicted_symbols);
        assert_allclose(r[k].nats_per_symbol, r[0].nats_per_symbol, 1e-6, 0.0);
    }
    assert_true(r[0].copied_truth == r[0].completed); /* the test set is its own training set */
    seqgen_symbol_dataset_free(test);
}

/* ---- Training is not disturbed ---------------------------------------------------------------- */

static void train_run(float *params, int evaluate, const seqgen_symbol_dataset *test)
{
    seqgen_model *m = tu_make_symbol_model(V, E, H, 1, 2, 21);
    seqgen_optim_config oc = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    seqgen_optim *opt = NULL;
    assert_ok(seqgen_optim_create(&opt, m, &oc));
    seqgen_train_options to = seqgen_train_options_default();
    to.loss = SEQGEN_LOSS_CE, to.teacher_prob = 0.5; /* draws from the mixing generator */
    int32_t symbols[8 * T];
    size_t lengths[8];
    for (int i = 0; i < 8; i++) {
        memcpy(symbols + i * T, seqgen_symbol_dataset_sequence(test, (size_t)i), sizeof(int32_t) * T);
        lengths[i] = seqgen_symbol_dataset_length(test, (size_t)i);
    }
    seqgen_symbol_batch b = seqgen_symbol_batch_of_sequences(m, symbols, 8, T);
    b.lengths = lengths;
    for (int i = 0; i < 4; i++) {
        assert_ok(seqgen_model_forward_backward_symbols(m, &b, &to, NULL, NULL));
        if (evaluate && i == 1) { /* between the pass and its step: the gradients must stay */
            seqgen_symbol_eval_options o = sampled();
            o.batch_size = 32; /* larger than the training batch: the workspace grows */
            seqgen_symbol_eval_results r;
            assert_ok(seqgen_evaluate_symbols(m, test, test, &o, &r));
        }
        assert_ok(seqgen_optim_step(opt, m));
    }
    const size_t n = seqgen_model_param_count(m);
    size_t at = 0;
    for (int t = 0; t < seqgen_model_tensor_count(m); t++) {
        const char *name;
        int rows, cols;
        assert_ok(seqgen_model_tensor_info(m, t, &name, &rows, &cols));
        assert_ok(seqgen_model_get_tensor(m, name, params + at, (size_t)rows * cols));
        at += (size_t)rows * cols;
    }
    assert_int_equal(at, n);
    /* and one more pass, which draws from the mixing generator again */
    seqgen_train_stats st;
    assert_ok(seqgen_model_forward_backward_symbols(m, &b, &to, NULL, &st));
    params[n] = (float)st.teacher_fraction;
    assert_ok(seqgen_model_get_grad(m, "out.bias", params + n + 1, V));
    seqgen_optim_free(opt);
    seqgen_model_free(m);
}

static void evaluation_does_not_perturb_training(void **state)
{
    (void)state;
    seqgen_symbol_dataset *test = random_dataset(100, 15);
    seqgen_model *probe = tu_make_symbol_model(V, E, H, 1, 2, 21);
    const size_t n = seqgen_model_param_count(probe) + 1 + V;
    seqgen_model_free(probe);
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    assert_true(a && b);
    train_run(a, 0, test);
    train_run(b, 1, test);
    assert_memory_equal(a, b, n * sizeof *a);
    free(a);
    free(b);
    seqgen_symbol_dataset_free(test);
}

/* ---- Refusals --------------------------------------------------------------------------------- */

static void expect_refusal(seqgen_model *m, const seqgen_symbol_dataset *test,
                           const seqgen_symbol_dataset *train,
                           const seqgen_symbol_eval_options *o, int expected, const char *detail)
{
    seqgen_symbol_eval_results r;
    memset(&r, 0x5a, sizeof r);
    seqgen_symbol_eval_results before = r;
    assert_fails_with(seqgen_evaluate_symbols(m, test, train, o, &r), expected, detail);
    assert_memory_equal(&r, &before, sizeof r);
}

static void bad_arguments_are_refused(void **state)
{
    (void)state;
    seqgen_symbol_dataset *test = random_dataset(10, 16);
    seqgen_model *m = tu_make_symbol_model(V, E, H, 1, 1, 1);
    seqgen_model *no_start = tu_make_symbol_model(V, E, H, 0, 1, 1);
    seqgen_symbol_eval_results r;
    assert_fails_with(seqgen_evaluate_symbols(NULL, test, NULL, NULL, &r), SEQGEN_EINVAL,
                      "seqgen_evaluate_symbols: NULL model");
    assert_fails_with(seqgen_evaluate_symbols(m, NULL, NULL, NULL, &r), SEQGEN_EINVAL,
                      "NULL test set");
    assert_fails_with(seqgen_evaluate_symbols(m, test, NULL, NULL, NULL), SEQGEN_EINVAL,
                      "NULL results");

    seqgen_symbol_eval_options o = seqgen_symbol_eval_options_default();
    o.metrics = 0;
    expect_refusal(m, test, NULL, &o, SEQGEN_EINVAL, "metrics must be a non-empty OR");
    o.metrics = SEQGEN_EVAL_LABEL;
    expect_refusal(m, test, NULL, &o, SEQGEN_EINVAL, "SEQGEN_EVAL_COMPLETION for symbols, got 0x4");
    o = seqgen_symbol_eval_options_default();
    o.given = -2;
    expect_refusal(m, test, NULL, &o, SEQGEN_EINVAL, "given symbols must be >= 0 or "
                                                     "SEQGEN_GIVEN_HALF, got -2");
    o.given = 0;
    assert_ok(seqgen_evaluate_symbols(m, test, NULL, &o, &r)); /* a start step: from nothing */
    assert_int_equal(r.completed, 10);
    expect_refusal(no_start, test, NULL, &o, SEQGEN_EINVAL, "no start step");
    o = seqgen_symbol_eval_options_default();
    o.generate.decode = (seqgen_decode)7;
    expect_refusal(m, test, NULL, &o, SEQGEN_EINVAL, "the decoder: unknown decoder 7");
    o = seqgen_symbol_eval_options_default();
    o.generate.temperature = 0.0;
    expect_refusal(m, test, NULL, &o, SEQGEN_EINVAL, "temperature");
    o = seqgen_symbol_eval_options_default();
    o.generate.top_p = 1.5;
    expect_refusal(m, test, NULL, &o, SEQGEN_EINVAL, "top_p");
    o = seqgen_symbol_eval_options_default();
    o.generate.end_symbol = V;
    expect_refusal(m, test, NULL, &o, SEQGEN_EINVAL, "the end symbol must be in [0, 6)");
    o = seqgen_symbol_eval_options_default();
    o.max_steps = T - 1;
    expect_refusal(m, test, NULL, &o, SEQGEN_EINVAL, "at least T = 12, got 11");
    o.max_steps = -1;
    expect_refusal(m, test, NULL, &o, SEQGEN_EINVAL, "max_steps");
    o = seqgen_symbol_eval_options_default();
    o.chunk_size = 100;
    expect_refusal(m, test, NULL, &o, SEQGEN_EINVAL, "a multiple of 64, got 100");
    o = seqgen_symbol_eval_options_default();
    o.batch_size = 0;
    expect_refusal(m, test, NULL, &o, SEQGEN_EINVAL, "batch_size must be in [1,");
    o = seqgen_symbol_eval_options_default();
    o.first = 10;
    expect_refusal(m, test, NULL, &o, SEQGEN_EINVAL, "first test sequence 10: the test set has "
                                                     "10");
    /* the completion's settings are not looked at when only the loss is measured */
    o = loss_only(4);
    o.max_steps = 1, o.given = -5;
    assert_ok(seqgen_evaluate_symbols(m, test, NULL, &o, &r));

    /* vocabularies and kinds */
    o = seqgen_symbol_eval_options_default();
    const int32_t rows[2] = {1, 0};
    seqgen_symbol_dataset *other = dataset_of(rows, 1, 2, V + 1);
    expect_refusal(m, other, NULL, &o, SEQGEN_EMISMATCH, "the test set's vocabulary has 7 "
                                                         "symbols, the model's V is 6");
    expect_refusal(m, test, other, &o, SEQGEN_EMISMATCH, "the training set's vocabulary has 7");
    seqgen_model *units = tu_make_model(1, 8, 1, 1, 1);
    expect_refusal(units, test, NULL, &o, SEQGEN_EMISMATCH, "the model is of binary units");
    seqgen_model_free(units);
    seqgen_symbol_dataset_free(other);
    seqgen_model_free(no_start);
    seqgen_model_free(m);
    seqgen_symbol_dataset_free(test);
}

/* Each allocation of an evaluation (in this thread) made to fail in turn: ENOMEM, the results
 * untouched; then the numbers of an undisturbed run. */
static void allocation_failures_are_reported(void **state)
{
    (void)state;
    seqgen_symbol_dataset *test = random_dataset(70, 17), *train = random_dataset(30, 18);
    seqgen_model *m = tu_make_symbol_model(V, E, H, 1, 2, 3);
    seqgen_symbol_eval_options o = sampled();
    seqgen_symbol_eval_results expected, r;
    int failures = 0;
    for (long n = 0;; n++) {
        memset(&r, 0x5a, sizeof r);
        seqgen_symbol_eval_results before = r;
        sg_alloc_fail_after(n);
        int status = seqgen_evaluate_symbols(m, test, train, &o, &r);
        int pending = sg_alloc_fail_pending();
        sg_alloc_fail_after(-1);
        if (pending) {
            assert_ok(status);
            break;
        }
        assert_int_equal(status, SEQGEN_ENOMEM);
        assert_memory_equal(&r, &before, sizeof r);
        failures++;
    }
    assert_true(failures >= 6);
    memset(&expected, 0x5a, sizeof expected);
    assert_ok(seqgen_evaluate_symbols(m, test, train, &o, &expected));
    assert_memory_equal(&r, &expected, sizeof r);
    seqgen_model_free(m);
    seqgen_symbol_dataset_free(test);
    seqgen_symbol_dataset_free(train);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loss_is_the_sum_of_the_passes),
        cmocka_unit_test(completion_equals_generate),
        cmocka_unit_test(constant_model_in_closed_form),
        cmocka_unit_test(learnt_sequence_is_completed_exactly),
        cmocka_unit_test(parts_add_up_to_the_whole),
        cmocka_unit_test(threads_and_chunks_do_not_matter),
        cmocka_unit_test(evaluation_does_not_perturb_training),
        cmocka_unit_test(bad_arguments_are_refused),
        cmocka_unit_test(allocation_failures_are_reported),
    };
    return cmocka_run_group_tests_name("evaluate_symbols", tests, NULL, NULL);
}
