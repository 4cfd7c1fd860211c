/* The discriminator of professor forcing: a stack of GRU layers alternately forward and backward
 * in time, the mean over each sequence's steps, an MLP, one logit (see discriminator.h); and its
 * public door (seqgen.h), which trains it with an optimiser over its own buffer (optim.h). */
#include "discriminator.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "gru.h"
#include "kernels.h"
#include "loss.h"
#include "optim.h"
#include "parallel.h"
#include "rng.h"
#include "status.h"

/* Steps per chunk of the GRU's batched products (gru.h's scratch): the training pass's choice,
 * large enough for efficient GEMMs, small enough for the scratch to stay in cache. */
#define SG_DISC_CHUNK 8

/* The MLP's tensors, in buffer order. */
enum { MLP_W1, MLP_B1, MLP_W2, MLP_B2, MLP_TENSORS };

struct seqgen_discriminator {
    seqgen_discriminator_config cfg;
    size_t param_count;
    int tensor_count;
    sg_tensor *tensors;             /* [4K + 4] */
    float *params, *grads;          /* one allocation, param_count floats each */
    sg_gru_weights *layers, *layer_grads; /* [K] views of each GRU layer's tensors */
    float *mlp[MLP_TENSORS], *mlp_grads[MLP_TENSORS];
    sg_gru_packed *packed;          /* [K] views into packed_floats, made by each pass */
    /* the workspace, for at most cap_batch sequences of cap_steps steps (N = their product):
     * ints: order [B], rows_at [T], offset [T], rev [N]; floats: views below */
    int cap_batch, cap_steps;
    int *ints;
    float *work;
    int *order;   /* row r holds sequence order[r]: by decreasing length, ties in batch order */
    int *rows_at; /* rows of step t: the sequences longer than t */
    int *offset;  /* packed row of step t's first row */
    int *rev;     /* [N] packed row i = (t, r) <-> row of (n_r - 1 - t, r): time reversed */
    float *x;     /* [N][F] the behaviour, packed */
    float *xin;   /* [K-1][N][Hd] layer k's input (k >= 1): layer k-1's outputs, reversed */
    float *h;     /* [K][B + N][Hd] the initial states (zeros), then each layer's outputs */
    float *gates; /* [K][N][4Hd] */
    float *pooled, *act, *y; /* [B][Hd] the mean, [B][M] the MLP's hidden units, [B] labels */
    float *logit;            /* [B] the logits, then dL/dlogit */
    float *dact, *dpool;     /* [B][M], [B][Hd] */
    float *dy, *dperm, *dx, *dh; /* [N][Hd], [N][Hd], [N][F], [B][Hd] */
    float *packed_floats;
    sg_gru_scratch scratch;
};

/* The tensor table into `t` (or only counted with NULL); returns the number of parameters. */
static size_t lay_out_tensors(const seqgen_discriminator_config *cfg, sg_tensor *t)
{
    _Static_assert(sizeof "disc.gru.9.weight_ih_l0" <= SG_TENSOR_NAME_MAX,
                   "the longest name fits an sg_tensor");
    const int F = cfg->features, Hd = cfg->hidden, M = cfg->mlp_hidden;
    char name[48]; /* room for any int; K <= SG_DISC_MAX_LAYERS makes it fit the table's */
    size_t n = 0;
    int count = 0;
    for (int k = 0; k < cfg->layers; k++) {
        snprintf(name, sizeof name, "disc.gru.%d.weight_ih_l0", k);
        n += sg_tensor_append(t, &count, name, 2, 3 * Hd, k == 0 ? F : Hd, n);
        snprintf(name, sizeof name, "disc.gru.%d.weight_hh_l0", k);
        n += sg_tensor_append(t, &count, name, 2, 3 * Hd, Hd, n);
        snprintf(name, sizeof name, "disc.gru.%d.bias_ih_l0", k);
        n += sg_tensor_append(t, &count, name, 1, 3 * Hd, 1, n);
        snprintf(name, sizeof name, "disc.gru.%d.bias_hh_l0", k);
        n += sg_tensor_append(t, &count, name, 1, 3 * Hd, 1, n);
    }
    n += sg_tensor_append(t, &count, "disc.mlp.0.weight", 2, M, Hd, n);
    n += sg_tensor_append(t, &count, "disc.mlp.0.bias", 1, M, 1, n);
    n += sg_tensor_append(t, &count, "disc.mlp.2.weight", 2, 1, M, n);
    n += sg_tensor_append(t, &count, "disc.mlp.2.bias", 1, 1, 1, n);
    return n;
}

