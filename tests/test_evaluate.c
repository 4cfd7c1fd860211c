/* Evaluation over a test split: closed-form numbers for models that always predict ink or
 * always blank; digit kept and its bounds against direct nearest-neighbour searches and a
 * brute-force Hamming search; losses against seqgen_model_evaluate(); evaluation leaves a
 * training run bit-identical; metric selection; bad arguments. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "seqgen.h"

#define PIXELS 784

static seqgen_dataset *test_set, *train_set;

static int load_sets(void **state)
{
    (void)state;
    int status = seqgen_dataset_open_dir(&test_set, "data/mnist10k", SEQGEN_SPLIT_TEST);
    if (status)
        return status;
    return seqgen_dataset_open_dir(&train_set, "data/mnist10k", SEQGEN_SPLIT_TRAIN);
}

static int free_sets(void **state)
{
    (void)state;
    seqgen_dataset_free(test_set);
    seqgen_dataset_free(train_set);
    return 0;
}

/* Makes the model's logit `logit` for every pixel, whatever its input: out.weight = 0. */
static void constant_logit(seqgen_model *m, float logit)
{
    const int D = seqgen_model_get_config(m).units_per_step, H = seqgen_model_get_config(m).hidden;
    float *w = calloc((size_t)D * H, sizeof *w), *b = malloc(D * sizeof *b);
    assert_non_null(w);
    assert_non_null(b);
    for (int d = 0; d < D; d++)
        b[d] = logit;
    assert_ok(seqgen_model_set_tensor(m, "out.weight", w, (size_t)D * H));
    assert_ok(seqgen_model_set_tensor(m, "out.bias", b, D));
    free(w);
    free(b);
}

/* Pixel p of test image i, from the raw bytes (ink iff byte > 127, the default binarisation). */
static int ink(size_t i, size_t p)
{
    return seqgen_dataset_raw(test_set, i)[p] > 127;
}

static double softplus(double x)
{
    return (x > 0 ? x : 0) + log1p(exp(-fabs(x)));
}

/* A model whose every prediction is sigmoid(a): the completion is all ink (a > 0) or all blank,
 * and the losses follow from counting the test images' ink:
 *   NLL per image = sum over pixels 1..P-1 of softplus(a) - y a,
 *   pixel error = the fraction of generated pixels whose truth is not the constant. */
static void check_constant_model(int D, float a, int given)
{
    enum { N = 40 };
    seqgen_model *m = tu_make_model(D, 8, 1, 3, 2);
    constant_logit(m, a);
    seqgen_eval_options opts = seqgen_eval_options_default();
    opts.limit = N;
    opts.given = given;
    opts.batch_size = 16;
    opts.metrics = SEQGEN_EVAL_LOSS | SEQGEN_EVAL_COMPLETION;
    seqgen_eval_results r;
    assert_ok(seqgen_evaluate_dataset(m, test_set, NULL, &opts, &r));

    const double p = 1.0 / (1.0 + exp(-(double)a));
    double nll = 0, sq = 0;
    size_t wrong = 0;
    for (size_t i = 0; i < N; i++) {
        for (size_t k = D; k < PIXELS; k++) {
            int y = ink(i, k);
            nll += softplus(a) - y * (double)a;
            sq += (p - y) * (p - y);
        }
        for (size_t k = given; k < PIXELS; k++)
            wrong += ink(i, k) != (a > 0);
    }
    const double predicted = (double)N * (PIXELS - D);
    assert_int_equal(r.sequences, N);
    assert_int_equal(r.given, given);
    assert_allclose(r.nll_nats, nll / N, 1e-9, 0);
    assert_allclose(r.bce, nll / predicted, 1e-9, 0);
    assert_allclose(r.mse, sq / predicted, 1e-6, 1e-12);
    assert_allclose(r.unit_error, (double)wrong / ((double)N * (PIXELS - given)), 0, 1e-15);
    assert_true(isnan(r.label_kept) && isnan(r.label_kept_truth) && isnan(r.label_kept_blank));
    seqgen_model_free(m);
}

