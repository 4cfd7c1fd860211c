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

double sg_log_sum_exp(int n, const float *a)
{
    float m = a[0];
    for (int k = 1; k < n; k++)
        m = a[k] > m ? a[k] : m;
    double sum = 0.0;
    for (int k = 0; k < n; k++)
        sum += exp((double)a[k] - m);
    return m + log(sum);
}

double sg_loss_ce(int n, const float *a, int32_t y, double scale, float *prob, float *dlogit)
{
    const double lse = sg_log_sum_exp(n, a), ce = lse - a[y];
    for (int k = 0; k < n; k++) {
        const double p = exp((double)a[k] - lse);
        if (prob)
            prob[k] = (float)p;
        if (dlogit)
            dlogit[k] = (float)(scale * (p - (k == y)));
    }
    return ce;
}
