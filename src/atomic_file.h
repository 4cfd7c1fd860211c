/* Replaces `path` with `size` bytes: temporary file in the same directory, write, fsync,
 * rename over `path`, fsync the directory. On failure the temporary file is removed and any
 * old `path` is untouched. The one way the library writes a whole file.
 *
 * The temporary file is named `path` + ".tmp-" + 8 lowercase hex digits. A process killed while
 * writing leaves it; seqgen-train removes exactly such names of its model.ckpt when it holds its
 * run's lock (examples/cli.c), so the name is a contract (tests/test_faults.c checks it). */
#ifndef SEQGEN_ATOMIC_FILE_H
#define SEQGEN_ATOMIC_FILE_H

#include <stddef.h>

int sg_write_file_atomic(const char *path, const void *data, size_t size);

#endif
