/* Each checkpoint section's fields (docs/checkpoint-format.md): written from the model,
 * optimiser, schedule and batch iterator, and read back with every value range-checked and
 * every tensor checked against the configuration before it is stored. */
#include "checkpoint_sections.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dataset.h"
#include "model.h"
#include "optim.h"
#include "professor.h"
#include "run_config.h"
#include "vocab.h"

#define MAX_NDIM 8u
#define DTYPE_F32 1u
#define OUTPUT_SIGMOID 1u
#define OUTPUT_SOFTMAX 2u /* version 4 on */
#define OUTPUT_SIGMOID_AR 3u /* version 7 on: the linear autoregressive head */
#define OUTPUT_SIGMOID_MADE 4u /* version 7 on, M after the embedding: the MADE head */

/* ---- Tensors: shared by TENS (parameters) and MOMT (optimiser moments) ---------------------- */

/* PyTorch's shape of the model's tensor `index` (biases are 1-D, weights 2-D), from the model's
 * tensor table. */
static const char *tensor_shape(const seqgen_model *model, int index, uint32_t *ndim,
                                uint64_t dims[2])
{
    const sg_tensor *t = sg_model_tensor(model, index);
    dims[0] = (uint64_t)t->rows;
    dims[1] = (uint64_t)t->cols;
    *ndim = (uint32_t)t->ndim;
    return t->name;
}

static void put_tensor(sg_section_writer *w, uint32_t tag, const char *prefix,
                       const seqgen_model *model, int index, const float *buffer)
{
    uint32_t ndim;
    uint64_t dims[2];
    const char *name = tensor_shape(model, index, &ndim, dims);
    char full[SG_CKPT_MAX_NAME + 1];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    sg_writer_begin_section(w, tag, SG_CKPT_REQUIRED);
    sg_put_name(w, full);
    sg_put_u32(w, DTYPE_F32);
    sg_put_u32(w, ndim);
    for (uint32_t d = 0; d < ndim; d++)
        sg_put_u64(w, dims[d]);
    sg_put_f32s(w, buffer + sg_model_tensor(model, index)->offset, (size_t)(dims[0] * dims[1]));
    sg_writer_end_section(w);
}

typedef struct tensor_view {
    char name[SG_CKPT_MAX_NAME + 1];
    uint32_t ndim;
    uint64_t dims[MAX_NDIM];
    uint64_t count;
    const unsigned char *data;
} tensor_view;

/* Reads a tensor section's head and locates its data, checking sizes before anything else. */
static int read_tensor(const sg_section *section, tensor_view *t)
{
    sg_section_reader c;
    sg_reader_init(&c, section);
    sg_get_name(&c, t->name, "tensor name");
    uint32_t dtype = sg_get_u32(&c, "dtype");
    t->ndim = sg_get_u32(&c, "ndim");
    if (c.status)
        return c.status;
    if (dtype != DTYPE_F32)
        return sg_reader_fail(&c, SEQGEN_EFORMAT, "tensor '%s' has dtype %u, not 1 (f32)", t->name,
                              dtype);
    if (t->ndim < 1 || t->ndim > MAX_NDIM)
        return sg_reader_fail(&c, SEQGEN_EFORMAT, "tensor '%s' has %u dimensions, not 1 to %u",
                              t->name, t->ndim, MAX_NDIM);
    t->count = 1;
    for (uint32_t d = 0; d < t->ndim; d++) {
        t->dims[d] = sg_get_u64(&c, "dims");
        if (c.status == SEQGEN_OK && (t->dims[d] == 0 || t->dims[d] > UINT64_MAX / t->count))
            return sg_reader_fail(&c, SEQGEN_EOVERFLOW, "tensor '%s': dimension %u (%llu) is zero "
                                  "or overflows the element count", t->name, d,
                                  (unsigned long long)t->dims[d]);
        t->count *= t->dims[d];
    }
    if (c.status == SEQGEN_OK && t->count > (section->size - c.at) / 4)
        return sg_reader_fail(&c, SEQGEN_EOVERFLOW, "tensor '%s' claims %llu elements but its "
                              "section holds only %llu bytes of data", t->name,
                              (unsigned long long)t->count,
                              (unsigned long long)(section->size - c.at));
    t->data = sg_get_f32s(&c, t->count, "tensor data");
    return sg_reader_end(&c);
}

/* "[3, 4]"; shapes of more than 4 dimensions end with ", ...]". */
static void format_shape(char *text, size_t size, uint32_t ndim, const uint64_t *dims)
{
    size_t used = (size_t)snprintf(text, size, "[%llu", (unsigned long long)dims[0]);
    for (uint32_t d = 1; d < ndim && d < 4 && used < size; d++)
        used += (size_t)snprintf(text + used, size - used, ", %llu", (unsigned long long)dims[d]);
    if (used < size)
        snprintf(text + used, size - used, "%s]", ndim > 4 ? ", ..." : "");
}

/* Where a tensor goes: a buffer in the parameters' layout (the parameters or a moment), at the
 * place of the model's tensor called `name`; `seen` marks the tensors already stored. */
typedef struct tensor_dest {
    float *buffer;
    unsigned char *seen;
    const char *name;
    int nonnegative; /* values must be >= 0 (Adam's second moment) */
} tensor_dest;

/* Stores a read tensor after checking its name, shape and values. */
static int store_tensor(const sg_section *section, const tensor_view *t,
                        const seqgen_model *model, const tensor_dest *dest)
{
    sg_section_reader c;
    sg_reader_init(&c, section);
    unsigned char *seen = dest->seen;
    int index = sg_model_find_tensor(model, dest->name);
    if (index < 0)
        return sg_reader_fail(&c, SEQGEN_EFORMAT, "unknown tensor '%s'", t->name);
    if (seen[index])
        return sg_reader_fail(&c, SEQGEN_EFORMAT, "tensor '%s' appears twice", t->name);
    uint32_t ndim;
    uint64_t dims[2];
    tensor_shape(model, index, &ndim, dims);
    if (t->ndim != ndim || t->dims[0] != dims[0] || (ndim == 2 && t->dims[1] != dims[1])) {
        char have[64], need[64];
        format_shape(have, sizeof have, t->ndim, t->dims);
        format_shape(need, sizeof need, ndim, dims);
        return sg_reader_fail(&c, SEQGEN_EMISMATCH, "tensor '%s' has shape %s in the file but the "
                              "configuration needs %s", t->name, have, need);
    }
    const sg_tensor *table = sg_model_tensor(model, index);
    float *dst = dest->buffer + table->offset;
    sg_decode_f32s(t->data, t->count, dst);
    for (uint64_t i = 0; i < t->count; i++) {
        if (!isfinite(dst[i]))
            return sg_reader_fail(&c, SEQGEN_ENUMERIC, "tensor '%s' element %llu is %s", t->name,
                                  (unsigned long long)i, isnan(dst[i]) ? "NaN" : "infinite");
        if (dest->nonnegative && dst[i] < 0.0f)
            return sg_reader_fail(&c, SEQGEN_ERANGE, "tensor '%s' element %llu is negative (%g)",
                                  t->name, (unsigned long long)i, (double)dst[i]);
    }
    int row, col; /* a moment of a masked tensor is masked too */
    if (sg_tensor_breaks_structure(table, dst, &row, &col))
        return sg_reader_fail(&c, SEQGEN_EFORMAT, "tensor '%s' is %s but element [%d][%d] (%s) "
                              "is %g, not 0", t->name, sg_tensor_mask_name(table), row, col,
                              sg_tensor_mask_where(table),
                              (double)dst[(size_t)row * table->cols + col]);
    seen[index] = 1;
    return SEQGEN_OK;
}

