/* See regular_file.h. Opening a FIFO that has no writer blocks in open() unless O_NONBLOCK is
 * given, so the file is opened without blocking, checked with fstat, and only then switched
 * back to blocking reads. */
#include "regular_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "status.h"

static const char *file_kind(mode_t mode)
{
    return S_ISDIR(mode) ? "a directory" : S_ISFIFO(mode) ? "a FIFO" : S_ISSOCK(mode) ? "a socket"
           : S_ISCHR(mode) || S_ISBLK(mode) ? "a device" : "not a file";
}

int sg_open_regular(const char *path, int *fd_out, uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        if (err == ENOENT || err == ENOTDIR)
            return sg_error(SEQGEN_ENOENT, "%s: no such file", path);
        return sg_error(SEQGEN_EIO, "%s: cannot open: %s", path, strerror(err));
    }
    struct stat st;
    int flags, status = SEQGEN_OK;
    if (fstat(fd, &st) != 0)
        status = sg_error(SEQGEN_EIO, "%s: cannot read: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        status = sg_error(SEQGEN_EFORMAT, "%s: not a regular file (%s)", path,
                          file_kind(st.st_mode));
    else if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
        status = sg_error(SEQGEN_EIO, "%s: cannot read: %s", path, strerror(errno));
    if (status != SEQGEN_OK) {
        close(fd);
        return status;
    }
    *fd_out = fd;
    *size = (uint64_t)st.st_size;
    return SEQGEN_OK;
}
