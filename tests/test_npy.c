/* The .npy reader against files written by NumPy (tests/fixtures/npy, made by
 * tests/fixtures/make_npy.py, whose values are derived again here), and every refusal, each
 * with its status and a message naming the file and the problem: truncations, bad headers (made
 * here byte by byte), dtypes, shapes, sizes, bools, files that are not regular files. */
#include "testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "npy.h"
#include "seqgen.h"

#define FIXTURES "tests/fixtures/npy/"
#define MAX_FILE 4096

typedef tu_file fixture;

static int setup(void **state) { return tu_file_setup(state, "sample.npy"); }
static int teardown(void **state) { return tu_file_teardown(state); }

/* Reads path and checks the status, that the detail starts with the path and contains
 * `fragment`, and that `out` was left as it was. */
static void expect_error(const char *path, int status, const char *fragment)
{
    sg_npy npy, before;
    memset(&npy, 0xa5, sizeof npy);
    memcpy(&before, &npy, sizeof npy);
    int got = sg_npy_read(path, &npy);
    const char *detail = seqgen_last_error();
    if (got != status || strncmp(detail, path, strlen(path)) != 0 || !strstr(detail, fragment))
        fail_msg("%s: expected %s containing \"%s\", got %d (%s): %s", path,
                 seqgen_strerror(status), fragment, got, seqgen_strerror(got), detail);
    assert_memory_equal(&npy, &before, sizeof npy);
}

/* A .npy file of format version `major` with the `length` bytes of `header`, then `size` data
 * bytes. */
static size_t make_npy(uint8_t *buf, unsigned major, const char *header, size_t length,
                       const void *data, size_t size)
{
    size_t n = 8 + (major == 1 ? 2 : 4);
    assert_true(n + length + size <= MAX_FILE);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)major, buf[7] = 0;
    for (size_t k = 0; k < n - 8; k++)
        buf[8 + k] = (uint8_t)(length >> (8 * k));
    memcpy(buf + n, header, length);
    if (size > 0)
        memcpy(buf + n + length, data, size);
    return n + length + size;
}

/* Writes make_npy's file to f->path. */
static void write_npy(const fixture *f, unsigned major, const char *header, const void *data,
                      size_t size)
{
    uint8_t file[MAX_FILE];
    tu_write_file(f->path, file, make_npy(file, major, header, strlen(header), data, size));
}

/* A NumPy fixture copied to f->path, cut to its first `cut` bytes (all if larger) and followed
 * by `extra` zero bytes; returns its original size. */
static size_t copy_fixture(const fixture *f, const char *name, size_t cut, size_t extra)
{
    char path[160];
    snprintf(path, sizeof path, FIXTURES "%s", name);
    size_t size;
    unsigned char *data = tu_read_file(path, &size);
    size_t n = cut < size ? cut : size;
    unsigned char *out = calloc(1, n + extra + 1);
    assert_non_null(out);
    memcpy(out, data, n);
    tu_write_file(f->path, out, n + extra);
    free(out);
    free(data);
    return size;
}

static void read_fixture(const char *name, sg_npy *npy)
{
    char path[160];
    snprintf(path, sizeof path, FIXTURES "%s", name);
    assert_ok(sg_npy_read(path, npy));
}

static void bool_n_by_t(void **state)
{
    (void)state;
    sg_npy npy;
    read_fixture("bool-4x6.npy", &npy);
    assert_int_equal(npy.type, SG_NPY_BOOL);
    assert_int_equal(npy.ndim, 2);
    assert_int_equal(npy.shape[0], 4);
    assert_int_equal(npy.shape[1], 6);
    assert_int_equal(npy.count, 24);
    const uint8_t *bits = npy.data;
    int ok = 1, ones = 0;
    for (int n = 0; n < 4; n++)
        for (int t = 0; t < 6; t++) {
            int expected = (6 * n + t) * 7 % 3 == 0;
            assert_int_equal(bits[6 * n + t], expected);
            assert_int_equal(sg_npy_get(&npy, (size_t)(6 * n + t), &ok), expected);
            ones += expected;
        }
    assert_int_equal(ones, 8); /* both values occur */
    assert_true(ok);
    sg_npy_free(&npy);
    assert_null(npy.data);
    sg_npy_free(&npy); /* twice is harmless */
}

