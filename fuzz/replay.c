/* Replays files through a libFuzzer harness without libFuzzer: `make check` builds every
 * fuzz/fuzz_*.c with the ordinary compiler and this driver, and feeds it its committed corpus,
 * so that a harness always compiles against the current API and every seed still runs clean
 * (under check-asan too). Usage: REPLAY FILE... ; exits 0 after all files, 1 if one cannot be
 * read (a harness finding aborts). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (1 << 20) /* the fuzzers' -max_len is 65536; seeds are smaller */

int main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    static uint8_t data[MAX_INPUT];
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        size_t size = f ? fread(data, 1, sizeof data, f) : 0;
        int bad = !f || ferror(f) || !feof(f);
        if (f)
            fclose(f);
        if (bad) {
            fprintf(stderr, "replay: cannot read %s whole (at most %d bytes)\n", argv[i],
                    MAX_INPUT);
            return 1;
        }
        LLVMFuzzerTestOneInput(data, size);
    }
    printf("replay: %d inputs run\n", argc - 1);
    return 0;
}
