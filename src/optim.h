/* The optimiser's state, for checkpoints. Moments mirror the model's parameter buffer:
 * moment1 is Adam's m (or SGD's momentum buffer), moment2 Adam's v (unused by SGD, kept zero);
 * both seqgen_model_param_count() floats. step_count is the t of the bias corrections (and
 * tells SGD whether its momentum buffer is initialised: t > 0). Restoring a checkpoint: check
 * sg_optim_size() against the model, copy the moments, set the step count and the config. */
#ifndef SEQGEN_OPTIM_H
#define SEQGEN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "seqgen.h"

size_t sg_optim_size(const seqgen_optim *opt);
float *sg_optim_moment1(seqgen_optim *opt);
float *sg_optim_moment2(seqgen_optim *opt);
uint64_t *sg_optim_step_count_ptr(seqgen_optim *opt);
seqgen_optim_config *sg_optim_config(seqgen_optim *opt);

/* Checks a configuration (what seqgen_optim_create() checks); for the checkpoint loader too. */
int sg_optim_check_config(const seqgen_optim_config *cfg);

#endif
