/* The discriminator of professor forcing (Lamb et al. 2016; issue 18): from a behaviour sequence
 * b [B][T][F] of the generator (F = H + O: its top hidden state and its output probabilities at
 * each step; sequence s counts its first n_s steps), one logit per sequence, the odds that b is
 * teacher-forced behaviour (label 1) rather than free-running (label 0):
 *   u_0 = GRU_0(b)                       forward in time
 *   u_k = GRU_k(u_{k-1})                 layer k runs backward in time when k is odd
 *   m   = (1 / n_s) sum_{t < n_s} u_{K-1}[t]     the mean over the counted steps
 *   a   = W_2 tanh(W_1 m + b_1) + b_2    the MLP, one hidden layer of M units
 *   L   = (1 / B) sum_s BCE(a_s, y_s)    softplus(a) - y a (loss.h)
 * Backward in time means that step t of the layer reads step n_s - 1 - t of its input: each
 * sequence is reversed within its own length. The authors' discriminator is K = 3 (forward,
 * backward, forward). Each GRU layer is gru.c's, on rows packed step after step as in the
 * training pass (gru.h): the sequences sorted by decreasing length, nothing computed for padding.
 *
 * Parameters in one buffer, in this order, with PyTorch's names (a ModuleList of one-layer
 * nn.GRU, then nn.Sequential(Linear, Tanh, Linear)); the gradients in a second buffer of the same
 * layout:
 *   disc.gru.K.weight_ih_l0 [3Hd][in_K], disc.gru.K.weight_hh_l0 [3Hd][Hd],
 *   disc.gru.K.bias_ih_l0 [3Hd], disc.gru.K.bias_hh_l0 [3Hd]      for each layer K (in_0 = F,
 *                                                                  Hd above)
 *   disc.mlp.0.weight [M][Hd], disc.mlp.0.bias [M], disc.mlp.2.weight [1][M], disc.mlp.2.bias [1]
 * Initialised as PyTorch does: U(-1/sqrt(fan), 1/sqrt(fan)) with fan = Hd for the GRU layers and
 * the Linear's input size for the MLP. The workspace is grown to the largest batch seen, then
 * reused; one handle is used by one thread at a time. The public door (seqgen.h's
 * seqgen_discriminator_*) is in discriminator.c; the functions below are what it, and the
 * tests, use. */
#ifndef SEQGEN_DISCRIMINATOR_H
#define SEQGEN_DISCRIMINATOR_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Limits: F, Hd and M in [1, SG_MODEL_MAX_DIM]; K in [1, SG_DISC_MAX_LAYERS] (one digit in the
 * tensor names, which must fit an sg_tensor). */
#define SG_DISC_MAX_LAYERS 9

/* The handle of seqgen.h (seqgen_discriminator_create(), _free(); its configuration is
 * seqgen_discriminator_config: F, Hd, K, M, seed). */
typedef struct seqgen_discriminator sg_disc;

/* SEQGEN_OK, or SEQGEN_EINVAL naming the field of `cfg` out of range (what
 * seqgen_discriminator_create() checks; for the checkpoint loader too). */
int sg_disc_check_config(const seqgen_discriminator_config *cfg);

/* The parameter and gradient buffers, seqgen_discriminator_param_count() floats each, and the
 * tensor table (name, shape, offset in both buffers). */
float *sg_disc_params(sg_disc *d);
float *sg_disc_grads(sg_disc *d);
int sg_disc_tensor_count(const sg_disc *d);
const sg_tensor *sg_disc_tensor(const sg_disc *d, int index);

/* Sets the gradient buffer to zero. */
void sg_disc_zero_grads(sg_disc *d);

/* One pass over B sequences: behaviour [B][T][F] (batch-major, as the training pass writes it;
 * only the first lengths[s] steps of sequence s are read), lengths [B] each in [1, T] (NULL: all
 * T). logits [B] (if not NULL) receives a. With labels [B] (each in [0, 1]) not NULL, *stats (if
 * not NULL) receives L and the accuracy, the parameter gradients of L are ADDED to the gradient
 * buffer, and dbehaviour [B][T][F] (if not NULL) receives dL/db, 0 in the padding. With labels
 * NULL the pass is forward only. SEQGEN_EINVAL for arguments out of range or non-finite
 * behaviour, SEQGEN_ENOMEM if the workspace cannot grow, SEQGEN_ENUMERIC if the loss is not
 * finite. */
int sg_disc_forward_backward(sg_disc *d, const float *behaviour, const size_t *lengths, int batch,
                             int steps, const float *labels, float *logits,
                             seqgen_discriminator_stats *stats, float *dbehaviour);

#endif
