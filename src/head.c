/* The output head's forward and backward, its probabilities, losses and feedback (see head.h). */
#include "head.h"

#include <math.h>
#include <string.h>

#include "kernels.h"
#include "loss.h"
#include "status.h"

void sg_head_forward(int rows, int hidden, int outputs, const sg_head_weights *w, const float *h,
                     const float *units, float *logits)
{
    const int D = outputs;
    sg_gemm(0, 1, rows, D, hidden, 1.0f, h, hidden, w->weight, hidden, 0.0f, logits, D);
    for (size_t i = 0; i < (size_t)rows; i++)
        for (int d = 0; d < D; d++)
            logits[i * D + d] += w->bias[d];
    /* U's zeros on and above the diagonal make the full product the strictly lower one */
    if (w->ar_weight && units)
        sg_gemm(0, 1, rows, D, D, 1.0f, units, D, w->ar_weight, D, 1.0f, logits, D);
}

/* With one unit per step the products are a weighted sum of rows and an outer product, where
 * GEMMs with M = 1 and K = 1 would spend more on packing than on arithmetic. */
void sg_head_backward(int rows, int hidden, int outputs, const sg_head_weights *w, const float *h,
                      const float *units, const float *dlogits, const sg_head_weights *grad,
                      float *dh)
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
}

float sg_head_ar_logit(int outputs, const sg_head_weights *w, int d, float base,
                       const float *units)
{
    const float *u = w->ar_weight + (size_t)d * outputs;
    float a = base;
    for (int j = 0; j < d; j++)
        a += u[j] * units[j];
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
    if (kind == SG_HEAD_BERNOULLI_AR && feedback_used)
        return sg_error(SEQGEN_EINVAL, "scheduled sampling (teacher_prob < 1) is not implemented "
                        "for the autoregressive head SEQGEN_HEAD_LINEAR_AR: a fed-back step would "
                        "need its units drawn one after another; train it with teacher_prob 1");
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