/* Fails naming the first tensor of the model that no section provided. */
static int check_all_seen(const seqgen_model *model, const unsigned char *seen, const char *prefix)
{
    for (int i = 0; i < seqgen_model_tensor_count(model); i++)
        if (!seen[i]) {
            uint32_t ndim;
            uint64_t dims[2];
            const char *name = tensor_shape(model, i, &ndim, dims);
            return sg_error(SEQGEN_EFORMAT, "tensor '%s%s' is missing", prefix, name);
        }
    return SEQGEN_OK;
}

/* ---- Encoding ------------------------------------------------------------------------------- */

static void put_model(sg_section_writer *w, const seqgen_model *model)
{
    seqgen_model_config cfg = seqgen_model_get_config(model);
    sg_writer_begin_section(w, SG_TAG_MODEL, SG_CKPT_REQUIRED);
    sg_put_u32(w, (uint32_t)cfg.units_per_step);
    sg_put_u32(w, (uint32_t)cfg.hidden);
    sg_put_u32(w, (uint32_t)cfg.layers);
    sg_put_u32(w, cfg.vocab                                ? OUTPUT_SOFTMAX
                  : cfg.head == SEQGEN_HEAD_LINEAR_AR ? OUTPUT_SIGMOID_AR
                  : cfg.head == SEQGEN_HEAD_MADE_AR   ? OUTPUT_SIGMOID_MADE
                                                      : OUTPUT_SIGMOID);
    sg_put_u64(w, cfg.seed);
    sg_put_u32(w, (uint32_t)cfg.threads);
    sg_put_u32(w, (uint32_t)cfg.start_step);
    sg_put_u32(w, (uint32_t)cfg.steps);
    sg_put_u32(w, (uint32_t)cfg.vocab);
    sg_put_u32(w, (uint32_t)cfg.embedding);
    if (cfg.head == SEQGEN_HEAD_MADE_AR) /* only with output kind 4: other files unchanged */
        sg_put_u32(w, (uint32_t)cfg.head_hidden);
    sg_writer_end_section(w);
    const float *params = sg_model_params_const(model);
    for (int i = 0; i < seqgen_model_tensor_count(model); i++)
        put_tensor(w, SG_TAG_TENSOR, "", model, i, params);
}

static void put_rng(sg_section_writer *w, const char *name, const sg_rng *rng)
{
    sg_put_name(w, name);
    sg_put_u64(w, rng->state);
    sg_put_u64(w, rng->inc);
}

static void put_rngs(sg_section_writer *w, const seqgen_model *model)
{
    /* The accessors are not const-qualified; the generators are only read here. */
    seqgen_model *m = (seqgen_model *)model;
    sg_writer_begin_section(w, SG_TAG_RNGS, SG_CKPT_REQUIRED);
    sg_put_u32(w, 2);
    put_rng(w, "model.init", sg_model_init_rng(m));
    put_rng(w, "model.mix", sg_model_mix_rng(m));
    sg_writer_end_section(w);
}

static void put_optim(sg_section_writer *w, const seqgen_optim *optim, const seqgen_model *model)
{
    sg_optim_state st;
    sg_optim_get_state(optim, &st);
    const seqgen_optim_config *cfg = &st.cfg;
    sg_writer_begin_section(w, SG_TAG_OPTIM, SG_CKPT_REQUIRED);
    sg_put_u32(w, (uint32_t)cfg->kind);
    sg_put_u64(w, st.steps);
    const double fields[] = {cfg->lr, cfg->beta1, cfg->beta2, cfg->eps, cfg->weight_decay,
                             cfg->momentum, cfg->clip_norm};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
        sg_put_f64(w, fields[f]);
    sg_writer_end_section(w);
    const char *first = cfg->kind == SEQGEN_OPTIM_ADAM ? "exp_avg." : "momentum_buffer.";
    int has_first = cfg->kind == SEQGEN_OPTIM_ADAM || (cfg->momentum > 0.0 && st.steps > 0);
    for (int i = 0; has_first && i < seqgen_model_tensor_count(model); i++)
        put_tensor(w, SG_TAG_MOMENT, first, model, i, st.moment1);
    for (int i = 0; cfg->kind == SEQGEN_OPTIM_ADAM && i < seqgen_model_tensor_count(model); i++)
        put_tensor(w, SG_TAG_MOMENT, "exp_avg_sq.", model, i, st.moment2);
}

static void put_sched(sg_section_writer *w, const seqgen_sched *sched)
{
    seqgen_sched_config cfg;
    seqgen_sched_get_config(sched, &cfg);
    sg_writer_begin_section(w, SG_TAG_SCHED, SG_CKPT_REQUIRED);
    sg_put_u32(w, (uint32_t)cfg.kind);
    sg_put_u32(w, (uint32_t)cfg.unit);
    sg_put_f64(w, cfg.k);
    sg_put_f64(w, cfg.c);
    sg_put_f64(w, cfg.eps);
    sg_put_u64(w, cfg.warmup);
    sg_writer_end_section(w);
}

/* The position of the training state's iterator, of units or of symbols (the run's data says
 * which). */
static void put_iter(sg_section_writer *w, const seqgen_train_state *train)
{
    sg_writer_begin_section(w, SG_TAG_ITER, SG_CKPT_REQUIRED);
    if (train->batches) {
        sg_put_u64(w, seqgen_batch_iter_epoch(train->batches));
        sg_put_u64(w, seqgen_batch_iter_position(train->batches));
    } else {
        sg_put_u64(w, seqgen_symbol_iter_epoch(train->symbol_batches));
        sg_put_u64(w, seqgen_symbol_iter_position(train->symbol_batches));
    }
    sg_writer_end_section(w);
}

/* A run's source: a u16 length, then that many bytes (checked: at most SEQGEN_RUN_SOURCE_MAX). */
static void put_source(sg_section_writer *w, const char *source)
{
    size_t n = strlen(source);
    sg_put_u16(w, (uint16_t)n);
    sg_put_bytes(w, source, n);
}

static void put_binarize(sg_section_writer *w, const seqgen_binarize_config *b)
{
    sg_put_u32(w, (uint32_t)b->mode);
    sg_put_u32(w, b->threshold);
    sg_put_u64(w, b->seed);
    sg_put_u32(w, (uint32_t)b->resample_each_epoch);
}

