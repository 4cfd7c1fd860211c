/* The programs' file writing, run directory lock and data opening (cli.h). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* flock() */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEMP_SUFFIX ".tmp-XXXXXX"

/* Writes "PATH: cannot WHAT: REASON" into the caller's buffer; gives -1 with errno = errnum. */
static int failure(char *message, size_t message_size, const char *path, const char *what,
                   int errnum)
{
    if (message && message_size > 0)
        snprintf(message, message_size, "%s: cannot %s: %s", path, what, strerror(errnum));
    errno = errnum;
    return -1;
}

/* The directory of `path` into dir[PATH_MAX]: "." for a bare name. */
static void directory_of(const char *path, char *dir)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        strcpy(dir, ".");
    else
        snprintf(dir, PATH_MAX, "%.*s", slash == path ? 1 : (int)(slash - path), path);
}

/* Makes the rename durable. Some file systems cannot fsync a directory (EINVAL): the rename is
 * then as durable as they allow. */
static int sync_directory(const char *path, char *message, size_t message_size)
{
    char dir[PATH_MAX];
    directory_of(path, dir);
    int fd = open(dir, O_RDONLY);
    int errnum = fd < 0 ? errno : fsync(fd) != 0 && errno != EINVAL ? errno : 0;
    if (fd >= 0)
        close(fd);
    return errnum ? failure(message, message_size, path,
                            "sync its directory (the new file is in place)", errnum)
                  : 0;
}

int cli_write_file_atomic(const char *path, const void *data, size_t size, char *message,
                          size_t message_size)
{
    char temp[PATH_MAX];
    if (snprintf(temp, sizeof temp, "%s" TEMP_SUFFIX, path) >= (int)sizeof temp)
        return failure(message, message_size, path, "create a temporary file next to it",
                       ENAMETOOLONG);
    int fd = mkstemp(temp);
    if (fd < 0)
        return failure(message, message_size, path, "create a temporary file next to it", errno);
    const char *what = NULL;
    int errnum = 0;
    FILE *file = NULL;
    /* mkstemp makes the file private; the programs' files are meant to be shared. */
    if (fchmod(fd, 0644) != 0 || !(file = fdopen(fd, "wb"))) {
        errnum = errno, what = "open the temporary file";
        close(fd);
    } else {
        errno = 0;
        if (fwrite(data, 1, size, file) != size || fflush(file) != 0)
            errnum = errno ? errno : EIO, what = "write the temporary file";
        else if (fsync(fileno(file)) != 0)
            errnum = errno, what = "flush the temporary file to disk";
        if (fclose(file) != 0 && !errnum)
            errnum = errno, what = "close the temporary file";
    }
    if (!errnum && rename(temp, path) != 0)
        errnum = errno, what = "rename the temporary file to it";
    if (errnum) {
        unlink(temp);
        return failure(message, message_size, path, what, errnum);
    }
    return sync_directory(path, message, message_size);
}

/* ---- Directories ----------------------------------------------------------------------------- */

/* mkdir() that counts what it made and takes an existing directory as success. */
static int make_directory(const char *dir, int *made)
{
    if (mkdir(dir, 0777) == 0) {
        (*made)++;
        return 0;
    }
    return errno == EEXIST ? 0 : -1;
}

int cli_mkdir_p(const char *path, int *created)
{
    char buf[PATH_MAX];
    int made = 0, rc = 0;
    struct stat st;
    if (strlen(path) >= sizeof buf) {
        errno = ENAMETOOLONG;
        rc = -1;
    } else {
        strcpy(buf, path);
        for (char *p = buf + 1; rc == 0 && *p; p++) {
            if (*p != '/')
                continue;
            *p = '\0';
            rc = make_directory(buf, &made);
            *p = '/';
        }
        if (rc == 0)
            rc = make_directory(buf, &made);
        if (rc == 0 && stat(buf, &st) != 0)
            rc = -1;
        if (rc == 0 && !S_ISDIR(st.st_mode))
            errno = ENOTDIR, rc = -1;
    }
    if (created)
        *created = made;
    return rc;
}

void cli_remove_created(const char *path, int created)
{
    char buf[PATH_MAX];
    if (strlen(path) >= sizeof buf)
        return;
    strcpy(buf, path);
    for (int i = 0; i < created; i++) {
        size_t n = strlen(buf);
        while (n > 1 && buf[n - 1] == '/')
            buf[--n] = '\0';
        if (rmdir(buf) != 0)
            return;
        char *slash = strrchr(buf, '/');
        if (!slash)
            return;
        slash[slash == buf] = '\0';
    }
}

