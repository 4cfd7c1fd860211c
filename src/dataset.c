/* The dataset handle: binary sequences from memory or .npy files, or images with labels from IDX
 * files; turning them into float sequences (binarising intensities), the epoch batch iterator,
 * and the exact nearest-neighbour search. */
#include "dataset.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "idx.h"
#include "npy.h"
#include "rng.h"
#include "status.h"

#define MNIST_CLASSES 10u
/* Stochastic binarisation streams have bit 62 set, shuffling streams (the epoch) never do, so the
 * two never share a generator even with equal seeds. Bits 32-61 hold the epoch, 0-31 the image. */
#define BINARIZE_STREAM_TAG ((uint64_t)1 << 62)
#define BINARIZE_EPOCH_MASK (((uint64_t)1 << 30) - 1)
/* The nearest-neighbour index binarises intensities at the default threshold. */
#define NN_THRESHOLD 127u
/* Queries compared together against each packed dataset sequence, which is then loaded once per
 * block instead of once per query. */
#define NN_QUERY_BLOCK 16u
/* The epoch order holds 32-bit indices. */
#define MAX_SEQUENCES UINT32_MAX
/* The default data limits (seqgen_data_limits_default): 1 GiB, a 1024 x 1024 image. */
#define DEFAULT_MAX_BYTES SG_IDX_MAX_BYTES
#define DEFAULT_MAX_UNITS ((uint64_t)1 << 20)

struct seqgen_dataset {
    const uint8_t *data;    /* count * units bytes: 0/1 (binary) or intensities 0-255 */
    const size_t *lengths;  /* count lengths in steps of step_units, or NULL (all `steps`) */
    const int64_t *labels;  /* count labels, or NULL */
    void *owned[3];         /* what the dataset frees: its copies (NULL when borrowed) */
    size_t count, steps, step_units, units; /* N, T, D0, T * D0 */
    size_t rows, cols;      /* drawn as a picture: an image's size, else T x D0 */
    int binary;             /* 1: units are 0/1; 0: intensities, binarised when read */
    /* Nearest-neighbour index, built by the first search: sequence i's binary units as bits of
     * packed[i * words ...], unit u in bit u % 64 of word u / 64; unused bits are 0. */
    uint64_t *packed;
    uint64_t *query_block; /* NN_QUERY_BLOCK * words, the packed queries of one block */
    size_t words;
};

struct seqgen_batch_iter {
    const seqgen_dataset *ds;
    seqgen_batch_config cfg;
    size_t count; /* sequences per epoch */
    size_t steps; /* T = units / D */
    uint64_t epoch;
    size_t position; /* sequences of this epoch already handed out */
    /* Arrays allocated with the handle, after it: */
    size_t *indices; /* min(B, count) */
    size_t *lengths; /* min(B, count), or NULL when the data has no lengths */
    int64_t *labels; /* min(B, count), or NULL when the data has no labels */
    float *batch;    /* min(B, count) * units */
    uint32_t *order; /* order[k]: dataset index at position k of this epoch */
};

/* ---- Making datasets ----------------------------------------------------------------------- */

/* A dataset around arrays already checked; takes `owned` (freed on failure too). */
static int make_dataset(seqgen_dataset **out, const seqgen_sequences *s, int binary,
                        void *const owned[3])
{
    seqgen_dataset *ds = sg_calloc(1, sizeof *ds);
    if (!ds) {
        for (int i = 0; i < 3; i++)
            free(owned[i]);
        return sg_error(SEQGEN_ENOMEM, "cannot allocate a dataset");
    }
    ds->data = s->units;
    ds->lengths = s->lengths;
    ds->labels = s->labels;
    memcpy(ds->owned, owned, sizeof ds->owned);
    ds->count = s->count;
    ds->steps = ds->rows = s->steps;
    ds->step_units = ds->cols = s->units_per_step;
    ds->units = s->steps * s->units_per_step;
    ds->binary = binary;
    *out = ds;
    return SEQGEN_OK;
}

/* The sizes of `s`, its lengths and (for binary data) its units, as the header promises. */
static int check_sequences(const seqgen_sequences *s, const char *source)
{
    if (s->count == 0 || s->steps == 0 || s->units_per_step == 0)
        return sg_error(SEQGEN_EINVAL, "%s: %zu sequences of %zu steps of %zu units: every size "
                        "must be >= 1", source, s->count, s->steps, s->units_per_step);
    if (s->count > MAX_SEQUENCES)
        return sg_error(SEQGEN_EOVERFLOW, "%s: %zu sequences, more than the %u a dataset holds",
                        source, s->count, MAX_SEQUENCES);
    if (s->steps > SIZE_MAX / s->units_per_step ||
        s->steps * s->units_per_step > SIZE_MAX / sizeof(float) / s->count)
        return sg_error(SEQGEN_EOVERFLOW, "%s: %zu sequences of %zu steps of %zu units overflow "
                        "the address space", source, s->count, s->steps, s->units_per_step);
    const size_t D0 = s->units_per_step, units = s->steps * D0;
    for (size_t i = 0; i < s->count; i++) {
        size_t length = s->lengths ? s->lengths[i] : s->steps;
        if (length < 1 || length > s->steps)
            return sg_error(SEQGEN_ERANGE, "%s: sequence %zu has length %zu, not in [1, %zu]",
                            source, i, length, s->steps);
        const uint8_t *u = s->units + i * units;
        for (size_t k = 0; k < length * D0; k++)
            if (u[k] > 1)
                return sg_error(SEQGEN_ERANGE, "%s: sequence %zu, step %zu, unit %zu is %u, not "
                                "0 or 1", source, i, k / D0, k % D0, u[k]);
    }
    return SEQGEN_OK;
}

