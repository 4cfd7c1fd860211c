/* Generation of symbols with a categorical model (see the "Generation of symbols" section of
 * seqgen.h): teacher forcing over each sequence's prefix, then a rollout that feeds back the
 * decoded symbols until an end symbol or max_steps.
 *
 * The unit of work is a block of at most SG_GENERATE_BLOCK sequences, which runs every step
 * through sg_model_step_forward(), as seqgen_model_step_symbols() does, until its last sequence
 * has ended; each thread takes the next block not yet taken. Block boundaries do not depend on
 * the thread count, and sampling draws from one generator per sequence, so results are
 * identical for any number of threads. Everything a block needs is allocated once per worker,
 * before the steps. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "embedding.h"
#include "generate.h"
#include "gru.h"
#include "head.h"
#include "loss.h"
#include "model_impl.h"
#include "parallel.h"
#include "rng.h"
#include "seqgen.h"
#include "status.h"

/* Sequences per block, as completion's: the step's GEMMs stay efficient while a block's states
 * stay in cache. */
#define SG_GENERATE_BLOCK 64

/* What every worker of one call shares. */
typedef struct sg_generation {
    const seqgen_model *model;
    const sg_gru_packed *packed; /* [L] the layers' W_hh, packed once for the call */
    const int32_t *prefixes;     /* [count][max_steps], or NULL: every prefix empty */
    const size_t *prefix_lengths; /* [count], or NULL: every prefix empty */
    int32_t *out;
    size_t *out_lengths;
    float *probs;
    size_t count, blocks;
    int max_steps;
    seqgen_generate_options opts;
    atomic_size_t next_block; /* the first block no thread has taken yet */
} sg_generation;

/* A symbol and its logit, for ranking: higher logit first, lower id first among equal ones. */
typedef struct sg_ranked {
    float logit;
    int32_t id;
} sg_ranked;

/* One thread's workspace for one block of R sequences and a vocabulary of V. */
typedef struct sg_generate_worker {
    sg_generation *job;
    float *memory;    /* the block's rollout (h, x [R][E] embedding rows, logits [R][V]) */
    sg_rollout roll;
    double *weights;  /* [V] the tempered, unnormalised probabilities of one row */
    sg_ranked *heap;  /* [V] the ranking of one row (a max-heap, popped from the end) */
    uint8_t *kept;    /* [V] 1 for the symbols top-k / top-p keep, else 0 */
    int32_t *fed;     /* [R] the symbol each sequence reads at this step (-1: a zero vector) */
    size_t *length;   /* [R] symbols written so far */
    uint8_t *ended;   /* [R] 1 once a sequence is complete */
    sg_rng *rngs;     /* [R], one per sequence of the block (sampling) */
} sg_generate_worker;

seqgen_generate_options seqgen_generate_options_default(void)
{
    seqgen_generate_options opts = {.decode = SEQGEN_DECODE_GREEDY, .temperature = 1.0,
                                    .top_k = 0, .top_p = 1.0, .end_symbol = -1, .seed = 0,
                                    .first_stream = 0};
    return opts;
}

static int alloc_worker(sg_generate_worker *w, const seqgen_model *m)
{
    const size_t R = SG_GENERATE_BLOCK, V = m->cfg.vocab;
    w->memory = sg_malloc(sg_rollout_floats(m, SG_GENERATE_BLOCK) * sizeof(float));
    w->weights = sg_malloc(V * sizeof *w->weights);
    w->heap = sg_malloc(V * sizeof *w->heap);
    w->kept = sg_calloc(V, 1);
    w->fed = sg_malloc(R * sizeof *w->fed);
    w->length = sg_malloc(R * sizeof *w->length);
    w->ended = sg_malloc(R);
    w->rngs = sg_malloc(R * sizeof *w->rngs);
    if (!w->memory || !w->weights || !w->heap || !w->kept || !w->fed || !w->length ||
        !w->ended || !w->rngs)
        return SEQGEN_ENOMEM;
    sg_rollout_lay_out(m, SG_GENERATE_BLOCK, w->memory, &w->roll);
    return SEQGEN_OK;
}

