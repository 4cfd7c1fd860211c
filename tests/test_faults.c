/* Fault injection: every allocation the library makes can fail (src/alloc.h's test hook) and
 * every I/O failure we can provoke (unreadable files, an unwritable directory, a full disk)
 * must give an error status with a detail, leave the caller's handles and files as they were
 * and leak nothing (checked by `make check-asan` and `make check-valgrind`). Short reads are
 * covered by the truncation tests of test_idx and test_checkpoint. */
#define _GNU_SOURCE /* setgroups(), unshare() and mount() */
#include <dirent.h>
#include <grp.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "idx_fixture.h"
#include "model.h"
#include "optim.h"
#include "seqgen.h"
#include "testutil.h"

#define IMAGES 12
#define SIDE 4
#define PIXELS (SIDE * SIDE)
#define SKIPPED TU_SKIPPED /* a child's exit code: the test could not run here */

/* Everything the calls under test need, made once per group. */
typedef struct fixture {
    char dir[64];
    char images[256], labels[256], images_gz[256], model_ckpt[256], train_ckpt[256];
    seqgen_dataset *ds;
    seqgen_model *model;
    seqgen_model *symbols; /* a categorical model (V = 5, a start step) */
    seqgen_optim *optim;
    seqgen_sched *sched;
    seqgen_batch_iter *iter;
    seqgen_run_config run; /* the iterator's run, saved with the training state */
    float sequences[IMAGES * PIXELS];
    unsigned char *model_bytes; /* the model checkpoint as first saved */
    size_t model_size;
    /* per case: made by a setup, checked and freed by the case's `after` */
    seqgen_dataset *fresh_ds;
    seqgen_model *fresh_model;
    void *out;
    seqgen_train_state train;
} fixture;

static fixture fx;

static seqgen_model *new_model(int threads)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.hidden = 8;
    cfg.layers = 2;
    cfg.threads = threads;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    return m;
}

static int setup_group(void **state)
{
    (void)state;
    snprintf(fx.dir, sizeof fx.dir, "%s", tu_tempdir()); /* tu_tempdir's buffer is reused */
    assert_int_equal(chmod(fx.dir, 0755), 0); /* the unprivileged child must reach its files */
    uint8_t pixels[IMAGES * PIXELS], labels[IMAGES];
    for (int i = 0; i < IMAGES * PIXELS; i++)
        pixels[i] = (uint8_t)(i * 37 % 256);
    for (int i = 0; i < IMAGES; i++)
        labels[i] = (uint8_t)(i % 10);
    write_mnist_pair(fx.dir, "train", IMAGES, SIDE, SIDE, pixels, labels, 0, 0);
    write_mnist_pair(fx.dir, "t10k", IMAGES, SIDE, SIDE, pixels, labels, 1, 0);
    snprintf(fx.images, sizeof fx.images, "%s/train-images-idx3-ubyte", fx.dir);
    snprintf(fx.labels, sizeof fx.labels, "%s/train-labels-idx1-ubyte", fx.dir);
    snprintf(fx.images_gz, sizeof fx.images_gz, "%s/t10k-images-idx3-ubyte.gz", fx.dir);
    snprintf(fx.model_ckpt, sizeof fx.model_ckpt, "%s/model.ckpt", fx.dir);
    snprintf(fx.train_ckpt, sizeof fx.train_ckpt, "%s/train.ckpt", fx.dir);

    assert_ok(seqgen_dataset_open(&fx.ds, fx.images, fx.labels));
    seqgen_batch_config bcfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    bcfg.batch_size = 4;
    assert_ok(seqgen_batch_iter_create(&fx.iter, fx.ds, &bcfg));
    fx.run = seqgen_run_config_default();
    fx.run.batches = bcfg;
    fx.run.train_sequences = seqgen_dataset_count(fx.ds);
    size_t all[IMAGES];
    for (size_t i = 0; i < IMAGES; i++)
        all[i] = i;
    assert_ok(seqgen_dataset_sequences(fx.ds, all, IMAGES, NULL, 0, fx.sequences));
    fx.model = new_model(2);
    seqgen_model_config scfg_symbols = seqgen_model_config_default();
    scfg_symbols.vocab = 5, scfg_symbols.embedding = 3, scfg_symbols.hidden = 8;
    scfg_symbols.start_step = 1, scfg_symbols.threads = 2;
    assert_ok(seqgen_model_create(&fx.symbols, &scfg_symbols));
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    assert_ok(seqgen_optim_create(&fx.optim, fx.model, &ocfg));
    seqgen_sched_config scfg = seqgen_sched_config_default(SEQGEN_SCHED_LINEAR);
    assert_ok(seqgen_sched_create(&fx.sched, &scfg));

    assert_ok(seqgen_checkpoint_save(fx.model_ckpt, fx.model, NULL));
    fx.model_bytes = tu_read_file(fx.model_ckpt, &fx.model_size);
    seqgen_train_state train = {fx.optim, fx.sched, fx.iter, 0, 0, fx.run, NULL, NULL};
    assert_ok(seqgen_checkpoint_save(fx.train_ckpt, fx.model, &train));
    return 0;
}