static void closed_form_for_constant_models(void **state)
{
    (void)state;
    check_constant_model(1, 30.0f, 500);
    check_constant_model(1, -30.0f, 500);
    check_constant_model(4, 25.0f, 392);
    check_constant_model(2, -3.0f, 0);
    check_constant_model(1, 2.0f, 783);
    check_constant_model(28, 25.0f, 300); /* step 10 partly given */
}

/* Label of the training image nearest to a binary query (value > 0.5 is ink), by brute force,
 * ties to the lowest index: the definition, independent of the bit-packed search. */
static int brute_force_label(const float *query)
{
    size_t best = 0;
    unsigned best_distance = PIXELS + 1;
    for (size_t j = 0; j < seqgen_dataset_count(train_set); j++) {
        const uint8_t *img = seqgen_dataset_raw(train_set, j);
        unsigned d = 0;
        for (size_t p = 0; p < PIXELS; p++)
            d += (img[p] > 127) != (query[p] > 0.5f);
        if (d < best_distance)
            best_distance = d, best = j;
    }
    return tu_label(train_set, best);
}

/* Digit kept and its bounds, recomputed from the completions with seqgen_dataset_nearest(). */
static void label_kept_matches_direct_search(void **state)
{
    (void)state;
    enum { N = 30, K = 392 };
    seqgen_model *m = tu_make_model(1, 16, 1, 5, 2);
    seqgen_eval_options opts = seqgen_eval_options_default();
    opts.limit = N;
    opts.given = K;
    opts.metrics = SEQGEN_EVAL_LABEL;
    opts.complete.decode = SEQGEN_DECODE_SAMPLE;
    opts.complete.seed = 77;
    seqgen_eval_results r;
    assert_ok(seqgen_evaluate_dataset(m, test_set, train_set, &opts, &r));

    size_t idx[N], nearest[N];
    uint32_t dist[N];
    float *truth = malloc(N * PIXELS * sizeof *truth), *done = malloc(N * PIXELS * sizeof *done);
    assert_non_null(truth);
    assert_non_null(done);
    for (size_t i = 0; i < N; i++)
        idx[i] = i;
    assert_ok(seqgen_dataset_sequences(test_set, idx, N, NULL, 0, truth));
    assert_ok(seqgen_complete(m, truth, N, PIXELS, NULL, K, &opts.complete, done, NULL));
    size_t kept = 0, wrong = 0;
    double distance = 0;
    assert_ok(seqgen_dataset_nearest(train_set, done, N, nearest, dist));
    for (size_t i = 0; i < N; i++) {
        kept += tu_label(train_set, nearest[i]) == tu_label(test_set, i);
        distance += dist[i];
        for (size_t p = K; p < PIXELS; p++)
            wrong += done[i * PIXELS + p] != truth[i * PIXELS + p];
    }
    assert_allclose(r.label_kept, (double)kept / N, 0, 1e-15);
    assert_allclose(r.nearest_distance, distance / N, 1e-15, 0);
    assert_allclose(r.unit_error, (double)wrong / (N * (PIXELS - K)), 0, 1e-15);

    kept = 0, distance = 0;
    assert_ok(seqgen_dataset_nearest(train_set, truth, N, nearest, dist));
    for (size_t i = 0; i < N; i++) {
        kept += tu_label(train_set, nearest[i]) == tu_label(test_set, i);
        distance += dist[i];
    }
    assert_allclose(r.label_kept_truth, (double)kept / N, 0, 1e-15);
    assert_allclose(r.nearest_distance_truth, distance / N, 1e-15, 0);
    assert_true(r.label_kept_truth >= 0.8); /* 1-NN on MNIST is ~95% accurate */

    for (size_t i = 0; i < N; i++)
        memset(truth + i * PIXELS + K, 0, (PIXELS - K) * sizeof *truth);
    kept = 0;
    assert_ok(seqgen_dataset_nearest(train_set, truth, N, nearest, NULL));
    for (size_t i = 0; i < N; i++)
        kept += tu_label(train_set, nearest[i]) == tu_label(test_set, i);
    assert_allclose(r.label_kept_blank, (double)kept / N, 0, 1e-15);
    assert_true(r.label_kept_blank < r.label_kept_truth);
    /* the classifier itself, by brute force on the first masked images */
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(brute_force_label(truth + i * PIXELS),
                         tu_label(train_set, nearest[i]));
    assert_true(isnan(r.mse) && isnan(r.nll_nats));
    free(truth);
    free(done);
    seqgen_model_free(m);
}

