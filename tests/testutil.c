#define _GNU_SOURCE /* setgroups() */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>
#include <sys/resource.h>
#include <unistd.h>

#include "rng.h"
#include "seqgen.h"

void tu_assert_allclose(double actual, double expected, double rtol, double atol,
                        const char *what, const char *file, int line)
{
    double tolerance = atol + rtol * fabs(expected);
    if (!(fabs(actual - expected) <= tolerance)) {
        print_error("%s = %.9g, expected %.9g (|diff| %.3g > tolerance %.3g)\n", what, actual,
                    expected, fabs(actual - expected), tolerance);
        _fail(file, line);
    }
}

void tu_assert_fails_with(int status, int expected, const char *detail, const char *file,
                          int line)
{
    if (status != expected || !strstr(seqgen_last_error(), detail)) {
        print_error("got %d (%s) \"%s\", expected %d with \"%s\"\n", status,
                    seqgen_strerror(status), seqgen_last_error(), expected, detail);
        _fail(file, line);
    }
}

void tu_assert_ok(int status, const char *what, const char *file, int line)
{
    if (status != SEQGEN_OK) {
        print_error("%s returned %d (%s): %s\n", what, status, seqgen_strerror(status),
                    seqgen_last_error());
        _fail(file, line);
    }
}

const char *tu_tempdir(void)
{
    static char path[64];
    strcpy(path, "/tmp/seqgen-test-XXXXXX");
    if (!mkdtemp(path)) {
        print_error("mkdtemp failed\n");
        _fail(__FILE__, __LINE__);
    }
    return path;
}

void tu_rmtree(const char *path)
{
    char command[512];
    snprintf(command, sizeof command, "rm -rf '%s'", path);
    if (system(command) != 0)
        print_error("could not remove %s\n", path);
}

void tu_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        print_error("cannot write %s\n", path);
        _fail(__FILE__, __LINE__);
    }
}

unsigned char *tu_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    unsigned char *data = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!data || fseek(f, 0, SEEK_SET) != 0 || fread(data, 1, (size_t)n, f) != (size_t)n) {
        print_error("cannot read %s\n", path);
        _fail(__FILE__, __LINE__);
    }
    fclose(f);
    *size = (size_t)n;
    return data;
}

void tu_assert_file_is(const char *path, const unsigned char *bytes, size_t size)
{
    size_t now_size;
    unsigned char *now = tu_read_file(path, &now_size);
    assert_int_equal(now_size, size);
    assert_memory_equal(now, bytes, size);
    free(now);
}

seqgen_model *tu_make_model(int D, int H, int L, uint64_t seed, int threads)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = D, cfg.hidden = H, cfg.layers = L, cfg.seed = seed, cfg.threads = threads;
    seqgen_model *m = NULL;
    tu_assert_ok(seqgen_model_create(&m, &cfg), "seqgen_model_create", __FILE__, __LINE__);
    return m;
}

int tu_run_unprivileged(int (*child)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int dropped = geteuid() != 0 ||
                      (setgroups(0, NULL) == 0 && setgid(65534) == 0 && setuid(65534) == 0);
        _exit(!dropped ? TU_SKIPPED : geteuid() == 0 ? TU_SKIPPED : child());
    }
    int wstatus;
    assert_int_equal(waitpid(pid, &wstatus, 0), pid);
    assert_true(WIFEXITED(wstatus));
    return WEXITSTATUS(wstatus);
}

float *tu_random_bits(size_t n, uint64_t seed)
{
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    sg_rng rng;
    sg_rng_seed(&rng, seed, 3);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(sg_rng_u32(&rng) & 1);
    return x;
}

void tu_zero_parameters(seqgen_model *m)
{
    float *zeros = calloc(seqgen_model_param_count(m), sizeof *zeros);
    assert_non_null(zeros);
    for (int i = 0; i < seqgen_model_tensor_count(m); i++) {
        const char *name;
        int rows, cols;
        assert_ok(seqgen_model_tensor_info(m, i, &name, &rows, &cols));
        assert_ok(seqgen_model_set_tensor(m, name, zeros, (size_t)rows * cols));
    }
    free(zeros);
}

int64_t tu_label(const seqgen_dataset *ds, size_t index)
{
    int64_t label = 0;
    tu_assert_ok(seqgen_dataset_label(ds, index, &label), "seqgen_dataset_label", __FILE__,
                 __LINE__);
    return label;
}

int tu_file_setup(void **state, const char *name)
{
    tu_file *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s", tu_tempdir());
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
    *state = f;
    return 0;
}

int tu_file_teardown(void **state)
{
    tu_file *f = *state;
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

int tu_cap_address_space(void)
{
    FILE *statm = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (!statm || fscanf(statm, "%lu", &pages) != 1) {
        if (statm)
            fclose(statm);
        return 3;
    }
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
    return 0;
}

void tu_read_fifo_in_child(const char *path, int (*reader)(const char *path))
{
    assert_int_equal(mkfifo(path, 0600), 0);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        alarm(5);
        _exit(reader(path));
    }
    int wstatus;
    assert_int_equal(waitpid(child, &wstatus, 0), child);
    if (WIFSIGNALED(wstatus))
        fail_msg("reading the FIFO %s blocked (killed by signal %d)", path, WTERMSIG(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 0);
}

seqgen_model *tu_make_symbol_model(int V, int E, int H, int start_step, int threads,
                                   uint64_t seed)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.vocab = V, cfg.embedding = E, cfg.hidden = H, cfg.layers = 2;
    cfg.start_step = start_step, cfg.threads = threads, cfg.seed = seed;
    seqgen_model *m = NULL;
    tu_assert_ok(seqgen_model_create(&m, &cfg), "seqgen_model_create", __FILE__, __LINE__);
    return m;
}
