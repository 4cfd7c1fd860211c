/* The checkpoint container: building it in memory, reading it back with every size and CRC
 * checked before anything in it is trusted. Layout in docs/checkpoint-format.md. */
#include "sections.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "alloc.h"
#include "regular_file.h"

/* PNG-style: a high byte catches 7-bit transfers, CR LF and ^Z catch text-mode conversions. */
const unsigned char sg_ckpt_magic[8] = {0x89, 'S', 'G', 'C', 'K', '\r', '\n', 0x1a};

/* ---- Little-endian encoding ---------------------------------------------------------------- */

static void store_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t load_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t crc_of(uint32_t crc, const unsigned char *p, uint64_t n)
{
    /* zlib's crc32 takes a uInt length: feed large buffers in pieces. */
    while (n > 0) {
        uInt piece = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, p, piece);
        p += piece;
        n -= piece;
    }
    return crc;
}

void sg_tag_text(uint32_t tag, char text[5])
{
    for (int i = 0; i < 4; i++) {
        unsigned char ch = (unsigned char)(tag >> (8 * i));
        text[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    text[4] = '\0';
}

/* ---- Writer ---------------------------------------------------------------------------------- */

/* Reserves n bytes at the end; NULL (and the sticky flag) if memory runs out. */
static unsigned char *grow(sg_section_writer *w, size_t n)
{
    if (w->out_of_memory)
        return NULL;
    if (n > w->capacity - w->size) {
        size_t capacity = w->capacity ? w->capacity : 4096;
        while (capacity - w->size < n) {
            if (capacity > SIZE_MAX / 2) {
                w->out_of_memory = 1;
                return NULL;
            }
            capacity *= 2;
        }
        unsigned char *data = sg_realloc(w->data, capacity);
        if (!data) {
            w->out_of_memory = 1;
            return NULL;
        }
        w->data = data;
        w->capacity = capacity;
    }
    unsigned char *p = w->data + w->size;
    w->size += n;
    return p;
}

static void put_le(sg_section_writer *w, uint64_t v, int bytes)
{
    unsigned char *p = grow(w, (size_t)bytes);
    if (p)
        store_le(p, v, bytes);
}

void sg_writer_init(sg_section_writer *w)
{
    memset(w, 0, sizeof *w);
    unsigned char *p = grow(w, SG_CKPT_HEADER_SIZE);
    if (p) /* version now; section count and size at the end */
        memset(p, 0, SG_CKPT_HEADER_SIZE);
}

void sg_writer_free(sg_section_writer *w)
{
    free(w->data);
    memset(w, 0, sizeof *w);
}

void sg_put_u16(sg_section_writer *w, uint16_t v) { put_le(w, v, 2); }
void sg_put_u32(sg_section_writer *w, uint32_t v) { put_le(w, v, 4); }
void sg_put_u64(sg_section_writer *w, uint64_t v) { put_le(w, v, 8); }

void sg_put_f64(sg_section_writer *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_le(w, bits, 8);
}

void sg_put_f32s(sg_section_writer *w, const float *v, size_t n)
{
    if (n > SIZE_MAX / 4) {
        w->out_of_memory = 1;
        return;
    }
    unsigned char *p = grow(w, n * 4);
    for (size_t i = 0; p && i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], sizeof bits);
        store_le(p + 4 * i, bits, 4);
    }
}

void sg_put_bytes(sg_section_writer *w, const void *bytes, size_t n)
{
    unsigned char *p = grow(w, n);
    if (p)
        memcpy(p, bytes, n);
}

void sg_put_name(sg_section_writer *w, const char *name)
{
    size_t n = strlen(name);
    sg_put_u16(w, (uint16_t)n);
    sg_put_bytes(w, name, n);
}

void sg_writer_begin_section(sg_section_writer *w, uint32_t tag, uint32_t flags)
{
    w->section_start = w->size;
    sg_put_u32(w, tag);
    sg_put_u32(w, flags);
    sg_put_u64(w, 0); /* length, patched by sg_writer_end_section */
    sg_put_u32(w, 0); /* CRC, likewise */
}

void sg_writer_end_section(sg_section_writer *w)
{
    if (w->out_of_memory)
        return;
    unsigned char *head = w->data + w->section_start;
    size_t payload = w->size - w->section_start - SG_CKPT_SECTION_HEAD;
    store_le(head + 8, payload, 8);
    uint32_t crc = crc_of(0, head, 16);
    crc = crc_of(crc, head + SG_CKPT_SECTION_HEAD, payload);
    store_le(head + 16, crc, 4);
    w->sections++;
}

