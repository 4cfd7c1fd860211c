/* The output head's forward and backward, its probabilities, losses and feedback (see head.h). */
#include "head.h"

#include <math.h>
#include <string.h>

#include "kernels.h"
#include "loss.h"
#include "status.h"

void sg_head_made_cond(int rows, int hidden, const sg_head_weights *w, const float *h,
                       float *made)
{
    const int M = w->made_hidden;
    sg_gemm(0, 1, rows, M, hidden, 1.0f, h, hidden, w->made_cond, hidden, 0.0f, made, M);
    for (size_t i = 0; i < (size_t)rows; i++)
        for (int k = 0; k < M; k++)
            made[i * M + k] += w->made_cond_bias[k];
}

void sg_head_made_mask(int outputs, int made_hidden, float *made_in, float *made_out)
{
    const int D = outputs, M = made_hidden;
    for (int k = 0; made_in && k < M; k++)
        for (int j = 0; j < D; j++)
            if (!sg_made_in_used(k, j, D))
                made_in[(size_t)k * D + j] = 0.0f;
    for (int d = 0; made_out && d < D; d++)
        for (int k = 0; k < M; k++)
            if (!sg_made_out_used(d, k, D))
                made_out[(size_t)d * M + k] = 0.0f;
}

/* The hidden layer's forward over `rows` rows: Zpre = units A^T + h C^T + c, Z = relu(Zpre),
 * logits += Z E^T (A's and E's masked zeros make the full products the masked ones). */
static void made_forward(int rows, int hidden, int D, const sg_head_weights *w, const float *h,
                         const float *units, float *made, float *logits)
{
    const int M = w->made_hidden;
    float *zpre = made, *z = made + (size_t)rows * M;
    sg_head_made_cond(rows, hidden, w, h, zpre);
    sg_gemm(0, 1, rows, M, D, 1.0f, units, D, w->made_in, D, 1.0f, zpre, M);
    for (size_t i = 0; i < (size_t)rows * M; i++)
        z[i] = zpre[i] > 0.0f ? zpre[i] : 0.0f;
    sg_gemm(0, 1, rows, D, M, 1.0f, z, M, w->made_out, M, 1.0f, logits, D);
}

void sg_head_forward(int rows, int hidden, int outputs, const sg_head_weights *w, const float *h,
                     const float *units, float *made, float *logits)
{
    const int D = outputs;
    sg_gemm(0, 1, rows, D, hidden, 1.0f, h, hidden, w->weight, hidden, 0.0f, logits, D);
    for (size_t i = 0; i < (size_t)rows; i++)
        for (int d = 0; d < D; d++)
            logits[i * D + d] += w->bias[d];
    /* U's zeros on and above the diagonal make the full product the strictly lower one */
    if (w->ar_weight && units)
        sg_gemm(0, 1, rows, D, D, 1.0f, units, D, w->ar_weight, D, 1.0f, logits, D);
    if (w->made_in && units)
        made_forward(rows, hidden, D, w, h, units, made, logits);
}

/* The hidden layer's backward (see sg_head_backward); Z becomes dL/dZpre. */
static void made_backward(int rows, int hidden, int D, const sg_head_weights *w, const float *h,
                          const float *units, float *made, const float *dlogits,
                          const sg_head_weights *grad, float *dh)
{
    const int M = w->made_hidden, H = hidden;
    const float *zpre = made;
    float *z = made + (size_t)rows * M;
    sg_gemm(1, 0, D, M, rows, 1.0f, dlogits, D, z, M, 1.0f, grad->made_out, M);
    float *dz = z; /* dZ = dlogits E, then through the ReLU */
    sg_gemm(0, 0, rows, M, D, 1.0f, dlogits, D, w->made_out, M, 0.0f, dz, M);
    for (size_t i = 0; i < (size_t)rows * M; i++)
        dz[i] = zpre[i] > 0.0f ? dz[i] : 0.0f;
    sg_gemm(1, 0, M, D, rows, 1.0f, dz, M, units, D, 1.0f, grad->made_in, D);
    sg_gemm(1, 0, M, H, rows, 1.0f, dz, M, h, H, 1.0f, grad->made_cond, H);
    sg_sum_rows(rows, M, dz, M, grad->made_cond_bias);
    sg_gemm(0, 0, rows, H, M, 1.0f, dz, M, w->made_cond, H, 1.0f, dh, H);
    /* the masked entries take no part: their gradient is 0 */
    sg_head_made_mask(D, M, grad->made_in, grad->made_out);
}