/* The loss is seqgen_model_evaluate()'s over shifted sequences, whatever the batch size. */
static void loss_matches_the_model_and_ignores_batching(void **state)
{
    (void)state;
    enum { N = 12, T = PIXELS - 1 };
    seqgen_model *m = tu_make_model(1, 16, 1, 8, 1);
    size_t idx[N];
    for (size_t i = 0; i < N; i++)
        idx[i] = i;
    float *seq = malloc(N * PIXELS * sizeof *seq), *in = malloc(N * T * sizeof *in);
    float *target = malloc(N * T * sizeof *target);
    assert_non_null(seq);
    assert_non_null(in);
    assert_non_null(target);
    assert_ok(seqgen_dataset_sequences(test_set, idx, N, NULL, 0, seq));
    for (size_t i = 0; i < N; i++) {
        memcpy(in + i * T, seq + i * PIXELS, T * sizeof *in);
        memcpy(target + i * T, seq + i * PIXELS + 1, T * sizeof *in);
    }
    seqgen_train_stats st;
    assert_ok(seqgen_model_evaluate(m, &(seqgen_batch){in, target, 0, N, T, 0, NULL}, SEQGEN_LOSS_BCE, NULL,
                                    &st));
    seqgen_eval_options opts = seqgen_eval_options_default();
    opts.limit = N;
    opts.metrics = SEQGEN_EVAL_LOSS;
    const size_t batches[] = {N, 5, 1};
    for (int k = 0; k < 3; k++) {
        seqgen_eval_results r;
        opts.batch_size = batches[k];
        assert_ok(seqgen_evaluate_dataset(m, test_set, NULL, &opts, &r));
        assert_allclose(r.nll_nats, st.nll_nats, 1e-6, 0);
        assert_allclose(r.bce, st.bce, 1e-6, 0);
        assert_allclose(r.mse, st.mse, 1e-6, 0);
        assert_true(isnan(r.unit_error) && isnan(r.label_kept));
    }
    free(seq);
    free(in);
    free(target);
    seqgen_model_free(m);
}

/* Trains `steps` Adam steps with scheduled sampling (which draws from the model's generator),
 * evaluating after step `eval_after` if it is >= 0. */
static void train(seqgen_model *m, seqgen_optim *opt, const float *x, int steps, int eval_after)
{
    seqgen_train_options to = seqgen_train_options_default();
    to.teacher_prob = 0.5;
    for (int i = 0; i < steps; i++) {
        assert_ok(seqgen_model_forward_backward(m, TU_SEQUENCES(m, x, 8, PIXELS), &to, NULL, NULL));
        assert_ok(seqgen_optim_step(opt, m));
        if (i == eval_after) {
            seqgen_eval_options eo = seqgen_eval_options_default();
            eo.limit = 20;
            eo.batch_size = 16; /* larger than the training batch: the workspace grows */
            eo.complete.decode = SEQGEN_DECODE_SAMPLE;
            seqgen_eval_results r;
            assert_ok(seqgen_evaluate_dataset(m, test_set, train_set, &eo, &r));
        }
    }
}

