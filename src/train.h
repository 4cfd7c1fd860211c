/* The training pass's internals that other files use: the check of a pass's options (for the
 * run's setup in checkpoints too), a test hook, and the pass with the generator's behaviour
 * (professor forcing). */
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

/* The behaviour of a pass (professor forcing, Lamb et al. 2016; issue 18): at counted step t of
 * sequence s, b[s][t] = (the top layer's hidden state [H], the head's probabilities [O]), F = H + O
 * values, batch-major [B][T][F] as the probabilities. */
typedef struct sg_behaviour {
    float *out;         /* [B][T][F] receives b, 0 in the padding; required */
    const float *grad;  /* [B][T][F] dL_extra/db, added to the backward (padding unread), or NULL */
    double loss_weight; /* the pass's own loss enters the gradient scaled by it (>= 0): 1 as a
                           plain pass, 0 for the gradient of L_extra alone */
} sg_behaviour;

/* A pass (forward, and backward if `backward`) over a batch of units or of symbols (exactly one
 * of the two not NULL), as seqgen_model_forward_backward() / _symbols() or the evaluations, that
 * also writes the behaviour; with `backward`, the gradient buffer receives loss_weight times the
 * gradient of the pass's loss plus that of L_extra, whose gradient with respect to b is
 * behaviour->grad: its hidden-state part is added to the top layer's dL/dh, its probability part
 * goes through the head (sg_head_probs_backward()). The stats are the pass's loss's, unweighted.
 * With opts->slices > 1, only the slice's sequences are written and read.
 * Without it, nothing changes: the other doors pass no behaviour. */
int sg_model_pass_behaviour(seqgen_model *model, const seqgen_batch *units,
                            const seqgen_symbol_batch *symbols, const seqgen_train_options *opts,
                            int backward, const sg_behaviour *behaviour, float *probs,
                            seqgen_train_stats *stats);

#endif
