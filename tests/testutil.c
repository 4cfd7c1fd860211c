#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

seqgen_model *tu_make_model(int D, int H, int L, uint64_t seed, int threads)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.pixels_per_step = D, cfg.hidden = H, cfg.layers = L, cfg.seed = seed, cfg.threads = threads;
    seqgen_model *m = NULL;
    tu_assert_ok(seqgen_model_create(&m, &cfg), "seqgen_model_create", __FILE__, __LINE__);
    return m;
}
