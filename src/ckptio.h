/* The checkpoint container (docs/checkpoint-format.md): a file header, tagged sections each with
 * its own CRC-32, and a CRC-32 of the whole file; plus the atomic file replacement used to save
 * it. This layer knows nothing of models: checkpoint.c gives the sections their meaning.
 * All integers and floats are little-endian, whatever the host. */
#ifndef SEQGEN_CKPTIO_H
#define SEQGEN_CKPTIO_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define SG_CKPT_VERSION 1u
#define SG_CKPT_HEADER_SIZE 24u  /* magic[8], version u32, section count u32, file size u64 */
#define SG_CKPT_SECTION_HEAD 20u /* tag[4], flags u32, payload length u64, CRC-32 u32 */
#define SG_CKPT_TRAILER_SIZE 4u  /* CRC-32 of every byte before it */
#define SG_CKPT_MAX_FILE ((uint64_t)1 << 32) /* refuse larger files before reading them */
#define SG_CKPT_REQUIRED 1u      /* section flag: a reader that does not know the tag must refuse */

extern const unsigned char sg_ckpt_magic[8];

/* A four-character tag as stored (its bytes in file order). */
#define SG_TAG(a, b, c, d) \
    ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

/* ---- Writing: the whole file is built in memory, then saved atomically. ---- */
typedef struct sg_ckpt_writer {
    unsigned char *data;
    size_t size, capacity;
    size_t section_start; /* offset of the open section's header */
    uint32_t sections;
    int out_of_memory; /* sticky: checked once by sg_ckw_finish */
} sg_ckpt_writer;

void sg_ckw_init(sg_ckpt_writer *w);
void sg_ckw_free(sg_ckpt_writer *w);
void sg_ckw_begin_section(sg_ckpt_writer *w, uint32_t tag, uint32_t flags);
void sg_ckw_end_section(sg_ckpt_writer *w);
void sg_ckw_u16(sg_ckpt_writer *w, uint16_t v);
void sg_ckw_u32(sg_ckpt_writer *w, uint32_t v);
void sg_ckw_u64(sg_ckpt_writer *w, uint64_t v);
void sg_ckw_f64(sg_ckpt_writer *w, double v);
void sg_ckw_f32s(sg_ckpt_writer *w, const float *v, size_t n);
void sg_ckw_bytes(sg_ckpt_writer *w, const void *bytes, size_t n);
void sg_ckw_name(sg_ckpt_writer *w, const char *name); /* u16 length, then the bytes */
/* Completes the header and trailer; SEQGEN_ENOMEM if any write above ran out of memory. */
int sg_ckw_finish(sg_ckpt_writer *w);

/* Replaces `path` with `size` bytes: temporary file in the same directory, write, fsync,
 * rename over `path`, fsync the directory. On failure the temporary file is removed and any
 * old `path` is untouched. */
int sg_write_file_atomic(const char *path, const void *data, size_t size);

/* ---- Reading: the whole file is validated (sizes, CRCs, version) before any section is
 * interpreted. ---- */
typedef struct sg_ckpt_section {
    uint32_t tag, flags;
    uint64_t offset; /* of the payload in the file, for messages */
    uint64_t size;
    const unsigned char *payload;
} sg_ckpt_section;

typedef struct sg_ckpt_file {
    unsigned char *data;
    size_t size;
    uint32_t version;
    uint32_t count;
    sg_ckpt_section *sections;
} sg_ckpt_file;

/* Reads and checks `path`; on failure nothing is kept and the detail names the problem. */
int sg_ckpt_read(const char *path, sg_ckpt_file *file);
/* Checks a container already in memory (takes ownership of `data`, freed on failure). */
int sg_ckpt_parse(unsigned char *data, size_t size, sg_ckpt_file *file);
void sg_ckpt_close(sg_ckpt_file *file);

/* "TENS" etc. for messages; non-printable bytes as '?'. */
void sg_tag_text(uint32_t tag, char text[5]);

/* A bounds-checked reader over one section's payload. The first failure is sticky: later reads
 * return zeros and `status` keeps the first error, whose detail names the section and field. */
typedef struct sg_ckpt_cursor {
    const sg_ckpt_section *section;
    uint64_t at; /* bytes consumed */
    int status;
} sg_ckpt_cursor;

void sg_ckc_init(sg_ckpt_cursor *c, const sg_ckpt_section *section);
uint16_t sg_ckc_u16(sg_ckpt_cursor *c, const char *field);
uint32_t sg_ckc_u32(sg_ckpt_cursor *c, const char *field);
uint64_t sg_ckc_u64(sg_ckpt_cursor *c, const char *field);
double sg_ckc_f64(sg_ckpt_cursor *c, const char *field);
/* A name (u16 length, 1..SG_CKPT_MAX_NAME bytes of [A-Za-z0-9_.]) into text[SG_CKPT_MAX_NAME+1]. */
#define SG_CKPT_MAX_NAME 255
void sg_ckc_name(sg_ckpt_cursor *c, char *text, const char *field);
/* Points at the next n * 4 bytes (little-endian float32) without copying. */
const unsigned char *sg_ckc_f32s(sg_ckpt_cursor *c, uint64_t n, const char *field);
/* Fails unless the whole payload was consumed. */
int sg_ckc_end(sg_ckpt_cursor *c);
/* Records an error about this section (its tag and offset prefixed) and makes it sticky. */
int sg_ckc_fail(sg_ckpt_cursor *c, int status, const char *fmt, ...) SG_PRINTF(3, 4);

/* Decodes n little-endian float32 values. */
void sg_decode_f32s(const unsigned char *src, uint64_t n, float *dst);

#endif