static int teardown_group(void **state)
{
    (void)state;
    seqgen_batch_iter_free(fx.iter);
    seqgen_dataset_free(fx.ds);
    seqgen_optim_free(fx.optim);
    seqgen_sched_free(fx.sched);
    seqgen_model_free(fx.model);
    seqgen_model_free(fx.symbols);
    free(fx.model_bytes);
    tu_rmtree(fx.dir);
    return 0;
}

/* ---- Allocation failures --------------------------------------------------------------------- */

/* One call under test. `setup` (optional) makes what the call needs outside the hook; `after`
 * checks the outcome (on failure: the outputs untouched, the handles still usable) and frees. */
typedef struct fault_case {
    const char *name;
    void (*setup)(void);
    int (*call)(void);
    void (*after)(int status);
} fault_case;

static void no_setup(void) {}

/* Dataset */
static int open_plain(void) { return seqgen_dataset_open((seqgen_dataset **)&fx.out, fx.images, fx.labels); }
static int open_gzip(void) { return seqgen_dataset_open((seqgen_dataset **)&fx.out, fx.images_gz, fx.labels); }
static int open_dir(void) { return seqgen_dataset_open_dir((seqgen_dataset **)&fx.out, fx.dir, SEQGEN_SPLIT_TEST); }
static void after_dataset(int status)
{
    if (status != SEQGEN_OK)
        assert_null(fx.out);
    else
        assert_int_equal(seqgen_dataset_count(fx.out), IMAGES);
    seqgen_dataset_free(fx.out);
    fx.out = NULL;
}

static int iter_create(void)
{
    seqgen_batch_config cfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    cfg.batch_size = 5;
    return seqgen_batch_iter_create((seqgen_batch_iter **)&fx.out, fx.ds, &cfg);
}
static void after_iter(int status)
{
    if (status != SEQGEN_OK) {
        assert_null(fx.out);
        return;
    }
    const float *x;
    size_t n;
    assert_ok(seqgen_batch_iter_next(fx.out, &x, &n));
    seqgen_batch_iter_free(fx.out);
    fx.out = NULL;
}

/* The nearest-neighbour index is built on first use: a new dataset each time. */
static void fresh_dataset(void) { assert_ok(seqgen_dataset_open(&fx.fresh_ds, fx.images, fx.labels)); }
static int nearest(void)
{
    size_t found[IMAGES];
    int status = seqgen_dataset_nearest(fx.fresh_ds, fx.sequences, IMAGES, found, NULL);
    for (size_t i = 0; status == SEQGEN_OK && i < IMAGES; i++)
        assert_true(found[i] <= i); /* the image itself, or an identical earlier one */
    return status;
}
static void after_nearest(int status)
{
    if (status != SEQGEN_OK) /* a later search still works */
        assert_int_equal(nearest(), SEQGEN_OK);
    seqgen_dataset_free(fx.fresh_ds);
    fx.fresh_ds = NULL;
}

/* Model and training */
static int model_create(void)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.hidden = 4;
    cfg.layers = 3;
    return seqgen_model_create((seqgen_model **)&fx.out, &cfg);
}
static void after_model(int status)
{
    if (status != SEQGEN_OK)
        assert_null(fx.out);
    seqgen_model_free(fx.out);
    fx.out = NULL;
}

static int state_create(void) { return seqgen_model_state_create((seqgen_model_state **)&fx.out, fx.model, 3); }
static void after_state(int status)
{
    if (status != SEQGEN_OK)
        assert_null(fx.out);
    seqgen_model_state_free(fx.out);
    fx.out = NULL;
}

