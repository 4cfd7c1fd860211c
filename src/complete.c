/* Completion of masked sequences (see the "Completion and evaluation" section of seqgen.h):
 * teacher forcing over the given steps, then a rollout that feeds back decoded units.
 *
 * The unit of work is a block of at most SG_COMPLETE_BLOCK sequences, which runs every step up
 * to the longest of its sequences through sg_model_step_forward(), as seqgen_model_step() does;
 * each thread takes the next block not yet taken, so a thread slowed down by other work on
 * the machine does not hold the others up. Block boundaries do not depend on the thread count
 * or on which thread runs a block, and sampling draws from one generator per sequence, so
 * results are identical for any number of threads. */
#include "complete.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "gru.h"
#include "head.h"
#include "kernels.h"
#include "model_impl.h"
#include "parallel.h"
#include "rng.h"
#include "status.h"

/* Sequences per block: the step's GEMMs (rows x 3H x H) stay efficient while one block's hidden
 * states and gate scratch stay in the core's cache next to the weights. */
#define SG_COMPLETE_BLOCK 64

/* What every worker of one call shares. */
typedef struct sg_completion {
    const seqgen_model *model;
    const sg_gru_packed *packed; /* [L] the layers' W_hh, packed once for the call */
    const float *sequences;
    float *completed, *probs;
    const size_t *lengths; /* [count] in steps, or NULL: all T */
    size_t count, blocks;
    size_t units;          /* P = T * D, a sequence's floats in the arrays */
    int given, steps;
    seqgen_complete_options opts;
    atomic_size_t next_block; /* the first block no thread has taken yet */
} sg_completion;

/* One thread's workspace for one block. */
typedef struct sg_complete_worker {
    sg_completion *job;
    float *memory;  /* the block's rollout (h, x [rows][D], logits [rows][D], scratch) */
    sg_rollout roll;
    sg_rng *rngs;   /* [rows], one per sequence of the block (sampling) */
} sg_complete_worker;

seqgen_complete_options seqgen_complete_options_default(void)
{
    seqgen_complete_options opts = {.decode = SEQGEN_DECODE_GREEDY, .temperature = 1.0,
                                    .seed = 0, .first_stream = 0};
    return opts;
}

static int alloc_worker(sg_complete_worker *w, const seqgen_model *m)
{
    w->memory = sg_malloc(sg_rollout_floats(m, SG_COMPLETE_BLOCK) * sizeof(float));
    w->rngs = sg_malloc(SG_COMPLETE_BLOCK * sizeof *w->rngs);
    if (!w->memory || !w->rngs)
        return SEQGEN_ENOMEM;
    sg_rollout_lay_out(m, SG_COMPLETE_BLOCK, w->memory, &w->roll);
    return SEQGEN_OK;
}

/* ---- One block ------------------------------------------------------------------------------ */

/* Sequence s's length in steps. */
static int length_of(const sg_completion *job, size_t s)
{
    return job->lengths ? (int)job->lengths[s] : job->steps;
}

/* Copies the given units of sequences [s0, s0 + rows) to the output, those within each one's
 * length, and writes 0 in the output and probabilities after its length (padding, neither read
 * nor generated: it also feeds zeros to the steps a block runs past a short sequence's end).
 * With K < D and no start step, sets the rest of step 0 to blank and its probabilities to 0
 * (see the header). */
static void copy_given(const sg_completion *job, size_t s0, int rows)
{
    const size_t P = job->units, K = job->given, D = job->model->cfg.units_per_step;
    for (int r = 0; r < rows; r++) {
        const size_t s = s0 + r, own = (size_t)length_of(job, s) * D;
        const size_t copied = K < own ? K : own;
        float *out = job->completed + s * P;
        if (copied > 0 && out != job->sequences + s * P)
            memcpy(out, job->sequences + s * P, copied * sizeof *out);
        memset(out + own, 0, (P - own) * sizeof *out);
        if (job->probs) {
            float *prob = job->probs + s * (P - K);
            const size_t from = own > K ? own - K : 0;
            memset(prob + from, 0, (P - K - from) * sizeof *prob);
        }
        if (K < D && !job->model->cfg.start_step) {
            memset(out + K, 0, (D - K) * sizeof *out);
            if (job->probs)
                memset(job->probs + s * (P - K), 0, (D - K) * sizeof *out);
        }
    }
}