int cli_lock_directory(const char *dir, int *fd)
{
    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0)
        return -1;
    if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    int errnum = errno;
    close(*fd);
    *fd = -1;
    errno = errnum;
    return errnum == EWOULDBLOCK ? 1 : 2;
}

/* Whether @p entry is NAME.tmp- and the suffix that @p writer gives its temporary files. */
static int is_temporary_of(const char *entry, const char *name, cli_writer writer)
{
    static const char tag[] = ".tmp-";
    size_t n = strlen(name);
    if (strncmp(entry, name, n) != 0 || strncmp(entry + n, tag, sizeof tag - 1) != 0)
        return 0;
    const char *suffix = entry + n + sizeof tag - 1;
    size_t length = strlen(suffix);
    if (length != (writer == CLI_WRITER_LIBRARY ? 8u : 6u))
        return 0;
    const char *allowed = writer == CLI_WRITER_LIBRARY
                              ? "0123456789abcdef"
                              : "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    return strspn(suffix, allowed) == length;
}

int cli_remove_stale_temporaries(const char *dir, const char *name, cli_writer writer)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (is_temporary_of(e->d_name, name, writer) &&
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            unlinkat(dirfd(d), e->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

int cli_lock_run(const char *prog, const char *dir, int quiet, int *lock_fd)
{
    static const struct {
        const char *name;
        cli_writer writer;
    } files[] = {{"model.ckpt", CLI_WRITER_LIBRARY},
                 {"results.csv", CLI_WRITER_PROGRAM},
                 {"config.txt", CLI_WRITER_PROGRAM}};
    int rc = cli_lock_directory(dir, lock_fd);
    if (rc == 1) {
        fprintf(stderr, "%s: %s: another %s is working on this run; wait for it to end, or "
                        "choose another --exp-name\n", prog, dir, prog);
        return CLI_EXIT_RUNTIME;
    }
    if (rc < 0) {
        fprintf(stderr, "%s: cannot open %s: %s\n", prog, dir, strerror(errno));
        return CLI_EXIT_RUNTIME;
    }
    if (rc == 2) {
        if (!quiet)
            fprintf(stderr, "%s: note: cannot lock %s (%s): another %s on the run would not be "
                            "refused, and temporary files that killed runs left are not "
                            "removed\n", prog, dir, strerror(errno), prog);
        return 0;
    }
    int removed = 0;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        int n = cli_remove_stale_temporaries(dir, files[i].name, files[i].writer);
        removed += n > 0 ? n : 0;
    }
    if (removed > 0 && !quiet)
        fprintf(stderr, "%s: note: removed %d temporary file%s left in %s by a killed run\n",
                prog, removed, removed == 1 ? "" : "s", dir);
    return 0;
}

/* ---- Texts and interruptions ------------------------------------------------------------------ */

FILE *cli_text_open(const char *prog, char **text, size_t *size)
{
    FILE *f = open_memstream(text, size);
    if (!f)
        fprintf(stderr, "%s: out of memory\n", prog);
    return f;
}

int cli_text_write(const char *prog, const char *path, FILE *f, char **text, size_t *size)
{
    char why[PATH_MAX + 256];
    int failed = ferror(f);
    failed |= fclose(f) != 0;
    if (failed)
        snprintf(why, sizeof why, "%s: out of memory", path);
    else if (cli_write_file_atomic(path, *text, *size, why, sizeof why) != 0)
        failed = 1;
    free(*text);
    *text = NULL;
    if (failed)
        fprintf(stderr, "%s: %s\n", prog, why);
    return failed ? -1 : 0;
}

volatile sig_atomic_t cli_interrupted = 0;

static void on_interrupt(int sig)
{
    (void)sig;
    cli_interrupted = 1;
}

void cli_catch_interrupts(int launched)
{
    signal(SIGXFSZ, SIG_IGN);
    struct sigaction sa = {0};
    sa.sa_handler = on_interrupt;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    if (launched) {
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGUSR1, &sa, NULL);
    }
}

/* ---- Appending ------------------------------------------------------------------------------- */

