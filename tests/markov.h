/* A binary order-2 Markov chain with a known law, for checking that a model learns a source to
 * its entropy: x_0 and x_1 are fair coins, then x_t = 1 with probability P1[x_{t-2}][x_{t-1}].
 * The exact negative log-likelihood of a sequence under the chain is what a perfect model
 * reaches (with a start step, every step is predicted, the first two at ln 2 each). */
#ifndef SEQGEN_TESTS_MARKOV_H
#define SEQGEN_TESTS_MARKOV_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

static const double MARKOV_P1[2][2] = {{0.1, 0.6}, {0.3, 0.85}};

/* splitmix64 (Steele, Lea, Flood 2014): a uniform double in [0, 1) per call. */
static inline double markov_uniform(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

/* `count` sequences of `steps` units into out[count * steps], from `seed`. */
static inline void markov_sample(uint8_t *out, size_t count, size_t steps, uint64_t seed)
{
    uint64_t state = seed;
    for (size_t i = 0; i < count; i++) {
        uint8_t *x = out + i * steps;
        for (size_t t = 0; t < steps; t++) {
            double p = t < 2 ? 0.5 : MARKOV_P1[x[t - 2]][x[t - 1]];
            x[t] = markov_uniform(&state) < p;
        }
    }
}

/* The chain's exact NLL of each sequence's first `length` steps, averaged over `count`
 * sequences of `steps` units (nats per sequence). */
static inline double markov_nll(const uint8_t *x, size_t count, size_t steps, size_t length)
{
    double sum = 0.0;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *s = x + i * steps;
        for (size_t t = 0; t < length; t++) {
            double p = t < 2 ? 0.5 : MARKOV_P1[s[t - 2]][s[t - 1]];
            sum -= log(s[t] ? p : 1.0 - p);
        }
    }
    return sum / (double)count;
}

#endif
