/* IDX reader: every size in the header is checked against limits and against what the file
 * really holds before it is trusted; memory grows with the data actually read, so a small file
 * with a huge header cannot make us allocate much. */
#include "idx.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "alloc.h"
#include "status.h"

/* Deflate expands at most 1032:1 (258-byte matches coded in 2 bits), so a gzip file of n bytes
 * holds at most ~1032 n bytes: the first allocation for a compressed file is bounded by that. */
#define DEFLATE_MAX_RATIO 1032u
/* Trailing bytes are counted up to this, then reported as "at least". */
#define TRAILING_COUNT_LIMIT ((uint64_t)1 << 20)
#define ZLIB_BUFFER_SIZE (1u << 17)

typedef struct reader {
    gzFile gz;
    const char *path;
    uint64_t file_size; /* on disk */
    uint64_t position;  /* decompressed bytes read so far */
} reader;

static const char *file_kind(mode_t mode)
{
    return S_ISDIR(mode) ? "a directory" : S_ISFIFO(mode) ? "a FIFO" : S_ISSOCK(mode) ? "a socket"
           : S_ISCHR(mode) || S_ISBLK(mode) ? "a device" : "not a file";
}

/* Only regular files: a FIFO or device has no size to bound the buffer by, and opening a FIFO
 * without a writer blocks. O_NONBLOCK keeps the open from blocking before fstat can refuse it;
 * it is cleared again so that reads behave normally. */
static int open_reader(reader *r, const char *path)
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
        status = sg_error(SEQGEN_EFORMAT, "%s: not a regular file (%s)", path, file_kind(st.st_mode));
    else if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
        status = sg_error(SEQGEN_EIO, "%s: cannot read: %s", path, strerror(errno));
    if (status != SEQGEN_OK) {
        close(fd);
        return status;
    }
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return sg_error(SEQGEN_ENOMEM, "%s: cannot allocate the zlib reader", path);
    }
    gzbuffer(gz, ZLIB_BUFFER_SIZE);
    r->gz = gz;
    r->path = path;
    r->file_size = (uint64_t)st.st_size;
    r->position = 0;
    return SEQGEN_OK;
}

/* Reads up to n bytes, stopping early only at the end of the data or on an error. */
static size_t read_some(reader *r, void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        size_t chunk = n - done < (size_t)INT_MAX ? n - done : (size_t)INT_MAX;
        int got = gzread(r->gz, (uint8_t *)buf + done, (unsigned)chunk);
        if (got <= 0)
            break;
        done += (size_t)got;
    }
    r->position += done;
    return done;
}

/* After a short read: a hard stream error (corrupt data, I/O, memory) as its status, else OK
 * with *cut_short telling whether a compressed stream ended in the middle. */
static int stream_status(const reader *r, int *cut_short)
{
    int err;
    const char *what = gzerror(r->gz, &err);
    *cut_short = err == Z_BUF_ERROR;
    switch (err) {
    case Z_OK:
    case Z_BUF_ERROR:
        return SEQGEN_OK;
    case Z_DATA_ERROR:
        return sg_error(SEQGEN_ECOMPRESSED, "%s: corrupt gzip data after %llu decompressed bytes (%s)",
                        r->path, (unsigned long long)r->position, what);
    case Z_MEM_ERROR:
        return sg_error(SEQGEN_ENOMEM, "%s: zlib ran out of memory", r->path);
    case Z_ERRNO:
        return sg_error(SEQGEN_EIO, "%s: read error: %s", r->path, strerror(errno));
    default:
        return sg_error(SEQGEN_EIO, "%s: zlib error %d (%s)", r->path, err, what);
    }
}

/* A short read where `wanted` bytes were needed for `what`: the stream's own error, or
 * ETRUNCATED saying how much was there. */
