/* Concurrency: several threads each using their own handles (dataset, iterator, model, optimiser,
 * schedule, checkpoints, completion) at the same time must get exactly what one thread
 * alone gets; the handles the header says may be shared (a dataset read by several iterators, a
 * model read by several generation states and completions) are shared; error details and the
 * allocation-failure hook are per thread. Run under ThreadSanitizer by `make check-tsan`. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "model.h"
#include "seqgen.h"
#include "testutil.h"

#define THREADS 4
#define STEPS 3
#define DIGITS "data/mnist10k"

static char dir[64];
static seqgen_dataset *shared_ds; /* the bundled training digits, read by every thread */

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s", tu_tempdir());
    assert_ok(seqgen_dataset_open_dir(&shared_ds, DIGITS, SEQGEN_SPLIT_TEST));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    seqgen_dataset_free(shared_ds);
    tu_rmtree(dir);
    return 0;
}

/* What one thread's run produced, to compare with the single-threaded run. */
typedef struct outcome {
    int id;
    int failed_line; /* 0, or the line of the first check that failed */
    float out_bias[4];
    double loss;
    uint64_t iteration;
    float completed[2 * 196];
} outcome;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond) && !o->failed_line) {                                                          \
            o->failed_line = __LINE__;                                                             \
            fprintf(stderr, "thread %d: line %d: %s (%s)\n", o->id, __LINE__, #cond,              \
                    seqgen_last_error());                                                          \
        }                                                                                          \
    } while (0)

/* A whole training run on private handles: own dataset (opened from the files), own iterator,
 * model, optimiser and schedule; a training checkpoint saved, inspected and resumed; a completion
 * and an animation. Every thread runs the same configuration, so all must agree bitwise. */
static void private_run(outcome *o)
{
    seqgen_dataset *ds = NULL;
    CHECK(seqgen_dataset_open_dir(&ds, DIGITS, SEQGEN_SPLIT_TEST) == SEQGEN_OK);
    CHECK(ds && seqgen_dataset_limit(ds, 64) == SEQGEN_OK);
    seqgen_batch_config bcfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    bcfg.batch_size = 16, bcfg.units_per_step = 4, bcfg.seed = 7;
    seqgen_model_config mcfg = seqgen_model_config_default();
    mcfg.units_per_step = 4, mcfg.hidden = 16, mcfg.threads = 2, mcfg.seed = 11;
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    seqgen_sched_config scfg = seqgen_sched_config_default(SEQGEN_SCHED_LINEAR);
    scfg.c = 0.1;
    seqgen_model *m = NULL;
    seqgen_train_state t = {NULL, NULL, NULL, 0, 0, seqgen_run_config_default(), NULL, NULL};
    t.run.batches = bcfg;
    t.run.train_sequences = 64;
    CHECK(seqgen_batch_iter_create(&t.batches, ds, &bcfg) == SEQGEN_OK);
    CHECK(seqgen_model_create(&m, &mcfg) == SEQGEN_OK);
    CHECK(seqgen_optim_create(&t.optim, m, &ocfg) == SEQGEN_OK);
    CHECK(seqgen_sched_create(&t.sched, &scfg) == SEQGEN_OK);
    if (o->failed_line)
        goto done;
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = SEQGEN_LOSS_BCE;
    size_t T = seqgen_batch_iter_steps(t.batches);
    for (int step = 0; step < STEPS; step++) {
        const float *x;
        size_t n;
        seqgen_train_stats stats;
        CHECK(seqgen_batch_iter_next(t.batches, &x, &n) == SEQGEN_OK);
        opts.teacher_prob = seqgen_sched_p(t.sched, t.iteration, t.epoch);
        CHECK(seqgen_model_forward_backward(m, TU_SEQUENCES(m, x, (int)n, (int)T), &opts, NULL,
                                            &stats) == SEQGEN_OK);
        CHECK(seqgen_optim_step(t.optim, m) == SEQGEN_OK);
        t.iteration++;
        o->loss = stats.loss;
    }

    char path[128];
    snprintf(path, sizeof path, "%s/run%d.ckpt", dir, o->id);
    CHECK(seqgen_checkpoint_save(path, m, &t) == SEQGEN_OK);
    seqgen_checkpoint_info info;
    CHECK(seqgen_checkpoint_inspect(path, &info) == SEQGEN_OK && info.iteration == STEPS);
    seqgen_model *resumed = NULL;
    seqgen_train_state r = {NULL, NULL, NULL, 0, 0, seqgen_run_config_default(), NULL, NULL};
    CHECK(seqgen_checkpoint_load_training(path, &resumed, &r) == SEQGEN_OK);
    CHECK(resumed && seqgen_model_get_tensor(resumed, "out.bias", o->out_bias, 4) == SEQGEN_OK);
    o->iteration = r.iteration;

    /* Complete two test digits from their first quarter. */
    size_t two[2] = {0, 1};
    float digits[2 * 784];
    CHECK(seqgen_dataset_sequences(ds, two, 2, NULL, 0, digits) == SEQGEN_OK);
    float completed[2 * 784];
    CHECK(seqgen_complete(m, digits, 2, 784 / 4, NULL, 196, NULL, completed, NULL) == SEQGEN_OK);
    memcpy(o->completed, completed + 196, sizeof o->completed);

    /* A failure's detail belongs to this thread. */
    char expected[128];
    snprintf(expected, sizeof expected, "%s/missing%d", dir, o->id);
    seqgen_model *none = NULL;
    CHECK(seqgen_checkpoint_load_model(&none, expected) == SEQGEN_ENOENT);
    CHECK(strstr(seqgen_last_error(), expected) != NULL);

    seqgen_model_free(resumed);
    seqgen_optim_free(r.optim);
    seqgen_sched_free(r.sched);
done:
    seqgen_model_free(m);
    seqgen_optim_free(t.optim);
    seqgen_sched_free(t.sched);
    seqgen_batch_iter_free(t.batches);
    seqgen_dataset_free(ds);
}

