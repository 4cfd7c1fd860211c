/* The model handle: configuration and its limits, the tensor table, the parameter buffer with
 * its named views, PyTorch's initialisation, one step of the whole network, and generation states
 * stepping it. The training pass is in train.c, completion in complete.c. */
#include "model.h"

#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "embedding.h"
#include "kernels.h"
#include "model_impl.h"
#include "parallel.h"
#include "status.h"

seqgen_model_config seqgen_model_config_default(void)
{
    seqgen_model_config cfg = {
        .units_per_step = 1, .hidden = 128, .layers = 1, .seed = 1, .threads = 0};
    return cfg;
}

int sg_model_check_config(const seqgen_model_config *cfg)
{
    const struct {
        const char *name;
        int value, low, high;
    } fields[] = {
        {"units_per_step", cfg->units_per_step, 1, SG_MODEL_MAX_DIM},
        {"hidden", cfg->hidden, 1, SG_MODEL_MAX_DIM},
        {"layers", cfg->layers, 1, SG_MODEL_MAX_DIM},
        {"threads", cfg->threads, 0, SG_MODEL_MAX_THREADS},
        {"start_step", cfg->start_step, 0, 1},
        {"steps", cfg->steps, 0, INT_MAX},
        {"vocab", cfg->vocab, 0, SG_MODEL_MAX_DIM},
        {"embedding", cfg->embedding, 0, SG_MODEL_MAX_DIM},
        {"head", (int)cfg->head, SEQGEN_HEAD_INDEPENDENT, SEQGEN_HEAD_MADE_AR},
        {"head_hidden", cfg->head_hidden, 0, SG_MODEL_MAX_MADE},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (fields[i].value < fields[i].low || fields[i].value > fields[i].high)
            return sg_error(SEQGEN_EINVAL, "%s must be in [%d, %d], got %d", fields[i].name,
                            fields[i].low, fields[i].high, fields[i].value);
    if (cfg->vocab == 1)
        return sg_error(SEQGEN_EINVAL, "vocab must be 0 (binary units) or at least 2 symbols, "
                        "got 1");
    if (cfg->vocab && cfg->embedding == 0)
        return sg_error(SEQGEN_EINVAL, "embedding must be in [1, %d] with vocab %d, got 0",
                        SG_MODEL_MAX_DIM, cfg->vocab);
    if (!cfg->vocab && cfg->embedding)
        return sg_error(SEQGEN_EINVAL, "embedding must be 0 without a vocab (binary units), got "
                        "%d", cfg->embedding);
    if (cfg->vocab && cfg->units_per_step != 1)
        return sg_error(SEQGEN_EINVAL, "units_per_step must be 1 with vocab %d (one symbol per "
                        "step), got %d", cfg->vocab, cfg->units_per_step);
    if (cfg->vocab && cfg->head != SEQGEN_HEAD_INDEPENDENT)
        return sg_error(SEQGEN_EINVAL, "head %s predicts the binary units of a step one after "
                        "another: a categorical model (vocab %d) takes SEQGEN_HEAD_INDEPENDENT",
                        cfg->head == SEQGEN_HEAD_LINEAR_AR ? "SEQGEN_HEAD_LINEAR_AR"
                                                           : "SEQGEN_HEAD_MADE_AR", cfg->vocab);
    const int made = cfg->head == SEQGEN_HEAD_MADE_AR;
    if (made && cfg->head_hidden < 1)
        return sg_error(SEQGEN_EINVAL, "head_hidden must be in [1, %d] with SEQGEN_HEAD_MADE_AR, "
                        "got %d", SG_MODEL_MAX_MADE, cfg->head_hidden);
    if (!made && cfg->head_hidden)
        return sg_error(SEQGEN_EINVAL, "head_hidden must be 0 without SEQGEN_HEAD_MADE_AR, got "
                        "%d", cfg->head_hidden);
    if (made && cfg->units_per_step < 2)
        return sg_error(SEQGEN_EINVAL, "SEQGEN_HEAD_MADE_AR needs units_per_step >= 2 (its hidden "
                        "units have degrees k mod (D - 1)), got %d: with one unit per step take "
                        "SEQGEN_HEAD_INDEPENDENT", cfg->units_per_step);
    return SEQGEN_OK;
}

size_t sg_tensor_append(sg_tensor *t, int *count, const char *name, int ndim, int rows,
                        int cols, size_t offset)
{
    if (t) {
        sg_tensor *new_tensor = &t[*count];
        snprintf(new_tensor->name, sizeof new_tensor->name, "%s", name);
        new_tensor->offset = offset;
        new_tensor->ndim = ndim;
        new_tensor->rows = rows;
        new_tensor->cols = cols;
        new_tensor->mask = SG_MASK_NONE;
    }
    (*count)++;
    return (size_t)rows * (size_t)cols;
}

/* The tensor table in PyTorch's order (see model.h) into `t` (or NULL to only count) and its
 * length into *count; returns the number of parameters. */
static size_t lay_out_tensors(const seqgen_model_config *cfg, sg_tensor *t, int *count_out)
{
    const int H = cfg->hidden, V = cfg->vocab;
    const int in = V ? cfg->embedding : cfg->units_per_step, out = V ? V : cfg->units_per_step;
    char name[SG_TENSOR_NAME_MAX];
    size_t n = 0;
    int count = 0;
    if (V)
        n += sg_tensor_append(t, &count, "embedding.weight", 2, V, cfg->embedding, n);
    for (int l = 0; l < cfg->layers; l++) {
        snprintf(name, sizeof name, "weight_ih_l%d", l);
        n += sg_tensor_append(t, &count, name, 2, 3 * H, l == 0 ? in : H, n);
        snprintf(name, sizeof name, "weight_hh_l%d", l);
        n += sg_tensor_append(t, &count, name, 2, 3 * H, H, n);
        snprintf(name, sizeof name, "bias_ih_l%d", l);
        n += sg_tensor_append(t, &count, name, 1, 3 * H, 1, n);
        snprintf(name, sizeof name, "bias_hh_l%d", l);
        n += sg_tensor_append(t, &count, name, 1, 3 * H, 1, n);
    }
    n += sg_tensor_append(t, &count, "out.weight", 2, out, H, n);
    n += sg_tensor_append(t, &count, "out.bias", 1, out, 1, n);
    if (cfg->head == SEQGEN_HEAD_LINEAR_AR || cfg->head == SEQGEN_HEAD_MADE_AR) {
        n += sg_tensor_append(t, &count, "out.ar_weight", 2, out, out, n);
        if (t)
            t[count - 1].mask = SG_MASK_STRICT_LOWER;
    }
    if (cfg->head == SEQGEN_HEAD_MADE_AR) {
        const int M = cfg->head_hidden;
        n += sg_tensor_append(t, &count, "out.made_in.weight", 2, M, out, n);
        if (t)
            t[count - 1].mask = SG_MASK_MADE_IN;
        n += sg_tensor_append(t, &count, "out.made_cond.weight", 2, M, H, n);
        n += sg_tensor_append(t, &count, "out.made_cond.bias", 1, M, 1, n);
        n += sg_tensor_append(t, &count, "out.made_out.weight", 2, out, M, n);
        if (t)
            t[count - 1].mask = SG_MASK_MADE_OUT;
    }
    *count_out = count;
    return n;
}

uint64_t sg_model_param_count_for(const seqgen_model_config *cfg)
{
    int count;
    return lay_out_tensors(cfg, NULL, &count);
}

/* 1 if entry [i][j] of t is masked (kept 0). */
static int masked(const sg_tensor *t, int i, int j)
{
    switch (t->mask) {
    case SG_MASK_STRICT_LOWER: return j >= i;
    case SG_MASK_MADE_IN: return !sg_made_in_used(i, j, t->cols);
    case SG_MASK_MADE_OUT: return !sg_made_out_used(i, j, t->rows);
    default: return 0;
    }
}

int sg_tensor_breaks_structure(const sg_tensor *t, const float *values, int *row, int *col)
{
    for (int i = 0; t->mask != SG_MASK_NONE && i < t->rows; i++)
        for (int j = 0; j < t->cols; j++)
            if (masked(t, i, j) && values[(size_t)i * t->cols + j] != 0.0f) {
                *row = i, *col = j;
                return 1;
            }
    return 0;
}

const char *sg_tensor_mask_name(const sg_tensor *t)
{
    return t->mask == SG_MASK_STRICT_LOWER ? "strictly lower triangular"
           : t->mask != SG_MASK_NONE       ? "masked by the MADE degrees (m_k = k mod (D - 1))"
                                           : NULL;
}

const char *sg_tensor_mask_where(const sg_tensor *t)
{
    return t->mask == SG_MASK_STRICT_LOWER ? "on or above the diagonal"
           : t->mask == SG_MASK_MADE_IN    ? "a unit j above the hidden unit's degree"
           : t->mask == SG_MASK_MADE_OUT   ? "a hidden unit of degree >= the unit d"
                                           : NULL;
}

void sg_model_views(const seqgen_model *model, float *buffer, sg_gru_weights *layers,
                    sg_head_weights *head, float **embedding)
{
    const sg_tensor *t = model->tensors;
    if (embedding)
        *embedding = model->cfg.vocab ? buffer + t->offset : NULL;
    t += model->cfg.vocab != 0;
    for (int l = 0; l < model->cfg.layers; l++, t += 4)
        layers[l] = (sg_gru_weights){buffer + t[0].offset, buffer + t[1].offset,
                                     buffer + t[2].offset, buffer + t[3].offset};
    const int made = model->cfg.head == SEQGEN_HEAD_MADE_AR;
    *head = (sg_head_weights){buffer + t[0].offset, buffer + t[1].offset,
                              model->cfg.head != SEQGEN_HEAD_INDEPENDENT ? buffer + t[2].offset
                                                                         : NULL,
                              made ? buffer + t[3].offset : NULL,
                              made ? buffer + t[4].offset : NULL,
                              made ? buffer + t[5].offset : NULL,
                              made ? buffer + t[6].offset : NULL, made ? model->cfg.head_hidden : 0};
}

/* The views of every layer and of the head into the parameter and gradient buffers. */
static void build_views(seqgen_model *m)
{
    sg_model_views(m, m->params, m->layer_params, &m->head, &m->embedding);
    sg_model_views(m, m->grads, m->layer_grads, &m->head_grads, &m->embedding_grads);
}

/* The next parameter version: a single-step state keeps W_hh packed for one version of one
 * model's parameters (seqgen_model_step), so versions are unique across all models. */
static atomic_uint_fast64_t next_params_version = 1;

/* Marks the parameters as (about to be) changed. */
static void touch_params(seqgen_model *m)
{
    m->params_version = atomic_fetch_add(&next_params_version, 1);
}

/* PyTorch's default initialisation: nn.GRU draws every parameter from U(-1/sqrt(H), 1/sqrt(H));
 * nn.Linear(H, O)'s Kaiming-uniform weight (a = sqrt(5)) and its bias have the same bound
 * 1/sqrt(fan_in) = 1/sqrt(H); nn.Embedding draws N(0, 1), here by the Box-Muller transform
 * (G. E. P. Box and M. E. Muller, 1958) of pairs of 53-bit uniforms, 1 - u1 in (0, 1] so that
 * the logarithm is finite. The embedding, first in the buffer, is drawn first: the uniforms
 * after it are those of a binary model of the same seed. The autoregressive head's U, last,
 * stays 0 (see seqgen.h), so that its model starts as the independent head of the same seed.
 * The MADE head's tensors after it draw uniform values in +-1/sqrt(fan_in) (nn.Linear's bound:
 * fan_in D for A, H for C, M for E), every entry in buffer order, then the masked ones are set
 * to 0; its bias c is 0. */
static void init_params(seqgen_model *m)
{
    const double two_pi = 6.283185307179586476925286766559;
    size_t i = 0;
    if (m->embedding) {
        const size_t n = (size_t)m->cfg.vocab * m->cfg.embedding;
        for (; i < n; i += 2) {
            double radius = sqrt(-2.0 * log(1.0 - sg_rng_double(&m->init_rng)));
            double angle = two_pi * sg_rng_double(&m->init_rng);
            m->embedding[i] = (float)(radius * cos(angle));
            if (i + 1 < n)
                m->embedding[i + 1] = (float)(radius * sin(angle));
        }
        i = n;
    }
    const float bound = 1.0f / sqrtf((float)m->cfg.hidden);
    const size_t end = m->head.ar_weight ? (size_t)(m->head.ar_weight - m->params) : m->param_count;
    for (; i < end; i++)
        m->params[i] = bound * (2.0f * sg_rng_float(&m->init_rng) - 1.0f);
    const sg_head_weights *h = &m->head;
    if (!h->made_in)
        return;
    const size_t D = (size_t)m->cfg.units_per_step, M = (size_t)h->made_hidden;
    const struct {
        float *values;
        size_t count, fan_in;
    } drawn[] = {{h->made_in, M * D, D}, {h->made_cond, M * (size_t)m->cfg.hidden,
                                          (size_t)m->cfg.hidden}, {h->made_out, D * M, M}};
    for (size_t t = 0; t < sizeof drawn / sizeof drawn[0]; t++) {
        const float b = 1.0f / sqrtf((float)drawn[t].fan_in);
        for (size_t k = 0; k < drawn[t].count; k++)
            drawn[t].values[k] = b * (2.0f * sg_rng_float(&m->init_rng) - 1.0f);
    }
    memset(h->made_cond_bias, 0, M * sizeof *h->made_cond_bias);
    sg_head_made_mask((int)D, (int)M, h->made_in, h->made_out);
}

int seqgen_model_create(seqgen_model **out, const seqgen_model_config *cfg)
{
    if (!out || !cfg)
        return sg_error(SEQGEN_EINVAL, "seqgen_model_create: NULL %s", out ? "config" : "output");
    int status = sg_model_check_config(cfg);
    if (status)
        return status;
    seqgen_model *m = sg_calloc(1, sizeof *m);
    if (!m)
        return sg_error(SEQGEN_ENOMEM, "out of memory for the model");
    m->cfg = *cfg;
    m->param_count = lay_out_tensors(cfg, NULL, &m->tensor_count);
    m->tensors = sg_calloc((size_t)m->tensor_count, sizeof *m->tensors);
    m->layer_params = m->tensors ? sg_calloc(2 * (size_t)cfg->layers, sizeof *m->layer_params)
                                 : NULL;
    m->params = m->layer_params ? sg_calloc(2 * m->param_count, sizeof *m->params) : NULL;
    if (!m->params) {
        seqgen_model_free(m);
        return sg_error(SEQGEN_ENOMEM, "out of memory for a model of H=%d, L=%d, D=%d, V=%d, "
                        "E=%d", cfg->hidden, cfg->layers, cfg->units_per_step, cfg->vocab,
                        cfg->embedding);
    }
    m->grads = m->params + m->param_count;
    m->layer_grads = m->layer_params + cfg->layers;
    lay_out_tensors(cfg, m->tensors, &m->tensor_count);
    build_views(m);
    sg_rng_seed(&m->init_rng, cfg->seed, 1);
    sg_rng_seed(&m->mix_rng, cfg->seed, 2);
    init_params(m);
    touch_params(m);
    *out = m;
    return SEQGEN_OK;
}

void seqgen_model_free(seqgen_model *model)
{
    if (!model)
        return;
    sg_train_memory_free_threads(&model->train);
    free(model->train.packed_layers);
    free(model->train.uniforms);
    free(model->params); /* and the gradients */
    free(model->layer_params); /* and layer_grads */
    free(model->tensors);
    free(model);
}

void sg_train_memory_free_threads(sg_train_memory *t)
{
    for (int i = 0; t->blocks && i < t->threads; i++)
        free(t->blocks[i]);
    free(t->blocks);
    free(t->grad_layers);
    free(t->workers);
    t->blocks = NULL;
    t->grad_layers = NULL;
    t->workers = NULL;
    t->threads = 0;
    t->floats = 0;
}

seqgen_model_config seqgen_model_get_config(const seqgen_model *model)
{
    if (!model)
        return (seqgen_model_config){0};
    return model->cfg;
}

int seqgen_model_set_threads(seqgen_model *model, int threads)
{
    if (!model)
        return sg_error(SEQGEN_EINVAL, "seqgen_model_set_threads: NULL model");
    if (threads < 0 || threads > SG_MODEL_MAX_THREADS)
        return sg_error(SEQGEN_EINVAL, "threads must be in [0, %d], got %d", SG_MODEL_MAX_THREADS,
                        threads);
    model->cfg.threads = threads;
    return SEQGEN_OK;
}

int sg_model_thread_count(const seqgen_model *model)
{
    if (model->cfg.threads > 0)
        return model->cfg.threads;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores < 1 ? 1 : cores > SG_MODEL_MAX_THREADS ? SG_MODEL_MAX_THREADS : (int)cores;
}

/* ---- Named tensors ------------------------------------------------------------------------ */

size_t seqgen_model_param_count(const seqgen_model *model)
{
    return model ? model->param_count : 0;
}

int seqgen_model_tensor_count(const seqgen_model *model)
{
    return model ? model->tensor_count : 0;
}

int seqgen_model_tensor_info(const seqgen_model *model, int index, const char **name, int *rows,
                             int *cols)
{
    if (!model)
        return sg_error(SEQGEN_EINVAL, "seqgen_model_tensor_info: NULL model");
    if (index < 0 || index >= model->tensor_count)
        return sg_error(SEQGEN_EINVAL, "tensor index %d out of range [0, %d)", index,
                        model->tensor_count);
    const sg_tensor *t = &model->tensors[index];
    if (name)
        *name = t->name;
    if (rows)
        *rows = t->rows;
    if (cols)
        *cols = t->cols;
    return SEQGEN_OK;
}

int sg_model_find_tensor(const seqgen_model *model, const char *name)
{
    for (int i = 0; i < model->tensor_count; i++)
        if (strcmp(model->tensors[i].name, name) == 0)
            return i;
    return -1;
}

const sg_tensor *sg_model_tensor(const seqgen_model *model, int index)
{
    return &model->tensors[index];
}

/* The tensor called `name` if it exists and holds `count` values, else an error; `function`
 * is the public function asking, named if an argument is NULL. */
static int lookup(const char *function, const seqgen_model *model, const char *name, size_t count,
                  const sg_tensor **out)
{
    if (!model || !name)
        return sg_error(SEQGEN_EINVAL, "%s: NULL %s", function, model ? "name" : "model");
    int i = sg_model_find_tensor(model, name);
    if (i < 0)
        return sg_error(SEQGEN_EINVAL, "no tensor called \"%s\" (H=%d, L=%d)", name,
                        model->cfg.hidden, model->cfg.layers);
    const sg_tensor *t = &model->tensors[i];
    if (count != (size_t)t->rows * t->cols)
        return sg_error(SEQGEN_EMISMATCH, "tensor \"%s\" is %d x %d = %zu values, not %zu", name,
                        t->rows, t->cols, (size_t)t->rows * t->cols, count);
    *out = t;
    return SEQGEN_OK;
}

/* Copies the tensor called `name` of `buffer` (the parameters or the gradients, for the public
 * `function`) into `out`. */
static int copy_out(const char *function, const seqgen_model *model, const float *buffer,
                    const char *name, float *out, size_t count)
{
    const sg_tensor *t;
    int status = lookup(function, model, name, count, &t);
    if (status)
        return status;
    if (!out)
        return sg_error(SEQGEN_EINVAL, "%s: NULL output", function);
    memcpy(out, buffer + t->offset, count * sizeof *out);
    return SEQGEN_OK;
}

int seqgen_model_get_tensor(const seqgen_model *model, const char *name, float *out, size_t count)
{
    return copy_out("seqgen_model_get_tensor", model, model ? model->params : NULL, name, out,
                    count);
}

int seqgen_model_get_grad(const seqgen_model *model, const char *name, float *out, size_t count)
{
    return copy_out("seqgen_model_get_grad", model, model ? model->grads : NULL, name, out, count);
}

float *seqgen_model_gradients(seqgen_model *model)
{
    return model ? model->grads : NULL;
}

const float *seqgen_model_parameters(const seqgen_model *model)
{
    return model ? model->params : NULL;
}

int seqgen_model_set_tensor(seqgen_model *model, const char *name, const float *values,
                            size_t count)
{
    const sg_tensor *t;
    int status = lookup("seqgen_model_set_tensor", model, name, count, &t);
    if (status)
        return status;
    if (!values)
        return sg_error(SEQGEN_EINVAL, "seqgen_model_set_tensor: NULL values");
    for (size_t i = 0; i < count; i++)
        if (!isfinite(values[i]))
            return sg_error(SEQGEN_ENUMERIC, "tensor \"%s\": value %zu is %f", name, i, values[i]);
    int row, col;
    if (sg_tensor_breaks_structure(t, values, &row, &col))
        return sg_error(SEQGEN_EINVAL, "tensor \"%s\" is %s: element [%d][%d] (%s) must be 0, "
                        "got %g", name, sg_tensor_mask_name(t), row, col, sg_tensor_mask_where(t),
                        (double)values[(size_t)row * t->cols + col]);
    memcpy(model->params + t->offset, values, count * sizeof *values);
    touch_params(model);
    return SEQGEN_OK;
}

float *sg_model_params_for_write(seqgen_model *model)
{
    touch_params(model); /* the caller may write: a state's packed W_hh must be redone */
    return model->params;
}

const float *sg_model_params_const(const seqgen_model *model) { return model->params; }
float *sg_model_grads(seqgen_model *model) { return model->grads; }
sg_rng *sg_model_init_rng(seqgen_model *model) { return &model->init_rng; }
sg_rng *sg_model_mix_rng(seqgen_model *model) { return &model->mix_rng; }

size_t sg_model_packed_floats(const seqgen_model *model, int backward)
{
    return (size_t)model->cfg.layers * sg_gru_packed_floats(model->cfg.hidden, backward);
}

void sg_model_pack(const seqgen_model *model, int backward, float *buffer, sg_gru_packed *layers)
{
    const size_t layer_floats = sg_gru_packed_floats(model->cfg.hidden, backward);
    for (int l = 0; l < model->cfg.layers; l++)
        layers[l] = sg_gru_pack(model->cfg.hidden, &model->layer_params[l], backward,
                                buffer + l * layer_floats);
}

/* ---- One step of the network ---------------------------------------------------------------- */

void sg_model_step_forward(const seqgen_model *model, const sg_gru_packed *packed, int rows,
                           const sg_step_io *io, const sg_gru_scratch *scratch)
{
    const int L = model->cfg.layers, H = model->cfg.hidden;
    for (int l = 0; l < L; l++) {
        const float *x = l == 0 ? io->x : io->h_next + (l - 1) * io->h_stride;
        sg_gru_step_forward(rows, sg_model_layer_in(model, l), H, &model->layer_params[l],
                            &packed[l], x, io->h_prev + l * io->h_stride,
                            io->h_next + l * io->h_stride,
                            io->gates ? io->gates + l * io->gates_stride : NULL, scratch);
    }
    if (io->logits)
        sg_head_forward(rows, H, sg_model_outputs(model), &model->head,
                        io->h_next + (L - 1) * io->h_stride, NULL, NULL, io->logits);
}

/* ---- Single-step generation --------------------------------------------------------------- */

sg_gru_packed *sg_model_pack_copy(const seqgen_model *model)
{
    const size_t L = (size_t)model->cfg.layers;
    sg_gru_packed *layers = sg_malloc(L * sizeof *layers +
                                      sg_model_packed_floats(model, 0) * sizeof(float));
    if (layers)
        sg_model_pack(model, 0, (float *)(layers + L), layers);
    return layers;
}

size_t sg_rollout_floats(const seqgen_model *model, int rows)
{
    const size_t R = (size_t)rows, L = (size_t)model->cfg.layers, H = (size_t)model->cfg.hidden;
    const size_t X = (size_t)sg_model_layer_in(model, 0), O = (size_t)sg_model_outputs(model);
    const size_t M = (size_t)model->head.made_hidden;
    return 2 * L * R * H + R * X + R * O + R * M + 2 * R * 3 * H + 4 * H;
}

void sg_rollout_lay_out(const seqgen_model *model, int rows, float *buffer, sg_rollout *r)
{
    const size_t R = (size_t)rows, L = (size_t)model->cfg.layers, H = (size_t)model->cfg.hidden;
    const size_t X = (size_t)sg_model_layer_in(model, 0), O = (size_t)sg_model_outputs(model);
    float *p = buffer;
    r->h[0] = p, p += L * R * H;
    r->h[1] = p, p += L * R * H;
    r->x = p, p += R * X;
    r->logits = p, p += R * O;
    r->made = model->head.made_hidden ? p : NULL, p += R * (size_t)model->head.made_hidden;
    r->scratch.gi = p, p += R * 3 * H;
    r->scratch.gh = p, p += R * 3 * H;
    r->scratch.gate_sink = p; /* [4H]: the gates a step without backward does not keep */
    r->scratch.dgates = NULL;
    r->scratch.chunk = 1;
}

struct seqgen_model_state {
    int batch, hidden, layers, pixels, vocab, embedding;
    int head, made_hidden; /* the model's seqgen_head_kind and M (seqgen_model_step_units) */
    int current;    /* which of h[0], h[1] holds the hidden states */
    float *h[2];    /* [L][B][H] each: current and next hidden states */
    float *gi, *gh; /* [B][3H] scratch of the GRU step */
    float *gate_sink; /* [4H] */
    float *x;         /* [B][E] the symbols' embedding rows (categorical models only) */
    float *made;      /* [B][M] the MADE head's hidden units of the step being chosen, or NULL */
    float *packed_memory;  /* the model's W_hh packed (sg_model_pack) ... */
    sg_gru_packed *packed; /* [L] views, allocated with every float above */
    uint64_t packed_version; /* ... from this version of its parameters; 0: not yet */
};

int seqgen_model_state_create(seqgen_model_state **out, const seqgen_model *model, int batch)
{
    if (!out || !model)
        return sg_error(SEQGEN_EINVAL, "seqgen_model_state_create: NULL %s",
                        out ? "model" : "output");
    if (batch < 1)
        return sg_error(SEQGEN_EINVAL, "batch must be >= 1, got %d", batch);
    seqgen_model_state *s = sg_calloc(1, sizeof *s);
    const size_t hsize = (size_t)model->cfg.layers * batch * model->cfg.hidden;
    const size_t gsize = (size_t)batch * 3 * model->cfg.hidden;
    const size_t sink = (size_t)4 * model->cfg.hidden;
    const size_t xsize = (size_t)batch * model->cfg.embedding; /* 0 for binary units */
    const size_t msize = (size_t)batch * model->head.made_hidden; /* 0 without MADE */
    const size_t packed = sg_model_packed_floats(model, 0), L = (size_t)model->cfg.layers;
    /* One block: the packed weights' views, then the floats. */
    sg_gru_packed *layers = s ? sg_malloc(L * sizeof *layers + (2 * hsize + 2 * gsize + sink +
                                                                xsize + msize + packed) *
                                                                   sizeof(float))
                              : NULL;
    if (!layers) {
        free(s);
        return sg_error(SEQGEN_ENOMEM, "out of memory for the state of %d sequences", batch);
    }
    float *mem = (float *)(layers + L);
    s->batch = batch;
    s->hidden = model->cfg.hidden;
    s->layers = model->cfg.layers;
    s->pixels = model->cfg.units_per_step;
    s->vocab = model->cfg.vocab;
    s->embedding = model->cfg.embedding;
    s->head = (int)model->cfg.head;
    s->made_hidden = model->head.made_hidden;
    s->h[0] = mem;
    s->h[1] = mem + hsize;
    s->gi = mem + 2 * hsize;
    s->gh = s->gi + gsize;
    s->gate_sink = s->gh + gsize;
    s->x = s->gate_sink + sink;
    s->made = msize ? s->x + xsize : NULL;
    s->packed_memory = s->x + xsize + msize;
    s->packed = layers;
    seqgen_model_state_reset(s);
    *out = s;
    return SEQGEN_OK;
}

void seqgen_model_state_free(seqgen_model_state *state)
{
    if (!state)
        return;
    free(state->packed); /* and the floats after it */
    free(state);
}

void seqgen_model_state_reset(seqgen_model_state *state)
{
    if (!state)
        return;
    state->current = 0;
    memset(state->h[0], 0, (size_t)state->layers * state->batch * state->hidden * sizeof(float));
}

/* The name of a head kind, for messages. */
static const char *head_name(int head)
{
    return head == SEQGEN_HEAD_LINEAR_AR ? "SEQGEN_HEAD_LINEAR_AR"
           : head == SEQGEN_HEAD_MADE_AR ? "SEQGEN_HEAD_MADE_AR"
                                         : "SEQGEN_HEAD_INDEPENDENT";
}

/* The state's shape against the model's: the same H, L, D, V and E. */
static int check_state(const seqgen_model *model, const seqgen_model_state *state)
{
    const seqgen_model_config *c = &model->cfg;
    if (state->hidden != c->hidden || state->layers != c->layers ||
        state->pixels != c->units_per_step || state->vocab != c->vocab ||
        state->embedding != c->embedding)
        return sg_error(SEQGEN_EMISMATCH, "state made for H=%d, L=%d, D=%d, V=%d, E=%d used with "
                        "H=%d, L=%d, D=%d, V=%d, E=%d", state->hidden, state->layers,
                        state->pixels, state->vocab, state->embedding, c->hidden, c->layers,
                        c->units_per_step, c->vocab, c->embedding);
    return SEQGEN_OK;
}

/* One step of the network from the layer-0 input x [B][in_0]: logits [B][O] into `logits` (or
 * into `probs` if it is NULL), then the head's probabilities into `probs` if not NULL. */
static void step_state(const seqgen_model *model, seqgen_model_state *state, const float *x,
                       float *logits, float *probs)
{
    const int B = state->batch, H = state->hidden;
    sg_gru_scratch scratch = {state->gi, state->gh, NULL, state->gate_sink, 1, NULL};
    if (state->packed_version != model->params_version) {
        sg_model_pack(model, 0, state->packed_memory, state->packed);
        state->packed_version = model->params_version;
    }
    float *out = logits ? logits : probs; /* the logits, then the probabilities if asked */
    sg_step_io io = {x, state->h[state->current], state->h[1 - state->current], (size_t)B * H,
                     NULL, 0, out};
    sg_blas_single_begin();
    sg_model_step_forward(model, state->packed, B, &io, &scratch);
    sg_blas_single_end();
    if (probs)
        sg_head_probs(sg_model_head_kind(model), B, sg_model_outputs(model), out, probs);
    state->current = 1 - state->current;
}

int seqgen_model_step(const seqgen_model *model, seqgen_model_state *state, const float *input,
                      float *logits, float *probs)
{
    if (!model || !state || !input || (!logits && !probs))
        return sg_error(SEQGEN_EINVAL, "seqgen_model_step: NULL %s",
                        !model ? "model" : !state ? "state" : !input ? "input" :
                        "logits and probabilities");
    if (model->cfg.vocab)
        return sg_error(SEQGEN_EINVAL, "the model is categorical (vocab %d): step it with "
                        "seqgen_model_step_symbols()", model->cfg.vocab);
    if (model->cfg.head != SEQGEN_HEAD_INDEPENDENT)
        return sg_error(SEQGEN_EINVAL, "seqgen_model_step: the model's head is %s, whose units' "
                        "probabilities depend on the units drawn before them within the step: "
                        "step it unit by unit with seqgen_model_step_units(), or complete or "
                        "generate with seqgen_complete()", head_name(model->cfg.head));
    int status = check_state(model, state);
    if (status)
        return status;
    step_state(model, state, input, logits, probs);
    return SEQGEN_OK;
}

/* check_state() and the head the state was made for: its kind and M (the MADE scratch's shape),
 * which only seqgen_model_step_units() reads. */
static int check_state_head(const seqgen_model *model, const seqgen_model_state *state)
{
    int status = check_state(model, state);
    if (status)
        return status;
    if (state->head != (int)model->cfg.head || state->made_hidden != model->head.made_hidden)
        return sg_error(SEQGEN_EMISMATCH, "state made for the head %s with M=%d used with %s "
                        "with M=%d", head_name(state->head), state->made_hidden,
                        head_name(model->cfg.head), model->head.made_hidden);
    return SEQGEN_OK;
}

int seqgen_model_step_units(const seqgen_model *model, seqgen_model_state *state,
                            const float *input, seqgen_unit_chooser choose, void *context,
                            float *units, float *logits)
{
    if (!model || !state || !input || !choose || !units)
        return sg_error(SEQGEN_EINVAL, "seqgen_model_step_units: NULL %s",
                        !model ? "model" : !state ? "state" : !input ? "input" :
                        !choose ? "chooser" : "units");
    if (model->cfg.vocab)
        return sg_error(SEQGEN_EINVAL, "the model is categorical (vocab %d): step it with "
                        "seqgen_model_step_symbols()", model->cfg.vocab);
    int status = check_state_head(model, state);
    if (status)
        return status;
    const int B = state->batch, D = state->pixels, M = state->made_hidden;
    const int ar = sg_head_is_ar(sg_model_head_kind(model));
    /* The step's logits without the units' terms go into `units`, each read just before the
     * chosen value replaces it: the head reads only the units before d, already chosen. */
    step_state(model, state, input, units, NULL);
    if (state->made) { /* C h + c of the top layer's new states, as completion */
        const size_t top = (size_t)(state->layers - 1) * B * state->hidden;
        sg_blas_single_begin();
        sg_head_made_cond(B, state->hidden, &model->head, state->h[state->current] + top,
                          state->made);
        sg_blas_single_end();
    }
    for (int b = 0; b < B; b++) {
        float *row = units + (size_t)b * D;
        float *made = state->made ? state->made + (size_t)b * M : NULL;
        for (int d = 0; d < D; d++) {
            const float base = row[d];
            const float logit = ar ? sg_head_ar_logit(D, &model->head, d, base, row, made) : base;
            const float unit = choose(context, b, d, logit);
            if (!(unit >= 0.0f && unit <= 1.0f)) /* NaN too */
                return sg_error(SEQGEN_ERANGE, "seqgen_model_step_units: the chooser gave %g for "
                                "unit %d of sequence %d: a unit must be in [0, 1]", (double)unit,
                                d, b);
            row[d] = unit;
            if (logits)
                logits[(size_t)b * D + d] = logit;
        }
    }
    return SEQGEN_OK;
}

int seqgen_model_step_symbols(const seqgen_model *model, seqgen_model_state *state,
                              const int32_t *symbols, float *logits, float *probs)
{
    if (!model || !state || !symbols || (!logits && !probs))
        return sg_error(SEQGEN_EINVAL, "seqgen_model_step_symbols: NULL %s",
                        !model ? "model" : !state ? "state" : !symbols ? "symbols" :
                        "logits and probabilities");
    if (!model->cfg.vocab)
        return sg_error(SEQGEN_EINVAL, "the model is of binary units (vocab 0): step it with "
                        "seqgen_model_step()");
    int status = check_state(model, state);
    if (status)
        return status;
    for (int b = 0; b < state->batch; b++)
        if (symbols[b] < -1 || symbols[b] >= model->cfg.vocab)
            return sg_error(SEQGEN_EINVAL, "sequence %d: symbol %d is not in [0, %d) nor -1 (the "
                            "start step)", b, (int)symbols[b], model->cfg.vocab);
    sg_embedding_forward(state->batch, model->cfg.embedding, model->embedding, symbols, state->x);
    step_state(model, state, state->x, logits, probs);
    return SEQGEN_OK;
}
