/* The IDX reader on small files the tests write, plain and gzip: round trips, every truncation
 * point, and each kind of bad header or stream with its own status and a message naming the file. */
#include "testutil.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
        {{0xffffffffu, 0xffffffffu, 0xffffffffu}, "more than the 1073741824-byte limit"},
        {{70000, 1000, 1000}, "header says 70000 images of 1000x1000, more than"},
        {{2, 1u << 30, 1}, "more than"},
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
    FILE *statm = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (!statm || fscanf(statm, "%lu", &pages) != 1)
        return 3;
    fclose(statm);
    struct rlimit cap;
    cap.rlim_cur = cap.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)256 << 20);
    if (setrlimit(RLIMIT_AS, &cap) != 0)
        return 3;
    void *gigabyte = malloc((size_t)1 << 30);
    if (gigabyte) {
        free(gigabyte);
        return 2;
    }
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

/* Reads `path` in a child process that an alarm kills after 5 s: exit 0 if the read was
 * refused as not a regular file of kind `kind`. */
static int read_with_alarm(const char *path, const char *kind)
{
    alarm(5);
    sg_idx idx;
    char expected[64];
    snprintf(expected, sizeof expected, "not a regular file (%s)", kind);
    int status = sg_idx_read(path, 3, &idx);
    return status == SEQGEN_EFORMAT && strstr(seqgen_last_error(), expected) ? 0 : 1;
}

/* Only regular files are read: a FIFO without a writer would block the open forever (and a
 * pipe's size is unknown, so nothing could bound the buffer), a device has no end or no data.
 * Each is refused at once, naming what it is. */
static void not_a_regular_file(void **state)
{
    fixture *f = *state;
    char fifo[128];
    snprintf(fifo, sizeof fifo, "%s/pipe", f->dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(read_with_alarm(fifo, "a FIFO"));
    int wstatus;
    assert_int_equal(waitpid(child, &wstatus, 0), child);
    if (WIFSIGNALED(wstatus))
        fail_msg("reading a FIFO blocked (killed by signal %d)", WTERMSIG(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 0);
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
        cmocka_unit_test_setup_teardown(not_a_regular_file, setup, teardown),
        cmocka_unit_test_setup_teardown(corrupt_gzip_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests_name("idx", tests, NULL, NULL);
}