int seqgen_dataset_from_memory(seqgen_dataset **out, const seqgen_sequences *seqs,
                               seqgen_ownership ownership)
{
    if (!out || !seqs || !seqs->units)
        return sg_error(SEQGEN_EINVAL, "seqgen_dataset_from_memory: NULL %s",
                        !out ? "output" : !seqs ? "seqs" : "seqs->units");
    if (ownership != SEQGEN_COPY && ownership != SEQGEN_BORROW)
        return sg_error(SEQGEN_EINVAL, "ownership %d is not a seqgen_ownership", (int)ownership);
    int status = check_sequences(seqs, "the arrays given");
    if (status)
        return status;
    void *owned[3] = {NULL, NULL, NULL};
    seqgen_sequences s = *seqs;
    if (ownership == SEQGEN_COPY) {
        const size_t n = s.count, bytes = n * s.steps * s.units_per_step;
        owned[0] = sg_malloc(bytes);
        owned[1] = s.lengths ? sg_malloc(n * sizeof *s.lengths) : NULL;
        owned[2] = s.labels ? sg_malloc(n * sizeof *s.labels) : NULL;
        if (!owned[0] || (s.lengths && !owned[1]) || (s.labels && !owned[2])) {
            for (int i = 0; i < 3; i++)
                free(owned[i]);
            return sg_error(SEQGEN_ENOMEM, "cannot copy %zu sequences (%zu bytes)", n, bytes);
        }
        s.units = memcpy(owned[0], s.units, bytes);
        if (s.lengths)
            s.lengths = memcpy(owned[1], s.lengths, n * sizeof *s.lengths);
        if (s.labels)
            s.labels = memcpy(owned[2], s.labels, n * sizeof *s.labels);
    }
    return make_dataset(out, &s, 1, owned);
}

/* ---- .npy files ---------------------------------------------------------------------------- */

/* A companion array of `count` integers (labels or lengths) from `path`, as int64. */
static int read_integers(const char *path, const char *what, size_t count, int64_t **out)
{
    sg_npy npy;
    int status = sg_npy_read(path, &npy);
    if (status)
        return status;
    if (npy.ndim != 1 || npy.shape[0] != count) {
        status = sg_error(SEQGEN_EMISMATCH, "%s: the %s must be a 1-D array of %zu (one per "
                          "sequence), not of shape (%llu%s%s)", path, what, count,
                          (unsigned long long)npy.shape[0], npy.ndim > 1 ? ", ..." : "",
                          npy.ndim == 1 ? "," : "");
    } else if (!(*out = sg_malloc(count * sizeof **out))) {
        status = sg_error(SEQGEN_ENOMEM, "%s: cannot allocate %zu %s", path, count, what);
    } else {
        for (size_t i = 0; i < count && !status; i++) {
            int ok = 1;
            (*out)[i] = sg_npy_get(&npy, i, &ok);
            if (!ok)
                status = sg_error(SEQGEN_ERANGE, "%s: %s %zu does not fit in 64-bit signed "
                                  "integers", path, what, i);
        }
        if (status) {
            free(*out);
            *out = NULL;
        }
    }
    sg_npy_free(&npy);
    return status;
}

