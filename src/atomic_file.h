/* Replaces `path` with `size` bytes: temporary file in the same directory, write, fsync,
 * rename over `path`, fsync the directory. On failure the temporary file is removed and any
 * old `path` is untouched. The one way the library writes a whole file. */
#ifndef SEQGEN_ATOMIC_FILE_H
#define SEQGEN_ATOMIC_FILE_H

#include <stddef.h>

int sg_write_file_atomic(const char *path, const void *data, size_t size);

#endif