/* A training pass allocates its workspace on first use, per thread count: a new model each time. */
static void fresh_model(void) { fx.fresh_model = new_model(2); }
static int train_pass(void)
{
    seqgen_train_options opts = seqgen_train_options_default();
    opts.teacher_prob = 0.5; /* scheduled sampling: its coins and uniforms are allocated too */
    return seqgen_model_forward_backward(fx.fresh_model,
                                         TU_SEQUENCES(fx.fresh_model, fx.sequences, IMAGES, PIXELS),
                                         &opts, NULL, NULL);
}
static int evaluate(void)
{
    return seqgen_model_evaluate(fx.fresh_model,
                                 &(seqgen_batch){fx.sequences, fx.sequences + 1, 0, IMAGES, PIXELS - 1, 0, NULL},
                                 SEQGEN_LOSS_BCE, NULL, NULL);
}
static void after_fresh_model(int status)
{
    if (status != SEQGEN_OK) /* the model is still usable */
        assert_ok(train_pass());
    seqgen_model_free(fx.fresh_model);
    fx.fresh_model = NULL;
}

static int complete(void)
{
    seqgen_complete_options opts = seqgen_complete_options_default();
    opts.decode = SEQGEN_DECODE_SAMPLE;
    float *completed = malloc(sizeof fx.sequences);
    assert_non_null(completed);
    int status = seqgen_complete(fx.model, fx.sequences, IMAGES, PIXELS, NULL, PIXELS / 2, &opts,
                                 completed, NULL);
    free(completed);
    return status;
}

/* 70 sequences (two blocks, two threads) sampled with top-k and top-p: nothing is written when
 * an allocation fails. */
static int generate(void)
{
    enum { N = 70, T = 6 };
    seqgen_generate_options opts = seqgen_generate_options_default();
    opts.decode = SEQGEN_DECODE_SAMPLE, opts.top_k = 3, opts.top_p = 0.9, opts.end_symbol = 4;
    int32_t *out = malloc(N * T * sizeof *out);
    assert_non_null(out);
    for (size_t i = 0; i < N * T; i++)
        out[i] = 77;
    int status = seqgen_generate(fx.symbols, NULL, NULL, N, T, &opts, out, NULL, NULL);
    for (size_t i = 0; status != SEQGEN_OK && i < N * T; i++)
        assert_int_equal(out[i], 77);
    free(out);
    return status;
}

static int optim_create(void)
{
    seqgen_optim_config cfg = seqgen_optim_config_default(SEQGEN_OPTIM_SGD);
    return seqgen_optim_create((seqgen_optim **)&fx.out, fx.model, &cfg);
}
static void after_optim(int status)
{
    if (status != SEQGEN_OK)
        assert_null(fx.out);
    seqgen_optim_free(fx.out);
    fx.out = NULL;
}

static int optim_step(void) { return seqgen_optim_step(fx.optim, fx.model); }
static void after_nothing(int status) { (void)status; }

static int sched_create(void)
{
    seqgen_sched_config cfg = seqgen_sched_config_default(SEQGEN_SCHED_EXPONENTIAL);
    return seqgen_sched_create((seqgen_sched **)&fx.out, &cfg);
}
static void after_sched(int status)
{
    if (status != SEQGEN_OK)
        assert_null(fx.out);
    seqgen_sched_free(fx.out);
    fx.out = NULL;
}

/* Checkpoints: a failed save leaves the old file; a failed load leaves the handles. */
static int save_model(void) { return seqgen_checkpoint_save(fx.model_ckpt, fx.model, NULL); }
static void after_save_model(int status)
{
    (void)status;
    tu_assert_file_is(fx.model_ckpt, fx.model_bytes, fx.model_size); /* the same model either way */
}

static int save_training(void)
{
    seqgen_train_state train = {fx.optim, fx.sched, fx.iter, 3, 4, fx.run, NULL, NULL};
    return seqgen_checkpoint_save(fx.train_ckpt, fx.model, &train);
}

static int load_model(void) { return seqgen_checkpoint_load_model((seqgen_model **)&fx.out, fx.model_ckpt); }

