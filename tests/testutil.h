/* Helpers shared by the test suites. cmocka has no floating-point comparison, so all of them use
 * assert_allclose. */
#ifndef SEQGEN_TESTUTIL_H
#define SEQGEN_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "seqgen.h"

/* Fails the test unless |actual - expected| <= atol + rtol * |expected|; NaN never matches. */
#define assert_allclose(actual, expected, rtol, atol) \
    tu_assert_allclose((double)(actual), (double)(expected), (rtol), (atol), #actual, __FILE__, __LINE__)

void tu_assert_allclose(double actual, double expected, double rtol, double atol,
                        const char *what, const char *file, int line);

/* Fails the test unless `status` is SEQGEN_OK, printing seqgen_last_error() if not. */
#define assert_ok(call) tu_assert_ok((call), #call, __FILE__, __LINE__)
void tu_assert_ok(int status, const char *what, const char *file, int line);

/* Fails the test unless `status` is `expected` and seqgen_last_error() contains `detail`. */
#define assert_fails_with(status, expected, detail) \
    tu_assert_fails_with((status), (expected), (detail), __FILE__, __LINE__)
void tu_assert_fails_with(int status, int expected, const char *detail, const char *file,
                          int line);

/* Creates a fresh temporary directory; returns its path (static storage, one per call site
 * is enough for a test). tu_rmtree removes it with its contents. */
const char *tu_tempdir(void);
void tu_rmtree(const char *path);

/* A model with D pixels per step, H units, L layers, the seed and threads (0 = all cores);
 * fails the test if it cannot be created. */
seqgen_model *tu_make_model(int D, int H, int L, uint64_t seed, int threads);

/* A categorical model of V symbols, embedding E, two layers of H units, with or without a start
 * step, the threads and seed; fails the test if it cannot be created. */
seqgen_model *tu_make_symbol_model(int V, int E, int H, int start_step, int threads,
                                   uint64_t seed);

/* A `const seqgen_batch *` (a compound literal, valid in the enclosing block) of B whole
 * sequences of `length` steps for model `m`: seqgen_batch_of_sequences(). */
#define TU_SEQUENCES(m, x, batch, length)                                                      \
    ((const seqgen_batch[]){seqgen_batch_of_sequences((m), (x), (batch), (length))})

/* Runs `child` in a forked process as the unprivileged user "nobody" (65534) when we are root,
 * since root ignores file permissions. Returns its exit code: 0 pass, TU_SKIPPED if the identity
 * could not be dropped, else the number of the check that failed. */
#define TU_SKIPPED 77
int tu_run_unprivileged(int (*child)(void));

/* `n` random 0/1 floats from PCG32 (seed, stream 3); free() them. */
float *tu_random_bits(size_t n, uint64_t seed);

/* Sets every parameter of `m` to zero through the public API (its outputs are then the output
 * bias, whatever it reads: the hidden state stays zero). */
void tu_zero_parameters(seqgen_model *m);

/* A temporary directory and the path of a file in it, as a cmocka state: tu_file_setup() makes
 * them (the file is not created), tu_file_teardown() removes the directory. */
typedef struct tu_file {
    char dir[64];
    char path[128];
} tu_file;
int tu_file_setup(void **state, const char *name);
int tu_file_teardown(void **state);

/* Makes a FIFO at `path`, with no writer, and calls reader(path) in a child process that an
 * alarm kills after 5 s: fails the test if the read blocked or reader returned non-zero (it
 * returns 0 when the FIFO was refused as it should be). A reader that opened a FIFO without
 * O_NONBLOCK would wait for a writer forever. */
void tu_read_fifo_in_child(const char *path, int (*reader)(const char *path));

/* In a child process about to read a file: caps the address space at 256 MiB above its current
 * size, so that allocating 1 GiB fails. 0 when the cap holds, 2 when it does not bite (a check
 * under it would prove nothing), 3 when it cannot be set. Not under ASan, whose shadow memory
 * needs the address space. */
int tu_cap_address_space(void);

/* The label of sequence `index` of a labelled dataset (fails the test otherwise). */
int64_t tu_label(const seqgen_dataset *ds, size_t index);

/* Writes `size` bytes to `path`; fails the test on error. */
void tu_write_file(const char *path, const void *data, size_t size);

/* The whole file at `path` (malloc'ed, one spare byte) and its size; fails the test on error. */
unsigned char *tu_read_file(const char *path, size_t *size);

/* Fails the test unless the file at `path` holds exactly `size` bytes `bytes`. */
void tu_assert_file_is(const char *path, const unsigned char *bytes, size_t size);

#endif
