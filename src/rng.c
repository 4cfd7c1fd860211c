/* PCG32, following the reference implementation's constants and seeding procedure
 * (pcg32_srandom_r / pcg32_random_r, pcg-random.org). */
#include "rng.h"

#define PCG_MULTIPLIER 6364136223846793005ULL

uint32_t sg_rng_u32(sg_rng *rng)
{
    uint64_t old = rng->state;
    rng->state = old * PCG_MULTIPLIER + rng->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

void sg_rng_seed(sg_rng *rng, uint64_t seed, uint64_t stream)
{
    rng->state = 0;
    rng->inc = (stream << 1u) | 1u;
    sg_rng_u32(rng);
    rng->state += seed;
    sg_rng_u32(rng);
}

float sg_rng_float(sg_rng *rng) { return (float)(sg_rng_u32(rng) >> 8) * 0x1.0p-24f; }

double sg_rng_double(sg_rng *rng)
{
    uint64_t hi = sg_rng_u32(rng) >> 5, lo = sg_rng_u32(rng) >> 6; /* 27 + 26 bits */
    return (double)(hi * 67108864u + lo) * 0x1.0p-53;
}

uint32_t sg_rng_below(sg_rng *rng, uint32_t bound)
{
    /* Reject the lowest (2^32 mod bound) values so every residue is equally likely. */
    uint32_t threshold = (0u - bound) % bound;
    for (;;) {
        uint32_t r = sg_rng_u32(rng);
        if (r >= threshold)
            return r % bound;
    }
}