static void uint8_two_and_three_dimensions(void **state)
{
    (void)state;
    sg_npy npy;
    read_fixture("uint8-3x4x5.npy", &npy);
    assert_int_equal(npy.type, SG_NPY_U8);
    assert_int_equal(npy.ndim, 3);
    assert_true(npy.shape[0] == 3 && npy.shape[1] == 4 && npy.shape[2] == 5);
    assert_int_equal(npy.count, 60);
    for (size_t i = 0; i < 60; i++)
        assert_int_equal(((const uint8_t *)npy.data)[i], (37 * i + 11) % 256);
    sg_npy_free(&npy);

    read_fixture("uint8-2x3.npy", &npy);
    assert_int_equal(npy.ndim, 2);
    assert_true(npy.shape[0] == 2 && npy.shape[1] == 3 && npy.shape[2] == 0);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(((const uint8_t *)npy.data)[i], 10 * i);
    sg_npy_free(&npy);
}

/* make_npy.py's int_values(): 0, 1, max, min, the bytes 01 02 .. size, its negation (signed) or
 * max - 1 (unsigned), 2; as the 64 bits of the value sign- or zero-extended. */
static uint64_t expected_bits(unsigned size, int is_signed, size_t i)
{
    uint64_t all = size == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * size)) - 1;
    uint64_t max = is_signed ? all >> 1 : all, min = is_signed ? ~(all >> 1) : 0, pattern = 0;
    for (unsigned k = 1; k <= size; k++)
        pattern = pattern << 8 | k;
    const uint64_t values[7] = {0, 1, max, min, pattern, is_signed ? 0 - pattern : max - 1, 2};
    return values[i];
}

/* Element i of the array's data in its own C type, extended to 64 bits. */
static uint64_t element_bits(const sg_npy *npy, size_t i)
{
    switch (npy->type) {
    case SG_NPY_BOOL:
    case SG_NPY_U8: return ((const uint8_t *)npy->data)[i];
    case SG_NPY_I8: return (uint64_t)(int64_t)((const int8_t *)npy->data)[i];
    case SG_NPY_U16: return ((const uint16_t *)npy->data)[i];
    case SG_NPY_I16: return (uint64_t)(int64_t)((const int16_t *)npy->data)[i];
    case SG_NPY_U32: return ((const uint32_t *)npy->data)[i];
    case SG_NPY_I32: return (uint64_t)(int64_t)((const int32_t *)npy->data)[i];
    case SG_NPY_U64: return ((const uint64_t *)npy->data)[i];
    case SG_NPY_I64: return (uint64_t)((const int64_t *)npy->data)[i];
    }
    return 0;
}

/* Each integer dtype, little- and big-endian, and format versions 2.0 and 3.0: the values in
 * host order, and sg_npy_get's int64 (a uint64 above INT64_MAX clears the flag). */
static void every_integer_dtype(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        sg_npy_type type;
        unsigned size;
        int is_signed;
    } files[] = {
        {"u1.npy", SG_NPY_U8, 1, 0},        {"i1.npy", SG_NPY_I8, 1, 1},
        {"u2-le.npy", SG_NPY_U16, 2, 0},    {"u2-be.npy", SG_NPY_U16, 2, 0},
        {"i2-le.npy", SG_NPY_I16, 2, 1},    {"i2-be.npy", SG_NPY_I16, 2, 1},
        {"u4-le.npy", SG_NPY_U32, 4, 0},    {"u4-be.npy", SG_NPY_U32, 4, 0},
        {"i4-le.npy", SG_NPY_I32, 4, 1},    {"i4-be.npy", SG_NPY_I32, 4, 1},
        {"u8-le.npy", SG_NPY_U64, 8, 0},    {"u8-be.npy", SG_NPY_U64, 8, 0},
        {"i8-le.npy", SG_NPY_I64, 8, 1},    {"i8-be.npy", SG_NPY_I64, 8, 1},
        {"u2-be-v2.npy", SG_NPY_U16, 2, 0}, {"i4-le-v2.npy", SG_NPY_I32, 4, 1},
        {"i8-be-v3.npy", SG_NPY_I64, 8, 1},
    };
    for (size_t c = 0; c < sizeof files / sizeof files[0]; c++) {
        sg_npy npy;
        read_fixture(files[c].name, &npy);
        assert_int_equal(npy.type, files[c].type);
        assert_int_equal(npy.ndim, 1);
        assert_int_equal(npy.shape[0], 7);
        assert_int_equal(npy.count, 7);
        for (size_t i = 0; i < 7; i++) {
            uint64_t expected = expected_bits(files[c].size, files[c].is_signed, i);
            if (element_bits(&npy, i) != expected)
                fail_msg("%s element %zu: 0x%llx, expected 0x%llx", files[c].name, i,
                         (unsigned long long)element_bits(&npy, i), (unsigned long long)expected);
            int ok = 1;
            int64_t got = sg_npy_get(&npy, i, &ok);
            if (files[c].type == SG_NPY_U64 && expected > INT64_MAX) {
                assert_false(ok);
                assert_true(got == INT64_MAX);
            } else {
                assert_true(ok);
                assert_true((uint64_t)got == expected);
            }
        }
        sg_npy_free(&npy);
    }
}

