/* IDX reader: every size in the header is checked against limits and against what the file
 * really holds before it is trusted; memory grows with the data actually read, so a small file
 * with a huge header cannot make us allocate much. Gzip is decoded with inflate() directly, not
 * through gzread: gzread does not report a member that ends without its trailer when the data
 * ends exactly where a read does, and it cannot say where in the file damage was found. */
#include "idx.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "regular_file.h"
#include "status.h"

/* File bytes read at a time. */
#define INPUT_SIZE (1u << 17)
/* The first buffer for a gzip payload when the file is smaller; doubled as data arrives. */
#define GROWTH_START ((uint64_t)1 << 20)
/* Trailing bytes are counted up to this, then reported as "at least". */
#define TRAILING_COUNT_LIMIT ((uint64_t)1 << 20)
/* read() moves at most this much at once (Linux moves at most 0x7ffff000 bytes). */
#define READ_CHUNK ((size_t)1 << 30)

/* ---- Opening a regular file ----------------------------------------------------------------- */

/* zlib's allocations go through the library's allocator, so the failure tests reach them. */
static voidpf zlib_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return sg_calloc(items, size);
}

static void zlib_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    free(p);
}

/* ---- Reading the data ----------------------------------------------------------------------- */

/* File bytes consumed: read, and not waiting in the input buffer. */
static uint64_t consumed(const sg_idx_reader *r) { return r->offset - r->z.avail_in; }

/* Reads more of the file after the input still buffered; *got = 0 at the end of the file. */
static int fill_input(sg_idx_reader *r, size_t *got)
{
    memmove(r->in, r->z.next_in, r->z.avail_in);
    r->z.next_in = r->in;
    ssize_t n;
    do
        n = read(r->fd, r->in + r->z.avail_in, INPUT_SIZE - r->z.avail_in);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return sg_error(SEQGEN_EIO, "%s: read error at byte %llu: %s", r->path,
                        (unsigned long long)r->offset, strerror(errno));
    r->z.avail_in += (uInt)n;
    r->offset += (uint64_t)n;
    *got = (size_t)n;
    return SEQGEN_OK;
}

/* Up to n bytes of a plain file: the buffered input first, then straight from the file. */
static int read_plain(sg_idx_reader *r, uint8_t *buf, size_t n, size_t *got)
{
    size_t done = n < r->z.avail_in ? n : r->z.avail_in;
    memcpy(buf, r->z.next_in, done);
    r->z.next_in += done;
    r->z.avail_in -= (uInt)done;
    while (done < n) {
        ssize_t k = read(r->fd, buf + done, n - done < READ_CHUNK ? n - done : READ_CHUNK);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return sg_error(SEQGEN_EIO, "%s: read error at byte %llu: %s", r->path,
                            (unsigned long long)r->offset, strerror(errno));
        if (k == 0)
            break;
        done += (size_t)k;
        r->offset += (uint64_t)k;
    }
    *got = done;
    return SEQGEN_OK;
}

static int inflate_error(const sg_idx_reader *r, int ret, uint64_t produced)
{
    if (ret == Z_MEM_ERROR)
        return sg_error(SEQGEN_ENOMEM, "%s: out of memory in zlib's inflate", r->path);
    const char *what = r->z.msg ? r->z.msg : "inflate failed";
    char check[160];
    int crc = strcmp(what, "incorrect data check") == 0;
    if (crc || strcmp(what, "incorrect length check") == 0) {
        /* The trailer only says that the member is damaged, not where. */
        snprintf(check, sizeof check, "its %s does not match the data: the damage is somewhere "
                 "between byte %llu, where the member begins, and its trailer",
                 crc ? "CRC-32" : "length",
                 (unsigned long long)r->member_at);
        what = check;
    }
    return sg_error(SEQGEN_ECOMPRESSED, "%s: corrupt gzip data at byte %llu of %llu, in member %u "
                    "(%s), after %llu decompressed bytes", r->path,
                    (unsigned long long)consumed(r), (unsigned long long)r->file_size, r->members,
                    what, (unsigned long long)produced);
}

