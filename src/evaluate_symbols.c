/* Evaluation of a categorical model on a test set of symbols (see the "Evaluation of symbols"
 * section of seqgen.h): teacher-forced cross-entropy through seqgen_model_evaluate_symbols(),
 * completion through seqgen_generate(), copies of the training set through a hash set of its
 * sequences.
 *
 * The loss runs over batches of opts->batch_size sequences, the completion over chunks of
 * opts->chunk_size, each with buffers allocated once per call, so memory does not grow with the
 * test set. Sampling streams are numbered by test sequence, so results do not depend on the
 * chunking. Nothing here touches the model's generators or gradients. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "generate.h"
#include "seqgen.h"
#include "status.h"

/* Sequences completed per seqgen_generate() call by default: 16 of its blocks of 64. */
#define SG_SYMBOL_EVAL_CHUNK 1024
/* seqgen_generate()'s block: chunks are multiples of it, so that they cut no block. */
#define SG_SYMBOL_EVAL_BLOCK 64

seqgen_symbol_eval_options seqgen_symbol_eval_options_default(void)
{
    seqgen_symbol_eval_options opts = {
        .metrics = SEQGEN_EVAL_LOSS | SEQGEN_EVAL_COMPLETION, .given = SEQGEN_GIVEN_HALF,
        .generate = seqgen_generate_options_default(), .max_steps = 0, .batch_size = 64,
        .chunk_size = 0, .first = 0, .limit = 0};
    opts.generate.end_symbol = SEQGEN_VOCAB_END;
    return opts;
}

/* Sums over the sequences seen so far; turned into means at the end. */
typedef struct symbol_sums {
    double nats;                  /* cross-entropy summed over the predictions */
    uint64_t predicted;           /* predictions counted */
    size_t completed, skipped, exact, copied, copied_truth;
    uint64_t true_symbols, generated, errors;
} symbol_sums;

/* ---- The training sequences as a hash set ---------------------------------------------------- */

/* Open addressing with linear probing over a power-of-two table at most half full; a slot holds
 * a training sequence's index + 1 (0: empty) and its hash. Equal training sequences are stored
 * once. */
typedef struct sequence_set {
    const seqgen_symbol_dataset *ds;
    size_t *slots;    /* [mask + 1] */
    uint64_t *hashes; /* [mask + 1] */
    size_t mask;
} sequence_set;

/* FNV-1a over the length and the symbols' bytes, then a final mix so that the low bits the
 * table uses depend on every byte. */
static uint64_t hash_sequence(const int32_t *s, size_t length)
{
    uint64_t h = 1469598103934665603u ^ (uint64_t)length;
    const unsigned char *bytes = (const unsigned char *)s;
    for (size_t i = 0; i < length * sizeof *s; i++)
        h = (h ^ bytes[i]) * 1099511628211u;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    return h ^ (h >> 33);
}

/* The slot holding a training sequence equal to s (length symbols), or the empty slot where it
 * would go. */
static size_t find_slot(const sequence_set *set, const int32_t *s, size_t length, uint64_t h)
{
    for (size_t at = (size_t)h & set->mask;; at = (at + 1) & set->mask) {
        const size_t index = set->slots[at];
        if (index == 0)
            return at;
        if (set->hashes[at] == h && seqgen_symbol_dataset_length(set->ds, index - 1) == length &&
            memcmp(seqgen_symbol_dataset_sequence(set->ds, index - 1), s,
                   length * sizeof *s) == 0)
            return at;
    }
}

static int sequence_set_contains(const sequence_set *set, const int32_t *s, size_t length)
{
    return set->slots[find_slot(set, s, length, hash_sequence(s, length))] != 0;
}

static void sequence_set_free(sequence_set *set)
{
    free(set->slots);
    free(set->hashes);
    set->slots = NULL, set->hashes = NULL;
}

