/* libFuzzer harness for the .npy reader (src/npy.c).
 *
 * Input: the bytes of one .npy file, read with sg_npy_read(). On success every element is read
 * through sg_npy_get() (ASan checks each access against the allocation) and the result is
 * checked against what the header promised; a failure must be a status with a detail message
 * naming the file. Crashes, leaks and sanitizer reports are the findings. */
#define _GNU_SOURCE /* memfd_create, in fuzz_file.h */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_file.h"
#include "npy.h"
#include "seqgen.h"

static fuzz_file file;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_file_open(&file, "fuzz-npy");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_file_set(&file, data, size);
    sg_npy npy;
    int status = sg_npy_read(file.path, &npy);
    if (status != SEQGEN_OK) {
        if (strncmp(seqgen_last_error(), file.path, strlen(file.path)) != 0)
            abort(); /* a failure must say why, starting with the file */
        return 0;
    }
    uint64_t count = 1;
    for (uint32_t d = 0; d < npy.ndim; d++)
        count *= npy.shape[d];
    if (npy.ndim < 1 || npy.ndim > SG_NPY_MAX_DIMS || count != npy.count || npy.count > size)
        abort(); /* the shape, the count and the file's size agree */
    int ok = 1;
    volatile uint64_t sum = 0; /* unsigned: wraps instead of overflowing */
    for (size_t i = 0; i < npy.count; i++) {
        int64_t v = sg_npy_get(&npy, i, &ok);
        if (npy.type == SG_NPY_BOOL && (v < 0 || v > 1))
            abort();
        sum += (uint64_t)v;
    }
    (void)sum;
    if (!ok && npy.type != SG_NPY_U64)
        abort(); /* only a uint64 can be out of int64's range */
    sg_npy_free(&npy);
    return 0;
}
