/* The tagged-section container of checkpoints (docs/checkpoint-format.md): a file header, tagged
 * sections each with its own CRC-32, and a CRC-32 of the whole file. A writer builds the file in
 * memory (saved with sg_write_file_atomic()); a reader checks every size and CRC of a file before
 * any section is interpreted, then reads each payload's fields through a bounds-checked section
 * reader. This layer knows nothing of models: checkpoint_sections.c gives the sections their
 * meaning.
 * All integers and floats are little-endian, whatever the host. */
#ifndef SEQGEN_SECTIONS_H
#define SEQGEN_SECTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define SG_CKPT_VERSION 7u  /* the version written (4: MODL holds the vocabulary and embedding;
                               5: the VOCB section, a vocabulary's code points; 6: RUNC says
                               what the data is and how a text was read; 7: MODL's output kind 3,
                               the linear autoregressive head, and the PFDC section, professor
                               forcing's state) */
#define SG_CKPT_OLDEST 3u   /* the oldest read: 1 and 2 lack the data shape and test source */
#define SG_CKPT_HEADER_SIZE 24u  /* magic[8], version u32, section count u32, file size u64 */
#define SG_CKPT_SECTION_HEAD 20u /* tag[4], flags u32, payload length u64, CRC-32 u32 */
#define SG_CKPT_TRAILER_SIZE 4u  /* CRC-32 of every byte before it */
#define SG_CKPT_MAX_FILE ((uint64_t)1 << 32) /* refuse larger files before reading them */
#define SG_CKPT_REQUIRED 1u      /* section flag: a reader that does not know the tag must refuse */

extern const unsigned char sg_ckpt_magic[8];

/* A four-character tag as stored (its bytes in file order). */
#define SG_TAG(a, b, c, d) \
    ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

/* ---- Writing: the whole file is built in memory, then saved with sg_write_file_atomic(). ---- */
typedef struct sg_section_writer {
    unsigned char *data;
    size_t size, capacity;
    size_t section_start; /* offset of the open section's header */
    uint32_t sections;
    int out_of_memory; /* sticky: checked once by sg_writer_finish */
} sg_section_writer;

void sg_writer_init(sg_section_writer *w);
void sg_writer_free(sg_section_writer *w);
void sg_writer_begin_section(sg_section_writer *w, uint32_t tag, uint32_t flags);
void sg_writer_end_section(sg_section_writer *w);
void sg_put_u16(sg_section_writer *w, uint16_t v);
void sg_put_u32(sg_section_writer *w, uint32_t v);
void sg_put_u64(sg_section_writer *w, uint64_t v);
void sg_put_f64(sg_section_writer *w, double v);
void sg_put_f32s(sg_section_writer *w, const float *v, size_t n);
void sg_put_bytes(sg_section_writer *w, const void *bytes, size_t n);
void sg_put_name(sg_section_writer *w, const char *name); /* u16 length, then the bytes */
/* Completes the header and trailer; SEQGEN_ENOMEM if any write above ran out of memory. */
int sg_writer_finish(sg_section_writer *w);

/* ---- Reading: the whole file is validated (sizes, CRCs, version) before any section is
 * interpreted. ---- */
typedef struct sg_section {
    uint32_t tag, flags;
    uint64_t offset; /* of the payload in the file, for messages */
    uint64_t size;
    const unsigned char *payload;
} sg_section;

typedef struct sg_section_file {
    unsigned char *data;
    size_t size;
    uint32_t version;
    uint32_t count;
    sg_section *sections;
} sg_section_file;

/* Reads and checks `path`; on failure nothing is kept and the detail names the problem. */
int sg_section_file_read(const char *path, sg_section_file *file);
void sg_section_file_close(sg_section_file *file);

/* "TENS" etc. for messages; non-printable bytes as '?'. */
void sg_tag_text(uint32_t tag, char text[5]);

/* A bounds-checked reader over one section's payload. The first failure is sticky: later reads
 * return zeros and `status` keeps the first error, whose detail names the section and field. */
typedef struct sg_section_reader {
    const sg_section *section;
    uint64_t at; /* bytes consumed */
    int status;
} sg_section_reader;

void sg_reader_init(sg_section_reader *c, const sg_section *section);
uint16_t sg_get_u16(sg_section_reader *c, const char *field);
uint32_t sg_get_u32(sg_section_reader *c, const char *field);
uint64_t sg_get_u64(sg_section_reader *c, const char *field);
double sg_get_f64(sg_section_reader *c, const char *field);
/* A name (u16 length, 1..SG_CKPT_MAX_NAME bytes of [A-Za-z0-9_.]) into text[SG_CKPT_MAX_NAME+1]. */
#define SG_CKPT_MAX_NAME 255
void sg_get_name(sg_section_reader *c, char *text, const char *field);
/* Points at the next n bytes without copying. */
const unsigned char *sg_get_bytes(sg_section_reader *c, uint64_t n, const char *field);
/* Points at the next n * 4 bytes (little-endian float32) without copying. */
const unsigned char *sg_get_f32s(sg_section_reader *c, uint64_t n, const char *field);
/* Fails unless the whole payload was consumed. */
int sg_reader_end(sg_section_reader *c);
/* Records an error about this section (its tag and offset prefixed) and makes it sticky. */
int sg_reader_fail(sg_section_reader *c, int status, const char *fmt, ...) SG_PRINTF(3, 4);

/* Decodes n little-endian float32 values. */
void sg_decode_f32s(const unsigned char *src, uint64_t n, float *dst);

#endif