static int load_training(void)
{
    fx.train = (seqgen_train_state){NULL, NULL, NULL, 0, 0, seqgen_run_config_default(), NULL, NULL};
    return seqgen_checkpoint_load_training(fx.train_ckpt, (seqgen_model **)&fx.out, &fx.train);
}
static void after_load_training(int status)
{
    if (status != SEQGEN_OK)
        assert_true(!fx.out && !fx.train.optim && !fx.train.sched && fx.train.iteration == 0);
    seqgen_model_free(fx.out);
    seqgen_optim_free(fx.train.optim);
    seqgen_sched_free(fx.train.sched);
    fx.out = NULL;
}

static int inspect(void)
{
    seqgen_checkpoint_info info;
    return seqgen_checkpoint_inspect(fx.train_ckpt, &info);
}

static const fault_case fault_cases[] = {
    {"seqgen_dataset_open (plain)", no_setup, open_plain, after_dataset},
    {"seqgen_dataset_open (gzip)", no_setup, open_gzip, after_dataset},
    {"seqgen_dataset_open_dir", no_setup, open_dir, after_dataset},
    {"seqgen_batch_iter_create", no_setup, iter_create, after_iter},
    {"seqgen_dataset_nearest", fresh_dataset, nearest, after_nearest},
    {"seqgen_model_create", no_setup, model_create, after_model},
    {"seqgen_model_state_create", no_setup, state_create, after_state},
    {"seqgen_model_train_sequences", fresh_model, train_pass, after_fresh_model},
    {"seqgen_model_evaluate", fresh_model, evaluate, after_fresh_model},
    {"seqgen_complete", no_setup, complete, after_nothing},
    {"seqgen_generate", no_setup, generate, after_nothing},
    {"seqgen_optim_create", no_setup, optim_create, after_optim},
    {"seqgen_sched_create", no_setup, sched_create, after_sched},
    {"seqgen_checkpoint_save (model)", no_setup, save_model, after_save_model},
    {"seqgen_checkpoint_save (training)", no_setup, save_training, after_nothing},
    {"seqgen_checkpoint_load_model", no_setup, load_model, after_model},
    {"seqgen_checkpoint_load_training", no_setup, load_training, after_load_training},
    {"seqgen_checkpoint_inspect", no_setup, inspect, after_nothing},
    {"seqgen_optim_step", no_setup, optim_step, after_nothing},
};

/* Fails allocation n = 0, 1, ... of the call until it makes fewer than n + 1 allocations: each
 * failure must be ENOMEM with a detail; the last run must succeed. Returns how many were
 * injected. */
static long sweep(const fault_case *c)
{
    for (long n = 0;; n++) {
        c->setup();
        sg_alloc_fail_after(n);
        int status = c->call();
        int reached = !sg_alloc_fail_pending();
        sg_alloc_fail_after(-1);
        if (!reached) {
            if (status != SEQGEN_OK)
                fail_msg("%s: %s without an injected failure: %s", c->name, seqgen_strerror(status),
                         seqgen_last_error());
            c->after(status);
            return n;
        }
        if (status != SEQGEN_ENOMEM)
            fail_msg("%s: allocation %ld failed but the call returned %d (%s)", c->name, n, status,
                     seqgen_last_error());
        assert_true(seqgen_last_error()[0] != '\0');
        c->after(status);
    }
}

static void every_allocation_failure_is_enomem(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof fault_cases / sizeof fault_cases[0]; i++) {
        long injected = sweep(&fault_cases[i]);
        print_message("    %-36s %ld allocation failures injected\n", fault_cases[i].name, injected);
    }
}

/* ---- I/O failures ---------------------------------------------------------------------------- */

static int failed_with(int status, int expected, const char *text)
{
    fprintf(stderr, "    %s: %s\n", seqgen_strerror(status), seqgen_last_error());
    return status == expected && strstr(seqgen_last_error(), text) != NULL;
}

/* Files exist but cannot be read: EIO naming the file, nothing created. */
static int unreadable_child(void)
{
    seqgen_dataset *ds = NULL;
    seqgen_model *m = NULL;
    seqgen_checkpoint_info info;
    if (!failed_with(seqgen_dataset_open(&ds, fx.images, fx.labels), SEQGEN_EIO, fx.images) || ds)
        return 1;
    if (!failed_with(seqgen_checkpoint_load_model(&m, fx.model_ckpt), SEQGEN_EIO, "model.ckpt") || m)
        return 2;
    if (!failed_with(seqgen_checkpoint_inspect(fx.model_ckpt, &info), SEQGEN_EIO, "model.ckpt"))
        return 3;
    return 0;
}

