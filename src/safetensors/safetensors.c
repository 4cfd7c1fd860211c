/* libseqgen-safetensors: a model to and from a safetensors file (include/seqgen_safetensors.h).
 *
 * The header is parsed by jansson and then checked field by field (check_header); the tensors
 * are then matched with the model's table (seqgen_model_tensor_info), read one at a time and
 * handed over with seqgen_model_set_tensor. Only seqgen.h's API reaches the model; the file is
 * opened by the core's sg_open_regular and written by its sg_write_file_atomic, compiled into
 * this library. */
#include "seqgen_safetensors.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"
#include "regular_file.h"
#include "status.h"

#define MAX_DIM 65536 /* D, H and L: seqgen_model_create's limits */

/* The dtypes of the format and their sizes in bytes; the first three are read. */
enum { DT_F32, DT_F16, DT_BF16 };
static const struct {
    const char *name;
    unsigned size;
} dtypes[] = {{"F32", 4}, {"F16", 2},  {"BF16", 2}, {"F64", 8},     {"I64", 8},
              {"I32", 4}, {"I16", 2},  {"I8", 1},   {"U64", 8},     {"U32", 4},
              {"U16", 2}, {"U8", 1},   {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
#define DTYPE_COUNT (sizeof dtypes / sizeof dtypes[0])

/* One tensor of the header: its name (owned by the JSON tree), dtype, shape (the first two
 * dimensions kept; `ndim` says how many there are) and bytes [begin, end) of the data section. */
typedef struct st_tensor {
    const char *name;
    unsigned dtype;
    size_t ndim;
    uint64_t dims[2];
    uint64_t count;
    uint64_t begin, end;
    int used;
} st_tensor;

/* The header once checked. */
typedef struct st_header {
    json_t *root;
    json_t *metadata;     /* NULL, or the "__metadata__" object */
    st_tensor *tensors;   /* in the order of their offsets */
    st_tensor **by_name;  /* the same, sorted by name */
    size_t count;
    uint64_t data_start;  /* 8 + N: the file offset of the data section */
} st_header;

seqgen_safetensors_options seqgen_safetensors_options_default(void)
{
    seqgen_safetensors_options opts = {"", "", "out", "embedding", 0, 0};
    return opts;
}

/* A name from the file, made safe to print on one line: control bytes become '?', and a long
 * name is cut. */
typedef struct printable {
    char text[160];
} printable;

static printable show(const char *name)
{
    printable p;
    size_t i = 0;
    for (; name[i] && i < sizeof p.text - 4; i++)
        p.text[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
    if (name[i])
        memcpy(p.text + i, "...", 3), i += 3;
    p.text[i] = '\0';
    return p;
}

/* "[a, b]", "[a, b, ...]" or "[]": the shape of `t` for a message. */
static void shape_text(const st_tensor *t, char *out, size_t size)
{
    if (t->ndim == 0)
        snprintf(out, size, "[]");
    else if (t->ndim == 1)
        snprintf(out, size, "[%" PRIu64 "]", t->dims[0]);
    else
        snprintf(out, size, "[%" PRIu64 ", %" PRIu64 "%s]", t->dims[0], t->dims[1],
                 t->ndim > 2 ? ", ..." : "");
}

/* ---- Reading ------------------------------------------------------------------------------ */

/* Reads `size` bytes at `offset`; a file shorter than its size said has changed while read. */
static int read_at(int fd, const char *path, void *buf, size_t size, uint64_t offset)
{
    unsigned char *p = buf;
    while (size > 0) {
        ssize_t n = pread(fd, p, size, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sg_error(SEQGEN_EIO, "%s: cannot read: %s", path, strerror(errno));
        if (n == 0)
            return sg_error(SEQGEN_ETRUNCATED, "%s: the file ends at byte %" PRIu64
                            " while being read (it changed)", path, offset);
        p += n;
        size -= (size_t)n;
        offset += (uint64_t)n;
    }
    return SEQGEN_OK;
}

static uint64_t le64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

/* A JSON integer >= 0 as uint64, or -1 if `v` is not one. */
static int get_count(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* Checks one tensor's entry {"dtype", "shape", "data_offsets"} and fills `t`. */
static int check_entry(const char *path, const char *name, json_t *entry, st_tensor *t)
{
    printable n = show(name);
    if (!json_is_object(entry))
        return sg_error(SEQGEN_EFORMAT, "%s: tensor \"%s\": not a JSON object", path, n.text);
    const char *key;
    json_t *value;
    json_object_foreach(entry, key, value) {
        if (strcmp(key, "dtype") != 0 && strcmp(key, "shape") != 0 &&
            strcmp(key, "data_offsets") != 0)
            return sg_error(SEQGEN_EFORMAT, "%s: tensor \"%s\": unknown field \"%s\"", path,
                            n.text, show(key).text);
    }
    json_t *dtype = json_object_get(entry, "dtype"), *shape = json_object_get(entry, "shape");
    json_t *offsets = json_object_get(entry, "data_offsets");
    if (!dtype || !shape || !offsets)
        return sg_error(SEQGEN_EFORMAT, "%s: tensor \"%s\": no \"%s\" field", path, n.text,
                        !dtype ? "dtype" : !shape ? "shape" : "data_offsets");
    if (!json_is_string(dtype))
        return sg_error(SEQGEN_EFORMAT, "%s: tensor \"%s\": dtype is not a string", path, n.text);
    t->name = name;
    t->dtype = DTYPE_COUNT;
    for (unsigned i = 0; i < DTYPE_COUNT; i++)
        if (strcmp(json_string_value(dtype), dtypes[i].name) == 0)
            t->dtype = i;
    if (t->dtype == DTYPE_COUNT)
        return sg_error(SEQGEN_EFORMAT, "%s: tensor \"%s\": unknown dtype \"%s\"", path, n.text,
                        show(json_string_value(dtype)).text);
    if (!json_is_array(shape))
        return sg_error(SEQGEN_EFORMAT, "%s: tensor \"%s\": shape is not an array", path, n.text);
    t->ndim = json_array_size(shape);
    t->count = 1;
    int overflow = 0;
    for (size_t i = 0; i < t->ndim; i++) {
        uint64_t d;
        if (get_count(json_array_get(shape, i), &d) != 0)
            return sg_error(SEQGEN_EFORMAT, "%s: tensor \"%s\": shape[%zu] is not an integer >= 0",
                            path, n.text, i);
        if (i < 2)
            t->dims[i] = d;
        if (d != 0 && t->count > UINT64_MAX / d)
            overflow = 1;
        t->count *= d;
    }
    if (!json_is_array(offsets) || json_array_size(offsets) != 2 ||
        get_count(json_array_get(offsets, 0), &t->begin) != 0 ||
        get_count(json_array_get(offsets, 1), &t->end) != 0)
        return sg_error(SEQGEN_EFORMAT, "%s: tensor \"%s\": data_offsets is not [begin, end] of "
                        "two integers >= 0", path, n.text);
    if (t->end < t->begin)
        return sg_error(SEQGEN_EFORMAT, "%s: tensor \"%s\": data_offsets [%" PRIu64 ", %" PRIu64
                        "] end before they begin", path, n.text, t->begin, t->end);
    /* A product that overflows, or one that is 0 while another factor overflowed, is refused:
     * no file holds that many bytes. */
    unsigned size = dtypes[t->dtype].size;
    if (overflow || t->count > UINT64_MAX / size)
        return sg_error(SEQGEN_EFORMAT, "%s: tensor \"%s\": its shape holds more than 2^64 bytes",
                        path, n.text);
    if (t->count * size != t->end - t->begin)
        return sg_error(SEQGEN_EFORMAT, "%s: tensor \"%s\": %" PRIu64 " %s values need %" PRIu64
                        " bytes but data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64, path,
                        n.text, t->count, dtypes[t->dtype].name, t->count * size, t->begin, t->end,
                        t->end - t->begin);
    return SEQGEN_OK;
}

static int by_offset(const void *a, const void *b)
{
    const st_tensor *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(st_tensor *const *)a)->name, (*(st_tensor *const *)b)->name);
}

static st_tensor *find(const st_header *h, const char *name)
{
    st_tensor key = {.name = name}, *k = &key;
    st_tensor **hit = h->count ? bsearch(&k, h->by_name, h->count, sizeof *h->by_name, by_name) : NULL;
    return hit ? *hit : NULL;
}

static void header_free(st_header *h)
{
    json_decref(h->root);
    free(h->tensors);
    free(h->by_name);
}

/* Checks the metadata object: a flat map of strings. */
static int check_metadata(const char *path, json_t *meta)
{
    if (!json_is_object(meta))
        return sg_error(SEQGEN_EFORMAT, "%s: __metadata__ is not a JSON object", path);
    const char *key;
    json_t *value;
    json_object_foreach(meta, key, value) {
        if (!json_is_string(value))
            return sg_error(SEQGEN_EFORMAT, "%s: __metadata__ \"%s\" is not a string", path,
                            show(key).text);
    }
    return SEQGEN_OK;
}

/* Reads and checks the header of the open file of `size` bytes: everything but what the
 * tensors mean. */
static int read_header(int fd, const char *path, uint64_t size, st_header *h)
{
    memset(h, 0, sizeof *h);
    unsigned char prefix[8];
    if (size < 8)
        return sg_error(SEQGEN_ETRUNCATED, "%s: %" PRIu64 " bytes, shorter than the 8-byte header "
                        "length", path, size);
    int status = read_at(fd, path, prefix, 8, 0);
    if (status)
        return status;
    uint64_t n = le64(prefix);
    if (n > SEQGEN_SAFETENSORS_MAX_HEADER)
        return sg_error(SEQGEN_EOVERFLOW, "%s: header length %" PRIu64 " (bytes 0-7) is above the "
                        "limit of %d bytes", path, n, SEQGEN_SAFETENSORS_MAX_HEADER);
    if (n > size - 8)
        return sg_error(SEQGEN_ETRUNCATED, "%s: header length %" PRIu64 " (bytes 0-7) but the file "
                        "holds %" PRIu64 " bytes after them", path, n, size - 8);
    char *text = malloc(n ? n : 1);
    if (!text)
        return sg_error(SEQGEN_ENOMEM, "%s: out of memory for a header of %" PRIu64 " bytes", path, n);
    status = read_at(fd, path, text, n, 8);
    if (status) {
        free(text);
        return status;
    }
    h->data_start = 8 + n;
    if (n == 0 || text[0] != '{') {
        free(text);
        return sg_error(SEQGEN_EFORMAT, "%s: the header (byte 8) is not a JSON object", path);
    }
    json_error_t err;
    h->root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &err);
    free(text);
    if (!h->root) {
        if (json_error_code(&err) == json_error_out_of_memory)
            return sg_error(SEQGEN_ENOMEM, "%s: out of memory for the header", path);
        /* jansson's position counts the bytes read, the offending one included */
        uint64_t at = 8 + (uint64_t)err.position - (err.position > 0);
        return sg_error(SEQGEN_EFORMAT, "%s: the header is not valid JSON: %s (byte %" PRIu64
                        " of the file)", path, err.text, at);
    }
    size_t entries = json_object_size(h->root);
    h->tensors = calloc(entries ? entries : 1, sizeof *h->tensors);
    h->by_name = calloc(entries ? entries : 1, sizeof *h->by_name);
    if (!h->tensors || !h->by_name) {
        header_free(h);
        return sg_error(SEQGEN_ENOMEM, "%s: out of memory for %zu tensors", path, entries);
    }
    const char *key;
    json_t *value;
    json_object_foreach(h->root, key, value) {
        if (strcmp(key, "__metadata__") == 0) {
            status = check_metadata(path, value);
            h->metadata = value;
        } else {
            status = check_entry(path, key, value, &h->tensors[h->count++]);
        }
        if (status) {
            header_free(h);
            return status;
        }
    }
    /* The tensors tile the data section exactly, in the order of their offsets. */
    qsort(h->tensors, h->count, sizeof *h->tensors, by_offset);
    uint64_t at = 0, data_size = size - h->data_start;
    for (size_t i = 0; i < h->count; i++) {
        const st_tensor *t = &h->tensors[i];
        if (t->begin < at)
            status = sg_error(SEQGEN_EFORMAT, "%s: tensor \"%s\" (data bytes %" PRIu64 "-%" PRIu64
                              ") overlaps tensor \"%s\", which ends at data byte %" PRIu64
                              " (file byte %" PRIu64 ")", path, show(t->name).text, t->begin,
                              t->end, show(h->tensors[i - 1].name).text, at, h->data_start + at);
        else if (t->begin > at)
            status = sg_error(SEQGEN_EFORMAT, "%s: data bytes %" PRIu64 "-%" PRIu64 " (file byte %"
                              PRIu64 ") belong to no tensor: tensor \"%s\" begins at %" PRIu64,
                              path, at, t->begin, h->data_start + at, show(t->name).text, t->begin);
        else if (t->end > data_size)
            status = sg_error(SEQGEN_ETRUNCATED, "%s: tensor \"%s\" ends at data byte %" PRIu64
                              " (file byte %" PRIu64 ") but the file ends at byte %" PRIu64, path,
                              show(t->name).text, t->end, h->data_start + t->end, size);
        if (status) {
            header_free(h);
            return status;
        }
        at = t->end;
    }
    if (at < data_size) {
        header_free(h);
        return sg_error(SEQGEN_ETRAILING, "%s: %" PRIu64 " bytes after the last tensor's data, from "
                        "file byte %" PRIu64, path, data_size - at, h->data_start + at);
    }
    for (size_t i = 0; i < h->count; i++)
        h->by_name[i] = &h->tensors[i];
    qsort(h->by_name, h->count, sizeof *h->by_name, by_name);
    return SEQGEN_OK;
}

/* ---- Names -------------------------------------------------------------------------------- */

/* The file's name of the model's tensor `name`: prefix + module + "." + the part after the
 * module (the GRU's tensors have none in the model's table, the output layer's "out.", the
 * embedding's "embedding."). */
static int file_name(const seqgen_safetensors_options *o, const char *name, char *out, size_t size)
{
    const char *module = o->gru_module, *rest = name;
    if (strncmp(name, "out.", 4) == 0)
        module = o->linear_module, rest = name + 4;
    else if (strncmp(name, "embedding.", 10) == 0)
        module = o->embedding_module, rest = name + 10;
    int n = snprintf(out, size, "%s%s%s%s", o->prefix, module, *module ? "." : "", rest);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int is_bias(const char *name)
{
    return strncmp(name, "bias_", 5) == 0 || strcmp(name, "out.bias") == 0;
}

static int check_options(const char *function, const seqgen_safetensors_options *o)
{
    if (!o->prefix)
        return sg_error(SEQGEN_EINVAL, "%s: NULL opts->prefix", function);
    if (!o->gru_module)
        return sg_error(SEQGEN_EINVAL, "%s: NULL opts->gru_module", function);
    if (!o->linear_module)
        return sg_error(SEQGEN_EINVAL, "%s: NULL opts->linear_module", function);
    if (!o->embedding_module)
        return sg_error(SEQGEN_EINVAL, "%s: NULL opts->embedding_module", function);
    if (strlen(o->prefix) + strlen(o->gru_module) + strlen(o->linear_module) +
            strlen(o->embedding_module) > 1000)
        return sg_error(SEQGEN_EINVAL, "prefix and module names longer than 1000 bytes");
    const char *strings[] = {o->prefix, o->gru_module, o->linear_module, o->embedding_module};
    const char *what[] = {"prefix", "GRU module name", "linear module name",
                          "embedding module name"};
    for (int i = 0; i < 4; i++) {
        json_t *s = json_string(strings[i]); /* NULL if not UTF-8: no name could hold it */
        if (!s)
            return sg_error(SEQGEN_EINVAL, "the %s is not valid UTF-8", what[i]);
        json_decref(s);
    }
    return SEQGEN_OK;
}

#define NAME_SIZE 1100

/* ---- Loading ------------------------------------------------------------------------------ */

/* Parses metadata value `key` as a decimal integer in [lo, hi], if present (*found = 1). */
static int meta_int(const char *path, json_t *meta, const char *key, uint64_t lo, uint64_t hi,
                    uint64_t *out, int *found)
{
    json_t *v = meta ? json_object_get(meta, key) : NULL;
    *found = v != NULL;
    if (!v)
        return SEQGEN_OK;
    const char *s = json_string_value(v);
    uint64_t x = 0;
    int ok = *s != '\0' && !(s[0] == '0' && s[1] != '\0');
    for (const char *p = s; ok && *p; p++) {
        if (*p < '0' || *p > '9' || x > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            ok = 0;
        else
            x = x * 10 + (uint64_t)(*p - '0');
    }
    if (!ok || x < lo || x > hi)
        return sg_error(SEQGEN_ERANGE, "%s: __metadata__ \"%s\" is \"%s\", not an integer from %"
                        PRIu64 " to %" PRIu64, path, key, show(s).text, lo, hi);
    *out = x;
    return SEQGEN_OK;
}

/* The model's configuration from the shapes of the GRU's layers, the metadata and the options. */
static int infer_config(const char *path, const st_header *h, const seqgen_safetensors_options *o,
                        seqgen_model_config *cfg)
{
    char name[NAME_SIZE];
    file_name(o, "weight_ih_l0", name, sizeof name);
    const st_tensor *t = find(h, name);
    if (!t) {
        const char *some = h->count ? h->tensors[0].name : NULL;
        return sg_error(SEQGEN_EMISMATCH, "%s: no tensor \"%s\" (the GRU's first layer)%s%s%s",
                        path, show(name).text, some ? "; the file's first tensor is \"" : "",
                        some ? show(some).text : "",
                        some ? "\" (see the prefix and module names)" : ": the file holds no tensor");
    }
    if (t->ndim != 2 || t->dims[0] % 3 != 0 || t->dims[0] == 0 || t->dims[1] == 0 ||
        t->dims[0] / 3 > MAX_DIM || t->dims[1] > MAX_DIM) {
        char have[96];
        shape_text(t, have, sizeof have);
        return sg_error(SEQGEN_EMISMATCH, "%s: tensor \"%s\" has shape %s, not [3H, D] with H and "
                        "D from 1 to %d", path, show(name).text, have, MAX_DIM);
    }
    cfg->hidden = (int)(t->dims[0] / 3);
    cfg->units_per_step = (int)t->dims[1];
    int layers = 1;
    for (; layers <= MAX_DIM; layers++) {
        char layer[32];
        snprintf(layer, sizeof layer, "weight_ih_l%d", layers);
        file_name(o, layer, name, sizeof name);
        if (!find(h, name))
            break;
    }
    cfg->layers = layers;
    file_name(o, "embedding.weight", name, sizeof name);
    const st_tensor *e = find(h, name);
    if (e && (e->ndim != 2 || e->dims[0] < 2 || e->dims[0] > MAX_DIM || e->dims[1] == 0 ||
              e->dims[1] > MAX_DIM)) {
        char have[96];
        shape_text(e, have, sizeof have);
        return sg_error(SEQGEN_EMISMATCH, "%s: tensor \"%s\" has shape %s, not [V, E] with V "
                        "from 2 and E from 1 to %d", path, show(name).text, have, MAX_DIM);
    }
    if (e) /* a categorical model: symbols in through the embedding, one per step */
        cfg->vocab = (int)e->dims[0], cfg->embedding = (int)e->dims[1], cfg->units_per_step = 1;
    file_name(o, "out.ar_weight", name, sizeof name);
    if (find(h, name)) /* the linear autoregressive head; its shape is checked with the others' */
        cfg->head = SEQGEN_HEAD_LINEAR_AR;
    file_name(o, "out.made_in.weight", name, sizeof name);
    const st_tensor *made = find(h, name);
    if (made && (made->ndim != 2 || made->dims[0] < 1 || made->dims[0] > 4096)) {
        char have[96];
        shape_text(made, have, sizeof have);
        return sg_error(SEQGEN_EMISMATCH, "%s: tensor \"%s\" has shape %s, not [M, D] with M "
                        "from 1 to 4096", path, show(name).text, have);
    }
    if (made) /* the MADE head: M from A's rows, every other shape checked with the others' */
        cfg->head = SEQGEN_HEAD_MADE_AR, cfg->head_hidden = (int)made->dims[0];

    /* libseqgen's metadata: shape facts must agree, the rest is used. */
    struct {
        const char *key;
        uint64_t lo, hi;
        int *value;
    } facts[] = {{"seqgen.units_per_step", 1, MAX_DIM, &cfg->units_per_step},
                 {"seqgen.hidden", 1, MAX_DIM, &cfg->hidden},
                 {"seqgen.layers", 1, MAX_DIM, &cfg->layers},
                 {"seqgen.vocab", 0, MAX_DIM, &cfg->vocab},
                 {"seqgen.embedding", 0, MAX_DIM, &cfg->embedding}};
    uint64_t v;
    int found, status;
    for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++) {
        status = meta_int(path, h->metadata, facts[i].key, facts[i].lo, facts[i].hi, &v, &found);
        if (status)
            return status;
        if (found && v != (uint64_t)*facts[i].value)
            return sg_error(SEQGEN_EMISMATCH, "%s: __metadata__ \"%s\" is %" PRIu64 " but the "
                            "tensors say %d", path, facts[i].key, v, *facts[i].value);
    }
    cfg->start_step = o->start_step;
    cfg->steps = o->steps;
    if ((status = meta_int(path, h->metadata, "seqgen.start_step", 0, 1, &v, &found)))
        return status;
    if (found)
        cfg->start_step = (int)v;
    if ((status = meta_int(path, h->metadata, "seqgen.steps", 0, INT32_MAX, &v, &found)))
        return status;
    if (found)
        cfg->steps = (int)v;
    if ((status = meta_int(path, h->metadata, "seqgen.seed", 0, UINT64_MAX, &v, &found)))
        return status;
    if (found)
        cfg->seed = v;
    return SEQGEN_OK;
}

/* F16 and BF16 to float, exactly: every value of both formats is a float. */
static float from_f16(uint16_t h)
{
    unsigned exponent = h >> 10 & 0x1f, mantissa = h & 0x3ff;
    float v = exponent == 0    ? ldexpf((float)mantissa, -24) /* zero and subnormals */
              : exponent == 31 ? (mantissa ? NAN : INFINITY)
                               : ldexpf((float)(mantissa | 0x400), (int)exponent - 25);
    return h & 0x8000 ? -v : v;
}

static float from_bits(uint32_t bits)
{
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* Reads tensor `t` from the file and converts it to `count` floats. */
static int read_tensor(int fd, const char *path, const st_header *h, const st_tensor *t,
                       float *values)
{
    size_t bytes = (size_t)(t->end - t->begin);
    unsigned char *raw = malloc(bytes ? bytes : 1);
    if (!raw)
        return sg_error(SEQGEN_ENOMEM, "%s: out of memory for tensor \"%s\"", path,
                        show(t->name).text);
    int status = read_at(fd, path, raw, bytes, h->data_start + t->begin);
    for (size_t i = 0; status == SEQGEN_OK && i < (size_t)t->count; i++) {
        const unsigned char *b = raw + i * dtypes[t->dtype].size;
        values[i] = t->dtype == DT_F32  ? from_bits((uint32_t)b[0] | (uint32_t)b[1] << 8 |
                                                    (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24)
                    : t->dtype == DT_F16 ? from_f16((uint16_t)(b[0] | b[1] << 8))
                                         : from_bits(((uint32_t)b[0] | (uint32_t)b[1] << 8) << 16);
        if (!isfinite(values[i]))
            status = sg_error(SEQGEN_ENUMERIC, "%s: tensor \"%s\" value %zu (file byte %" PRIu64
                              ") is %s: a model's parameters must be finite", path,
                              show(t->name).text, i, h->data_start + t->begin +
                              i * dtypes[t->dtype].size, isnan(values[i]) ? "NaN" : "infinite");
    }
    free(raw);
    return status;
}

/* Matches the file's tensors with the model's (names, shapes, dtypes), then copies them in. */
static int fill_model(int fd, const char *path, st_header *h, const seqgen_safetensors_options *o,
                      seqgen_model *model)
{
    int count = seqgen_model_tensor_count(model);
    char name[NAME_SIZE];
    size_t largest = 0;
    for (int i = 0; i < count; i++) {
        const char *model_name;
        int rows, cols;
        int status = seqgen_model_tensor_info(model, i, &model_name, &rows, &cols);
        if (status)
            return status;
        file_name(o, model_name, name, sizeof name);
        st_tensor *t = find(h, name);
        if (!t)
            return sg_error(SEQGEN_EMISMATCH, "%s: no tensor \"%s\" (the model's \"%s\")", path,
                            show(name).text, model_name);
        if (t->dtype > DT_BF16)
            return sg_error(SEQGEN_EFORMAT, "%s: tensor \"%s\" has dtype %s: F32, F16 and BF16 are "
                            "read", path, show(name).text, dtypes[t->dtype].name);
        int bias = is_bias(model_name);
        if (t->ndim != (bias ? 1u : 2u) || t->dims[0] != (uint64_t)rows ||
            (!bias && t->dims[1] != (uint64_t)cols)) {
            char want[64], have[96];
            if (bias)
                snprintf(want, sizeof want, "[%d]", rows);
            else
                snprintf(want, sizeof want, "[%d, %d]", rows, cols);
            shape_text(t, have, sizeof have);
            seqgen_model_config cfg = seqgen_model_get_config(model);
            return sg_error(SEQGEN_EMISMATCH, "%s: tensor \"%s\" has shape %s, the model (D %d, H "
                            "%d, L %d) needs %s", path, show(name).text, have, cfg.units_per_step,
                            cfg.hidden, cfg.layers, want);
        }
        t->used = 1;
        if ((size_t)t->count > largest)
            largest = (size_t)t->count;
    }
    for (size_t i = 0; i < h->count; i++)
        if (!h->tensors[i].used)
            return sg_error(SEQGEN_EMISMATCH, "%s: tensor \"%s\" is not one of the model's (D %d, "
                            "H %d, L %d)", path, show(h->tensors[i].name).text,
                            seqgen_model_get_config(model).units_per_step,
                            seqgen_model_get_config(model).hidden,
                            seqgen_model_get_config(model).layers);
    float *values = malloc((largest ? largest : 1) * sizeof *values);
    if (!values)
        return sg_error(SEQGEN_ENOMEM, "%s: out of memory", path);
    int status = SEQGEN_OK;
    for (int i = 0; status == SEQGEN_OK && i < count; i++) {
        const char *model_name;
        status = seqgen_model_tensor_info(model, i, &model_name, NULL, NULL);
        if (status)
            break;
        file_name(o, model_name, name, sizeof name);
        const st_tensor *t = find(h, name);
        status = read_tensor(fd, path, h, t, values);
        if (status == SEQGEN_OK &&
            (status = seqgen_model_set_tensor(model, model_name, values, (size_t)t->count))) {
            char detail[1024]; /* the values' structure (a masked tensor's zeros) */
            snprintf(detail, sizeof detail, "%s", seqgen_last_error());
            sg_error(status, "%s: %s", path, detail);
        }
    }
    free(values);
    return status;
}

int seqgen_model_load_safetensors(seqgen_model **out, const char *path,
                                  const seqgen_safetensors_options *opts)
{
    static const char fn[] = "seqgen_model_load_safetensors";
    if (!out)
        return sg_error(SEQGEN_EINVAL, "%s: NULL out", fn);
    if (!path)
        return sg_error(SEQGEN_EINVAL, "%s: NULL path", fn);
    seqgen_safetensors_options o = opts ? *opts : seqgen_safetensors_options_default();
    int status = check_options(fn, &o);
    if (status)
        return status;
    if (o.start_step != 0 && o.start_step != 1)
        return sg_error(SEQGEN_EINVAL, "start_step must be 0 or 1, got %d", o.start_step);
    if (o.steps < 0)
        return sg_error(SEQGEN_EINVAL, "steps must be >= 0, got %d", o.steps);

    int fd;
    uint64_t size;
    if ((status = sg_open_regular(path, &fd, &size)))
        return status;
    st_header h;
    status = read_header(fd, path, size, &h);
    if (status) {
        close(fd);
        return status;
    }
    seqgen_model_config cfg = seqgen_model_config_default();
    seqgen_model *model = NULL;
    status = infer_config(path, &h, &o, &cfg);
    if (status == SEQGEN_OK && (status = seqgen_model_create(&model, &cfg)) != SEQGEN_OK) {
        char detail[1024];
        snprintf(detail, sizeof detail, "%s", seqgen_last_error());
        sg_error(status, "%s: %s", path, detail);
    }
    if (status == SEQGEN_OK)
        status = fill_model(fd, path, &h, &o, model);
    close(fd);
    header_free(&h);
    if (status) {
        seqgen_model_free(model);
        return status;
    }
    *out = model;
    return SEQGEN_OK;
}

/* ---- Saving ------------------------------------------------------------------------------- */

static int set_new(json_t *object, const char *key, json_t *value)
{
    return value && json_object_set_new(object, key, value) == 0 ? 0 : -1;
}

/* The header: metadata, then each tensor in the model's order, laid end to end. */
static json_t *make_header(const seqgen_model *model, const seqgen_safetensors_options *o)
{
    seqgen_model_config cfg = seqgen_model_get_config(model);
    json_t *root = json_object(), *meta = json_object();
    char number[32];
    int bad = !root || !meta || set_new(meta, "format", json_string("pt")) ||
              set_new(meta, "seqgen.version", json_string(seqgen_version()));
    const struct {
        const char *key;
        uint64_t value;
    } facts[] = {{"seqgen.units_per_step", (uint64_t)cfg.units_per_step},
                 {"seqgen.hidden", (uint64_t)cfg.hidden},
                 {"seqgen.layers", (uint64_t)cfg.layers},
                 {"seqgen.vocab", (uint64_t)cfg.vocab},
                 {"seqgen.embedding", (uint64_t)cfg.embedding},
                 {"seqgen.start_step", (uint64_t)cfg.start_step},
                 {"seqgen.steps", (uint64_t)cfg.steps},
                 {"seqgen.seed", cfg.seed}};
    for (size_t i = 0; !bad && i < sizeof facts / sizeof facts[0]; i++) {
        snprintf(number, sizeof number, "%" PRIu64, facts[i].value);
        bad = set_new(meta, facts[i].key, json_string(number));
    }
    if (!bad) {
        bad = set_new(root, "__metadata__", meta);
        meta = NULL;
    }
    uint64_t at = 0;
    char name[NAME_SIZE];
    for (int i = 0; !bad && i < seqgen_model_tensor_count(model); i++) {
        const char *model_name;
        int rows, cols;
        if (seqgen_model_tensor_info(model, i, &model_name, &rows, &cols) != SEQGEN_OK) {
            bad = 1;
            break;
        }
        file_name(o, model_name, name, sizeof name);
        uint64_t bytes = (uint64_t)rows * (uint64_t)cols * 4;
        json_t *entry = json_object();
        json_t *shape = is_bias(model_name) ? json_pack("[I]", (json_int_t)rows)
                                            : json_pack("[I, I]", (json_int_t)rows, (json_int_t)cols);
        bad = !entry || set_new(entry, "dtype", json_string("F32")) || set_new(entry, "shape", shape) ||
              set_new(entry, "data_offsets", json_pack("[I, I]", (json_int_t)at,
                                                       (json_int_t)(at + bytes)));
        bad = bad || set_new(root, name, entry);
        if (bad)
            json_decref(entry);
        at += bytes;
    }
    json_decref(meta);
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static void put_le32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)v, b[1] = (unsigned char)(v >> 8);
    b[2] = (unsigned char)(v >> 16), b[3] = (unsigned char)(v >> 24);
}

int seqgen_model_save_safetensors(const char *path, const seqgen_model *model,
                                  const seqgen_safetensors_options *opts)
{
    static const char fn[] = "seqgen_model_save_safetensors";
    if (!path)
        return sg_error(SEQGEN_EINVAL, "%s: NULL path", fn);
    if (!model)
        return sg_error(SEQGEN_EINVAL, "%s: NULL model", fn);
    seqgen_safetensors_options o = opts ? *opts : seqgen_safetensors_options_default();
    int status = check_options(fn, &o);
    if (status)
        return status;

    size_t params = seqgen_model_param_count(model);
    float *values = malloc(params * sizeof *values);
    if (!values)
        return sg_error(SEQGEN_ENOMEM, "%s: out of memory for %zu parameters", path, params);
    size_t at = 0;
    for (int i = 0; status == SEQGEN_OK && i < seqgen_model_tensor_count(model); i++) {
        const char *name;
        int rows, cols;
        status = seqgen_model_tensor_info(model, i, &name, &rows, &cols);
        size_t n = (size_t)rows * (size_t)cols;
        if (status == SEQGEN_OK)
            status = seqgen_model_get_tensor(model, name, values + at, n);
        for (size_t k = 0; status == SEQGEN_OK && k < n; k++)
            if (!isfinite(values[at + k]))
                status = sg_error(SEQGEN_ENUMERIC, "%s: tensor \"%s\" value %zu is not finite: "
                                  "nothing written", path, name, k);
        at += n;
    }
    json_t *root = status ? NULL : make_header(model, &o);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (status == SEQGEN_OK && !text) {
        status = sg_error(SEQGEN_ENOMEM, "%s: out of memory for the header", path);
    }
    unsigned char *file = NULL;
    size_t length = text ? strlen(text) : 0, padded = (length + 7) / 8 * 8;
    size_t total = 8 + padded + params * 4;
    if (status == SEQGEN_OK && !(file = malloc(total)))
        status = sg_error(SEQGEN_ENOMEM, "%s: out of memory for %zu bytes", path, total);
    if (status == SEQGEN_OK) {
        for (int i = 0; i < 8; i++)
            file[i] = (unsigned char)((uint64_t)padded >> (8 * i));
        memcpy(file + 8, text, length);
        memset(file + 8 + length, ' ', padded - length);
        for (size_t i = 0; i < params; i++) {
            uint32_t bits;
            memcpy(&bits, &values[i], 4);
            put_le32(file + 8 + padded + 4 * i, bits);
        }
        status = sg_write_file_atomic(path, file, total);
    }
    free(file);
    free(text);
    free(values);
    return status;
}
