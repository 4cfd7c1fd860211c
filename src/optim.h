/* The optimiser's state, for checkpoints, read and restored like the other handles' states.
 * Moments mirror the model's parameter buffer: moment1 is Adam's m (or SGD's momentum buffer),
 * moment2 Adam's v (unused by SGD, kept zero); both `size` floats. `steps` is the t of the bias
 * corrections (and tells SGD whether its momentum buffer is initialised: t > 0). */
#ifndef SEQGEN_OPTIM_H
#define SEQGEN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "seqgen.h"

/* Whose parameter buffer an optimiser updates: a step refuses the other kind's, even of the same
 * size. */
typedef enum sg_optim_owner { SG_OPTIM_MODEL = 0, SG_OPTIM_DISCRIMINATOR = 1 } sg_optim_owner;

/* Creates an optimiser of `n` parameters for `owner`'s buffer (seqgen_optim_create() for a
 * model's, discriminator.c for a discriminator's); cfg is checked. */
int sg_optim_create_for(seqgen_optim **out, sg_optim_owner owner, size_t n,
                        const seqgen_optim_config *cfg);

/* One step over the parameters w and gradients g, n floats each, of `owner`, as
 * seqgen_optim_step() describes; SEQGEN_EMISMATCH if the owner or n is not the optimiser's. */
int sg_optim_step_buffers(seqgen_optim *opt, sg_optim_owner owner, size_t n, float *w, float *g);

typedef struct sg_optim_state {
    seqgen_optim_config cfg;
    uint64_t steps;
    size_t size;            /* floats in each moment: the parameter count */
    const float *moment1;   /* from sg_optim_get_state: views of the optimiser's own moments, */
    const float *moment2;   /* valid until it is changed or freed */
} sg_optim_state;

/* Describes `opt`'s whole state (the moments as read-only views, not copies). */
void sg_optim_get_state(const seqgen_optim *opt, sg_optim_state *state);

/* Replaces `opt`'s settings, step count and moments with copies of `state`'s. SEQGEN_EMISMATCH
 * if state->size is not the optimiser's, SEQGEN_EINVAL if the settings are invalid; on failure
 * nothing changes. The values are copied as given: the checkpoint loader checks them. */
int sg_optim_restore(seqgen_optim *opt, const sg_optim_state *state);

/* Checks a configuration (what seqgen_optim_create() checks); for the checkpoint loader too. */
int sg_optim_check_config(const seqgen_optim_config *cfg);

#endif