static void unreadable_files_give_eio(void **state)
{
    (void)state;
    assert_int_equal(chmod(fx.images, 0), 0);
    assert_int_equal(chmod(fx.model_ckpt, 0), 0);
    int code = tu_run_unprivileged(unreadable_child);
    assert_int_equal(chmod(fx.images, 0644), 0);
    assert_int_equal(chmod(fx.model_ckpt, 0644), 0);
    if (code == SKIPPED) {
        print_message("    skipped: running as root and cannot switch to an unprivileged user\n");
        skip();
    }
    assert_int_equal(code, 0);
}

/* The directory is not writable: saving fails with EIO and the old file stays as it was. */
static int unwritable_child(void)
{
    int status = seqgen_checkpoint_save(fx.model_ckpt, fx.model, NULL);
    if (!failed_with(status, SEQGEN_EIO, "Permission denied"))
        return 1;
    size_t size;
    unsigned char *now = tu_read_file(fx.model_ckpt, &size);
    int intact = size == fx.model_size && memcmp(now, fx.model_bytes, size) == 0;
    free(now);
    return intact ? 0 : 3;
}

static void unwritable_directory_keeps_old_files(void **state)
{
    (void)state;
    assert_int_equal(chmod(fx.dir, 0555), 0);
    int code = tu_run_unprivileged(unwritable_child);
    assert_int_equal(chmod(fx.dir, 0755), 0);
    if (code == SKIPPED) {
        print_message("    skipped: running as root and cannot switch to an unprivileged user\n");
        skip();
    }
    assert_int_equal(code, 0);
}

static int count_entries(const char *dir)
{
    char command[512];
    snprintf(command, sizeof command, "ls -A '%s' | wc -l", dir);
    FILE *p = popen(command, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1)
            n = -1;
        pclose(p);
    }
    return n;
}

/* In its own mount namespace, a 48 KiB tmpfs holds a small checkpoint; a training checkpoint
 * does not fit: EIO "No space left on device", the old file intact, no temporary file left. */
static int full_disk_child(const char *dir)
{
    if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", dir, "tmpfs", 0, "size=48k") != 0)
        return SKIPPED;
    char ckpt[300];
    snprintf(ckpt, sizeof ckpt, "%s/keep.ckpt", dir);
    seqgen_model *big = NULL;
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.hidden = 48; /* ~30 K parameters: 120 KB of tensors, 360 KB with Adam's moments */
    seqgen_optim *optim = NULL;
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    if (seqgen_checkpoint_save(ckpt, fx.model, NULL) != SEQGEN_OK ||
        seqgen_model_create(&big, &cfg) != SEQGEN_OK || seqgen_optim_create(&optim, big, &ocfg) != SEQGEN_OK)
        return 1;
    size_t ckpt_size;
    unsigned char *ckpt_bytes = tu_read_file(ckpt, &ckpt_size);
    seqgen_train_state train = {optim, NULL, NULL, 1, 1, seqgen_run_config_default(), NULL, NULL};
    int code = 0;
    if (!failed_with(seqgen_checkpoint_save(ckpt, big, &train), SEQGEN_EIO, "No space left on device"))
        code = 2;
    size_t size;
    unsigned char *now = tu_read_file(ckpt, &size);
    if (!code && (size != ckpt_size || memcmp(now, ckpt_bytes, size) != 0))
        code = 4;
    free(now);
    if (!code && count_entries(dir) != 1)
        code = 6;
    free(ckpt_bytes);
    seqgen_optim_free(optim);
    seqgen_model_free(big);
    return umount(dir) == 0 ? code : code ? code : 7;
}

static void full_disk_keeps_old_files(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(full_disk_child(dir));
    int wstatus;
    assert_int_equal(waitpid(pid, &wstatus, 0), pid);
    tu_rmtree(dir);
    assert_true(WIFEXITED(wstatus));
    if (WEXITSTATUS(wstatus) == SKIPPED) {
        print_message("    skipped: no privilege to mount a small tmpfs\n");
        skip();
    }
    assert_int_equal(WEXITSTATUS(wstatus), 0);
}

/* A save killed in the middle (here by the file-size limit's SIGXFSZ) leaves its temporary file,
 * named as src/atomic_file.h promises: TARGET.tmp- and 8 lowercase hex digits. seqgen-train
 * removes exactly such names of model.ckpt when it holds its run's lock (examples/cli.c
 * cli_remove_stale_temporaries), so the name is a contract. */
