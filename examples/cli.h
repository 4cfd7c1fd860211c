/* Command-line helpers shared by the seqgen-* programs: small ones inline here; the file
 * writers, the run directory's lock and the opening of the data in cli.c (linked into every
 * program). Exit codes: 0 success, 1 runtime error, 2 usage error. */
#ifndef SEQGEN_CLI_H
#define SEQGEN_CLI_H

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
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

/* Creates a directory and its missing parents (mode 0777 before umask); 0 or -1 with errno.
 * Unless @p created is NULL, counts there the directories it created: the last components of
 * @p path, for cli_remove_created(). */
int cli_mkdir_p(const char *path, int *created);

/* After a failure: removes the last @p created components of @p path, deepest first, if they
 * are empty (rmdir), so that a failed program leaves no empty directory it made. */
void cli_remove_created(const char *path, int created);

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

/* Appends @p row (a line or more) to the text file @p path, after @p header when the file is
 * new or empty, in one write. A write that fails (a full disk, the file-size limit) is undone: a
 * file it created is removed, an existing regular file is cut back to its old size. Gives 0, or
 * -1 with errno set and, unless @p message is NULL, "PATH: cannot WHAT: REASON" written into it. */
int cli_append_row(const char *path, const char *header, const char *row, char *message,
                   size_t message_size);

/* Locks the directory @p dir for this process (flock() on the directory, released when the
 * process ends, however it ends) and gives the open directory in *fd. 0 if locked, 1 if another
 * process holds the lock, 2 with errno if the directory cannot be locked (some file systems,
 * such as NFS, cannot lock a directory), -1 with errno if it cannot be opened. */
int cli_lock_directory(const char *dir, int *fd);

/* Who writes a file atomically, and so how its temporary files are named. */
typedef enum cli_writer {
    CLI_WRITER_PROGRAM, /* cli_write_file_atomic(): NAME.tmp- and 6 letters or digits (mkstemp) */
    CLI_WRITER_LIBRARY  /* libseqgen (checkpoints): NAME.tmp- and 8 lowercase hex digits */
} cli_writer;

/* Removes from @p dir the temporary files of @p name that a writer killed while writing left:
 * regular files (not links, not directories) whose name is exactly NAME.tmp- and the suffix
 * that @p writer makes; nothing else. Only safe when no other process may be writing @p name in
 * @p dir (seqgen-train calls it while it holds the run directory's lock). Gives the number of
 * files removed, or -1 with errno if @p dir cannot be read. */
int cli_remove_stale_temporaries(const char *dir, const char *name, cli_writer writer);

/* Takes the run directory @p dir of a training program, which keeps model.ckpt, results.csv and
 * config.txt there: locks it for as long as the program runs (the open directory in *lock_fd),
 * so that no other program works on the run at the same time, and holding the lock removes the
 * temporary files that a killed run left (model.ckpt's from the library, the others'
 * from cli_write_file_atomic). Where a directory cannot be locked (NFS) it goes on without the
 * lock and removes nothing, saying so unless @p quiet. 0, or exit code 1 after printing why. */
int cli_lock_run(const char *prog, const char *dir, int quiet, int *lock_fd);

/* A text built in memory (open_memstream) and then written atomically to @p path: 0, or -1
 * after printing "PROG: PATH: ..." (out of memory, a full disk). cli_text_write() closes the
 * stream and frees the text whatever happens. */
FILE *cli_text_open(const char *prog, char **text, size_t *size);
int cli_text_write(const char *prog, const char *path, FILE *f, char **text, size_t *size);

/* Keeps the rows of the results file @p csv (a header, then a row per epoch starting with its
 * number) whose epoch a resumed run's checkpoint has reached, @p epoch: a crash may have left a
 * row written after the last save. The file is read as a program wrote it: a regular file of
 * lines of at most 4096 bytes; anything else is refused. No file is fine. 0, or exit code 1
 * after printing why. */
int cli_trim_results(const char *prog, const char *csv, uint64_t epoch);

/* A data path a run records in its checkpoint (seqgen_run_config::data_source) must fit:
 * SEQGEN_RUN_SOURCE_MAX bytes of printable ASCII. NULL passes. 0, or -1 after printing why,
 * naming --@p option. */
int cli_check_source(const char *prog, const char *option, const char *path);

/* A run's directory OUT_DIR/NAME and its files model.ckpt, results.csv and config.txt into the
 * four PATH_MAX buffers. 0, or -1 after printing that a path is too long. */
int cli_run_paths(const char *prog, const char *out_dir, const char *name, char *dir, char *ckpt,
                  char *csv, char *config);

/* Set by the signals cli_catch_interrupts() catches: the training programs finish the batch,
 * save and exit with 130. */
extern volatile sig_atomic_t cli_interrupted;

/* Catches SIGINT (once: a second Ctrl-C stops the program at once; the checkpoint on disk is
 * never half-written), and with @p launched also SIGTERM and SIGUSR1, which mpirun passes on to
 * the ranks it runs. Also ignores SIGXFSZ, so that a write beyond the file-size limit fails
 * (EFBIG) and is cleaned up instead of killing the program in the middle of a file. */
void cli_catch_interrupts(int launched);

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

/* The data used when --data is not given: $SEQGEN_DATA if set, else the bundled digits:
 * data/mnist10k under the working directory if it is there (the source tree), else where make
 * install puts them (cli_installed_data_dir()). */
const char *cli_default_data_dir(void);

/* Where make install puts the bundled digits: DATADIR/seqgen/mnist10k, compiled in. */
const char *cli_installed_data_dir(void);

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
 * A `.npy` file X.npy brings its companions X.labels.npy and X.lengths.npy when they exist.
 * @p is_default says that @p data is cli_default_data_dir(), not a path the user gave: its
 * messages then say how to choose the data (--data, SEQGEN_DATA). */
int cli_open_data(const char *prog, const char *data, const char *test, int is_default,
                  seqgen_split split, seqgen_dataset **out);

/* 1 if @p path names a `.npy` file (by its suffix), else 0. */
static inline int cli_is_npy(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && strcmp(path + n - 4, ".npy") == 0;
}

#endif /* SEQGEN_CLI_H */
