/* MSE and binary cross-entropy on logits (see loss.h). */
#include "loss.h"

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
