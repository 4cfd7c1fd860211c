/* Version, status names, the per-thread error detail and its convention, and the portable random
 * generator. */
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

/* The public setter, for libraries built on libseqgen: the same detail, copied, cut the same way. */
static void public_setter_sets_the_detail(void **state)
{
    (void)state;
    char detail[] = "model.safetensors: tensor rnn.weight_ih_l0 is missing";
    assert_int_equal(seqgen_set_last_error(SEQGEN_EMISMATCH, detail), SEQGEN_EMISMATCH);
    detail[0] = 'X'; /* copied, not kept */
    assert_string_equal(seqgen_last_error(), "model.safetensors: tensor rnn.weight_ih_l0 is missing");
    assert_int_equal(seqgen_set_last_error(SEQGEN_EIO, NULL), SEQGEN_EIO);
    assert_string_equal(seqgen_last_error(), "");
    char big[3000];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    seqgen_set_last_error(SEQGEN_EIO, big);
    size_t length = strlen(seqgen_last_error());
    assert_true(length > 100 && length < sizeof big - 1);
    assert_string_equal(seqgen_last_error() + length - 3, "...");
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

/* The header's convention for details: a NULL argument is "function: NULL what"; every other
 * detail names what is wrong and not the function. Each check prints what breaks it and counts. */
static int convention_breaks;

static void check_null_detail(int status, const char *function, const char *what, int line)
{
    char expected[160];
    snprintf(expected, sizeof expected, "%s: NULL %s", function, what);
    const char *detail = seqgen_last_error();
    if (status != SEQGEN_EINVAL || strncmp(detail, expected, strlen(expected)) != 0) {
        print_message("line %d: status %d, detail \"%s\"; expected %d and a detail starting "
                      "\"%s\"\n", line, status, detail, SEQGEN_EINVAL, expected);
        convention_breaks++;
    }
}

static void check_other_detail(int status, int expected, const char *function, const char *part,
                               int line)
{
    const char *detail = seqgen_last_error();
    if (status != expected || strstr(detail, function) || !strstr(detail, part)) {
        print_message("line %d: status %d, detail \"%s\"; expected %d and a detail with \"%s\", "
                      "without \"%s\"\n", line, status, detail, expected, part, function);
        convention_breaks++;
    }
}

#define EXPECT_NULL(call, function, what) check_null_detail((call), function, what, __LINE__)
#define EXPECT_OTHER(expected, call, function, part) \
    check_other_detail((call), (expected), function, part, __LINE__)

/* get_tensor, get_grad and set_tensor take the same arguments. */
static int get_tensor(seqgen_model *m, const char *n, float *v, size_t c) { return seqgen_model_get_tensor(m, n, v, c); }
static int get_grad(seqgen_model *m, const char *n, float *v, size_t c) { return seqgen_model_get_grad(m, n, v, c); }
static int set_tensor(seqgen_model *m, const char *n, float *v, size_t c) { return seqgen_model_set_tensor(m, n, v, c); }

static void details_name_the_function_only_for_null_arguments(void **state)
{
    (void)state;
    enum { D = 2, T = 3 };
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = D, cfg.hidden = 3, cfg.threads = 1;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    float v[4 * T * D] = {0}, out[4 * T * D];
    const struct {
        const char *name;
        int (*call)(seqgen_model *, const char *, float *, size_t);
    } tensor_fns[] = {{"seqgen_model_get_tensor", get_tensor},
                      {"seqgen_model_get_grad", get_grad},
                      {"seqgen_model_set_tensor", set_tensor}};
    convention_breaks = 0;
    for (int k = 0; k < 3; k++) {
        const char *fn = tensor_fns[k].name;
        int (*call)(seqgen_model *, const char *, float *, size_t) = tensor_fns[k].call;
        EXPECT_NULL(call(NULL, "out.bias", v, D), fn, "model");
        EXPECT_NULL(call(m, NULL, v, D), fn, "name");
        EXPECT_NULL(call(m, "out.bias", NULL, D), fn, k == 2 ? "values" : "output");
        EXPECT_OTHER(SEQGEN_EINVAL, call(m, "out.bias2", v, D), fn, "no tensor called \"out.bias2\"");
        EXPECT_OTHER(SEQGEN_EMISMATCH, call(m, "out.bias", v, 1), fn, "\"out.bias\"");
    }
    EXPECT_NULL(seqgen_model_tensor_info(NULL, 0, NULL, NULL, NULL), "seqgen_model_tensor_info",
                "model");
    EXPECT_OTHER(SEQGEN_EINVAL, seqgen_model_tensor_info(m, 6, NULL, NULL, NULL),
                 "seqgen_model_tensor_info", "tensor index 6");
    seqgen_batch batch = seqgen_batch_of_sequences(m, v, 1, T);
    EXPECT_NULL(seqgen_model_forward_backward(NULL, &batch, NULL, NULL, NULL),
                "seqgen_model_forward_backward", "model");
    EXPECT_NULL(seqgen_model_evaluate(m, NULL, SEQGEN_LOSS_MSE, NULL, NULL), "seqgen_model_evaluate",
                "batch");
    batch.start_step = 2;
    EXPECT_OTHER(SEQGEN_EINVAL, seqgen_model_evaluate(m, &batch, SEQGEN_LOSS_MSE, NULL, NULL),
                 "seqgen_model_evaluate", "start_step");
    EXPECT_NULL(seqgen_complete(NULL, v, 1, T, NULL, 0, NULL, out, NULL), "seqgen_complete", "model");
    EXPECT_OTHER(SEQGEN_EINVAL, seqgen_complete(m, v, 0, T, NULL, 0, NULL, out, NULL),
                 "seqgen_complete", "count");
    EXPECT_OTHER(SEQGEN_EINVAL, seqgen_complete(m, v, 1, 0, NULL, 0, NULL, out, NULL),
                 "seqgen_complete", "steps");
    EXPECT_OTHER(SEQGEN_EINVAL, seqgen_complete(m, v, 1, T, NULL, 0, NULL, v + D, NULL),
                 "seqgen_complete", "overlap");
    EXPECT_OTHER(SEQGEN_EINVAL, seqgen_complete(m, v, 2, T, NULL, 0, NULL, out, v + D),
                 "seqgen_complete", "overlap");
    seqgen_optim *opt = NULL;
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    EXPECT_NULL(seqgen_optim_create(NULL, m, &ocfg), "seqgen_optim_create", "output");
    EXPECT_NULL(seqgen_optim_create(&opt, NULL, &ocfg), "seqgen_optim_create", "model");
    EXPECT_NULL(seqgen_optim_create(&opt, m, NULL), "seqgen_optim_create", "config");
    seqgen_sched *sched = NULL;
    seqgen_sched_config scfg = seqgen_sched_config_default(SEQGEN_SCHED_LINEAR);
    EXPECT_NULL(seqgen_sched_create(NULL, &scfg), "seqgen_sched_create", "output");
    EXPECT_NULL(seqgen_sched_create(&sched, NULL), "seqgen_sched_create", "config");
    seqgen_checkpoint_info info;
    seqgen_train_state train = {0};
    EXPECT_NULL(seqgen_checkpoint_load_model(NULL, "x.ckpt"), "seqgen_checkpoint_load_model",
                "output");
    EXPECT_NULL(seqgen_checkpoint_load_model(&m, NULL), "seqgen_checkpoint_load_model", "path");
    EXPECT_NULL(seqgen_checkpoint_inspect("x.ckpt", NULL), "seqgen_checkpoint_inspect", "info");
    EXPECT_NULL(seqgen_checkpoint_load_training("x.ckpt", NULL, &train),
                "seqgen_checkpoint_load_training", "model");
    EXPECT_NULL(seqgen_checkpoint_load_training("x.ckpt", &m, NULL),
                "seqgen_checkpoint_load_training", "training state");
    (void)info;
    uint8_t units[2 * T * D] = {0};
    int64_t labels[2] = {0, 1};
    seqgen_sequences seqs = {units, 2, T, D, NULL, labels};
    seqgen_dataset *ds = NULL;
    assert_ok(seqgen_dataset_from_memory(&ds, &seqs, SEQGEN_COPY));
    seqgen_eval_options eopts = seqgen_eval_options_default();
    seqgen_eval_results results;
    EXPECT_NULL(seqgen_evaluate_dataset(m, ds, NULL, &eopts, &results), "seqgen_evaluate_dataset",
                "train");
    eopts.metrics = 0;
    EXPECT_OTHER(SEQGEN_EINVAL, seqgen_evaluate_dataset(m, ds, ds, &eopts, &results),
                 "seqgen_evaluate_dataset", "metrics");
    seqgen_dataset *none = NULL;
    EXPECT_NULL(seqgen_dataset_from_memory(NULL, &seqs, SEQGEN_COPY), "seqgen_dataset_from_memory",
                "output");
    EXPECT_OTHER(SEQGEN_EINVAL, seqgen_dataset_from_memory(&none, &seqs, (seqgen_ownership)5),
                 "seqgen_dataset_from_memory", "ownership 5");
    units[1] = 3;
    EXPECT_OTHER(SEQGEN_ERANGE, seqgen_dataset_from_memory(&none, &seqs, SEQGEN_COPY),
                 "seqgen_dataset_from_memory", "sequence 0, step 0, unit 1 is 3");
    EXPECT_NULL(seqgen_dataset_open_npy(&none, NULL, NULL, NULL), "seqgen_dataset_open_npy",
                "units_path");
    EXPECT_NULL(seqgen_dataset_open_dir(&none, NULL, SEQGEN_SPLIT_TRAIN), "seqgen_dataset_open_dir",
                "dir");
    EXPECT_OTHER(SEQGEN_EINVAL, seqgen_dataset_open_dir(&none, ".", (seqgen_split)9),
                 "seqgen_dataset_open_dir", "split 9");
    int64_t label;
    EXPECT_NULL(seqgen_dataset_label(ds, 0, NULL), "seqgen_dataset_label", "label");
    EXPECT_OTHER(SEQGEN_EINVAL, seqgen_dataset_label(ds, 7, &label), "seqgen_dataset_label",
                 "sequence 7 is beyond the 2 sequences");
    EXPECT_OTHER(SEQGEN_EINVAL, seqgen_dataset_limit(ds, 0), "seqgen_dataset_limit", "limit of 0");
    seqgen_batch_iter *it = NULL;
    EXPECT_NULL(seqgen_batch_iter_create(&it, NULL, NULL), "seqgen_batch_iter_create", "ds");
    seqgen_batch_config bcfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    bcfg.units_per_step = D;
    EXPECT_OTHER(SEQGEN_EMISMATCH, seqgen_batch_iter_create(&it, ds, NULL),
                 "seqgen_batch_iter_create", "reads 1 units per step");
    assert_ok(seqgen_batch_iter_create(&it, ds, &bcfg));
    EXPECT_OTHER(SEQGEN_EINVAL, seqgen_batch_iter_seek(it, 0, 3), "seqgen_batch_iter_seek",
                 "position 3 is beyond the 2 sequences");
    seqgen_batch_iter_free(it);
    EXPECT_NULL(seqgen_dataset_nearest(ds, NULL, 1, NULL, NULL), "seqgen_dataset_nearest",
                "queries");
    seqgen_dataset_free(ds);
    seqgen_model_free(m);
    assert_int_equal(convention_breaks, 0);
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
        cmocka_unit_test(public_setter_sets_the_detail),
        cmocka_unit_test(error_detail_is_per_thread),
        cmocka_unit_test(details_name_the_function_only_for_null_arguments),
        cmocka_unit_test(rng_matches_pcg32_reference),
        cmocka_unit_test(rng_ranges),
    };
    return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
