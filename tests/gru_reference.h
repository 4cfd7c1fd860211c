/* A plain double-precision reference of the model for the tests: PyTorch's GRU equations written
 * out loop by loop, one sequence and one step at a time, with no BLAS, no batching, no
 * time-major layout and no code shared with src/. Parameters are read from a model by their
 * PyTorch names through the public API. Finite differences on this reference give the
 * gradients the library's backward pass must match; ref_backward() gives them by a hand-written
 * backpropagation through time, checked against those finite differences (test_gru_backward.c)
 * and cheap enough to compare with the library at sizes finite differences cannot afford. */
#ifndef SEQGEN_GRU_REFERENCE_H
#define SEQGEN_GRU_REFERENCE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seqgen.h"

#define REF_MAX_TENSORS 64

typedef struct ref_model {
    int D, H, L, count;
    char names[REF_MAX_TENSORS][24];
    double *t[REF_MAX_TENSORS]; /* tensors in the order of the table in seqgen.h */
    size_t n[REF_MAX_TENSORS];
} ref_model;

static void ref_load(ref_model *r, const seqgen_model *m)
{
    seqgen_model_config cfg = seqgen_model_get_config(m);
    r->D = cfg.units_per_step, r->H = cfg.hidden, r->L = cfg.layers;
    r->count = seqgen_model_tensor_count(m);
    for (int i = 0; i < r->count; i++) {
        const char *name;
        int rows, cols;
        if (seqgen_model_tensor_info(m, i, &name, &rows, &cols) != SEQGEN_OK)
            abort();
        snprintf(r->names[i], sizeof r->names[i], "%s", name);
        r->n[i] = (size_t)rows * cols;
        float *f = malloc(r->n[i] * sizeof *f);
        r->t[i] = malloc(r->n[i] * sizeof *r->t[i]);
        if (!f || !r->t[i] || seqgen_model_get_tensor(m, name, f, r->n[i]) != SEQGEN_OK)
            abort();
        for (size_t k = 0; k < r->n[i]; k++)
            r->t[i][k] = f[k];
        free(f);
    }
}

static void ref_free(ref_model *r)
{
    for (int i = 0; i < r->count; i++)
        free(r->t[i]);
}

/* The position of tensor `name` in the table (aborts if there is none). */
static int ref_index(const ref_model *r, const char *name)
{
    for (int i = 0; i < r->count; i++)
        if (strcmp(r->names[i], name) == 0)
            return i;
    abort();
}

static double *ref_tensor(const ref_model *r, const char *name)
{
    return r->t[ref_index(r, name)];
}

static double ref_sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* One GRU cell: h_new [H] from x [in] and h [H] with layer k's weights. If `cache` is not NULL
 * it receives r, z, n and hn = W_hn h + b_hn, [4][H], for ref_backward(). */
static void ref_cell(const ref_model *r, int k, int in, const double *x, const double *h,
                     double *h_new, double *cache)
{
    char name[32];
    const int H = r->H;
    snprintf(name, sizeof name, "weight_ih_l%d", k);
    const double *w_ih = ref_tensor(r, name);
    snprintf(name, sizeof name, "weight_hh_l%d", k);
    const double *w_hh = ref_tensor(r, name);
    snprintf(name, sizeof name, "bias_ih_l%d", k);
    const double *b_ih = ref_tensor(r, name);
    snprintf(name, sizeof name, "bias_hh_l%d", k);
    const double *b_hh = ref_tensor(r, name);
    for (int j = 0; j < H; j++) {
        double gi[3], gh[3];
        for (int g = 0; g < 3; g++) {
            int row = g * H + j;
            gi[g] = b_ih[row];
            gh[g] = b_hh[row];
            for (int c = 0; c < in; c++)
                gi[g] += w_ih[row * in + c] * x[c];
            for (int c = 0; c < H; c++)
                gh[g] += w_hh[row * H + c] * h[c];
        }
        double rg = ref_sigmoid(gi[0] + gh[0]);
        double z = ref_sigmoid(gi[1] + gh[1]);
        double n = tanh(gi[2] + rg * gh[2]);
        h_new[j] = (1.0 - z) * n + z * h[j];
        if (cache)
            cache[j] = rg, cache[H + j] = z, cache[2 * H + j] = n, cache[3 * H + j] = gh[2];
    }
}

