/* Reporting errors from inside the library: set the caller's thread-local detail and return the
 * status in one expression, e.g. `return sg_error(SEQGEN_EINVAL, "batch must be > 0, got %d", b);` */
#ifndef SEQGEN_STATUS_H
#define SEQGEN_STATUS_H

#include "seqgen.h"

#if defined(__GNUC__)
#define SG_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SG_PRINTF(fmt, args)
#endif

/* Records the detail message for the calling thread and returns `status`. */
int sg_error(int status, const char *fmt, ...) SG_PRINTF(2, 3);

/* Prepends "prefix: " to the current detail message (e.g. a file name added by a caller that
 * knows it) and returns `status`. */
int sg_error_prefix(int status, const char *prefix);

/* "PATH: cannot WHAT: strerror(err)" as SEQGEN_ENOENT (err == ENOENT) or SEQGEN_EIO. */
int sg_system_error(const char *what, const char *path, int err);

#endif
