/* Internal access to the dataset and its batch iterator, for checkpoints and tests. */
#ifndef SEQGEN_DATASET_H
#define SEQGEN_DATASET_H

#include <stdint.h>

#include "seqgen.h"

/* The whole state of a batch iterator: with the same dataset and configuration, restoring it
 * makes the iterator yield exactly what the saved one would have. `count` is the dataset size the
 * position refers to (checked on restore). */
typedef struct sg_batch_iter_state {
    uint64_t shuffle_seed;
    uint64_t binarize_seed;
    uint64_t epoch;
    uint64_t position; /* images of `epoch` already handed out */
    uint64_t count;
} sg_batch_iter_state;

void sg_batch_iter_get_state(const seqgen_batch_iter *it, sg_batch_iter_state *state);

/* Restores a state from sg_batch_iter_get_state. Returns SEQGEN_EMISMATCH (with a message) if
 * state->count differs from the dataset's count, SEQGEN_EINVAL if position > count. */
int sg_batch_iter_set_state(seqgen_batch_iter *it, const sg_batch_iter_state *state);

/* The order of `epoch` as the iterator uses it: order[k] is the dataset index at position k.
 * Fisher-Yates on the identity with PCG32 seeded (seed, stream = epoch); identity if !shuffle. */
void sg_epoch_order(uint32_t *order, size_t count, int shuffle, uint64_t seed, uint64_t epoch);

#endif