/* The feedback kinds of seqgen.h, for fed-back values computed by the reference. */
static double ref_feedback(seqgen_feedback kind, double prob, double uniform)
{
    if (kind == SEQGEN_FEEDBACK_THRESHOLD)
        return prob > 0.5 ? 1.0 : 0.0;
    if (kind == SEQGEN_FEEDBACK_PROB)
        return prob;
    return uniform < prob ? 1.0 : 0.0;
}

/* Runs B sequences of T steps. x [B][T][D] are the true inputs; if teacher [B][T] is not NULL,
 * step t > 0 of sequence b takes the fed-back output of step t-1 where teacher is 0. fed
 * [B][T][D] (may be NULL) receives the inputs actually used; logits [B][T][D] the outputs; top
 * [B][T][H] (may be NULL) the top layer's states (which an autoregressive head's hidden layer
 * reads). */
static void ref_forward_top(const ref_model *r, int B, int T, const double *x,
                            const unsigned char *teacher, seqgen_feedback kind, double *fed,
                            double *logits, double *top)
{
    const int D = r->D, H = r->H, L = r->L;
    double *h = calloc((size_t)L * H, sizeof *h), *h_new = calloc(H, sizeof *h_new);
    double *in = calloc((size_t)(D > H ? D : H), sizeof *in);
    const double *w_out = ref_tensor(r, "out.weight"), *b_out = ref_tensor(r, "out.bias");
    if (!h || !h_new || !in)
        abort();
    for (int b = 0; b < B; b++) {
        memset(h, 0, (size_t)L * H * sizeof *h);
        for (int t = 0; t < T; t++) {
            const size_t at = ((size_t)b * T + t) * D;
            for (int d = 0; d < D; d++)
                in[d] = teacher && t > 0 && !teacher[(size_t)b * T + t]
                            ? ref_feedback(kind, ref_sigmoid(logits[at - D + d]), 0.0)
                            : x[at + d];
            if (fed)
                memcpy(fed + at, in, D * sizeof *in);
            for (int k = 0; k < L; k++) {
                ref_cell(r, k, k == 0 ? D : H, in, h + (size_t)k * H, h_new, NULL);
                memcpy(h + (size_t)k * H, h_new, H * sizeof *h_new);
                memcpy(in, h_new, H * sizeof *h_new);
            }
            if (top)
                memcpy(top + ((size_t)b * T + t) * H, h + (size_t)(L - 1) * H, H * sizeof *h);
            for (int d = 0; d < D; d++) {
                double a = b_out[d];
                for (int c = 0; c < H; c++)
                    a += w_out[d * H + c] * h[(size_t)(L - 1) * H + c];
                logits[at + d] = a;
            }
        }
    }
    free(h);
    free(h_new);
    free(in);
}

static void ref_forward(const ref_model *r, int B, int T, const double *x,
                        const unsigned char *teacher, seqgen_feedback kind, double *fed,
                        double *logits)
{
    ref_forward_top(r, B, T, x, teacher, kind, fed, logits, NULL);
}

/* PyTorch's mean MSE on probabilities or mean BCE, over n predictions. */
static double ref_loss(seqgen_loss loss, size_t n, const double *logits, const double *y)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double p = ref_sigmoid(logits[i]);
        sum += loss == SEQGEN_LOSS_MSE ? (p - y[i]) * (p - y[i])
                                       : -(y[i] * log(p) + (1.0 - y[i]) * log(1.0 - p));
    }
    return sum / (double)n;
}

/* ---- Backward ------------------------------------------------------------------------------ */
/* Declared inline only so that suites which use the forward alone get no unused-function
 * warning. */

/* The tensors of layer k (params: r->t, or a gradient table of the same layout). */
static inline void ref_layer(const ref_model *r, double *const *table, int k, double **w_ih,
                             double **w_hh, double **b_ih, double **b_hh)
{
    char name[32];
    snprintf(name, sizeof name, "weight_ih_l%d", k);
    *w_ih = table[ref_index(r, name)];
    snprintf(name, sizeof name, "weight_hh_l%d", k);
    *w_hh = table[ref_index(r, name)];
    snprintf(name, sizeof name, "bias_ih_l%d", k);
    *b_ih = table[ref_index(r, name)];
    snprintf(name, sizeof name, "bias_hh_l%d", k);
    *b_hh = table[ref_index(r, name)];
}

