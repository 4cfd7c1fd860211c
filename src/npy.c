/* .npy reader (the format and the rules are in npy.h). The file's size, read from the open
 * descriptor, bounds everything: the header must fit in it and the shape must announce exactly
 * the bytes after the header, both checked before the data is allocated. */
#include "npy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "regular_file.h"
#include "status.h"

#define MAGIC "\x93NUMPY"
#define MAGIC_SIZE 6u
#define READ_CHUNK ((size_t)1 << 30) /* per read() call: Linux reads at most ~2 GiB at once */

/* What the header's dict says, before its values are checked. */
typedef struct header {
    const char *descr; /* inside the header text, not NUL-terminated */
    size_t descr_size;
    int fortran_order;
    uint32_t ndim;     /* all the sizes in the tuple, even beyond SG_NPY_MAX_DIMS */
    uint64_t shape[SG_NPY_MAX_DIMS];
} header;

/* The dict's keys, each required once; bit k of a `seen` mask stands for KEYS[k]. */
static const char *const KEYS[3] = {"descr", "fortran_order", "shape"};

/* The header text being parsed; `base` is its offset in the file, for messages. */
typedef struct parser {
    const char *path;
    const char *text;
    size_t size, pos, base;
} parser;

/* "PATH: bad .npy header at byte N: WHAT", N an offset in the file; the end of the text is
 * reported at its last byte, the '\n', to name a byte of the header. */
static int header_error(const parser *p, int status, size_t at, const char *fmt, ...)
    SG_PRINTF(4, 5);
static int header_error(const parser *p, int status, size_t at, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (at >= p->size && p->size > 0)
        at = p->size - 1;
    return sg_error(status, "%s: bad .npy header at byte %zu: %s", p->path, p->base + at, what);
}

static char peek(const parser *p) { return p->pos < p->size ? p->text[p->pos] : '\0'; }

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static void skip_space(parser *p)
{
    while (is_space(peek(p)))
        p->pos++;
}

/* A quoted string on one line, without escapes (no value we accept needs one); *start and *size
 * give its contents. */
static int parse_string(parser *p, const char *what, const char **start, size_t *size)
{
    char quote = peek(p);
    if (quote != '\'' && quote != '"')
        return header_error(p, SEQGEN_EFORMAT, p->pos, "expected %s in quotes", what);
    size_t open = p->pos++;
    for (; peek(p) != quote; p->pos++) {
        if (peek(p) == '\\')
            return header_error(p, SEQGEN_EFORMAT, p->pos, "escape in a string");
        if (peek(p) == '\n' || peek(p) == '\0') /* the header ends in '\n' */
            return header_error(p, SEQGEN_EFORMAT, open, "string not closed on its line");
    }
    *start = p->text + open + 1;
    *size = p->pos - open - 1;
    p->pos++;
    return SEQGEN_OK;
}

