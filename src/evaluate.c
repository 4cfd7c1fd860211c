/* Evaluation of a model on a test split (see the "Completion and evaluation" section of
 * seqgen.h): teacher-forced loss through seqgen_model_evaluate(), completion pixel error through
 * seqgen_complete(), and "digit kept" through the training set's exact 1-NN classifier.
 *
 * Images are processed in chunks of at most SG_EVAL_CHUNK, so memory does not grow with the test
 * set; sampling streams are numbered by test image, so results do not depend on the chunking.
 * Nothing here touches the model's generators or gradients. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "complete.h"
#include "status.h"

/* Images completed per seqgen_complete() call: enough blocks to keep every thread busy. */
#define SG_EVAL_CHUNK 1024

seqgen_eval_options seqgen_eval_options_default(void)
{
    seqgen_eval_options opts = {.metrics = SEQGEN_EVAL_ALL, .given = 500,
                                .complete = seqgen_complete_options_default(), .batch_size = 64,
                                .limit = 0};
    seqgen_binarize_config binarize = SEQGEN_BINARIZE_CONFIG_DEFAULT;
    opts.binarize = binarize;
    return opts;
}

/* Sums over the images seen so far; turned into means at the end. */
typedef struct eval_sums {
    double mse, bce, nll;             /* loss sums: per pixel (mse, bce) and per image (nll) */
    double predicted;                 /* pixels the mse and bce sums are over */
    size_t wrong_pixels;              /* generated pixels differing from the truth */
    size_t kept, kept_truth, kept_blank;
    double distance, distance_truth;  /* Hamming distances to the nearest training image */
} eval_sums;

/* The chunk's buffers, allocated once per call. */
typedef struct eval_buffers {
    size_t *indices, *nearest;   /* [chunk] */
    uint32_t *distance;          /* [chunk] */
    float *truth, *completed;    /* [chunk][P] */
} eval_buffers;

static void free_buffers(eval_buffers *b)
{
    free(b->indices);
    free(b->nearest);
    free(b->distance);
    free(b->truth);
    free(b->completed);
}

static int alloc_buffers(eval_buffers *b, size_t chunk, size_t pixels)
{
    memset(b, 0, sizeof *b);
    b->indices = sg_malloc(chunk * sizeof *b->indices);
    b->nearest = sg_malloc(chunk * sizeof *b->nearest);
    b->distance = sg_malloc(chunk * sizeof *b->distance);
    b->truth = sg_malloc(chunk * pixels * sizeof *b->truth);
    b->completed = sg_malloc(chunk * pixels * sizeof *b->completed);
    if (b->indices && b->nearest && b->distance && b->truth && b->completed)
        return SEQGEN_OK;
    free_buffers(b);
    return sg_error(SEQGEN_ENOMEM, "out of memory for evaluating chunks of %zu images", chunk);
}

static int check_arguments(const seqgen_model *model, const seqgen_dataset *test,
                           const seqgen_dataset *train, const seqgen_eval_options *opts,
                           const seqgen_eval_results *results)
{
    if (!model || !test || !results)
        return sg_error(SEQGEN_EINVAL, "seqgen_evaluate_dataset: NULL %s",
                        !model ? "model" : !test ? "test set" : "results");
    if (opts->metrics == 0 || (opts->metrics & ~(unsigned)SEQGEN_EVAL_ALL))
        return sg_error(SEQGEN_EINVAL, "metrics must be a non-empty OR of SEQGEN_EVAL_* bits, "
                        "got %#x", opts->metrics);
    if ((opts->metrics & SEQGEN_EVAL_DIGIT) && !train)
        return sg_error(SEQGEN_EINVAL, "SEQGEN_EVAL_DIGIT needs the training set, got NULL");
    if (opts->batch_size < 1 || opts->batch_size > INT_MAX)
        return sg_error(SEQGEN_EINVAL, "batch_size must be in [1, %d], got %zu", INT_MAX,
                        opts->batch_size);
    const size_t P = seqgen_dataset_pixels(test);
    const int D = seqgen_model_get_config(model).units_per_step;
    if (P > INT_MAX || P % (size_t)D != 0)
        return sg_error(SEQGEN_EMISMATCH, "the model's %d pixels per step do not divide the "
                        "test images' %zu pixels", D, P);
    const size_t shortest = seqgen_model_get_config(model).start_step ? 1 : 2;
    if ((opts->metrics & SEQGEN_EVAL_LOSS) && P / D < shortest)
        return sg_error(SEQGEN_EINVAL, "the loss needs sequences of >= %zu steps, the images "
                        "have %zu", shortest, P / D);
    if (train && (opts->metrics & SEQGEN_EVAL_DIGIT) && seqgen_dataset_pixels(train) != P)
        return sg_error(SEQGEN_EMISMATCH, "training images have %zu pixels, test images %zu",
                        seqgen_dataset_pixels(train), P);
    if (opts->metrics & (SEQGEN_EVAL_COMPLETION | SEQGEN_EVAL_DIGIT)) {
        int status = sg_check_given((int)P, opts->given, D);
        if (!status)
            status = sg_check_complete_options(&opts->complete);
        return status;
    }
    return SEQGEN_OK;
}

/* Teacher-forced losses of `count` sequences (the chunk's truth), in batches: each sequence's
 * steps 0..T-2 predict steps 1..T-1 (after a start step, steps 0..T-1 are predicted). */