static void get_out_of_range(void **state)
{
    (void)state;
    sg_npy npy;
    read_fixture("i2-le.npy", &npy);
    int ok = 1;
    assert_int_equal(sg_npy_get(&npy, 3, &ok), -32768);
    assert_true(ok);
    assert_int_equal(sg_npy_get(&npy, 7, &ok), 0);
    assert_false(ok);
    assert_int_equal(sg_npy_get(&npy, 4, NULL), 258); /* no flag needed */
    assert_int_equal(sg_npy_get(NULL, 0, NULL), 0);
    sg_npy_free(&npy);
    assert_int_equal(sg_npy_get(&npy, 0, &ok), 0); /* freed: count 0 */
}

/* Headers NumPy does not write but Python reads as the same dict: double quotes, any order, no
 * trailing comma, whitespace between tokens, a 1-byte dtype with a byte order; and a header of
 * exactly SG_NPY_MAX_HEADER bytes. */
static void accepted_header_variants(void **state)
{
    fixture *f = *state;
    static const uint8_t data[8] = {7, 0, 0, 0, 0xfd, 0xff, 0xff, 0xff}; /* 7, -3 as '<i4' */
    static const char *const headers[] = {
        "{\"descr\": \"<i4\", \"fortran_order\": False, \"shape\": (2,)}\n",
        "{'shape': (2,), 'fortran_order': False, 'descr': '<i4'}\n",
        "{ 'descr' :'<i4' ,\t'fortran_order':False,\n'shape':( 2 , ) , }  \n \n",
        "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2,), }\n",
        "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1, 2), }\n",
    };
    for (size_t c = 0; c < sizeof headers / sizeof headers[0]; c++)
        for (unsigned major = 1; major <= 3; major++) {
            write_npy(f, major, headers[c], data, sizeof data);
            sg_npy npy;
            assert_ok(sg_npy_read(f->path, &npy));
            assert_int_equal(npy.count, 2);
            assert_int_equal(sg_npy_get(&npy, 0, NULL), 7);
            assert_int_equal(sg_npy_get(&npy, 1, NULL), -3);
            sg_npy_free(&npy);
        }
    static const struct {
        const char *descr;
        sg_npy_type type;
        int64_t second;
    } one_byte[] = {{"<u1", SG_NPY_U8, 0xfd}, {">i1", SG_NPY_I8, -3}, {"<b1", SG_NPY_BOOL, 1}};
    static const uint8_t bytes[2] = {7, 0xfd}, bools[2] = {0, 1};
    for (size_t c = 0; c < sizeof one_byte / sizeof one_byte[0]; c++) {
        char header[128];
        snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (2,)}\n",
                 one_byte[c].descr);
        write_npy(f, 1, header, one_byte[c].type == SG_NPY_BOOL ? bools : bytes, 2);
        sg_npy npy;
        assert_ok(sg_npy_read(f->path, &npy));
        assert_int_equal(npy.type, one_byte[c].type);
        assert_int_equal(sg_npy_get(&npy, 1, NULL), one_byte[c].second);
        sg_npy_free(&npy);
    }

    /* The largest header accepted: padded with spaces to 65536 bytes, in a version 2.0 file. */
    static char big[SG_NPY_MAX_HEADER + 1];
    const char *dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }";
    memset(big, ' ', SG_NPY_MAX_HEADER);
    memcpy(big, dict, strlen(dict));
    big[SG_NPY_MAX_HEADER - 1] = '\n';
    uint8_t *file = malloc(12 + SG_NPY_MAX_HEADER + 3);
    assert_non_null(file);
    memcpy(file, "\x93NUMPY\x02\x00\x00\x00\x01\x00", 12);
    memcpy(file + 12, big, SG_NPY_MAX_HEADER);
    memcpy(file + 12 + SG_NPY_MAX_HEADER, "abc", 3);
    tu_write_file(f->path, file, 12 + SG_NPY_MAX_HEADER + 3);
    sg_npy npy;
    assert_ok(sg_npy_read(f->path, &npy));
    assert_int_equal(sg_npy_get(&npy, 2, NULL), 'c');
    sg_npy_free(&npy);
    file[8] = 1; /* one byte more: 65537 */
    tu_write_file(f->path, file, 12 + SG_NPY_MAX_HEADER + 3);
    expect_error(f->path, SEQGEN_EOVERFLOW,
                 "header length 65537 (at byte 8) is more than the 65536 bytes accepted");
    free(file);
}

