/* The vocabulary (code points, the end symbol, encode and decode), datasets of symbols from
 * memory and from text files (every refusal, with the file and the line or byte it names), their
 * batch iterator, and a small model trained on a text file, whose held-out NLL per symbol falls
 * well below log V. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "seqgen.h"
#include "testutil.h"
#include "vocab.h"

/* Fails unless `status` is `expected` and the detail holds every one of the strings given. */
#define expect_detail(status, expected, ...) \
    check_detail((status), (expected), #status, (const char *[]){__VA_ARGS__, NULL})

static void check_detail(int status, int expected, const char *call, const char **parts)
{
    const char *detail = seqgen_last_error();
    if (status != expected)
        fail_msg("%s returned %d (%s), expected %d; detail: %s", call, status,
                 seqgen_strerror(status), expected, detail);
    for (; *parts; parts++)
        if (!strstr(detail, *parts))
            fail_msg("%s: the detail \"%s\" does not say \"%s\"", call, detail, *parts);
}

/* ---- UTF-8 and the vocabulary --------------------------------------------------------------- */

static void utf8_decoder(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t n;
        int len;
        uint32_t cp;
    } cases[] = {
        {"a", 1, 1, 'a'},
        {"\xC3\xA9", 2, 2, 0xE9},
        {"\xE2\x82\xAC", 3, 3, 0x20AC},
        {"\xEE\x80\x80", 3, 3, 0xE000},     /* just above the surrogates */
        {"\xED\x9F\xBF", 3, 3, 0xD7FF},     /* just below them */
        {"\xF0\x90\x80\x80", 4, 4, 0x10000},
        {"\xF4\x8F\xBF\xBF", 4, 4, 0x10FFFF},
        {"\x80", 1, 0, 0},                  /* a stray continuation byte */
        {"\xC0\x80", 2, 0, 0},              /* overlong NUL */
        {"\xC1\xBF", 2, 0, 0},              /* overlong */
        {"\xE0\x80\x80", 3, 0, 0},          /* overlong */
        {"\xED\xA0\x80", 3, 0, 0},          /* a surrogate */
        {"\xF0\x80\x80\x80", 4, 0, 0},      /* overlong */
        {"\xF4\x90\x80\x80", 4, 0, 0},      /* above U+10FFFF */
        {"\xF5\x80\x80\x80", 4, 0, 0},
        {"\xFF", 1, 0, 0},
        {"\xC3\x41", 2, 0, 0},              /* a bad continuation */
        {"\xC3", 1, -1, 0},                 /* cut short */
        {"\xE2\x82", 2, -1, 0},
        {"\xF0\x9F\x98", 3, -1, 0},
        {"\xED\xA0", 2, 0, 0},              /* cut short, but a surrogate already */
        {"\xE0\x80", 2, 0, 0},              /* cut short, but overlong already */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t cp = 12345;
        int len = sg_utf8_decode((const uint8_t *)cases[i].bytes, cases[i].n, &cp);
        if (len != cases[i].len || (len > 0 && cp != cases[i].cp))
            fail_msg("case %zu: length %d, code point %X", i, len, (unsigned)cp);
        if (len > 0) {
            char back[5];
            assert_int_equal(sg_utf8_encode(cp, back), (size_t)len);
            assert_memory_equal(back, cases[i].bytes, (size_t)len);
        }
    }
}

static void vocab_from_text_sorted(void **state)
{
    (void)state;
    const char *text = "ж日é\nba\r\nb😀";
    seqgen_vocab *v = NULL;
    assert_ok(seqgen_vocab_from_text(&v, text, strlen(text)));
    /* end, a, b, é, ж, 日, 😀: by code point, line ends left out */
    const uint32_t expected[] = {'a', 'b', 0xE9, 0x436, 0x65E5, 0x1F600};
    assert_int_equal(seqgen_vocab_size(v), 7);
    assert_int_equal(seqgen_vocab_code_point(v, SEQGEN_VOCAB_END), -1);
    assert_string_equal(seqgen_vocab_symbol_text(v, SEQGEN_VOCAB_END), "");
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(seqgen_vocab_code_point(v, i + 1), expected[i]);
        assert_int_equal(seqgen_vocab_id(v, expected[i]), (int32_t)(i + 1));
    }
    assert_string_equal(seqgen_vocab_symbol_text(v, 5), "日");
    assert_string_equal(seqgen_vocab_symbol_text(v, 6), "😀");
    assert_null(seqgen_vocab_symbol_text(v, 7));
    assert_int_equal(seqgen_vocab_code_point(v, 7), -1);
    assert_int_equal(seqgen_vocab_id(v, 'c'), -1);
    assert_int_equal(seqgen_vocab_id(v, '\n'), -1);
    assert_int_equal(seqgen_vocab_id(v, 0), -1);

    /* The same characters in another order give the same vocabulary. */
    const char *other = "😀bab日éжж";
    seqgen_vocab *w = NULL;
    assert_ok(seqgen_vocab_from_text(&w, other, strlen(other)));
    assert_int_equal(seqgen_vocab_size(w), 7);
    for (size_t i = 1; i < 7; i++)
        assert_int_equal(seqgen_vocab_code_point(w, i), seqgen_vocab_code_point(v, i));
    seqgen_vocab_free(w);

    /* Encode and decode: a round trip, then the end symbol ends the text. */
    const char *word = "bébé日😀";
    int32_t ids[16];
    size_t n = 0, bytes = 0;
    assert_ok(seqgen_vocab_encode(v, word, strlen(word), NULL, 0, &n));
    assert_int_equal(n, 6);
    assert_ok(seqgen_vocab_encode(v, word, strlen(word), ids, 16, &n));
    assert_int_equal(n, 6);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], 3);
    char back[64];
    assert_ok(seqgen_vocab_decode(v, ids, n, NULL, 0, &bytes));
    assert_int_equal(bytes, strlen(word));
    assert_ok(seqgen_vocab_decode(v, ids, n, back, sizeof back, &bytes));
    assert_string_equal(back, word);
    ids[2] = SEQGEN_VOCAB_END;
    assert_ok(seqgen_vocab_decode(v, ids, n, back, sizeof back, &bytes));
    assert_string_equal(back, "bé");
    assert_int_equal(bytes, 3);
    seqgen_vocab_free(v);
}