/* A non-negative decimal integer as Python writes it: no sign, no leading zero, no '_'. */
static int parse_size(parser *p, uint64_t *value)
{
    size_t start = p->pos;
    if (peek(p) < '0' || peek(p) > '9')
        return header_error(p, SEQGEN_EFORMAT, start, "expected a non-negative integer in shape");
    if (peek(p) == '0' && p->pos + 1 < p->size && p->text[p->pos + 1] >= '0' &&
        p->text[p->pos + 1] <= '9')
        return header_error(p, SEQGEN_EFORMAT, start, "integer with a leading zero in shape");
    uint64_t v = 0;
    while (peek(p) >= '0' && peek(p) <= '9') {
        unsigned digit = (unsigned)(peek(p) - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return header_error(p, SEQGEN_EOVERFLOW, start,
                                "size in shape does not fit in 64 bits");
        v = v * 10 + digit;
        p->pos++;
    }
    *value = v;
    return SEQGEN_OK;
}

/* "(5,)", "(3, 4)", "(2, 3, 4,)", "()": Python's tuple syntax, where "(5)" is not a tuple. */
static int parse_shape(parser *p, header *h)
{
    if (peek(p) != '(')
        return header_error(p, SEQGEN_EFORMAT, p->pos, "shape must be a tuple such as (3, 4)");
    size_t open = p->pos++;
    int comma = 0;
    skip_space(p);
    while (peek(p) != ')') {
        uint64_t size = 0;
        int status = parse_size(p, &size);
        if (status != SEQGEN_OK)
            return status;
        if (h->ndim < SG_NPY_MAX_DIMS)
            h->shape[h->ndim] = size;
        h->ndim++;
        skip_space(p);
        comma = peek(p) == ',';
        if (!comma && peek(p) != ')')
            return header_error(p, SEQGEN_EFORMAT, p->pos, "expected ',' or ')' in shape");
        if (comma)
            p->pos++;
        skip_space(p);
    }
    if (h->ndim == 1 && !comma)
        return header_error(p, SEQGEN_EFORMAT, open, "shape (%llu) is not a tuple: write (%llu,)",
                            (unsigned long long)h->shape[0], (unsigned long long)h->shape[0]);
    p->pos++;
    return SEQGEN_OK;
}

/* True or False, as a whole word. */
static int parse_bool(parser *p, int *value)
{
    const char *rest = p->text + p->pos;
    size_t left = p->size - p->pos, n = 0;
    if (left >= 4 && memcmp(rest, "True", 4) == 0)
        n = 4;
    else if (left >= 5 && memcmp(rest, "False", 5) == 0)
        n = 5;
    if (n == 0 || (n < left && !is_space(rest[n]) && rest[n] != ',' && rest[n] != '}'))
        return header_error(p, SEQGEN_EFORMAT, p->pos, "fortran_order must be True or False");
    *value = n == 4;
    p->pos += n;
    return SEQGEN_OK;
}

/* One `'key': value` of the dict; `seen` has a bit per key already read. */
static int parse_entry(parser *p, header *h, unsigned *seen)
{
    const char *key;
    size_t key_size, key_at = p->pos;
    int status = parse_string(p, "a key", &key, &key_size);
    if (status != SEQGEN_OK)
        return status;
    unsigned k = 0;
    while (k < 3 && !(strlen(KEYS[k]) == key_size && memcmp(KEYS[k], key, key_size) == 0))
        k++;
    if (k == 3)
        return header_error(p, SEQGEN_EFORMAT, key_at,
                            "unknown key '%.*s' (the keys are 'descr', 'fortran_order' and "
                            "'shape')",
                            key_size > 40 ? 40 : (int)key_size, key);
    if (*seen & 1u << k)
        return header_error(p, SEQGEN_EFORMAT, key_at, "key '%s' appears twice", KEYS[k]);
    *seen |= 1u << k;
    skip_space(p);
    if (peek(p) != ':')
        return header_error(p, SEQGEN_EFORMAT, p->pos, "expected ':' after '%s'", KEYS[k]);
    p->pos++;
    skip_space(p);
    if (k == 1)
        return parse_bool(p, &h->fortran_order);
    if (k == 2)
        return parse_shape(p, h);
    if (peek(p) == '[')
        return header_error(p, SEQGEN_EFORMAT, p->pos,
                            "descr is a list: structured dtypes are not supported");
    return parse_string(p, "the descr", &h->descr, &h->descr_size);
}

/* The whole header text: ASCII, the dict, then spaces and newlines up to the final '\n'. */
static int parse_header(parser *p, header *h)
{
    for (size_t i = 0; i < p->size; i++) {
        unsigned char c = (unsigned char)p->text[i];
        if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c > 0x7e)
            return header_error(p, SEQGEN_EFORMAT, i, "byte 0x%02x is not printable ASCII", c);
    }
    if (p->size == 0 || p->text[p->size - 1] != '\n')
        return header_error(p, SEQGEN_EFORMAT, p->size ? p->size - 1 : 0,
                            "the header does not end in a newline");
    if (peek(p) != '{')
        return header_error(p, SEQGEN_EFORMAT, 0, "expected '{'");
    p->pos++;
    unsigned seen = 0;
    for (;;) {
        skip_space(p);
        if (peek(p) == '}')
            break;
        int status = parse_entry(p, h, &seen);
        if (status != SEQGEN_OK)
            return status;
        skip_space(p);
        if (peek(p) == ',')
            p->pos++;
        else if (peek(p) != '}')
            return header_error(p, SEQGEN_EFORMAT, p->pos, "expected ',' or '}'");
    }
    for (unsigned k = 0; k < 3; k++)
        if (!(seen & 1u << k))
            return header_error(p, SEQGEN_EFORMAT, p->pos, "missing key '%s'", KEYS[k]);
    for (p->pos++; p->pos < p->size; p->pos++) {
        char c = p->text[p->pos];
        if (c != ' ' && c != '\n')
            return header_error(p, SEQGEN_EFORMAT, p->pos,
                                c < ' ' ? "byte 0x%02x after the closing '}'"
                                        : "'%c' after the closing '}'", c);
    }
    return SEQGEN_OK;
}

