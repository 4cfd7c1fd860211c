/* Version, status names and the per-thread error detail. */
#include "status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Long enough for two file paths and a sentence; longer messages are truncated, never overrun. */
#define DETAIL_SIZE 1024

static _Thread_local char last_detail[DETAIL_SIZE];

const char *seqgen_version(void) { return SEQGEN_VERSION_STRING; }

const char *seqgen_strerror(int status)
{
    switch (status) {
    case SEQGEN_DONE: return "done";
    case SEQGEN_OK: return "success";
    case SEQGEN_EINVAL: return "invalid argument";
    case SEQGEN_ENOMEM: return "out of memory";
    case SEQGEN_EIO: return "input/output error";
    case SEQGEN_ENOENT: return "no such file or directory";
    case SEQGEN_EFORMAT: return "bad file format";
    case SEQGEN_ETRUNCATED: return "file truncated";
    case SEQGEN_ETRAILING: return "unexpected data at end of file";
    case SEQGEN_EOVERFLOW: return "size zero, too large or overflowing";
    case SEQGEN_EMISMATCH: return "inputs do not match";
    case SEQGEN_ERANGE: return "value out of range";
    case SEQGEN_ECHECKSUM: return "checksum mismatch";
    case SEQGEN_EVERSION: return "unsupported format version";
    case SEQGEN_ENUMERIC: return "numerical failure (NaN or infinity)";
    case SEQGEN_ESTATE: return "call not valid in the current state";
    case SEQGEN_ECOMPRESSED: return "corrupt compressed data";
    default: return "unknown status";
    }
}

const char *seqgen_last_error(void) { return last_detail; }

int seqgen_set_last_error(int status, const char *detail)
{
    return sg_error(status, "%s", detail ? detail : "");
}

/* A detail that did not fit ends in "..." so the reader knows it was cut. */
static void mark_if_truncated(int length)
{
    if (length >= DETAIL_SIZE)
        memcpy(last_detail + DETAIL_SIZE - 4, "...", 4);
}

int sg_error(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mark_if_truncated(vsnprintf(last_detail, sizeof last_detail, fmt, ap));
    va_end(ap);
    return status;
}

int sg_error_prefix(int status, const char *prefix)
{
    char old[DETAIL_SIZE];
    memcpy(old, last_detail, sizeof old);
    mark_if_truncated(snprintf(last_detail, sizeof last_detail, "%s: %s", prefix, old));
    return status;
}

int sg_system_error(const char *what, const char *path, int err)
{
    return sg_error(err == ENOENT ? SEQGEN_ENOENT : SEQGEN_EIO, "%s: cannot %s: %s", path, what,
                    strerror(err));
}
