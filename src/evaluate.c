/* Evaluation of a model on a test set (see the "Completion and evaluation" section of seqgen.h):
 * teacher-forced loss through seqgen_model_evaluate(), completion unit error through
 * seqgen_complete(), and "label kept" through the training set's exact 1-NN classifier.
 *
 * Sequences are processed in chunks of at most SG_EVAL_CHUNK, so memory does not grow with the
 * test set; sampling streams are numbered by test sequence, so results do not depend on the
 * chunking. Nothing here touches the model's generators or gradients. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "complete.h"
#include "dataset.h"
#include "status.h"

/* Sequences completed per seqgen_complete() call: enough blocks to keep every thread busy. */
#define SG_EVAL_CHUNK 1024

seqgen_eval_options seqgen_eval_options_default(void)
{
    seqgen_eval_options opts = {.metrics = SEQGEN_EVAL_ALL, .given = SEQGEN_GIVEN_HALF,
                                .complete = seqgen_complete_options_default(), .batch_size = 64,
                                .first = 0, .limit = 0};
    seqgen_binarize_config binarize = SEQGEN_BINARIZE_CONFIG_DEFAULT;
    opts.binarize = binarize;
    return opts;
}

/* The shape of one evaluation: T steps of D units per sequence, K given. */
typedef struct eval_shape {
    size_t D, T, units, K;
} eval_shape;

/* Sums over the sequences seen so far; turned into means at the end. */
typedef struct eval_sums {
    double mse, bce, nll;             /* loss sums: per unit (mse, bce) and per sequence (nll) */
    double predicted;                 /* units the mse and bce sums are over */
    size_t wrong, generated;          /* generated units, and those differing from the truth */
    size_t kept, kept_truth, kept_blank;
    double distance, distance_truth;  /* Hamming distances to the nearest training sequence */
} eval_sums;

/* The chunk's buffers, allocated once per call. */
typedef struct eval_buffers {
    size_t *indices, *nearest, *lengths; /* [chunk] */
    uint32_t *distance;                  /* [chunk] */
    float *truth, *completed;            /* [chunk][units] */
} eval_buffers;

static void free_buffers(eval_buffers *b)
{
    free(b->indices);
    free(b->nearest);
    free(b->lengths);
    free(b->distance);
    free(b->truth);
    free(b->completed);
}

static int alloc_buffers(eval_buffers *b, size_t chunk, size_t units)
{
    memset(b, 0, sizeof *b);
    b->indices = sg_malloc(chunk * sizeof *b->indices);
    b->nearest = sg_malloc(chunk * sizeof *b->nearest);
    b->lengths = sg_malloc(chunk * sizeof *b->lengths);
    b->distance = sg_malloc(chunk * sizeof *b->distance);
    b->truth = sg_malloc(chunk * units * sizeof *b->truth);
    b->completed = sg_malloc(chunk * units * sizeof *b->completed);
    if (b->indices && b->nearest && b->lengths && b->distance && b->truth && b->completed)
        return SEQGEN_OK;
    free_buffers(b);
    return sg_error(SEQGEN_ENOMEM, "out of memory for evaluating chunks of %zu sequences", chunk);
}

/* The data's shape against the model's, the training set's against the test set's. */
static int check_shapes(const seqgen_model *model, const seqgen_dataset *test,
                        const seqgen_dataset *train, const seqgen_eval_options *opts,
                        eval_shape *shape)
{
    const seqgen_model_config cfg = seqgen_model_get_config(model);
    const size_t D = (size_t)cfg.units_per_step, units = seqgen_dataset_units(test);
    int status = sg_dataset_check_step(test, D, "the model");
    if (status)
        return sg_error_prefix(status, "the test set");
    const size_t T = units / D;
    if (T > INT_MAX)
        return sg_error(SEQGEN_EINVAL, "test sequences of %zu steps: at most %d", T, INT_MAX);
    if (cfg.steps != 0 && (size_t)cfg.steps != T)
        return sg_error(SEQGEN_EMISMATCH, "the model is for sequences of %d steps of %zu units, "
                        "the test set's have %zu", cfg.steps, D, T);
    const size_t shortest = cfg.start_step ? 1 : 2;
    if ((opts->metrics & SEQGEN_EVAL_LOSS) && T < shortest)
        return sg_error(SEQGEN_EINVAL, "the loss needs sequences of >= %zu steps, the test set's "
                        "have %zu", shortest, T);
    if (opts->metrics & SEQGEN_EVAL_LABEL) {
        if (!seqgen_dataset_has_labels(test) || !seqgen_dataset_has_labels(train))
            return sg_error(SEQGEN_EINVAL, "SEQGEN_EVAL_LABEL needs labels, but the %s set has "
                            "none", seqgen_dataset_has_labels(test) ? "training" : "test");
        if (seqgen_dataset_units(train) != units)
            return sg_error(SEQGEN_EMISMATCH, "training sequences have %zu units, test "
                            "sequences %zu", seqgen_dataset_units(train), units);
    }
    shape->D = D;
    shape->T = T;
    shape->units = units;
    shape->K = opts->given == SEQGEN_GIVEN_HALF ? T / 2 * D : (size_t)opts->given;
    return SEQGEN_OK;
}

