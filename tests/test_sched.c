/* Teacher-forcing schedules: values against the formulas of Bengio et al. (2015) evaluated here
 * independently (hand-computed literals, repeated products), floors, warm-up, the unit choosing
 * the counter, invalid configurations, and a configuration replaced (as a checkpoint does). */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "schedule.h"
#include "seqgen.h"

static seqgen_sched *make(seqgen_sched_kind kind, seqgen_sched_unit unit, double k, double c,
                          double eps, uint64_t warmup)
{
    seqgen_sched_config cfg = seqgen_sched_config_default(kind);
    cfg.unit = unit;
    cfg.k = k;
    cfg.c = c;
    cfg.eps = eps;
    cfg.warmup = warmup;
    seqgen_sched *s = NULL;
    assert_ok(seqgen_sched_create(&s, &cfg));
    return s;
}

/* p at position i in the schedule's own unit; the other counter is set to something else, so
 * a schedule reading the wrong counter fails. */
static double P(const seqgen_sched *s, uint64_t i)
{
    seqgen_sched_config cfg;
    seqgen_sched_get_config(s, &cfg);
    return cfg.unit == SEQGEN_SCHED_PER_EPOCH ? seqgen_sched_p(s, i * 7 + 3, i)
                                              : seqgen_sched_p(s, i, i / 5 + 2);
}

static void constant_is_k_everywhere(void **state)
{
    (void)state;
    seqgen_sched *s = make(SEQGEN_SCHED_CONSTANT, SEQGEN_SCHED_PER_BATCH, 0.75, 0, 0.9, 0);
    const uint64_t at[] = {0, 1, 17, 1000000, UINT64_MAX};
    for (size_t n = 0; n < sizeof at / sizeof at[0]; n++)
        assert_true(P(s, at[n]) == 0.75); /* eps does not apply to a constant */
    seqgen_sched_free(s);
}

static void linear_decays_to_its_floor(void **state)
{
    (void)state;
    seqgen_sched *s = make(SEQGEN_SCHED_LINEAR, SEQGEN_SCHED_PER_BATCH, 0.9, 0.1, 0.25, 0);
    assert_allclose(P(s, 0), 0.9, 0, 1e-15);
    assert_allclose(P(s, 3), 0.6, 0, 1e-15);
    assert_allclose(P(s, 6), 0.3, 0, 1e-15);
    assert_true(P(s, 7) == 0.25); /* 0.9 - 0.7 = 0.2 is below the floor */
    assert_true(P(s, UINT64_MAX) == 0.25);
    seqgen_sched_free(s);
}

static void exponential_matches_repeated_products(void **state)
{
    (void)state;
    seqgen_sched *s = make(SEQGEN_SCHED_EXPONENTIAL, SEQGEN_SCHED_PER_BATCH, 0.9, 0, 0.05, 0);
    double power = 1.0;
    for (uint64_t i = 0; i <= 28; i++, power *= 0.9) /* 0.9^28 = 0.0523 > eps */
        assert_allclose(P(s, i), power, 1e-13, 0);
    assert_allclose(P(s, 5), 0.59049, 1e-14, 0);
    assert_true(P(s, 30) == 0.05); /* 0.9^30 = 0.0424 floored */
    assert_true(P(s, 1000000) == 0.05); /* underflows to 0, then floored */
    seqgen_sched_free(s);
}

static void inverse_sigmoid_matches_the_formula(void **state)
{
    (void)state;
    seqgen_sched *s = make(SEQGEN_SCHED_INVERSE_SIGMOID, SEQGEN_SCHED_PER_BATCH, 10, 0, 0.1, 0);
    assert_allclose(P(s, 0), 10.0 / 11.0, 1e-15, 0);
    assert_allclose(P(s, 20), 0.57507434233966, 1e-13, 0); /* 10/(10+e^2) */
    for (uint64_t i = 0; i <= 40; i++) {
        double expected = 10.0 / (10.0 + exp((double)i / 10.0));
        assert_allclose(P(s, i), expected > 0.1 ? expected : 0.1, 1e-14, 0);
    }
    assert_true(P(s, 100) == 0.1);        /* 10/(10+e^10) = 4.5e-4 floored */
    assert_true(P(s, UINT64_MAX) == 0.1); /* exp overflows to inf: 0, floored */
    seqgen_sched_free(s);

    seqgen_sched_config cfg = seqgen_sched_config_default(SEQGEN_SCHED_INVERSE_SIGMOID);
    assert_ok(seqgen_sched_create(&s, &cfg));
    assert_allclose(P(s, 1000), 0.5740311316459715, 1e-13, 0); /* k = 200 */
    seqgen_sched_free(s);
}