static void evaluation_does_not_perturb_training(void **state)
{
    (void)state;
    size_t idx[8] = {3, 1, 4, 1, 5, 9, 2, 6};
    float *x = malloc(8 * PIXELS * sizeof *x);
    assert_non_null(x);
    assert_ok(seqgen_dataset_sequences(train_set, idx, 8, NULL, 0, x));
    float *params[2];
    size_t n = 0;
    for (int run = 0; run < 2; run++) {
        seqgen_model *m = tu_make_model(1, 12, 1, 21, 2);
        seqgen_optim *opt = NULL;
        seqgen_optim_config oc = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
        assert_ok(seqgen_optim_create(&opt, m, &oc));
        train(m, opt, x, 4, run == 0 ? 1 : -1);
        n = seqgen_model_param_count(m);
        params[run] = malloc(n * sizeof(float));
        assert_non_null(params[run]);
        size_t at = 0;
        for (int t = 0; t < seqgen_model_tensor_count(m); t++) {
            const char *name;
            int rows, cols;
            assert_ok(seqgen_model_tensor_info(m, t, &name, &rows, &cols));
            assert_ok(seqgen_model_get_tensor(m, name, params[run] + at, (size_t)rows * cols));
            at += (size_t)rows * cols;
        }
        seqgen_optim_free(opt);
        seqgen_model_free(m);
    }
    assert_memory_equal(params[0], params[1], n * sizeof(float));
    free(params[0]);
    free(params[1]);
    free(x);
}

static void sampled_evaluation_is_reproducible(void **state)
{
    (void)state;
    seqgen_model *m = tu_make_model(1, 12, 1, 4, 2);
    seqgen_eval_options opts = seqgen_eval_options_default();
    opts.limit = 25;
    opts.metrics = SEQGEN_EVAL_COMPLETION;
    opts.complete.decode = SEQGEN_DECODE_SAMPLE;
    seqgen_eval_results a, b, c;
    assert_ok(seqgen_evaluate_dataset(m, test_set, NULL, &opts, &a));
    assert_ok(seqgen_evaluate_dataset(m, test_set, NULL, &opts, &b));
    assert_memory_equal(&a.unit_error, &b.unit_error, sizeof a.unit_error);
    opts.complete.seed = 1;
    assert_ok(seqgen_evaluate_dataset(m, test_set, NULL, &opts, &c));
    assert_true(c.unit_error != a.unit_error);
    seqgen_model_free(m);
}

static void expect_status(seqgen_model *m, seqgen_dataset *train, const seqgen_eval_options *o,
                          int expected, const char *why)
{
    seqgen_eval_results r;
    memset(&r, 0x5a, sizeof r);
    seqgen_eval_results before = r;
    int status = seqgen_evaluate_dataset(m, test_set, train, o, &r);
    if (status != expected)
        fail_msg("%s: expected %d, got %d (%s)", why, expected, status, seqgen_last_error());
    if (strstr(seqgen_last_error(), why) == NULL)
        fail_msg("message \"%s\" does not mention \"%s\"", seqgen_last_error(), why);
    assert_memory_equal(&r, &before, sizeof r);
}