static int check_arguments(const seqgen_model *model, const seqgen_dataset *test,
                           const seqgen_dataset *train, const seqgen_eval_options *opts,
                           const seqgen_eval_results *results, eval_shape *shape)
{
    if (!model || !test || !results)
        return sg_error(SEQGEN_EINVAL, "seqgen_evaluate_dataset: NULL %s",
                        !model ? "model" : !test ? "test set" : "results");
    if (opts->metrics == 0 || (opts->metrics & ~(unsigned)SEQGEN_EVAL_ALL))
        return sg_error(SEQGEN_EINVAL, "metrics must be a non-empty OR of SEQGEN_EVAL_* bits, "
                        "got %#x", opts->metrics);
    if ((opts->metrics & SEQGEN_EVAL_LABEL) && !train)
        return sg_error(SEQGEN_EINVAL, "seqgen_evaluate_dataset: NULL train: SEQGEN_EVAL_LABEL "
                        "needs the training set");
    if (opts->batch_size < 1 || opts->batch_size > INT_MAX)
        return sg_error(SEQGEN_EINVAL, "batch_size must be in [1, %d], got %zu", INT_MAX,
                        opts->batch_size);
    int status = check_shapes(model, test, train, opts, shape);
    if (status || !(opts->metrics & (SEQGEN_EVAL_COMPLETION | SEQGEN_EVAL_LABEL)))
        return status;
    if (opts->given != SEQGEN_GIVEN_HALF && (opts->given < 0 || (size_t)opts->given > shape->units))
        return sg_error(SEQGEN_EINVAL, "given units must be in [0, %zu] or SEQGEN_GIVEN_HALF, "
                        "got %d", shape->units, opts->given);
    return sg_check_complete_options(&opts->complete);
}

/* Teacher-forced losses of `count` sequences (the chunk's truth), in batches: each sequence's
 * steps predict the next ones up to its length (its first step too after a start step). */
static int add_losses(seqgen_model *model, const seqgen_eval_options *opts, const eval_shape *sh,
                      eval_buffers *buf, size_t count, eval_sums *sums)
{
    const size_t start = (size_t)seqgen_model_get_config(model).start_step;
    for (size_t first = 0; first < count; first += opts->batch_size) {
        size_t n = count - first < opts->batch_size ? count - first : opts->batch_size;
        seqgen_batch batch = seqgen_batch_of_sequences(model, buf->truth + first * sh->units,
                                                       (int)n, (int)sh->T);
        batch.lengths = buf->lengths + first;
        seqgen_train_stats st;
        int status = seqgen_model_evaluate(model, &batch, SEQGEN_LOSS_BCE, NULL, &st);
        if (status)
            return status;
        double predicted = 0.0;
        for (size_t i = 0; i < n; i++)
            predicted += (double)(batch.lengths[i] - 1 + start) * (double)sh->D;
        sums->mse += st.mse * predicted;
        sums->bce += st.bce * predicted;
        sums->predicted += predicted;
        sums->nll += st.nll_nats * (double)n;
    }
    return SEQGEN_OK;
}

/* How many of `count` sequences the 1-NN classifier (nearest sequence of `train`) labels as the
 * test sequences `indices`; adds their distances to *distance_sum. */
static int count_kept(seqgen_dataset *train, const seqgen_dataset *test, const float *sequences,
                      size_t count, eval_buffers *buf, size_t *kept, double *distance_sum)
{
    int status = seqgen_dataset_nearest(train, sequences, count, buf->nearest, buf->distance);
    for (size_t i = 0; i < count && !status; i++) {
        int64_t guess, truth;
        status = seqgen_dataset_label(train, buf->nearest[i], &guess);
        if (!status)
            status = seqgen_dataset_label(test, buf->indices[i], &truth);
        *kept += !status && guess == truth;
        if (distance_sum)
            *distance_sum += buf->distance[i];
    }
    return status;
}

