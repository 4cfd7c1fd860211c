/* Argument checks of generation, shared with the evaluation of symbols (evaluate_symbols.c) so
 * that both report a bad decoder the same way before doing any work. */
#ifndef SEQGEN_GENERATE_H
#define SEQGEN_GENERATE_H

#include "seqgen.h"

/* SEQGEN_OK, or SEQGEN_EINVAL with a message: an unknown decoder, a temperature not finite and
 * > 0, top_k < 0, top_p outside (0, 1], an end symbol outside [-1, vocab). */
int sg_check_generate_options(const seqgen_generate_options *opts, int vocab);

#endif