static void bad_arguments_are_rejected(void **state)
{
    (void)state;
    seqgen_model *m = tu_make_model(4, 8, 1, 1, 1), *m5 = tu_make_model(5, 8, 1, 1, 1);
    seqgen_eval_results r;
    assert_int_equal(seqgen_evaluate_dataset(NULL, test_set, NULL, NULL, &r), SEQGEN_EINVAL);
    assert_int_equal(seqgen_evaluate_dataset(m, NULL, NULL, NULL, &r), SEQGEN_EINVAL);
    assert_int_equal(seqgen_evaluate_dataset(m, test_set, NULL, NULL, NULL), SEQGEN_EINVAL);
    seqgen_eval_options o = seqgen_eval_options_default();
    expect_status(m, NULL, &o, SEQGEN_EINVAL, "needs the training set");
    o.metrics = 0;
    expect_status(m, train_set, &o, SEQGEN_EINVAL, "metrics");
    o.metrics = 8;
    expect_status(m, train_set, &o, SEQGEN_EINVAL, "metrics");
    o = seqgen_eval_options_default();
    o.batch_size = 0;
    expect_status(m, train_set, &o, SEQGEN_EINVAL, "batch_size");
    o = seqgen_eval_options_default();
    o.given = 800;
    expect_status(m, train_set, &o, SEQGEN_EINVAL, "[0, 784]");
    o = seqgen_eval_options_default();
    o.complete.decode = SEQGEN_DECODE_SAMPLE;
    o.complete.temperature = 0.0;
    expect_status(m, train_set, &o, SEQGEN_EINVAL, "temperature");
    o.given = -2;
    expect_status(m, train_set, &o, SEQGEN_EINVAL, "SEQGEN_GIVEN_HALF");
    o = seqgen_eval_options_default();
    expect_status(m5, train_set, &o, SEQGEN_EMISMATCH, "the model reads 5 units per step");
    /* a model made for sequences of another length */
    seqgen_model_config cfg = seqgen_model_get_config(m);
    cfg.steps = 100;
    seqgen_model *m100 = NULL;
    assert_ok(seqgen_model_create(&m100, &cfg));
    expect_status(m100, train_set, &o, SEQGEN_EMISMATCH,
                  "the model is for sequences of 100 steps of 4 units, the test set's have 196");
    seqgen_model_free(m100);
    /* the label metric without labels */
    uint8_t units[2 * 784] = {0};
    seqgen_sequences seqs = {units, 2, 784, 1, NULL, NULL};
    seqgen_dataset *unlabelled = NULL;
    assert_ok(seqgen_dataset_from_memory(&unlabelled, &seqs, SEQGEN_BORROW));
    seqgen_eval_results r2;
    assert_int_equal(seqgen_evaluate_dataset(m, unlabelled, train_set, &o, &r2), SEQGEN_EINVAL);
    if (!strstr(seqgen_last_error(), "needs labels, but the test set has none"))
        fail_msg("%s", seqgen_last_error());
    o.metrics = SEQGEN_EVAL_LOSS | SEQGEN_EVAL_COMPLETION;
    assert_ok(seqgen_evaluate_dataset(m, unlabelled, NULL, &o, &r2));
    assert_true(isnan(r2.label_kept));
    assert_int_equal(r2.given, 392); /* half: 98 of the 196 steps of 4 */
    seqgen_dataset_free(unlabelled);
    seqgen_model_free(m);
    seqgen_model_free(m5);
}

/* Each allocation of an evaluation (the library's, in this thread) made to fail in turn: the call
 * returns ENOMEM and leaves the results as they were (leaks show under valgrind and ASan); once
 * no allocation is left to fail, it succeeds with the numbers of an undisturbed run. */
static void allocation_failures_are_reported(void **state)
{
    (void)state;
    seqgen_dataset *train = NULL;
    assert_ok(seqgen_dataset_open_dir(&train, "data/mnist10k", SEQGEN_SPLIT_TRAIN));
    assert_ok(seqgen_dataset_limit(train, 200));
    seqgen_model *m = tu_make_model(1, 8, 1, 2, 2);
    seqgen_eval_options o = seqgen_eval_options_default();
    o.limit = 5;
    seqgen_eval_results expected, r;
    int failures = 0;
    for (long n = 0;; n++) {
        memset(&r, 0x5a, sizeof r);
        seqgen_eval_results before = r;
        sg_alloc_fail_after(n);
        int status = seqgen_evaluate_dataset(m, test_set, train, &o, &r);
        int pending = sg_alloc_fail_pending();
        sg_alloc_fail_after(-1);
        if (pending) {
            assert_ok(status);
            break;
        }
        assert_int_equal(status, SEQGEN_ENOMEM);
        assert_memory_equal(&r, &before, sizeof r);
        failures++;
    }
    assert_true(failures >= 3);
    memset(&expected, 0x5a, sizeof expected); /* same padding bytes as r */
    assert_ok(seqgen_evaluate_dataset(m, test_set, train, &o, &expected));
    assert_memory_equal(&r, &expected, sizeof r);
    seqgen_model_free(m);
    seqgen_dataset_free(train);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(closed_form_for_constant_models),
        cmocka_unit_test(label_kept_matches_direct_search),
        cmocka_unit_test(loss_matches_the_model_and_ignores_batching),
        cmocka_unit_test(evaluation_does_not_perturb_training),
        cmocka_unit_test(sampled_evaluation_is_reproducible),
        cmocka_unit_test(bad_arguments_are_rejected),
        cmocka_unit_test(allocation_failures_are_reported),
    };
    return cmocka_run_group_tests_name("evaluate", tests, load_sets, free_sets);
}