/* x[rows][D] = step t of each sequence of the block, read from the output (given, generated,
 * or the zeros after a sequence's length). */
static void gather_step(sg_complete_worker *w, size_t s0, int rows, int t)
{
    const sg_completion *job = w->job;
    const size_t P = job->units, D = job->model->cfg.units_per_step;
    for (int r = 0; r < rows; r++)
        memcpy(w->roll.x + r * D, job->completed + (s0 + r) * P + t * D, D * sizeof(float));
}

/* Bernoulli probability of one unit under the temperature; the division is done in double and
 * clamped so that a tiny temperature saturates instead of overflowing the float. */
static float tempered_prob(float logit, double temperature)
{
    double scaled = (double)logit / temperature;
    scaled = scaled > 100.0 ? 100.0 : scaled < -100.0 ? -100.0 : scaled;
    return sg_sigmoidf((float)scaled);
}

/* Decodes the units of step t that are not given from the logits into the output, recording
 * probabilities, for the sequences at least t + 1 steps long (the others draw nothing). With
 * the independent head the units of a step are independent given the steps before, so decoding
 * the rest of a partly given step from the same logits is exact conditioning; with the
 * autoregressive head unit d's logit is completed from the step's units before it, given or
 * just decoded, in order, which conditions exactly on the given ones. */
static void decode_step(sg_complete_worker *w, size_t s0, int rows, int t)
{
    const sg_completion *job = w->job;
    const seqgen_model *m = job->model;
    const size_t P = job->units, K = job->given, D = m->cfg.units_per_step;
    const size_t first = K > t * D ? K - t * D : 0; /* the step's first unit not given */
    const int sample = job->opts.decode == SEQGEN_DECODE_SAMPLE;
    const int ar = sg_head_is_ar(sg_model_head_kind(m));
    const size_t M = (size_t)m->head.made_hidden;
    for (int r = 0; r < rows; r++) {
        if (t >= length_of(job, s0 + r))
            continue;
        float *out = job->completed + (s0 + r) * P + t * D;
        float *prob = job->probs ? job->probs + (s0 + r) * (P - K) + t * D - K : NULL;
        float *made = w->roll.made ? w->roll.made + r * M : NULL;
        /* the MADE head's hidden units of the given units' degrees, in order */
        for (size_t d = 0; made && d < first; d++)
            sg_head_made_advance((int)D, &m->head, (int)d, out, made);
        for (size_t d = first; d < D; d++) {
            const float base = w->roll.logits[r * D + d];
            const float logit = ar ? sg_head_ar_logit((int)D, &m->head, (int)d, base, out, made)
                                   : base;
            const float p = sg_sigmoidf(logit);
            if (sample)
                out[d] = sg_rng_float(&w->rngs[r]) < tempered_prob(logit, job->opts.temperature);
            else
                out[d] = p > 0.5f;
            if (prob)
                prob[d] = p;
        }
    }
}

