/* MSE and binary cross-entropy on logits, cross-entropy on a softmax (see loss.h). */
#include "loss.h"

#include <math.h>

#include "kernels.h"

void sg_loss_sums(size_t n, const float *a, const float *y, seqgen_loss loss, double scale,
                  float *prob, float *dlogit, double *mse_sum, double *bce_sum)
{
    double mse = 0.0, bce = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float logit = a[i];
        const float p = sg_sigmoidf(logit);
        const double diff = (double)p - y[i];
        mse += diff * diff;
        bce += sg_softplus(logit) - (double)y[i] * logit;
        if (prob)
            prob[i] = p;
        if (dlogit)
            dlogit[i] = (float)(loss == SEQGEN_LOSS_BCE ? diff * scale
                                                        : 2.0 * diff * scale * p * (1.0f - p));
    }
    *mse_sum += mse;
    *bce_sum += bce;
}

/* max_k a_k. */
static float max_of(int n, const float *a)
{
    float m = a[0];
    for (int k = 1; k < n; k++)
        m = a[k] > m ? a[k] : m;
    return m;
}

/* sum_k exp(a_k - m) in double; the terms are also written to e [n] (which may be a) if it is
 * not NULL, else they pass through a block on the stack. */
static double sum_exp(int n, const float *a, float m, float *e)
{
    enum { BLOCK = 256 };
    float block[BLOCK];
    double sum = 0.0;
    for (int k0 = 0; k0 < n; k0 += BLOCK) {
        const int count = n - k0 < BLOCK ? n - k0 : BLOCK;
        float *terms = e ? e + k0 : block;
        sg_exp_shifted(count, a + k0, m, terms);
        for (int k = 0; k < count; k++)
            sum += terms[k];
    }
    return sum;
}

double sg_log_sum_exp(int n, const float *a)
{
    const float m = max_of(n, a);
    return m + log(sum_exp(n, a, m, NULL));
}

double sg_softmax(int n, const float *a, float *p)
{
    const float m = max_of(n, a);
    const double sum = sum_exp(n, a, m, p), inv = 1.0 / sum;
    for (int k = 0; k < n; k++)
        p[k] = (float)(p[k] * inv);
    return m + log(sum);
}

double sg_loss_ce(int n, const float *a, int32_t y, double scale, float *prob, float *dlogit)
{
    const float a_y = a[y]; /* before dlogit, which may be a, is written */
    float *terms = dlogit ? dlogit : prob;
    if (!terms)
        return sg_log_sum_exp(n, a) - a_y;
    const float m = max_of(n, a);
    const double sum = sum_exp(n, a, m, terms), inv = 1.0 / sum;
    for (int k = 0; k < n; k++) {
        const double p = terms[k] * inv;
        if (prob)
            prob[k] = (float)p;
        if (dlogit)
            dlogit[k] = (float)(scale * (p - (k == y)));
    }
    return m + log(sum) - a_y;
}
