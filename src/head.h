/* The output head: the logits of the next step from the top GRU layer's state,
 *   a = W_out h + b_out        (W_out [O][H], b_out [O]: PyTorch's nn.Linear(H, O))
 * and its backward, then what the logits mean, by the head's kind:
 *   Bernoulli:   O = D independent binary units, p_d = sigmoid(a_d), losses MSE and BCE;
 *   Bernoulli autoregressive (the linear AR head): the same units, but a_d also reads the
 *                step's own units before d, a += x U^T with U [D][D] strictly lower
 *                triangular (its entries on and above the diagonal are kept 0, so the product
 *                may be a plain GEMM);
 *   Bernoulli MADE (the linear AR head plus a masked hidden layer of M units, conditioned on h):
 *                z = relu(x A^T + h C^T + c), a += z E^T, A [M][D] and E [D][M] masked by the
 *                degrees m_k = k mod (D - 1): A_kj used iff j <= m_k, E_dk iff d > m_k (the
 *                masked entries are kept 0, as U's, so the products may be plain GEMMs);
 *   categorical: O = V, one symbol of V, p = softmax(a), loss CE.
 * Every path through the model (training, completion, single steps) computes its outputs, its
 * losses and what scheduled sampling feeds back here, so that another kind is one more case of
 * the functions below. The losses' arithmetic is in loss.h. Nothing here allocates. */
#ifndef SEQGEN_HEAD_H
#define SEQGEN_HEAD_H

#include <stddef.h>
#include <stdint.h>

#include "seqgen.h"

/* How a step's logits become a distribution over the next step. */
typedef enum sg_head_kind {
    SG_HEAD_BERNOULLI = 0,   /* D units, each sigmoid(a_d) */
    SG_HEAD_CATEGORICAL = 1, /* one symbol, softmax(a) over V */
    SG_HEAD_BERNOULLI_AR = 2, /* D units, a_d reading the step's units before d */
    SG_HEAD_BERNOULLI_MADE = 3 /* the same through a masked hidden layer too */
} sg_head_kind;

/* 1 if the head reads the step's own units (its logits complete one unit at a time). */
static inline int sg_head_is_ar(sg_head_kind kind)
{
    return kind == SG_HEAD_BERNOULLI_AR || kind == SG_HEAD_BERNOULLI_MADE;
}

/* The MADE degrees, the one statement of the masks: hidden unit k of a head of D >= 2 units has
 * degree k mod (D - 1); it reads unit j iff j <= its degree, and unit d reads it iff d > its
 * degree, so unit d depends on the units before it only. */
static inline int sg_made_degree(int k, int units)
{
    return k % (units - 1);
}

static inline int sg_made_in_used(int k, int j, int units) /* A_kj, [M][D] */
{
    return j <= sg_made_degree(k, units);
}

static inline int sg_made_out_used(int d, int k, int units) /* E_dk, [D][M] */
{
    return d > sg_made_degree(k, units);
}

/* The head's tensors, views into the model's parameter (or gradient) buffer. */
typedef struct sg_head_weights {
    float *weight;    /* [O][H] */
    float *bias;      /* [O] */
    float *ar_weight; /* [O][O] U, strictly lower triangular (the AR heads), else NULL */
    float *made_in;   /* [M][O] A, masked (SG_HEAD_BERNOULLI_MADE), else NULL ... */
    float *made_cond; /* [M][H] C */
    float *made_cond_bias; /* [M] c */
    float *made_out;  /* [O][M] E, masked */
    int made_hidden;  /* M, 0 without the hidden layer */
} sg_head_weights;

/* Floats of the hidden layer's activations for `rows` rows: Zpre and Z, [rows][M] each (0
 * without the layer). */
static inline size_t sg_head_made_floats(const sg_head_weights *w, size_t rows)
{
    return 2 * rows * (size_t)w->made_hidden;
}

/* logits [rows][O] = h [rows][H] W_out^T + b_out, then, with the autoregressive head and
 * `units` [rows][O] (the step's own units: the targets, in a teacher-forced pass), += units U^T,
 * and with the hidden layer Zpre = units A^T + h C^T + c, Z = relu(Zpre), logits += Z E^T, Zpre
 * and Z kept in made [2][rows][M] (sg_head_made_floats(), for the backward; else unused).
 * With units NULL the logits are the part of a_d that does not depend on the step's units, which
 * sg_head_ar_logit() completes one unit at a time. */
void sg_head_forward(int rows, int hidden, int outputs, const sg_head_weights *w, const float *h,
                     const float *units, float *made, float *logits);