/* Completes sequences [s0, s0 + rows). */
static void complete_block(sg_complete_worker *w, size_t s0, int rows)
{
    const sg_completion *job = w->job;
    const seqgen_model *m = job->model;
    const int D = m->cfg.units_per_step, L = m->cfg.layers, H = m->cfg.hidden;
    /* The block stops at the end of its longest sequence. The shorter ones keep their rows,
     * reading the zeros after their ends, so that every product keeps the block's shape and a
     * live row's arithmetic is that of a rollout of the whole block. */
    int T = 1;
    for (int r = 0; r < rows; r++)
        if (length_of(job, s0 + r) > T)
            T = length_of(job, s0 + r);
    /* The first step with a unit to generate. Without a start step, step 0 is never predicted
     * (blank when K < D); with one, the model reads a step of zeros first (step "-1") whose
     * output predicts step 0. */
    const int start = m->cfg.start_step;
    const int first_generated = job->given >= D || start ? job->given / D : 1;
    copy_given(job, s0, rows);
    if (first_generated >= T)
        return;
    if (job->opts.decode == SEQGEN_DECODE_SAMPLE)
        for (int r = 0; r < rows; r++)
            sg_rng_seed(&w->rngs[r], job->opts.seed, job->opts.first_stream + s0 + r);
    int current = 0;
    memset(w->roll.h[0], 0, (size_t)L * rows * H * sizeof(float));
    for (int t = start ? -1 : 0; t + 1 < T; t++) {
        if (t < 0)
            memset(w->roll.x, 0, (size_t)rows * D * sizeof *w->roll.x);
        else
            gather_step(w, s0, rows, t);
        /* When the next step is given, its prediction is not needed: no head. */
        const int predict = t + 1 >= first_generated;
        sg_step_io io = {w->roll.x, w->roll.h[current], w->roll.h[1 - current],
                         (size_t)rows * H, NULL, 0, predict ? w->roll.logits : NULL};
        sg_model_step_forward(m, job->packed, rows, &io, &w->roll.scratch);
        current = 1 - current;
        if (predict && w->roll.made) /* C h + c of the top layer's new states */
            sg_head_made_cond(rows, H, &m->head, w->roll.h[current] + (size_t)(L - 1) * rows * H,
                              w->roll.made);
        if (predict)
            decode_step(w, s0, rows, t + 1);
    }
}

static void *run_worker(void *arg)
{
    sg_complete_worker *w = arg;
    sg_completion *job = w->job;
    for (size_t b; (b = atomic_fetch_add(&job->next_block, 1)) < job->blocks;) {
        size_t s0 = b * SG_COMPLETE_BLOCK;
        size_t rows = job->count - s0 < SG_COMPLETE_BLOCK ? job->count - s0 : SG_COMPLETE_BLOCK;
        complete_block(w, s0, (int)rows);
    }
    return NULL;
}

/* ---- The call ------------------------------------------------------------------------------- */

int sg_check_complete_options(const seqgen_complete_options *opts)
{
    if (opts->decode != SEQGEN_DECODE_GREEDY && opts->decode != SEQGEN_DECODE_SAMPLE)
        return sg_error(SEQGEN_EINVAL, "unknown decoder %d", (int)opts->decode);
    const int positive = isfinite(opts->temperature) && opts->temperature > 0.0;
    if (opts->decode == SEQGEN_DECODE_SAMPLE && !positive)
        return sg_error(SEQGEN_EINVAL, "the sampling temperature must be finite and > 0, got %g",
                        opts->temperature);
    return SEQGEN_OK;
}

int sg_check_given(size_t units, int given, int units_per_step)
{
    if (units < (size_t)units_per_step || units % (size_t)units_per_step != 0)
        return sg_error(SEQGEN_EINVAL, "%zu units per sequence is not a positive multiple of the "
                        "model's %d units per step", units, units_per_step);
    if (given < 0 || (size_t)given > units)
        return sg_error(SEQGEN_EINVAL, "given units must be in [0, %zu], got %d", units, given);
    return SEQGEN_OK;
}