/* With one unit per step the products are a weighted sum of rows and an outer product, where
 * GEMMs with M = 1 and K = 1 would spend more on packing than on arithmetic. */
void sg_head_backward(int rows, int hidden, int outputs, const sg_head_weights *w, const float *h,
                      const float *units, float *made, const float *dlogits,
                      const sg_head_weights *grad, float *dh)
{
    const int D = outputs, H = hidden;
    if (D == 1) {
        sg_sum_rows_weighted(rows, H, dlogits, h, H, grad->weight);
        sg_outer_product(rows, H, dlogits, w->weight, dh);
    } else {
        sg_gemm(1, 0, D, H, rows, 1.0f, dlogits, D, h, H, 1.0f, grad->weight, H);
        sg_gemm(0, 0, rows, H, D, 1.0f, dlogits, D, w->weight, H, 0.0f, dh, H);
    }
    sg_sum_rows(rows, D, dlogits, D, grad->bias);
    if (w->ar_weight && units) {
        sg_gemm(1, 0, D, D, rows, 1.0f, dlogits, D, units, D, 1.0f, grad->ar_weight, D);
        for (int d = 0; d < D; d++) /* U_dj for j >= d takes no part: its gradient is 0 */
            memset(grad->ar_weight + (size_t)d * D + d, 0, (size_t)(D - d) * sizeof(float));
    }
    if (w->made_in && units)
        made_backward(rows, hidden, D, w, h, units, made, dlogits, grad, dh);
}

void sg_head_made_advance(int outputs, const sg_head_weights *w, int d, const float *units,
                          float *made)
{
    const int D = outputs, M = w->made_hidden;
    /* the hidden units of degree d - 1 see units 0 .. d - 1, all decided now */
    for (int k = 0; d > 0 && k < M; k++)
        if (sg_made_degree(k, D) == d - 1) {
            const float *in = w->made_in + (size_t)k * D;
            float pre = made[k];
            for (int j = 0; j < d; j++)
                pre += in[j] * units[j];
            made[k] = pre > 0.0f ? pre : 0.0f;
        }
}

float sg_head_ar_logit(int outputs, const sg_head_weights *w, int d, float base,
                       const float *units, float *made)
{
    const int D = outputs, M = w->made_hidden;
    const float *u = w->ar_weight + (size_t)d * D;
    float a = base;
    for (int j = 0; j < d; j++)
        a += u[j] * units[j];
    if (!made || !w->made_in)
        return a;
    sg_head_made_advance(D, w, d, units, made);
    const float *e = w->made_out + (size_t)d * M;
    for (int k = 0; k < M; k++)
        if (sg_made_degree(k, D) < d)
            a += e[k] * made[k];
    return a;
}

void sg_head_probs_backward(sg_head_kind kind, int outputs, const float *p, const float *dp,
                            float *dlogit)
{
    if (kind == SG_HEAD_CATEGORICAL) {
        double mean = 0.0; /* sum_j p_j dp_j */
        for (int j = 0; j < outputs; j++)
            mean += (double)p[j] * dp[j];
        for (int k = 0; k < outputs; k++)
            dlogit[k] += (float)(p[k] * (dp[k] - mean));
    } else {
        for (int d = 0; d < outputs; d++)
            dlogit[d] += dp[d] * p[d] * (1.0f - p[d]);
    }
}