static void warmup_shifts_the_schedule(void **state)
{
    (void)state;
    seqgen_sched *s = make(SEQGEN_SCHED_LINEAR, SEQGEN_SCHED_PER_BATCH, 0.8, 0.1, 0, 3);
    for (uint64_t i = 0; i < 3; i++)
        assert_true(P(s, i) == 1.0);
    assert_allclose(P(s, 3), 0.8, 0, 1e-15); /* f(0) = k at i = W */
    assert_allclose(P(s, 4), 0.7, 0, 1e-15);
    assert_true(P(s, 11) == 0.0); /* 0.8 - 0.8 */
    seqgen_sched_free(s);

    s = make(SEQGEN_SCHED_INVERSE_SIGMOID, SEQGEN_SCHED_PER_EPOCH, 10, 0, 0, 5);
    assert_true(P(s, 4) == 1.0);
    assert_allclose(P(s, 5), 10.0 / 11.0, 1e-15, 0);
    assert_allclose(P(s, 25), 0.57507434233966, 1e-13, 0);
    seqgen_sched_free(s);

    s = make(SEQGEN_SCHED_CONSTANT, SEQGEN_SCHED_PER_BATCH, 0.5, 0, 0, 2);
    assert_true(P(s, 1) == 1.0);
    assert_true(P(s, 2) == 0.5);
    seqgen_sched_free(s);
}

static void only_the_configured_unit_counts(void **state)
{
    (void)state;
    seqgen_sched *per_batch = make(SEQGEN_SCHED_EXPONENTIAL, SEQGEN_SCHED_PER_BATCH, 0.5, 0, 0, 0);
    seqgen_sched *per_epoch = make(SEQGEN_SCHED_EXPONENTIAL, SEQGEN_SCHED_PER_EPOCH, 0.5, 0, 0, 0);
    /* 21 batches in 3 epochs: p = 0.5^21 counted per batch, 0.5^3 per epoch. */
    assert_true(seqgen_sched_p(per_batch, 21, 3) == ldexp(1.0, -21));
    assert_true(seqgen_sched_p(per_epoch, 21, 3) == 0.125);
    assert_true(seqgen_sched_p(per_batch, 21, 0) == seqgen_sched_p(per_batch, 21, 999));
    assert_true(seqgen_sched_p(per_epoch, 0, 1) == 0.5);
    assert_true(seqgen_sched_p(per_epoch, 123456, 1) == 0.5);
    assert_true(seqgen_sched_p(per_epoch, 0, 0) == 1.0);
    assert_true(isnan(seqgen_sched_p(NULL, 0, 0)));
    seqgen_sched_free(per_batch);
    seqgen_sched_free(per_epoch);
}

static void invalid_configs_are_refused_with_their_reason(void **state)
{
    (void)state;
    struct {
        seqgen_sched_kind kind;
        int unit;
        double k, c, eps;
        const char *reason;
    } bad[] = {
        {SEQGEN_SCHED_CONSTANT, 0, 1.5, 0, 0, "constant schedule: k must be in [0, 1], got 1.5"},
        {SEQGEN_SCHED_LINEAR, 0, -0.1, 0, 0, "linear schedule: k must be in [0, 1]"},
        {SEQGEN_SCHED_LINEAR, 0, 1, -1e-3, 0, "linear schedule: c must be finite and >= 0"},
        {SEQGEN_SCHED_LINEAR, 0, 1, INFINITY, 0, "c must be finite"},
        {SEQGEN_SCHED_EXPONENTIAL, 0, 1.0, 0, 0,
         "exponential schedule: k must be in (0, 1), got 1"},
        {SEQGEN_SCHED_EXPONENTIAL, 0, 0.0, 0, 0, "k must be in (0, 1), got 0"},
        {SEQGEN_SCHED_EXPONENTIAL, 0, NAN, 0, 0, "k must be in (0, 1), got nan"},
        {SEQGEN_SCHED_INVERSE_SIGMOID, 0, 0.5, 0, 0,
         "inverse sigmoid schedule: k must be finite and >= 1, got 0.5"},
        {SEQGEN_SCHED_INVERSE_SIGMOID, 0, INFINITY, 0, 0, "k must be finite and >= 1, got inf"},
        {SEQGEN_SCHED_EXPONENTIAL, 0, 0.5, 0, 1.01,
         "exponential schedule: eps must be in [0, 1], got 1.01"},
        {SEQGEN_SCHED_LINEAR, 0, 1, 0, -0.5, "eps must be in [0, 1], got -0.5"},
        {(seqgen_sched_kind)7, 0, 1, 0, 0, "schedule kind 7 is not a seqgen_sched_kind"},
        {SEQGEN_SCHED_CONSTANT, 2, 1, 0, 0, "schedule unit 2 is not a seqgen_sched_unit"},
    };
    for (size_t n = 0; n < sizeof bad / sizeof bad[0]; n++) {
        seqgen_sched_config cfg = seqgen_sched_config_default(SEQGEN_SCHED_CONSTANT);
        cfg.kind = bad[n].kind;
        cfg.unit = (seqgen_sched_unit)bad[n].unit;
        cfg.k = bad[n].k;
        cfg.c = bad[n].c;
        cfg.eps = bad[n].eps;
        seqgen_sched *s = (seqgen_sched *)&cfg; /* must stay untouched */
        assert_int_equal(seqgen_sched_create(&s, &cfg), SEQGEN_EINVAL);
        assert_ptr_equal(s, (seqgen_sched *)&cfg);
        if (!strstr(seqgen_last_error(), bad[n].reason))
            fail_msg("case %zu: detail \"%s\" lacks \"%s\"", n, seqgen_last_error(),
                     bad[n].reason);
    }
    seqgen_sched *s = NULL;
    assert_int_equal(seqgen_sched_create(&s, NULL), SEQGEN_EINVAL);
    assert_int_equal(seqgen_sched_create(NULL, NULL), SEQGEN_EINVAL);
    assert_null(s);
}

