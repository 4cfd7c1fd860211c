/* For `make pytorch-interop` (docs/interop.md): loads a safetensors file under the original
 * project's names (rnn, linear), completes greedily the digits of a completions file (its
 * index, K and first K pixels; written by scripts/pytorch_safetensors.py) and writes
 * libseqgen's completions in the same format, for the script's `check` mode to reproduce in
 * PyTorch. Usage: safetensors_complete MODEL COMPLETIONS_IN COMPLETIONS_OUT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seqgen.h"
#include "seqgen_safetensors.h"

#define STEPS 784

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: safetensors_complete MODEL COMPLETIONS_IN COMPLETIONS_OUT\n");
        return 2;
    }
    seqgen_safetensors_options o = seqgen_safetensors_options_default();
    o.gru_module = "rnn", o.linear_module = "linear";
    seqgen_model *m = NULL;
    if (seqgen_model_load_safetensors(&m, argv[1], &o) != SEQGEN_OK) {
        fprintf(stderr, "safetensors_complete: %s\n", seqgen_last_error());
        return 1;
    }
    FILE *in = fopen(argv[2], "r"), *out = fopen(argv[3], "w");
    if (!in || !out) {
        fprintf(stderr, "safetensors_complete: cannot open %s or %s\n", argv[2], argv[3]);
        return 1;
    }
    static char line[65536], pixels[STEPS + 16];
    int sequences = 0, steps = 0;
    while (fgets(line, sizeof line, in) && line[0] == '#')
        ;
    if (sscanf(line, "sequences %d steps %d", &sequences, &steps) != 2 || steps != STEPS)
        return fprintf(stderr, "safetensors_complete: %s: bad header\n", argv[2]), 1;
    fprintf(out, "# libseqgen %s greedy completions (seqgen_complete) by tests/safetensors_complete\n"
            "sequences %d steps %d\n", seqgen_version(), sequences, steps);
    static float given[STEPS], done[STEPS], probs[STEPS];
    for (int s = 0; s < sequences; s++) {
        int index, k;
        if (fscanf(in, " index %d given %d pixels %790s", &index, &k, pixels) != 3 ||
            strlen(pixels) != STEPS || k < 1 || k >= STEPS || !fgets(line, sizeof line, in) ||
            !fgets(line, sizeof line, in))
            return fprintf(stderr, "safetensors_complete: %s: bad record %d\n", argv[2], s), 1;
        for (int t = 0; t < STEPS; t++)
            given[t] = t < k ? (float)(pixels[t] - '0') : 0.0f;
        if (seqgen_complete(m, given, 1, STEPS, NULL, k, NULL, done, probs) != SEQGEN_OK)
            return fprintf(stderr, "safetensors_complete: %s\n", seqgen_last_error()), 1;
        fprintf(out, "index %d given %d pixels ", index, k);
        for (int t = 0; t < STEPS; t++)
            fputc(done[t] != 0.0f ? '1' : '0', out);
        fprintf(out, "\nprobs");
        for (int t = 0; t < STEPS - k; t++)
            fprintf(out, " %.9g", (double)probs[t]);
        fputc('\n', out);
    }
    fclose(in);
    seqgen_model_free(m);
    return fclose(out) == 0 ? 0 : 1;
}
