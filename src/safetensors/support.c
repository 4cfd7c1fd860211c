/* What the core's src/regular_file.c and src/atomic_file.c, compiled into this library, need
 * from the core's internals: the error detail, set through the public seqgen_set_last_error()
 * (the core's own thread-local is not exported), and the allocator, here plain malloc. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "status.h"

#define DETAIL_SIZE 1024 /* as the core's: longer details are cut, ending in "..." */

int sg_error(int status, const char *fmt, ...)
{
    char detail[DETAIL_SIZE];
    va_list ap;
    va_start(ap, fmt);
    int length = vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (length >= DETAIL_SIZE)
        memcpy(detail + DETAIL_SIZE - 4, "...", 4);
    return seqgen_set_last_error(status, detail);
}

int sg_system_error(const char *what, const char *path, int err)
{
    return sg_error(err == ENOENT ? SEQGEN_ENOENT : SEQGEN_EIO, "%s: cannot %s: %s", path, what,
                    strerror(err));
}

void *sg_malloc(size_t size) { return malloc(size); }
