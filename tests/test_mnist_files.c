/* Real data: the bundled digits match the SHA-256 checksums of data/README.md once decompressed,
 * load with the documented counts, and the full Fashion-MNIST of Debian's dataset-fashion-mnist
 * loads at full size quickly. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "seqgen.h"

/* Load times are asserted only in uninstrumented builds: valgrind runs the decompression ~20x
 * slower, the sanitizers several times slower. They are CPU times, so other load on the machine
 * does not count against the library. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define INSTRUMENTED() 1
#elif defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define INSTRUMENTED() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef INSTRUMENTED
#define INSTRUMENTED() 0
#endif

#define BUNDLED "data/mnist10k"
#define FASHION "/usr/share/datasets/fashion-mnist"

/* ---- SHA-256 (FIPS 180-4), for the tests only ---------------------------------------------- */

typedef struct sha256 {
    uint32_t h[8];
    uint8_t block[64];
    size_t used;     /* bytes in block */
    uint64_t length; /* total bytes hashed */
} sha256;

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t rotr(uint32_t x, int n) { return x >> n | x << (32 - n); }

static void sha256_init(sha256 *s)
{
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->used = 0;
    s->length = 0;
}

static void sha256_compress(sha256 *s, const uint8_t *block)
{
    uint32_t w[64], v[8];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)block[4 * t] << 24 | (uint32_t)block[4 * t + 1] << 16 |
               (uint32_t)block[4 * t + 2] << 8 | block[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ w[t - 15] >> 3;
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ w[t - 2] >> 10;
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    memcpy(v, s->h, sizeof v);
    for (int t = 0; t < 64; t++) {
        uint32_t e = v[4], a = v[0];
        uint32_t t1 = v[7] + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & v[5]) ^ (~e & v[6])) +
                      sha256_k[t] + w[t];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & v[1]) ^ (a & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof *v);
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++)
        s->h[i] += v[i];
}

static void sha256_update(sha256 *s, const void *data, size_t size)
{
    const uint8_t *p = data;
    s->length += size;
    while (size > 0) {
        size_t take = 64 - s->used < size ? 64 - s->used : size;
        memcpy(s->block + s->used, p, take);
        s->used += take, p += take, size -= take;
        if (s->used == 64) {
            sha256_compress(s, s->block);
            s->used = 0;
        }
    }
}