static int add_losses(seqgen_model *model, const seqgen_eval_options *opts, eval_buffers *buf,
                      size_t count, size_t pixels, eval_sums *sums)
{
    const size_t D = seqgen_model_get_config(model).units_per_step, T = pixels / D;
    for (size_t first = 0; first < count; first += opts->batch_size) {
        size_t n = count - first < opts->batch_size ? count - first : opts->batch_size;
        seqgen_batch batch = seqgen_batch_of_sequences(model, buf->truth + first * pixels, (int)n,
                                                       (int)T);
        seqgen_train_stats st;
        int status = seqgen_model_evaluate(model, &batch, SEQGEN_LOSS_BCE, NULL, &st);
        if (status)
            return status;
        const double predicted = (double)n * (double)batch.steps * (double)D;
        sums->mse += st.mse * predicted;
        sums->bce += st.bce * predicted;
        sums->predicted += predicted;
        sums->nll += st.nll_nats * (double)n;
    }
    return SEQGEN_OK;
}

/* How many of `count` images the 1-NN classifier (nearest image of `train`) labels as the test
 * images `indices`; adds their distances to *distance_sum. */
static int count_kept(seqgen_dataset *train, const seqgen_dataset *test, const float *images,
                      size_t count, eval_buffers *buf, size_t *kept, double *distance_sum)
{
    int status = seqgen_dataset_nearest(train, images, count, buf->nearest, buf->distance);
    if (status)
        return status;
    for (size_t i = 0; i < count; i++) {
        *kept += seqgen_dataset_label(train, buf->nearest[i]) ==
                 seqgen_dataset_label(test, buf->indices[i]);
        if (distance_sum)
            *distance_sum += buf->distance[i];
    }
    return SEQGEN_OK;
}

/* Completion metrics of the chunk: pixel error, and digit kept with its bounds. */
static int add_completions(const seqgen_model *model, const seqgen_dataset *test,
                           seqgen_dataset *train, const seqgen_eval_options *opts,
                           eval_buffers *buf, size_t first, size_t count, size_t pixels,
                           eval_sums *sums)
{
    const size_t K = opts->given;
    seqgen_complete_options copts = opts->complete;
    copts.first_stream += first; /* test image i draws from stream first_stream + i */
    int status = seqgen_complete(model, buf->truth, count, (int)pixels, (int)K, &copts,
                                 buf->completed, NULL);
    if (status)
        return status;
    for (size_t i = 0; i < count; i++)
        for (size_t p = K; p < pixels; p++)
            sums->wrong_pixels += buf->completed[i * pixels + p] != buf->truth[i * pixels + p];
    if (!(opts->metrics & SEQGEN_EVAL_DIGIT))
        return SEQGEN_OK;
    status = count_kept(train, test, buf->completed, count, buf, &sums->kept, &sums->distance);
    if (!status)
        status = count_kept(train, test, buf->truth, count, buf, &sums->kept_truth,
                            &sums->distance_truth);
    if (status)
        return status;
    /* the lower bound: given pixels only; the completion buffer is reused for the masked images */
    for (size_t i = 0; i < count; i++)
        memset(buf->completed + i * pixels + K, 0, (pixels - K) * sizeof(float));
    return count_kept(train, test, buf->completed, count, buf, &sums->kept_blank, NULL);
}

static void fill_results(const seqgen_eval_options *opts, size_t images, size_t pixels,
                         const eval_sums *s, seqgen_eval_results *r)
{
    const double n = (double)images;
    r->images = images;
    r->given = opts->given;
    r->mse = r->bce = r->nll_nats = r->pixel_error = NAN;
    r->digit_kept = r->digit_kept_truth = r->digit_kept_blank = NAN;
    r->nearest_distance = r->nearest_distance_truth = NAN;
    if (opts->metrics & SEQGEN_EVAL_LOSS) {
        r->mse = s->mse / s->predicted;
        r->bce = s->bce / s->predicted;
        r->nll_nats = s->nll / n;
    }
    if (opts->metrics & (SEQGEN_EVAL_COMPLETION | SEQGEN_EVAL_DIGIT))
        r->pixel_error = opts->given == (int)pixels ? 0.0
                                                    : (double)s->wrong_pixels /
                                                          (n * (double)(pixels - opts->given));
    if (opts->metrics & SEQGEN_EVAL_DIGIT) {
        r->digit_kept = (double)s->kept / n;
        r->digit_kept_truth = (double)s->kept_truth / n;
        r->digit_kept_blank = (double)s->kept_blank / n;
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
    int status = check_arguments(model, test, train, opts, results);
    if (status)
        return status;
    const size_t pixels = seqgen_dataset_pixels(test);
    size_t images = seqgen_dataset_count(test);
    if (opts->limit > 0 && opts->limit < images)
        images = opts->limit;
    const size_t chunk = images < SG_EVAL_CHUNK ? images : SG_EVAL_CHUNK;
    eval_buffers buf;
    status = alloc_buffers(&buf, chunk, pixels);
    if (status)
        return status;
    eval_sums sums = {0};
    for (size_t first = 0; first < images && !status; first += chunk) {
        const size_t count = images - first < chunk ? images - first : chunk;
        for (size_t i = 0; i < count; i++)
            buf.indices[i] = first + i;
        status = seqgen_dataset_sequences(test, buf.indices, count, &opts->binarize, 0, buf.truth);
        if (!status && (opts->metrics & SEQGEN_EVAL_LOSS))
            status = add_losses(model, opts, &buf, count, pixels, &sums);
        if (!status && (opts->metrics & (SEQGEN_EVAL_COMPLETION | SEQGEN_EVAL_DIGIT)))
            status = add_completions(model, test, train, opts, &buf, first, count, pixels, &sums);
    }
    free_buffers(&buf);
    if (status)
        return sg_error_prefix(status, "evaluation");
    fill_results(opts, images, pixels, &sums, results);
    return SEQGEN_OK;
}