static int short_read(const reader *r, const char *what, size_t got, size_t wanted)
{
    int cut_short;
    int status = stream_status(r, &cut_short);
    if (status != SEQGEN_OK)
        return status;
    return sg_error(SEQGEN_ETRUNCATED, "%s: file ends after %zu of the %zu bytes of %s%s", r->path,
                    got, wanted, what, cut_short ? " (compressed stream cut short)" : "");
}

static uint32_t big_endian_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* "10000 images of 28x28", "10000 labels": the header's claim in words, for messages. */
static void describe_dims(char *text, size_t size, const uint32_t *dims, uint32_t ndims)
{
    if (ndims == 3)
        snprintf(text, size, "%u images of %ux%u", dims[0], dims[1], dims[2]);
    else if (ndims == 2)
        snprintf(text, size, "%u rows of %u bytes", dims[0], dims[1]);
    else
        snprintf(text, size, "%u labels", dims[0]);
}

static const char *payload_noun(uint32_t ndims)
{
    return ndims == 3 ? "pixels" : ndims == 1 ? "labels" : "data";
}

/* Checks the magic (0x00 0x00 0x08 ndims) and reads the sizes into dims[]. */
static int read_header(reader *r, uint32_t ndims, uint32_t *dims, uint64_t *payload)
{
    uint8_t magic[4];
    size_t got = read_some(r, magic, sizeof magic);
    if (got < sizeof magic)
        return short_read(r, "the IDX magic number", got, sizeof magic);
    uint32_t value = big_endian_u32(magic);
    if (magic[0] != 0 || magic[1] != 0)
        return sg_error(SEQGEN_EFORMAT, "%s: not an IDX file (magic 0x%08x, expected 0x000008%02x)",
                        r->path, value, ndims);
    if (magic[2] != SG_IDX_TYPE_UBYTE)
        return sg_error(SEQGEN_EFORMAT,
                        "%s: IDX element type 0x%02x is not supported (only unsigned bytes, 0x08)",
                        r->path, magic[2]);
    if (magic[3] != ndims)
        return sg_error(SEQGEN_EFORMAT, "%s: IDX file has %u dimensions, expected %u (magic 0x%08x)",
                        r->path, magic[3], ndims, value);

    uint8_t sizes[4 * SG_IDX_MAX_DIMS];
    got = read_some(r, sizes, 4 * ndims);
    if (got < 4 * ndims)
        return short_read(r, "the IDX dimension sizes", got, 4 * ndims);
    uint64_t total = 1;
    for (uint32_t d = 0; d < ndims; d++) {
        dims[d] = big_endian_u32(sizes + 4 * d);
        if (dims[d] == 0)
            return sg_error(SEQGEN_EOVERFLOW, "%s: IDX dimension %u of %u has size 0", r->path, d + 1,
                            ndims);
        total *= dims[d]; /* cannot overflow: total <= 2^30 before, dims[d] < 2^32 */
        if (total > SG_IDX_MAX_BYTES) {
            char claim[96];
            describe_dims(claim, sizeof claim, dims, ndims);
            return sg_error(SEQGEN_EOVERFLOW,
                            "%s: header says %s%s, more than the %llu-byte limit", r->path, claim,
                            d + 1 < ndims ? " (and more)" : "", (unsigned long long)SG_IDX_MAX_BYTES);
        }
    }
    *payload = total;
    return SEQGEN_OK;
}

/* The first allocation for a payload the header says is `claim` bytes: no more than the file
 * could possibly hold. */
static uint64_t initial_capacity(const reader *r, uint64_t claim)
{
    uint64_t bound;
    if (gzdirect(r->gz))
        bound = r->file_size > r->position ? r->file_size - r->position : 1;
    else
        bound = r->file_size * DEFLATE_MAX_RATIO + ZLIB_BUFFER_SIZE;
    return claim < bound ? claim : bound;
}

