/* The dataset handle: an image/label pair loaded from IDX files, binarisation into pixel
 * sequences, the epoch batch iterator, and the exact nearest-neighbour search. */
#include "dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "idx.h"
#include "rng.h"
#include "status.h"

#define NUM_CLASSES 10u
/* Stochastic binarisation streams have bit 62 set, shuffling streams (the epoch) never do, so the
 * two never share a generator even with equal seeds. Bits 32-61 hold the epoch, 0-31 the image. */
#define BINARIZE_STREAM_TAG ((uint64_t)1 << 62)
#define BINARIZE_EPOCH_MASK (((uint64_t)1 << 30) - 1)
/* The nearest-neighbour index binarises dataset images at the default threshold. */
#define NN_THRESHOLD 127u
/* Queries compared together against each packed dataset image, which is then loaded once per
 * block instead of once per query. */
#define NN_QUERY_BLOCK 16u

struct seqgen_dataset {
    uint8_t *images; /* count * pixels bytes, row-major */
    uint8_t *labels; /* count labels, 0-9 */
    size_t count, rows, cols, pixels;
    /* Nearest-neighbour index, built by the first search: image i's binary pixels as bits of
     * packed[i * words ...], pixel p in bit p % 64 of word p / 64; unused bits are 0. */
    uint64_t *packed;
    uint64_t *query_block; /* NN_QUERY_BLOCK * words, the packed queries of one block */
    size_t words;
};

struct seqgen_batch_iter {
    const seqgen_dataset *ds;
    seqgen_batch_config cfg;
    size_t count; /* images per epoch */
    size_t steps; /* T = pixels / D */
    uint64_t epoch;
    size_t position; /* images of this epoch already handed out */
    /* Arrays allocated with the handle, after it: */
    size_t *indices; /* min(B, count) */
    float *batch;    /* min(B, count) * pixels */
    uint32_t *order; /* order[k]: dataset index at position k of this epoch */
    uint8_t *labels; /* min(B, count) */
};

/* ---- Loading ------------------------------------------------------------------------------- */

static int check_pair(const char *images_path, const sg_idx *images, const char *labels_path,
                      const sg_idx *labels)
{
    if (images->dims[0] != labels->dims[0])
        return sg_error(SEQGEN_EMISMATCH, "%s holds %u images but %s holds %u labels", images_path,
                        images->dims[0], labels_path, labels->dims[0]);
    for (size_t i = 0; i < labels->size; i++)
        if (labels->data[i] >= NUM_CLASSES)
            return sg_error(SEQGEN_ERANGE, "%s: label %u of image %zu is outside 0-9", labels_path,
                            labels->data[i], i);
    return SEQGEN_OK;
}

