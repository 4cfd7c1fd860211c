/* The losses of one prediction, from its logit a (prob = sigmoid(a)) and target y:
 *   MSE: (prob - y)^2,                 d/da = 2 (prob - y) prob (1 - prob)
 *   BCE: softplus(a) - y a             d/da = prob - y
 * (softplus(a) - y a equals -[y log prob + (1 - y) log(1 - prob)] for every y, and is finite for
 * every finite a, where log(prob) would underflow). Means over N predictions are taken by the
 * caller via `scale` = 1 / N. */
#ifndef SEQGEN_LOSS_H
#define SEQGEN_LOSS_H

#include <stddef.h>

#include "seqgen.h"

/* Sums of both losses over n predictions (logits a, targets y); writes the probabilities to
 * prob (if not NULL) and, if dlogit is not NULL, dL/da of `loss` scaled by `scale` (dlogit may
 * alias a). Sums are in double. */
void sg_loss_sums(size_t n, const float *a, const float *y, seqgen_loss loss, double scale,
                  float *prob, float *dlogit, double *mse_sum, double *bce_sum);

#endif