static int sequence_set_build(sequence_set *set, const seqgen_symbol_dataset *train)
{
    const size_t N = seqgen_symbol_dataset_count(train);
    size_t capacity = 16;
    while (capacity < 2 * N && capacity <= SIZE_MAX / 4 / sizeof(uint64_t))
        capacity *= 2;
    if (capacity < 2 * N)
        return sg_error(SEQGEN_ENOMEM, "the hash set of %zu training sequences is larger than the "
                        "address space", N);
    set->ds = train;
    set->mask = capacity - 1;
    set->slots = sg_calloc(capacity, sizeof *set->slots);
    set->hashes = sg_malloc(capacity * sizeof *set->hashes);
    if (!set->slots || !set->hashes) {
        sequence_set_free(set);
        return sg_error(SEQGEN_ENOMEM, "out of memory for the hash set of %zu training sequences",
                        N);
    }
    for (size_t i = 0; i < N; i++) {
        const int32_t *s = seqgen_symbol_dataset_sequence(train, i);
        const size_t length = seqgen_symbol_dataset_length(train, i);
        const uint64_t h = hash_sequence(s, length);
        const size_t at = find_slot(set, s, length, h);
        if (set->slots[at] == 0)
            set->slots[at] = i + 1, set->hashes[at] = h;
    }
    return SEQGEN_OK;
}

/* ---- Checks ---------------------------------------------------------------------------------- */

static int check_vocab(const seqgen_symbol_dataset *ds, const char *which, int V)
{
    const size_t size = seqgen_symbol_dataset_vocab_size(ds);
    if (size != (size_t)V)
        return sg_error(SEQGEN_EMISMATCH, "the %s set's vocabulary has %zu symbols, the model's "
                        "V is %d", which, size, V);
    return SEQGEN_OK;
}

static int check_completion(const seqgen_model_config *cfg, const seqgen_symbol_dataset *test,
                            const seqgen_symbol_eval_options *opts)
{
    if (opts->given < 0 && opts->given != SEQGEN_GIVEN_HALF)
        return sg_error(SEQGEN_EINVAL, "given symbols must be >= 0 or SEQGEN_GIVEN_HALF, got %d",
                        opts->given);
    if (opts->given == 0 && !cfg->start_step)
        return sg_error(SEQGEN_EINVAL, "given symbols 0, but the model has no start step to "
                        "predict a first symbol from: give at least 1");
    const size_t T = seqgen_symbol_dataset_steps(test);
    if (opts->max_steps != 0 && (opts->max_steps < 0 || (size_t)opts->max_steps < T))
        return sg_error(SEQGEN_EINVAL, "max_steps must be 0 (the test set's T) or at least T = "
                        "%zu, got %d", T, opts->max_steps);
    if (opts->chunk_size % SG_SYMBOL_EVAL_BLOCK != 0)
        return sg_error(SEQGEN_EINVAL, "chunk_size must be 0 (default) or a multiple of %d, got "
                        "%zu", SG_SYMBOL_EVAL_BLOCK, opts->chunk_size);
    int status = sg_check_generate_options(&opts->generate, cfg->vocab);
    return status ? sg_error_prefix(status, "the decoder") : SEQGEN_OK;
}