/* The run's setup, field by field in the order of docs/checkpoint-format.md. */
static void put_run(sg_section_writer *w, const seqgen_run_config *run)
{
    const seqgen_batch_config *b = &run->batches;
    const seqgen_eval_options *e = &run->eval;
    sg_writer_begin_section(w, SG_TAG_RUN, SG_CKPT_REQUIRED);
    sg_put_u32(w, (uint32_t)run->train.loss);
    sg_put_f64(w, run->train.teacher_prob);
    sg_put_u32(w, (uint32_t)run->train.feedback);
    sg_put_u64(w, b->batch_size);
    sg_put_u64(w, b->units_per_step);
    sg_put_u32(w, (uint32_t)b->shuffle);
    sg_put_u64(w, b->seed);
    sg_put_u32(w, (uint32_t)b->drop_last);
    put_binarize(w, &b->binarize);
    sg_put_u64(w, run->train_sequences);
    sg_put_u64(w, run->epochs);
    sg_put_u32(w, e->metrics);
    sg_put_u32(w, (uint32_t)e->given); /* SEQGEN_GIVEN_HALF as 0xffffffff */
    sg_put_u32(w, (uint32_t)e->complete.decode);
    sg_put_f64(w, e->complete.temperature);
    sg_put_u64(w, e->complete.seed);
    sg_put_u64(w, e->complete.first_stream);
    sg_put_u64(w, e->batch_size);
    sg_put_u64(w, e->limit);
    put_binarize(w, &e->binarize);
    put_source(w, run->data_source);
    put_source(w, run->test_source);
    sg_put_u32(w, (uint32_t)run->data); /* version 6 on */
    sg_put_u64(w, run->text.holdout_every);
    sg_put_u64(w, run->text.max_bytes);
    sg_put_u64(w, run->text.max_line_symbols);
    sg_put_u64(w, run->text.max_sequences);
    sg_put_u64(w, run->data_checksum);
    sg_writer_end_section(w);
}

static void put_info(sg_section_writer *w)
{
    static const char text[] = "libseqgen " SEQGEN_VERSION_STRING;
    sg_writer_begin_section(w, SG_TAG_INFO, 0); /* optional: readers may skip it */
    sg_put_bytes(w, text, sizeof text - 1);
    sg_writer_end_section(w);
}

static void put_progress(sg_section_writer *w, const seqgen_train_state *train)
{
    sg_writer_begin_section(w, SG_TAG_PROGRESS, SG_CKPT_REQUIRED);
    sg_put_u64(w, train->epoch);
    sg_put_u64(w, train->iteration);
    sg_writer_end_section(w);
}