int sg_head_check_options(sg_head_kind kind, seqgen_loss loss, seqgen_feedback feedback,
                          int feedback_used)
{
    if (kind == SG_HEAD_CATEGORICAL) {
        if (loss != SEQGEN_LOSS_CE)
            return sg_error(SEQGEN_EINVAL, "loss %d is a loss of binary units: a categorical "
                            "model takes SEQGEN_LOSS_CE", (int)loss);
        if (feedback_used && feedback == SEQGEN_FEEDBACK_PROB)
            return sg_error(SEQGEN_EINVAL, "SEQGEN_FEEDBACK_PROB feeds probabilities back, which "
                            "a categorical model cannot read: use SAMPLE or THRESHOLD");
    } else if (loss == SEQGEN_LOSS_CE) {
        return sg_error(SEQGEN_EINVAL, "SEQGEN_LOSS_CE is the loss of symbols: a model of binary "
                        "units takes SEQGEN_LOSS_MSE or SEQGEN_LOSS_BCE");
    }
    if (sg_head_is_ar(kind) && feedback_used)
        return sg_error(SEQGEN_EINVAL, "scheduled sampling (teacher_prob < 1) is not implemented "
                        "for the autoregressive head %s: a fed-back step would need its units "
                        "drawn one after another; train it with teacher_prob 1",
                        kind == SG_HEAD_BERNOULLI_AR ? "SEQGEN_HEAD_LINEAR_AR"
                                                     : "SEQGEN_HEAD_MADE_AR");
    return SEQGEN_OK;
}

void sg_head_probs(sg_head_kind kind, int rows, int outputs, const float *logits, float *probs)
{
    const size_t O = (size_t)outputs;
    if (kind == SG_HEAD_CATEGORICAL) {
        for (size_t i = 0; i < (size_t)rows; i++)
            sg_softmax(outputs, logits + i * O, probs + i * O);
    } else {
        for (size_t i = 0; i < (size_t)rows * O; i++)
            probs[i] = sg_sigmoidf(logits[i]);
    }
}

void sg_head_loss(sg_head_kind kind, int outputs, const float *logits, sg_head_target target,
                  seqgen_loss loss, double scale, float *prob, float *dlogit, sg_head_sums *sums)
{
    if (kind == SG_HEAD_CATEGORICAL)
        sums->ce += sg_loss_ce(outputs, logits, target.symbol, scale, prob, dlogit);
    else
        sg_loss_sums((size_t)outputs, logits, target.units, loss, scale, prob, dlogit, &sums->mse,
                     &sums->bce);
}

double sg_head_loss_of(const sg_head_sums *sums, seqgen_loss loss)
{
    return loss == SEQGEN_LOSS_CE ? sums->ce : loss == SEQGEN_LOSS_BCE ? sums->bce : sums->mse;
}

double sg_head_nll_of(sg_head_kind kind, const sg_head_sums *sums)
{
    return kind == SG_HEAD_CATEGORICAL ? sums->ce : sums->bce;
}

/* The symbol drawn from softmax(a) by the inverse of its distribution function at u in [0, 1):
 * the first k whose cumulative probability exceeds u, the sums in double; the last symbol of
 * non-zero probability if rounding leaves u above them all. */
static int32_t sample_symbol(int n, const float *a, float u)
{
    const double lse = sg_log_sum_exp(n, a);
    double cumulative = 0.0;
    int32_t last = 0;
    for (int k = 0; k < n; k++) {
        const double p = exp((double)a[k] - lse);
        if (p > 0.0)
            last = k;
        cumulative += p;
        if (u < cumulative)
            return k;
    }
    return last;
}

static int32_t argmax(int n, const float *a)
{
    int32_t best = 0;
    for (int k = 1; k < n; k++)
        if (a[k] > a[best])
            best = k;
    return best;
}

/* The value fed back for one unit whose predicted logit is `logit`. */
static float unit_feedback(seqgen_feedback kind, float logit, float uniform)
{
    float prob = sg_sigmoidf(logit);
    switch (kind) {
    case SEQGEN_FEEDBACK_THRESHOLD: return prob > 0.5f ? 1.0f : 0.0f;
    case SEQGEN_FEEDBACK_PROB: return prob;
    default: return uniform < prob ? 1.0f : 0.0f;
    }
}

int32_t sg_head_feedback(sg_head_kind kind, int outputs, const float *logits,
                         seqgen_feedback feedback, const float *uniforms, float *units)
{
    if (kind == SG_HEAD_CATEGORICAL)
        return feedback == SEQGEN_FEEDBACK_THRESHOLD ? argmax(outputs, logits)
                                                     : sample_symbol(outputs, logits, uniforms[0]);
    for (int d = 0; d < outputs; d++)
        units[d] = unit_feedback(feedback, logits[d], uniforms ? uniforms[d] : 0.0f);
    return 0;
}
