/* A plain double-precision reference of the model for the tests: PyTorch's GRU equations written
 * out loop by loop, one sequence and one step at a time, with no BLAS, no batching, no
 * time-major layout and no code shared with src/. Parameters are read from a model by their
 * PyTorch names through the public API. Finite differences on this reference give the
 * gradients the library's backward pass must match. */
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
    r->D = cfg.pixels_per_step, r->H = cfg.hidden, r->L = cfg.layers;
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

static double *ref_tensor(const ref_model *r, const char *name)
{
    for (int i = 0; i < r->count; i++)
        if (strcmp(r->names[i], name) == 0)
            return r->t[i];
    abort();
}

static double ref_sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* One GRU cell: h_new [H] from x [in] and h [H] with layer k's weights. */
static void ref_cell(const ref_model *r, int k, int in, const double *x, const double *h,
                     double *h_new)
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
 * [B][T][D] (may be NULL) receives the inputs actually used; logits [B][T][D] the outputs. */
static void ref_forward(const ref_model *r, int B, int T, const double *x,
                        const unsigned char *teacher, seqgen_feedback kind, double *fed,
                        double *logits)
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
                ref_cell(r, k, k == 0 ? D : H, in, h + (size_t)k * H, h_new);
                memcpy(h + (size_t)k * H, h_new, H * sizeof *h_new);
                memcpy(in, h_new, H * sizeof *h_new);
            }
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

#endif