int seqgen_dataset_open(seqgen_dataset **out, const char *images_path, const char *labels_path)
{
    if (!out || !images_path || !labels_path)
        return sg_error(SEQGEN_EINVAL, "seqgen_dataset_open: NULL argument");
    sg_idx images, labels = {NULL, 0, 0, {0}};
    int status = sg_idx_read(images_path, 3, &images);
    if (status != SEQGEN_OK)
        return status;
    status = sg_idx_read(labels_path, 1, &labels);
    if (status == SEQGEN_OK)
        status = check_pair(images_path, &images, labels_path, &labels);
    seqgen_dataset *ds = NULL;
    if (status == SEQGEN_OK && !(ds = sg_calloc(1, sizeof *ds)))
        status = sg_error(SEQGEN_ENOMEM, "cannot allocate a dataset");
    if (status != SEQGEN_OK) {
        sg_idx_free(&images);
        sg_idx_free(&labels);
        return status;
    }
    ds->images = images.data;
    ds->labels = labels.data;
    ds->count = images.dims[0];
    ds->rows = images.dims[1];
    ds->cols = images.dims[2];
    ds->pixels = ds->rows * ds->cols;
    *out = ds;
    return SEQGEN_OK;
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

int seqgen_dataset_open_dir(seqgen_dataset **out, const char *dir, seqgen_split split)
{
    if (!out || !dir || (split != SEQGEN_SPLIT_TRAIN && split != SEQGEN_SPLIT_TEST))
        return sg_error(SEQGEN_EINVAL, "seqgen_dataset_open_dir: NULL argument or bad split");
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
        status = seqgen_dataset_open(out, images_path, labels_path);
    free(images_path);
    free(labels_path);
    return status;
}

void seqgen_dataset_free(seqgen_dataset *ds)
{
    if (!ds)
        return;
    free(ds->images);
    free(ds->labels);
    free(ds->packed);
    free(ds->query_block);
    free(ds);
}

size_t seqgen_dataset_count(const seqgen_dataset *ds) { return ds ? ds->count : 0; }
size_t seqgen_dataset_rows(const seqgen_dataset *ds) { return ds ? ds->rows : 0; }
size_t seqgen_dataset_cols(const seqgen_dataset *ds) { return ds ? ds->cols : 0; }
size_t seqgen_dataset_pixels(const seqgen_dataset *ds) { return ds ? ds->pixels : 0; }

const uint8_t *seqgen_dataset_image(const seqgen_dataset *ds, size_t index)
{
    return ds && index < ds->count ? ds->images + index * ds->pixels : NULL;
}

int seqgen_dataset_label(const seqgen_dataset *ds, size_t index)
{
    return ds && index < ds->count ? ds->labels[index] : -1;
}

int seqgen_dataset_limit(seqgen_dataset *ds, size_t count)
{
    if (!ds || count == 0)
        return sg_error(SEQGEN_EINVAL, "seqgen_dataset_limit: NULL dataset or count 0");
    if (count < ds->count)
        ds->count = count; /* the packed index, if built, stays valid for the first images */
    return SEQGEN_OK;
}

/* ---- Binarisation -------------------------------------------------------------------------- */

static int check_binarize(const seqgen_binarize_config *b)
{
    if (b->mode != SEQGEN_BINARIZE_THRESHOLD && b->mode != SEQGEN_BINARIZE_STOCHASTIC)
        return sg_error(SEQGEN_EINVAL, "unknown binarisation mode %d", (int)b->mode);
    return SEQGEN_OK;
}

/* One image's bytes [pixels] to binary floats [pixels]. Stochastic: 1 with probability
 * byte / 255, decided as u * 255 < byte * 2^32 for a uniform 32-bit u (exact for 0 and 255). */
static void binarize_image(const uint8_t *bytes, size_t pixels, const seqgen_binarize_config *b,
                           uint64_t epoch, size_t index, float *out)
{
    if (b->mode == SEQGEN_BINARIZE_THRESHOLD) {
        for (size_t p = 0; p < pixels; p++)
            out[p] = bytes[p] > b->threshold ? 1.0f : 0.0f;
        return;
    }
    uint64_t k = b->resample_each_epoch ? epoch & BINARIZE_EPOCH_MASK : 0;
    sg_rng rng;
    sg_rng_seed(&rng, b->seed, BINARIZE_STREAM_TAG | k << 32 | (uint64_t)index);
    for (size_t p = 0; p < pixels; p++)
        out[p] = (uint64_t)sg_rng_u32(&rng) * 255u < (uint64_t)bytes[p] << 32 ? 1.0f : 0.0f;
}

int seqgen_dataset_sequences(const seqgen_dataset *ds, const size_t *indices, size_t count,
                             const seqgen_binarize_config *binarize, uint64_t epoch, float *out)
{
    static const seqgen_binarize_config default_binarize = SEQGEN_BINARIZE_CONFIG_DEFAULT;
    if (!ds || (count > 0 && (!indices || !out)))
        return sg_error(SEQGEN_EINVAL, "seqgen_dataset_sequences: NULL argument");
    const seqgen_binarize_config *b = binarize ? binarize : &default_binarize;
    int status = check_binarize(b);
    if (status != SEQGEN_OK)
        return status;
    for (size_t k = 0; k < count; k++)
        if (indices[k] >= ds->count)
            return sg_error(SEQGEN_EINVAL, "image index %zu (entry %zu) is beyond the %zu images",
                            indices[k], k, ds->count);
    for (size_t k = 0; k < count; k++)
        binarize_image(ds->images + indices[k] * ds->pixels, ds->pixels, b, epoch, indices[k],
                       out + k * ds->pixels);
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
    if (cfg->units_per_step == 0 || ds->pixels % cfg->units_per_step != 0)
        return sg_error(SEQGEN_EINVAL, "%zu pixels per step does not divide the %zu pixels of an image",
                        cfg->units_per_step, ds->pixels);
    if (cfg->drop_last && ds->count < cfg->batch_size)
        return sg_error(SEQGEN_EINVAL,
                        "batch size %zu with drop_last leaves no batch in the %zu images",
                        cfg->batch_size, ds->count);
    return check_binarize(&cfg->binarize);
}

int seqgen_batch_iter_create(seqgen_batch_iter **out, const seqgen_dataset *ds,
                             const seqgen_batch_config *cfg)
{
    static const seqgen_batch_config default_cfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    if (!out || !ds)
        return sg_error(SEQGEN_EINVAL, "seqgen_batch_iter_create: NULL argument");
    if (!cfg)
        cfg = &default_cfg;
    int status = check_batch_config(ds, cfg);
    if (status != SEQGEN_OK)
        return status;
    /* One allocation: the handle, then its arrays from the widest element type down. */
    const size_t rows = cfg->batch_size < ds->count ? cfg->batch_size : ds->count;
    seqgen_batch_iter *it = sg_calloc(1, sizeof *it + rows * sizeof *it->indices +
                                             rows * ds->pixels * sizeof *it->batch +
                                             ds->count * sizeof *it->order + rows);
    if (!it)
        return sg_error(SEQGEN_ENOMEM, "cannot allocate a batch iterator for %zu images of %zu pixels",
                        ds->count, ds->pixels);
    it->indices = (size_t *)(it + 1);
    it->batch = (float *)(it->indices + rows);
    it->order = (uint32_t *)(it->batch + rows * ds->pixels);
    it->labels = (uint8_t *)(it->order + ds->count);
    it->ds = ds;
    it->cfg = *cfg;
    it->count = ds->count;
    it->steps = ds->pixels / cfg->units_per_step;
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
        return sg_error(SEQGEN_EINVAL, "seqgen_batch_iter_next: NULL argument");
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
        it->labels[k] = ds->labels[index];
        binarize_image(ds->images + index * ds->pixels, ds->pixels, &it->cfg.binarize, it->epoch,
                       index, it->batch + k * ds->pixels);
    }
    it->position += n;
    *sequences = it->batch;
    *count = n;
    return SEQGEN_OK;
}

