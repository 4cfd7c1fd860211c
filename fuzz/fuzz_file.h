/* Gives a fuzzer's bytes to the library's path-based readers through an anonymous in-memory
 * file (memfd_create), reopened by the library as /proc/self/fd/N: no disk I/O, nothing to
 * clean up, and the reader sees a regular file of exactly that size. */
#ifndef SEQGEN_FUZZ_FILE_H
#define SEQGEN_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct fuzz_file {
    int fd;
    char path[64];
} fuzz_file;

/* Creates the file once; a harness that cannot even do that has nothing to test. */
static void fuzz_file_open(fuzz_file *f, const char *name)
{
    f->fd = memfd_create(name, MFD_CLOEXEC);
    if (f->fd < 0) {
        perror("memfd_create");
        abort();
    }
    snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
}

/* Replaces the file's contents with `size` bytes. */
static void fuzz_file_set(fuzz_file *f, const uint8_t *data, size_t size)
{
    if (ftruncate(f->fd, 0) != 0 || (size > 0 && pwrite(f->fd, data, size, 0) != (ssize_t)size)) {
        perror("fuzz_file_set");
        abort();
    }
}

#endif