/* The views of the GRU layers and of the MLP within `buffer` (parameters or gradients). */
static void views(const sg_disc *d, float *buffer, sg_gru_weights *layers, float **mlp)
{
    const sg_tensor *t = d->tensors;
    for (int k = 0; k < d->cfg.layers; k++, t += 4)
        layers[k] = (sg_gru_weights){buffer + t[0].offset, buffer + t[1].offset,
                                     buffer + t[2].offset, buffer + t[3].offset};
    for (int i = 0; i < MLP_TENSORS; i++)
        mlp[i] = buffer + t[i].offset;
}

/* PyTorch's initialisation: every tensor from U(-1/sqrt(fan), 1/sqrt(fan)), fan = Hd for the GRU
 * layers, the Linear's input size for the MLP; drawn in buffer order. */
static void init_params(sg_disc *d)
{
    sg_rng rng;
    sg_rng_seed(&rng, d->cfg.seed, 1);
    for (int i = 0; i < d->tensor_count; i++) {
        const sg_tensor *t = &d->tensors[i];
        const int fan = i < 4 * d->cfg.layers + 2 ? d->cfg.hidden : d->cfg.mlp_hidden;
        const float bound = 1.0f / sqrtf((float)fan);
        for (size_t j = 0; j < (size_t)t->rows * t->cols; j++)
            d->params[t->offset + j] = bound * (2.0f * sg_rng_float(&rng) - 1.0f);
    }
}