/* Every proper prefix of a version 1.0 and a version 2.0 file is truncated, with the part it
 * ends in named. */
static void every_truncation_point(void **state)
{
    fixture *f = *state;
    static const char *const names[2] = {"i8-le.npy", "u2-be-v2.npy"};
    for (int v = 0; v < 2; v++) {
        size_t size = copy_fixture(f, names[v], SIZE_MAX, 0), preamble = v == 0 ? 10 : 12;
        size_t data_start = size - (v == 0 ? 56 : 14);
        for (size_t cut = 0; cut < size; cut++) {
            copy_fixture(f, names[v], cut, 0);
            expect_error(f->path, SEQGEN_ETRUNCATED,
                         cut < preamble     ? "inside the .npy preamble"
                         : cut < data_start ? "runs past the end of the"
                                            : "bytes of data but the file has");
        }
    }
}

static void truncated_and_trailing_messages(void **state)
{
    fixture *f = *state;
    copy_fixture(f, "i8-le.npy", 100, 0);
    expect_error(f->path, SEQGEN_ETRUNCATED,
                 "the .npy header of 118 bytes from byte 10 runs past the end of the 100-byte "
                 "file");
    copy_fixture(f, "bool-4x6.npy", 151, 0);
    expect_error(f->path, SEQGEN_ETRUNCATED, "shape (4, 6) announces 24 bytes of data but the file "
                 "has 23 after the header (from byte 128)");
    copy_fixture(f, "i8-le.npy", 128 + 8, 0);
    expect_error(f->path, SEQGEN_ETRUNCATED,
                 "shape (7,) announces 56 bytes of data but the file has 8 after the header");
    copy_fixture(f, "bool-4x6.npy", SIZE_MAX, 5);
    expect_error(f->path, SEQGEN_ETRAILING,
                 "5 unexpected bytes after the 24 bytes of data announced by shape (4, 6)");
    copy_fixture(f, "u8-be.npy", 5, 0);
    expect_error(f->path, SEQGEN_ETRUNCATED, "file ends after 5 bytes, inside the .npy preamble");
}

/* NumPy's own file with its shape changed in place: the data no longer matches, either way. */
static void shape_disagrees_with_file_size(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *shape;
        int status;
        const char *fragment;
    } cases[] = {
        {"(5, 6)", SEQGEN_ETRUNCATED, "shape (5, 6) announces 30 bytes of data but the file has 24"},
        {"(3, 6)", SEQGEN_ETRAILING, "6 unexpected bytes after the 18 bytes of data announced by shape (3, 6)"},
        {"(4, 7)", SEQGEN_ETRUNCATED, "announces 28 bytes"},
        {"(24,) ", SEQGEN_OK, ""},
    };
    size_t size;
    unsigned char *file = tu_read_file(FIXTURES "bool-4x6.npy", &size);
    char *at = strstr((char *)file + 10, "(4, 6)");
    assert_non_null(at);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memcpy(at, cases[c].shape, 6);
        tu_write_file(f->path, file, size);
        if (cases[c].status != SEQGEN_OK) {
            expect_error(f->path, cases[c].status, cases[c].fragment);
            continue;
        }
        sg_npy npy;
        assert_ok(sg_npy_read(f->path, &npy));
        assert_int_equal(npy.ndim, 1);
        assert_int_equal(npy.count, 24);
        sg_npy_free(&npy);
    }
    free(file);
}

/* A small file whose shape claims much more: refused from the file's size, before the data is
 * allocated (the only allocation is the header's: a failure set for the second never comes). */
static void small_file_claiming_much_allocates_nothing(void **state)
{
    fixture *f = *state;
    static const uint8_t data[16] = {0};
    write_npy(f, 1, "{'descr': '<u8', 'fortran_order': False, 'shape': (1000000000, 1000), }\n",
              data, sizeof data);
    sg_alloc_fail_after(1);
    expect_error(f->path, SEQGEN_ETRUNCATED,
                 "shape (1000000000, 1000) announces 8000000000000 bytes of data but the file "
                 "has 16");
    assert_true(sg_alloc_fail_pending());
    sg_alloc_fail_after(-1);
}

