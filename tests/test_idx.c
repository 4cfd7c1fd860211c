/* The IDX reader on small files the tests write, plain and gzip: round trips, every truncation
 * point, and each kind of bad header or stream with its own status and a message naming the file. */
#include "testutil.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "idx.h"
#include "seqgen.h"

#define MAX_FILE 16384

typedef tu_file fixture;

static int setup(void **state) { return tu_file_setup(state, "sample-idx"); }
static int teardown(void **state) { return tu_file_teardown(state); }

static size_t put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
    return 4;
}

/* An IDX file of unsigned bytes: magic, sizes, then payload[i] = (i * 7 + 3) mod 256. */
static size_t make_idx(uint8_t *buf, uint32_t ndims, const uint32_t *dims)
{
    size_t n = put_u32(buf, 0x800u | ndims), payload = 1;
    for (uint32_t d = 0; d < ndims; d++) {
        n += put_u32(buf + n, dims[d]);
        payload *= dims[d];
    }
    assert_true(n + payload <= MAX_FILE);
    for (size_t i = 0; i < payload; i++)
        buf[n + i] = (uint8_t)(i * 7 + 3);
    return n + payload;
}

/* The gzip (RFC 1952) form of data, through zlib's deflate with a gzip wrapper. */
static size_t gzip_bytes(const uint8_t *data, size_t size, uint8_t *out, size_t capacity)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    assert_int_equal(deflateInit2(&s, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    s.next_in = (Bytef *)data;
    s.avail_in = (uInt)size;
    s.next_out = out;
    s.avail_out = (uInt)capacity;
    assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
    size_t n = s.total_out;
    deflateEnd(&s);
    return n;
}

/* A file of `count` images of 28x28 whose pixels compress about 3:1 (a sawtooth with noise), on
 * the heap; *size is its length. */
static uint8_t *make_big_idx(uint32_t count, size_t *size)
{
    size_t n = 16 + (size_t)count * 28 * 28;
    uint8_t *file = malloc(n);
    assert_non_null(file);
    put_u32(file, 0x803u);
    put_u32(file + 4, count);
    put_u32(file + 8, 28);
    put_u32(file + 12, 28);
    uint32_t x = 12345;
    for (size_t i = 16; i < n; i++) {
        x = x * 1103515245u + 12345u;
        file[i] = (uint8_t)((i % 28) * 9 + (x >> 28));
    }
    *size = n;
    return file;
}

/* The gzip form of data at a compression level (0: stored blocks), on the heap. */
static uint8_t *gzip_heap(const uint8_t *data, size_t size, int level, size_t *packed_size)
{
    size_t capacity = size + size / 100 + 1024;
    uint8_t *packed = malloc(capacity);
    assert_non_null(packed);
    z_stream s;
    memset(&s, 0, sizeof s);
    assert_int_equal(deflateInit2(&s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    s.next_in = (Bytef *)data;
    s.avail_in = (uInt)size;
    s.next_out = packed;
    s.avail_out = (uInt)capacity;
    assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
    *packed_size = s.total_out;
    deflateEnd(&s);
    return packed;
}

/* Reads path and checks the status and that the detail names the file and contains `fragment`. */
static void expect_error(const char *path, uint32_t ndims, int status, const char *fragment)
{
    sg_idx idx = {(uint8_t *)&idx, 12345, 0, {0}};
    int got = sg_idx_read(path, ndims, &idx);
    if (got != status || !strstr(seqgen_last_error(), path) || !strstr(seqgen_last_error(), fragment))
        fail_msg("expected %s containing \"%s\", got %d (%s): %s", seqgen_strerror(status), fragment,
                 got, seqgen_strerror(got), seqgen_last_error());
    /* on failure the output is left as it was */
    assert_ptr_equal(idx.data, (uint8_t *)&idx);
    assert_int_equal(idx.size, 12345);
}

static void check_round_trip(const char *path, const uint8_t *file, size_t header, uint32_t ndims,
                             const uint32_t *dims)
{
    sg_idx idx;
    assert_ok(sg_idx_read(path, ndims, &idx));
    assert_int_equal(idx.ndims, ndims);
    size_t payload = 1;
    for (uint32_t d = 0; d < ndims; d++) {
        assert_int_equal(idx.dims[d], dims[d]);
        payload *= dims[d];
    }
    assert_int_equal(idx.size, payload);
    assert_memory_equal(idx.data, file + header, payload);
    sg_idx_free(&idx);
    assert_null(idx.data);
    sg_idx_free(&idx); /* twice is harmless */
}

static void round_trip_plain_and_gzip(void **state)
{
    fixture *f = *state;
    static const uint32_t image_dims[3] = {5, 3, 4}, label_dims[1] = {17}, matrix_dims[2] = {6, 9};
    const uint32_t *all_dims[3] = {label_dims, matrix_dims, image_dims};
    uint8_t file[MAX_FILE], packed[MAX_FILE];
    for (uint32_t ndims = 1; ndims <= 3; ndims++) {
        size_t n = make_idx(file, ndims, all_dims[ndims - 1]);
        tu_write_file(f->path, file, n);
        check_round_trip(f->path, file, 4 + 4 * ndims, ndims, all_dims[ndims - 1]);
        tu_write_file(f->path, packed, gzip_bytes(file, n, packed, sizeof packed));
        check_round_trip(f->path, file, 4 + 4 * ndims, ndims, all_dims[ndims - 1]);
    }
}

/* Every proper prefix of a valid file, plain and gzipped, is reported as truncated. */
static void every_truncation_point(void **state)
{
    fixture *f = *state;
    static const uint32_t dims[3] = {3, 4, 5};
    uint8_t file[MAX_FILE], packed[MAX_FILE];
    size_t n = make_idx(file, 3, dims);
    for (size_t cut = 0; cut < n; cut++) {
        tu_write_file(f->path, file, cut);
        expect_error(f->path, 3, SEQGEN_ETRUNCATED, cut < 16 ? "file ends after" : "header says");
    }
    size_t packed_size = gzip_bytes(file, n, packed, sizeof packed);
    for (size_t cut = 0; cut < packed_size; cut++) {
        tu_write_file(f->path, packed, cut);
        expect_error(f->path, 3, SEQGEN_ETRUNCATED, "");
    }
}

static void truncated_payload_message_has_the_numbers(void **state)
{
    fixture *f = *state;
    static const uint32_t dims[3] = {10, 28, 28};
    uint8_t file[MAX_FILE], packed[MAX_FILE];
    size_t n = make_idx(file, 3, dims) - 10 * 28 * 28 + 1000;
    tu_write_file(f->path, file, n);
    expect_error(f->path, 3, SEQGEN_ETRUNCATED, "header says 10 images of 28x28 but the file holds 1000 bytes of pixels");
    tu_write_file(f->path, packed, gzip_bytes(file, n, packed, sizeof packed));
    expect_error(f->path, 3, SEQGEN_ETRUNCATED, "header says 10 images of 28x28 but the file holds 1000 bytes of pixels");
    static const uint32_t label_dims[1] = {50};
    n = make_idx(file, 1, label_dims) - 30;
    tu_write_file(f->path, file, n);
    expect_error(f->path, 1, SEQGEN_ETRUNCATED, "header says 50 labels but the file holds 20 bytes of labels");
}

static void trailing_bytes(void **state)
{
    fixture *f = *state;
    static const uint32_t dims[1] = {8};
    uint8_t file[MAX_FILE], packed[MAX_FILE];
    size_t n = make_idx(file, 1, dims);
    memcpy(file + n, "xyz", 3);
    tu_write_file(f->path, file, n + 3);
    expect_error(f->path, 1, SEQGEN_ETRAILING, "3 unexpected bytes after the 8 bytes of labels");
    tu_write_file(f->path, packed, gzip_bytes(file, n + 3, packed, sizeof packed));
    expect_error(f->path, 1, SEQGEN_ETRAILING, "3 unexpected bytes after the 8 bytes of labels");
}

static void bad_magic_type_and_rank(void **state)
{
    fixture *f = *state;
    static const uint32_t dims[3] = {2, 2, 2};
    uint8_t file[MAX_FILE];
    size_t n = make_idx(file, 3, dims);

    file[0] = 0x1a; /* not an IDX file at all */
    tu_write_file(f->path, file, n);
    expect_error(f->path, 3, SEQGEN_EFORMAT, "not an IDX file (magic 0x1a000803");
    file[0] = 0;
    file[2] = 0x0d; /* float elements */
    tu_write_file(f->path, file, n);
    expect_error(f->path, 3, SEQGEN_EFORMAT, "element type 0x0d is not supported");
    file[2] = 0x08;
    tu_write_file(f->path, file, n); /* an images file where labels are expected */
    expect_error(f->path, 1, SEQGEN_EFORMAT, "has 3 dimensions, expected 1");
}

static void zero_and_huge_dimensions(void **state)
{
    fixture *f = *state;
    uint8_t file[64], packed[256];
    static const struct {
        uint32_t dims[3];
        const char *fragment;
    } cases[] = {
        {{0, 28, 28}, "dimension 1 of 3 has size 0"},
        {{10, 28, 0}, "dimension 3 of 3 has size 0"},
        {{0xffffffffu, 0xffffffffu, 0xffffffffu}, "header says 4294967295 images of "
         "4294967295x4294967295 (2^64 bytes or more), more than the limit of 1073741824 bytes"},
        {{70000, 1000, 1000}, "header says 70000 images of 1000x1000 (70000000000 bytes), more"},
        {{2, 1u << 30, 1}, "more than"},
        {{1u << 31, 65536, 65536}, "header says 2147483648 images of 65536x65536 "
                                   "(9223372036854775808 bytes)"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = put_u32(file, 0x803u);
        for (int d = 0; d < 3; d++)
            n += put_u32(file + n, cases[c].dims[d]);
        tu_write_file(f->path, file, n);
        expect_error(f->path, 3, SEQGEN_EOVERFLOW, cases[c].fragment);
        tu_write_file(f->path, packed, gzip_bytes(file, n, packed, sizeof packed));
        expect_error(f->path, 3, SEQGEN_EOVERFLOW, cases[c].fragment);
    }
}

#if !defined(__SANITIZE_ADDRESS__)
/* Reads path in a child process whose address space is capped at 256 MiB above its current
 * size, where allocating 1 GB fails: exit 0 if the read gives `status`, 2 if the cap did not
 * bite (the check would prove nothing). */
static int read_with_capped_memory(const char *path, uint32_t ndims, int status)
{
    int capped = tu_cap_address_space();
    if (capped != 0)
        return capped;
    sg_idx idx;
    return sg_idx_read(path, ndims, &idx) == status ? 0 : 1;
}
#endif

/* A 40-byte gzip file whose header claims 1 GB (within the limit) is reported as truncated after
 * reading what is there, without allocating the gigabyte: the buffer is bounded by what the
 * compressed file could hold. (Not under AddressSanitizer, which reserves terabytes of address
 * space, so an address-space cap cannot work there.) */
static void small_gzip_claiming_a_gigabyte(void **state)
{
    fixture *f = *state;
    uint8_t file[64], packed[256];
    size_t n = put_u32(file, 0x803u);
    n += put_u32(file + n, 1000);
    n += put_u32(file + n, 1000);
    n += put_u32(file + n, 1000);
    memset(file + n, 0, 20);
    size_t packed_size = gzip_bytes(file, n + 20, packed, sizeof packed);
    assert_true(packed_size <= 40);
    tu_write_file(f->path, packed, packed_size);
    expect_error(f->path, 3, SEQGEN_ETRUNCATED,
                 "header says 1000 images of 1000x1000 but the file holds 20 bytes of pixels");
#if !defined(__SANITIZE_ADDRESS__)
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(read_with_capped_memory(f->path, 3, SEQGEN_ETRUNCATED));
    int wstatus;
    assert_int_equal(waitpid(child, &wstatus, 0), child);
    assert_true(WIFEXITED(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 0);
#endif
}

/* A 1 MiB gzip file of incompressible bytes whose header claims a gigabyte: deflate could
 * expand 1 MiB to a gigabyte, but this one holds 1 MiB, so the reader must not reserve the
 * gigabyte up front; its buffer grows with the data actually decompressed. With the address
 * space capped at 256 MiB above the current size the read must still find the truncation. */
static void incompressible_gzip_claiming_a_gigabyte(void **state)
{
#if defined(__SANITIZE_ADDRESS__)
    (void)state;
    skip();
#else
    fixture *f = *state;
    size_t n = 16 + ((size_t)1 << 20);
    uint8_t *file = malloc(n);
    assert_non_null(file);
    put_u32(file, 0x803u);
    put_u32(file + 4, 1000);
    put_u32(file + 8, 1000);
    put_u32(file + 12, 1000);
    uint64_t x = 88172645463325252u;
    for (size_t i = 16; i < n; i++) { /* xorshift64 */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        file[i] = (uint8_t)(x >> 32);
    }
    size_t packed_size;
    uint8_t *packed = gzip_heap(file, n, 1, &packed_size);
    tu_write_file(f->path, packed, packed_size);
    free(packed);
    free(file);
    expect_error(f->path, 3, SEQGEN_ETRUNCATED,
                 "header says 1000 images of 1000x1000 but the file holds 1048576 bytes of pixels");
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(read_with_capped_memory(f->path, 3, SEQGEN_ETRUNCATED));
    int wstatus;
    assert_int_equal(waitpid(child, &wstatus, 0), child);
    assert_true(WIFEXITED(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 0);
#endif
}

/* A real (sparse) file of 1000 images of 1024x512, 524 MB: with the address space capped, the
 * allocation fails and the reader says so instead of crashing. */
static void allocation_failure_is_reported(void **state)
{
#if defined(__SANITIZE_ADDRESS__)
    (void)state;
    skip();
#else
    fixture *f = *state;
    uint8_t header[16];
    put_u32(header, 0x803u);
    put_u32(header + 4, 1000);
    put_u32(header + 8, 1024);
    put_u32(header + 12, 512);
    FILE *out = fopen(f->path, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(header, 1, sizeof header, out), sizeof header);
    assert_int_equal(ftruncate(fileno(out), (off_t)(sizeof header + 1000u * 1024 * 512)), 0);
    assert_int_equal(fclose(out), 0);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(read_with_capped_memory(f->path, 3, SEQGEN_ENOMEM));
    int wstatus;
    assert_int_equal(waitpid(child, &wstatus, 0), child);
    assert_true(WIFEXITED(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 0);
#endif
}

/* Reads the FIFO at `path`: 0 if it was refused, naming what it is. */
static int read_fifo(const char *path)
{
    sg_idx idx;
    return sg_idx_read(path, 3, &idx) == SEQGEN_EFORMAT &&
                   strstr(seqgen_last_error(), "not a regular file (a FIFO)")
               ? 0
               : 1;
}

/* Only regular files are read: a FIFO without a writer would block the open forever (and a
 * pipe's size is unknown, so nothing could bound the buffer), a device has no end or no data.
 * Each is refused at once, naming what it is. */
static void not_a_regular_file(void **state)
{
    fixture *f = *state;
    char fifo[128];
    snprintf(fifo, sizeof fifo, "%s/pipe", f->dir);
    tu_read_fifo_in_child(fifo, read_fifo);
    expect_error(fifo, 3, SEQGEN_EFORMAT, "not a regular file (a FIFO)");
    expect_error(f->dir, 3, SEQGEN_EFORMAT, "not a regular file (a directory)");
    expect_error("/dev/null", 3, SEQGEN_EFORMAT, "not a regular file (a device)");
    expect_error("/dev/zero", 1, SEQGEN_EFORMAT, "not a regular file (a device)");
}

static void corrupt_gzip_stream(void **state)
{
    fixture *f = *state;
    static const uint32_t dims[3] = {4, 5, 6};
    uint8_t file[MAX_FILE], packed[MAX_FILE];
    size_t n = make_idx(file, 3, dims);
    size_t packed_size = gzip_bytes(file, n, packed, sizeof packed);

    packed[packed_size - 6] ^= 0x55; /* the CRC-32 in the gzip trailer */
    tu_write_file(f->path, packed, packed_size);
    expect_error(f->path, 3, SEQGEN_ECOMPRESSED, "corrupt gzip data");
    packed[packed_size - 6] ^= 0x55;

    packed[10] = 0xff; /* first deflate block: final, reserved type 3 */
    tu_write_file(f->path, packed, packed_size);
    expect_error(f->path, 3, SEQGEN_ECOMPRESSED, "corrupt gzip data");
}

/* ---- Gzip members and their trailers ------------------------------------------------------ */

/* A gzip file cut anywhere in its 8-byte trailer (CRC-32 and length) or just before it is
 * truncated, however large the file: zlib's gzread reported nothing when the data ended exactly
 * where a read did. */
static void gzip_without_its_trailer_is_truncated(void **state)
{
    fixture *f = *state;
    size_t n, packed_size;
    uint8_t *file = make_big_idx(1000, &n);
    for (int level = 0; level <= 9; level += 9) {
        uint8_t *packed = gzip_heap(file, n, level, &packed_size);
        for (size_t cut = 1; cut <= 12; cut++) {
            tu_write_file(f->path, packed, packed_size - cut);
            expect_error(f->path, 3, SEQGEN_ETRUNCATED, "cut short");
        }
        free(packed);
    }
    free(file);
}

/* A pixel flipped inside a stored block decodes without error: only the CRC-32 of the trailer
 * can tell, so the file is refused with it, and refused as truncated without it. */
static void flipped_pixel_in_a_stored_block(void **state)
{
    fixture *f = *state;
    size_t n, packed_size;
    uint8_t *file = make_big_idx(1000, &n);
    uint8_t *packed = gzip_heap(file, n, 0, &packed_size);
    packed[packed_size / 2] ^= 0x01;
    tu_write_file(f->path, packed, packed_size);
    expect_error(f->path, 3, SEQGEN_ECOMPRESSED, "CRC-32");
    for (size_t cut = 5; cut <= 8; cut++) {
        tu_write_file(f->path, packed, packed_size - cut);
        expect_error(f->path, 3, SEQGEN_ETRUNCATED, "cut short");
    }
    free(packed);
    free(file);
}

/* Concatenated members (as `cat a.gz b.gz` makes) are one stream; each member's trailer is
 * checked, and bytes after the last member that do not begin another are refused. */
static void concatenated_members(void **state)
{
    fixture *f = *state;
    size_t n, first_size, second_size;
    uint8_t *file = make_big_idx(20, &n);
    uint8_t *first = gzip_heap(file, n / 3, 9, &first_size);
    uint8_t *second = gzip_heap(file + n / 3, n - n / 3, 9, &second_size);
    uint8_t *both = malloc(first_size + second_size + 4);
    assert_non_null(both);
    memcpy(both, first, first_size);
    memcpy(both + first_size, second, second_size);
    tu_write_file(f->path, both, first_size + second_size);
    check_round_trip(f->path, file, 16, 3, (const uint32_t[3]){20, 28, 28});

    both[first_size - 3] ^= 0x10; /* the first member's length */
    tu_write_file(f->path, both, first_size + second_size);
    expect_error(f->path, 3, SEQGEN_ECOMPRESSED, "member 1");
    both[first_size - 3] ^= 0x10;
    both[first_size + second_size - 7] ^= 0x10; /* the second member's CRC-32 */
    tu_write_file(f->path, both, first_size + second_size);
    expect_error(f->path, 3, SEQGEN_ECOMPRESSED, "member 2");
    both[first_size + second_size - 7] ^= 0x10;

    tu_write_file(f->path, both, first_size + 5); /* the second member cut in its header */
    expect_error(f->path, 3, SEQGEN_ETRUNCATED, "cut short");
    memcpy(both + first_size + second_size, "\0\0\0\0", 4);
    tu_write_file(f->path, both, first_size + second_size + 4);
    expect_error(f->path, 3, SEQGEN_ETRAILING, "4 bytes after the last gzip member");
    free(both);
    free(second);
    free(first);
    free(file);
}

/* Reads "NAME N" out of the detail, e.g. "at byte 1234": N, or fails the test. */
static unsigned long long number_after(const char *detail, const char *name)
{
    const char *at = strstr(detail, name);
    unsigned long long value;
    if (!at || sscanf(at + strlen(name), "%llu", &value) != 1)
        fail_msg("no \"%s N\" in \"%s\"", name, detail);
    return value;
}

/* The decompressed bytes that inflate can produce from the first `prefix` bytes of a stream. */
static size_t output_of_prefix(const uint8_t *packed, size_t prefix, size_t size)
{
    uint8_t *out = malloc(size);
    assert_non_null(out);
    z_stream s;
    memset(&s, 0, sizeof s);
    assert_int_equal(inflateInit2(&s, 15 + 16), Z_OK);
    s.next_in = (Bytef *)packed;
    s.avail_in = (uInt)prefix;
    s.next_out = out;
    s.avail_out = (uInt)size;
    int ret = inflate(&s, Z_NO_FLUSH);
    assert_true(ret == Z_OK || ret == Z_BUF_ERROR || ret == Z_STREAM_END);
    size_t produced = s.total_out;
    inflateEnd(&s);
    free(out);
    return produced;
}

/* Damage anywhere in a compressed stream is reported at the compressed byte where inflate found
 * it (after the damage, within the file) and with the bytes decompressed before it (at least
 * what the intact part before the damage decodes to). */
static void corruption_is_reported_where_it_is(void **state)
{
    fixture *f = *state;
    size_t n, packed_size;
    uint8_t *file = make_big_idx(200, &n);
    uint8_t *packed = gzip_heap(file, n, 9, &packed_size);
    int compressed_errors = 0;
    for (int k = 0; k < 150; k++) {
        size_t damage = 10 + (packed_size - 18) * (size_t)k / 150;
        packed[damage] ^= 0xa5;
        tu_write_file(f->path, packed, packed_size);
        sg_idx idx;
        int status = sg_idx_read(f->path, 3, &idx);
        packed[damage] ^= 0xa5;
        if (status == SEQGEN_OK)
            fail_msg("damage at byte %zu was not noticed", damage);
        if (status != SEQGEN_ECOMPRESSED)
            continue; /* the damage changed the sizes: truncated or trailing, also fine */
        compressed_errors++;
        const char *detail = seqgen_last_error();
        unsigned long long at = number_after(detail, "at byte ");
        unsigned long long before = number_after(detail, "after ");
        if (at <= damage || at > packed_size)
            fail_msg("damage at byte %zu reported at byte %llu: %s", damage, at, detail);
        size_t intact = output_of_prefix(packed, damage, n);
        if (before < intact)
            fail_msg("damage at byte %zu (after %zu intact bytes) reported after %llu bytes: %s",
                     damage, intact, before, detail);
    }
    assert_true(compressed_errors >= 100);
    free(packed);
    free(file);
}

static void missing_file(void **state)
{
    fixture *f = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/no-such-file.gz", f->dir);
    expect_error(path, 1, SEQGEN_ENOENT, "no such file");
    snprintf(path, sizeof path, "%s/no-such-dir/labels", f->dir);
    expect_error(path, 1, SEQGEN_ENOENT, "no such file");
}

static void bad_arguments(void **state)
{
    fixture *f = *state;
    sg_idx idx;
    assert_int_equal(sg_idx_read(NULL, 1, &idx), SEQGEN_EINVAL);
    assert_int_equal(sg_idx_read(f->path, 0, &idx), SEQGEN_EINVAL);
    assert_int_equal(sg_idx_read(f->path, 4, &idx), SEQGEN_EINVAL);
    assert_int_equal(sg_idx_read(f->path, 1, NULL), SEQGEN_EINVAL);
    sg_idx_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip_plain_and_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(every_truncation_point, setup, teardown),
        cmocka_unit_test_setup_teardown(truncated_payload_message_has_the_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(trailing_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_magic_type_and_rank, setup, teardown),
        cmocka_unit_test_setup_teardown(zero_and_huge_dimensions, setup, teardown),
        cmocka_unit_test_setup_teardown(small_gzip_claiming_a_gigabyte, setup, teardown),
        cmocka_unit_test_setup_teardown(allocation_failure_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(incompressible_gzip_claiming_a_gigabyte, setup, teardown),
        cmocka_unit_test_setup_teardown(not_a_regular_file, setup, teardown),
        cmocka_unit_test_setup_teardown(corrupt_gzip_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(gzip_without_its_trailer_is_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(flipped_pixel_in_a_stored_block, setup, teardown),
        cmocka_unit_test_setup_teardown(concatenated_members, setup, teardown),
        cmocka_unit_test_setup_teardown(corruption_is_reported_where_it_is, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests_name("idx", tests, NULL, NULL);
}
