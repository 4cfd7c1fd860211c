/* The programs' file writing and data opening (cli.h). */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Makes the rename durable. Some file systems cannot fsync a directory (EINVAL): the rename is
 * then as durable as they allow. */
static int sync_directory(const char *path, char *message, size_t message_size)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        strcpy(dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
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
    const char *slash = strrchr(path, '/');
    if (!slash)
        strcpy(dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
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

/* Opens X.npy with its companions. */
static int open_npy(const char *prog, const char *path, seqgen_dataset **out)
{
    char labels[PATH_MAX], lengths[PATH_MAX];
    int has_labels, has_lengths;
    if (companion(path, "labels", labels, &has_labels) != 0 ||
        companion(path, "lengths", lengths, &has_lengths) != 0)
        return cli_error(prog, "path too long", path);
    int status = seqgen_dataset_open_npy(out, path, has_labels ? labels : NULL,
                                         has_lengths ? lengths : NULL);
    return status == SEQGEN_OK ? 0 : cli_fail(prog, "cannot read the sequences", status);
}

int cli_open_data(const char *prog, const char *data, const char *test, seqgen_split split,
                  seqgen_dataset **out)
{
    const char *which = split == SEQGEN_SPLIT_TRAIN ? "training" : "test";
    if (cli_is_npy(data)) {
        if (split == SEQGEN_SPLIT_TRAIN)
            return open_npy(prog, data, out);
        if (!test || !*test) {
            fprintf(stderr, "%s: --data %s: give the test sequences with --test FILE.npy\n", prog,
                    data);
            return CLI_EXIT_RUNTIME;
        }
        return open_npy(prog, test, out);
    }
    char path[PATH_MAX];
    if (cli_path(path, data, split == SEQGEN_SPLIT_TRAIN ? "train.npy" : "test.npy") != 0)
        return cli_error(prog, "path too long", data);
    if (access(path, F_OK) == 0)
        return open_npy(prog, path, out);
    int status = seqgen_dataset_open_dir(out, data, split);
    if (status == SEQGEN_OK)
        return 0;
    char what[PATH_MAX + 64];
    snprintf(what, sizeof what, "cannot read the %s data in %s", which, data);
    return cli_fail(prog, what, status);
}