/* Pads (0x80, zeros, the bit length big-endian) and writes the digest as 64 hex digits. */
static void sha256_hex(sha256 *s, char hex[65])
{
    uint64_t bits = s->length * 8;
    uint8_t pad[72] = {0x80};
    size_t pad_size = (s->used < 56 ? 56 : 120) - s->used;
    for (int i = 0; i < 8; i++)
        pad[pad_size + i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_update(s, pad, pad_size + 8);
    for (int i = 0; i < 8; i++)
        snprintf(hex + 8 * i, 9, "%08x", s->h[i]);
}

static void sha256_of_string(const char *text, char hex[65])
{
    sha256 s;
    sha256_init(&s);
    sha256_update(&s, text, strlen(text));
    sha256_hex(&s, hex);
}

/* The test vectors of FIPS 180-4's examples (NIST CSRC "SHA256.pdf") and of the empty string. */
static void sha256_matches_standard_vectors(void **state)
{
    (void)state;
    char hex[65];
    sha256_of_string("abc", hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_of_string("", hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_of_string("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    sha256 s; /* one million 'a', fed in pieces that straddle block boundaries */
    sha256_init(&s);
    char piece[1000];
    memset(piece, 'a', sizeof piece);
    for (int i = 0; i < 1000; i++)
        sha256_update(&s, piece, sizeof piece);
    sha256_hex(&s, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* ---- The bundled digits -------------------------------------------------------------------- */

/* SHA-256 of the decompressed file, read through zlib. */
static void sha256_of_gzip_file(const char *path, char hex[65])
{
    gzFile gz = gzopen(path, "rb");
    assert_non_null(gz);
    sha256 s;
    sha256_init(&s);
    static uint8_t buffer[1 << 16];
    int got;
    while ((got = gzread(gz, buffer, sizeof buffer)) > 0)
        sha256_update(&s, buffer, (size_t)got);
    assert_int_equal(got, 0);
    assert_int_equal(gzclose(gz), Z_OK);
    sha256_hex(&s, hex);
}

/* The checksums stated in data/README.md. */
static const char *const bundled_sha256[4][2] = {
    {"train-images-idx3-ubyte", "27625f27d5e3913c08814a81759fab5b8d4af0ff9b0527785b83c73c7c37e509"},
    {"train-labels-idx1-ubyte", "80bb90f285d956ab5c85da5f1e0086ad74ffd13421b84e4b7c4f0f033e122f9c"},
    {"t10k-images-idx3-ubyte", "0b9cfe954d11e31aa092ddb9be90c152610ce0da18c1deb0f9b2970293563014"},
    {"t10k-labels-idx1-ubyte", "416a0ec36a51659a0a7a93cf6aec01fa6144353f2e78a44d4887bda601b19444"},
};

static void bundled_files_match_their_checksums(void **state)
{
    (void)state;
    for (int f = 0; f < 4; f++) {
        char path[128], hex[65];
        snprintf(path, sizeof path, BUNDLED "/%s.gz", bundled_sha256[f][0]);
        sha256_of_gzip_file(path, hex);
        if (strcmp(hex, bundled_sha256[f][1]) != 0)
            fail_msg("%s: SHA-256 %s, expected %s", path, hex, bundled_sha256[f][1]);
    }
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

static void sha256_u32(sha256 *s, uint32_t v)
{
    uint8_t bytes[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    sha256_update(s, bytes, sizeof bytes);
}

/* The library's own gzip reader (inflate, member by member) gives exactly the bytes of the
 * checksums: each file rebuilt from the dataset (magic, sizes, pixels or labels) hashes to them. */
static void dataset_bytes_match_the_checksums(void **state)
{
    (void)state;
    for (int split = 0; split < 2; split++) {
        seqgen_dataset *ds = NULL;
        assert_ok(seqgen_dataset_open_dir(&ds, BUNDLED, split ? SEQGEN_SPLIT_TEST
                                                                : SEQGEN_SPLIT_TRAIN));
        const uint32_t n = (uint32_t)seqgen_dataset_count(ds);
        const uint32_t rows = (uint32_t)seqgen_dataset_rows(ds);
        const uint32_t cols = (uint32_t)seqgen_dataset_cols(ds);
        sha256 s;
        char hex[65];
        sha256_init(&s);
        sha256_u32(&s, 0x803u);
        sha256_u32(&s, n);
        sha256_u32(&s, rows);
        sha256_u32(&s, cols);
        for (uint32_t i = 0; i < n; i++)
            sha256_update(&s, seqgen_dataset_raw(ds, i), (size_t)rows * cols);
        sha256_hex(&s, hex);
        assert_string_equal(hex, bundled_sha256[2 * split][1]);
        sha256_init(&s);
        sha256_u32(&s, 0x801u);
        sha256_u32(&s, n);
        for (uint32_t i = 0; i < n; i++) {
            uint8_t label = (uint8_t)tu_label(ds, i);
            sha256_update(&s, &label, 1);
        }
        sha256_hex(&s, hex);
        assert_string_equal(hex, bundled_sha256[2 * split + 1][1]);
        seqgen_dataset_free(ds);
    }
}

/* Opens one split, checks its size and per-class counts, and returns the CPU time it took. */
static double check_split(const char *dir, seqgen_split split, size_t count, const size_t *per_class)
{
    struct timespec t0;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    seqgen_dataset *ds = NULL;
    assert_ok(seqgen_dataset_open_dir(&ds, dir, split));
    double seconds = seconds_since(&t0);
    assert_int_equal(seqgen_dataset_count(ds), count);
    assert_int_equal(seqgen_dataset_rows(ds), 28);
    assert_int_equal(seqgen_dataset_cols(ds), 28);
    size_t classes[10] = {0};
    for (size_t i = 0; i < count; i++) {
        int64_t label = tu_label(ds, i);
        assert_in_range(label, 0, 9);
        classes[label]++;
    }
    for (int c = 0; c < 10; c++)
        if (classes[c] != per_class[c])
            fail_msg("%s: class %d has %zu images, expected %zu", dir, c, classes[c], per_class[c]);
    seqgen_dataset_free(ds);
    return seconds;
}

/* The counts of the table in data/README.md. */
static void bundled_digits_load_with_documented_counts(void **state)
{
    (void)state;
    static const size_t train[10] = {901, 1015, 892, 929, 882, 777, 913, 963, 850, 881};
    static const size_t test[10] = {100, 112, 99, 103, 98, 86, 101, 107, 94, 97};
    double t_train = check_split(BUNDLED, SEQGEN_SPLIT_TRAIN, 9003, train);
    double t_test = check_split(BUNDLED, SEQGEN_SPLIT_TEST, 997, test);
    print_message("bundled digits: train (9003) loaded in %.4f s of CPU, test (997) in %.4f s\n", t_train,
                  t_test);
}

/* Fashion-MNIST has 6000 training and 1000 test images of each of its 10 classes; both splits
 * (47 MB of pixels, 30 MB compressed) load in well under a second. */
static void fashion_mnist_loads_at_full_size(void **state)
{
    (void)state;
    FILE *probe = fopen(FASHION "/train-images-idx3-ubyte.gz", "rb");
    if (!probe) {
        print_message("%s not installed (Debian package dataset-fashion-mnist): skipped\n", FASHION);
        skip();
    }
    fclose(probe);
    static const size_t train[10] = {6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000};
    static const size_t test[10] = {1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000};
    double t_train = check_split(FASHION, SEQGEN_SPLIT_TRAIN, 60000, train);
    double t_test = check_split(FASHION, SEQGEN_SPLIT_TEST, 10000, test);
    print_message("Fashion-MNIST: train (60000) loaded in %.3f s of CPU, test (10000) in %.3f s\n", t_train,
                  t_test);
    if (!INSTRUMENTED())
        assert_true(t_train + t_test < 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_matches_standard_vectors),
        cmocka_unit_test(bundled_files_match_their_checksums),
        cmocka_unit_test(dataset_bytes_match_the_checksums),
        cmocka_unit_test(bundled_digits_load_with_documented_counts),
        cmocka_unit_test(fashion_mnist_loads_at_full_size),
    };
    return cmocka_run_group_tests_name("mnist_files", tests, NULL, NULL);
}