const uint8_t *seqgen_batch_iter_labels(const seqgen_batch_iter *it) { return it ? it->labels : NULL; }
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
    if (!it || position > it->count)
        return sg_error(SEQGEN_EINVAL, "seqgen_batch_iter_seek: NULL iterator or position %zu "
                        "beyond the %zu images", position, it ? it->count : 0);
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

static void pack_image(const uint8_t *bytes, size_t pixels, uint64_t *bits)
{
    for (size_t p = 0; p < pixels; p++)
        bits[p / 64] |= (uint64_t)(bytes[p] > NN_THRESHOLD) << (p % 64);
}

static void pack_query(const float *values, size_t pixels, size_t words, uint64_t *bits)
{
    memset(bits, 0, words * sizeof *bits);
    for (size_t p = 0; p < pixels; p++)
        bits[p / 64] |= (uint64_t)(values[p] > 0.5f) << (p % 64);
}

static int build_nearest_index(seqgen_dataset *ds)
{
    size_t words = (ds->pixels + 63) / 64;
    uint64_t *packed = sg_calloc(ds->count * words, sizeof *packed);
    uint64_t *query_block = sg_calloc(NN_QUERY_BLOCK * words, sizeof *query_block);
    if (!packed || !query_block) {
        free(packed);
        free(query_block);
        return sg_error(SEQGEN_ENOMEM, "cannot allocate the nearest-neighbour index of %zu images",
                        ds->count);
    }
    for (size_t i = 0; i < ds->count; i++)
        pack_image(ds->images + i * ds->pixels, ds->pixels, packed + i * words);
    ds->packed = packed;
    ds->query_block = query_block;
    ds->words = words;
    return SEQGEN_OK;
}

int seqgen_dataset_nearest(seqgen_dataset *ds, const float *queries, size_t count, size_t *nearest,
                           uint32_t *distance)
{
    if (!ds || (count > 0 && (!queries || !nearest)))
        return sg_error(SEQGEN_EINVAL, "seqgen_dataset_nearest: NULL argument");
    if (!ds->packed) {
        int status = build_nearest_index(ds);
        if (status != SEQGEN_OK)
            return status;
    }
    nearest_kernel *kernel = choose_nearest_kernel();
    for (size_t start = 0; start < count; start += NN_QUERY_BLOCK) {
        size_t nq = count - start < NN_QUERY_BLOCK ? count - start : NN_QUERY_BLOCK;
        for (size_t q = 0; q < nq; q++)
            pack_query(queries + (start + q) * ds->pixels, ds->pixels, ds->words,
                       ds->query_block + q * ds->words);
        uint32_t block_distance[NN_QUERY_BLOCK];
        kernel(ds->packed, ds->count, ds->words, ds->query_block, nq, nearest + start,
               block_distance);
        if (distance)
            memcpy(distance + start, block_distance, nq * sizeof *distance);
    }
    return SEQGEN_OK;
}