/* Backward of ref_cell() for layer k at one step. dh [H] is dL/dh' on entry and dL/dh on return
 * (the gradient reaching the previous hidden state through this step); dx [in] receives dL/dx
 * (NULL: not wanted); x, h and cache are the step's input, previous state and gates. Adds the
 * layer's weight gradients to grads (the tensor table's layout). With the pre-activations
 * a_r = W_ir x + b_ir + W_hr h + b_hr, a_z likewise, a_n = W_in x + b_in + r hn:
 *   da_n = dh' (1 - z) (1 - n^2)          (h' = (1 - z) n + z h, n = tanh a_n)
 *   da_z = dh' (h - n) z (1 - z)          (z = sigmoid a_z)
 *   da_r = da_n hn r (1 - r)              (r = sigmoid a_r, through r hn)
 *   dhn  = da_n r                         (hn = W_hn h + b_hn, inside the reset product)
 *   dW_ih += [da_r; da_z; da_n] x^T,  db_ih += [da_r; da_z; da_n]
 *   dW_hh += [da_r; da_z; dhn] h^T,   db_hh += [da_r; da_z; dhn]
 *   dh    = dh' z + W_hh^T [da_r; da_z; dhn]
 *   dx    = W_ih^T [da_r; da_z; da_n] */
static inline void ref_cell_backward(const ref_model *r, double *const *grads, int k, int in,
                                     const double *x, const double *h, const double *cache,
                                     double *dh, double *dx)
{
    const int H = r->H;
    double *w_ih, *w_hh, *b_ih, *b_hh, *gw_ih, *gw_hh, *gb_ih, *gb_hh;
    ref_layer(r, r->t, k, &w_ih, &w_hh, &b_ih, &b_hh);
    ref_layer(r, grads, k, &gw_ih, &gw_hh, &gb_ih, &gb_hh);
    double *dprev = calloc(H, sizeof *dprev);
    if (!dprev)
        abort();
    if (dx)
        memset(dx, 0, in * sizeof *dx);
    for (int j = 0; j < H; j++) {
        const double rg = cache[j], z = cache[H + j], n = cache[2 * H + j], hn = cache[3 * H + j];
        const double da_n = dh[j] * (1.0 - z) * (1.0 - n * n);
        const double da_z = dh[j] * (h[j] - n) * z * (1.0 - z);
        const double da_r = da_n * hn * rg * (1.0 - rg);
        const double dhn = da_n * rg;
        const double d_in[3] = {da_r, da_z, da_n}, d_hid[3] = {da_r, da_z, dhn};
        dprev[j] += dh[j] * z;
        for (int g = 0; g < 3; g++) {
            const int row = g * H + j;
            gb_ih[row] += d_in[g];
            gb_hh[row] += d_hid[g];
            for (int c = 0; c < in; c++) {
                gw_ih[row * in + c] += d_in[g] * x[c];
                if (dx)
                    dx[c] += w_ih[row * in + c] * d_in[g];
            }
            for (int c = 0; c < H; c++) {
                gw_hh[row * H + c] += d_hid[g] * h[c];
                dprev[c] += w_hh[row * H + c] * d_hid[g];
            }
        }
    }
    memcpy(dh, dprev, H * sizeof *dh);
    free(dprev);
}

/* The loss of ref_forward(x, teacher, kind) against targets y [B][T][D] (mean over B*T*D, as
 * ref_loss) and its gradient by backpropagation through time: grads[i] (r->n[i] doubles, zeroed
 * here) for tensor i of the table. logits [B][T][D] receives the outputs (may be NULL).
 * Fed-back inputs are constants, as in the library: ref_forward() computes them first, then each
 * sequence is run again with them as its inputs, keeping every step's states and gates, and
 * backpropagated from its last step to its first. Output layer (p = sigmoid(a),
 * a = W_out h_top + b_out, N = B*T*D):
 *   da = (p - y) / N                      (BCE from the logit)
 *   da = 2 (p - y) p (1 - p) / N          (MSE on the probability)
 *   dW_out += da h_top^T,  db_out += da,  dh_top = W_out^T da
 * Layer k at step t receives dh' = (dh_top of step t, or dx of layer k + 1 at step t) + (dh of
 * its own step t + 1). */