static int check_arguments(const seqgen_model *model, const seqgen_symbol_dataset *test,
                           const seqgen_symbol_dataset *train,
                           const seqgen_symbol_eval_options *opts,
                           const seqgen_symbol_eval_results *results)
{
    if (!model || !test || !results)
        return sg_error(SEQGEN_EINVAL, "seqgen_evaluate_symbols: NULL %s",
                        !model ? "model" : !test ? "test set" : "results");
    const unsigned known = SEQGEN_EVAL_LOSS | SEQGEN_EVAL_COMPLETION;
    if (opts->metrics == 0 || (opts->metrics & ~known))
        return sg_error(SEQGEN_EINVAL, "metrics must be a non-empty OR of SEQGEN_EVAL_LOSS and "
                        "SEQGEN_EVAL_COMPLETION for symbols, got %#x", opts->metrics);
    const seqgen_model_config cfg = seqgen_model_get_config(model);
    if (!cfg.vocab)
        return sg_error(SEQGEN_EMISMATCH, "the model is of binary units (vocab 0), the data "
                        "symbols: evaluate it with seqgen_evaluate_dataset()");
    int status = check_vocab(test, "test", cfg.vocab);
    if (!status && train)
        status = check_vocab(train, "training", cfg.vocab);
    if (status)
        return status;
    if (opts->batch_size < 1 || opts->batch_size > INT_MAX)
        return sg_error(SEQGEN_EINVAL, "batch_size must be in [1, %d], got %zu", INT_MAX,
                        opts->batch_size);
    if (seqgen_symbol_dataset_steps(test) > INT_MAX)
        return sg_error(SEQGEN_EINVAL, "test sequences of %zu symbols: at most %d",
                        seqgen_symbol_dataset_steps(test), INT_MAX);
    if (opts->metrics & SEQGEN_EVAL_COMPLETION)
        status = check_completion(&cfg, test, opts);
    if (!status && opts->first >= seqgen_symbol_dataset_count(test))
        status = sg_error(SEQGEN_EINVAL, "first test sequence %zu: the test set has %zu",
                          opts->first, seqgen_symbol_dataset_count(test));
    return status;
}

/* ---- The loss -------------------------------------------------------------------------------- */

/* Teacher-forced cross-entropy of test sequences [first, first + count), in batches of B copied
 * into symbols [B][T] with their lengths [B]. A batch without a counted prediction (sequences of
 * one symbol, no start step) has nothing to add. */
static int add_loss(seqgen_model *model, const seqgen_symbol_dataset *test, size_t first,
                    size_t count, size_t B, int32_t *symbols, size_t *lengths, symbol_sums *sums)
{
    const size_t T = seqgen_symbol_dataset_steps(test);
    const size_t start = (size_t)seqgen_model_get_config(model).start_step;
    for (size_t done = 0; done < count; done += B) {
        const size_t n = count - done < B ? count - done : B;
        size_t counted = 0;
        for (size_t i = 0; i < n; i++) {
            memcpy(symbols + i * T, seqgen_symbol_dataset_sequence(test, first + done + i),
                   T * sizeof *symbols);
            lengths[i] = seqgen_symbol_dataset_length(test, first + done + i);
            counted += lengths[i] - 1 + start;
        }
        if (counted == 0)
            continue;
        seqgen_symbol_batch batch = seqgen_symbol_batch_of_sequences(model, symbols, (int)n,
                                                                     (int)T);
        batch.lengths = lengths;
        seqgen_train_stats st;
        int status = seqgen_model_evaluate_symbols(model, &batch, NULL, &st);
        if (status) {
            char where[96];
            snprintf(where, sizeof where, "test sequences %zu to %zu", first + done,
                     first + done + n - 1);
            return sg_error_prefix(status, where);
        }
        sums->nats += st.loss * (double)st.predictions;
        sums->predicted += st.predictions;
    }
    return SEQGEN_OK;
}

/* ---- Completion ------------------------------------------------------------------------------ */

/* K of a sequence of `length` symbols, and whether it is completed at all. */
static size_t given_of(const seqgen_symbol_eval_options *opts, size_t length)
{
    return opts->given == SEQGEN_GIVEN_HALF ? length / 2 : (size_t)opts->given;
}

static int is_completed(size_t length, size_t K, int start_step)
{
    return K < length && (K > 0 || start_step);
}

/* The chunk's buffers, allocated once per call. */
typedef struct chunk_buffers {
    int32_t *rows;          /* [chunk][S]: prefixes in, completed sequences out */
    size_t *prefix_lengths; /* [chunk] */
    size_t *out_lengths;    /* [chunk] */
} chunk_buffers;

static void free_chunk(chunk_buffers *c)
{
    free(c->rows);
    free(c->prefix_lengths);
    free(c->out_lengths);
    c->rows = NULL, c->prefix_lengths = c->out_lengths = NULL;
}

