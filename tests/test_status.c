/* Version, status names, the per-thread error detail, and the portable random generator. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "rng.h"
#include "seqgen.h"
#include "status.h"

static void version_matches_header(void **state)
{
    (void)state;
    assert_string_equal(seqgen_version(), SEQGEN_VERSION_STRING);
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", SEQGEN_VERSION_MAJOR, SEQGEN_VERSION_MINOR,
             SEQGEN_VERSION_PATCH);
    assert_string_equal(SEQGEN_VERSION_STRING, expected);
}

static void every_status_has_its_own_name(void **state)
{
    (void)state;
    const char *unknown = seqgen_strerror(12345);
    assert_string_equal(unknown, "unknown status");
    for (int a = SEQGEN_ECOMPRESSED; a <= SEQGEN_DONE; a++) {
        assert_string_not_equal(seqgen_strerror(a), unknown);
        for (int b = a + 1; b <= SEQGEN_DONE; b++)
            assert_string_not_equal(seqgen_strerror(a), seqgen_strerror(b));
    }
}

static void error_detail_is_set_and_prefixed(void **state)
{
    (void)state;
    assert_int_equal(sg_error(SEQGEN_EFORMAT, "bad magic 0x%08x", 0x1234u), SEQGEN_EFORMAT);
    assert_string_equal(seqgen_last_error(), "bad magic 0x00001234");
    assert_int_equal(sg_error_prefix(SEQGEN_EFORMAT, "a.idx"), SEQGEN_EFORMAT);
    assert_string_equal(seqgen_last_error(), "a.idx: bad magic 0x00001234");
}

static void long_detail_is_truncated_safely(void **state)
{
    (void)state;
    char big[4000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sg_error(SEQGEN_EIO, "%s", big);
    size_t length = strlen(seqgen_last_error());
    assert_true(length > 100 && length < sizeof big - 1);
    assert_string_equal(seqgen_last_error() + length - 3, "...");
    sg_error_prefix(SEQGEN_EIO, "file.idx");
    assert_int_equal(strlen(seqgen_last_error()), length);
    assert_memory_equal(seqgen_last_error(), "file.idx: xxx", 13);
    assert_string_equal(seqgen_last_error() + length - 3, "...");
}

static void *fail_in_thread(void *arg)
{
    (void)arg;
    sg_error(SEQGEN_EINVAL, "from the other thread");
    return NULL;
}

static void error_detail_is_per_thread(void **state)
{
    (void)state;
    sg_error(SEQGEN_EIO, "from the main thread");
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, fail_in_thread, NULL), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_string_equal(seqgen_last_error(), "from the main thread");
}

/* First outputs of pcg32 seeded with (42, 54), as printed by the reference pcg32-demo program
 * of the PCG C basic library. */
static void rng_matches_pcg32_reference(void **state)
{
    (void)state;
    static const uint32_t expected[6] = {0xa15c02b7, 0x7b47f409, 0xba1d3330,
                                         0x83d2f293, 0xbfa4784b, 0xcbed606e};
    sg_rng rng;
    sg_rng_seed(&rng, 42u, 54u);
    for (int i = 0; i < 6; i++)
        assert_int_equal(sg_rng_u32(&rng), expected[i]);
}

static void rng_ranges(void **state)
{
    (void)state;
    sg_rng rng;
    sg_rng_seed(&rng, 7u, 1u);
    int counts[5] = {0};
    double sum = 0;
    for (int i = 0; i < 50000; i++) {
        float f = sg_rng_float(&rng);
        double d = sg_rng_double(&rng);
        assert_true(f >= 0.0f && f < 1.0f);
        assert_true(d >= 0.0 && d < 1.0);
        sum += d;
        uint32_t k = sg_rng_below(&rng, 5);
        assert_true(k < 5);
        counts[k]++;
    }
    assert_allclose(sum / 50000, 0.5, 0, 0.01);
    for (int k = 0; k < 5; k++) /* 10000 expected, sd ~ 89 */
        assert_allclose(counts[k], 10000, 0, 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version_matches_header),
        cmocka_unit_test(every_status_has_its_own_name),
        cmocka_unit_test(error_detail_is_set_and_prefixed),
        cmocka_unit_test(long_detail_is_truncated_safely),
        cmocka_unit_test(error_detail_is_per_thread),
        cmocka_unit_test(rng_matches_pcg32_reference),
        cmocka_unit_test(rng_ranges),
    };
    return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