static void killed_save_leaves_a_temporary_of_the_documented_name(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    char ckpt[300];
    snprintf(ckpt, sizeof ckpt, "%s/killed.ckpt", dir);
    seqgen_model *big = NULL;
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.hidden = 48; /* 120 KB of tensors */
    assert_ok(seqgen_model_create(&big, &cfg));
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit limit = {4096, 4096};
        signal(SIGXFSZ, SIG_DFL);
        if (setrlimit(RLIMIT_FSIZE, &limit) != 0)
            _exit(1);
        (void)!seqgen_checkpoint_save(ckpt, big, NULL); /* killed on the way */
        _exit(2);
    }
    int wstatus;
    assert_int_equal(waitpid(pid, &wstatus, 0), pid);
    seqgen_model_free(big);
    assert_true(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGXFSZ);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int entries = 0, named = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        entries++;
        const char *suffix = e->d_name + strlen("killed.ckpt.tmp-");
        named += strncmp(e->d_name, "killed.ckpt.tmp-", strlen("killed.ckpt.tmp-")) == 0 &&
                 strlen(suffix) == 8 && strspn(suffix, "0123456789abcdef") == 8;
    }
    closedir(d);
    tu_rmtree(dir);
    assert_int_equal(entries, 1);
    assert_int_equal(named, 1);
}

/* ---- Numerical faults ------------------------------------------------------------------------ */

static float *copy_params(const seqgen_model *m)
{
    size_t n = seqgen_model_param_count(m);
    float *copy = malloc(n * sizeof *copy);
    assert_non_null(copy);
    memcpy(copy, sg_model_params_const(m), n * sizeof *copy);
    return copy;
}

static void assert_params_are(const seqgen_model *m, const float *expected)
{
    assert_memory_equal(sg_model_params_const(m), expected, seqgen_model_param_count(m) * sizeof(float));
}

static void assert_all_finite(const seqgen_model *m)
{
    const float *w = sg_model_params_const(m);
    for (size_t i = 0; i < seqgen_model_param_count(m); i++)
        assert_true(isfinite(w[i]));
}

/* One pass over the fixture's digits. */
static void train_pass_on(seqgen_model *m)
{
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = SEQGEN_LOSS_BCE;
    assert_ok(seqgen_model_forward_backward(m, TU_SEQUENCES(m, fx.sequences, IMAGES, PIXELS), &opts,
                                            NULL, NULL));
}

/* A learning rate so large that the update overflows float: the step is refused with ENUMERIC
 * and changes nothing, so that after lowering the rate the same step gives exactly what a twin
 * optimiser that never saw the huge rate gives. */
static void huge_learning_rate_changes_nothing(void **state)
{
    (void)state;
    const seqgen_optim_kind kinds[2] = {SEQGEN_OPTIM_SGD, SEQGEN_OPTIM_ADAM};
    const double huge[2] = {1e300, 1e39}; /* beyond float's range */
    for (int k = 0; k < 2; k++) {
        seqgen_model *a = new_model(1), *b = new_model(1);
        seqgen_optim_config cfg = seqgen_optim_config_default(kinds[k]);
        cfg.momentum = kinds[k] == SEQGEN_OPTIM_SGD ? 0.9 : 0.0;
        seqgen_optim *oa = NULL, *ob = NULL;
        assert_ok(seqgen_optim_create(&oa, a, &cfg));
        assert_ok(seqgen_optim_create(&ob, b, &cfg));
        train_pass_on(a);
        train_pass_on(b);
        float *before = copy_params(a);
        assert_ok(seqgen_optim_set_lr(oa, huge[k]));
        int status = seqgen_optim_step(oa, a);
        assert_int_equal(status, SEQGEN_ENUMERIC);
        print_message("    %s, lr %g: %s\n", k ? "Adam" : "SGD", huge[k], seqgen_last_error());
        assert_params_are(a, before);
        assert_int_equal(seqgen_optim_step_count(oa), 0);
        assert_ok(seqgen_optim_set_lr(oa, cfg.lr));
        assert_ok(seqgen_optim_step(oa, a));
        assert_ok(seqgen_optim_step(ob, b));
        assert_params_are(a, sg_model_params_const(b));
        free(before);
        seqgen_optim_free(oa);
        seqgen_optim_free(ob);
        seqgen_model_free(a);
        seqgen_model_free(b);
    }
}