int seqgen_dataset_open_npy(seqgen_dataset **out, const char *units_path,
                            const char *labels_path, const char *lengths_path)
{
    if (!out || !units_path)
        return sg_error(SEQGEN_EINVAL, "seqgen_dataset_open_npy: NULL %s",
                        !out ? "output" : "units_path");
    sg_npy npy;
    int status = sg_npy_read(units_path, &npy);
    if (status)
        return status;
    if (npy.type != SG_NPY_U8 && npy.type != SG_NPY_BOOL)
        status = sg_error(SEQGEN_EFORMAT, "%s: the sequences must be uint8 or bool, not %s",
                          units_path, sg_npy_type_name(npy.type));
    else if (npy.ndim != 2 && npy.ndim != 3)
        status = sg_error(SEQGEN_EFORMAT, "%s: the sequences must be an array [N][T] or "
                          "[N][T][D], not of %u dimensions", units_path, npy.ndim);
    seqgen_sequences s = {npy.data, (size_t)npy.shape[0], (size_t)npy.shape[1],
                          npy.ndim == 3 ? (size_t)npy.shape[2] : 1, NULL, NULL};
    int64_t *labels = NULL, *lengths64 = NULL;
    size_t *lengths = NULL;
    if (!status && labels_path)
        status = read_integers(labels_path, "labels", s.count, &labels);
    if (!status && lengths_path)
        status = read_integers(lengths_path, "lengths", s.count, &lengths64);
    if (!status && lengths64) { /* in range before the conversion to size_t */
        lengths = sg_malloc(s.count * sizeof *lengths);
        if (!lengths)
            status = sg_error(SEQGEN_ENOMEM, "%s: cannot allocate the lengths", lengths_path);
        for (size_t i = 0; !status && i < s.count; i++) {
            if (lengths64[i] < 1 || (uint64_t)lengths64[i] > s.steps)
                status = sg_error(SEQGEN_ERANGE, "%s: sequence %zu has length %lld, not in "
                                  "[1, %zu] (the steps of %s)", lengths_path, i,
                                  (long long)lengths64[i], s.steps, units_path);
            else
                lengths[i] = (size_t)lengths64[i];
        }
    }
    free(lengths64);
    s.labels = labels;
    s.lengths = lengths;
    if (!status)
        status = check_sequences(&s, units_path);
    if (status) {
        sg_npy_free(&npy);
        free(labels);
        free(lengths);
        return status;
    }
    void *owned[3] = {npy.data, lengths, labels};
    return make_dataset(out, &s, 1, owned);
}

/* ---- IDX images ---------------------------------------------------------------------------- */

seqgen_data_limits seqgen_data_limits_default(void)
{
    seqgen_data_limits limits = {DEFAULT_MAX_BYTES, DEFAULT_MAX_UNITS, MAX_SEQUENCES};
    return limits;
}

static int check_limits(const seqgen_data_limits *l)
{
    if (l->max_bytes == 0 || l->max_units == 0 || l->max_sequences == 0 ||
        l->max_sequences > MAX_SEQUENCES || l->max_bytes > SIZE_MAX)
        return sg_error(SEQGEN_EINVAL, "data limits of %llu bytes, %llu units per sequence and "
                        "%llu sequences: each must be >= 1, the bytes at most %zu and the "
                        "sequences at most %u", (unsigned long long)l->max_bytes,
                        (unsigned long long)l->max_units, (unsigned long long)l->max_sequences,
                        (size_t)SIZE_MAX, MAX_SEQUENCES);
    return SEQGEN_OK;
}

/* The images' header against the limits, before anything is allocated for them: the pixels of
 * one image, the number of images, and the dataset's memory (the pixels and 8 bytes a label). */
static int check_images(const char *path, const sg_idx_reader *images, const seqgen_data_limits *l)
{
    const uint32_t n = images->dims[0], rows = images->dims[1], cols = images->dims[2];
    const uint64_t units = (uint64_t)rows * cols;
    if (units > l->max_units)
        return sg_error(SEQGEN_EOVERFLOW, "%s: header says %u images of %ux%u: %llu pixels per "
                        "image, more than the limit of %llu units per sequence "
                        "(seqgen_data_limits.max_units)", path, n, rows, cols,
                        (unsigned long long)units, (unsigned long long)l->max_units);
    if (n > l->max_sequences)
        return sg_error(SEQGEN_EOVERFLOW, "%s: header says %u images of %ux%u, more than the "
                        "limit of %llu sequences (seqgen_data_limits.max_sequences)", path, n,
                        rows, cols, (unsigned long long)l->max_sequences);
    const uint64_t each = units + sizeof(int64_t); /* < 2^64: units < 2^64 - 2^33 */
    if (each > l->max_bytes / n)
        return sg_error(SEQGEN_EOVERFLOW, "%s: %u images of %ux%u need %llu bytes (%llu "
                        "pixels and an 8-byte label each), more than the limit of "
                        "%llu bytes (seqgen_data_limits.max_bytes)", path, n, rows, cols,
                        (unsigned long long)n * each, (unsigned long long)units,
                        (unsigned long long)l->max_bytes);
    return SEQGEN_OK;
}

/* Checks the n label bytes of `*bytes` (0-9) and widens them in place to int64: the buffer grows
 * to 8 n bytes and is filled from the end, so no label byte is overwritten before it is read. */