static int alloc_chunk(chunk_buffers *c, size_t chunk, size_t S)
{
    c->rows = S <= SIZE_MAX / sizeof(int32_t) / chunk ? sg_malloc(chunk * S * sizeof(int32_t))
                                                      : NULL;
    c->prefix_lengths = sg_malloc(chunk * sizeof(size_t));
    c->out_lengths = sg_malloc(chunk * sizeof(size_t));
    if (c->rows && c->prefix_lengths && c->out_lengths)
        return SEQGEN_OK;
    free_chunk(c);
    return sg_error(SEQGEN_ENOMEM, "out of memory for completing chunks of %zu sequences of %zu "
                    "symbols", chunk, S);
}

/* Errors of a generated continuation g (m symbols) against the true one c (n symbols): the
 * mismatches of their first min(n, m) positions plus |n - m|. */
static uint64_t continuation_errors(const int32_t *g, size_t m, const int32_t *c, size_t n)
{
    const size_t common = m < n ? m : n;
    uint64_t errors = m < n ? n - m : m - n;
    for (size_t j = 0; j < common; j++)
        errors += g[j] != c[j];
    return errors;
}

/* Completes test sequences [first, first + count) (count at most the chunk) in one
 * seqgen_generate() call of S symbols per row, and adds up what they measure. A skipped
 * sequence keeps its row whole as its prefix (the truth, then end symbols up to S), so that it
 * generates nothing and every completed sequence keeps its stream, first_stream + its index. */
static int add_completions(const seqgen_model *model, const seqgen_symbol_dataset *test,
                           const sequence_set *set, const seqgen_symbol_eval_options *opts,
                           size_t S, chunk_buffers *c, size_t first, size_t count,
                           symbol_sums *sums)
{
    const size_t T = seqgen_symbol_dataset_steps(test);
    const int start = seqgen_model_get_config(model).start_step;
    for (size_t i = 0; i < count; i++) {
        const int32_t *truth = seqgen_symbol_dataset_sequence(test, first + i);
        const size_t length = seqgen_symbol_dataset_length(test, first + i);
        const size_t K = given_of(opts, length);
        int32_t *row = c->rows + i * S;
        if (is_completed(length, K, start)) {
            memcpy(row, truth, K * sizeof *row);
            c->prefix_lengths[i] = K;
        } else {
            memcpy(row, truth, T * sizeof *row);
            for (size_t j = T; j < S; j++)
                row[j] = SEQGEN_VOCAB_END;
            c->prefix_lengths[i] = S;
        }
    }
    seqgen_generate_options g = opts->generate;
    g.first_stream += first; /* test sequence i draws from stream first_stream + i */
    int status = seqgen_generate(model, c->rows, c->prefix_lengths, count, (int)S, &g, c->rows,
                                 c->out_lengths, NULL);
    if (status) {
        char where[96];
        snprintf(where, sizeof where, "completing test sequences %zu to %zu", first,
                 first + count - 1);
        return sg_error_prefix(status, where);
    }
    for (size_t i = 0; i < count; i++) {
        const int32_t *truth = seqgen_symbol_dataset_sequence(test, first + i);
        const size_t length = seqgen_symbol_dataset_length(test, first + i);
        const size_t K = given_of(opts, length);
        if (!is_completed(length, K, start)) {
            sums->skipped++;
            continue;
        }
        const int32_t *row = c->rows + i * S;
        const size_t n = length - K, m = c->out_lengths[i] - K;
        const uint64_t errors = continuation_errors(row + K, m, truth + K, n);
        sums->completed++;
        sums->true_symbols += n;
        sums->generated += m;
        sums->errors += errors;
        sums->exact += errors == 0;
        if (set) {
            sums->copied += (size_t)sequence_set_contains(set, row, c->out_lengths[i]);
            sums->copied_truth += (size_t)sequence_set_contains(set, truth, length);
        }
    }
    return SEQGEN_OK;
}

/* ---- The call -------------------------------------------------------------------------------- */