/* The dtypes read, by descr without its byte-order character. */
static const struct {
    char code[3];
    sg_npy_type type;
    unsigned size;
} DTYPES[] = {
    {"b1", SG_NPY_BOOL, 1}, {"u1", SG_NPY_U8, 1},  {"i1", SG_NPY_I8, 1},
    {"u2", SG_NPY_U16, 2},  {"i2", SG_NPY_I16, 2}, {"u4", SG_NPY_U32, 4},
    {"i4", SG_NPY_I32, 4},  {"u8", SG_NPY_U64, 8}, {"i8", SG_NPY_I64, 8},
};

static unsigned type_size(sg_npy_type type)
{
    for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (DTYPES[i].type == type)
            return DTYPES[i].size;
    return 0;
}

/* Finds the dtype of `descr`; *big tells whether its bytes are big-endian. */
static int parse_descr(const char *path, const header *h, sg_npy_type *type, int *big)
{
    const char *d = h->descr;
    if (h->descr_size == 3 && (d[0] == '<' || d[0] == '>' || d[0] == '|'))
        for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
            if (memcmp(d + 1, DTYPES[i].code, 2) == 0 && (DTYPES[i].size == 1 || d[0] != '|')) {
                *type = DTYPES[i].type;
                *big = d[0] == '>';
                return SEQGEN_OK;
            }
    return sg_error(SEQGEN_EFORMAT,
                    "%s: dtype '%.*s' is not supported: only bool ('|b1') and integers ('|u1', "
                    "'|i1'; u2 i2 u4 i4 u8 i8 as '<' little- or '>' big-endian) are read",
                    path, h->descr_size > 40 ? 40 : (int)h->descr_size, d);
}

/* "(3, 4)", for messages. */
static void describe_shape(char *text, size_t size, const uint64_t *shape, uint32_t ndim)
{
    size_t n = (size_t)snprintf(text, size, "(");
    for (uint32_t d = 0; d < ndim && n < size; d++)
        n += (size_t)snprintf(text + n, size - n, "%llu%s", (unsigned long long)shape[d],
                              ndim == 1 ? ",)" : d + 1 < ndim ? ", " : ")");
}

/* Checks what the header says and fills npy's type, ndim, shape and count; *big and *bytes say
 * how the data is stored. */
static int check_header(const char *path, const header *h, sg_npy *npy, int *big, uint64_t *bytes)
{
    int status = parse_descr(path, h, &npy->type, big);
    if (status != SEQGEN_OK)
        return status;
    if (h->fortran_order)
        return sg_error(SEQGEN_EFORMAT, "%s: Fortran order (column-major) is not supported: save "
                        "with np.ascontiguousarray", path);
    if (h->ndim == 0 || h->ndim > SG_NPY_MAX_DIMS)
        return sg_error(SEQGEN_EFORMAT, "%s: shape has %u dimensions%s: only arrays of 1 to %u "
                        "dimensions are read", path, h->ndim, h->ndim ? "" : " (a scalar)",
                        SG_NPY_MAX_DIMS);
    char shape[96];
    describe_shape(shape, sizeof shape, h->shape, h->ndim);
    uint64_t size = type_size(npy->type), limit = SIZE_MAX, count = 1;
    for (uint32_t d = 0; d < h->ndim; d++) {
        if (h->shape[d] == 0)
            return sg_error(SEQGEN_EOVERFLOW, "%s: shape %s has a size of 0: the array is empty",
                            path, shape);
        if (h->shape[d] > limit / size / count)
            return sg_error(SEQGEN_EOVERFLOW, "%s: shape %s of %llu-byte elements is more bytes "
                            "than this machine can address", path, shape, (unsigned long long)size);
        count *= h->shape[d];
    }
    npy->count = (size_t)count;
    npy->ndim = h->ndim;
    memcpy(npy->shape, h->shape, sizeof npy->shape);
    *bytes = count * size;
    return SEQGEN_OK;
}