static int widen_labels(const char *path, uint8_t **bytes, size_t n, int64_t **out)
{
    for (size_t i = 0; i < n; i++)
        if ((*bytes)[i] >= MNIST_CLASSES)
            return sg_error(SEQGEN_ERANGE, "%s: label %u of image %zu is outside 0-9", path,
                            (*bytes)[i], i);
    uint8_t *grown = sg_realloc(*bytes, n * sizeof **out);
    if (!grown)
        return sg_error(SEQGEN_ENOMEM, "%s: cannot allocate %zu labels", path, n);
    *bytes = grown;
    int64_t *wide = (int64_t *)(void *)grown;
    for (size_t i = n; i-- > 0;)
        wide[i] = grown[i];
    *out = wide;
    return SEQGEN_OK;
}

int seqgen_dataset_open_with_limits(seqgen_dataset **out, const char *images_path,
                                    const char *labels_path, const seqgen_data_limits *limits)
{
    if (!out || !images_path || !labels_path)
        return sg_error(SEQGEN_EINVAL, "seqgen_dataset_open: NULL %s",
                        !out ? "output" : !images_path ? "images_path" : "labels_path");
    const seqgen_data_limits l = limits ? *limits : seqgen_data_limits_default();
    int status = check_limits(&l);
    if (status != SEQGEN_OK)
        return status;
    /* Both headers first: sizes and counts are checked before any data is read. */
    sg_idx_reader images, labels;
    if ((status = sg_idx_open(&images, images_path, 3, l.max_bytes)) != SEQGEN_OK)
        return status;
    status = check_images(images_path, &images, &l);
    int labels_open = 0;
    if (status == SEQGEN_OK)
        labels_open = (status = sg_idx_open(&labels, labels_path, 1, l.max_bytes)) == SEQGEN_OK;
    if (status == SEQGEN_OK && images.dims[0] != labels.dims[0])
        status = sg_error(SEQGEN_EMISMATCH, "%s holds %u images but %s holds %u labels",
                          images_path, images.dims[0], labels_path, labels.dims[0]);
    uint8_t *pixels = NULL, *label_bytes = NULL;
    if (status == SEQGEN_OK)
        status = sg_idx_read_payload(&images, &pixels);
    if (status == SEQGEN_OK)
        status = sg_idx_read_payload(&labels, &label_bytes);
    sg_idx_close(&images);
    if (labels_open)
        sg_idx_close(&labels);
    const size_t n = images.dims[0], rows = images.dims[1], cols = images.dims[2];
    int64_t *wide = NULL;
    if (status == SEQGEN_OK)
        status = widen_labels(labels_path, &label_bytes, n, &wide);
    if (status != SEQGEN_OK) {
        free(pixels);
        free(label_bytes);
        return status;
    }
    seqgen_sequences s = {pixels, n, rows * cols, 1, NULL, wide};
    void *owned[3] = {pixels, NULL, wide};
    status = make_dataset(out, &s, 0, owned);
    if (status == SEQGEN_OK) {
        (*out)->rows = rows;
        (*out)->cols = cols;
    }
    return status;
}

int seqgen_dataset_open(seqgen_dataset **out, const char *images_path, const char *labels_path)
{
    return seqgen_dataset_open_with_limits(out, images_path, labels_path, NULL);
}

/* DIR/NAME if it exists, else DIR/NAME.gz if that exists; *path is malloc'ed. */
static int find_standard_file(const char *dir, const char *name, char **path)
{
    size_t size = strlen(dir) + strlen(name) + sizeof "/.gz";
    char *candidate = sg_malloc(size);
    if (!candidate)
        return sg_error(SEQGEN_ENOMEM, "cannot allocate a path");
    struct stat st;
    snprintf(candidate, size, "%s/%s", dir, name);
    if (stat(candidate, &st) != 0) {
        snprintf(candidate, size, "%s/%s.gz", dir, name);
        if (stat(candidate, &st) != 0) {
            free(candidate);
            return sg_error(SEQGEN_ENOENT, "%s: has neither %s nor %s.gz (the standard MNIST names)",
                            dir, name, name);
        }
    }
    *path = candidate;
    return SEQGEN_OK;
}

int seqgen_dataset_open_dir_with_limits(seqgen_dataset **out, const char *dir, seqgen_split split,
                                        const seqgen_data_limits *limits)
{
    if (!out || !dir)
        return sg_error(SEQGEN_EINVAL, "seqgen_dataset_open_dir: NULL %s", !out ? "output" : "dir");
    if (split != SEQGEN_SPLIT_TRAIN && split != SEQGEN_SPLIT_TEST)
        return sg_error(SEQGEN_EINVAL, "split %d is not a seqgen_split", (int)split);
    struct stat st;
    if (stat(dir, &st) != 0)
        return sg_error(SEQGEN_ENOENT, "%s: no such directory", dir);
    if (!S_ISDIR(st.st_mode))
        return sg_error(SEQGEN_ENOENT, "%s: not a directory", dir);
    const char *prefix = split == SEQGEN_SPLIT_TRAIN ? "train" : "t10k";
    char images_name[32], labels_name[32];
    snprintf(images_name, sizeof images_name, "%s-images-idx3-ubyte", prefix);
    snprintf(labels_name, sizeof labels_name, "%s-labels-idx1-ubyte", prefix);
    char *images_path = NULL, *labels_path = NULL;
    int status = find_standard_file(dir, images_name, &images_path);
    if (status == SEQGEN_OK)
        status = find_standard_file(dir, labels_name, &labels_path);
    if (status == SEQGEN_OK)
        status = seqgen_dataset_open_with_limits(out, images_path, labels_path, limits);
    free(images_path);
    free(labels_path);
    return status;
}