/* Up to n decompressed bytes: fewer only at the end of the data, which is the end of the file
 * after a member's trailer (clean) or inside a member (r->cut). Between members the next bytes
 * must begin another member (0x1f 0x8b); anything else after the last member is refused. */
static int read_gzip(sg_idx_reader *r, uint8_t *buf, size_t n, size_t *got)
{
    size_t done = 0, more;
    int status;
    while (done < n && !r->cut) {
        if (!r->in_member) {
            if (r->z.avail_in < 2 && (status = fill_input(r, &more)) != SEQGEN_OK)
                return status;
            if (r->z.avail_in == 0)
                break; /* the file ends after a whole member */
            if (r->z.avail_in < 2 || r->z.next_in[0] != 0x1f || r->z.next_in[1] != 0x8b) {
                uint64_t at = consumed(r);
                return sg_error(SEQGEN_ETRAILING, "%s: %llu bytes after the last gzip member (at "
                                "byte %llu) do not begin another member", r->path,
                                (unsigned long long)(r->file_size > at ? r->file_size - at : 1),
                                (unsigned long long)at);
            }
            int ret = inflateReset(&r->z);
            if (ret != Z_OK)
                return inflate_error(r, ret, r->produced);
            r->in_member = 1;
            r->members++;
            r->member_at = consumed(r);
        }
        if (r->z.avail_in == 0) {
            if ((status = fill_input(r, &more)) != SEQGEN_OK)
                return status;
            if (more == 0) {
                r->cut = 1;
                break;
            }
        }
        size_t want = n - done < UINT_MAX ? n - done : UINT_MAX;
        uInt had = r->z.avail_in;
        r->z.next_out = buf + done;
        r->z.avail_out = (uInt)want;
        int ret = inflate(&r->z, Z_NO_FLUSH);
        size_t made = want - r->z.avail_out;
        done += made;
        r->produced += made;
        if (ret == Z_STREAM_END)
            r->in_member = 0;
        else if (ret == Z_BUF_ERROR && made == 0 && r->z.avail_in == had && had > 0)
            return inflate_error(r, ret, r->produced); /* no progress with input and room */
        else if (ret != Z_OK && ret != Z_BUF_ERROR)
            return inflate_error(r, ret, r->produced);
    }
    *got = done;
    return SEQGEN_OK;
}

/* Up to n data bytes; fewer only at the end of the data (or, for gzip, when it is cut short). */
static int read_data(sg_idx_reader *r, uint8_t *buf, size_t n, size_t *got)
{
    if (r->gzip)
        return read_gzip(r, buf, n, got);
    int status = read_plain(r, buf, n, got);
    if (status == SEQGEN_OK)
        r->produced += *got;
    return status;
}

/* " (the gzip stream is cut short ...)" after a short read of a gzip file, else "". */
static const char *cut_note(const sg_idx_reader *r, char *text, size_t size)
{
    if (!r->cut)
        return "";
    snprintf(text, size, " (the gzip stream is cut short: the file ends after %llu bytes, "
             "inside member %u)", (unsigned long long)r->offset, r->members);
    return text;
}

/* ---- The header ----------------------------------------------------------------------------- */

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

/* Reads exactly `wanted` header bytes for `what`, or says how many there were. */
static int read_header_bytes(sg_idx_reader *r, uint8_t *buf, size_t wanted, const char *what)
{
    size_t got;
    int status = read_data(r, buf, wanted, &got);
    if (status != SEQGEN_OK || got == wanted)
        return status;
    char note[128];
    return sg_error(SEQGEN_ETRUNCATED, "%s: file ends after %zu of the %zu bytes of %s%s", r->path,
                    got, wanted, what, cut_note(r, note, sizeof note));
}

/* Checks the magic (0x00 0x00 0x08 ndims) and the sizes, each read in full before any is judged
 * so that messages show them all. */