/* Reads up to n bytes, fewer only at the end of the file; errno on a read error, else 0. */
static int read_full(int fd, void *buf, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        size_t chunk = n - *got < READ_CHUNK ? n - *got : READ_CHUNK;
        ssize_t r = read(fd, (char *)buf + *got, chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno;
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return 0;
}

/* Reads exactly n bytes that the file's size promised: fewer means it shrank meanwhile. */
static int read_exactly(int fd, const char *path, void *buf, size_t n)
{
    size_t got;
    int err = read_full(fd, buf, n, &got);
    if (err != 0)
        return sg_error(SEQGEN_EIO, "%s: read error: %s", path, strerror(err));
    if (got < n)
        return sg_error(SEQGEN_ETRUNCATED, "%s: file shrank while being read", path);
    return SEQGEN_OK;
}

/* The magic, the version and the header length; *start is where the header text begins. */
static int read_preamble(int fd, const char *path, uint64_t file_size, uint32_t *length,
                         size_t *start)
{
    uint8_t pre[12];
    size_t got;
    int err = read_full(fd, pre, 10, &got);
    if (err != 0)
        return sg_error(SEQGEN_EIO, "%s: read error: %s", path, strerror(err));
    if (memcmp(pre, MAGIC, got < MAGIC_SIZE ? got : MAGIC_SIZE) != 0)
        return sg_error(SEQGEN_EFORMAT, "%s: not a .npy file (it does not start with \\x93NUMPY)",
                        path);
    if (got < 10)
        return sg_error(SEQGEN_ETRUNCATED, "%s: file ends after %zu bytes, inside the .npy "
                        "preamble (magic, version, header length)", path, got);
    if (pre[6] < 1 || pre[6] > 3 || pre[7] != 0)
        return sg_error(SEQGEN_EVERSION, "%s: .npy format version %u.%u is not supported (only "
                        "1.0, 2.0 and 3.0)", path, pre[6], pre[7]);
    *start = pre[6] == 1 ? 10 : 12;
    if (*start == 12 && (err = read_full(fd, pre + 10, 2, &got)) == 0 && got < 2)
        return sg_error(SEQGEN_ETRUNCATED, "%s: file ends after %zu bytes, inside the .npy "
                        "preamble (magic, version, header length)", path, 10 + got);
    if (err != 0)
        return sg_error(SEQGEN_EIO, "%s: read error: %s", path, strerror(err));
    *length = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
    if (*start == 12)
        *length |= (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
    if (*length > SG_NPY_MAX_HEADER)
        return sg_error(SEQGEN_EOVERFLOW, "%s: .npy header length %lu (at byte 8) is more than the "
                        "%u bytes accepted", path, (unsigned long)*length, SG_NPY_MAX_HEADER);
    if (*start + (uint64_t)*length > file_size)
        return sg_error(SEQGEN_ETRUNCATED, "%s: the .npy header of %lu bytes from byte %zu runs "
                        "past the end of the %llu-byte file", path, (unsigned long)*length,
                        *start, (unsigned long long)file_size);
    return SEQGEN_OK;
}

static int host_is_big_endian(void)
{
    const uint16_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    return first == 0;
}

/* Reverses the bytes of each of `count` elements of `size` bytes; called with a constant size,
 * so that the compiler unrolls the inner loop into a byte swap. */
static inline void reverse_bytes(uint8_t *p, size_t count, unsigned size)
{
    for (size_t i = 0; i < count; i++, p += size)
        for (unsigned a = 0, b = size - 1; a < b; a++, b--) {
            uint8_t t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

/* Multi-byte elements to host order, in place; bools must be 0 or 1. */
static int convert(const char *path, sg_npy *npy, int big)
{
    uint8_t *bytes = npy->data;
    if (npy->type == SG_NPY_BOOL) {
        for (size_t i = 0; i < npy->count; i++)
            if (bytes[i] > 1)
                return sg_error(SEQGEN_ERANGE, "%s: bool element %zu is %u: a bool must be 0 or 1",
                                path, i, bytes[i]);
        return SEQGEN_OK;
    }
    unsigned size = type_size(npy->type);
    if (size == 1 || big == host_is_big_endian())
        return SEQGEN_OK;
    if (size == 2)
        reverse_bytes(bytes, npy->count, 2);
    else if (size == 4)
        reverse_bytes(bytes, npy->count, 4);
    else
        reverse_bytes(bytes, npy->count, 8);
    return SEQGEN_OK;
}

/* Everything after the open: preamble, header, the size check, the data. */
static int read_npy(int fd, const char *path, uint64_t file_size, sg_npy *npy)
{
    uint32_t length = 0;
    size_t start = 0;
    int status = read_preamble(fd, path, file_size, &length, &start);
    if (status != SEQGEN_OK)
        return status;
    char *text = sg_malloc((size_t)length + 1);
    if (!text)
        return sg_error(SEQGEN_ENOMEM, "%s: cannot allocate %lu bytes for the .npy header", path,
                        (unsigned long)length + 1);
    header h = {NULL, 0, 0, 0, {0}};
    int big = 0;
    uint64_t bytes = 0;
    status = read_exactly(fd, path, text, length);
    if (status == SEQGEN_OK) {
        parser p = {path, text, length, 0, start};
        status = parse_header(&p, &h);
    }
    if (status == SEQGEN_OK)
        status = check_header(path, &h, npy, &big, &bytes);
    free(text); /* h.descr pointed into it: used by the checks only */
    if (status != SEQGEN_OK)
        return status;

    uint64_t data_start = start + (uint64_t)length, rest = file_size - data_start;
    char shape[96];
    describe_shape(shape, sizeof shape, npy->shape, npy->ndim);
    if (bytes > rest)
        return sg_error(SEQGEN_ETRUNCATED, "%s: shape %s announces %llu bytes of data but the file "
                        "has %llu after the header (from byte %llu)", path, shape,
                        (unsigned long long)bytes, (unsigned long long)rest,
                        (unsigned long long)data_start);
    if (bytes < rest)
        return sg_error(SEQGEN_ETRAILING, "%s: %llu unexpected bytes after the %llu bytes of data "
                        "announced by shape %s", path, (unsigned long long)(rest - bytes),
                        (unsigned long long)bytes, shape);
    npy->data = sg_malloc((size_t)bytes);
    if (!npy->data)
        return sg_error(SEQGEN_ENOMEM, "%s: cannot allocate %llu bytes for the data of shape %s",
                        path, (unsigned long long)bytes, shape);
    status = read_exactly(fd, path, npy->data, (size_t)bytes);
    uint8_t extra;
    size_t got = 0;
    if (status == SEQGEN_OK && read_full(fd, &extra, 1, &got) == 0 && got > 0)
        status = sg_error(SEQGEN_ETRAILING, "%s: file grew while being read", path);
    if (status == SEQGEN_OK)
        status = convert(path, npy, big);
    if (status != SEQGEN_OK) {
        free(npy->data);
        npy->data = NULL;
    }
    return status;
}

int sg_npy_read(const char *path, sg_npy *out)
{
    if (!path || !out)
        return sg_error(SEQGEN_EINVAL, "sg_npy_read: NULL %s", !path ? "path" : "out");
    int fd;
    uint64_t size;
    int status = sg_open_regular(path, &fd, &size);
    if (status != SEQGEN_OK)
        return status;
    sg_npy npy = {NULL, 0, SG_NPY_BOOL, 0, {0}};
    status = read_npy(fd, path, size, &npy);
    if (status == SEQGEN_OK)
        *out = npy;
    close(fd);
    return status;
}

const char *sg_npy_type_name(sg_npy_type type)
{
    static const char *const names[] = {"bool",   "uint8", "int8",   "uint16", "int16",
                                        "uint32", "int32", "uint64", "int64"}; /* enum order */
    return (unsigned)type < sizeof names / sizeof names[0] ? names[type] : "unknown";
}

void sg_npy_free(sg_npy *npy)
{
    if (!npy)
        return;
    free(npy->data);
    npy->data = NULL;
    npy->count = 0;
}

int64_t sg_npy_get(const sg_npy *npy, size_t i, int *ok)
{
    if (!npy || !npy->data || i >= npy->count) {
        if (ok)
            *ok = 0;
        return 0;
    }
    switch (npy->type) {
    case SG_NPY_BOOL:
    case SG_NPY_U8: return ((const uint8_t *)npy->data)[i];
    case SG_NPY_I8: return ((const int8_t *)npy->data)[i];
    case SG_NPY_U16: return ((const uint16_t *)npy->data)[i];
    case SG_NPY_I16: return ((const int16_t *)npy->data)[i];
    case SG_NPY_U32: return ((const uint32_t *)npy->data)[i];
    case SG_NPY_I32: return ((const int32_t *)npy->data)[i];
    case SG_NPY_I64: return ((const int64_t *)npy->data)[i];
    case SG_NPY_U64: break;
    }
    uint64_t v = ((const uint64_t *)npy->data)[i];
    if (v <= INT64_MAX)
        return (int64_t)v;
    if (ok)
        *ok = 0;
    return INT64_MAX;
}