int seqgen_dataset_open_dir(seqgen_dataset **out, const char *dir, seqgen_split split)
{
    return seqgen_dataset_open_dir_with_limits(out, dir, split, NULL);
}

void seqgen_dataset_free(seqgen_dataset *ds)
{
    if (!ds)
        return;
    for (int i = 0; i < 3; i++)
        free(ds->owned[i]);
    free(ds->packed);
    free(ds->query_block);
    free(ds);
}

/* ---- Getters ------------------------------------------------------------------------------- */

size_t seqgen_dataset_count(const seqgen_dataset *ds) { return ds ? ds->count : 0; }
size_t seqgen_dataset_steps(const seqgen_dataset *ds) { return ds ? ds->steps : 0; }
size_t seqgen_dataset_units_per_step(const seqgen_dataset *ds) { return ds ? ds->step_units : 0; }
size_t seqgen_dataset_units(const seqgen_dataset *ds) { return ds ? ds->units : 0; }
size_t seqgen_dataset_rows(const seqgen_dataset *ds) { return ds ? ds->rows : 0; }
size_t seqgen_dataset_cols(const seqgen_dataset *ds) { return ds ? ds->cols : 0; }
int seqgen_dataset_is_binary(const seqgen_dataset *ds) { return ds ? ds->binary : 0; }
int seqgen_dataset_has_lengths(const seqgen_dataset *ds) { return ds && ds->lengths; }
int seqgen_dataset_has_labels(const seqgen_dataset *ds) { return ds && ds->labels; }

const uint8_t *seqgen_dataset_raw(const seqgen_dataset *ds, size_t index)
{
    return ds && index < ds->count ? ds->data + index * ds->units : NULL;
}

size_t seqgen_dataset_length(const seqgen_dataset *ds, size_t index)
{
    if (!ds || index >= ds->count)
        return 0;
    return ds->lengths ? ds->lengths[index] : ds->steps;
}

int seqgen_dataset_label(const seqgen_dataset *ds, size_t index, int64_t *label)
{
    if (!ds || !label)
        return sg_error(SEQGEN_EINVAL, "seqgen_dataset_label: NULL %s", !ds ? "ds" : "label");
    if (index >= ds->count)
        return sg_error(SEQGEN_EINVAL, "sequence %zu is beyond the %zu sequences", index,
                        ds->count);
    if (!ds->labels)
        return sg_error(SEQGEN_ESTATE, "the dataset has no labels");
    *label = ds->labels[index];
    return SEQGEN_OK;
}

int seqgen_dataset_limit(seqgen_dataset *ds, size_t count)
{
    if (!ds)
        return sg_error(SEQGEN_EINVAL, "seqgen_dataset_limit: NULL ds");
    if (count == 0)
        return sg_error(SEQGEN_EINVAL, "a limit of 0 sequences: keep at least 1");
    if (count < ds->count)
        ds->count = count; /* the packed index, if built, stays valid for the first sequences */
    return SEQGEN_OK;
}

/* ---- Float sequences ----------------------------------------------------------------------- */

static int check_binarize(const seqgen_binarize_config *b)
{
    if (b->mode != SEQGEN_BINARIZE_THRESHOLD && b->mode != SEQGEN_BINARIZE_STOCHASTIC)
        return sg_error(SEQGEN_EINVAL, "unknown binarisation mode %d", (int)b->mode);
    return SEQGEN_OK;
}

/* Sequence `index` as floats [units]: binary units as they are, intensities binarised, 0 after
 * its length. Stochastic: 1 with probability byte / 255, decided as u * 255 < byte * 2^32 for a
 * uniform 32-bit u (exact for 0 and 255). */
static void fill_sequence(const seqgen_dataset *ds, size_t index, const seqgen_binarize_config *b,
                          uint64_t epoch, float *out)
{
    const uint8_t *bytes = ds->data + index * ds->units;
    const size_t n = (ds->lengths ? ds->lengths[index] : ds->steps) * ds->step_units;
    if (ds->binary) {
        for (size_t p = 0; p < n; p++)
            out[p] = (float)bytes[p];
    } else if (b->mode == SEQGEN_BINARIZE_THRESHOLD) {
        for (size_t p = 0; p < n; p++)
            out[p] = bytes[p] > b->threshold ? 1.0f : 0.0f;
    } else {
        uint64_t k = b->resample_each_epoch ? epoch & BINARIZE_EPOCH_MASK : 0;
        sg_rng rng;
        sg_rng_seed(&rng, b->seed, BINARIZE_STREAM_TAG | k << 32 | (uint64_t)index);
        for (size_t p = 0; p < n; p++)
            out[p] = (uint64_t)sg_rng_u32(&rng) * 255u < (uint64_t)bytes[p] << 32 ? 1.0f : 0.0f;
    }
    memset(out + n, 0, (ds->units - n) * sizeof *out);
}