/* Completion metrics of the chunk: unit error, and label kept with its bounds. */
static int add_completions(const seqgen_model *model, const seqgen_dataset *test,
                           seqgen_dataset *train, const seqgen_eval_options *opts,
                           const eval_shape *sh, eval_buffers *buf, size_t first, size_t count,
                           eval_sums *sums)
{
    const size_t K = sh->K, U = sh->units;
    seqgen_complete_options copts = opts->complete;
    copts.first_stream += first; /* test sequence i draws from stream first_stream + i */
    int status = seqgen_complete(model, buf->truth, count, (int)sh->T, buf->lengths, (int)K,
                                 &copts, buf->completed, NULL);
    if (status)
        return status;
    for (size_t i = 0; i < count; i++) {
        const size_t end = buf->lengths[i] * sh->D;
        for (size_t u = K; u < end; u++)
            sums->wrong += buf->completed[i * U + u] != buf->truth[i * U + u];
        sums->generated += end > K ? end - K : 0;
    }
    if (!(opts->metrics & SEQGEN_EVAL_LABEL))
        return SEQGEN_OK;
    status = count_kept(train, test, buf->completed, count, buf, &sums->kept, &sums->distance);
    if (!status)
        status = count_kept(train, test, buf->truth, count, buf, &sums->kept_truth,
                            &sums->distance_truth);
    if (status)
        return status;
    /* the lower bound: given units only; the completion buffer is reused for the masked ones */
    for (size_t i = 0; i < count; i++)
        memset(buf->completed + i * U + K, 0, (U - K) * sizeof(float));
    return count_kept(train, test, buf->completed, count, buf, &sums->kept_blank, NULL);
}

static void fill_results(const seqgen_eval_options *opts, const eval_shape *sh, size_t count,
                         const eval_sums *s, seqgen_eval_results *r)
{
    const double n = (double)count;
    r->sequences = count;
    r->given = (int)sh->K;
    r->predicted_units = (uint64_t)s->predicted;
    r->generated_units = s->generated;
    r->mse = r->bce = r->nll_nats = r->unit_error = NAN;
    r->label_kept = r->label_kept_truth = r->label_kept_blank = NAN;
    r->nearest_distance = r->nearest_distance_truth = NAN;
    if (opts->metrics & SEQGEN_EVAL_LOSS) {
        r->mse = s->mse / s->predicted;
        r->bce = s->bce / s->predicted;
        r->nll_nats = s->nll / n;
    }
    if (opts->metrics & (SEQGEN_EVAL_COMPLETION | SEQGEN_EVAL_LABEL))
        r->unit_error = s->generated ? (double)s->wrong / (double)s->generated : 0.0;
    if (opts->metrics & SEQGEN_EVAL_LABEL) {
        r->label_kept = (double)s->kept / n;
        r->label_kept_truth = (double)s->kept_truth / n;
        r->label_kept_blank = (double)s->kept_blank / n;
        r->nearest_distance = s->distance / n;
        r->nearest_distance_truth = s->distance_truth / n;
    }
}

int seqgen_evaluate_dataset(seqgen_model *model, const seqgen_dataset *test, seqgen_dataset *train,
                            const seqgen_eval_options *opts, seqgen_eval_results *results)
{
    seqgen_eval_options defaults = seqgen_eval_options_default();
    if (!opts)
        opts = &defaults;
    eval_shape shape = {0, 0, 0, 0};
    int status = check_arguments(model, test, train, opts, results, &shape);
    if (status)
        return status;
    const size_t total = seqgen_dataset_count(test);
    if (opts->first >= total)
        return sg_error(SEQGEN_EINVAL, "first test sequence %zu: the test set has %zu",
                        opts->first, total);
    size_t count = total - opts->first;
    if (opts->limit > 0 && opts->limit < count)
        count = opts->limit;
    const size_t chunk = count < SG_EVAL_CHUNK ? count : SG_EVAL_CHUNK;
    eval_buffers buf;
    status = alloc_buffers(&buf, chunk, shape.units);
    if (status)
        return status;
    eval_sums sums = {0};
    for (size_t done = 0; done < count && !status; done += chunk) {
        const size_t n = count - done < chunk ? count - done : chunk, first = opts->first + done;
        for (size_t i = 0; i < n; i++) {
            buf.indices[i] = first + i;
            /* lengths are in the data's steps, which are the model's when they vary */
            buf.lengths[i] = seqgen_dataset_has_lengths(test) ? seqgen_dataset_length(test, first + i)
                                                              : shape.T;
        }
        status = seqgen_dataset_sequences(test, buf.indices, n, &opts->binarize, 0, buf.truth);
        if (!status && (opts->metrics & SEQGEN_EVAL_LOSS))
            status = add_losses(model, opts, &shape, &buf, n, &sums);
        if (!status && (opts->metrics & (SEQGEN_EVAL_COMPLETION | SEQGEN_EVAL_LABEL)))
            status = add_completions(model, test, train, opts, &shape, &buf, first, n, &sums);
    }
    free_buffers(&buf);
    if (status)
        return sg_error_prefix(status, "evaluation");
    fill_results(opts, &shape, count, &sums, results);
    return SEQGEN_OK;
}
