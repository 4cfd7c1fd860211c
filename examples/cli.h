/* Command-line helpers shared by the seqgen-* programs: small ones inline here, the atomic file
 * writer in cli.c (linked into every program). Exit codes: 0 success, 1 runtime error, 2 usage
 * error. */
#ifndef SEQGEN_CLI_H
#define SEQGEN_CLI_H

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "seqgen.h"

#define CLI_EXIT_RUNTIME 1
#define CLI_EXIT_USAGE 2

/* Ends a usage error, after its one-line reason, as GNU programs do: the hint to --help rather
 * than the whole usage text, which would hide the reason. Gives exit code 2. */
static inline int cli_usage_error(const char *prog)
{
    fprintf(stderr, "Try '%s --help' for more information.\n", prog);
    return CLI_EXIT_USAGE;
}

/* getopt_long() over long options only, its messages ("unrecognized option '--x'") under the
 * program's name rather than the path it was run by. */
static inline int cli_getopt(int argc, char **argv, const char *prog, const struct option *options)
{
    char *invoked = argv[0];
    argv[0] = (char *)prog;
    int id = getopt_long(argc, argv, "", options, NULL);
    argv[0] = invoked;
    return id;
}

/* Parses a whole decimal integer in [lo, hi]; 0 on success, -1 (message printed) otherwise. */
static inline int cli_parse_i64(const char *prog, const char *opt, const char *text, long long lo,
                                long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE || v < lo || v > hi) {
        fprintf(stderr, "%s: --%s expects an integer from %lld to %lld, got '%s'\n", prog, opt, lo,
                hi, text);
        return -1;
    }
    *out = v;
    return 0;
}

static inline int cli_parse_int(const char *prog, const char *opt, const char *text, int lo,
                                int hi, int *out)
{
    long long v;
    if (cli_parse_i64(prog, opt, text, lo, hi, &v) != 0)
        return -1;
    *out = (int)v;
    return 0;
}

/* Parses a finite number in [lo, hi]. */
static inline int cli_parse_double(const char *prog, const char *opt, const char *text, double lo,
                                   double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "%s: --%s expects a number from %g to %g, got '%s'\n", prog, opt, lo, hi,
                text);
        return -1;
    }
    *out = v;
    return 0;
}

/* Looks @p text up in a NULL-terminated list of names; gives its position. */
static inline int cli_parse_choice(const char *prog, const char *opt, const char *text,
                                   const char *const *names, int *out)
{
    for (int i = 0; names[i]; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    fprintf(stderr, "%s: --%s expects one of", prog, opt);
    for (int i = 0; names[i]; i++)
        fprintf(stderr, "%s%s", i ? "|" : " ", names[i]);
    fprintf(stderr, ", got '%s'\n", text);
    return -1;
}

/* Creates a directory and its missing parents (mode 0777 before umask); 0 or -1 with errno. */
static inline int cli_mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    if (strlen(path) >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(buf, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* Joins a directory and a file name into @p out (PATH_MAX bytes); -1 if too long. */
static inline int cli_path(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* Replaces @p path with @p size bytes of @p data, atomically: a temporary file in the same
 * directory, written whole, flushed to disk (fsync), renamed over @p path, then the directory
 * flushed. Every file a program writes whole goes through here. The file gets mode 0644. On
 * failure the temporary file is removed and an existing file is left intact; gives 0, or -1
 * with errno set and, unless @p message is NULL, "PATH: cannot WHAT: REASON" written into it
 * (cut to @p message_size bytes). */
int cli_write_file_atomic(const char *path, const void *data, size_t size, char *message,
                          size_t message_size);

/* Whether a file could be written at @p path without creating anything: an existing regular
 * file the program may write, or a new name in an existing directory it may write. For checking
 * an output before the work that fills it; 0, or -1 with errno set. */
int cli_check_writable(const char *path);

/* Seconds from a monotonic clock. */
static inline double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The data directory used when --data is not given: $SEQGEN_DATA, else the bundled digits
 * relative to the working directory. */
static inline const char *cli_default_data_dir(void)
{
    const char *env = getenv("SEQGEN_DATA");
    return env && *env ? env : "data/mnist10k";
}

/* Prints "PROG: WHAT: DETAIL" after a failed library call (the detail is the library's
 * seqgen_last_error()) and gives exit code 1. */
static inline int cli_fail(const char *prog, const char *what, int status)
{
    const char *detail = seqgen_last_error();
    fprintf(stderr, "%s: %s: %s\n", prog, what, *detail ? detail : seqgen_strerror(status));
    return CLI_EXIT_RUNTIME;
}

/* Prints "PROG: MESSAGE" for an error of the program itself and gives exit code 1. */
static inline int cli_error(const char *prog, const char *message, const char *arg)
{
    fprintf(stderr, "%s: %s%s%s\n", prog, message, arg ? ": " : "", arg ? arg : "");
    return CLI_EXIT_RUNTIME;
}

/* Opens one split of the programs' data, naming what failed; 0, or exit code 1 after printing
 * one line. @p data is
 * - a `.npy` file: the training sequences, with @p test (a `.npy` file) the test ones; or
 * - a directory holding `train.npy` and `test.npy`; or
 * - an MNIST directory (train-* and t10k-* IDX files, .gz or not).
 * A `.npy` file X.npy brings its companions X.labels.npy and X.lengths.npy when they exist. */
int cli_open_data(const char *prog, const char *data, const char *test, seqgen_split split,
                  seqgen_dataset **out);

/* 1 if @p path names a `.npy` file (by its suffix), else 0. */
static inline int cli_is_npy(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && strcmp(path + n - 4, ".npy") == 0;
}

#endif /* SEQGEN_CLI_H */
