/* Internal access to the dataset and its batch iterator, for evaluation, checkpoints and tests. */
#ifndef SEQGEN_DATASET_H
#define SEQGEN_DATASET_H

#include <stdint.h>

#include "seqgen.h"

/* A batch iterator's configuration and the number of images it runs over: with its epoch and
 * position (the public getters), its whole state. Restoring a checkpoint checks these against
 * the saved run and then seeks (seqgen_batch_iter_seek). */
void sg_batch_iter_describe(const seqgen_batch_iter *it, seqgen_batch_config *cfg,
                            uint64_t *count);

/* The same for a symbol iterator (text.c): its configuration as given, and its dataset's count. */
void sg_symbol_iter_describe(const seqgen_symbol_iter *it, seqgen_batch_config *cfg,
                             uint64_t *count);

/* Whether sequences of `ds` can be read in steps of D units: D a multiple of the data's natural
 * step dividing its units, and the natural step itself when lengths vary. EMISMATCH with a
 * detail naming `what` (the reader: "the model", "the batch iterator") and both sizes. */
int sg_dataset_check_step(const seqgen_dataset *ds, size_t D, const char *what);

/* The order of `epoch` as the iterator uses it: order[k] is the dataset index at position k.
 * Fisher-Yates on the identity with PCG32 seeded (seed, stream = epoch); identity if !shuffle. */
void sg_epoch_order(uint32_t *order, size_t count, int shuffle, uint64_t seed, uint64_t epoch);

#endif
