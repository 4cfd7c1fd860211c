/* Opening a file the library reads whole (IDX, .npy, checkpoints): only a regular file, checked
 * before anything can block on it. */
#ifndef SEQGEN_REGULAR_FILE_H
#define SEQGEN_REGULAR_FILE_H

#include <stdint.h>

/* Opens `path` for reading if it is a regular file: *fd receives a blocking descriptor (close
 * it), *size the file's size. On failure nothing is left open and the status is ENOENT (no such
 * file), EFORMAT (not a regular file: a FIFO, directory, device or socket, named) or EIO, with
 * a detail starting with `path`. */
int sg_open_regular(const char *path, int *fd, uint64_t *size);

#endif