static void vocab_refusals(void **state)
{
    (void)state;
    seqgen_vocab *v = NULL;
    const uint32_t ok[] = {'a', 'c', 0xE9};
    assert_ok(seqgen_vocab_create(&v, ok, 3));
    assert_int_equal(seqgen_vocab_size(v), 4);
    seqgen_vocab *w = (seqgen_vocab *)&w;
    const uint32_t unsorted[] = {'a', 'c', 'b'}, twice[] = {'a', 'a'}, nul[] = {0},
                   lf[] = {'a', '\n'}, surrogate[] = {0xD800}, big[] = {0x110000};
    expect_detail(seqgen_vocab_create(&w, unsorted, 3), SEQGEN_EINVAL, "code point 2", "U+0062");
    expect_detail(seqgen_vocab_create(&w, twice, 2), SEQGEN_EINVAL, "code point 1", "increase");
    expect_detail(seqgen_vocab_create(&w, nul, 1), SEQGEN_EINVAL, "NUL");
    expect_detail(seqgen_vocab_create(&w, lf, 2), SEQGEN_EINVAL, "line end");
    expect_detail(seqgen_vocab_create(&w, surrogate, 1), SEQGEN_EINVAL, "scalar value");
    expect_detail(seqgen_vocab_create(&w, big, 1), SEQGEN_EINVAL, "U+110000");
    expect_detail(seqgen_vocab_create(&w, ok, 0), SEQGEN_EINVAL, "1 to 65535");
    expect_detail(seqgen_vocab_create(&w, ok, 65536), SEQGEN_EINVAL, "1 to 65535");
    assert_ptr_equal(w, (seqgen_vocab *)&w); /* left as it was */

    expect_detail(seqgen_vocab_from_text(&w, "\n\r\n", 3), SEQGEN_EINVAL, "no character");
    expect_detail(seqgen_vocab_from_text(&w, "ab\xFF", 3), SEQGEN_EFORMAT, "byte 2", "0xFF");
    expect_detail(seqgen_vocab_from_text(&w, "ab\xC3", 3), SEQGEN_EFORMAT, "byte 2", "cut");
    expect_detail(seqgen_vocab_from_text(&w, "a\0b", 3), SEQGEN_EFORMAT, "NUL", "byte 1");
    /* 65536 distinct characters: one too many. */
    char *many = malloc(65536 * 4);
    size_t bytes = 0;
    uint32_t cp = 0x100;
    for (int i = 0; i < 65536; i++, cp++) {
        if (cp == 0xD800)
            cp = 0xE000;
        char one[5];
        size_t len = sg_utf8_encode(cp, one);
        memcpy(many + bytes, one, len);
        bytes += len;
    }
    expect_detail(seqgen_vocab_from_text(&w, many, bytes), SEQGEN_EOVERFLOW, "65536 distinct",
                  "65535");
    free(many);
    assert_ptr_equal(w, (seqgen_vocab *)&w);

    int32_t ids[4] = {9, 9, 9, 9};
    size_t n = 77, written = 77;
    expect_detail(seqgen_vocab_encode(v, "acb", 3, ids, 4, &n), SEQGEN_EINVAL, "U+0062 'b'",
                  "byte 2");
    expect_detail(seqgen_vocab_encode(v, "aé\xE9", 4, ids, 4, &n), SEQGEN_EFORMAT, "byte 3");
    expect_detail(seqgen_vocab_encode(v, "ac\n", 3, ids, 4, &n), SEQGEN_EINVAL, "U+000A",
                  "byte 2");
    expect_detail(seqgen_vocab_encode(v, "acac", 4, ids, 3, &n), SEQGEN_EINVAL, "4 characters");
    assert_int_equal(n, 77);
    for (int i = 0; i < 4; i++)
        assert_int_equal(ids[i], 9); /* nothing half-written */
    const int32_t bad[] = {1, 4}, negative[] = {-1};
    char text[16] = "untouched";
    expect_detail(seqgen_vocab_decode(v, bad, 2, text, 16, &written), SEQGEN_EINVAL, "id 1",
                  "4");
    expect_detail(seqgen_vocab_decode(v, negative, 1, text, 16, &written), SEQGEN_EINVAL, "-1");
    const int32_t three[] = {1, 3, 2}; /* a, é, c: 4 bytes and a NUL */
    expect_detail(seqgen_vocab_decode(v, three, 3, text, 4, &written), SEQGEN_EINVAL, "4 bytes");
    assert_string_equal(text, "untouched");
    assert_int_equal(written, 77);
    assert_ok(seqgen_vocab_decode(v, three, 3, text, 5, &written));
    assert_string_equal(text, "aéc");
    seqgen_vocab_free(v);
}