static inline double ref_backward(const ref_model *r, int B, int T, const double *x,
                                  const unsigned char *teacher, seqgen_feedback kind,
                                  seqgen_loss loss, const double *y, double *const *grads,
                                  double *logits)
{
    const int D = r->D, H = r->H, L = r->L;
    const size_t n = (size_t)B * T * D;
    double *fed = malloc(n * sizeof *fed), *out = malloc(n * sizeof *out);
    double *h = malloc((size_t)L * (T + 1) * H * sizeof *h); /* [L][T+1][H], h[k][0] = 0 */
    double *cache = malloc((size_t)L * T * 4 * H * sizeof *cache); /* [L][T][4][H] */
    double *dh = malloc((size_t)L * H * sizeof *dh);                /* [L][H] */
    double *down = malloc((size_t)H * sizeof *down); /* dh' from above */
    double *dx = malloc((size_t)H * sizeof *dx);
    if (!fed || !out || !h || !cache || !dh || !down || !dx)
        abort();
    for (int i = 0; i < r->count; i++)
        memset(grads[i], 0, r->n[i] * sizeof *grads[i]);
    ref_forward(r, B, T, x, teacher, kind, fed, out);
    const double *w_out = ref_tensor(r, "out.weight");
    double *gw_out = grads[ref_index(r, "out.weight")], *gb_out = grads[ref_index(r, "out.bias")];
#define REF_H(k, t) (h + ((size_t)(k) * (T + 1) + (t)) * H)
#define REF_CACHE(k, t) (cache + ((size_t)(k) * T + (t)) * 4 * H)
    for (int b = 0; b < B; b++) {
        const double *seq = fed + (size_t)b * T * D;
        for (int k = 0; k < L; k++)
            memset(REF_H(k, 0), 0, H * sizeof *h);
        for (int t = 0; t < T; t++)
            for (int k = 0; k < L; k++)
                ref_cell(r, k, k == 0 ? D : H, k == 0 ? seq + (size_t)t * D : REF_H(k - 1, t + 1),
                         REF_H(k, t), REF_H(k, t + 1), REF_CACHE(k, t));
        memset(dh, 0, (size_t)L * H * sizeof *dh);
        for (int t = T - 1; t >= 0; t--) {
            const double *top = REF_H(L - 1, t + 1);
            memset(down, 0, H * sizeof *down);
            for (int d = 0; d < D; d++) {
                const size_t at = ((size_t)b * T + t) * D + d;
                double a = ref_tensor(r, "out.bias")[d];
                for (int c = 0; c < H; c++)
                    a += w_out[d * H + c] * top[c];
                const double p = ref_sigmoid(a);
                const double da = (loss == SEQGEN_LOSS_BCE ? p - y[at]
                                                           : 2.0 * (p - y[at]) * p * (1.0 - p)) /
                                  (double)n;
                out[at] = a;
                gb_out[d] += da;
                for (int c = 0; c < H; c++) {
                    gw_out[d * H + c] += da * top[c];
                    down[c] += w_out[d * H + c] * da;
                }
            }
            for (int k = L - 1; k >= 0; k--) {
                double *dk = dh + (size_t)k * H;
                for (int j = 0; j < H; j++)
                    dk[j] += down[j];
                ref_cell_backward(r, grads, k, k == 0 ? D : H,
                                  k == 0 ? seq + (size_t)t * D : REF_H(k - 1, t + 1), REF_H(k, t),
                                  REF_CACHE(k, t), dk, k > 0 ? dx : NULL);
                if (k > 0)
                    memcpy(down, dx, H * sizeof *down);
            }
        }
    }
#undef REF_H
#undef REF_CACHE
    double value = ref_loss(loss, n, out, y);
    if (logits)
        memcpy(logits, out, n * sizeof *logits);
    free(fed), free(out), free(h), free(cache), free(dh), free(down), free(dx);
    return value;
}

#endif