static void free_worker(sg_generate_worker *w)
{
    free(w->memory);
    free(w->weights);
    free(w->heap);
    free(w->kept);
    free(w->fed);
    free(w->length);
    free(w->ended);
    free(w->rngs);
}

/* ---- Decoding one symbol -------------------------------------------------------------------- */

/* 1 if a ranks before b: a higher logit, or the same and a lower id. */
static int ranks_before(sg_ranked a, sg_ranked b)
{
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

/* Restores the max-heap property of heap[0, n) below position i. */
static void sift_down(sg_ranked *heap, size_t n, size_t i)
{
    for (;;) {
        size_t best = i, left = 2 * i + 1, right = left + 1;
        if (left < n && ranks_before(heap[left], heap[best]))
            best = left;
        if (right < n && ranks_before(heap[right], heap[best]))
            best = right;
        if (best == i)
            return;
        sg_ranked swap = heap[i];
        heap[i] = heap[best], heap[best] = swap;
        i = best;
    }
}

/* Moves the first of the ranking among heap[0, n) to heap[n - 1] and returns it (the heap is
 * then heap[0, n - 1)). */
static sg_ranked pop_first(sg_ranked *heap, size_t n)
{
    sg_ranked first = heap[0];
    heap[0] = heap[n - 1], heap[n - 1] = first;
    sift_down(heap, n - 1, 0);
    return first;
}

/* Marks in w->kept the symbols top-k and top-p keep among V with weights w->weights and logits
 * a [V], returns how many; the kept ones are heap[V - kept, V), first of the ranking last. With
 * non-finite logits the ranking is some order of the symbols: at least one is always kept. */
static size_t keep_symbols(sg_generate_worker *w, int V, const float *a)
{
    const seqgen_generate_options *o = &w->job->opts;
    const size_t n = (size_t)V;
    const size_t limit = o->top_k > 0 && (size_t)o->top_k < n ? (size_t)o->top_k : n;
    sg_ranked *heap = w->heap;
    for (size_t k = 0; k < n; k++)
        heap[k] = (sg_ranked){a[k], (int32_t)k};
    for (size_t i = n / 2; i-- > 0;)
        sift_down(heap, n, i);
    /* The mass top-p measures against: that of the k first (popped here), or of all. */
    double mass = 0.0;
    size_t popped = 0;
    if (limit < n) {
        for (; popped < limit; popped++)
            mass += w->weights[pop_first(heap, n - popped).id];
    } else {
        for (size_t k = 0; k < n; k++)
            mass += w->weights[k];
    }
    size_t kept = limit;
    if (o->top_p < 1.0) {
        /* the shortest beginning of the ranking with weights summing to >= p times the mass */
        const double target = o->top_p * mass;
        double cumulative = 0.0;
        for (kept = 0; kept < limit;) {
            if (kept == popped)
                pop_first(heap, n - popped++);
            cumulative += w->weights[heap[n - 1 - kept].id];
            kept++;
            if (cumulative >= target)
                break;
        }
    } else {
        for (; popped < limit; popped++)
            pop_first(heap, n - popped);
    }
    for (size_t i = 0; i < kept; i++)
        w->kept[heap[n - 1 - i].id] = 1;
    return kept;
}

/* The symbol sampled from logits a [V] with the row's generator (see the header): tempered
 * weights, top-k, top-p, then the inverse distribution function of the kept symbols in id order
 * at one uniform. */
static int32_t sample_symbol(sg_generate_worker *w, int V, const float *a, sg_rng *rng)
{
    const seqgen_generate_options *o = &w->job->opts;
    float top = a[0];
    for (int k = 1; k < V; k++)
        top = a[k] > top ? a[k] : top;
    for (int k = 0; k < V; k++)
        w->weights[k] = exp(((double)a[k] - (double)top) / o->temperature);
    const int truncated = (o->top_k > 0 && o->top_k < V) || o->top_p < 1.0;
    size_t kept = V;
    if (truncated)
        kept = keep_symbols(w, V, a);
    const float u = sg_rng_float(rng); /* one draw per symbol, whatever is kept */
    double total = 0.0;
    for (int k = 0; k < V; k++)
        if (!truncated || w->kept[k])
            total += w->weights[k];
    const double target = (double)u * total;
    double cumulative = 0.0;
    /* If rounding (or a NaN) leaves no symbol above the target: the last kept one of non-zero
     * weight, or the first of the ranking. */
    int32_t chosen = -1, fallback = truncated ? w->heap[V - 1].id : 0;
    for (int k = 0; k < V && chosen < 0; k++) {
        if (truncated && !w->kept[k])
            continue;
        cumulative += w->weights[k];
        if (w->weights[k] > 0.0)
            fallback = k;
        if (target < cumulative)
            chosen = k;
    }
    if (truncated)
        for (size_t i = 0; i < kept; i++)
            w->kept[w->heap[V - 1 - i].id] = 0;
    return chosen >= 0 ? chosen : fallback;
}

/* ---- One block ------------------------------------------------------------------------------ */

static size_t prefix_length(const sg_generation *job, size_t s)
{
    return job->prefix_lengths ? job->prefix_lengths[s] : 0;
}

/* Copies each prefix of sequences [s0, s0 + rows) to the output and fills the rest with -1 (and
 * the probabilities with 0); sets each sequence's length, and marks those already complete. */
static void start_block(sg_generate_worker *w, size_t s0, int rows)
{
    const sg_generation *job = w->job;
    const size_t T = (size_t)job->max_steps;
    for (int r = 0; r < rows; r++) {
        const size_t s = s0 + r, given = prefix_length(job, s);
        int32_t *out = job->out + s * T;
        if (given > 0 && out != job->prefixes + s * T)
            memcpy(out, job->prefixes + s * T, given * sizeof *out);
        for (size_t i = given; i < T; i++)
            out[i] = -1;
        if (job->probs)
            memset(job->probs + s * T, 0, T * sizeof *job->probs);
        w->length[r] = given;
        w->ended[r] = given >= T;
    }
}

/* Decodes the next symbol of every sequence that has read all its symbols, from its logits;
 * writes it, its probability and its length; marks the sequences that are now complete. */
static void decode_step(sg_generate_worker *w, size_t s0, int rows, int t)
{
    const sg_generation *job = w->job;
    const int V = job->model->cfg.vocab;
    const size_t T = (size_t)job->max_steps;
    for (int r = 0; r < rows; r++) {
        if (w->ended[r] || w->length[r] != (size_t)(t + 1))
            continue;
        float *a = w->roll.logits + (size_t)r * V;
        const int32_t symbol =
            job->opts.decode == SEQGEN_DECODE_SAMPLE
                ? sample_symbol(w, V, a, &w->rngs[r])
                : sg_head_feedback(SG_HEAD_CATEGORICAL, V, a, SEQGEN_FEEDBACK_THRESHOLD, NULL,
                                   NULL);
        const size_t s = s0 + r, at = w->length[r]++;
        job->out[s * T + at] = symbol;
        if (job->probs) { /* softmax(a)[symbol] as sg_head_probs computes it; a is not read again */
            sg_softmax(V, a, a);
            job->probs[s * T + at] = a[symbol];
        }
        if (symbol == job->opts.end_symbol || w->length[r] == T)
            w->ended[r] = 1;
    }
}

/* Generates sequences [s0, s0 + rows). Every row keeps its place until the block's last
 * sequence ends, the complete ones reading zero vectors, so that every product keeps the
 * block's shape and a live row's arithmetic is that of a step of the whole block. */
static void generate_block(sg_generate_worker *w, size_t s0, int rows)
{
    const sg_generation *job = w->job;
    const seqgen_model *m = job->model;
    const int L = m->cfg.layers, H = m->cfg.hidden, E = m->cfg.embedding;
    const size_t T = (size_t)job->max_steps;
    start_block(w, s0, rows);
    if (job->opts.decode == SEQGEN_DECODE_SAMPLE)
        for (int r = 0; r < rows; r++)
            sg_rng_seed(&w->rngs[r], job->opts.seed, job->opts.first_stream + s0 + r);
    int current = 0;
    memset(w->roll.h[0], 0, (size_t)L * rows * H * sizeof(float));
    /* Step t reads symbol t (t = -1: the start step's zero vector) and predicts symbol t + 1. */
    for (int t = m->cfg.start_step ? -1 : 0; t + 1 < job->max_steps; t++) {
        int live = 0, predict = 0;
        for (int r = 0; r < rows; r++) {
            live |= !w->ended[r];
            predict |= !w->ended[r] && w->length[r] == (size_t)(t + 1);
            w->fed[r] = t >= 0 && (size_t)t < w->length[r] ? job->out[(s0 + r) * T + t] : -1;
        }
        if (!live)
            break;
        sg_embedding_forward(rows, E, m->embedding, w->fed, w->roll.x);
        /* While every live sequence is still reading its prefix, no head. */
        sg_step_io io = {w->roll.x, w->roll.h[current], w->roll.h[1 - current],
                         (size_t)rows * H, NULL, 0, predict ? w->roll.logits : NULL};
        sg_model_step_forward(m, job->packed, rows, &io, &w->roll.scratch);
        current = 1 - current;
        if (predict)
            decode_step(w, s0, rows, t);
    }
    if (job->out_lengths)
        for (int r = 0; r < rows; r++)
            job->out_lengths[s0 + r] = w->length[r];
}

static void *run_worker(void *arg)
{
    sg_generate_worker *w = arg;
    sg_generation *job = w->job;
    for (size_t b; (b = atomic_fetch_add(&job->next_block, 1)) < job->blocks;) {
        size_t s0 = b * SG_GENERATE_BLOCK;
        size_t rows = job->count - s0 < SG_GENERATE_BLOCK ? job->count - s0 : SG_GENERATE_BLOCK;
        generate_block(w, s0, (int)rows);
    }
    return NULL;
}

/* ---- The call ------------------------------------------------------------------------------- */

int sg_check_generate_options(const seqgen_generate_options *o, int vocab)
{
    if (o->decode != SEQGEN_DECODE_GREEDY && o->decode != SEQGEN_DECODE_SAMPLE)
        return sg_error(SEQGEN_EINVAL, "unknown decoder %d", (int)o->decode);
    if (!(isfinite(o->temperature) && o->temperature > 0.0))
        return sg_error(SEQGEN_EINVAL, "the sampling temperature must be finite and > 0, got %g",
                        o->temperature);
    if (o->top_k < 0)
        return sg_error(SEQGEN_EINVAL, "top_k must be 0 (off) or >= 1, got %d", o->top_k);
    if (!(o->top_p > 0.0 && o->top_p <= 1.0))
        return sg_error(SEQGEN_EINVAL, "top_p must be in (0, 1] (1: off), got %g", o->top_p);
    if (o->end_symbol < -1 || o->end_symbol >= vocab)
        return sg_error(SEQGEN_EINVAL, "the end symbol must be in [0, %d) or -1 (none), got %d",
                        vocab, (int)o->end_symbol);
    return SEQGEN_OK;
}

/* 1 if the byte ranges [a, a + a_bytes) and [b, b + b_bytes) overlap. */
static int overlap(const void *a, size_t a_bytes, const void *b, size_t b_bytes)
{
    const char *pa = a, *pb = b;
    return pa && pb && pa < pb + b_bytes && pb < pa + a_bytes;
}

static int check_arguments(const seqgen_model *model, const int32_t *prefixes,
                           const size_t *prefix_lengths, size_t count, int max_steps,
                           const seqgen_generate_options *opts, const int32_t *out,
                           const size_t *out_lengths, const float *probs)
{
    if (!model || !out || (prefix_lengths && !prefixes))
        return sg_error(SEQGEN_EINVAL, "seqgen_generate: NULL %s",
                        !model ? "model" : !out ? "output" : "prefixes");
    const int V = model->cfg.vocab;
    if (!V)
        return sg_error(SEQGEN_EINVAL, "the model is of binary units (vocab 0): generate its "
                        "sequences with seqgen_complete()");
    if (count < 1)
        return sg_error(SEQGEN_EINVAL, "count must be >= 1, got 0");
    if (max_steps < 1)
        return sg_error(SEQGEN_EINVAL, "max_steps must be >= 1, got %d", max_steps);
    const size_t T = (size_t)max_steps;
    if (count > ((size_t)1 << 40) / T)
        return sg_error(SEQGEN_EINVAL, "%zu sequences of %zu symbols is too many", count, T);
    int status = sg_check_generate_options(opts, V);
    if (status)
        return status;
    const size_t symbols = count * T * sizeof *out;
    if (prefixes && prefixes != out && overlap(prefixes, symbols, out, symbols))
        return sg_error(SEQGEN_EINVAL, "the output overlaps the prefixes");
    const size_t prob_bytes = count * T * sizeof *probs, length_bytes = count * sizeof(size_t);
    if (probs && (overlap(probs, prob_bytes, out, symbols) ||
                  overlap(probs, prob_bytes, prefixes, symbols)))
        return sg_error(SEQGEN_EINVAL, "the probabilities overlap the prefixes or the output");
    if (out_lengths && (overlap(out_lengths, length_bytes, out, symbols) ||
                        overlap(out_lengths, length_bytes, prefixes, symbols) ||
                        overlap(out_lengths, length_bytes, probs, prob_bytes)))
        return sg_error(SEQGEN_EINVAL, "the lengths overlap the prefixes, the output or the "
                        "probabilities");
    for (size_t s = 0; s < count; s++) {
        const size_t given = prefix_lengths ? prefix_lengths[s] : 0;
        if (given > T)
            return sg_error(SEQGEN_EINVAL, "sequence %zu: its prefix of %zu symbols is longer "
                            "than max_steps %d", s, given, max_steps);
        if (given == 0 && !model->cfg.start_step)
            return sg_error(SEQGEN_EINVAL, "sequence %zu: an empty prefix, but the model has no "
                            "start step to predict a first symbol from: give at least one", s);
        for (size_t i = 0; i < given; i++)
            if (prefixes[s * T + i] < 0 || prefixes[s * T + i] >= V)
                return sg_error(SEQGEN_EINVAL, "sequence %zu: prefix symbol %zu is %d, not in "
                                "[0, %d)", s, i, (int)prefixes[s * T + i], V);
    }
    return SEQGEN_OK;
}

int seqgen_generate(const seqgen_model *model, const int32_t *prefixes,
                    const size_t *prefix_lengths, size_t count, int max_steps,
                    const seqgen_generate_options *opts, int32_t *out, size_t *out_lengths,
                    float *probs)
{
    seqgen_generate_options defaults = seqgen_generate_options_default();
    if (!opts)
        opts = &defaults;
    int status = check_arguments(model, prefixes, prefix_lengths, count, max_steps, opts, out,
                                 out_lengths, probs);
    if (status)
        return status;
    sg_gru_packed *packed = sg_model_pack_copy(model); /* before the threads that read it */
    sg_generation job = {model, packed, prefix_lengths ? prefixes : NULL, prefix_lengths, out,
                         out_lengths, probs, count,
                         (count + SG_GENERATE_BLOCK - 1) / SG_GENERATE_BLOCK, max_steps, *opts,
                         0};
    int threads = sg_model_thread_count(model);
    if ((size_t)threads > job.blocks)
        threads = (int)job.blocks;
    sg_generate_worker *workers = packed ? sg_calloc((size_t)threads, sizeof *workers) : NULL;
    status = workers ? SEQGEN_OK : SEQGEN_ENOMEM;
    for (int i = 0; i < threads && !status; i++) {
        workers[i].job = &job;
        status = alloc_worker(&workers[i], model);
    }
    if (!status)
        sg_run_parallel(run_worker, workers, sizeof *workers, threads);
    for (int i = 0; workers && i < threads; i++)
        free_worker(&workers[i]);
    free(workers);
    free(packed);
    if (status)
        return sg_error(SEQGEN_ENOMEM, "out of memory for the generation workspace of %d threads",
                        threads);
    return SEQGEN_OK;
}
