/* The losses of one binary prediction, from its logit a (prob = sigmoid(a)) and target y:
 *   MSE: (prob - y)^2,                 d/da = 2 (prob - y) prob (1 - prob)
 *   BCE: softplus(a) - y a             d/da = prob - y
 * (softplus(a) - y a equals -[y log prob + (1 - y) log(1 - prob)] for every y, and is finite for
 * every finite a, where log(prob) would underflow). Means over N predictions are taken by the
 * caller via `scale` = 1 / N. */
#ifndef SEQGEN_LOSS_H
#define SEQGEN_LOSS_H

#include <stddef.h>
#include <stdint.h>

#include "seqgen.h"

/* Sums of both losses over n predictions (logits a, targets y); writes the probabilities to
 * prob (if not NULL) and, if dlogit is not NULL, dL/da of `loss` scaled by `scale` (dlogit may
 * alias a). Sums are in double. */
void sg_loss_sums(size_t n, const float *a, const float *y, seqgen_loss loss, double scale,
                  float *prob, float *dlogit, double *mse_sum, double *bce_sum);

/* The categorical loss of one prediction, logits a [V] and target symbol y, from the
 * log-softmax log p_k = a_k - lse(a), lse(a) = m + log sum_k exp(a_k - m), m = max_k a_k:
 *   CE: -log p_y = lse(a) - a_y,       d/da_k = p_k - [k = y]
 * (nn.CrossEntropyLoss). Subtracting the maximum keeps every exp in (0, 1], one of them 1, so
 * nothing overflows and the sum is at least 1. Each term exp(a_k - m) is a vectorised float
 * exp (sg_expf, about 2 ulp: a relative error of about 2e-7 on each probability, as float
 * arithmetic gives anyway); the sum, the log and the loss are in double. */
double sg_log_sum_exp(int n, const float *a);

/* p [n] = softmax(a) (p may be a); returns lse(a). */
double sg_softmax(int n, const float *a, float *p);

/* CE of one prediction; writes the probabilities to prob (if not NULL) and, if dlogit is not
 * NULL, dL/da scaled by `scale` (dlogit may alias a). Returns the CE in nats. */
double sg_loss_ce(int n, const float *a, int32_t y, double scale, float *prob, float *dlogit);

#endif
