/* libFuzzer harness for the text reader (src/text.c) and the vocabulary (src/vocab.c).
 *
 * Input: the bytes of one text file. The first byte is a control byte: bits 0-1 choose the
 * options (0 the defaults; 1 every 3rd line held out; 2 at most 8 characters a line and 16
 * lines; 3 the vocabulary of "abc" given), the rest is the file, read with
 * seqgen_symbol_dataset_open_text(). On success every sequence is checked (ids in [1, V) and
 * then the end symbol, end symbols as padding, T the longest length) and decoded and encoded
 * again through the vocabulary, which must give the same ids; a failure must be a status with a
 * detail starting with the file. The same bytes also go through seqgen_vocab_from_text() and,
 * on success, seqgen_vocab_encode(). Crashes, leaks and sanitizer reports are the findings. */
#define _GNU_SOURCE /* memfd_create, in fuzz_file.h */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_file.h"
#include "seqgen.h"

static fuzz_file file;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_file_open(&file, "fuzz-text");
    return 0;
}

/* Every sequence of `ds` well formed, and its text encoded back to the same ids. */
static void check_dataset(const seqgen_symbol_dataset *ds, const seqgen_vocab *vocab)
{
    const size_t N = seqgen_symbol_dataset_count(ds), T = seqgen_symbol_dataset_steps(ds);
    const size_t V = seqgen_vocab_size(vocab);
    if (N == 0 || T < 2 || V < 2 || seqgen_symbol_dataset_vocab_size(ds) != V)
        abort();
    char *text = malloc(4 * T + 1);
    int32_t *ids = malloc(T * sizeof *ids);
    size_t longest = 0;
    for (size_t i = 0; i < N; i++) {
        const int32_t *s = seqgen_symbol_dataset_sequence(ds, i);
        const size_t length = seqgen_symbol_dataset_length(ds, i);
        if (length < 2 || length > T)
            abort(); /* empty lines are skipped */
        longest = length > longest ? length : longest;
        for (size_t t = 0; t < T; t++)
            if (t + 1 < length ? s[t] < 1 || (size_t)s[t] >= V : s[t] != SEQGEN_VOCAB_END)
                abort();
        size_t bytes, count;
        if (seqgen_vocab_decode(vocab, s, length, text, 4 * T + 1, &bytes) != SEQGEN_OK ||
            seqgen_vocab_encode(vocab, text, bytes, ids, T, &count) != SEQGEN_OK ||
            count != length - 1 || memcmp(ids, s, count * sizeof *ids) != 0)
            abort();
    }
    if (longest != T)
        abort();
    free(text);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const unsigned control = data[0] & 3u;
    fuzz_file_set(&file, data + 1, size - 1);
    seqgen_text_options o = seqgen_text_options_default();
    seqgen_vocab *abc = NULL;
    if (control == 1)
        o.holdout_every = 3;
    if (control == 2)
        o.max_line_symbols = 8, o.max_sequences = 16;
    if (control == 3) {
        if (seqgen_vocab_from_text(&abc, "abc", 3) != SEQGEN_OK)
            abort();
        o.vocab = abc;
    }
    seqgen_symbol_dataset *train = NULL, *held = NULL;
    seqgen_vocab *vocab = NULL;
    int status = seqgen_symbol_dataset_open_text(&train, &held, &vocab, file.path, &o);
    if (status != SEQGEN_OK) {
        if (strncmp(seqgen_last_error(), file.path, strlen(file.path)) != 0)
            abort(); /* a failure must say why, starting with the file */
    } else {
        check_dataset(train, vocab);
        if (control == 1)
            check_dataset(held, vocab);
        else if (held)
            abort();
        if (abc && seqgen_vocab_size(vocab) != seqgen_vocab_size(abc))
            abort();
    }
    seqgen_symbol_dataset_free(train);
    seqgen_symbol_dataset_free(held);
    seqgen_vocab_free(vocab);
    seqgen_vocab_free(abc);

    /* The bytes as one text: its vocabulary (line ends left out), and the text encoded with it,
     * which succeeds exactly when it has no line end (they are never symbols). */
    seqgen_vocab *v = NULL;
    const char *text = (const char *)data + 1;
    if (seqgen_vocab_from_text(&v, text, size - 1) == SEQGEN_OK) {
        size_t count;
        int line_ends = memchr(text, '\n', size - 1) || memchr(text, '\r', size - 1);
        status = seqgen_vocab_encode(v, text, size - 1, NULL, 0, &count);
        if (line_ends ? status != SEQGEN_EINVAL : status != SEQGEN_OK || count > size - 1)
            abort();
        seqgen_vocab_free(v);
    }
    return 0;
}
