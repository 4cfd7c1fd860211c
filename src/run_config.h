/* The run's setup saved in training checkpoints (seqgen_run_config): its limits, checked in one
 * place when saving (SEQGEN_EINVAL: the caller's values) and loading (SEQGEN_ERANGE: the
 * file's). */
#ifndef SEQGEN_RUN_CONFIG_H
#define SEQGEN_RUN_CONFIG_H

#include <stdint.h>

#include "seqgen.h"

#define SG_RUN_MAX_COUNT UINT32_MAX  /* batch size, training images, test limit */

/* Checks every field of `run` against the limits of include/seqgen.h; on failure returns
 * `status` with a detail naming the field ("run config: batches.batch_size is 0, not in
 * [1, 4294967295]"). */
int sg_run_config_check(const seqgen_run_config *run, int status);

/* SEQGEN_OK, or SEQGEN_EMISMATCH naming the first field where the batch iterator's configuration
 * `have` (over `count` sequences) differs from the run's, or the iterator's kind (`symbols`: 1
 * for a seqgen_symbol_iter, 0 for a seqgen_batch_iter) is not that of the run's data. */
int sg_run_config_match_batches(const seqgen_run_config *run, const seqgen_batch_config *have,
                                uint64_t count, int symbols);

#endif