int sg_writer_finish(sg_section_writer *w)
{
    put_le(w, 0, SG_CKPT_TRAILER_SIZE);
    if (w->out_of_memory)
        return sg_error(SEQGEN_ENOMEM, "out of memory while building a checkpoint");
    memcpy(w->data, sg_ckpt_magic, sizeof sg_ckpt_magic);
    store_le(w->data + 8, SG_CKPT_VERSION, 4);
    store_le(w->data + 12, w->sections, 4);
    store_le(w->data + 16, w->size, 8);
    size_t body = w->size - SG_CKPT_TRAILER_SIZE;
    store_le(w->data + body, crc_of(0, w->data, body), 4);
    return SEQGEN_OK;
}

/* ---- File reader ----------------------------------------------------------------------------- */

static int parse_sections(sg_section_file *file)
{
    const unsigned char *data = file->data;
    uint64_t end = file->size - SG_CKPT_TRAILER_SIZE, at = SG_CKPT_HEADER_SIZE;
    for (uint32_t s = 0; s < file->count; s++) {
        if (end - at < SG_CKPT_SECTION_HEAD)
            return sg_error(SEQGEN_EFORMAT, "section %u of %u: header at byte %llu runs past "
                            "the end of the sections", s, file->count, (unsigned long long)at);
        sg_section *sec = &file->sections[s];
        const unsigned char *head = data + at;
        char tag[5];
        sec->tag = (uint32_t)load_le(head, 4);
        sec->flags = (uint32_t)load_le(head + 4, 4);
        sec->size = load_le(head + 8, 8);
        sec->offset = at + SG_CKPT_SECTION_HEAD;
        sec->payload = data + sec->offset;
        sg_tag_text(sec->tag, tag);
        if (sec->flags & ~SG_CKPT_REQUIRED)
            return sg_error(SEQGEN_EFORMAT, "section '%s' at byte %llu: unknown flags 0x%x",
                            tag, (unsigned long long)at, (unsigned)sec->flags);
        if (sec->size > end - sec->offset)
            return sg_error(SEQGEN_EOVERFLOW, "section '%s' at byte %llu claims %llu bytes but "
                            "only %llu remain", tag, (unsigned long long)at,
                            (unsigned long long)sec->size,
                            (unsigned long long)(end - sec->offset));
        uint32_t crc = crc_of(crc_of(0, head, 16), sec->payload, sec->size);
        if (crc != (uint32_t)load_le(head + 16, 4))
            return sg_error(SEQGEN_ECHECKSUM, "section '%s' at byte %llu: CRC-32 mismatch, the "
                            "file is damaged", tag, (unsigned long long)at);
        at = sec->offset + sec->size;
    }
    if (at != end)
        return sg_error(SEQGEN_ETRAILING, "%llu unexplained bytes after the last section, at "
                        "byte %llu", (unsigned long long)(end - at), (unsigned long long)at);
    return SEQGEN_OK;
}

/* The fixed head, valid in every version: magic bytes and the declared size against the real
 * one. Needs only the first min(size, SG_CKPT_HEADER_SIZE) bytes, so a file that is not a
 * checkpoint, or is cut short, is refused before anything is allocated for it. */
static int check_head(const unsigned char *head, size_t size)
{
    size_t magic_bytes = size < sizeof sg_ckpt_magic ? size : sizeof sg_ckpt_magic;
    if (memcmp(head, sg_ckpt_magic, magic_bytes) != 0)
        return sg_error(SEQGEN_EFORMAT, "not a seqgen checkpoint (wrong magic bytes)");
    if (size < SG_CKPT_HEADER_SIZE + SG_CKPT_TRAILER_SIZE)
        return sg_error(SEQGEN_ETRUNCATED, "file is %zu bytes, shorter than the smallest "
                        "checkpoint", size);
    uint64_t declared = load_le(head + 16, 8);
    if (declared > size)
        return sg_error(SEQGEN_ETRUNCATED, "file is %zu bytes but its header says %llu: it was "
                        "cut short", size, (unsigned long long)declared);
    if (declared < size)
        return sg_error(SEQGEN_ETRAILING, "file is %zu bytes but its header says %llu",
                        size, (unsigned long long)declared);
    return SEQGEN_OK;
}

/* The whole-file CRC, then the version: a damaged version field reads as damage, not as a
 * newer file. */