/* ---- Symbol datasets from memory ------------------------------------------------------------ */

static void dataset_from_memory(void **state)
{
    (void)state;
    const int32_t symbols[3 * 4] = {1, 2, 0, 9, 3, 3, 3, 3, 2, 0, -5, 7};
    const size_t lengths[3] = {3, 4, 2};
    seqgen_symbol_sequences s = {symbols, 3, 4, lengths, 4};
    seqgen_symbol_dataset *ds = NULL;
    assert_ok(seqgen_symbol_dataset_from_memory(&ds, &s));
    assert_int_equal(seqgen_symbol_dataset_count(ds), 3);
    assert_int_equal(seqgen_symbol_dataset_steps(ds), 4);
    assert_int_equal(seqgen_symbol_dataset_vocab_size(ds), 4);
    assert_int_equal(seqgen_symbol_dataset_length(ds, 2), 2);
    assert_int_equal(seqgen_symbol_dataset_length(ds, 3), 0);
    const int32_t *row = seqgen_symbol_dataset_sequence(ds, 0);
    assert_int_equal(row[2], 0);
    assert_int_equal(row[3], SEQGEN_VOCAB_END); /* padding, not the 9 */
    row = seqgen_symbol_dataset_sequence(ds, 2);
    assert_int_equal(row[2], SEQGEN_VOCAB_END);
    assert_null(seqgen_symbol_dataset_sequence(ds, 3));
    seqgen_symbol_dataset_free(ds);

    seqgen_symbol_dataset *keep = (seqgen_symbol_dataset *)&keep;
    s.vocab = 3;
    expect_detail(seqgen_symbol_dataset_from_memory(&keep, &s), SEQGEN_ERANGE, "sequence 1",
                  "step 0", "symbol 3");
    s.vocab = 1;
    expect_detail(seqgen_symbol_dataset_from_memory(&keep, &s), SEQGEN_EINVAL, "2 to 65536");
    s.vocab = 4;
    const size_t bad_lengths[3] = {3, 5, 2};
    s.lengths = bad_lengths;
    expect_detail(seqgen_symbol_dataset_from_memory(&keep, &s), SEQGEN_ERANGE, "sequence 1",
                  "length 5");
    s.lengths = NULL; /* then sequence 2's -5 is inside its length */
    expect_detail(seqgen_symbol_dataset_from_memory(&keep, &s), SEQGEN_ERANGE, "sequence 0",
                  "step 3", "symbol 9");
    s.count = 0;
    expect_detail(seqgen_symbol_dataset_from_memory(&keep, &s), SEQGEN_EINVAL, ">= 1");
    s.count = (size_t)1 << 33;
    expect_detail(seqgen_symbol_dataset_from_memory(&keep, &s), SEQGEN_EOVERFLOW, "sequences");
    assert_ptr_equal(keep, (seqgen_symbol_dataset *)&keep);
}

/* ---- Text files ---------------------------------------------------------------------------- */

