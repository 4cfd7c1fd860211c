/* The training pass's internals that other files use: the check of a pass's options (for the
 * run's setup in checkpoints too) and a test hook. */
#ifndef SEQGEN_TRAIN_H
#define SEQGEN_TRAIN_H

#include <stdint.h>

#include "seqgen.h"

/* SEQGEN_OK, or `status` with a detail naming the field after `prefix`: a loss or feedback kind
 * that is not one of its enum's, or a teacher_prob outside [0, 1]. */
int sg_check_train_options(const seqgen_train_options *opts, int status, const char *prefix);

/* A training pass with a fixed mixing pattern, for tests: teacher [B][T] (1 = true input at that
 * step; t = 0 always takes the true input) forces the step-by-step path even if every entry is
 * 1; uniforms [B][T][D] (only read where teacher is 0 and the feedback is SAMPLE: pixel fed =
 * uniform < prob) may be NULL for the other feedback kinds. The mixing generator is not used. */
int sg_model_forward_backward_masked(seqgen_model *model, const seqgen_batch *batch,
                                     const seqgen_train_options *opts, const uint8_t *teacher,
                                     const float *uniforms, float *probs,
                                     seqgen_train_stats *stats);

#endif