static int check_body(const unsigned char *data, size_t size, uint32_t *version,
                      uint32_t *count)
{
    uint32_t crc = crc_of(0, data, size - SG_CKPT_TRAILER_SIZE);
    if (crc != (uint32_t)load_le(data + size - SG_CKPT_TRAILER_SIZE, 4))
        return sg_error(SEQGEN_ECHECKSUM, "whole-file CRC-32 mismatch: the file is damaged");
    *version = (uint32_t)load_le(data + 8, 4);
    if (*version == 0)
        return sg_error(SEQGEN_EFORMAT, "format version 0 is invalid");
    if (*version > SG_CKPT_VERSION)
        return sg_error(SEQGEN_EVERSION, "format version %u is newer than this library's "
                        "(%u): upgrade libseqgen", *version, SG_CKPT_VERSION);
    if (*version < SG_CKPT_OLDEST)
        return sg_error(SEQGEN_EVERSION, "format version %u (written by libseqgen 0.%u) is no "
                        "longer read: this library reads versions %u to %u, whose checkpoints "
                        "also record the data's shape; use the file with libseqgen 0.%u, or "
                        "train the model again", *version, *version, SG_CKPT_OLDEST,
                        SG_CKPT_VERSION, *version);
    *count = (uint32_t)load_le(data + 12, 4);
    if (*count > (size - SG_CKPT_HEADER_SIZE) / SG_CKPT_SECTION_HEAD)
        return sg_error(SEQGEN_EOVERFLOW, "header claims %u sections, more than %zu bytes can "
                        "hold", *count, size);
    return SEQGEN_OK;
}

static int parse_file(unsigned char *data, size_t size, sg_section_file *file)
{
    sg_section_file f = {data, size, 0, 0, NULL};
    int status = check_head(data, size);
    if (status == SEQGEN_OK)
        status = check_body(data, size, &f.version, &f.count);
    if (status == SEQGEN_OK && f.count > 0) {
        f.sections = sg_calloc(f.count, sizeof *f.sections);
        status = f.sections ? parse_sections(&f) : sg_error(SEQGEN_ENOMEM, "out of memory");
    }
    if (status != SEQGEN_OK) {
        sg_section_file_close(&f);
        return status;
    }
    *file = f;
    return SEQGEN_OK;
}

static int read_exactly(FILE *stream, unsigned char *data, size_t size, const char *path)
{
    if (fread(data, 1, size, stream) != size)
        return ferror(stream) ? sg_system_error("read", path, errno)
                              : sg_error(SEQGEN_ETRUNCATED, "%s: file shrank while reading", path);
    return SEQGEN_OK;
}

/* Reads the file once its size and head are known to be sane. */
static int read_checked(FILE *stream, const char *path, unsigned char **out, size_t *out_size)
{
    struct stat st;
    if (fstat(fileno(stream), &st) != 0)
        return sg_system_error("stat", path, errno);
    if ((uint64_t)st.st_size > SG_CKPT_MAX_FILE)
        return sg_error(SEQGEN_EOVERFLOW, "%s: %lld bytes is larger than any checkpoint this "
                        "library reads (%llu)", path, (long long)st.st_size,
                        (unsigned long long)SG_CKPT_MAX_FILE);
    size_t size = (size_t)st.st_size;
    unsigned char head[SG_CKPT_HEADER_SIZE];
    size_t head_size = size < sizeof head ? size : sizeof head;
    int status = read_exactly(stream, head, head_size, path);
    if (status == SEQGEN_OK && (status = check_head(head, size)) != SEQGEN_OK)
        sg_error_prefix(status, path);
    if (status != SEQGEN_OK)
        return status;
    unsigned char *data = sg_malloc(size);
    if (!data)
        return sg_error(SEQGEN_ENOMEM, "%s: out of memory for %zu bytes", path, size);
    memcpy(data, head, head_size);
    status = read_exactly(stream, data + head_size, size - head_size, path);
    if (status == SEQGEN_OK && fgetc(stream) != EOF)
        status = sg_error(SEQGEN_ETRAILING, "%s: file grew while reading", path);
    if (status != SEQGEN_OK) {
        free(data);
        return status;
    }
    *out = data;
    *out_size = size;
    return SEQGEN_OK;
}

/* Opens path as a stream if it is a regular file (regular_file.h). */
static int open_regular(const char *path, FILE **out)
{
    int fd;
    uint64_t size;
    int status = sg_open_regular(path, &fd, &size);
    if (status != SEQGEN_OK)
        return status;
    FILE *stream = fdopen(fd, "rb");
    if (!stream) {
        status = errno == ENOMEM ? sg_error(SEQGEN_ENOMEM, "%s: out of memory", path)
                                 : sg_system_error("open", path, errno);
        close(fd);
        return status;
    }
    *out = stream;
    return SEQGEN_OK;
}

