/* The library's one random generator: PCG32 (M. E. O'Neill, "PCG: A Family of Simple Fast
 * Space-Efficient Statistically Good Algorithms for Random Number Generation", 2014), the
 * XSH-RR output on a 64-bit LCG. Portable: the same seed and stream give the same numbers on
 * every machine. Each consumer (initialisation, shuffling, sampling...) owns its own generator,
 * so one use never shifts another's numbers. The state is two integers, saved in checkpoints. */
#ifndef SEQGEN_RNG_H
#define SEQGEN_RNG_H

#include <stdint.h>

typedef struct sg_rng {
    uint64_t state;
    uint64_t inc; /* always odd: selects one of 2^63 independent streams */
} sg_rng;

/* Seeds `rng`; generators with the same seed and different streams are independent. */
void sg_rng_seed(sg_rng *rng, uint64_t seed, uint64_t stream);

uint32_t sg_rng_u32(sg_rng *rng);

/* Uniform in [0, 1) with 24 random bits: every value is exactly representable as a float. */
float sg_rng_float(sg_rng *rng);

/* Uniform in [0, 1) with 53 random bits. */
double sg_rng_double(sg_rng *rng);

/* Uniform integer in [0, bound), without modulo bias; bound must be > 0. */
uint32_t sg_rng_below(sg_rng *rng, uint32_t bound);

#endif
