/* The model's internals that other parts of the library use (checkpoints, the optimiser, tests).
 *
 * Parameter buffer layout (and the gradient buffer's, identical): for each layer K in order,
 * weight_ih_lK [3H][in_K], weight_hh_lK [3H][H], bias_ih_lK [3H], bias_hh_lK [3H] (in_0 = D,
 * in_K = H above), then out.weight [D][H], out.bias [D]; contiguous, no padding. Tensor i of
 * seqgen_model_tensor_info() starts at sg_model_tensor_offset(model, i). */
#ifndef SEQGEN_MODEL_H
#define SEQGEN_MODEL_H

#include <stdint.h>

#include "rng.h"
#include "seqgen.h"

/* The flat parameter and gradient buffers, seqgen_model_param_count() floats each. Writing
 * parameters directly is allowed (the optimiser and the checkpoint loader do) through the
 * pointer sg_model_params() returns, before the next computation with the model: each call
 * marks the parameters as changed, so that single-step states pack W_hh again; reading is
 * sg_model_params_const(). */
float *sg_model_params(seqgen_model *model);
const float *sg_model_params_const(const seqgen_model *model);
float *sg_model_grads(seqgen_model *model);

/* Offset of tensor `index` in the flat buffers. */
size_t sg_model_tensor_offset(const seqgen_model *model, int index);

/* Index of the tensor called `name`, or -1. */
int sg_model_find_tensor(const seqgen_model *model, const char *name);

/* The generator of the weight initialisation (stream 1 of the seed) and the one of the
 * scheduled-sampling coins and samples (stream 2). Checkpoints save and restore the latter's
 * state so that a resumed run draws the same coins. */
sg_rng *sg_model_init_rng(seqgen_model *model);
sg_rng *sg_model_mix_rng(seqgen_model *model);

/* A training pass with a fixed mixing pattern, for tests: teacher [B][T] (1 = true input at that
 * step; t = 0 always takes the true input) forces the step-by-step path even if every entry is
 * 1; uniforms [B][T][D] (only read where teacher is 0 and the feedback is SAMPLE: pixel fed =
 * uniform < prob) may be NULL for the other feedback kinds. The mixing generator is not used. */
int sg_model_forward_backward_masked(seqgen_model *model, const float *inputs, const float *targets,
                                     int batch, int steps, const seqgen_train_options *opts,
                                     const uint8_t *teacher, const float *uniforms, float *probs,
                                     seqgen_train_stats *stats);

#endif