/* The backward from dL/dlogits [rows][O], the states h [rows][H] and the units [rows][O] (or
 * NULL, as given to the forward) the forward read: ADDS dlogits^T h to grad->weight and the
 * column sums of dlogits to grad->bias, with the autoregressive head ADDS the strictly lower part
 * of dlogits^T units to grad->ar_weight and sets its other entries to 0 (no gradient flows into
 * the units), and writes dh [rows][H] = dlogits W_out, the gradient flowing into the top layer.
 * With the hidden layer, from made as the forward left it (its Z part is overwritten by
 * dL/dZpre): ADDS dE = dlogits^T Z, dA = dZpre^T units (both masked: 0 where unused),
 * dC = dZpre^T h, dc = column sums of dZpre, and dh += dZpre C. */
void sg_head_backward(int rows, int hidden, int outputs, const sg_head_weights *w, const float *h,
                      const float *units, float *made, const float *dlogits,
                      const sg_head_weights *grad, float *dh);

/* made [rows][M] = h [rows][H] C^T + c: the part of the hidden layer's pre-activations that does
 * not depend on the step's units, which sg_head_ar_logit() completes (completion). */
void sg_head_made_cond(int rows, int hidden, const sg_head_weights *w, const float *h,
                       float *made);

/* Sets the masked entries of A [M][D] and E [D][M] (either may be NULL) to 0. */
void sg_head_made_mask(int outputs, int made_hidden, float *made_in, float *made_out);

/* Unit d's logit under the autoregressive head: base (its logit from sg_head_forward() without
 * units) + sum_{j<d} U_dj units[j], units [d] the step's units before d, given or decoded.
 * With the hidden layer, made [M] (NULL without) starts as sg_head_made_cond()'s row and the
 * calls go through d = 0 .. D - 1 in order, each once: call d first completes the hidden units of
 * degree d - 1 from units[0 .. d - 1] (made_k becomes z_k), then adds sum_{k: m_k < d} E_dk z_k.
 * Only units before d are read. */
float sg_head_ar_logit(int outputs, const sg_head_weights *w, int d, float base,
                       const float *units, float *made);

/* The first half of sg_head_ar_logit()'s call d with the hidden layer: completes the hidden
 * units of degree d - 1 in made [M] from units[0 .. d - 1] (for a step's given units, whose
 * logits are not wanted). */
void sg_head_made_advance(int outputs, const sg_head_weights *w, int d, const float *units,
                          float *made);

/* SEQGEN_OK if `loss` and `feedback` are the kind's (and, for the autoregressive heads, no
 * feedback is used: a fed-back step would need its units drawn one after another), else
 * SEQGEN_EINVAL saying which are not. */
int sg_head_check_options(sg_head_kind kind, seqgen_loss loss, seqgen_feedback feedback,
                          int feedback_used);

/* probs [rows][O] from logits [rows][O] (may alias): sigmoid of each, or softmax of each row. */
void sg_head_probs(sg_head_kind kind, int rows, int outputs, const float *logits, float *probs);

/* dlogit [O] += dL/da of one step given dL/dp, dp [O], and its probabilities p [O]:
 *   Bernoulli:   dL/da_d = dp_d p_d (1 - p_d)
 *   categorical: dL/da_k = p_k (dp_k - sum_j p_j dp_j)   (the softmax's Jacobian)
 * For a loss of the probabilities themselves (professor forcing's discriminator reads them). */
void sg_head_probs_backward(sg_head_kind kind, int outputs, const float *p, const float *dp,
                            float *dlogit);

/* What one prediction is compared with: units [D] (Bernoulli) or symbol (categorical). */
typedef struct sg_head_target {
    const float *units;
    int32_t symbol;
} sg_head_target;

/* Sums of losses over predictions, in double: MSE and BCE (Bernoulli) or CE (categorical). */
typedef struct sg_head_sums {
    double mse, bce, ce;
} sg_head_sums;

/* The losses of one step's prediction, logits [O], added to `sums`; writes the probabilities
 * [O] to prob (if not NULL) and, if dlogit is not NULL, dL/da of `loss` scaled by `scale`
 * (dlogit may alias logits). */
void sg_head_loss(sg_head_kind kind, int outputs, const float *logits, sg_head_target target,
                  seqgen_loss loss, double scale, float *prob, float *dlogit, sg_head_sums *sums);

/* The selected loss and the negative log-likelihood in nats of summed losses. */
double sg_head_loss_of(const sg_head_sums *sums, seqgen_loss loss);
double sg_head_nll_of(sg_head_kind kind, const sg_head_sums *sums);

/* What scheduled sampling feeds back from one step's logits [O]: for Bernoulli, units [D] are
 * written (uniforms [D] for SAMPLE) and 0 returned; for categorical, the symbol is returned
 * (uniforms [1] for SAMPLE; units unused). */
int32_t sg_head_feedback(sg_head_kind kind, int outputs, const float *logits,
                         seqgen_feedback feedback, const float *uniforms, float *units);

#endif