static void huge_header_length(void **state)
{
    fixture *f = *state;
    uint8_t file[100];
    memset(file, ' ', sizeof file);
    memcpy(file, "\x93NUMPY\x02\x00\x00\x00\x00\x80", 12); /* 2^31 */
    tu_write_file(f->path, file, sizeof file);
    expect_error(f->path, SEQGEN_EOVERFLOW,
                 "header length 2147483648 (at byte 8) is more than the 65536 bytes accepted");
    memcpy(file + 8, "\xff\xff\xff\xff", 4);
    tu_write_file(f->path, file, sizeof file);
    expect_error(f->path, SEQGEN_EOVERFLOW, "header length 4294967295 (at byte 8)");
    memcpy(file + 8, "\xff\xff\x00\x00", 4); /* within the limit, past the end */
    tu_write_file(f->path, file, sizeof file);
    expect_error(f->path, SEQGEN_ETRUNCATED,
                 "the .npy header of 65535 bytes from byte 12 runs past the end of the 100-byte "
                 "file");
    memcpy(file, "\x93NUMPY\x01\x00\xff\xff", 10); /* version 1.0: u16, same */
    tu_write_file(f->path, file, sizeof file);
    expect_error(f->path, SEQGEN_ETRUNCATED, "header of 65535 bytes from byte 10 runs past the end");
}

static void bad_magic_and_version(void **state)
{
    fixture *f = *state;
    size_t size;
    unsigned char *file = tu_read_file(FIXTURES "i4-le.npy", &size);
    static const struct {
        size_t at;
        unsigned char byte;
        int status;
        const char *fragment;
    } cases[] = {
        {0, 0x92, SEQGEN_EFORMAT, "not a .npy file (it does not start with \\x93NUMPY)"},
        {5, 'y', SEQGEN_EFORMAT, "not a .npy file"},
        {6, 4, SEQGEN_EVERSION, ".npy format version 4.0 is not supported (only 1.0, 2.0 and 3.0)"},
        {6, 0, SEQGEN_EVERSION, "version 0.0 is not supported"},
        {7, 1, SEQGEN_EVERSION, "version 1.1 is not supported"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        unsigned char old = file[cases[c].at];
        file[cases[c].at] = cases[c].byte;
        tu_write_file(f->path, file, size);
        expect_error(f->path, cases[c].status, cases[c].fragment);
        tu_write_file(f->path, file, 3); /* short, but not a prefix of the magic either */
        if (cases[c].at < 3)
            expect_error(f->path, SEQGEN_EFORMAT, "not a .npy file");
        file[cases[c].at] = old;
    }
    tu_write_file(f->path, "PK\x03\x04", 4); /* an .npz is a zip file */
    expect_error(f->path, SEQGEN_EFORMAT, "not a .npy file");
    free(file);
}

/* Each malformed header gives EFORMAT (EOVERFLOW for a number too large) naming the byte where
 * the problem is: the first occurrence of `at` in the header ("$": its last byte), which starts
 * 10 bytes into the file. */
static void malformed_headers(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *header;
        const char *at;
        const char *fragment;
    } cases[] = {
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }   ", "$", "the header does not end in a newline"},
        {"", NULL, "byte 10: the header does not end in a newline"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (2,), 'caf\xc3\xa9': 1}\n", "\xc3", "byte 0xc3 is not printable ASCII"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (2,), 'extra': 1}\n", "'extra'", "unknown key 'extra' (the keys are 'descr', 'fortran_order' and 'shape')"},
        {"{'descr': '<i4', 'descr': '<i4', 'fortran_order': False, 'shape': (2,)}\n", "'descr': '<i4', 'f", "key 'descr' appears twice"},
        {"{'descr': '<i4', 'shape': (2,)}\n", "}", "missing key 'fortran_order'"},
        {"{}\n", "}", "missing key 'descr'"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (2,), } x\n", "x", "'x' after the closing '}'"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }}\n", "}\n", "'}' after the closing '}'"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }\t\n", "\t", "byte 0x09 after the closing '}'"},
        {"{'descr': {'a': 1}, 'fortran_order': False, 'shape': (2,)}\n", "{'a'", "expected the descr in quotes"},
        {"{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (2,)}\n", "[", "descr is a list: structured dtypes are not supported"},
        {"{'descr': '<i\\x34', 'fortran_order': False, 'shape': (2,)}\n", "\\", "escape in a string"},
        {"{'descr: '<i4', 'fortran_order': False, 'shape': (2,)}\n", "'descr", "unknown key 'descr: '"},
        {"{'descr': '<i4, 'fortran_order': False, 'shape': (2,)}\n", "fortran_order'", "expected ',' or '}'"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape: (2,)}\n", "'shape", "string not closed on its line"},
        {" {'descr': '<i4', 'fortran_order': False, 'shape': (2,)}\n", " ", "expected '{'"},
        {"('descr', '<i4')\n", "(", "expected '{'"},
        {"{,}\n", ",", "expected a key in quotes"},
        {"{descr: '<i4', 'fortran_order': False, 'shape': (2,)}\n", "descr", "expected a key in quotes"},
        {"{'descr' '<i4', 'fortran_order': False, 'shape': (2,)}\n", "'<i4'", "expected ':' after 'descr'"},
        {"{'descr': '<i4' 'fortran_order': False, 'shape': (2,)}\n", "'fortran", "expected ',' or '}'"},
        {"{'descr': '<i4',, 'fortran_order': False, 'shape': (2,)}\n", ", 'f", "expected a key in quotes"},
        {"{'descr': '<i4', 'fortran_order': false, 'shape': (2,)}\n", "false", "fortran_order must be True or False"},
        {"{'descr': '<i4', 'fortran_order': 0, 'shape': (2,)}\n", "0", "fortran_order must be True or False"},
        {"{'descr': '<i4', 'fortran_order': Falsey, 'shape': (2,)}\n", "Falsey", "fortran_order must be True or False"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': [2]}\n", "[", "shape must be a tuple such as (3, 4)"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': 2}\n", "2", "shape must be a tuple"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (2)}\n", "(", "shape (2) is not a tuple: write (2,)"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (-2,)}\n", "-", "expected a non-negative integer in shape"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (02,)}\n", "02", "integer with a leading zero"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (2L,)}\n", "L", "expected ',' or ')' in shape"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (1_0,)}\n", "_0", "expected ',' or ')' in shape"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (2.0,)}\n", ".", "expected ',' or ')' in shape"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (,)}\n", ",)", "expected a non-negative integer"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (2,,)}\n", ",)", "expected a non-negative integer"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': ((2,),)}\n", "(2", "expected a non-negative integer"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (2,)\n", "\n", "expected ',' or '}'"},
    };
    static const uint8_t data[8] = {0};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *h = cases[c].header;
        write_npy(f, 1, h, data, sizeof data);
        char fragment[256];
        if (cases[c].at) {
            const char *at = strcmp(cases[c].at, "$") == 0 ? h + strlen(h) - 1 /* the last byte */
                                                           : strstr(h, cases[c].at);
            assert_non_null(at);
            snprintf(fragment, sizeof fragment, "bad .npy header at byte %zu: %s",
                     10 + (size_t)(at - h), cases[c].fragment);
        } else {
            snprintf(fragment, sizeof fragment, "%s", cases[c].fragment);
        }
        expect_error(f->path, SEQGEN_EFORMAT, fragment);
    }
    static const char nul[] = "{'descr': '<i4', 'fortran_order': False,\0'shape': (2,), }\n";
    uint8_t file[MAX_FILE];
    tu_write_file(f->path, file, make_npy(file, 1, nul, sizeof nul - 1, data, sizeof data));
    expect_error(f->path, SEQGEN_EFORMAT, "at byte 50: byte 0x00 is not printable ASCII");
    write_npy(f, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (18446744073709551616,)}\n",
              data, sizeof data);
    expect_error(f->path, SEQGEN_EOVERFLOW, "at byte 61: size in shape does not fit in 64 bits");
}