static int read_header(sg_idx_reader *r, uint64_t max_bytes)
{
    const uint32_t ndims = r->ndims;
    uint8_t magic[4];
    int status = read_header_bytes(r, magic, sizeof magic, "the IDX magic number");
    if (status != SEQGEN_OK)
        return status;
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
    status = read_header_bytes(r, sizes, 4 * ndims, "the IDX dimension sizes");
    if (status != SEQGEN_OK)
        return status;
    uint64_t total = 1;
    int overflow = 0;
    for (uint32_t d = 0; d < ndims; d++)
        r->dims[d] = big_endian_u32(sizes + 4 * d);
    for (uint32_t d = 0; d < ndims; d++) {
        if (r->dims[d] == 0)
            return sg_error(SEQGEN_EOVERFLOW, "%s: IDX dimension %u of %u has size 0", r->path,
                            d + 1, ndims);
        if (total > UINT64_MAX / r->dims[d])
            overflow = 1;
        else
            total *= r->dims[d];
    }
    if (overflow || total > max_bytes || total > SIZE_MAX) {
        char claim[96], bytes[48];
        describe_dims(claim, sizeof claim, r->dims, ndims);
        if (overflow)
            snprintf(bytes, sizeof bytes, "2^64 bytes or more");
        else
            snprintf(bytes, sizeof bytes, "%llu bytes", (unsigned long long)total);
        return sg_error(SEQGEN_EOVERFLOW, "%s: header says %s (%s), more than the limit of %llu "
                        "bytes (seqgen_data_limits.max_bytes)", r->path, claim, bytes,
                        (unsigned long long)(max_bytes < SIZE_MAX ? max_bytes : SIZE_MAX));
    }
    r->payload = total;
    return SEQGEN_OK;
}

int sg_idx_open(sg_idx_reader *r, const char *path, uint32_t ndims, uint64_t max_bytes)
{
    if (!r)
        return sg_error(SEQGEN_EINVAL, "sg_idx_open: NULL reader");
    memset(r, 0, sizeof *r);
    r->fd = -1;
    if (!path || ndims < 1 || ndims > SG_IDX_MAX_DIMS)
        return sg_error(SEQGEN_EINVAL, "sg_idx_open: bad arguments (path %p, ndims %u)",
                        (const void *)path, ndims);
    r->path = path;
    r->ndims = ndims;
    int status = sg_open_regular(path, &r->fd, &r->file_size);
    if (status != SEQGEN_OK)
        return status;
    if (!(r->in = sg_malloc(INPUT_SIZE))) {
        sg_idx_close(r);
        return sg_error(SEQGEN_ENOMEM, "%s: cannot allocate an input buffer", path);
    }
    r->z.next_in = r->in;
    size_t got;
    status = fill_input(r, &got);
    if (status == SEQGEN_OK && r->z.avail_in >= 2 && r->in[0] == 0x1f && r->in[1] == 0x8b) {
        r->gzip = 1;
        r->z.zalloc = zlib_alloc;
        r->z.zfree = zlib_free;
        int ret = inflateInit2(&r->z, 16 + MAX_WBITS); /* gzip only */
        if (ret == Z_OK)
            r->z_ready = 1;
        else
            status = inflate_error(r, ret, 0);
    }
    if (status == SEQGEN_OK)
        status = read_header(r, max_bytes);
    if (status != SEQGEN_OK)
        sg_idx_close(r);
    return status;
}

/* ---- The payload and the end ---------------------------------------------------------------- */

/* After the payload: the data must end, and with it the file, after a whole gzip member. */
static int check_end(sg_idx_reader *r)
{
    uint8_t scratch[4096];
    uint64_t extra = 0;
    size_t got;
    int status;
    while (extra < TRAILING_COUNT_LIMIT) {
        if ((status = read_data(r, scratch, sizeof scratch, &got)) != SEQGEN_OK)
            return status;
        if (got == 0)
            break;
        extra += got;
    }
    if (extra > 0)
        return sg_error(SEQGEN_ETRAILING, "%s: %s%llu unexpected bytes after the %llu bytes of %s",
                        r->path, extra >= TRAILING_COUNT_LIMIT ? "at least " : "",
                        (unsigned long long)extra, (unsigned long long)r->payload,
                        payload_noun(r->ndims));
    if (r->cut)
        return sg_error(SEQGEN_ETRUNCATED, "%s: the gzip stream is cut short: the file ends after "
                        "%llu bytes, inside member %u, without its whole 8-byte trailer (CRC-32 "
                        "and length), so the %llu bytes of %s cannot be checked", r->path,
                        (unsigned long long)r->offset, r->members,
                        (unsigned long long)r->payload, payload_noun(r->ndims));
    return SEQGEN_OK;
}