/* Reads exactly `claim` payload bytes into a buffer that grows with the data actually present. */
static int read_payload(reader *r, const uint32_t *dims, uint32_t ndims, uint64_t claim,
                        uint8_t **out)
{
    uint64_t capacity = initial_capacity(r, claim), have = 0;
    uint8_t *data = sg_malloc((size_t)capacity);
    if (!data)
        return sg_error(SEQGEN_ENOMEM, "%s: cannot allocate %llu bytes", r->path,
                        (unsigned long long)capacity);
    for (;;) {
        size_t got = read_some(r, data + have, (size_t)(capacity - have));
        have += got;
        if (have < capacity || have == claim)
            break;
        uint64_t grown = capacity * 2 < claim ? capacity * 2 : claim;
        uint8_t *bigger = sg_realloc(data, (size_t)grown);
        if (!bigger) {
            free(data);
            return sg_error(SEQGEN_ENOMEM, "%s: cannot allocate %llu bytes", r->path,
                            (unsigned long long)grown);
        }
        data = bigger;
        capacity = grown;
    }
    if (have < claim) {
        free(data);
        int cut_short;
        int status = stream_status(r, &cut_short);
        if (status != SEQGEN_OK)
            return status;
        char claim_text[96];
        describe_dims(claim_text, sizeof claim_text, dims, ndims);
        return sg_error(SEQGEN_ETRUNCATED, "%s: header says %s but the file holds %llu bytes of %s%s",
                        r->path, claim_text, (unsigned long long)have, payload_noun(ndims),
                        cut_short ? " (compressed stream cut short)" : "");
    }
    *out = data;
    return SEQGEN_OK;
}

/* After the payload: the data must end, and a compressed stream must end cleanly (its CRC and
 * length are checked by zlib when it reaches the gzip trailer). */
static int check_end(reader *r, uint64_t payload, uint32_t ndims)
{
    uint8_t scratch[4096];
    uint64_t extra = 0;
    size_t got;
    while (extra < TRAILING_COUNT_LIMIT && (got = read_some(r, scratch, sizeof scratch)) > 0)
        extra += got;
    if (extra > 0)
        return sg_error(SEQGEN_ETRAILING, "%s: %s%llu unexpected bytes after the %llu bytes of %s",
                        r->path, extra >= TRAILING_COUNT_LIMIT ? "at least " : "",
                        (unsigned long long)extra, (unsigned long long)payload, payload_noun(ndims));
    int cut_short;
    int status = stream_status(r, &cut_short);
    if (status != SEQGEN_OK)
        return status;
    if (cut_short)
        return sg_error(SEQGEN_ETRUNCATED, "%s: compressed stream cut short after all %llu bytes of %s",
                        r->path, (unsigned long long)payload, payload_noun(ndims));
    return SEQGEN_OK;
}

int sg_idx_read(const char *path, uint32_t ndims, sg_idx *out)
{
    if (!path || !out || ndims < 1 || ndims > SG_IDX_MAX_DIMS)
        return sg_error(SEQGEN_EINVAL, "sg_idx_read: bad arguments (path %p, ndims %u, out %p)",
                        (const void *)path, ndims, (void *)out);
    reader r = {NULL, path, 0, 0};
    int status = open_reader(&r, path);
    if (status != SEQGEN_OK)
        return status;
    uint32_t dims[SG_IDX_MAX_DIMS] = {0};
    uint64_t payload = 0;
    uint8_t *data = NULL;
    status = read_header(&r, ndims, dims, &payload);
    if (status == SEQGEN_OK)
        status = read_payload(&r, dims, ndims, payload, &data);
    if (status == SEQGEN_OK)
        status = check_end(&r, payload, ndims);
    gzclose_r(r.gz);
    if (status != SEQGEN_OK) {
        free(data);
        return status;
    }
    out->data = data;
    out->size = (size_t)payload;
    out->ndims = ndims;
    memcpy(out->dims, dims, sizeof dims);
    return SEQGEN_OK;
}

void sg_idx_free(sg_idx *idx)
{
    if (!idx)
        return;
    free(idx->data);
    idx->data = NULL;
    idx->size = 0;
}