int sg_section_file_read(const char *path, sg_section_file *file)
{
    FILE *stream = NULL;
    int opened = open_regular(path, &stream);
    if (opened != SEQGEN_OK)
        return opened;
    unsigned char *data = NULL;
    size_t size = 0;
    int status = read_checked(stream, path, &data, &size);
    fclose(stream);
    if (status != SEQGEN_OK)
        return status;
    status = parse_file(data, size, file);
    return status == SEQGEN_OK ? status : sg_error_prefix(status, path);
}

void sg_section_file_close(sg_section_file *file)
{
    free(file->data);
    free(file->sections);
    memset(file, 0, sizeof *file);
}

/* ---- Section reader -------------------------------------------------------------------------- */

void sg_reader_init(sg_section_reader *c, const sg_section *section)
{
    c->section = section;
    c->at = 0;
    c->status = SEQGEN_OK;
}

int sg_reader_fail(sg_section_reader *c, int status, const char *fmt, ...)
{
    if (c->status != SEQGEN_OK)
        return c->status;
    char message[512], tag[5];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    sg_tag_text(c->section->tag, tag);
    c->status = sg_error(status, "section '%s' (payload at byte %llu): %s", tag,
                         (unsigned long long)c->section->offset, message);
    return c->status;
}

/* The next n bytes, or NULL after recording why not. */
static const unsigned char *take(sg_section_reader *c, uint64_t n, const char *field)
{
    if (c->status != SEQGEN_OK)
        return NULL;
    if (n > c->section->size - c->at) {
        sg_reader_fail(c, SEQGEN_EFORMAT, "field '%s' needs %llu bytes but only %llu remain", field,
                       (unsigned long long)n, (unsigned long long)(c->section->size - c->at));
        return NULL;
    }
    const unsigned char *p = c->section->payload + c->at;
    c->at += n;
    return p;
}

uint16_t sg_get_u16(sg_section_reader *c, const char *field)
{
    const unsigned char *p = take(c, 2, field);
    return p ? (uint16_t)load_le(p, 2) : 0;
}

uint32_t sg_get_u32(sg_section_reader *c, const char *field)
{
    const unsigned char *p = take(c, 4, field);
    return p ? (uint32_t)load_le(p, 4) : 0;
}

uint64_t sg_get_u64(sg_section_reader *c, const char *field)
{
    const unsigned char *p = take(c, 8, field);
    return p ? load_le(p, 8) : 0;
}

double sg_get_f64(sg_section_reader *c, const char *field)
{
    uint64_t bits = sg_get_u64(c, field);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static int is_name_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.';
}

void sg_get_name(sg_section_reader *c, char *text, const char *field)
{
    text[0] = '\0';
    uint16_t n = sg_get_u16(c, field);
    if (c->status == SEQGEN_OK && (n == 0 || n > SG_CKPT_MAX_NAME)) {
        sg_reader_fail(c, SEQGEN_EFORMAT, "%s is %u bytes long, not 1..%d", field, n,
                       SG_CKPT_MAX_NAME);
        return;
    }
    const unsigned char *p = take(c, n, field);
    if (!p)
        return;
    for (uint16_t i = 0; i < n; i++)
        if (!is_name_char(p[i])) {
            sg_reader_fail(c, SEQGEN_EFORMAT, "%s has a byte 0x%02x outside [A-Za-z0-9_.]", field,
                           p[i]);
            return;
        }
    memcpy(text, p, n);
    text[n] = '\0';
}

const unsigned char *sg_get_bytes(sg_section_reader *c, uint64_t n, const char *field)
{
    return take(c, n, field);
}

const unsigned char *sg_get_f32s(sg_section_reader *c, uint64_t n, const char *field)
{
    if (c->status == SEQGEN_OK && n > UINT64_MAX / 4) {
        sg_reader_fail(c, SEQGEN_EOVERFLOW, "%s: %llu values overflow", field,
                       (unsigned long long)n);
        return NULL;
    }
    return take(c, n * 4, field);
}

int sg_reader_end(sg_section_reader *c)
{
    if (c->status == SEQGEN_OK && c->at != c->section->size)
        sg_reader_fail(c, SEQGEN_ETRAILING, "%llu unexpected bytes after the last field",
                       (unsigned long long)(c->section->size - c->at));
    return c->status;
}

void sg_decode_f32s(const unsigned char *src, uint64_t n, float *dst)
{
    for (uint64_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)load_le(src + 4 * i, 4);
        memcpy(&dst[i], &bits, sizeof bits);
    }
}
