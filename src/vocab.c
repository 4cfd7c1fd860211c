/* The vocabulary of symbols: the end symbol (id 0) and distinct Unicode code points (ids 1 to
 * V - 1, in increasing order); UTF-8 decoding and encoding; text to ids and back. */
#include "vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "status.h"

struct seqgen_vocab {
    size_t size;          /* V, the end symbol included */
    uint32_t *code_point; /* [V]: code_point[0] unused (0), then increasing */
    char (*text)[5];      /* [V]: UTF-8, NUL-terminated; text[0] is "" */
};

/* ---- UTF-8 --------------------------------------------------------------------------------- */

int sg_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
    const uint8_t b = s[0];
    size_t len;
    uint32_t value, min;
    if (b < 0x80) {
        *cp = b;
        return 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
        len = 2, value = b & 0x1Fu, min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3, value = b & 0x0Fu, min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4, value = b & 0x07u, min = 0x10000;
    } else {
        return 0; /* a continuation byte, C0/C1 (always overlong) or F5-FF */
    }
    for (size_t k = 1; k < len; k++) {
        if (k >= n)
            return -1;
        if ((s[k] & 0xC0u) != 0x80u)
            return 0;
        value = value << 6 | (s[k] & 0x3Fu);
        /* Refuse as early as the second byte tells: an overlong form, a surrogate, > U+10FFFF,
         * so that a cut-off character is "truncated" only if it could still be valid. */
        if (k == 1 && ((len == 3 && value < 0x20u) || (len == 3 && value >= 0x360u && value <= 0x37Fu) ||
                       (len == 4 && value < 0x10u) || (len == 4 && value > 0x10Fu)))
            return 0;
    }
    if (value < min || value > SG_UNICODE_MAX || (value >= 0xD800u && value <= 0xDFFFu))
        return 0;
    *cp = value;
    return (int)len;
}