int cli_append_row(const char *path, const char *header, const char *row, char *message,
                   size_t message_size)
{
    int created = 1;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST) {
        created = 0;
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    }
    if (fd < 0)
        return failure(message, message_size, path, "open it", errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int errnum = errno;
        close(fd);
        return failure(message, message_size, path, "open it", errnum);
    }
    size_t head = st.st_size == 0 ? strlen(header) : 0, size = head + strlen(row);
    char *text = malloc(size + 1);
    int errnum = text ? 0 : ENOMEM;
    if (text) {
        memcpy(text, header, head);
        strcpy(text + head, row);
        for (size_t done = 0; done < size && !errnum;) {
            ssize_t n = write(fd, text + done, size - done);
            if (n > 0)
                done += (size_t)n;
            else if (n < 0 && errno != EINTR)
                errnum = errno;
            else if (n == 0)
                errnum = EIO;
        }
        free(text);
    }
    if (errnum && !created && S_ISREG(st.st_mode))
        (void)!ftruncate(fd, st.st_size); /* nothing more can be done if this fails too */
    if (close(fd) != 0 && !errnum)
        errnum = errno;
    if (errnum && created)
        unlink(path);
    return errnum ? failure(message, message_size, path, "append a row", errnum) : 0;
}

/* ---- Checks ---------------------------------------------------------------------------------- */

int cli_check_writable(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
            return -1;
        }
        return access(path, W_OK);
    }
    if (errno != ENOENT)
        return -1;
    char dir[PATH_MAX];
    directory_of(path, dir);
    if (stat(dir, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return access(dir, W_OK | X_OK);
}

/* ---- Data ------------------------------------------------------------------------------------ */

/* X.npy's companion X.SUFFIX.npy into @p out if it exists; 0, or -1 if the path is too long. */
static int companion(const char *npy, const char *suffix, char *out, int *exists)
{
    int n = snprintf(out, PATH_MAX, "%.*s.%s.npy", (int)(strlen(npy) - 4), npy, suffix);
    if (n < 0 || n >= PATH_MAX)
        return -1;
    *exists = access(out, F_OK) == 0;
    return 0;
}

/* After a failed library call: "PROG: WHAT: DETAIL", then @p hint (may be ""); exit code 1. */
static int data_failure(const char *prog, const char *what, int status, const char *hint)
{
    const char *detail = seqgen_last_error();
    fprintf(stderr, "%s: %s: %s%s\n", prog, what, *detail ? detail : seqgen_strerror(status),
            hint);
    return CLI_EXIT_RUNTIME;
}

/* Opens X.npy with its companions. */
static int open_npy(const char *prog, const char *path, const char *hint, seqgen_dataset **out)
{
    char labels[PATH_MAX], lengths[PATH_MAX];
    int has_labels, has_lengths;
    if (companion(path, "labels", labels, &has_labels) != 0 ||
        companion(path, "lengths", lengths, &has_lengths) != 0)
        return cli_error(prog, "path too long", path);
    int status = seqgen_dataset_open_npy(out, path, has_labels ? labels : NULL,
                                         has_lengths ? lengths : NULL);
    return status == SEQGEN_OK ? 0 : data_failure(prog, "cannot read the sequences", status, hint);
}

#ifndef SEQGEN_DATADIR /* the Makefile's, from DATADIR */
#define SEQGEN_DATADIR "/usr/local/share/seqgen"
#endif
#define BUNDLED "data/mnist10k" /* the bundled digits in the source tree */

const char *cli_default_data_dir(void)
{
    const char *env = getenv("SEQGEN_DATA");
    struct stat st;
    if (env && *env)
        return env;
    return stat(BUNDLED, &st) == 0 && S_ISDIR(st.st_mode) ? BUNDLED
                                                         : SEQGEN_DATADIR "/mnist10k";
}

const char *cli_installed_data_dir(void) { return SEQGEN_DATADIR "/mnist10k"; }

int cli_open_data(const char *prog, const char *data, const char *test, int is_default,
                  seqgen_split split, seqgen_dataset **out)
{
    const char *which = split == SEQGEN_SPLIT_TRAIN ? "training" : "test";
    const char *env = getenv("SEQGEN_DATA");
    const int from_env = is_default && env && *env;
    const char *hint = !is_default ? ""
                       : from_env  ? " (SEQGEN_DATA; choose other data with --data PATH)"
                                   : " (the default; choose other data with --data PATH or "
                                     "SEQGEN_DATA)";
    struct stat st;
    if (is_default && !from_env && stat(data, &st) != 0) {
        fprintf(stderr, "%s: no data: the bundled digits are neither in ./" BUNDLED " nor in %s "
                        "(where make install puts them); give the data with --data PATH or "
                        "SEQGEN_DATA\n", prog, data);
        return CLI_EXIT_RUNTIME;
    }
    if (cli_is_npy(data)) {
        if (split == SEQGEN_SPLIT_TRAIN)
            return open_npy(prog, data, hint, out);
        if (!test || !*test) {
            fprintf(stderr, "%s: --data %s: give the test sequences with --test FILE.npy\n", prog,
                    data);
            return CLI_EXIT_RUNTIME;
        }
        return open_npy(prog, test, "", out);
    }
    char path[PATH_MAX];
    if (cli_path(path, data, split == SEQGEN_SPLIT_TRAIN ? "train.npy" : "test.npy") != 0)
        return cli_error(prog, "path too long", data);
    if (access(path, F_OK) == 0)
        return open_npy(prog, path, hint, out);
    int status = seqgen_dataset_open_dir(out, data, split);
    if (status == SEQGEN_OK)
        return 0;
    char what[PATH_MAX + 64];
    snprintf(what, sizeof what, "cannot read the %s data in %s", which, data);
    return data_failure(prog, what, status, hint);
}

/* ---- Resuming: results.csv cut back to the checkpoint ---------------------------------------- */

/* The longest line a program reads from a file of its own (results.csv), and the largest such
 * file: anything longer is not one a seqgen program wrote. */
#define MAX_LINE 4096
#define MAX_TEXT_FILE ((off_t)64 << 20)

/* Opens @p path for a line-oriented read: a regular file (checked on the open file, so a link
 * to a device or a FIFO is refused, without blocking) of at most MAX_TEXT_FILE bytes. NULL with
 * errno = ENOENT if it does not exist; NULL after printing one line naming the file otherwise. */
static FILE *open_text_file(const char *prog, const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            fprintf(stderr, "%s: cannot read %s: %s\n", prog, path, strerror(errno));
        return NULL;
    }
    struct stat st;
    const char *why = fstat(fd, &st) != 0 ? strerror(errno)
                      : !S_ISREG(st.st_mode) ? "not a regular file"
                      : st.st_size > MAX_TEXT_FILE ? "larger than 64 MiB: not this program's"
                                                    : NULL;
    FILE *f = why ? NULL : fdopen(fd, "r");
    if (!f) {
        fprintf(stderr, "%s: cannot read %s: %s\n", prog, path, why ? why : strerror(errno));
        close(fd);
        errno = EINVAL;
    }
    return f;
}

