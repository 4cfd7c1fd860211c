/* libFuzzer harness for the safetensors loader (src/safetensors/safetensors.c).
 *
 * Input: the bytes of one safetensors file, read with seqgen_model_load_safetensors() under the
 * default names and, when the first tensor's name starts with "rnn.", the original project's
 * (`rnn`, `linear`). A failure must be a status with a detail naming the file; on success the
 * model is saved again and loaded back, and must be the same model. Crashes, leaks and
 * sanitizer reports are the findings. */
#define _GNU_SOURCE /* memfd_create, in fuzz_file.h */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_file.h"
#include "seqgen.h"
#include "seqgen_safetensors.h"

static fuzz_file file;
static char saved[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_file_open(&file, "fuzz-safetensors");
    /* what a loaded model is saved to: in memory (tmpfs), named for this process */
    snprintf(saved, sizeof saved, "/dev/shm/fuzz-safetensors-%d", (int)getpid());
    return 0;
}

/* The same configuration and the same parameters, bit for bit. */
static int same(const seqgen_model *a, const seqgen_model *b)
{
    seqgen_model_config x = seqgen_model_get_config(a), y = seqgen_model_get_config(b);
    if (x.units_per_step != y.units_per_step || x.hidden != y.hidden || x.layers != y.layers ||
        x.start_step != y.start_step || x.steps != y.steps || x.seed != y.seed)
        return 0;
    for (int i = 0; i < seqgen_model_tensor_count(a); i++) {
        const char *name;
        int rows, cols;
        if (seqgen_model_tensor_info(a, i, &name, &rows, &cols) != SEQGEN_OK)
            return 0;
        size_t n = (size_t)rows * (size_t)cols;
        float *u = malloc(n * sizeof *u), *v = malloc(n * sizeof *v);
        int ok = u && v && seqgen_model_get_tensor(a, name, u, n) == SEQGEN_OK &&
                 seqgen_model_get_tensor(b, name, v, n) == SEQGEN_OK && memcmp(u, v, n * 4) == 0;
        free(u);
        free(v);
        if (!ok)
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_file_set(&file, data, size);
    seqgen_safetensors_options opts = seqgen_safetensors_options_default();
    if (size > 12 && memmem(data, size, "\"rnn.", 5))
        opts.gru_module = "rnn", opts.linear_module = "linear";
    seqgen_model *m = NULL;
    int status = seqgen_model_load_safetensors(&m, file.path, &opts);
    if (status != SEQGEN_OK) {
        if (m || status > 0 || strncmp(seqgen_last_error(), file.path, strlen(file.path)) != 0)
            abort(); /* a failure leaves no model and says why, starting with the file */
        return 0;
    }
    seqgen_model *back = NULL;
    if (seqgen_model_save_safetensors(saved, m, &opts) != SEQGEN_OK ||
        seqgen_model_load_safetensors(&back, saved, &opts) != SEQGEN_OK || !same(m, back))
        abort(); /* what was loaded saves and loads back unchanged */
    unlink(saved);
    seqgen_model_free(back);
    seqgen_model_free(m);
    return 0;
}
