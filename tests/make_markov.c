/* Writes the order-2 Markov chain of tests/markov.h as a directory of .npy files for the
 * programs (train.npy: 2000 sequences, test.npy: 500, of 200 steps, uint8 [N][T]) and prints
 * the chain's exact NLL of the test sequences, in nats per sequence: the test NLL a perfect
 * model reaches, for programs_test.sh and docs/sequences.md.
 * Usage: make_markov DIR [TRAIN TEST STEPS] */
#include <stdio.h>
#include <stdlib.h>

#include "markov.h"
#include "npy_write.h"

static int write_set(const char *dir, const char *name, size_t count, size_t steps,
                     uint64_t seed, double *nll)
{
    uint8_t *x = malloc(count * steps);
    char path[4096], shape[64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(shape, sizeof shape, "(%zu, %zu)", count, steps);
    if (!x)
        return -1;
    markov_sample(x, count, steps, seed);
    int rc = npy_write(path, "|u1", shape, x, count * steps);
    if (nll)
        *nll = markov_nll(x, count, steps, steps);
    free(x);
    if (rc != 0)
        perror(path);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 5) {
        fprintf(stderr, "usage: make_markov DIR [TRAIN TEST STEPS]\n");
        return 2;
    }
    size_t train = 2000, test = 500, steps = 200;
    if (argc == 5) {
        train = strtoul(argv[2], NULL, 10), test = strtoul(argv[3], NULL, 10);
        steps = strtoul(argv[4], NULL, 10);
    }
    if (train < 1 || test < 1 || steps < 3) {
        fprintf(stderr, "make_markov: sizes must be >= 1 (steps >= 3)\n");
        return 2;
    }
    double nll;
    if (write_set(argv[1], "train.npy", train, steps, 1, NULL) != 0 ||
        write_set(argv[1], "test.npy", test, steps, 2, &nll) != 0)
        return 1;
    printf("%.6f\n", nll);
    return 0;
}