int seqgen_dataset_sequences(const seqgen_dataset *ds, const size_t *indices, size_t count,
                             const seqgen_binarize_config *binarize, uint64_t epoch, float *out)
{
    static const seqgen_binarize_config default_binarize = SEQGEN_BINARIZE_CONFIG_DEFAULT;
    if (!ds || (count > 0 && (!indices || !out)))
        return sg_error(SEQGEN_EINVAL, "seqgen_dataset_sequences: NULL %s",
                        !ds ? "ds" : !indices ? "indices" : "out");
    const seqgen_binarize_config *b = binarize ? binarize : &default_binarize;
    int status = check_binarize(b);
    if (status != SEQGEN_OK)
        return status;
    for (size_t k = 0; k < count; k++)
        if (indices[k] >= ds->count)
            return sg_error(SEQGEN_EINVAL, "sequence index %zu (entry %zu) is beyond the %zu "
                            "sequences", indices[k], k, ds->count);
    for (size_t k = 0; k < count; k++)
        fill_sequence(ds, indices[k], b, epoch, out + k * ds->units);
    return SEQGEN_OK;
}

int sg_dataset_check_step(const seqgen_dataset *ds, size_t D, const char *what)
{
    if (D == 0 || D % ds->step_units != 0 || ds->units % D != 0)
        return sg_error(SEQGEN_EMISMATCH, "%s reads %zu units per step, which is not a multiple "
                        "of the data's %zu units per step dividing its %zu units", what, D,
                        ds->step_units, ds->units);
    if (ds->lengths && D != ds->step_units)
        return sg_error(SEQGEN_EMISMATCH, "%s reads %zu units per step, but the data's lengths "
                        "are in steps of %zu units", what, D, ds->step_units);
    return SEQGEN_OK;
}

/* ---- Batch iterator ------------------------------------------------------------------------ */

void sg_epoch_order(uint32_t *order, size_t count, int shuffle, uint64_t seed, uint64_t epoch)
{
    for (size_t k = 0; k < count; k++)
        order[k] = (uint32_t)k;
    if (!shuffle)
        return;
    sg_rng rng;
    sg_rng_seed(&rng, seed, epoch);
    for (size_t k = count; k > 1; k--) { /* Fisher-Yates (Durstenfeld) */
        uint32_t j = sg_rng_below(&rng, (uint32_t)k);
        uint32_t swap = order[k - 1];
        order[k - 1] = order[j];
        order[j] = swap;
    }
}

static int check_batch_config(const seqgen_dataset *ds, const seqgen_batch_config *cfg)
{
    if (cfg->batch_size == 0)
        return sg_error(SEQGEN_EINVAL, "batch size must be >= 1");
    int status = sg_dataset_check_step(ds, cfg->units_per_step, "the batch iterator");
    if (status)
        return status;
    if (cfg->drop_last && ds->count < cfg->batch_size)
        return sg_error(SEQGEN_EINVAL,
                        "batch size %zu with drop_last leaves no batch in the %zu sequences",
                        cfg->batch_size, ds->count);
    return check_binarize(&cfg->binarize);
}

int seqgen_batch_iter_create(seqgen_batch_iter **out, const seqgen_dataset *ds,
                             const seqgen_batch_config *cfg)
{
    static const seqgen_batch_config default_cfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    if (!out || !ds)
        return sg_error(SEQGEN_EINVAL, "seqgen_batch_iter_create: NULL %s", !out ? "output" : "ds");
    if (!cfg)
        cfg = &default_cfg;
    int status = check_batch_config(ds, cfg);
    if (status != SEQGEN_OK)
        return status;
    /* One allocation: the handle, then its arrays from the widest element type down. */
    const size_t rows = cfg->batch_size < ds->count ? cfg->batch_size : ds->count;
    const size_t n_lengths = ds->lengths ? rows : 0, n_labels = ds->labels ? rows : 0;
    seqgen_batch_iter *it = sg_calloc(1, sizeof *it + rows * sizeof *it->indices +
                                             n_lengths * sizeof *it->lengths +
                                             n_labels * sizeof *it->labels +
                                             rows * ds->units * sizeof *it->batch +
                                             ds->count * sizeof *it->order);
    if (!it)
        return sg_error(SEQGEN_ENOMEM, "cannot allocate a batch iterator for %zu sequences of "
                        "%zu units", ds->count, ds->units);
    it->indices = (size_t *)(it + 1);
    it->lengths = ds->lengths ? it->indices + rows : NULL;
    it->labels = ds->labels ? (int64_t *)(it->indices + rows + n_lengths) : NULL;
    it->batch = (float *)((int64_t *)(it->indices + rows + n_lengths) + n_labels);
    it->order = (uint32_t *)(it->batch + rows * ds->units);
    it->ds = ds;
    it->cfg = *cfg;
    it->count = ds->count;
    it->steps = ds->units / cfg->units_per_step;
    sg_epoch_order(it->order, it->count, cfg->shuffle, cfg->seed, 0);
    *out = it;
    return SEQGEN_OK;
}