static void *private_thread(void *arg)
{
    private_run(arg);
    return NULL;
}

static void assert_same_outcome(const outcome *a, const outcome *b)
{
    assert_int_equal(a->failed_line, 0);
    assert_int_equal(b->failed_line, 0);
    assert_memory_equal(a->out_bias, b->out_bias, sizeof a->out_bias);
    assert_true(a->loss == b->loss);
    assert_int_equal(a->iteration, b->iteration);
    assert_memory_equal(a->completed, b->completed, sizeof a->completed);
}

static void separate_handles_in_parallel_match_one_thread(void **state)
{
    (void)state;
    static outcome alone, each[THREADS];
    alone.id = 99;
    private_run(&alone);
    assert_int_equal(alone.failed_line, 0);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        each[i].id = i;
        assert_int_equal(pthread_create(&threads[i], NULL, private_thread, &each[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < THREADS; i++)
        assert_same_outcome(&each[i], &alone);
}

/* ---- Handles the header allows to share ------------------------------------------------------ */

typedef struct reader {
    int id;
    const seqgen_model *model; /* shared, only read */
    uint64_t checksum;         /* of the labels and pixels an iterator over shared_ds yielded */
    float probs[16 * 4];       /* of seqgen_model_step on the thread's own state */
    float completed[4 * 784];
    int failed_line;
} reader;

/* One epoch of the shared dataset through a private iterator, the shared model stepped through
 * a private state, a completion with the shared model, and the shared model saved and loaded. */
static void *shared_reader(void *arg)
{
    reader *o = arg;
    seqgen_batch_config cfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    cfg.batch_size = 100, cfg.seed = 3;
    seqgen_batch_iter *it = NULL;
    CHECK(seqgen_batch_iter_create(&it, shared_ds, &cfg) == SEQGEN_OK);
    const float *x;
    size_t n;
    uint64_t sum = 0;
    while (it && seqgen_batch_iter_next(it, &x, &n) == SEQGEN_OK) {
        const int64_t *labels = seqgen_batch_iter_labels(it);
        for (size_t i = 0; i < n; i++) {
            sum = sum * 31 + (uint64_t)labels[i];
            for (size_t p = 0; p < 784; p += 61)
                sum = sum * 3 + (x[i * 784 + p] > 0.5f);
        }
    }
    o->checksum = sum;
    seqgen_batch_iter_free(it);

    seqgen_model_state *s = NULL;
    CHECK(seqgen_model_state_create(&s, o->model, 16) == SEQGEN_OK);
    float input[16 * 4] = {0};
    for (int step = 0; s && step < 5; step++) {
        CHECK(seqgen_model_step(o->model, s, input, NULL, o->probs) == SEQGEN_OK);
        memcpy(input, o->probs, sizeof input);
    }
    seqgen_model_state_free(s);

    size_t four[4] = {5, 6, 7, 8};
    float digits[4 * 784];
    CHECK(seqgen_dataset_sequences(shared_ds, four, 4, NULL, 0, digits) == SEQGEN_OK);
    seqgen_complete_options opts = seqgen_complete_options_default();
    opts.decode = SEQGEN_DECODE_SAMPLE, opts.seed = 5;
    CHECK(seqgen_complete(o->model, digits, 4, 784 / 4, NULL, 392, &opts, o->completed,
                          NULL) == SEQGEN_OK);

    char path[128];
    snprintf(path, sizeof path, "%s/shared%d.ckpt", dir, o->id);
    seqgen_model *copy = NULL;
    CHECK(seqgen_checkpoint_save(path, o->model, NULL) == SEQGEN_OK);
    CHECK(seqgen_checkpoint_load_model(&copy, path) == SEQGEN_OK);
    CHECK(seqgen_model_param_count(copy) == seqgen_model_param_count(o->model));
    seqgen_model_free(copy);
    return NULL;
}

static void shared_dataset_and_model_are_read_concurrently(void **state)
{
    (void)state;
    seqgen_model_config mcfg = seqgen_model_config_default();
    mcfg.units_per_step = 4, mcfg.hidden = 12, mcfg.layers = 2, mcfg.threads = 2;
    seqgen_model *model = NULL;
    assert_ok(seqgen_model_create(&model, &mcfg));
    static reader alone, each[THREADS];
    alone.model = model;
    shared_reader(&alone);
    assert_int_equal(alone.failed_line, 0);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        each[i].id = i, each[i].model = model;
        assert_int_equal(pthread_create(&threads[i], NULL, shared_reader, &each[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(each[i].failed_line, 0);
        assert_int_equal(each[i].checksum, alone.checksum);
        assert_memory_equal(each[i].probs, alone.probs, sizeof alone.probs);
        assert_memory_equal(each[i].completed, alone.completed, sizeof alone.completed);
    }
    seqgen_model_free(model);
}

/* ---- Per-thread state ------------------------------------------------------------------------- */

typedef struct injector {
    int id;
    int status;
    char detail[256];
} injector;

/* Fails this thread's first allocation only. */
static void *inject_one_failure(void *arg)
{
    injector *o = arg;
    seqgen_model *m = NULL;
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.hidden = 8 + o->id;
    sg_alloc_fail_after(0);
    o->status = seqgen_model_create(&m, &cfg);
    sg_alloc_fail_after(-1);
    snprintf(o->detail, sizeof o->detail, "%s", seqgen_last_error());
    seqgen_model_free(m);
    return NULL;
}

/* While other threads have an allocation failure injected, this one allocates normally. */
static void failure_hook_and_error_detail_are_per_thread(void **state)
{
    (void)state;
    injector each[THREADS];
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        each[i].id = i;
        assert_int_equal(pthread_create(&threads[i], NULL, inject_one_failure, &each[i]), 0);
    }
    for (int round = 0; round < 20; round++) {
        seqgen_model *m = NULL;
        seqgen_model_config cfg = seqgen_model_config_default();
        cfg.hidden = 8;
        assert_ok(seqgen_model_create(&m, &cfg));
        seqgen_model_free(m);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(each[i].status, SEQGEN_ENOMEM);
        assert_non_null(strstr(each[i].detail, "memory"));
        assert_null(strstr(seqgen_last_error(), "memory")); /* this thread's detail is its own */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(separate_handles_in_parallel_match_one_thread),
        cmocka_unit_test(shared_dataset_and_model_are_read_concurrently),
        cmocka_unit_test(failure_hook_and_error_detail_are_per_thread),
    };
    return cmocka_run_group_tests_name("threads", tests, setup, teardown);
}