static void refused_dtypes(void **state)
{
    fixture *f = *state;
    expect_error(FIXTURES "f4.npy", SEQGEN_EFORMAT,
                 "dtype '<f4' is not supported: only bool ('|b1') and integers ('|u1', '|i1'; u2 "
                 "i2 u4 i4 u8 i8 as '<' little- or '>' big-endian) are read");
    expect_error(FIXTURES "f8-2x2.npy", SEQGEN_EFORMAT, "dtype '<f8' is not supported");
    expect_error(FIXTURES "unicode-U3.npy", SEQGEN_EFORMAT, "dtype '<U3' is not supported");
    expect_error(FIXTURES "structured.npy", SEQGEN_EFORMAT,
                 "at byte 20: descr is a list: structured dtypes are not supported");
    static const char *const descrs[] = {"=i4", "|i4", "i4", "<i16", "<c8", "|O", "<f2", "|S3",
                                         "<M8[s]", ">b2", "", "<I4"};
    static const uint8_t data[16] = {0};
    for (size_t c = 0; c < sizeof descrs / sizeof descrs[0]; c++) {
        char header[128], fragment[64];
        snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (1,)}\n",
                 descrs[c]);
        write_npy(f, 1, header, data, 4);
        snprintf(fragment, sizeof fragment, "dtype '%s' is not supported", descrs[c]);
        expect_error(f->path, SEQGEN_EFORMAT, fragment);
    }
}