static int payload_truncated(const sg_idx_reader *r, uint64_t have)
{
    char claim[96], note[128];
    describe_dims(claim, sizeof claim, r->dims, r->ndims);
    return sg_error(SEQGEN_ETRUNCATED, "%s: header says %s but the file holds %llu bytes of %s%s",
                    r->path, claim, (unsigned long long)have, payload_noun(r->ndims),
                    cut_note(r, note, sizeof note));
}

int sg_idx_read_payload(sg_idx_reader *r, uint8_t **out)
{
    if (!r || !out || r->fd < 0)
        return sg_error(SEQGEN_EINVAL, "sg_idx_read_payload: NULL argument or closed reader");
    const uint64_t claim = r->payload;
    uint64_t capacity = claim;
    if (!r->gzip) {
        /* A regular file's size is known: a short one is reported without reading it. */
        uint64_t left = r->file_size > consumed(r) ? r->file_size - consumed(r) : 0;
        if (left < claim)
            return payload_truncated(r, left);
    } else if (claim > GROWTH_START && claim > r->file_size) {
        capacity = r->file_size > GROWTH_START ? r->file_size : GROWTH_START;
    }
    uint8_t *data = sg_malloc((size_t)capacity);
    if (!data)
        return sg_error(SEQGEN_ENOMEM, "%s: cannot allocate %llu bytes for the %s", r->path,
                        (unsigned long long)capacity, payload_noun(r->ndims));
    uint64_t have = 0;
    int status;
    for (;;) {
        size_t got;
        if ((status = read_data(r, data + have, (size_t)(capacity - have), &got)) != SEQGEN_OK)
            break;
        have += got;
        if (have < capacity || have == claim)
            break;
        uint64_t grown = capacity * 2 < claim ? capacity * 2 : claim; /* the buffer is full */
        uint8_t *bigger = sg_realloc(data, (size_t)grown);
        if (!bigger) {
            status = sg_error(SEQGEN_ENOMEM, "%s: cannot allocate %llu bytes for the %s (%llu "
                              "read so far)", r->path, (unsigned long long)grown,
                              payload_noun(r->ndims), (unsigned long long)have);
            break;
        }
        data = bigger;
        capacity = grown;
    }
    if (status == SEQGEN_OK && have < claim)
        status = payload_truncated(r, have);
    if (status == SEQGEN_OK)
        status = check_end(r);
    if (status != SEQGEN_OK) {
        free(data);
        return status;
    }
    *out = data;
    return SEQGEN_OK;
}

void sg_idx_close(sg_idx_reader *r)
{
    if (!r)
        return;
    if (r->z_ready)
        inflateEnd(&r->z);
    r->z_ready = 0;
    free(r->in);
    r->in = NULL;
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

int sg_idx_read(const char *path, uint32_t ndims, sg_idx *out)
{
    if (!path || !out)
        return sg_error(SEQGEN_EINVAL, "sg_idx_read: NULL %s", !path ? "path" : "out");
    if (ndims < 1 || ndims > SG_IDX_MAX_DIMS)
        return sg_error(SEQGEN_EINVAL, "%s: %u dimensions asked, not 1 to %u", path, ndims,
                        SG_IDX_MAX_DIMS);
    sg_idx_reader r;
    int status = sg_idx_open(&r, path, ndims, SG_IDX_MAX_BYTES);
    if (status != SEQGEN_OK)
        return status;
    uint8_t *data = NULL;
    status = sg_idx_read_payload(&r, &data);
    sg_idx_close(&r);
    if (status != SEQGEN_OK)
        return status;
    out->data = data;
    out->size = (size_t)r.payload;
    out->ndims = ndims;
    memcpy(out->dims, r.dims, sizeof r.dims);
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