/* The vocabulary: its count of code points, then each, increasing. */
static void put_vocab(sg_section_writer *w, const seqgen_vocab *vocab)
{
    const size_t n = seqgen_vocab_size(vocab) - 1;
    const uint32_t *cps = sg_vocab_code_points(vocab);
    sg_writer_begin_section(w, SG_TAG_VOCAB, SG_CKPT_REQUIRED);
    sg_put_u32(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        sg_put_u32(w, cps[i]);
    sg_writer_end_section(w);
}

/* Professor forcing's trainer, field by field in the order of docs/checkpoint-format.md. */
static void put_professor(sg_section_writer *w, seqgen_professor *pf)
{
    const seqgen_professor_config cfg = seqgen_professor_get_config(pf);
    const seqgen_discriminator_config *d = &cfg.disc;
    sg_disc *disc = sg_professor_disc(pf);
    const sg_rng *rng = sg_professor_rng(pf);
    sg_optim_state st;
    sg_optim_get_state(sg_professor_optim(pf), &st);
    sg_writer_begin_section(w, SG_TAG_PROFESSOR, SG_CKPT_REQUIRED);
    sg_put_f64(w, cfg.lambda);
    sg_put_u32(w, (uint32_t)cfg.given);
    sg_put_f64(w, cfg.band_low);
    sg_put_f64(w, cfg.band_high);
    sg_put_u64(w, cfg.seed);
    sg_put_u32(w, (uint32_t)d->features);
    sg_put_u32(w, (uint32_t)d->hidden);
    sg_put_u32(w, (uint32_t)d->layers);
    sg_put_u32(w, (uint32_t)d->mlp_hidden);
    sg_put_u64(w, d->seed);
    sg_put_u64(w, rng->state);
    sg_put_u64(w, rng->inc);
    sg_put_u32(w, (uint32_t)st.cfg.kind);
    sg_put_u64(w, st.steps);
    const double fields[] = {st.cfg.lr, st.cfg.beta1, st.cfg.beta2, st.cfg.eps,
                             st.cfg.weight_decay, st.cfg.momentum, st.cfg.clip_norm};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
        sg_put_f64(w, fields[f]);
    sg_put_u64(w, st.size);
    sg_put_f32s(w, sg_disc_params(disc), st.size);
    sg_put_f32s(w, st.moment1, st.size);
    sg_put_f32s(w, st.moment2, st.size);
    sg_writer_end_section(w);
}

int sg_ckpt_encode(sg_section_writer *w, const seqgen_model *model,
                   const seqgen_train_state *train, const seqgen_vocab *vocab)
{
    const int V = seqgen_model_get_config(model).vocab;
    if (vocab && seqgen_vocab_size(vocab) != (size_t)V)
        return sg_error(SEQGEN_EMISMATCH, "a vocabulary of %zu symbols for a model of %s%d",
                        seqgen_vocab_size(vocab), V ? "vocab " : "binary units (vocab ", V);
    size_t params = seqgen_model_param_count(model);
    sg_optim_state optim = {.size = params};
    if (train && train->optim)
        sg_optim_get_state(train->optim, &optim);
    if (optim.size != params)
        return sg_error(SEQGEN_EINVAL, "the optimiser was made for a model of %zu parameters, "
                        "not this one's %zu", optim.size, params);
    int status = train ? sg_run_config_check(&train->run, SEQGEN_EINVAL) : SEQGEN_OK;
    const int D = seqgen_model_get_config(model).units_per_step;
    if (status == SEQGEN_OK && train && train->run.batches.units_per_step != (size_t)D)
        status = sg_error(SEQGEN_EMISMATCH, "the run's batches have %zu pixels per step, the "
                          "model reads %d", train->run.batches.units_per_step, D);
    if (status == SEQGEN_OK && train && train->run.data != SEQGEN_RUN_DATA_UNITS && !V)
        status = sg_error(SEQGEN_EMISMATCH, "the run's data is %s but the model is of binary "
                          "units (vocab 0)", train->run.data == SEQGEN_RUN_DATA_TEXT ? "text"
                                                                                   : "symbols");
    if (status == SEQGEN_OK && train && train->professor) {
        const seqgen_model_config m = seqgen_model_get_config(model);
        const seqgen_professor_config pc = seqgen_professor_get_config(train->professor);
        status = V ? sg_error(SEQGEN_EMISMATCH, "professor forcing's state for a categorical "
                              "model (vocab %d)", V)
                   : sg_professor_check_config(&pc, m.hidden + m.units_per_step);
    }
    if (status == SEQGEN_OK && train && train->batches && train->symbol_batches)
        status = sg_error(SEQGEN_EINVAL, "both a batch iterator and a symbol iterator: a run "
                          "has one (seqgen_train_state::batches or ::symbol_batches)");
    if (status == SEQGEN_OK && train && (train->batches || train->symbol_batches)) {
        seqgen_batch_config have;
        uint64_t count;
        if (train->batches)
            sg_batch_iter_describe(train->batches, &have, &count);
        else
            sg_symbol_iter_describe(train->symbol_batches, &have, &count);
        status = sg_run_config_match_batches(&train->run, &have, count, !train->batches);
    }
    if (status != SEQGEN_OK)
        return status;
    put_model(w, model);
    put_rngs(w, model);
    if (train) {
        if (train->optim)
            put_optim(w, train->optim, model);
        if (train->sched)
            put_sched(w, train->sched);
        if (train->batches || train->symbol_batches)
            put_iter(w, train);
        put_progress(w, train);
        put_run(w, &train->run);
        if (train->professor)
            put_professor(w, train->professor);
    }
    if (vocab)
        put_vocab(w, vocab);
    put_info(w);
    return sg_writer_finish(w);
}

/* ---- Decoding the small sections ------------------------------------------------------------ */

/* Prefixes the current detail with the section, for errors found by other modules' checks. */
static int section_error(const sg_section *section, int status)
{
    char tag[5], where[64];
    sg_tag_text(section->tag, tag);
    snprintf(where, sizeof where, "section '%s' (payload at byte %llu)", tag,
             (unsigned long long)section->offset);
    return sg_error_prefix(status, where);
}

static int decode_model(const sg_section *section, sg_ckpt_contents *out)
{
    sg_section_reader c;
    sg_reader_init(&c, section);
    uint32_t D = sg_get_u32(&c, "D"), H = sg_get_u32(&c, "H"), L = sg_get_u32(&c, "L");
    uint32_t output = sg_get_u32(&c, "output kind");
    uint64_t seed = sg_get_u64(&c, "seed");
    uint32_t threads = sg_get_u32(&c, "threads");
    uint32_t start_step = sg_get_u32(&c, "start_step");
    uint32_t steps = sg_get_u32(&c, "steps");
    uint32_t V = 0, E = 0; /* version 3: binary units */
    if (out->file->version >= 4) {
        V = sg_get_u32(&c, "vocab");
        E = sg_get_u32(&c, "embedding");
    }
    /* M follows output kind 4 (read in any version, so that an older one says the kind) */
    const uint32_t M = output == OUTPUT_SIGMOID_MADE ? sg_get_u32(&c, "head_hidden") : 0;
    const int made = output == OUTPUT_SIGMOID_MADE && out->file->version >= 7;
    if (sg_reader_end(&c))
        return c.status;
    if (D > INT_MAX || H > INT_MAX || L > INT_MAX || threads > INT_MAX || start_step > 1 ||
        steps > INT_MAX)
        return sg_reader_fail(&c, SEQGEN_ERANGE, "D = %u, H = %u, L = %u, threads = %u, "
                              "start_step = %u, steps = %u: out of range", D, H, L, threads,
                              start_step, steps);
    if (V > INT_MAX || E > INT_MAX)
        return sg_reader_fail(&c, SEQGEN_ERANGE, "vocab = %u, embedding = %u: out of range", V,
                              E);
    if (M > INT_MAX)
        return sg_reader_fail(&c, SEQGEN_ERANGE, "head_hidden = %u: out of range", M);
    const int ar = output == OUTPUT_SIGMOID_AR && out->file->version >= 7;
    seqgen_model_config cfg = {.units_per_step = (int)D, .hidden = (int)H, .layers = (int)L,
                               .seed = seed, .threads = (int)threads,
                               .start_step = (int)start_step, .steps = (int)steps,
                               .vocab = (int)V, .embedding = (int)E,
                               .head = ar     ? SEQGEN_HEAD_LINEAR_AR
                                       : made ? SEQGEN_HEAD_MADE_AR
                                              : SEQGEN_HEAD_INDEPENDENT,
                               .head_hidden = (int)M};
    if (!ar && !made && output != (V ? OUTPUT_SOFTMAX : OUTPUT_SIGMOID))
        return sg_reader_fail(&c, SEQGEN_ERANGE, "output kind %u does not go with vocab %u in "
                              "format version %u (1 = sigmoid with vocab 0, 2 = softmax with "
                              "vocab >= 2, 3 = sigmoid with the linear autoregressive head, "
                              "vocab 0, from version 7, 4 = the same with the MADE head, from "
                              "version 7)", output, V, out->file->version);
    if (sg_model_check_config(&cfg)) /* the model's own limits */
        return section_error(section, SEQGEN_ERANGE);
    uint64_t count = sg_model_param_count_for(&cfg);
    if (count > out->file->size / 4)
        return sg_reader_fail(&c, SEQGEN_EOVERFLOW, "D = %u, H = %u, L = %u needs %llu parameters "
                              "but the whole file is only %zu bytes", D, H, L,
                              (unsigned long long)count, out->file->size);
    out->model = cfg;
    out->param_count = count;
    return SEQGEN_OK;
}

static int decode_rngs(const sg_section *section, sg_ckpt_contents *out)
{
    sg_section_reader c;
    sg_reader_init(&c, section);
    uint32_t count = sg_get_u32(&c, "generator count");
    int has_mix = 0;
    for (uint32_t g = 0; g < count && c.status == SEQGEN_OK; g++) {
        char name[SG_CKPT_MAX_NAME + 1];
        sg_get_name(&c, name, "generator name");
        sg_rng rng;
        rng.state = sg_get_u64(&c, "generator state");
        rng.inc = sg_get_u64(&c, "generator increment");
        if (c.status)
            break;
        if (!(rng.inc & 1))
            return sg_reader_fail(&c, SEQGEN_ERANGE, "generator '%s' has an even increment", name);
        int *seen = strcmp(name, "model.mix") == 0    ? &has_mix
                    : strcmp(name, "model.init") == 0 ? &out->has_init_rng
                                                      : NULL;
        if (!seen)
            return sg_reader_fail(&c, SEQGEN_EFORMAT, "unknown generator '%s'", name);
        if (*seen)
            return sg_reader_fail(&c, SEQGEN_EFORMAT, "generator '%s' appears twice", name);
        *seen = 1;
        *(seen == &has_mix ? &out->mix_rng : &out->init_rng) = rng;
    }
    if (sg_reader_end(&c))
        return c.status;
    if (!has_mix)
        return sg_reader_fail(&c, SEQGEN_EFORMAT, "generator 'model.mix' is missing");
    out->has_rngs = 1;
    return SEQGEN_OK;
}

/* A u32 that must be at most `max` (an enumeration, a flag, a threshold). */
static int get_small(sg_section_reader *c, const char *field, uint32_t max)
{
    uint32_t v = sg_get_u32(c, field);
    if (c->status == SEQGEN_OK && v > max)
        sg_reader_fail(c, SEQGEN_ERANGE, "%s is %u, not in [0, %u]", field, v, max);
    return c->status == SEQGEN_OK ? (int)v : 0;
}

/* A u64 count that must be at most SG_RUN_MAX_COUNT (so it fits a size_t anywhere). */
static uint64_t get_count(sg_section_reader *c, const char *field)
{
    uint64_t v = sg_get_u64(c, field);
    if (c->status == SEQGEN_OK && v > SG_RUN_MAX_COUNT)
        sg_reader_fail(c, SEQGEN_ERANGE, "%s is %llu, not in [0, %llu]", field,
                       (unsigned long long)v, (unsigned long long)SG_RUN_MAX_COUNT);
    return c->status == SEQGEN_OK ? v : 0;
}

/* The end of a configuration section: the payload consumed exactly, then the owning module's
 * check of the values (run only on values fully read), its detail prefixed by the section. */
typedef int (*config_check)(const void *cfg);
static int check_optim(const void *cfg) { return sg_optim_check_config(cfg); }
static int check_sched(const void *cfg) { return sg_sched_config_check(cfg); }

static int end_config_section(sg_section_reader *c, config_check check, const void *cfg,
                              int *present)
{
    if (sg_reader_end(c))
        return c->status;
    if (check(cfg))
        return section_error(c->section, SEQGEN_ERANGE);
    *present = 1;
    return SEQGEN_OK;
}

static int decode_optim(const sg_section *section, sg_ckpt_contents *out)
{
    sg_section_reader c;
    sg_reader_init(&c, section);
    seqgen_optim_config *cfg = &out->optim;
    cfg->kind = (seqgen_optim_kind)get_small(&c, "kind", SEQGEN_OPTIM_SGD);
    out->optim_steps = sg_get_u64(&c, "step");
    cfg->lr = sg_get_f64(&c, "lr");
    cfg->beta1 = sg_get_f64(&c, "beta1");
    cfg->beta2 = sg_get_f64(&c, "beta2");
    cfg->eps = sg_get_f64(&c, "eps");
    cfg->weight_decay = sg_get_f64(&c, "weight_decay");
    cfg->momentum = sg_get_f64(&c, "momentum");
    cfg->clip_norm = sg_get_f64(&c, "clip_norm");
    return end_config_section(&c, check_optim, cfg, &out->has_optim);
}

static int decode_sched(const sg_section *section, sg_ckpt_contents *out)
{
    sg_section_reader c;
    sg_reader_init(&c, section);
    seqgen_sched_config *cfg = &out->sched;
    cfg->kind = (seqgen_sched_kind)get_small(&c, "kind", SEQGEN_SCHED_INVERSE_SIGMOID);
    cfg->unit = (seqgen_sched_unit)get_small(&c, "unit", SEQGEN_SCHED_PER_EPOCH);
    cfg->k = sg_get_f64(&c, "k");
    cfg->c = sg_get_f64(&c, "c");
    cfg->eps = sg_get_f64(&c, "eps");
    cfg->warmup = sg_get_u64(&c, "warmup");
    return end_config_section(&c, check_sched, cfg, &out->has_sched);
}

/* ITER and PROG: two u64 counters, named for the messages. */
static int decode_counters(const sg_section *section, const char *names[2], uint64_t *first,
                           uint64_t *second, int *present)
{
    sg_section_reader c;
    sg_reader_init(&c, section);
    *first = sg_get_u64(&c, names[0]);
    *second = sg_get_u64(&c, names[1]);
    if (sg_reader_end(&c))
        return c.status;
    *present = 1;
    return SEQGEN_OK;
}

static int decode_iter(const sg_section *section, sg_ckpt_contents *out)
{
    const char *names[2] = {"epoch", "position"};
    return decode_counters(section, names, &out->iter_epoch, &out->iter_position, &out->has_iter);
}

static int decode_progress(const sg_section *section, sg_ckpt_contents *out)
{
    const char *names[2] = {"epoch", "iteration"};
    return decode_counters(section, names, &out->epoch, &out->iteration, &out->has_progress);
}

/* A source written by put_source into `out` (SEQGEN_RUN_SOURCE_MAX + 1 bytes), zero-terminated;
 * its characters are checked with the rest of the run. */
static void get_source(sg_section_reader *c, char *out, const char *what)
{
    uint16_t n = sg_get_u16(c, what);
    if (c->status == SEQGEN_OK && n > SEQGEN_RUN_SOURCE_MAX) {
        sg_reader_fail(c, SEQGEN_ERANGE, "%s is %u bytes, more than %d", what, n,
                       SEQGEN_RUN_SOURCE_MAX);
        return;
    }
    const unsigned char *bytes = sg_get_bytes(c, n, what);
    if (c->status == SEQGEN_OK) {
        memcpy(out, bytes, n);
        out[n] = '\0';
    }
}

static void get_binarize(sg_section_reader *c, seqgen_binarize_config *b, const char *what)
{
    char field[64];
    snprintf(field, sizeof field, "%s.mode", what);
    b->mode = (seqgen_binarize_mode)get_small(c, field, SEQGEN_BINARIZE_STOCHASTIC);
    snprintf(field, sizeof field, "%s.threshold", what);
    b->threshold = (uint8_t)get_small(c, field, 255);
    snprintf(field, sizeof field, "%s.seed", what);
    b->seed = sg_get_u64(c, field);
    snprintf(field, sizeof field, "%s.resample_each_epoch", what);
    b->resample_each_epoch = get_small(c, field, 1);
}

static int decode_run(const sg_section *section, sg_ckpt_contents *out)
{
    sg_section_reader c;
    sg_reader_init(&c, section);
    seqgen_run_config run = seqgen_run_config_default();
    seqgen_batch_config *b = &run.batches;
    seqgen_eval_options *e = &run.eval;
    run.train.loss = (seqgen_loss)get_small(&c, "train.loss", SEQGEN_LOSS_CE);
    run.train.teacher_prob = sg_get_f64(&c, "train.teacher_prob");
    run.train.feedback = (seqgen_feedback)get_small(&c, "train.feedback", SEQGEN_FEEDBACK_PROB);
    b->batch_size = (size_t)sg_get_u64(&c, "batches.batch_size");
    b->units_per_step = (size_t)sg_get_u64(&c, "batches.units_per_step");
    b->shuffle = get_small(&c, "batches.shuffle", 1);
    b->seed = sg_get_u64(&c, "batches.seed");
    b->drop_last = get_small(&c, "batches.drop_last", 1);
    get_binarize(&c, &b->binarize, "batches.binarize");
    run.train_sequences = sg_get_u64(&c, "train_sequences");
    run.epochs = sg_get_u64(&c, "epochs");
    e->metrics = (unsigned)get_small(&c, "eval.metrics", SEQGEN_EVAL_ALL);
    uint32_t given = sg_get_u32(&c, "eval.given");
    if (c.status == SEQGEN_OK && given > INT_MAX && given != (uint32_t)SEQGEN_GIVEN_HALF)
        return sg_reader_fail(&c, SEQGEN_ERANGE, "eval.given is %u, neither in [0, %d] nor "
                              "0xffffffff (half)", given, INT_MAX);
    e->given = given > INT_MAX ? SEQGEN_GIVEN_HALF : (int)given;
    e->complete.decode = (seqgen_decode)get_small(&c, "eval.decode", SEQGEN_DECODE_SAMPLE);
    e->complete.temperature = sg_get_f64(&c, "eval.temperature");
    e->complete.seed = sg_get_u64(&c, "eval.seed");
    e->complete.first_stream = sg_get_u64(&c, "eval.first_stream");
    e->batch_size = (size_t)sg_get_u64(&c, "eval.batch_size");
    e->limit = (size_t)sg_get_u64(&c, "eval.limit");
    get_binarize(&c, &e->binarize, "eval.binarize");
    get_source(&c, run.data_source, "data_source");
    get_source(&c, run.test_source, "test_source");
    if (out->file->version >= 6) { /* before: units, the default text options */
        run.data = (seqgen_run_data)get_small(&c, "data", SEQGEN_RUN_DATA_TEXT);
        run.text.holdout_every = (size_t)get_count(&c, "text.holdout_every");
        run.text.max_bytes = sg_get_u64(&c, "text.max_bytes");
        run.text.max_line_symbols = (size_t)get_count(&c, "text.max_line_symbols");
        run.text.max_sequences = (size_t)get_count(&c, "text.max_sequences");
        run.data_checksum = sg_get_u64(&c, "data_checksum");
    }
    if (sg_reader_end(&c))
        return c.status;
    if (sg_run_config_check(&run, SEQGEN_ERANGE) != SEQGEN_OK)
        return section_error(section, SEQGEN_ERANGE);
    out->run = run;
    out->has_run = 1;
    return SEQGEN_OK;
}

/* The vocabulary's code points: 1 to SEQGEN_VOCAB_MAX - 1 of them, each a symbol (a scalar
 * value, not NUL or a line end) above the one before; read again by sg_ckpt_build_vocab(). */
static int decode_vocab(const sg_section *section, sg_ckpt_contents *out)
{
    sg_section_reader c;
    sg_reader_init(&c, section);
    uint32_t n = sg_get_u32(&c, "count");
    if (c.status == SEQGEN_OK && (n < 1 || n > SEQGEN_VOCAB_MAX - 1))
        return sg_reader_fail(&c, SEQGEN_ERANGE, "count %u of code points is not in [1, %d]", n,
                              SEQGEN_VOCAB_MAX - 1);
    const unsigned char *p = sg_get_bytes(&c, (uint64_t)n * 4, "code points");
    if (sg_reader_end(&c))
        return c.status;
    uint32_t previous = 0;
    for (uint32_t i = 0; i < n; i++, p += 4) {
        uint32_t cp = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                      (uint32_t)p[3] << 24;
        if (!sg_vocab_allowed(cp) || (i > 0 && cp <= previous))
            return sg_reader_fail(&c, SEQGEN_ERANGE, "code point %u is 0x%X: %s", i,
                                  (unsigned)cp, !sg_vocab_allowed(cp)
                                      ? "not a symbol (NUL, a line end, a surrogate or above "
                                        "U+10FFFF)"
                                      : "not above the one before it");
        previous = cp;
    }
    out->vocab = section;
    out->vocab_count = n;
    return SEQGEN_OK;
}

/* PFDC: professor forcing's settings, sampling generator, discriminator and its optimiser; the
 * discriminator's parameter count and the features are checked against the model when built. */
static int decode_professor(const sg_section *section, sg_ckpt_contents *out)
{
    sg_section_reader c;
    sg_reader_init(&c, section);
    if (out->file->version < 7)
        return sg_reader_fail(&c, SEQGEN_EFORMAT, "professor forcing's state in a file of format "
                              "%u (version 7 on)", out->file->version);
    seqgen_professor_config *cfg = &out->professor;
    cfg->lambda = sg_get_f64(&c, "lambda");
    const uint32_t given = sg_get_u32(&c, "given");
    cfg->band_low = sg_get_f64(&c, "band_low");
    cfg->band_high = sg_get_f64(&c, "band_high");
    cfg->seed = sg_get_u64(&c, "seed");
    const uint32_t dims[4] = {sg_get_u32(&c, "features"), sg_get_u32(&c, "hidden"),
                              sg_get_u32(&c, "layers"), sg_get_u32(&c, "mlp_hidden")};
    cfg->disc.seed = sg_get_u64(&c, "discriminator seed");
    out->professor_rng.state = sg_get_u64(&c, "generator state");
    out->professor_rng.inc = sg_get_u64(&c, "generator increment");
    seqgen_optim_config *opt = &cfg->disc_optim;
    opt->kind = (seqgen_optim_kind)get_small(&c, "optimiser kind", SEQGEN_OPTIM_SGD);
    out->professor_optim_steps = sg_get_u64(&c, "optimiser step");
    opt->lr = sg_get_f64(&c, "lr");
    opt->beta1 = sg_get_f64(&c, "beta1");
    opt->beta2 = sg_get_f64(&c, "beta2");
    opt->eps = sg_get_f64(&c, "eps");
    opt->weight_decay = sg_get_f64(&c, "weight_decay");
    opt->momentum = sg_get_f64(&c, "momentum");
    opt->clip_norm = sg_get_f64(&c, "clip_norm");
    const uint64_t P = sg_get_u64(&c, "parameter count");
    if (c.status == SEQGEN_OK && (P == 0 || P > out->file->size / 12))
        return sg_reader_fail(&c, SEQGEN_EOVERFLOW, "parameter count %llu: zero, or more than "
                              "the file holds", (unsigned long long)P);
    const unsigned char *floats = sg_get_f32s(&c, 3 * P, "discriminator tensors");
    if (sg_reader_end(&c))
        return c.status;
    if (given > INT_MAX || dims[0] > INT_MAX || dims[1] > INT_MAX || dims[2] > INT_MAX ||
        dims[3] > INT_MAX)
        return sg_reader_fail(&c, SEQGEN_ERANGE, "given %u, features %u, hidden %u, layers %u, "
                              "mlp_hidden %u: out of range", given, dims[0], dims[1], dims[2],
                              dims[3]);
    cfg->given = (int)given;
    cfg->disc.features = (int)dims[0], cfg->disc.hidden = (int)dims[1];
    cfg->disc.layers = (int)dims[2], cfg->disc.mlp_hidden = (int)dims[3];
    if (!(out->professor_rng.inc & 1))
        return sg_reader_fail(&c, SEQGEN_ERANGE, "the sampling generator has an even increment");
    if (sg_professor_check_config(cfg, 0))
        return section_error(section, SEQGEN_ERANGE);
    static const char *const what[3] = {"parameter", "first moment", "second moment"};
    for (uint64_t i = 0; i < 3 * P; i++) {
        float v;
        sg_decode_f32s(floats + 4 * i, 1, &v);
        if (!isfinite(v) || (i >= 2 * P && v < 0.0f))
            return sg_reader_fail(&c, SEQGEN_ERANGE, "discriminator %s %llu is %g", what[i / P],
                                  (unsigned long long)(i % P), v);
    }
    out->professor_params = P;
    out->professor_floats = floats;
    out->has_professor = 1;
    return SEQGEN_OK;
}

typedef int (*section_decoder)(const sg_section *, sg_ckpt_contents *);

/* The sections that appear at most once, with their decoders (MODL exactly once). */
static const struct {
    uint32_t tag;
    section_decoder decode;
} single_sections[] = {
    {SG_TAG_MODEL, decode_model},  {SG_TAG_RNGS, decode_rngs}, {SG_TAG_OPTIM, decode_optim},
    {SG_TAG_SCHED, decode_sched},  {SG_TAG_ITER, decode_iter}, {SG_TAG_PROGRESS, decode_progress},
    {SG_TAG_RUN, decode_run},      {SG_TAG_VOCAB, decode_vocab}, {SG_TAG_INFO, NULL},
    {SG_TAG_PROFESSOR, decode_professor},
};
#define SINGLE_COUNT (sizeof single_sections / sizeof single_sections[0])

/* Checks the tags: known singletons at most once, MODL once, unknown required ones refused. */
static int check_tags(const sg_section_file *file, int seen[SINGLE_COUNT], int *moments)
{
    for (uint32_t s = 0; s < file->count; s++) {
        const sg_section *section = &file->sections[s];
        char tag[5];
        sg_tag_text(section->tag, tag);
        size_t k = 0;
        while (k < SINGLE_COUNT && single_sections[k].tag != section->tag)
            k++;
        if (k < SINGLE_COUNT && seen[k]++)
            return sg_error(SEQGEN_EFORMAT, "section '%s' appears twice", tag);
        *moments += section->tag == SG_TAG_MOMENT;
        int known = k < SINGLE_COUNT || section->tag == SG_TAG_TENSOR ||
                    section->tag == SG_TAG_MOMENT;
        if (!known && (section->flags & SG_CKPT_REQUIRED))
            return sg_error(SEQGEN_EVERSION, "section '%s' at byte %llu is marked required but "
                            "this version of libseqgen does not know it", tag,
                            (unsigned long long)(section->offset - SG_CKPT_SECTION_HEAD));
    }
    if (!seen[0])
        return sg_error(SEQGEN_EFORMAT, "no 'MODL' section: the file holds no model");
    return SEQGEN_OK;
}

/* The sections of the training state come together: PROG and RUNC both or neither; MOMT only
 * with OPTM; OPTM, SCHD and ITER only with PROG; the run's D is the model's; ITER's position
 * within the run's images. */
static int check_training_sections(const sg_ckpt_contents *c, int moments)
{
    if (moments && !c->has_optim)
        return sg_error(SEQGEN_EFORMAT, "'MOMT' sections without an 'OPTM' section");
    if (c->has_progress != c->has_run)
        return sg_error(SEQGEN_EFORMAT, "'%s' without '%s': a training checkpoint holds both "
                        "its progress and its run's setup", c->has_run ? "RUNC" : "PROG",
                        c->has_run ? "PROG" : "RUNC");
    if ((c->has_optim || c->has_sched || c->has_iter || c->has_professor) && !c->has_progress)
        return sg_error(SEQGEN_EFORMAT, "'%s' without 'PROG': training state in a model "
                        "checkpoint", c->has_optim ? "OPTM" : c->has_sched ? "SCHD"
                                      : c->has_iter ? "ITER" : "PFDC");
    if (c->has_professor && (c->model.vocab || c->professor.disc.features !=
                                                   c->model.hidden + c->model.units_per_step))
        return sg_error(SEQGEN_EMISMATCH, "section 'PFDC': a discriminator of %d features for a "
                        "model of H + D = %d%s", c->professor.disc.features,
                        c->model.hidden + c->model.units_per_step,
                        c->model.vocab ? " (of symbols: professor forcing trains units)" : "");
    if (c->has_run && c->run.data != SEQGEN_RUN_DATA_UNITS && !c->model.vocab)
        return sg_error(SEQGEN_EMISMATCH, "section 'RUNC': data of %s for a model of binary "
                        "units", c->run.data == SEQGEN_RUN_DATA_TEXT ? "text" : "symbols");
    if (c->has_run && c->run.batches.units_per_step != (size_t)c->model.units_per_step)
        return sg_error(SEQGEN_EMISMATCH, "section 'RUNC': batches of %zu units per step for a "
                        "model that reads %d", c->run.batches.units_per_step,
                        c->model.units_per_step);
    if (c->vocab && (uint64_t)c->vocab_count + 1 != (uint64_t)c->model.vocab)
        return sg_error(SEQGEN_EMISMATCH, "section 'VOCB': a vocabulary of %llu symbols for a "
                        "model of %s%d", (unsigned long long)c->vocab_count + 1,
                        c->model.vocab ? "vocab " : "binary units (vocab ", c->model.vocab);
    if (c->has_iter && c->iter_position > c->run.train_sequences)
        return sg_error(SEQGEN_ERANGE, "section 'ITER': position %llu is beyond the run's %llu "
                        "training sequences", (unsigned long long)c->iter_position,
                        (unsigned long long)c->run.train_sequences);
    return SEQGEN_OK;
}

int sg_ckpt_decode(const sg_section_file *file, sg_ckpt_contents *contents)
{
    sg_ckpt_contents out;
    memset(&out, 0, sizeof out);
    out.file = file;
    int seen[SINGLE_COUNT] = {0}, moments = 0;
    int status = check_tags(file, seen, &moments);
    for (uint32_t s = 0; status == SEQGEN_OK && s < file->count; s++)
        for (size_t k = 0; k < SINGLE_COUNT; k++)
            if (single_sections[k].tag == file->sections[s].tag && single_sections[k].decode)
                status = single_sections[k].decode(&file->sections[s], &out);
    if (status == SEQGEN_OK)
        status = check_training_sections(&out, moments);
    if (status == SEQGEN_OK)
        *contents = out;
    return status;
}

/* ---- Building handles from the tensors ------------------------------------------------------ */

/* Chooses the destination of a tensor from its name; 0 if it belongs nowhere. */
typedef int (*tensor_target)(const tensor_view *t, void *ctx, tensor_dest *dest);

/* Stores every section with `tag` where `target` says. */
static int store_tensors(const sg_section_file *file, uint32_t tag, const seqgen_model *model,
                         tensor_target target, void *ctx)
{
    for (uint32_t s = 0; s < file->count; s++) {
        const sg_section *section = &file->sections[s];
        if (section->tag != tag)
            continue;
        tensor_view t;
        int status = read_tensor(section, &t);
        if (status)
            return status;
        tensor_dest dest = {NULL, NULL, t.name, 0};
        if (!target(&t, ctx, &dest)) {
            sg_section_reader c;
            sg_reader_init(&c, section);
            return sg_reader_fail(&c, SEQGEN_EFORMAT, "tensor '%s' does not belong here", t.name);
        }
        if ((status = store_tensor(section, &t, model, &dest)))
            return status;
    }
    return SEQGEN_OK;
}

typedef struct params_target {
    float *params;
    unsigned char *seen;
} params_target;

static int target_params(const tensor_view *t, void *ctx, tensor_dest *dest)
{
    (void)t;
    params_target *p = ctx;
    dest->buffer = p->params;
    dest->seen = p->seen;
    return 1;
}

int sg_ckpt_build_model(const sg_ckpt_contents *contents, seqgen_model **out)
{
    seqgen_model *model = NULL;
    const sg_section *modl = NULL;
    for (uint32_t s = 0; !modl; s++)
        if (contents->file->sections[s].tag == SG_TAG_MODEL)
            modl = &contents->file->sections[s];
    int status = seqgen_model_create(&model, &contents->model);
    if (status)
        return section_error(modl, status);
    params_target target = {sg_model_params_for_write(model),
                            sg_calloc((size_t)seqgen_model_tensor_count(model), 1)};
    if (!target.seen)
        status = sg_error(SEQGEN_ENOMEM, "out of memory");
    if (status == SEQGEN_OK)
        status = store_tensors(contents->file, SG_TAG_TENSOR, model, target_params, &target);
    if (status == SEQGEN_OK)
        status = check_all_seen(model, target.seen, "");
    free(target.seen);
    if (status) {
        seqgen_model_free(model);
        return status;
    }
    if (contents->has_rngs)
        *sg_model_mix_rng(model) = contents->mix_rng;
    if (contents->has_init_rng)
        *sg_model_init_rng(model) = contents->init_rng;
    *out = model;
    return SEQGEN_OK;
}

/* The moments of an optimiser: which prefix goes to which buffer. */
typedef struct moments_target {
    seqgen_optim_kind kind;
    float *first, *second;
    unsigned char *seen_first, *seen_second;
} moments_target;

/* "exp_avg.weight_hh_l0" goes to Adam's first moment at weight_hh_l0, and so on. */
static int target_moment(const tensor_view *t, void *ctx, tensor_dest *dest)
{
    moments_target *m = ctx;
    const char *dot = strchr(t->name, '.');
    if (!dot)
        return 0;
    size_t n = (size_t)(dot - t->name);
    dest->name = dot + 1;
    int adam = m->kind == SEQGEN_OPTIM_ADAM;
    if (adam ? n == 7 && strncmp(t->name, "exp_avg", 7) == 0
             : n == 15 && strncmp(t->name, "momentum_buffer", 15) == 0) {
        dest->buffer = m->first;
        dest->seen = m->seen_first;
        return 1;
    }
    if (adam && n == 10 && strncmp(t->name, "exp_avg_sq", 10) == 0) {
        dest->buffer = m->second;
        dest->seen = m->seen_second;
        dest->nonnegative = 1;
        return 1;
    }
    return 0;
}

/* Which moments the file must hold for these settings (see put_optim). */
static int check_moments(const sg_ckpt_contents *contents, const seqgen_model *model,
                         const moments_target *m)
{
    const seqgen_optim_config *cfg = &contents->optim;
    if (cfg->kind == SEQGEN_OPTIM_ADAM) {
        int status = check_all_seen(model, m->seen_first, "exp_avg.");
        return status ? status : check_all_seen(model, m->seen_second, "exp_avg_sq.");
    }
    if (cfg->momentum > 0.0 && contents->optim_steps > 0)
        return check_all_seen(model, m->seen_first, "momentum_buffer.");
    for (int i = 0; i < seqgen_model_tensor_count(model); i++)
        if (m->seen_first[i])
            return sg_error(SEQGEN_EFORMAT, "momentum buffers saved for an SGD optimiser "
                            "that has none (momentum 0 or no step taken)");
    return SEQGEN_OK;
}

int sg_ckpt_build_optim(const sg_ckpt_contents *contents, const seqgen_model *model,
                        seqgen_optim **out)
{
    seqgen_optim *optim = NULL;
    int status = seqgen_optim_create(&optim, model, &contents->optim);
    if (status)
        return status;
    size_t n = seqgen_model_param_count(model), tensors = (size_t)seqgen_model_tensor_count(model);
    float *moments = sg_calloc(2 * n, sizeof *moments); /* zero: what the file may leave out */
    unsigned char *seen = sg_calloc(2 * tensors, 1);
    moments_target target = {contents->optim.kind, moments, moments + n, seen, seen + tensors};
    status = seen && moments
                 ? store_tensors(contents->file, SG_TAG_MOMENT, model, target_moment, &target)
                 : sg_error(SEQGEN_ENOMEM, "out of memory");
    if (status == SEQGEN_OK)
        status = check_moments(contents, model, &target);
    sg_optim_state state = {contents->optim, contents->optim_steps, n, moments, moments + n};
    if (status == SEQGEN_OK)
        status = sg_optim_restore(optim, &state);
    free(seen);
    free(moments);
    if (status) {
        seqgen_optim_free(optim);
        return status;
    }
    *out = optim;
    return SEQGEN_OK;
}

int sg_ckpt_build_professor(const sg_ckpt_contents *contents, const seqgen_model *model,
                            seqgen_professor **out)
{
    seqgen_professor *pf = NULL;
    int status = seqgen_professor_create(&pf, model, &contents->professor);
    if (status)
        return status;
    const size_t P = seqgen_discriminator_param_count(sg_professor_disc(pf));
    float *moments = NULL;
    if (P != contents->professor_params)
        status = sg_error(SEQGEN_EFORMAT, "section 'PFDC': %llu discriminator parameters, its "
                          "shape has %zu", (unsigned long long)contents->professor_params, P);
    else if (!(moments = sg_malloc(2 * P * sizeof *moments)))
        status = sg_error(SEQGEN_ENOMEM, "out of memory");
    if (status == SEQGEN_OK) {
        sg_decode_f32s(contents->professor_floats, P, sg_disc_params(sg_professor_disc(pf)));
        sg_decode_f32s(contents->professor_floats + 4 * P, 2 * P, moments);
        sg_optim_state state = {contents->professor.disc_optim, contents->professor_optim_steps,
                                P, moments, moments + P};
        status = sg_optim_restore(sg_professor_optim(pf), &state);
    }
    free(moments);
    if (status) {
        seqgen_professor_free(pf);
        return status;
    }
    *sg_professor_rng(pf) = contents->professor_rng;
    *out = pf;
    return SEQGEN_OK;
}

int sg_ckpt_build_vocab(const sg_ckpt_contents *contents, seqgen_vocab **out)
{
    const uint32_t n = contents->vocab_count;
    uint32_t *cps = sg_malloc((size_t)n * sizeof *cps);
    if (!cps)
        return sg_error(SEQGEN_ENOMEM, "cannot allocate %u code points", n);
    const unsigned char *p = contents->vocab->payload + 4;
    for (uint32_t i = 0; i < n; i++, p += 4)
        cps[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    int status = seqgen_vocab_create(out, cps, n); /* checked by decode_vocab: only ENOMEM */
    free(cps);
    return status;
}
