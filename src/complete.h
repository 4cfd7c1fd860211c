/* Argument checks of completion, shared with the evaluation (evaluate.c) so that both report a
 * bad K or decoder the same way before doing any work. */
#ifndef SEQGEN_COMPLETE_H
#define SEQGEN_COMPLETE_H

#include "seqgen.h"

/* SEQGEN_OK, or SEQGEN_EINVAL with a message: unknown decoder, or a sampling temperature that is
 * not finite and > 0. */
int sg_check_complete_options(const seqgen_complete_options *opts);

/* SEQGEN_OK, or SEQGEN_EINVAL with a message: `units` (T * D0 of a sequence) not a positive
 * multiple of `units_per_step`, or `given` outside [0, units]. */
int sg_check_given(size_t units, int given, int units_per_step);

#endif