static void fortran_order_and_shapes(void **state)
{
    fixture *f = *state;
    expect_error(FIXTURES "fortran-uint8-2x3.npy", SEQGEN_EFORMAT,
                 "Fortran order (column-major) is not supported: save with np.ascontiguousarray");
    expect_error(FIXTURES "scalar-i8.npy", SEQGEN_EFORMAT,
                 "shape has 0 dimensions (a scalar): only arrays of 1 to 3 dimensions are read");
    expect_error(FIXTURES "uint8-4d.npy", SEQGEN_EFORMAT,
                 "shape has 4 dimensions: only arrays of 1 to 3 dimensions are read");
    expect_error(FIXTURES "i4-empty.npy", SEQGEN_EOVERFLOW,
                 "shape (3, 0) has a size of 0: the array is empty");
    static const struct {
        const char *descr, *shape, *fragment;
    } cases[] = {
        {"|u1", "(0,)", "shape (0,) has a size of 0: the array is empty"},
        {"|u1", "(18446744073709551615, 2)", "shape (18446744073709551615, 2) of 1-byte elements "
                                             "is more bytes than this machine can address"},
        {"<u2", "(9223372036854775808,)", "of 2-byte elements is more bytes"},
        {"<i8", "(2305843009213693952,)", "shape (2305843009213693952,) of 8-byte elements"},
        {"|u1", "(4294967296, 4294967296)", "shape (4294967296, 4294967296) of 1-byte elements"},
        {"|b1", "(65536, 65536, 4294967296)", "more bytes than this machine can address"},
        {"|b1", "(0, 18446744073709551615)", "has a size of 0"},
    };
    static const uint8_t data[16] = {0};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char header[160];
        snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': %s}\n",
                 cases[c].descr, cases[c].shape);
        write_npy(f, 1, header, data, sizeof data);
        expect_error(f->path, SEQGEN_EOVERFLOW, cases[c].fragment);
    }
    write_npy(f, 2, "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1)}\n", data, 1);
    expect_error(f->path, SEQGEN_EFORMAT, "shape has 5 dimensions");
    write_npy(f, 3, "{'descr': '|u1', 'fortran_order': False, 'shape': ()}\n", data, 1);
    expect_error(f->path, SEQGEN_EFORMAT, "shape has 0 dimensions (a scalar)");
}

static void bool_byte_out_of_range(void **state)
{
    fixture *f = *state;
    expect_error(FIXTURES "bool-byte-2.npy", SEQGEN_ERANGE,
                 "bool element 2 is 2: a bool must be 0 or 1");
    uint8_t data[24];
    memset(data, 1, sizeof data);
    data[23] = 255;
    write_npy(f, 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (4, 6), }\n", data, 24);
    expect_error(f->path, SEQGEN_ERANGE, "bool element 23 is 255");
}

/* Reads the FIFO at `path`: 0 if it was refused as one. */
static int read_fifo(const char *path)
{
    sg_npy npy;
    return sg_npy_read(path, &npy) == SEQGEN_EFORMAT &&
                   strstr(seqgen_last_error(), "not a regular file (a FIFO)")
               ? 0
               : 1;
}

/* A FIFO with no writer would block an ordinary open; the reader must refuse it at once. */
static void not_a_regular_file(void **state)
{
    fixture *f = *state;
    char fifo[128];
    snprintf(fifo, sizeof fifo, "%s/pipe.npy", f->dir);
    tu_read_fifo_in_child(fifo, read_fifo);
    expect_error(fifo, SEQGEN_EFORMAT, "not a regular file (a FIFO)");
    expect_error(f->dir, SEQGEN_EFORMAT, "not a regular file (a directory)");
    expect_error("/dev/null", SEQGEN_EFORMAT, "not a regular file (a device)");
}

static void missing_file(void **state)
{
    fixture *f = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/no-such-file.npy", f->dir);
    expect_error(path, SEQGEN_ENOENT, "no such file");
    snprintf(path, sizeof path, "%s/no-such-dir/labels.npy", f->dir);
    expect_error(path, SEQGEN_ENOENT, "no such file");
    copy_fixture(f, "u1.npy", SIZE_MAX, 0);
    snprintf(path, sizeof path, "%s/sub.npy", f->path); /* a file used as a directory */
    expect_error(path, SEQGEN_ENOENT, "no such file");
}

/* /proc/self/mem is a regular file of size 0 whose first bytes (address 0) cannot be read. */
static void read_error(void **state)
{
    (void)state;
    expect_error("/proc/self/mem", SEQGEN_EIO, "read error: Input/output error");
}

static const char *unreadable_path;

/* As "nobody": the file (mode 0) cannot be opened. */
static int read_unreadable(void)
{
    sg_npy npy;
    int status = sg_npy_read(unreadable_path, &npy);
    return status == SEQGEN_EIO && strstr(seqgen_last_error(), "cannot open: Permission denied")
               ? 0
               : 1;
}