void seqgen_batch_iter_free(seqgen_batch_iter *it)
{
    free(it); /* its arrays with it */
}

static void move_to(seqgen_batch_iter *it, uint64_t epoch, size_t position)
{
    sg_epoch_order(it->order, it->count, it->cfg.shuffle, it->cfg.seed, epoch);
    it->epoch = epoch;
    it->position = position;
}

int seqgen_batch_iter_next(seqgen_batch_iter *it, const float **sequences, size_t *count)
{
    if (!it || !sequences || !count)
        return sg_error(SEQGEN_EINVAL, "seqgen_batch_iter_next: NULL %s",
                        !it ? "it" : !sequences ? "sequences" : "count");
    size_t remaining = it->count - it->position;
    size_t n = remaining < it->cfg.batch_size ? remaining : it->cfg.batch_size;
    if (n == 0 || (n < it->cfg.batch_size && it->cfg.drop_last)) {
        move_to(it, it->epoch + 1, 0);
        *sequences = NULL;
        *count = 0;
        return SEQGEN_DONE;
    }
    const seqgen_dataset *ds = it->ds;
    for (size_t k = 0; k < n; k++) {
        size_t index = it->order[it->position + k];
        it->indices[k] = index;
        if (it->lengths)
            it->lengths[k] = ds->lengths[index];
        if (it->labels)
            it->labels[k] = ds->labels[index];
        fill_sequence(ds, index, &it->cfg.binarize, it->epoch, it->batch + k * ds->units);
    }
    it->position += n;
    *sequences = it->batch;
    *count = n;
    return SEQGEN_OK;
}

const int64_t *seqgen_batch_iter_labels(const seqgen_batch_iter *it) { return it ? it->labels : NULL; }
const size_t *seqgen_batch_iter_lengths(const seqgen_batch_iter *it) { return it ? it->lengths : NULL; }
const size_t *seqgen_batch_iter_indices(const seqgen_batch_iter *it) { return it ? it->indices : NULL; }
size_t seqgen_batch_iter_steps(const seqgen_batch_iter *it) { return it ? it->steps : 0; }
uint64_t seqgen_batch_iter_epoch(const seqgen_batch_iter *it) { return it ? it->epoch : 0; }
size_t seqgen_batch_iter_position(const seqgen_batch_iter *it) { return it ? it->position : 0; }

size_t seqgen_batch_iter_batches_per_epoch(const seqgen_batch_iter *it)
{
    if (!it)
        return 0;
    size_t full = it->count / it->cfg.batch_size;
    return it->cfg.drop_last || it->count % it->cfg.batch_size == 0 ? full : full + 1;
}

int seqgen_batch_iter_seek(seqgen_batch_iter *it, uint64_t epoch, size_t position)
{
    if (!it)
        return sg_error(SEQGEN_EINVAL, "seqgen_batch_iter_seek: NULL it");
    if (position > it->count)
        return sg_error(SEQGEN_EINVAL, "position %zu is beyond the %zu sequences of an epoch",
                        position, it->count);
    move_to(it, epoch, position);
    return SEQGEN_OK;
}

void sg_batch_iter_describe(const seqgen_batch_iter *it, seqgen_batch_config *cfg,
                            uint64_t *count)
{
    *cfg = it->cfg;
    *count = it->count;
}

/* ---- Exact nearest neighbour in Hamming distance ------------------------------------------- */

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
static ALWAYS_INLINE uint32_t popcount64(uint64_t x) { return (uint32_t)__builtin_popcountll(x); }
#else
#define ALWAYS_INLINE inline
static inline uint32_t popcount64(uint64_t x) /* SWAR bit count */
{
    x -= (x >> 1) & 0x5555555555555555u;
    x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fu;
    return (uint32_t)((x * 0x0101010101010101u) >> 56);
}
#endif

/* For nq packed queries [nq][words], the nearest of n packed images [n][words]: the first index
 * with the smallest distance. Each image is loaded once for the whole block of queries. */