int cli_trim_results(const char *prog, const char *csv, uint64_t epoch)
{
    errno = 0;
    FILE *in = open_text_file(prog, csv);
    if (!in)
        return errno == ENOENT ? 0 : CLI_EXIT_RUNTIME;
    char *text = NULL, line[MAX_LINE + 2];
    size_t size = 0;
    FILE *out = cli_text_open(prog, &text, &size);
    int rc = out ? 0 : CLI_EXIT_RUNTIME;
    for (long n = 1; rc == 0 && fgets(line, sizeof line, in); n++) {
        size_t len = strlen(line);
        if (len > MAX_LINE || (len == MAX_LINE && line[len - 1] != '\n')) {
            fprintf(stderr, "%s: cannot read %s: line %ld is longer than %d bytes: not a file "
                            "of this program\n", prog, csv, n, MAX_LINE);
            rc = CLI_EXIT_RUNTIME;
        } else if (n == 1 || strtoull(line, NULL, 10) <= epoch) {
            fputs(line, out);
        }
    }
    if (rc == 0 && ferror(in)) {
        fprintf(stderr, "%s: cannot read %s: %s\n", prog, csv, strerror(errno));
        rc = CLI_EXIT_RUNTIME;
    }
    fclose(in);
    if (rc != 0) {
        if (out)
            fclose(out);
        free(text);
        return rc;
    }
    return cli_text_write(prog, csv, out, &text, &size) == 0 ? 0 : CLI_EXIT_RUNTIME;
}

int cli_check_source(const char *prog, const char *option, const char *path)
{
    size_t n = path ? strlen(path) : 0;
    for (size_t i = 0; i < n && n <= SEQGEN_RUN_SOURCE_MAX; i++)
        if (path[i] < 0x20 || path[i] > 0x7e)
            n = SEQGEN_RUN_SOURCE_MAX + 1;
    if (n <= SEQGEN_RUN_SOURCE_MAX)
        return 0;
    fprintf(stderr, "%s: --%s: the path is saved in the checkpoint and must be at most %d "
                    "printable ASCII characters\n", prog, option, SEQGEN_RUN_SOURCE_MAX);
    return -1;
}

int cli_run_paths(const char *prog, const char *out_dir, const char *name, char *dir, char *ckpt,
                  char *csv, char *config)
{
    if (!cli_path(dir, out_dir, name) && !cli_path(ckpt, dir, "model.ckpt") &&
        !cli_path(csv, dir, "results.csv") && !cli_path(config, dir, "config.txt"))
        return 0;
    fprintf(stderr, "%s: path too long: %s/%s\n", prog, out_dir, name);
    return -1;
}
