/* UTF-8 decoding and the vocabulary's internals, for the text reader and checkpoints. */
#ifndef SEQGEN_VOCAB_H
#define SEQGEN_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "seqgen.h"

/* The largest Unicode scalar value. */
#define SG_UNICODE_MAX 0x10FFFFu

/* Decodes one UTF-8 character at s[0 .. n): returns its length (1-4) and sets *cp; 0 if the
 * bytes are not valid UTF-8 (a stray continuation byte, a bad lead byte, an overlong form, a
 * surrogate, a value above U+10FFFF, a bad continuation); -1 if they are a valid beginning
 * cut short by the end (n too small). n must be >= 1. */
int sg_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);

/* Writes the UTF-8 form of a scalar value into out (1-4 bytes, NUL-terminated: 5 bytes of
 * room); returns its length. */
size_t sg_utf8_encode(uint32_t cp, char out[5]);

/* Whether cp may be a symbol: a scalar value, not NUL, LF or CR. */
int sg_vocab_allowed(uint32_t cp);

/* The code points of ids 1 .. V - 1 (V - 1 of them), in increasing order. */
const uint32_t *sg_vocab_code_points(const seqgen_vocab *vocab);

/* A set of code points: bit cp % 64 of word cp / 64. */
#define SG_VOCAB_SET_WORDS (SG_UNICODE_MAX / 64 + 1)

/* The vocabulary of the `distinct` code points of a set (allowed ones, at most
 * SEQGEN_VOCAB_MAX - 1). */
int sg_vocab_from_set(const uint64_t *seen, size_t distinct, seqgen_vocab **out);

/* A copy of a vocabulary. */
int sg_vocab_copy(const seqgen_vocab *vocab, seqgen_vocab **out);

/* "U+00E9 'é'" (or "U+000A" for a control character) into buf. */
void sg_describe_code_point(uint32_t cp, char *buf, size_t size);

#endif