static int check_arguments(const seqgen_model *model, const float *sequences, size_t count,
                           int steps, const size_t *lengths, int given,
                           const seqgen_complete_options *opts, const float *completed,
                           const float *probs)
{
    if (!model || !sequences || !completed)
        return sg_error(SEQGEN_EINVAL, "seqgen_complete: NULL %s",
                        !model ? "model" : !sequences ? "sequences" : "output");
    if (model->cfg.vocab)
        return sg_error(SEQGEN_EINVAL, "the model is categorical (vocab %d): seqgen_complete() "
                        "completes binary units; step symbols with seqgen_model_step_symbols()",
                        model->cfg.vocab);
    if (count < 1)
        return sg_error(SEQGEN_EINVAL, "count must be >= 1, got 0");
    if (steps < 1)
        return sg_error(SEQGEN_EINVAL, "steps must be >= 1, got %d", steps);
    if (model->cfg.steps != 0 && model->cfg.steps != steps)
        return sg_error(SEQGEN_EMISMATCH, "the model is for sequences of %d steps, these have %d",
                        model->cfg.steps, steps);
    const size_t D = model->cfg.units_per_step, P = (size_t)steps * D;
    int status = sg_check_given(P, given, (int)D);
    if (!status)
        status = sg_check_complete_options(opts);
    if (status)
        return status;
    if (count > ((size_t)1 << 40) / P)
        return sg_error(SEQGEN_EINVAL, "%zu sequences of %zu units is too many", count, P);
    for (size_t s = 0; lengths && s < count; s++)
        if (lengths[s] < 1 || lengths[s] > (size_t)steps)
            return sg_error(SEQGEN_EINVAL, "sequence %zu: length %zu is not in [1, %d]", s,
                            lengths[s], steps);
    const size_t bytes = count * P * sizeof(float);
    const char *in = (const char *)sequences, *out = (const char *)completed;
    if (in != out && in < out + bytes && out < in + bytes)
        return sg_error(SEQGEN_EINVAL, "the output overlaps the sequences");
    if (probs) {
        const char *p = (const char *)probs;
        const char *p_end = (const char *)(probs + count * (P - (size_t)given));
        if (p < in + bytes && in < p_end)
            return sg_error(SEQGEN_EINVAL, "the probabilities overlap the sequences");
    }
    /* only the given units within a sequence's length are read: its padding may hold anything */
    for (size_t s = 0; s < count; s++) {
        const size_t own = lengths ? lengths[s] * D : P;
        const size_t read = (size_t)given < own ? (size_t)given : own;
        for (size_t i = 0; i < read; i++)
            if (!isfinite(sequences[s * P + i]))
                return sg_error(SEQGEN_EINVAL, "sequence %zu: given unit %zu is %f", s, i,
                                sequences[s * P + i]);
    }
    return SEQGEN_OK;
}

int seqgen_complete(const seqgen_model *model, const float *sequences, size_t count, int steps,
                    const size_t *lengths, int given, const seqgen_complete_options *opts,
                    float *completed, float *probs)
{
    seqgen_complete_options defaults = seqgen_complete_options_default();
    if (!opts)
        opts = &defaults;
    int status = check_arguments(model, sequences, count, steps, lengths, given, opts, completed,
                                 probs);
    if (status)
        return status;
    sg_gru_packed *packed = sg_model_pack_copy(model); /* before the threads that read it */
    sg_completion job = {model, packed, sequences, completed, probs, lengths, count,
                         (count + SG_COMPLETE_BLOCK - 1) / SG_COMPLETE_BLOCK,
                         (size_t)steps * model->cfg.units_per_step, given, steps, *opts, 0};
    int threads = sg_model_thread_count(model);
    if ((size_t)threads > job.blocks)
        threads = (int)job.blocks;
    sg_complete_worker *workers = packed ? sg_calloc((size_t)threads, sizeof *workers) : NULL;
    status = workers ? SEQGEN_OK : SEQGEN_ENOMEM;
    for (int i = 0; i < threads && !status; i++) {
        workers[i].job = &job;
        status = alloc_worker(&workers[i], model);
    }
    if (!status)
        sg_run_parallel(run_worker, workers, sizeof *workers, threads);
    for (int i = 0; workers && i < threads; i++) {
        free(workers[i].memory);
        free(workers[i].rngs);
    }
    free(workers);
    free(packed);
    if (status)
        return sg_error(SEQGEN_ENOMEM, "out of memory for the completion workspace of %d threads",
                        threads);
    return SEQGEN_OK;
}