/* Output weights of 1e30: training on must either go on with finite values or stop with
 * ENUMERIC, and a refused call leaves the parameters as they were before it. */
static void huge_weights_never_make_parameters_non_finite(void **state)
{
    (void)state;
    seqgen_model *m = new_model(1);
    seqgen_optim *opt = NULL;
    seqgen_optim_config cfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    assert_ok(seqgen_optim_create(&opt, m, &cfg));
    float weights[8];
    for (int i = 0; i < 8; i++)
        weights[i] = i % 2 ? 1e30f : -1e30f;
    assert_ok(seqgen_model_set_tensor(m, "out.weight", weights, 8));
    int refused = 0;
    for (int step = 0; step < 4; step++) {
        float *before = copy_params(m);
        seqgen_train_options opts = seqgen_train_options_default();
        opts.loss = SEQGEN_LOSS_BCE;
        int status = seqgen_model_forward_backward(m, TU_SEQUENCES(m, fx.sequences, IMAGES, PIXELS),
                                                   &opts, NULL, NULL);
        if (status == SEQGEN_OK)
            status = seqgen_optim_step(opt, m);
        if (status != SEQGEN_OK) {
            assert_int_equal(status, SEQGEN_ENUMERIC);
            assert_true(seqgen_last_error()[0] != '\0');
            assert_params_are(m, before);
            refused++;
        }
        assert_all_finite(m);
        free(before);
    }
    print_message("    %d of 4 steps refused: %s\n", refused, refused ? seqgen_last_error() : "");
    assert_true(refused > 0); /* Adam's second moment overflows: (1e30 gradients)^2 */
    seqgen_optim_free(opt);
    seqgen_model_free(m);
}

/* NaN in a model or in the optimiser's moments (only reachable by writing the internal buffers)
 * is never saved over a good checkpoint. */
static void non_finite_state_is_not_saved(void **state)
{
    (void)state;
    seqgen_model *m = new_model(1);
    seqgen_optim *opt = NULL;
    seqgen_optim_config cfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    assert_ok(seqgen_optim_create(&opt, m, &cfg));
    char path[300];
    snprintf(path, sizeof path, "%s/finite.ckpt", fx.dir);
    seqgen_train_state train = {opt, NULL, NULL, 0, 0, seqgen_run_config_default(), NULL, NULL};
    assert_ok(seqgen_checkpoint_save(path, m, &train));
    size_t size;
    unsigned char *good = tu_read_file(path, &size);

    float *w = sg_model_params_for_write(m);
    w[5] = NAN;
    assert_int_equal(seqgen_checkpoint_save(path, m, NULL), SEQGEN_ENUMERIC);
    assert_non_null(strstr(seqgen_last_error(), "model parameter 5"));
    w[5] = INFINITY;
    assert_int_equal(seqgen_checkpoint_save(path, m, &train), SEQGEN_ENUMERIC);
    w[5] = 0.0f;
    sg_optim_state bad;
    sg_optim_get_state(opt, &bad);
    float *second = calloc(bad.size, sizeof *second);
    assert_non_null(second);
    second[3] = NAN;
    bad.moment2 = second;
    assert_ok(sg_optim_restore(opt, &bad)); /* restoring copies the values as given */
    free(second);
    assert_int_equal(seqgen_checkpoint_save(path, m, &train), SEQGEN_ENUMERIC);
    assert_non_null(strstr(seqgen_last_error(), "optimiser second moment 3"));
    tu_assert_file_is(path, good, size);
    assert_ok(seqgen_checkpoint_save(path, m, NULL)); /* the moments are not in a model checkpoint */
    free(good);
    remove(path);
    seqgen_optim_free(opt);
    seqgen_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_allocation_failure_is_enomem),
        cmocka_unit_test(unreadable_files_give_eio),
        cmocka_unit_test(unwritable_directory_keeps_old_files),
        cmocka_unit_test(full_disk_keeps_old_files),
        cmocka_unit_test(killed_save_leaves_a_temporary_of_the_documented_name),
        cmocka_unit_test(huge_learning_rate_changes_nothing),
        cmocka_unit_test(huge_weights_never_make_parameters_non_finite),
        cmocka_unit_test(non_finite_state_is_not_saved),
    };
    return cmocka_run_group_tests_name("faults", tests, setup_group, teardown_group);
}
