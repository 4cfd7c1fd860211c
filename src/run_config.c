/* A training run's setup (seqgen_run_config): its defaults, its limits, and the check that a
 * batch iterator is the one it describes. */
#include "run_config.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "complete.h"
#include "model.h"
#include "status.h"
#include "train.h"

seqgen_run_config seqgen_run_config_default(void)
{
    seqgen_run_config run;
    memset(&run, 0, sizeof run);
    seqgen_batch_config batches = SEQGEN_BATCH_CONFIG_DEFAULT;
    run.train = seqgen_train_options_default();
    run.batches = batches;
    run.eval = seqgen_eval_options_default();
    run.epochs = 10;
    run.data = SEQGEN_RUN_DATA_UNITS;
    run.text = seqgen_text_options_default();
    return run;
}

/* Fails with `status` unless lo <= v <= hi. */
static int in_range(int status, const char *field, uint64_t v, uint64_t lo, uint64_t hi)
{
    if (v >= lo && v <= hi)
        return SEQGEN_OK;
    return sg_error(status, "run config: %s is %llu, not in [%llu, %llu]", field,
                    (unsigned long long)v, (unsigned long long)lo, (unsigned long long)hi);
}

static int check_flag(int status, const char *field, int v)
{
    if (v == 0 || v == 1)
        return SEQGEN_OK;
    return sg_error(status, "run config: %s is %d, not 0 or 1", field, v);
}

static int check_binarize(int status, const char *prefix, const seqgen_binarize_config *b)
{
    char field[64];
    snprintf(field, sizeof field, "%s.mode", prefix);
    int s = (b->mode == SEQGEN_BINARIZE_THRESHOLD || b->mode == SEQGEN_BINARIZE_STOCHASTIC)
                ? SEQGEN_OK
                : sg_error(status, "run config: %s %d is not a seqgen_binarize_mode", field,
                           (int)b->mode);
    snprintf(field, sizeof field, "%s.resample_each_epoch", prefix);
    return s ? s : check_flag(status, field, b->resample_each_epoch);
}

static int check_batches(int status, const seqgen_batch_config *b)
{
    int s = in_range(status, "batches.batch_size", b->batch_size, 1, SG_RUN_MAX_COUNT);
    if (!s)
        s = in_range(status, "batches.units_per_step", b->units_per_step, 1,
                     SG_MODEL_MAX_DIM);
    if (!s)
        s = check_flag(status, "batches.shuffle", b->shuffle);
    if (!s)
        s = check_flag(status, "batches.drop_last", b->drop_last);
    return s ? s : check_binarize(status, "batches.binarize", &b->binarize);
}

static int check_eval(int status, const seqgen_eval_options *e)
{
    int s = in_range(status, "eval.metrics", e->metrics, 1, SEQGEN_EVAL_ALL);
    if (!s && e->given < 0 && e->given != SEQGEN_GIVEN_HALF)
        s = sg_error(status, "run config: eval.given is %d, neither in [0, %d] nor "
                     "SEQGEN_GIVEN_HALF", e->given, INT_MAX);
    if (!s && sg_check_complete_options(&e->complete) != SEQGEN_OK)
        s = sg_error_prefix(status, "run config: eval.complete");
    if (!s && !(isfinite(e->complete.temperature) && e->complete.temperature > 0.0))
        s = sg_error(status, "run config: eval.complete.temperature is %g, not finite and > 0",
                     e->complete.temperature); /* even when greedy: no meaningless values saved */
    if (!s)
        s = in_range(status, "eval.batch_size", e->batch_size, 1, INT_MAX);
    if (!s)
        s = in_range(status, "eval.limit", e->limit, 0, SG_RUN_MAX_COUNT);
    if (!s) /* a part of the test set is chosen per call (e.g. per process), not for the run */
        s = in_range(status, "eval.first", e->first, 0, 0);
    return s ? s : check_binarize(status, "eval.binarize", &e->binarize);
}

static int check_source(int status, const char *name, const char *source)
{
    const char *end = memchr(source, '\0', SEQGEN_RUN_SOURCE_MAX + 1);
    if (!end)
        return sg_error(status, "run config: %s is not a string of at most %d bytes", name,
                        SEQGEN_RUN_SOURCE_MAX);
    for (const char *p = source; p < end; p++)
        if (*p < 0x20 || *p > 0x7e)
            return sg_error(status, "run config: %s byte %d is 0x%02x, not printable ASCII",
                            name, (int)(p - source), (unsigned)(unsigned char)*p);
    return SEQGEN_OK;
}