int sg_disc_check_config(const seqgen_discriminator_config *cfg)
{
    const struct {
        const char *name;
        int value, high;
    } fields[] = {{"features", cfg->features, SG_MODEL_MAX_DIM},
                  {"hidden", cfg->hidden, SG_MODEL_MAX_DIM},
                  {"layers", cfg->layers, SG_DISC_MAX_LAYERS},
                  {"mlp_hidden", cfg->mlp_hidden, SG_MODEL_MAX_DIM}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (fields[i].value < 1 || fields[i].value > fields[i].high)
            return sg_error(SEQGEN_EINVAL, "discriminator %s must be in [1, %d], got %d",
                            fields[i].name, fields[i].high, fields[i].value);
    return SEQGEN_OK;
}

seqgen_discriminator_config seqgen_discriminator_config_default(int features)
{
    seqgen_discriminator_config cfg = {.features = features, .hidden = 64, .layers = 3,
                                       .mlp_hidden = 64, .seed = 1};
    return cfg;
}

int seqgen_discriminator_create(sg_disc **out, const seqgen_discriminator_config *cfg)
{
    if (!out || !cfg)
        return sg_error(SEQGEN_EINVAL, "seqgen_discriminator_create: NULL %s",
                        out ? "config" : "output");
    int status = sg_disc_check_config(cfg);
    if (status)
        return status;
    sg_disc *d = sg_calloc(1, sizeof *d);
    if (!d)
        return sg_error(SEQGEN_ENOMEM, "out of memory for the discriminator");
    d->cfg = *cfg;
    d->tensor_count = 4 * cfg->layers + MLP_TENSORS;
    d->param_count = lay_out_tensors(cfg, NULL);
    d->tensors = sg_calloc((size_t)d->tensor_count, sizeof *d->tensors);
    d->layers = d->tensors ? sg_calloc(2 * (size_t)cfg->layers, sizeof *d->layers) : NULL;
    d->packed = d->layers ? sg_calloc((size_t)cfg->layers, sizeof *d->packed) : NULL;
    d->params = d->packed ? sg_calloc(2 * d->param_count, sizeof *d->params) : NULL;
    if (!d->params) {
        seqgen_discriminator_free(d);
        return sg_error(SEQGEN_ENOMEM, "out of memory for a discriminator of %zu parameters",
                        lay_out_tensors(cfg, NULL));
    }
    d->grads = d->params + d->param_count;
    d->layer_grads = d->layers + cfg->layers;
    lay_out_tensors(cfg, d->tensors);
    views(d, d->params, d->layers, d->mlp);
    views(d, d->grads, d->layer_grads, d->mlp_grads);
    init_params(d);
    *out = d;
    return SEQGEN_OK;
}

void seqgen_discriminator_free(sg_disc *d)
{
    if (!d)
        return;
    free(d->work);
    free(d->ints);
    free(d->params); /* and the gradients */
    free(d->layers); /* and layer_grads */
    free(d->packed);
    free(d->tensors);
    free(d);
}

float *sg_disc_params(sg_disc *d) { return d->params; }
float *sg_disc_grads(sg_disc *d) { return d->grads; }
int sg_disc_tensor_count(const sg_disc *d) { return d->tensor_count; }
const sg_tensor *sg_disc_tensor(const sg_disc *d, int index) { return &d->tensors[index]; }

void sg_disc_zero_grads(sg_disc *d)
{
    memset(d->grads, 0, d->param_count * sizeof *d->grads);
}

/* ---- The workspace ------------------------------------------------------------------------- */

/* Floats of the workspace for B sequences of T steps (laid out by lay_out_work()). */
static size_t work_floats(const seqgen_discriminator_config *c, size_t B, size_t T)
{
    const size_t F = c->features, Hd = c->hidden, K = c->layers, M = c->mlp_hidden;
    const size_t N = B * T, C = SG_DISC_CHUNK;
    return N * F + (K - 1) * N * Hd + K * (B + N) * Hd + K * N * 4 * Hd + 2 * B * Hd +
           2 * B * M + 2 * B + 2 * N * Hd + N * F + B * Hd + C * B * 3 * Hd + B * 3 * Hd +
           C * B * 4 * Hd + C * B * Hd + K * sg_gru_packed_floats(c->hidden, 1);
}

static void lay_out_work(sg_disc *d, size_t B, size_t T)
{
    const seqgen_discriminator_config *c = &d->cfg;
    const size_t F = c->features, Hd = c->hidden, K = c->layers, M = c->mlp_hidden;
    const size_t N = B * T, C = SG_DISC_CHUNK;
    d->order = d->ints;
    d->rows_at = d->order + B;
    d->offset = d->rows_at + T;
    d->rev = d->offset + T;
    float *p = d->work;
    d->x = p, p += N * F;
    d->xin = p, p += (K - 1) * N * Hd;
    d->h = p, p += K * (B + N) * Hd;
    d->gates = p, p += K * N * 4 * Hd;
    d->pooled = p, p += B * Hd;
    d->act = p, p += B * M;
    d->y = p, p += B;
    d->logit = p, p += B;
    d->dact = p, p += B * M;
    d->dpool = p, p += B * Hd;
    d->dy = p, p += N * Hd;
    d->dperm = p, p += N * Hd;
    d->dx = p, p += N * F;
    d->dh = p, p += B * Hd;
    d->scratch.gi = p, p += C * B * 3 * Hd;
    d->scratch.gh = p, p += B * 3 * Hd;
    d->scratch.dgates = p, p += C * B * 4 * Hd;
    d->scratch.gate_sink = d->scratch.dgates;
    d->scratch.hprev = p, p += C * B * Hd;
    d->scratch.chunk = SG_DISC_CHUNK;
    d->packed_floats = p;
}

/* Grows the workspace to hold B sequences of T steps; laid out for exactly (B, T). */
static int reserve(sg_disc *d, int batch, int steps)
{
    if (batch > d->cap_batch || steps > d->cap_steps) {
        const int B = batch > d->cap_batch ? batch : d->cap_batch;
        const int T = steps > d->cap_steps ? steps : d->cap_steps;
        const size_t ints = (size_t)B + 2 * (size_t)T + (size_t)B * T;
        const size_t floats = work_floats(&d->cfg, (size_t)B, (size_t)T);
        int *new_ints = sg_malloc(ints * sizeof *new_ints);
        float *new_work = new_ints ? sg_malloc(floats * sizeof *new_work) : NULL;
        if (!new_work) {
            free(new_ints);
            return sg_error(SEQGEN_ENOMEM, "out of memory for the discriminator's workspace of %d "
                            "sequences of %d steps (%zu MB)", B, T, floats * 4 >> 20);
        }
        free(d->ints);
        free(d->work);
        d->ints = new_ints, d->work = new_work;
        d->cap_batch = B, d->cap_steps = T;
    }
    lay_out_work(d, (size_t)batch, (size_t)steps);
    return SEQGEN_OK;
}

/* ---- The pass ------------------------------------------------------------------------------ */

static int length_of(const size_t *lengths, int steps, int s)
{
    return lengths ? (int)lengths[s] : steps;
}

/* What sg_gru_packed_order() reads: the lengths, or T for every sequence. */
typedef struct lengths_of {
    const size_t *lengths;
    int steps;
} lengths_of;

static int sequence_length(const void *ctx, int s)
{
    const lengths_of *l = ctx;
    return length_of(l->lengths, l->steps, s);
}

/* Sorts the sequences by decreasing length (ties in batch order), counts the rows of each step
 * and their offsets, and the time reversal of the packed rows; returns the longest length. */
static int sort_rows(sg_disc *d, const size_t *lengths, int B, int T)
{
    int longest = 0;
    for (int s = 0; s < B; s++)
        longest = length_of(lengths, T, s) > longest ? length_of(lengths, T, s) : longest;
    const lengths_of l = {lengths, T};
    sg_gru_packed_order(B, longest, sequence_length, &l, d->order, d->rows_at);
    for (int t = 0, at = 0; t < longest; at += d->rows_at[t], t++)
        d->offset[t] = at;
    for (int t = 0; t < longest; t++)
        for (int r = 0; r < d->rows_at[t]; r++) {
            const int n = length_of(lengths, T, d->order[r]);
            d->rev[d->offset[t] + r] = d->offset[n - 1 - t] + r;
        }
    return longest;
}

/* Rows of all steps. */
static size_t total_rows(const sg_disc *d, int longest)
{
    return (size_t)d->offset[longest - 1] + (size_t)d->rows_at[longest - 1];
}

static float *layer_h(const sg_disc *d, int k, size_t total, int B)
{
    return d->h + (size_t)k * ((size_t)B + total) * d->cfg.hidden;
}

static float *layer_x(const sg_disc *d, int k, size_t total)
{
    return k == 0 ? d->x : d->xin + (size_t)(k - 1) * total * d->cfg.hidden;
}

/* dst [N][cols] row i = src row rev[i]: a packed sequence reversed in time, each row within its
 * own length (an involution). */
static void reverse_rows(const sg_disc *d, size_t total, int cols, const float *src, float *dst)
{
    for (size_t i = 0; i < total; i++)
        memcpy(dst + i * cols, src + (size_t)d->rev[i] * cols, (size_t)cols * sizeof *dst);
}

/* The GRU stack, the mean over time and the MLP: the logits [B] (sorted order). */
static void forward(sg_disc *d, const float *behaviour, const size_t *lengths, int B, int T,
                    int longest, size_t total)
{
    const int F = d->cfg.features, Hd = d->cfg.hidden, K = d->cfg.layers, M = d->cfg.mlp_hidden;
    for (int t = 0; t < longest; t++)
        for (int r = 0; r < d->rows_at[t]; r++)
            memcpy(d->x + ((size_t)d->offset[t] + r) * F,
                   behaviour + ((size_t)d->order[r] * T + t) * F, (size_t)F * sizeof *d->x);
    const size_t packed = sg_gru_packed_floats(Hd, 1);
    for (int k = 0; k < K; k++) {
        float *h = layer_h(d, k, total, B);
        if (k > 0) /* each layer runs in the other direction of time than the one below */
            reverse_rows(d, total, Hd, layer_h(d, k - 1, total, B) + (size_t)B * Hd,
                         layer_x(d, k, total));
        d->packed[k] = sg_gru_pack(Hd, &d->layers[k], 1, d->packed_floats + k * packed);
        memset(h, 0, (size_t)B * Hd * sizeof *h);
        sg_gru_forward(longest, d->rows_at, k == 0 ? F : Hd, Hd, &d->layers[k], &d->packed[k],
                       layer_x(d, k, total), h, d->gates + (size_t)k * total * 4 * Hd,
                       &d->scratch);
    }
    /* the mean over each sequence's steps is the same in either direction of time */
    const float *top = layer_h(d, K - 1, total, B) + (size_t)B * Hd;
    memset(d->pooled, 0, (size_t)B * Hd * sizeof *d->pooled);
    for (int t = 0; t < longest; t++)
        sg_add((size_t)d->rows_at[t] * Hd, top + (size_t)d->offset[t] * Hd, d->pooled);
    for (int r = 0; r < B; r++)
        for (int j = 0; j < Hd; j++)
            d->pooled[(size_t)r * Hd + j] /= (float)length_of(lengths, T, d->order[r]);
    sg_gemm(0, 1, B, M, Hd, 1.0f, d->pooled, Hd, d->mlp[MLP_W1], Hd, 0.0f, d->act, M);
    for (int r = 0; r < B; r++)
        for (int j = 0; j < M; j++)
            d->act[(size_t)r * M + j] = tanhf(d->act[(size_t)r * M + j] + d->mlp[MLP_B1][j]);
    sg_gemm(0, 1, B, 1, M, 1.0f, d->act, M, d->mlp[MLP_W2], M, 0.0f, d->logit, 1);
    for (int r = 0; r < B; r++)
        d->logit[r] += d->mlp[MLP_B2][0];
}

/* From dL/dlogit [B] (sorted order): the parameter gradients (added) and dL/db into dx
 * (packed). */
static void backward(sg_disc *d, const size_t *lengths, int B, int T, int longest, size_t total)
{
    const int F = d->cfg.features, Hd = d->cfg.hidden, K = d->cfg.layers, M = d->cfg.mlp_hidden;
    float **g = d->mlp_grads;
    sg_sum_rows_weighted(B, M, d->logit, d->act, M, g[MLP_W2]);
    sg_sum_rows(B, 1, d->logit, 1, g[MLP_B2]);
    sg_outer_product(B, M, d->logit, d->mlp[MLP_W2], d->dact);
    for (size_t i = 0; i < (size_t)B * M; i++)
        d->dact[i] *= 1.0f - d->act[i] * d->act[i];
    sg_gemm(1, 0, M, Hd, B, 1.0f, d->dact, M, d->pooled, Hd, 1.0f, g[MLP_W1], Hd);
    sg_sum_rows(B, M, d->dact, M, g[MLP_B1]);
    sg_gemm(0, 0, B, Hd, M, 1.0f, d->dact, M, d->mlp[MLP_W1], Hd, 0.0f, d->dpool, Hd);
    for (int r = 0; r < B; r++) {
        const float scale = 1.0f / (float)length_of(lengths, T, d->order[r]);
        for (int j = 0; j < Hd; j++)
            d->dpool[(size_t)r * Hd + j] *= scale;
    }
    for (int t = 0; t < longest; t++)
        memcpy(d->dy + (size_t)d->offset[t] * Hd, d->dpool,
               (size_t)d->rows_at[t] * Hd * sizeof *d->dy);
    float *dy = d->dy, *other = d->dperm;
    for (int k = K - 1; k >= 0; k--) {
        sg_gru_backward(longest, d->rows_at, k == 0 ? F : Hd, Hd, &d->layers[k], &d->packed[k],
                        layer_x(d, k, total), layer_h(d, k, total, B),
                        d->gates + (size_t)k * total * 4 * Hd, dy, k > 0 ? dy : d->dx,
                        &d->layer_grads[k], d->dh, &d->scratch);
        if (k > 0) { /* dL/d(layer k's input), in the time order of the layer below */
            reverse_rows(d, total, Hd, dy, other);
            float *swap = dy;
            dy = other, other = swap;
        }
    }
}

/* The arguments' ranges, and the values the pass reads. */
static int check_args(const sg_disc *d, const float *behaviour, const size_t *lengths, int B,
                      int T, const float *labels)
{
    if (!behaviour)
        return sg_error(SEQGEN_EINVAL, "sg_disc_forward_backward: NULL behaviour");
    if (B < 1 || T < 1)
        return sg_error(SEQGEN_EINVAL, "discriminator: batch and steps must be >= 1, got %d and "
                        "%d", B, T);
    if ((size_t)B * T > ((size_t)1 << 40) / (size_t)(d->cfg.hidden + d->cfg.features))
        return sg_error(SEQGEN_EINVAL, "discriminator: batch %d x steps %d is too large", B, T);
    const size_t F = (size_t)d->cfg.features;
    for (int s = 0; s < B; s++) {
        if (lengths && (lengths[s] < 1 || lengths[s] > (size_t)T))
            return sg_error(SEQGEN_EINVAL, "discriminator: sequence %d has length %zu, not in "
                            "[1, %d]", s, lengths[s], T);
        const float *b = behaviour + (size_t)s * T * F;
        for (size_t i = 0; i < (size_t)length_of(lengths, T, s) * F; i++)
            if (!isfinite(b[i]))
                return sg_error(SEQGEN_EINVAL, "discriminator: behaviour of sequence %d, step "
                                "%zu, value %zu is %g", s, i / F, i % F, (double)b[i]);
        if (labels && !(labels[s] >= 0.0f && labels[s] <= 1.0f))
            return sg_error(SEQGEN_EINVAL, "discriminator: label %d is %g, not in [0, 1]", s,
                            (double)labels[s]);
    }
    return SEQGEN_OK;
}

int sg_disc_forward_backward(sg_disc *d, const float *behaviour, const size_t *lengths, int batch,
                             int steps, const float *labels, float *logits,
                             seqgen_discriminator_stats *stats, float *dbehaviour)
{
    if (!d)
        return sg_error(SEQGEN_EINVAL, "sg_disc_forward_backward: NULL discriminator");
    const int B = batch, T = steps, F = d->cfg.features;
    int status = check_args(d, behaviour, lengths, B, T, labels);
    if (!status)
        status = reserve(d, B, T);
    if (status)
        return status;
    const int longest = sort_rows(d, lengths, B, T);
    const size_t total = total_rows(d, longest);
    sg_blas_single_begin();
    forward(d, behaviour, lengths, B, T, longest, total);
    for (int r = 0; logits && r < B; r++)
        logits[d->order[r]] = d->logit[r];
    if (!labels) {
        sg_blas_single_end();
        return SEQGEN_OK;
    }
    int right = 0;
    for (int r = 0; r < B; r++) {
        d->y[r] = labels[d->order[r]];
        right += (d->logit[r] > 0.0f) == (d->y[r] > 0.5f);
    }
    double mse = 0.0, bce = 0.0;
    sg_loss_sums((size_t)B, d->logit, d->y, SEQGEN_LOSS_BCE, 1.0 / B, NULL, d->logit, &mse,
                 &bce);
    if (!isfinite(bce)) {
        sg_blas_single_end();
        return sg_error(SEQGEN_ENUMERIC, "discriminator: the loss is not finite (BCE %g): its "
                        "parameters hold NaN or infinity", bce);
    }
    if (stats)
        *stats = (seqgen_discriminator_stats){bce / B, (double)right / B};
    backward(d, lengths, B, T, longest, total);
    sg_blas_single_end();
    if (dbehaviour) {
        memset(dbehaviour, 0, (size_t)B * T * F * sizeof *dbehaviour);
        for (int t = 0; t < longest; t++)
            for (int r = 0; r < d->rows_at[t]; r++)
                memcpy(dbehaviour + ((size_t)d->order[r] * T + t) * F,
                       d->dx + ((size_t)d->offset[t] + r) * F, (size_t)F * sizeof *dbehaviour);
    }
    return SEQGEN_OK;
}

/* ---- The public door ----------------------------------------------------------------------- */

size_t seqgen_discriminator_param_count(const sg_disc *disc)
{
    return disc ? disc->param_count : 0;
}

int seqgen_discriminator_optim_create(seqgen_optim **out, const sg_disc *disc,
                                      const seqgen_optim_config *cfg)
{
    if (!out || !disc || !cfg)
        return sg_error(SEQGEN_EINVAL, "seqgen_discriminator_optim_create: NULL %s",
                        !out ? "output" : !disc ? "discriminator" : "config");
    return sg_optim_create_for(out, SG_OPTIM_DISCRIMINATOR, disc->param_count, cfg);
}

int seqgen_discriminator_classify(sg_disc *disc, const float *behaviour, const size_t *lengths,
                                  int batch, int steps, float *logits)
{
    if (!disc || !logits)
        return sg_error(SEQGEN_EINVAL, "seqgen_discriminator_classify: NULL %s",
                        disc ? "logits" : "discriminator");
    return sg_disc_forward_backward(disc, behaviour, lengths, batch, steps, NULL, logits, NULL,
                                    NULL);
}

int seqgen_discriminator_train_step(sg_disc *disc, seqgen_optim *opt, const float *behaviour,
                                    const size_t *lengths, int batch, int steps,
                                    const float *labels, seqgen_discriminator_stats *stats)
{
    if (!disc || !opt || !labels)
        return sg_error(SEQGEN_EINVAL, "seqgen_discriminator_train_step: NULL %s",
                        !disc ? "discriminator" : !opt ? "optimiser" : "labels");
    sg_disc_zero_grads(disc);
    int status = sg_disc_forward_backward(disc, behaviour, lengths, batch, steps, labels, NULL,
                                          stats, NULL);
    if (!status)
        status = sg_optim_step_buffers(opt, SG_OPTIM_DISCRIMINATOR, disc->param_count,
                                       disc->params, disc->grads);
    return status;
}

int seqgen_discriminator_input_gradient(sg_disc *disc, const float *behaviour,
                                        const size_t *lengths, int batch, int steps,
                                        const float *labels, float *dbehaviour,
                                        seqgen_discriminator_stats *stats)
{
    if (!disc || !labels || !dbehaviour)
        return sg_error(SEQGEN_EINVAL, "seqgen_discriminator_input_gradient: NULL %s",
                        !disc ? "discriminator" : !labels ? "labels" : "dbehaviour");
    return sg_disc_forward_backward(disc, behaviour, lengths, batch, steps, labels, NULL, stats,
                                    dbehaviour);
}