static ALWAYS_INLINE void nearest_block(const uint64_t *images, size_t n, size_t words,
                                        const uint64_t *queries, size_t nq, size_t *best_index,
                                        uint32_t *best_distance)
{
    for (size_t q = 0; q < nq; q++) {
        best_distance[q] = UINT32_MAX;
        best_index[q] = 0;
    }
    for (size_t i = 0; i < n; i++, images += words) {
        const uint64_t *query = queries;
        for (size_t q = 0; q < nq; q++, query += words) {
            uint32_t distance = 0;
            for (size_t w = 0; w < words; w++)
                distance += popcount64(images[w] ^ query[w]);
            if (distance < best_distance[q]) {
                best_distance[q] = distance;
                best_index[q] = i;
            }
        }
    }
}

typedef void nearest_kernel(const uint64_t *, size_t, size_t, const uint64_t *, size_t, size_t *,
                            uint32_t *);

static void nearest_block_portable(const uint64_t *images, size_t n, size_t words,
                                   const uint64_t *queries, size_t nq, size_t *best_index,
                                   uint32_t *best_distance)
{
    nearest_block(images, n, words, queries, nq, best_index, best_distance);
}

/* x86 builds default to a CPU without the POPCNT instruction, where __builtin_popcountll is a
 * slow library call: compile a second copy for POPCNT and pick it at run time (not with
 * -DSG_PORTABLE_ONLY, which tests the path of CPUs without it). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(SG_PORTABLE_ONLY)
__attribute__((target("popcnt"))) static void
nearest_block_popcnt(const uint64_t *images, size_t n, size_t words, const uint64_t *queries,
                     size_t nq, size_t *best_index, uint32_t *best_distance)
{
    nearest_block(images, n, words, queries, nq, best_index, best_distance);
}

static nearest_kernel *choose_nearest_kernel(void)
{
    return __builtin_cpu_supports("popcnt") ? nearest_block_popcnt : nearest_block_portable;
}
#else
static nearest_kernel *choose_nearest_kernel(void) { return nearest_block_portable; }
#endif

/* Sequence i's binary units as bits: a binary unit as it is, an intensity > NN_THRESHOLD as 1;
 * the padding after its length stays 0. */
static void pack_sequence(const seqgen_dataset *ds, size_t i, uint64_t *bits)
{
    const uint8_t *bytes = ds->data + i * ds->units;
    const size_t n = (ds->lengths ? ds->lengths[i] : ds->steps) * ds->step_units;
    const unsigned threshold = ds->binary ? 0u : NN_THRESHOLD;
    for (size_t p = 0; p < n; p++)
        bits[p / 64] |= (uint64_t)(bytes[p] > threshold) << (p % 64);
}

static void pack_query(const float *values, size_t pixels, size_t words, uint64_t *bits)
{
    memset(bits, 0, words * sizeof *bits);
    for (size_t p = 0; p < pixels; p++)
        bits[p / 64] |= (uint64_t)(values[p] > 0.5f) << (p % 64);
}

static int build_nearest_index(seqgen_dataset *ds)
{
    size_t words = (ds->units + 63) / 64;
    uint64_t *packed = sg_calloc(ds->count * words, sizeof *packed);
    uint64_t *query_block = sg_calloc(NN_QUERY_BLOCK * words, sizeof *query_block);
    if (!packed || !query_block) {
        free(packed);
        free(query_block);
        return sg_error(SEQGEN_ENOMEM, "cannot allocate the nearest-neighbour index of %zu sequences",
                        ds->count);
    }
    for (size_t i = 0; i < ds->count; i++)
        pack_sequence(ds, i, packed + i * words);
    ds->packed = packed;
    ds->query_block = query_block;
    ds->words = words;
    return SEQGEN_OK;
}

int seqgen_dataset_nearest(seqgen_dataset *ds, const float *queries, size_t count, size_t *nearest,
                           uint32_t *distance)
{
    if (!ds || (count > 0 && (!queries || !nearest)))
        return sg_error(SEQGEN_EINVAL, "seqgen_dataset_nearest: NULL %s",
                        !ds ? "ds" : !queries ? "queries" : "nearest");
    if (!ds->packed) {
        int status = build_nearest_index(ds);
        if (status != SEQGEN_OK)
            return status;
    }
    nearest_kernel *kernel = choose_nearest_kernel();
    for (size_t start = 0; start < count; start += NN_QUERY_BLOCK) {
        size_t nq = count - start < NN_QUERY_BLOCK ? count - start : NN_QUERY_BLOCK;
        for (size_t q = 0; q < nq; q++)
            pack_query(queries + (start + q) * ds->units, ds->units, ds->words,
                       ds->query_block + q * ds->words);
        uint32_t block_distance[NN_QUERY_BLOCK];
        kernel(ds->packed, ds->count, ds->words, ds->query_block, nq, nearest + start,
               block_distance);
        if (distance)
            memcpy(distance + start, block_distance, nq * sizeof *distance);
    }
    return SEQGEN_OK;
}