size_t sg_utf8_encode(uint32_t cp, char out[5])
{
    size_t n;
    if (cp < 0x80) {
        out[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6), out[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12), out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        out[0] = (char)(0xF0 | cp >> 18), out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        out[2] = (char)(0x80 | (cp >> 6 & 0x3F)), out[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    out[n] = '\0';
    return n;
}

int sg_vocab_allowed(uint32_t cp)
{
    return cp != 0 && cp != '\n' && cp != '\r' && cp <= SG_UNICODE_MAX &&
           !(cp >= 0xD800u && cp <= 0xDFFFu);
}

void sg_describe_code_point(uint32_t cp, char *buf, size_t size)
{
    char text[5];
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || !sg_vocab_allowed(cp)) {
        snprintf(buf, size, "U+%04X", (unsigned)cp);
        return;
    }
    sg_utf8_encode(cp, text);
    snprintf(buf, size, "U+%04X '%s'", (unsigned)cp, text);
}

/* ---- The handle ---------------------------------------------------------------------------- */

/* A vocabulary around `count` code points already checked (increasing, allowed). */
static int make_vocab(seqgen_vocab **out, const uint32_t *code_points, size_t count)
{
    seqgen_vocab *v = sg_calloc(1, sizeof *v);
    const size_t V = count + 1;
    if (v) {
        v->code_point = sg_malloc(V * sizeof *v->code_point);
        v->text = sg_malloc(V * sizeof *v->text);
    }
    if (!v || !v->code_point || !v->text) {
        seqgen_vocab_free(v);
        return sg_error(SEQGEN_ENOMEM, "cannot allocate a vocabulary of %zu symbols", V);
    }
    v->size = V;
    v->code_point[0] = 0;
    v->text[0][0] = '\0';
    for (size_t i = 1; i < V; i++) {
        v->code_point[i] = code_points[i - 1];
        sg_utf8_encode(code_points[i - 1], v->text[i]);
    }
    *out = v;
    return SEQGEN_OK;
}

int seqgen_vocab_create(seqgen_vocab **out, const uint32_t *code_points, size_t count)
{
    if (!out || !code_points)
        return sg_error(SEQGEN_EINVAL, "seqgen_vocab_create: NULL %s",
                        !out ? "output" : "code_points");
    if (count < 1 || count > SEQGEN_VOCAB_MAX - 1)
        return sg_error(SEQGEN_EINVAL, "a vocabulary of %zu code points: it must have 1 to %d "
                        "(the end symbol makes V one more)", count, SEQGEN_VOCAB_MAX - 1);
    for (size_t i = 0; i < count; i++) {
        if (!sg_vocab_allowed(code_points[i]))
            return sg_error(SEQGEN_EINVAL, "code point %zu of the vocabulary, U+%04X, is %s",
                            i, (unsigned)code_points[i],
                            code_points[i] == 0 ? "NUL, never a symbol"
                            : code_points[i] == '\n' || code_points[i] == '\r'
                                ? "a line end, never a symbol"
                                : "not a Unicode scalar value");
        if (i > 0 && code_points[i] <= code_points[i - 1])
            return sg_error(SEQGEN_EINVAL, "code point %zu of the vocabulary, U+%04X, is not "
                            "above the one before it, U+%04X: they must increase", i,
                            (unsigned)code_points[i], (unsigned)code_points[i - 1]);
    }
    return make_vocab(out, code_points, count);
}

int sg_vocab_from_set(const uint64_t *seen, size_t distinct, seqgen_vocab **out)
{
    uint32_t *list = sg_malloc(distinct * sizeof *list);
    if (!list)
        return sg_error(SEQGEN_ENOMEM, "cannot allocate %zu code points", distinct);
    size_t n = 0;
    for (uint32_t w = 0; w < SG_VOCAB_SET_WORDS; w++) /* the empty words skipped */
        for (uint64_t bits = seen[w]; bits; bits &= bits - 1) {
            uint32_t bit = 0;
            while (!(bits >> bit & 1))
                bit++;
            list[n++] = w * 64 + bit;
        }
    int status = make_vocab(out, list, n);
    free(list);
    return status;
}

int seqgen_vocab_from_text(seqgen_vocab **out, const char *text, size_t bytes)
{
    if (!out || !text)
        return sg_error(SEQGEN_EINVAL, "seqgen_vocab_from_text: NULL %s", !out ? "output" : "text");
    /* One bit per code point: 136 KiB. */
    uint64_t *seen = sg_calloc(SG_VOCAB_SET_WORDS, sizeof *seen);
    if (!seen)
        return sg_error(SEQGEN_ENOMEM, "cannot allocate the set of characters");
    const uint8_t *s = (const uint8_t *)text;
    size_t distinct = 0;
    int status = SEQGEN_OK;
    for (size_t at = 0; at < bytes;) {
        uint32_t cp;
        int len = sg_utf8_decode(s + at, bytes - at, &cp);
        if (len <= 0) {
            status = sg_error(SEQGEN_EFORMAT, "the text is not valid UTF-8 at byte %zu (0x%02X)%s",
                              at, s[at], len < 0 ? ": a character cut by the end" : "");
            break;
        }
        if (cp == 0) {
            status = sg_error(SEQGEN_EFORMAT, "the text has a NUL byte at byte %zu", at);
            break;
        }
        if (sg_vocab_allowed(cp) && !(seen[cp / 64] >> (cp % 64) & 1)) {
            seen[cp / 64] |= (uint64_t)1 << (cp % 64);
            distinct++;
        }
        at += (size_t)len;
    }
    if (!status && distinct == 0)
        status = sg_error(SEQGEN_EINVAL, "the text has no character but line ends: a "
                          "vocabulary needs at least one");
    if (!status && distinct > SEQGEN_VOCAB_MAX - 1)
        status = sg_error(SEQGEN_EOVERFLOW, "the text has %zu distinct characters, more than "
                          "the %d a vocabulary holds", distinct, SEQGEN_VOCAB_MAX - 1);
    if (!status)
        status = sg_vocab_from_set(seen, distinct, out);
    free(seen);
    return status;
}

void seqgen_vocab_free(seqgen_vocab *vocab)
{
    if (!vocab)
        return;
    free(vocab->code_point);
    free(vocab->text);
    free(vocab);
}

int sg_vocab_copy(const seqgen_vocab *vocab, seqgen_vocab **out)
{
    return make_vocab(out, vocab->code_point + 1, vocab->size - 1);
}

const uint32_t *sg_vocab_code_points(const seqgen_vocab *vocab) { return vocab->code_point + 1; }

size_t seqgen_vocab_size(const seqgen_vocab *vocab) { return vocab ? vocab->size : 0; }

int32_t seqgen_vocab_code_point(const seqgen_vocab *vocab, size_t id)
{
    if (!vocab || id == SEQGEN_VOCAB_END || id >= vocab->size)
        return -1;
    return (int32_t)vocab->code_point[id];
}

const char *seqgen_vocab_symbol_text(const seqgen_vocab *vocab, size_t id)
{
    return vocab && id < vocab->size ? vocab->text[id] : NULL;
}

int32_t seqgen_vocab_id(const seqgen_vocab *vocab, uint32_t code_point)
{
    if (!vocab)
        return -1;
    size_t lo = 1, hi = vocab->size; /* the id, if any, is in [lo, hi) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (vocab->code_point[mid] < code_point)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < vocab->size && vocab->code_point[lo] == code_point ? (int32_t)lo : -1;
}

/* ---- Text and ids -------------------------------------------------------------------------- */

int seqgen_vocab_encode(const seqgen_vocab *vocab, const char *text, size_t bytes, int32_t *ids,
                        size_t capacity, size_t *count)
{
    if (!vocab || !text || !count || (capacity > 0 && !ids))
        return sg_error(SEQGEN_EINVAL, "seqgen_vocab_encode: NULL %s",
                        !vocab ? "vocab" : !text ? "text" : !count ? "count" : "ids");
    /* Checked and counted first, then written: on failure `ids` is left as it was. */
    const uint8_t *s = (const uint8_t *)text;
    size_t n = 0;
    for (size_t at = 0; at < bytes; n++) {
        uint32_t cp;
        int len = sg_utf8_decode(s + at, bytes - at, &cp);
        if (len <= 0)
            return sg_error(SEQGEN_EFORMAT, "the text is not valid UTF-8 at byte %zu (0x%02X)%s",
                            at, s[at], len < 0 ? ": a character cut by the end" : "");
        if (seqgen_vocab_id(vocab, cp) < 0) {
            char what[32];
            sg_describe_code_point(cp, what, sizeof what);
            return sg_error(SEQGEN_EINVAL, "character %s at byte %zu is not in the vocabulary "
                            "of %zu symbols", what, at, vocab->size);
        }
        at += (size_t)len;
    }
    if (ids && n > capacity)
        return sg_error(SEQGEN_EINVAL, "the text has %zu characters, more than the room for %zu "
                        "ids", n, capacity);
    if (ids) {
        size_t k = 0;
        for (size_t at = 0; at < bytes; k++) {
            uint32_t cp = 0;
            at += (size_t)sg_utf8_decode(s + at, bytes - at, &cp); /* checked above */
            ids[k] = seqgen_vocab_id(vocab, cp);
        }
    }
    *count = n;
    return SEQGEN_OK;
}

int seqgen_vocab_decode(const seqgen_vocab *vocab, const int32_t *ids, size_t count, char *text,
                        size_t capacity, size_t *bytes)
{
    if (!vocab || (count > 0 && !ids) || !bytes || (capacity > 0 && !text))
        return sg_error(SEQGEN_EINVAL, "seqgen_vocab_decode: NULL %s",
                        !vocab ? "vocab" : !bytes ? "bytes" : !text ? "text" : "ids");
    size_t n = 0, end = count;
    for (size_t k = 0; k < count; k++) {
        if (ids[k] < 0 || (size_t)ids[k] >= vocab->size)
            return sg_error(SEQGEN_EINVAL, "id %zu of the sequence is %ld, not in [0, %zu)", k,
                            (long)ids[k], vocab->size);
        if (ids[k] == SEQGEN_VOCAB_END) {
            end = k;
            break;
        }
        n += strlen(vocab->text[ids[k]]);
    }
    if (text && capacity < n + 1)
        return sg_error(SEQGEN_EINVAL, "the text takes %zu bytes and a NUL, more than the "
                        "room for %zu", n, capacity);
    if (text) {
        size_t at = 0;
        for (size_t k = 0; k < end; k++) {
            size_t len = strlen(vocab->text[ids[k]]);
            memcpy(text + at, vocab->text[ids[k]], len);
            at += len;
        }
        text[at] = '\0';
    }
    *bytes = n;
    return SEQGEN_OK;
}
