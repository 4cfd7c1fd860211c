/* Atomic replacement of a file: a crash leaves the old file or the new one, never a mixture. */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "status.h"

/* Creates "<path>.tmp-<n>" exclusively, so two savers never share a temporary file. */
static int create_temp(const char *path, char *temp, size_t temp_size, int *fd)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    unsigned long n = (unsigned long)now.tv_nsec ^ ((unsigned long)getpid() << 20);
    for (int attempt = 0; attempt < 100; attempt++, n = n * 2654435761u + 1) {
        snprintf(temp, temp_size, "%s.tmp-%08lx", path, n & 0xffffffffu);
        *fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (*fd >= 0)
            return SEQGEN_OK;
        if (errno != EEXIST)
            return sg_system_error("create a temporary file", temp, errno);
    }
    return sg_error(SEQGEN_EIO, "%s: no free temporary file name", path);
}

static int write_all(int fd, const unsigned char *data, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

/* Writes the directory part of `path` into `dir`, which has room for strlen(path) + 2 bytes. */
static void directory_of(const char *path, char *dir)
{
    const char *slash = strrchr(path, '/');
    size_t n = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
    if (n == 0) {
        strcpy(dir, ".");
        return;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
}

/* Makes the rename itself durable. Some file systems cannot fsync a directory (EINVAL): the
 * rename is then as durable as they allow. */
static int sync_directory(const char *dir)
{
    int status = SEQGEN_OK;
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL))
        status = sg_system_error("sync the directory after saving (the new file is in place)", dir,
                          errno);
    if (fd >= 0)
        close(fd);
    return status;
}

int sg_write_file_atomic(const char *path, const void *data, size_t size)
{
    size_t temp_size = strlen(path) + 32;
    char *temp = sg_malloc(temp_size);
    if (!temp)
        return sg_error(SEQGEN_ENOMEM, "out of memory");
    int fd = -1;
    int status = create_temp(path, temp, temp_size, &fd);
    if (status != SEQGEN_OK) {
        free(temp);
        return status;
    }
    const char *step = "write";
    int err = write_all(fd, data, size);
    if (!err && fsync(fd) != 0)
        err = errno, step = "flush to disk";
    if (close(fd) != 0 && !err)
        err = errno, step = "close";
    if (!err && rename(temp, path) != 0)
        err = errno, step = "rename over the target";
    if (err) {
        status = sg_system_error(step, temp, err);
        unlink(temp);
    } else { /* the temporary name is no longer needed: its buffer holds the directory */
        directory_of(path, temp);
        status = sync_directory(temp);
    }
    free(temp);
    return status;
}