typedef struct fixture {
    char dir[64];
    char path[128];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s", tu_tempdir());
    snprintf(f->path, sizeof f->path, "%s/lines.txt", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* The checksum is the documented FNV-1a (the values computed independently in Python from the
 * header's definition), chains, and changes with an id or a length, not with the padding. */
static void dataset_checksum(void **state)
{
    (void)state;
    int32_t ids[6 * 4] = {1, 2, 3, 0, 2, 0, 0, 0, 4, 4, 1, 0, 3, 1, 0, 0, 1, 0, 0, 0, 2, 3, 4, 0};
    size_t lengths[6] = {4, 2, 4, 3, 2, 4};
    seqgen_symbol_sequences seqs = {ids, 6, 4, lengths, 5};
    seqgen_symbol_dataset *ds = NULL;
    assert_ok(seqgen_symbol_dataset_from_memory(&ds, &seqs));
    const uint64_t h = seqgen_symbol_dataset_checksum(ds, 0);
    assert_int_equal(h, 0xc367712c207be180u);
    assert_int_equal(seqgen_symbol_dataset_checksum(ds, h), 0x965a397672e1c100u);
    seqgen_symbol_dataset_free(ds);
    ids[1 * 4 + 3] = 4; /* in the padding: not part of the data */
    assert_ok(seqgen_symbol_dataset_from_memory(&ds, &seqs));
    assert_int_equal(seqgen_symbol_dataset_checksum(ds, 0), h);
    seqgen_symbol_dataset_free(ds);
    ids[0] = 2; /* a symbol */
    assert_ok(seqgen_symbol_dataset_from_memory(&ds, &seqs));
    assert_int_not_equal(seqgen_symbol_dataset_checksum(ds, 0), h);
    seqgen_symbol_dataset_free(ds);
    ids[0] = 1, lengths[1] = 3; /* a length */
    assert_ok(seqgen_symbol_dataset_from_memory(&ds, &seqs));
    assert_int_not_equal(seqgen_symbol_dataset_checksum(ds, 0), h);
    seqgen_symbol_dataset_free(ds);
}

static void write_text(const fixture *f, const char *text, size_t n)
{
    tu_write_file(f->path, text, n);
}

#define WRITE(f, literal) write_text((f), (literal), sizeof(literal) - 1)

static void text_file_lines(void **state)
{
    fixture *f = *state;
    /* A BOM, LF and CRLF lines, an empty line, a CRLF empty line, a last line without LF. */
    WRITE(f, "\xEF\xBB\xBF" "cab\nab\n\n\r\nb\r\nc");
    seqgen_symbol_dataset *ds = NULL, *held = (seqgen_symbol_dataset *)&held;
    seqgen_vocab *v = NULL;
    assert_ok(seqgen_symbol_dataset_open_text(&ds, &held, &v, f->path, NULL));
    assert_null(held);
    assert_int_equal(seqgen_vocab_size(v), 4); /* end, a, b, c */
    assert_int_equal(seqgen_symbol_dataset_count(ds), 4);
    assert_int_equal(seqgen_symbol_dataset_steps(ds), 4); /* "cab" + end */
    assert_int_equal(seqgen_symbol_dataset_vocab_size(ds), 4);
    const int32_t expected[4][4] = {{3, 1, 2, 0}, {1, 2, 0, 0}, {2, 0, 0, 0}, {3, 0, 0, 0}};
    const size_t lengths[4] = {4, 3, 2, 2};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(seqgen_symbol_dataset_length(ds, i), lengths[i]);
        assert_memory_equal(seqgen_symbol_dataset_sequence(ds, i), expected[i], sizeof expected[i]);
    }
    seqgen_symbol_dataset_free(ds);

    /* The same file against a given vocabulary: the ids are that vocabulary's. */
    const uint32_t wider[] = {'a', 'b', 'c', 'd'};
    seqgen_vocab *given = NULL, *copy = NULL;
    assert_ok(seqgen_vocab_create(&given, wider, 4));
    seqgen_text_options o = seqgen_text_options_default();
    o.vocab = given;
    assert_ok(seqgen_symbol_dataset_open_text(&ds, NULL, &copy, f->path, &o));
    assert_int_equal(seqgen_vocab_size(copy), 5);
    assert_ptr_not_equal(copy, given);
    assert_int_equal(seqgen_symbol_dataset_vocab_size(ds), 5);
    assert_memory_equal(seqgen_symbol_dataset_sequence(ds, 0), expected[0], sizeof expected[0]);
    seqgen_symbol_dataset_free(ds);
    seqgen_vocab_free(copy);

    /* Characters outside it: named with their line and column. */
    const uint32_t narrow[] = {'a', 'c'};
    seqgen_vocab *small = NULL;
    assert_ok(seqgen_vocab_create(&small, narrow, 2));
    o.vocab = small;
    seqgen_symbol_dataset *keep = (seqgen_symbol_dataset *)&keep;
    expect_detail(seqgen_symbol_dataset_open_text(&keep, NULL, NULL, f->path, &o), SEQGEN_ERANGE,
                  f->path, "line 1, column 3 (byte 5)", "U+0062 'b'", "not in the vocabulary");
    assert_ptr_equal(keep, (seqgen_symbol_dataset *)&keep);
    seqgen_vocab_free(small);
    seqgen_vocab_free(given);
    seqgen_vocab_free(v);
}

static void text_file_split(void **state)
{
    fixture *f = *state;
    WRITE(f, "a\nbb\n\nccc\ndddd\ne\n");
    seqgen_text_options o = seqgen_text_options_default();
    o.holdout_every = 2;
    seqgen_symbol_dataset *train = NULL, *held = NULL;
    seqgen_vocab *v = NULL;
    assert_ok(seqgen_symbol_dataset_open_text(&train, &held, &v, f->path, &o));
    assert_int_equal(seqgen_vocab_size(v), 6); /* from both parts */
    assert_int_equal(seqgen_symbol_dataset_count(train), 3); /* a, ccc, e */
    assert_int_equal(seqgen_symbol_dataset_count(held), 2);  /* bb, dddd */
    assert_int_equal(seqgen_symbol_dataset_steps(train), 4);
    assert_int_equal(seqgen_symbol_dataset_steps(held), 5);
    assert_int_equal(seqgen_symbol_dataset_sequence(train, 1)[0], 3);
    assert_int_equal(seqgen_symbol_dataset_sequence(held, 1)[3], 4);
    assert_int_equal(seqgen_symbol_dataset_length(held, 1), 5);
    seqgen_symbol_dataset_free(train);
    seqgen_symbol_dataset_free(held);
    seqgen_vocab_free(v);

    o.holdout_every = 6; /* 5 sequences: none held out */
    seqgen_symbol_dataset *keep = (seqgen_symbol_dataset *)&keep;
    expect_detail(seqgen_symbol_dataset_open_text(&keep, &held, NULL, f->path, &o),
                  SEQGEN_EINVAL, f->path, "5 non-empty lines", "holdout_every");
    o.holdout_every = 1;
    expect_detail(seqgen_symbol_dataset_open_text(&keep, &held, NULL, f->path, &o),
                  SEQGEN_EINVAL, "holdout_every 1");
    o.holdout_every = 2;
    expect_detail(seqgen_symbol_dataset_open_text(&keep, NULL, NULL, f->path, &o),
                  SEQGEN_EINVAL, "NULL heldout");
    assert_ptr_equal(keep, (seqgen_symbol_dataset *)&keep);
}

/* Opens f->path with `o` and checks the refusal: status, the file, and the place. */
static void expect_text_error(const fixture *f, const seqgen_text_options *o, int expected,
                              const char *where, const char *what)
{
    seqgen_symbol_dataset *keep = (seqgen_symbol_dataset *)&keep;
    seqgen_vocab *vkeep = (seqgen_vocab *)&vkeep;
    expect_detail(seqgen_symbol_dataset_open_text(&keep, NULL, &vkeep, f->path, o), expected,
                  f->path, where, what);
    assert_ptr_equal(keep, (seqgen_symbol_dataset *)&keep);
    assert_ptr_equal(vkeep, (seqgen_vocab *)&vkeep);
}

static void text_file_refusals(void **state)
{
    fixture *f = *state;
    WRITE(f, "ab\nc\xFF" "d\n");
    expect_text_error(f, NULL, SEQGEN_EFORMAT, "line 2, column 2 (byte 4)", "not valid UTF-8");
    WRITE(f, "ab\nc\xED\xA0\x80\n"); /* a surrogate */
    expect_text_error(f, NULL, SEQGEN_EFORMAT, "line 2, column 2 (byte 4)", "not valid UTF-8");
    WRITE(f, "ab\nc\xC0\xAF\n"); /* overlong '/' */
    expect_text_error(f, NULL, SEQGEN_EFORMAT, "line 2, column 2 (byte 4)", "0xC0");
    WRITE(f, "ab\n\xC3\n"); /* a character cut by a line end is invalid, not truncated */
    expect_text_error(f, NULL, SEQGEN_EFORMAT, "line 2, column 1 (byte 3)", "not valid UTF-8");
    WRITE(f, "ab\nc\xE2\x82"); /* cut by the end of the file */
    expect_text_error(f, NULL, SEQGEN_ETRUNCATED, "line 2, column 2 (byte 4)", "end of the file");
    write_text(f, "abc\nd\0e\n", 8);
    expect_text_error(f, NULL, SEQGEN_EFORMAT, "line 2, column 2 (byte 5)", "NUL byte");
    WRITE(f, "ab\rc\n");
    expect_text_error(f, NULL, SEQGEN_EFORMAT, "line 1, column 3 (byte 2)", "carriage return");
    WRITE(f, "");
    expect_text_error(f, NULL, SEQGEN_EFORMAT, "empty", "");
    WRITE(f, "\n\r\n\n");
    expect_text_error(f, NULL, SEQGEN_EFORMAT, "no non-empty line in 3 lines", "");

    seqgen_text_options o = seqgen_text_options_default();
    o.max_line_symbols = 3;
    WRITE(f, "abc\néé\nabcd\n");
    expect_text_error(f, &o, SEQGEN_EOVERFLOW, "line 3 (byte 9)", "limit of 3 characters");
    o = seqgen_text_options_default();
    o.max_sequences = 2;
    WRITE(f, "a\n\nb\nc\n");
    expect_text_error(f, &o, SEQGEN_EOVERFLOW, "line 4", "limit of 2 non-empty lines");
    o = seqgen_text_options_default();
    o.max_bytes = 7;
    WRITE(f, "a\nb\nc\nd\n");
    expect_text_error(f, &o, SEQGEN_EOVERFLOW, "8 bytes", "limit of 7");
    /* Within the file's size, but padding one long line's length costs too much memory. */
    char text[4096];
    size_t n = 0;
    memset(text, 'x', 200);
    n = 200;
    for (int i = 0; i < 500; i++)
        text[n++] = '\n', text[n++] = 'y';
    write_text(f, text, n);
    o.max_bytes = 100000;
    expect_text_error(f, &o, SEQGEN_EOVERFLOW, "501 sequences padded to 201 symbols",
                      "limit of 100000");
    o = seqgen_text_options_default();
    o.max_line_symbols = 0; /* the options, not the file */
    seqgen_symbol_dataset *keep = (seqgen_symbol_dataset *)&keep;
    expect_detail(seqgen_symbol_dataset_open_text(&keep, NULL, NULL, f->path, &o), SEQGEN_EINVAL,
                  "text limits", "0 characters a line");
    o.max_line_symbols = 10, o.max_sequences = (size_t)1 << 32;
    expect_detail(seqgen_symbol_dataset_open_text(&keep, NULL, NULL, f->path, &o), SEQGEN_EINVAL,
                  "text limits", "4294967296 lines");
    assert_ptr_equal(keep, (seqgen_symbol_dataset *)&keep);

    /* 65536 distinct characters, one per line. */
    char *many = malloc(65536 * 5);
    n = 0;
    uint32_t cp = 0x100;
    for (int i = 0; i < 65536; i++, cp++) {
        if (cp == 0xD800)
            cp = 0xE000;
        char one[5];
        size_t len = sg_utf8_encode(cp, one);
        memcpy(many + n, one, len);
        n += len;
        many[n++] = '\n';
    }
    write_text(f, many, n);
    free(many);
    expect_text_error(f, NULL, SEQGEN_EOVERFLOW, "65536 distinct characters", "65535");
}

/* Reads the FIFO at `path`: 0 if it was refused as one. */
static int read_fifo(const char *path)
{
    seqgen_symbol_dataset *ds = NULL;
    return seqgen_symbol_dataset_open_text(&ds, NULL, NULL, path, NULL) == SEQGEN_EFORMAT &&
                   strstr(seqgen_last_error(), "not a regular file (a FIFO)")
               ? 0
               : 1;
}

static void text_not_a_regular_file(void **state)
{
    fixture *f = *state;
    char fifo[160], missing[160];
    snprintf(fifo, sizeof fifo, "%s/pipe.txt", f->dir);
    tu_read_fifo_in_child(fifo, read_fifo);
    seqgen_symbol_dataset *ds = NULL;
    expect_detail(seqgen_symbol_dataset_open_text(&ds, NULL, NULL, f->dir, NULL), SEQGEN_EFORMAT,
                  f->dir, "not a regular file (a directory)");
    expect_detail(seqgen_symbol_dataset_open_text(&ds, NULL, NULL, "/dev/null", NULL),
                  SEQGEN_EFORMAT, "/dev/null", "not a regular file (a device)");
    snprintf(missing, sizeof missing, "%s/missing.txt", f->dir);
    expect_detail(seqgen_symbol_dataset_open_text(&ds, NULL, NULL, missing, NULL), SEQGEN_ENOENT,
                  missing);
    assert_null(ds);
}

/* Every allocation of opening a text file, made to fail in turn: ENOMEM, nothing leaked (the
 * sanitizer builds check that), the outputs untouched; then it succeeds. */
static void text_every_allocation_failure(void **state)
{
    fixture *f = *state;
    WRITE(f, "ab\nba\nc\nabc\n");
    seqgen_text_options o = seqgen_text_options_default();
    o.holdout_every = 2;
    for (long n = 0;; n++) {
        seqgen_symbol_dataset *train = (seqgen_symbol_dataset *)&train, *held = train;
        seqgen_vocab *v = (seqgen_vocab *)&v;
        sg_alloc_fail_after(n);
        int status = seqgen_symbol_dataset_open_text(&train, &held, &v, f->path, &o);
        int pending = sg_alloc_fail_pending();
        sg_alloc_fail_after(-1);
        if (pending) {
            assert_ok(status);
            assert_true(n > 5);
            seqgen_symbol_dataset_free(train);
            seqgen_symbol_dataset_free(held);
            seqgen_vocab_free(v);
            break;
        }
        assert_int_equal(status, SEQGEN_ENOMEM);
        assert_true(strncmp(seqgen_last_error(), f->path, strlen(f->path)) == 0);
        assert_ptr_equal(train, (seqgen_symbol_dataset *)&train);
        assert_ptr_equal(held, (seqgen_symbol_dataset *)&train);
        assert_ptr_equal(v, (seqgen_vocab *)&v);
    }
}

/* ---- The iterator ------------------------------------------------------------------------- */

static void iterator_epochs(void **state)
{
    (void)state;
    enum { N = 10, T = 5 };
    int32_t symbols[N * T];
    size_t lengths[N];
    for (int i = 0; i < N; i++) {
        lengths[i] = (size_t)(1 + i % T);
        for (int t = 0; t < T; t++)
            symbols[i * T + t] = t < (int)lengths[i] ? 1 + (i + t) % 6 : 0;
    }
    seqgen_symbol_sequences s = {symbols, N, T, lengths, 7};
    seqgen_symbol_dataset *ds = NULL;
    assert_ok(seqgen_symbol_dataset_from_memory(&ds, &s));
    seqgen_batch_config cfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    cfg.batch_size = 4, cfg.seed = 11;
    seqgen_symbol_iter *it = NULL;
    assert_ok(seqgen_symbol_iter_create(&it, ds, &cfg));
    assert_int_equal(seqgen_symbol_iter_steps(it), T);
    size_t first_order[N];
    for (uint64_t epoch = 0; epoch < 2; epoch++) {
        int seen[N] = {0};
        size_t got = 0, count, batches = 0;
        const int32_t *batch;
        int status;
        while ((status = seqgen_symbol_iter_next(it, &batch, &count)) == SEQGEN_OK) {
            const size_t *idx = seqgen_symbol_iter_indices(it);
            const size_t *len = seqgen_symbol_iter_lengths(it);
            for (size_t k = 0; k < count; k++) {
                seen[idx[k]]++;
                assert_int_equal(len[k], lengths[idx[k]]);
                assert_memory_equal(batch + k * T, symbols + idx[k] * T, T * sizeof *batch);
                if (epoch == 0)
                    first_order[got + k] = idx[k];
            }
            got += count;
            batches++;
            assert_int_equal(seqgen_symbol_iter_position(it), got);
        }
        assert_int_equal(status, SEQGEN_DONE);
        assert_int_equal(batches, 3);
        for (int i = 0; i < N; i++)
            assert_int_equal(seen[i], 1);
        assert_int_equal(seqgen_symbol_iter_epoch(it), epoch + 1);
    }
    /* The order is the binary iterator's for the same count and seed; seek reproduces it. */
    uint8_t units[N] = {0};
    seqgen_sequences bits = {units, N, 1, 1, NULL, NULL};
    seqgen_dataset *bds = NULL;
    seqgen_batch_iter *bit = NULL;
    assert_ok(seqgen_dataset_from_memory(&bds, &bits, SEQGEN_COPY));
    assert_ok(seqgen_batch_iter_create(&bit, bds, &cfg));
    const float *fb;
    size_t count;
    assert_ok(seqgen_batch_iter_next(bit, &fb, &count));
    assert_memory_equal(seqgen_batch_iter_indices(bit), first_order, 4 * sizeof(size_t));
    seqgen_batch_iter_free(bit);
    seqgen_dataset_free(bds);
    assert_ok(seqgen_symbol_iter_seek(it, 0, 4));
    const int32_t *batch;
    assert_ok(seqgen_symbol_iter_next(it, &batch, &count));
    assert_memory_equal(seqgen_symbol_iter_indices(it), first_order + 4, 4 * sizeof(size_t));
    expect_detail(seqgen_symbol_iter_seek(it, 0, N + 1), SEQGEN_EINVAL, "position 11");
    seqgen_symbol_iter_free(it);

    seqgen_symbol_iter *keep = (seqgen_symbol_iter *)&keep;
    cfg.units_per_step = 2;
    expect_detail(seqgen_symbol_iter_create(&keep, ds, &cfg), SEQGEN_EINVAL, "units_per_step 2");
    cfg.units_per_step = 1, cfg.batch_size = 0;
    expect_detail(seqgen_symbol_iter_create(&keep, ds, &cfg), SEQGEN_EINVAL, "batch size");
    cfg.batch_size = 11, cfg.drop_last = 1;
    expect_detail(seqgen_symbol_iter_create(&keep, ds, &cfg), SEQGEN_EINVAL, "drop_last");
    assert_ptr_equal(keep, (seqgen_symbol_iter *)&keep);
    cfg.batch_size = 4; /* 2 full batches, the last 2 sequences dropped */
    assert_ok(seqgen_symbol_iter_create(&it, ds, &cfg));
    int batches = 0;
    while (seqgen_symbol_iter_next(it, &batch, &count) == SEQGEN_OK)
        batches++, assert_int_equal(count, 4);
    assert_int_equal(batches, 2);
    seqgen_symbol_iter_free(it);
    seqgen_symbol_dataset_free(ds);
}

/* ---- Training on a text file --------------------------------------------------------------- */

/* Words of a small language: 1 to 3 syllables, a consonant of "bdkm" and a vowel of "aio", the
 * vowel of every syllable that of the first. Its entropy is about 1 nat per symbol (the end
 * symbol included), against log 8 = 2.08 for a uniform guess. */
static size_t make_words(char *text, size_t words, uint64_t seed)
{
    uint64_t x = seed;
    size_t n = 0;
    for (size_t w = 0; w < words; w++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        unsigned r = (unsigned)(x >> 33);
        unsigned syllables = 1 + r % 3, vowel = r / 3 % 3;
        r /= 9;
        for (unsigned s = 0; s < syllables; s++, r /= 4) {
            text[n++] = "bdkm"[r % 4];
            text[n++] = "aio"[vowel];
        }
        text[n++] = '\n';
    }
    return n;
}

static double heldout_nll(seqgen_model *m, const seqgen_symbol_dataset *test)
{
    const size_t N = seqgen_symbol_dataset_count(test), T = seqgen_symbol_dataset_steps(test);
    size_t *lengths = malloc(N * sizeof *lengths);
    for (size_t i = 0; i < N; i++)
        lengths[i] = seqgen_symbol_dataset_length(test, i);
    seqgen_symbol_batch b = seqgen_symbol_batch_of_sequences(m, seqgen_symbol_dataset_sequence(test, 0),
                                                             (int)N, (int)T);
    b.lengths = lengths;
    seqgen_train_stats st;
    assert_ok(seqgen_model_evaluate_symbols(m, &b, NULL, &st));
    free(lengths);
    return st.loss;
}

static void training_learns_the_words(void **state)
{
    fixture *f = *state;
    char *text = malloc(600 * 8);
    write_text(f, text, make_words(text, 600, 5));
    free(text);
    seqgen_text_options o = seqgen_text_options_default();
    o.holdout_every = 5; /* 480 to train, 120 held out */
    seqgen_symbol_dataset *train = NULL, *test = NULL;
    seqgen_vocab *v = NULL;
    assert_ok(seqgen_symbol_dataset_open_text(&train, &test, &v, f->path, &o));
    const size_t V = seqgen_vocab_size(v);
    assert_int_equal(V, 8);
    assert_int_equal(seqgen_symbol_dataset_count(test), 120);

    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.vocab = (int)V, cfg.embedding = 8, cfg.hidden = 16, cfg.start_step = 1;
    cfg.seed = 7, cfg.threads = 1;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    ocfg.lr = 0.01;
    seqgen_optim *opt = NULL;
    assert_ok(seqgen_optim_create(&opt, m, &ocfg));
    seqgen_batch_config bcfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    bcfg.batch_size = 32, bcfg.seed = 3;
    seqgen_symbol_iter *it = NULL;
    assert_ok(seqgen_symbol_iter_create(&it, train, &bcfg));
    seqgen_train_options topts = seqgen_train_options_default();
    topts.loss = SEQGEN_LOSS_CE;

    const double before = heldout_nll(m, test);
    const int T = (int)seqgen_symbol_iter_steps(it);
    for (int step = 0; step < 300;) {
        const int32_t *batch;
        size_t count;
        int status = seqgen_symbol_iter_next(it, &batch, &count);
        if (status == SEQGEN_DONE)
            continue;
        assert_ok(status);
        seqgen_symbol_batch b = seqgen_symbol_batch_of_sequences(m, batch, (int)count, T);
        b.lengths = seqgen_symbol_iter_lengths(it);
        assert_ok(seqgen_model_forward_backward_symbols(m, &b, &topts, NULL, NULL));
        assert_ok(seqgen_optim_step(opt, m));
        step++;
    }
    const double after = heldout_nll(m, test);
    print_message("    held-out NLL per symbol: %.3f nats before, %.3f after 300 Adam steps; "
                  "log V = %.3f\n", before, after, log((double)V));
    assert_true(before > 0.9 * log((double)V));
    assert_true(after < 0.6 * log((double)V));
    seqgen_symbol_iter_free(it);
    seqgen_optim_free(opt);
    seqgen_model_free(m);
    seqgen_symbol_dataset_free(train);
    seqgen_symbol_dataset_free(test);
    seqgen_vocab_free(v);
}

/* Debian's wamerican word list, if installed: one word per line. */
static void word_list(void **state)
{
    (void)state;
    const char *path = "/usr/share/dict/words";
    struct stat st;
    if (stat(path, &st) != 0) {
        print_message("    %s not installed (Debian's wamerican): skipped\n", path);
        skip();
    }
    seqgen_symbol_dataset *ds = NULL;
    seqgen_vocab *v = NULL;
    assert_ok(seqgen_symbol_dataset_open_text(&ds, NULL, &v, path, NULL));
    const size_t N = seqgen_symbol_dataset_count(ds), V = seqgen_vocab_size(v);
    size_t symbols = 0;
    for (size_t i = 0; i < N; i++)
        symbols += seqgen_symbol_dataset_length(ds, i);
    print_message("    %s: %zu words, V = %zu, T = %zu, %.2f symbols a word (end included)\n",
                  path, N, V, seqgen_symbol_dataset_steps(ds), (double)symbols / (double)N);
    assert_true(N > 50000);
    assert_true(V >= 53 && V <= 200); /* end, a-z, A-Z, the apostrophe, some accented letters */
    /* Sorted by code point: the capitals' ids run before the small letters', 26 in a row. */
    assert_int_equal(seqgen_vocab_id(v, 'Z') - seqgen_vocab_id(v, 'A'), 25);
    assert_int_equal(seqgen_vocab_id(v, 'z') - seqgen_vocab_id(v, 'a'), 25);
    assert_true(seqgen_vocab_id(v, 'Z') < seqgen_vocab_id(v, 'a'));
    seqgen_symbol_dataset_free(ds);
    seqgen_vocab_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_decoder),
        cmocka_unit_test(vocab_from_text_sorted),
        cmocka_unit_test(vocab_refusals),
        cmocka_unit_test(dataset_from_memory),
        cmocka_unit_test(dataset_checksum),
        cmocka_unit_test_setup_teardown(text_file_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(text_file_split, setup, teardown),
        cmocka_unit_test_setup_teardown(text_file_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(text_not_a_regular_file, setup, teardown),
        cmocka_unit_test_setup_teardown(text_every_allocation_failure, setup, teardown),
        cmocka_unit_test(iterator_epochs),
        cmocka_unit_test_setup_teardown(training_learns_the_words, setup, teardown),
        cmocka_unit_test(word_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
