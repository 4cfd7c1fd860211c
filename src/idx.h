/* The IDX file format of MNIST (Y. LeCun, yann.lecun.com/exdb/mnist): a 4-byte big-endian magic
 * `0x00 0x00 TYPE NDIMS`, NDIMS big-endian uint32 sizes, then the elements in row-major order.
 * Only unsigned bytes (TYPE 0x08) are supported. A file is plain or gzip (RFC 1952, told by its
 * first two bytes, 0x1f 0x8b); gzip is decoded with zlib's inflate, member by member, each
 * member's trailer (CRC-32 and length) verified. Only regular files are read. */
#ifndef SEQGEN_IDX_H
#define SEQGEN_IDX_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#define SG_IDX_TYPE_UBYTE 0x08u
#define SG_IDX_MAX_DIMS 3u
/* The payload limit of sg_idx_read (1 GiB), the default of seqgen_data_limits.max_bytes. */
#define SG_IDX_MAX_BYTES ((uint64_t)1 << 30)

typedef struct sg_idx {
    uint8_t *data;                   /* dims[0] * ... * dims[ndims-1] bytes, owned */
    size_t size;                     /* number of bytes in data */
    uint32_t ndims;
    uint32_t dims[SG_IDX_MAX_DIMS];
} sg_idx;

/* An IDX file whose header has been read and checked, its payload not yet: the caller can check
 * the sizes (e.g. against a dataset's limits, or another file's) before anything is allocated for
 * them. Read only ndims, dims and payload; the rest is the reader's. */
typedef struct sg_idx_reader {
    uint32_t ndims;
    uint32_t dims[SG_IDX_MAX_DIMS];
    uint64_t payload; /* the bytes of data the header announces: the product of dims */
    const char *path;
    int fd;             /* -1 once closed */
    int gzip;           /* 1: a gzip file, decoded by z; 0: plain, z.next_in/avail_in buffer it */
    int in_member;      /* gzip: inside a member, its trailer not yet checked */
    int cut;            /* gzip: the file ended inside a member */
    unsigned members;   /* gzip: members begun */
    uint64_t member_at; /* gzip: the byte of the file where the current member begins */
    uint64_t file_size; /* bytes, from fstat */
    uint64_t offset;    /* file bytes read so far (some may wait in the input buffer) */
    uint64_t produced;  /* data bytes read so far, header included (decompressed for gzip) */
    unsigned char *in;  /* the input buffer */
    z_stream z;
    int z_ready; /* inflateInit2 succeeded: inflateEnd is due */
} sg_idx_reader;

/* Opens the IDX file at `path` and reads its header, which must have exactly `ndims` dimensions
 * (1 to SG_IDX_MAX_DIMS) of unsigned bytes, none of size 0, and a payload of at most
 * `max_bytes`. On success `r` is open (sg_idx_close releases it); on failure nothing is left
 * open or allocated. Status: ENOENT (no such file), EIO (cannot open or read), EFORMAT (not a
 * regular file; bad magic, type or number of dimensions), EOVERFLOW (a size of 0, a payload above
 * max_bytes), ETRUNCATED (ends within the header), ECOMPRESSED (corrupt gzip data), ENOMEM. The
 * detail message starts with `path` and names the sizes; gzip errors name the byte of the file
 * where inflate stopped and the bytes decompressed before it. */
int sg_idx_open(sg_idx_reader *r, const char *path, uint32_t ndims, uint64_t max_bytes);

/* Reads the payload (r->payload bytes, malloc'ed into *data, to be freed by the caller) and checks
 * that the file ends there: no data after it, every gzip member ended by its verified trailer, no
 * bytes after the last member. The buffer grows with the data actually read, so a header claiming
 * more than the file holds cannot make it allocate much more than the file decompresses to. On
 * failure *data is untouched and the status is ETRUNCATED (the data, or a gzip member, ends
 * early), ETRAILING (data after the payload, or bytes after the last gzip member), ECOMPRESSED
 * (corrupt gzip data, a CRC-32 or length that does not match), EIO or ENOMEM. Once per reader. */
int sg_idx_read_payload(sg_idx_reader *r, uint8_t **data);

/* Closes the file and frees the reader's buffers; a closed or failed-to-open reader is fine. */
void sg_idx_close(sg_idx_reader *r);

/* The three steps above with max_bytes = SG_IDX_MAX_BYTES: on success fills `out`, to be released
 * with sg_idx_free; on failure `out` is untouched and nothing is allocated. */
int sg_idx_read(const char *path, uint32_t ndims, sg_idx *out);

/* Releases what sg_idx_read allocated; `idx` may be NULL or already freed. */
void sg_idx_free(sg_idx *idx);

#endif