static void unreadable_file(void **state)
{
    fixture *f = *state;
    copy_fixture(f, "u1.npy", SIZE_MAX, 0);
    assert_int_equal(chmod(f->path, 0), 0);
    assert_int_equal(chmod(f->dir, 0755), 0);
    unreadable_path = f->path;
    int result = tu_run_unprivileged(read_unreadable);
    if (result == TU_SKIPPED)
        skip();
    assert_int_equal(result, 0);
}

/* Each allocation (the header's text, then the data) can fail: ENOMEM naming the file, nothing
 * leaked, `out` untouched; the third run makes no failure happen and succeeds. */
static void every_allocation_failure(void **state)
{
    (void)state;
    const char *path = FIXTURES "uint8-3x4x5.npy";
    for (long n = 0;; n++) {
        sg_npy npy, before;
        memset(&npy, 0xa5, sizeof npy);
        memcpy(&before, &npy, sizeof npy);
        sg_alloc_fail_after(n);
        int status = sg_npy_read(path, &npy);
        int pending = sg_alloc_fail_pending();
        sg_alloc_fail_after(-1);
        if (pending) {
            assert_ok(status);
            assert_int_equal(n, 2);
            sg_npy_free(&npy);
            break;
        }
        assert_int_equal(status, SEQGEN_ENOMEM);
        assert_true(strncmp(seqgen_last_error(), path, strlen(path)) == 0);
        const char *what = n == 0 ? "cannot allocate 119 bytes for the .npy header"
                                  : "cannot allocate 60 bytes for the data of shape (3, 4, 5)";
        assert_non_null(strstr(seqgen_last_error(), what));
        assert_memory_equal(&npy, &before, sizeof npy);
    }
}

#if !defined(__SANITIZE_ADDRESS__)
/* Reads path in a child process whose address space is capped at 256 MiB above its current
 * size, where allocating 1 GiB fails: exit 0 if the read gives ENOMEM, 2 if the cap did not bite
 * (the check would prove nothing). */
static int read_with_capped_memory(const char *path)
{
    int capped = tu_cap_address_space();
    if (capped != 0)
        return capped;
    sg_npy npy;
    return sg_npy_read(path, &npy) == SEQGEN_ENOMEM &&
                   strstr(seqgen_last_error(), "cannot allocate 1073741824 bytes for the data")
               ? 0
               : 1;
}
#endif

/* A real (sparse) file of 2^29 uint16, 1 GiB: no limit refuses it, and with the address space
 * capped the allocation fails and the reader says so. (Not under AddressSanitizer, which
 * reserves terabytes of address space, so a cap cannot work there.) */
static void large_file_allocation_failure(void **state)
{
#if defined(__SANITIZE_ADDRESS__)
    (void)state;
    skip();
#else
    fixture *f = *state;
    uint8_t file[MAX_FILE];
    const char *header = "{'descr': '<u2', 'fortran_order': False, 'shape': (536870912,)}\n";
    size_t n = make_npy(file, 1, header, strlen(header), NULL, 0);
    FILE *out = fopen(f->path, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(file, 1, n, out), n);
    assert_int_equal(ftruncate(fileno(out), (off_t)(n + ((size_t)1 << 30))), 0);
    assert_int_equal(fclose(out), 0);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(read_with_capped_memory(f->path));
    int wstatus;
    assert_int_equal(waitpid(child, &wstatus, 0), child);
    assert_true(WIFEXITED(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 0);
#endif
}

static void bad_arguments(void **state)
{
    (void)state;
    sg_npy npy;
    assert_int_equal(sg_npy_read(NULL, &npy), SEQGEN_EINVAL);
    assert_int_equal(sg_npy_read(FIXTURES "u1.npy", NULL), SEQGEN_EINVAL);
    sg_npy_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bool_n_by_t),
        cmocka_unit_test(uint8_two_and_three_dimensions),
        cmocka_unit_test(every_integer_dtype),
        cmocka_unit_test(get_out_of_range),
        cmocka_unit_test_setup_teardown(accepted_header_variants, setup, teardown),
        cmocka_unit_test_setup_teardown(every_truncation_point, setup, teardown),
        cmocka_unit_test_setup_teardown(truncated_and_trailing_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(shape_disagrees_with_file_size, setup, teardown),
        cmocka_unit_test_setup_teardown(small_file_claiming_much_allocates_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(huge_header_length, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_magic_and_version, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_dtypes, setup, teardown),
        cmocka_unit_test_setup_teardown(fortran_order_and_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(bool_byte_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(not_a_regular_file, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(unreadable_file, setup, teardown),
        cmocka_unit_test(read_error),
        cmocka_unit_test(every_allocation_failure),
        cmocka_unit_test_setup_teardown(large_file_allocation_failure, setup, teardown),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests_name("npy", tests, NULL, NULL);
}