static void fill_results(const seqgen_symbol_eval_options *opts, int copies, size_t count,
                         const symbol_sums *s, seqgen_symbol_eval_results *r)
{
    memset(r, 0, sizeof *r);
    r->sequences = count;
    r->nats_per_symbol = r->bits_per_symbol = r->nats_per_sequence = NAN;
    r->symbol_error = r->exact_match = r->mean_generated = r->mean_true = NAN;
    r->copies = r->copies_truth = NAN;
    if (opts->metrics & SEQGEN_EVAL_LOSS) {
        r->predicted_symbols = s->predicted;
        r->nats_per_symbol = s->predicted ? s->nats / (double)s->predicted : NAN;
        r->bits_per_symbol = r->nats_per_symbol / log(2.0);
        r->nats_per_sequence = s->nats / (double)count;
    }
    if (!(opts->metrics & SEQGEN_EVAL_COMPLETION))
        return;
    const double done = (double)s->completed;
    r->completed = s->completed;
    r->skipped = s->skipped;
    r->true_symbols = s->true_symbols;
    r->generated_symbols = s->generated;
    r->symbol_errors = s->errors;
    r->exact = s->exact;
    r->symbol_error = s->true_symbols ? (double)s->errors / (double)s->true_symbols : 0.0;
    if (s->completed) {
        r->exact_match = (double)s->exact / done;
        r->mean_generated = (double)s->generated / done;
        r->mean_true = (double)s->true_symbols / done;
    }
    if (copies) {
        r->copied = s->copied;
        r->copied_truth = s->copied_truth;
        if (s->completed) {
            r->copies = (double)s->copied / done;
            r->copies_truth = (double)s->copied_truth / done;
        }
    }
}

int seqgen_evaluate_symbols(seqgen_model *model, const seqgen_symbol_dataset *test,
                            const seqgen_symbol_dataset *train,
                            const seqgen_symbol_eval_options *opts,
                            seqgen_symbol_eval_results *results)
{
    seqgen_symbol_eval_options defaults = seqgen_symbol_eval_options_default();
    if (!opts)
        opts = &defaults;
    int status = check_arguments(model, test, train, opts, results);
    if (status)
        return status;
    const size_t total = seqgen_symbol_dataset_count(test), T = seqgen_symbol_dataset_steps(test);
    size_t count = total - opts->first;
    if (opts->limit > 0 && opts->limit < count)
        count = opts->limit;
    symbol_sums sums = {0};
    const int completion = (opts->metrics & SEQGEN_EVAL_COMPLETION) != 0;
    if (opts->metrics & SEQGEN_EVAL_LOSS) {
        const size_t B = count < opts->batch_size ? count : opts->batch_size;
        int32_t *symbols = T <= SIZE_MAX / sizeof(int32_t) / B
                               ? sg_malloc(B * T * sizeof *symbols) : NULL;
        size_t *lengths = sg_malloc(B * sizeof *lengths);
        status = symbols && lengths ? add_loss(model, test, opts->first, count, B, symbols,
                                               lengths, &sums)
                                    : sg_error(SEQGEN_ENOMEM, "out of memory for batches of %zu "
                                               "test sequences of %zu symbols", B, T);
        free(symbols);
        free(lengths);
    }
    sequence_set set = {NULL, NULL, NULL, 0};
    if (!status && completion && train)
        status = sequence_set_build(&set, train);
    if (!status && completion) {
        const size_t S = opts->max_steps ? (size_t)opts->max_steps : T;
        size_t chunk = opts->chunk_size ? opts->chunk_size : SG_SYMBOL_EVAL_CHUNK;
        chunk = count < chunk ? count : chunk;
        chunk_buffers c;
        status = alloc_chunk(&c, chunk, S);
        for (size_t done = 0; done < count && !status; done += chunk) {
            const size_t n = count - done < chunk ? count - done : chunk;
            status = add_completions(model, test, train ? &set : NULL, opts, S, &c,
                                     opts->first + done, n, &sums);
        }
        free_chunk(&c);
    }
    sequence_set_free(&set);
    if (status)
        return sg_error_prefix(status, "evaluation of symbols");
    fill_results(opts, train != NULL, count, &sums, results);
    return SEQGEN_OK;
}