/* The text reader's options, as seqgen_symbol_dataset_open_text() takes them, within what the
 * checkpoint stores (the counts in 32 bits, as the datasets'). */
static int check_text(int status, const seqgen_text_options *t)
{
    if (t->vocab)
        return sg_error(status, "run config: text.vocab is not NULL: a vocabulary is saved with "
                        "seqgen_checkpoint_save_with_vocab(), not in the run");
    int s = t->holdout_every == 1
                ? sg_error(status, "run config: text.holdout_every is 1, neither 0 nor in "
                           "[2, %llu]", (unsigned long long)SG_RUN_MAX_COUNT)
                : in_range(status, "text.holdout_every", t->holdout_every, 0, SG_RUN_MAX_COUNT);
    if (!s)
        s = in_range(status, "text.max_bytes", t->max_bytes, 1, UINT64_MAX);
    if (!s)
        s = in_range(status, "text.max_line_symbols", t->max_line_symbols, 1, SG_RUN_MAX_COUNT);
    return s ? s : in_range(status, "text.max_sequences", t->max_sequences, 1, SG_RUN_MAX_COUNT);
}

int sg_run_config_check(const seqgen_run_config *run, int status)
{
    int s = sg_check_train_options(&run->train, status, "run config: train.");
    if (!s) /* a slice is chosen per pass (e.g. per process), not for the run */
        s = in_range(status, "train.slices", (uint64_t)(int64_t)run->train.slices, 0, 0);
    if (!s)
        s = check_batches(status, &run->batches);
    if (!s)
        s = in_range(status, "train_sequences", run->train_sequences, 0, SG_RUN_MAX_COUNT);
    if (!s)
        s = check_eval(status, &run->eval);
    if (!s)
        s = check_source(status, "data_source", run->data_source);
    if (!s)
        s = check_source(status, "test_source", run->test_source);
    if (!s)
        s = in_range(status, "data", (uint64_t)run->data, SEQGEN_RUN_DATA_UNITS,
                     SEQGEN_RUN_DATA_TEXT);
    return s ? s : check_text(status, &run->text);
}

/* The first of the fields that must agree, or NULL. */
static const char *first_difference(const seqgen_batch_config *a, const seqgen_batch_config *b,
                                    uint64_t *va, uint64_t *vb)
{
    const struct {
        const char *name;
        uint64_t a, b;
    } fields[] = {
        {"units_per_step", a->units_per_step, b->units_per_step},
        {"batch_size", a->batch_size, b->batch_size},
        {"shuffle", (uint64_t)a->shuffle, (uint64_t)b->shuffle},
        {"seed", a->seed, b->seed},
        {"drop_last", (uint64_t)a->drop_last, (uint64_t)b->drop_last},
        {"binarize.mode", (uint64_t)a->binarize.mode, (uint64_t)b->binarize.mode},
        {"binarize.threshold", a->binarize.threshold, b->binarize.threshold},
        {"binarize.seed", a->binarize.seed, b->binarize.seed},
        {"binarize.resample_each_epoch", (uint64_t)a->binarize.resample_each_epoch,
         (uint64_t)b->binarize.resample_each_epoch},
    };
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
        if (fields[f].a != fields[f].b) {
            *va = fields[f].a, *vb = fields[f].b;
            return fields[f].name;
        }
    return NULL;
}

int sg_run_config_match_batches(const seqgen_run_config *run, const seqgen_batch_config *have,
                                uint64_t count, int symbols)
{
    static const char *const kinds[] = {"units", "symbols", "text"};
    const int want = run->data != SEQGEN_RUN_DATA_UNITS;
    if (symbols != want) /* run->data was checked: an index of kinds */
        return sg_error(SEQGEN_EMISMATCH, "a %s was given but the run's data is %s: its "
                        "iterator is a %s", symbols ? "seqgen_symbol_iter" : "seqgen_batch_iter",
                        kinds[run->data], want ? "seqgen_symbol_iter" : "seqgen_batch_iter");
    uint64_t saved = 0, given = 0;
    const char *field = first_difference(&run->batches, have, &saved, &given);
    if (!field && count != run->train_sequences)
        field = "count", saved = run->train_sequences, given = count;
    if (!field)
        return SEQGEN_OK;
    return sg_error(SEQGEN_EMISMATCH, "the %s iterator's %s is %llu but the run's is %llu%s",
                    symbols ? "symbol" : "batch", field, (unsigned long long)given,
                    (unsigned long long)saved,
                    strcmp(field, "count") == 0 ? " (train_sequences)" : "");
}
