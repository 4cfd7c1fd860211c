/* A strict reader of NumPy's .npy files holding a C-order array of bool or integers, for datasets
 * exported with np.save. The format is NumPy's own (numpy.lib.format; "NEP 1 — A simple file
 * format for NumPy arrays"):
 *
 *   "\x93NUMPY", major version 1, 2 or 3, minor version 0,
 *   the header length HLEN: little-endian uint16 (version 1) or uint32 (versions 2 and 3),
 *   HLEN bytes of header: a Python dict literal such as
 *       {'descr': '<i8', 'fortran_order': False, 'shape': (3, 4), }
 *   padded with spaces and ending in '\n',
 *   then the elements, product(shape) * itemsize bytes, to the end of the file.
 *
 * What is accepted, and nothing else (each refusal has its own status and message):
 * - versions 1.0, 2.0, 3.0 (another version: SEQGEN_EVERSION; not "\x93NUMPY": SEQGEN_EFORMAT);
 * - a header of at most SG_NPY_MAX_HEADER bytes (more: SEQGEN_EOVERFLOW; past the end of the
 *   file: SEQGEN_ETRUNCATED); printable ASCII, tabs, CR and LF only, ending in '\n';
 * - the dict: '{', exactly the keys 'descr', 'fortran_order' and 'shape', once each, in any
 *   order, quoted with ' or ", whitespace between tokens, an optional trailing comma, '}', then
 *   only spaces and newlines (anything else, e.g. another key, a structured dtype's list, escapes
 *   in strings or Python 2's "3L": SEQGEN_EFORMAT naming the byte offset in the file);
 * - descr: '|b1' (bool), '|u1', '|i1' (also written '<' or '>': one byte has no order), and
 *   '<' or '>' with u2 i2 u4 i4 u8 i8. '=' (native order) is refused: NumPy never writes it, and
 *   it would mean the writer's order, which the file does not record. Floats, complex, strings,
 *   objects: SEQGEN_EFORMAT naming the dtype;
 * - fortran_order False (True: SEQGEN_EFORMAT);
 * - shape: a tuple of 1 to SG_NPY_MAX_DIMS decimal integers, written as Python writes tuples
 *   ("(5,)", "(3, 4)"); "()" (a scalar) or more dimensions: SEQGEN_EFORMAT; a 0: SEQGEN_EOVERFLOW
 *   (an empty array); a size or product that overflows uint64 or size_t: SEQGEN_EOVERFLOW;
 * - exactly product(shape) * itemsize bytes after the header (fewer: SEQGEN_ETRUNCATED, more:
 *   SEQGEN_ETRAILING), compared with the file's size before anything is allocated;
 * - bool bytes 0 or 1 (another byte: SEQGEN_ERANGE naming the element).
 * Only regular files are read: a FIFO, device or directory is refused (SEQGEN_EFORMAT) before
 * anything could block on it.
 *
 * There is no limit on the data but what memory allows (SEQGEN_ENOMEM beyond it): the shape must
 * agree with the file's size, so the reader never allocates more than the file holds, and a small
 * file cannot ask for much. The header is bounded because it is read and parsed as one piece of
 * text (NumPy's own reader, since 1.24, refuses headers above 10000 bytes unless told
 * otherwise). */
#ifndef SEQGEN_NPY_H
#define SEQGEN_NPY_H

#include <stddef.h>
#include <stdint.h>

#define SG_NPY_MAX_DIMS 3u
#define SG_NPY_MAX_HEADER 65536u /* bytes of the header text accepted */

typedef enum sg_npy_type {
    SG_NPY_BOOL,
    SG_NPY_U8,
    SG_NPY_I8,
    SG_NPY_U16,
    SG_NPY_I16,
    SG_NPY_U32,
    SG_NPY_I32,
    SG_NPY_U64,
    SG_NPY_I64
} sg_npy_type;

typedef struct sg_npy {
    void *data;   /* the elements, row-major (C order), converted to host byte order, owned */
    size_t count; /* number of elements = product of shape */
    sg_npy_type type;
    uint32_t ndim;
    uint64_t shape[SG_NPY_MAX_DIMS]; /* shape[d] for d < ndim; 0 beyond */
} sg_npy;

/* Reads the .npy file at `path`. On success fills `out`, to be released with sg_npy_free; `data`
 * holds `count` elements of the C type of `type` (bool as uint8_t 0 or 1). On failure `out` is
 * untouched, nothing is allocated or left open, and the detail (seqgen_last_error) starts with
 * `path` and says what and where. Statuses: ENOENT (no such file), EIO (cannot open or read),
 * EFORMAT, EVERSION, EOVERFLOW, ETRUNCATED, ETRAILING, ERANGE as listed above, ENOMEM, EINVAL
 * (NULL argument). */
int sg_npy_read(const char *path, sg_npy *out);

/* NumPy's name of an element type ("bool", "uint8", ... "int64"), for messages. */
const char *sg_npy_type_name(sg_npy_type type);

/* Releases what sg_npy_read allocated; `npy` may be NULL or already freed. */
void sg_npy_free(sg_npy *npy);

/* Element i (in C order) as an int64_t, whatever the array's type. A uint64 above INT64_MAX, or
 * an i >= count, gives INT64_MAX or 0 respectively and sets *ok to 0; *ok is otherwise left as
 * it was, so one flag set to 1 before a loop tells whether every element fitted. */
int64_t sg_npy_get(const sg_npy *npy, size_t i, int *ok);

#endif