static void defaults_are_valid_for_every_kind(void **state)
{
    (void)state;
    for (int kind = SEQGEN_SCHED_CONSTANT; kind <= SEQGEN_SCHED_INVERSE_SIGMOID; kind++) {
        seqgen_sched_config cfg = seqgen_sched_config_default((seqgen_sched_kind)kind);
        assert_int_equal(cfg.kind, kind);
        assert_int_equal(cfg.unit, SEQGEN_SCHED_PER_BATCH);
        assert_int_equal(cfg.warmup, 0);
        seqgen_sched *s = NULL;
        assert_ok(seqgen_sched_create(&s, &cfg));
        seqgen_sched_config back;
        seqgen_sched_get_config(s, &back);
        assert_memory_equal(&back, &cfg, sizeof cfg);
        seqgen_sched_free(s);
    }
    seqgen_sched_config cfg = seqgen_sched_config_default(SEQGEN_SCHED_CONSTANT);
    assert_true(cfg.k == 1.0); /* the default is plain teacher forcing */
    cfg = seqgen_sched_config_default((seqgen_sched_kind)9);
    seqgen_sched *s = NULL;
    assert_int_equal(seqgen_sched_create(&s, &cfg), SEQGEN_EINVAL);
    assert_non_null(strstr(seqgen_last_error(), "schedule kind 9 is not a seqgen_sched_kind"));
    seqgen_sched_free(NULL);
}

/* What a checkpoint loaded into an existing schedule does: its configuration is replaced after
 * the same checks as at creation; a refused one changes nothing. */
static void set_config_replaces_the_formula(void **state)
{
    (void)state;
    seqgen_sched *a = make(SEQGEN_SCHED_INVERSE_SIGMOID, SEQGEN_SCHED_PER_BATCH, 3, 0, 0.05, 2);
    seqgen_sched *b = make(SEQGEN_SCHED_CONSTANT, SEQGEN_SCHED_PER_EPOCH, 0.5, 0, 0, 0);
    seqgen_sched_config cfg;
    seqgen_sched_get_config(a, &cfg);
    assert_ok(sg_sched_set_config(b, &cfg));
    for (uint64_t i = 0; i < 40; i++)
        assert_true(seqgen_sched_p(a, i, i / 5) == seqgen_sched_p(b, i, i / 5));

    seqgen_sched_config bad_cfg = cfg;
    bad_cfg.k = 0.5; /* below 1: invalid for the inverse sigmoid */
    assert_int_equal(sg_sched_set_config(b, &bad_cfg), SEQGEN_EINVAL);
    assert_non_null(strstr(seqgen_last_error(), "k must be finite and >= 1, got 0.5"));
    seqgen_sched_get_config(b, &bad_cfg);
    assert_memory_equal(&bad_cfg, &cfg, sizeof cfg); /* unchanged by the refusal */
    seqgen_sched_free(a);
    seqgen_sched_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(constant_is_k_everywhere),
        cmocka_unit_test(linear_decays_to_its_floor),
        cmocka_unit_test(exponential_matches_repeated_products),
        cmocka_unit_test(inverse_sigmoid_matches_the_formula),
        cmocka_unit_test(warmup_shifts_the_schedule),
        cmocka_unit_test(only_the_configured_unit_counts),
        cmocka_unit_test(invalid_configs_are_refused_with_their_reason),
        cmocka_unit_test(defaults_are_valid_for_every_kind),
        cmocka_unit_test(set_config_replaces_the_formula),
    };
    return cmocka_run_group_tests_name("sched", tests, NULL, NULL);
}
