/* Datasets of symbol sequences (int32 ids with lengths): from memory and from UTF-8 text files
 * of one sequence per line; their batch iterator. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "dataset.h"
#include "regular_file.h"
#include "status.h"
#include "vocab.h"

/* The epoch order holds 32-bit indices, as the binary iterator's. */
#define MAX_SEQUENCES UINT32_MAX
#define DEFAULT_MAX_BYTES ((uint64_t)1 << 30)
#define DEFAULT_MAX_LINE_SYMBOLS 4096u
#define READ_CHUNK ((size_t)1 << 24)

struct seqgen_symbol_dataset {
    int32_t *symbols; /* [count][steps], the end symbol after each length */
    size_t *lengths;  /* [count], 1 to steps */
    size_t count, steps, vocab;
};

struct seqgen_symbol_iter {
    const seqgen_symbol_dataset *ds;
    seqgen_batch_config cfg;
    uint64_t epoch;
    size_t position; /* sequences of this epoch already handed out */
    /* Arrays allocated with the handle, after it: */
    size_t *indices;  /* min(B, N) */
    size_t *lengths;  /* min(B, N) */
    int32_t *batch;   /* min(B, N) * T */
    uint32_t *order;  /* N: the dataset index at each position of this epoch */
};

/* ---- Datasets ------------------------------------------------------------------------------ */

/* An empty dataset of `count` sequences of `steps` symbols (all the end symbol). */
static int alloc_dataset(seqgen_symbol_dataset **out, size_t count, size_t steps, size_t vocab,
                         const char *source)
{
    if (count > MAX_SEQUENCES)
        return sg_error(SEQGEN_EOVERFLOW, "%s: %zu sequences, more than the %u a dataset holds",
                        source, count, MAX_SEQUENCES);
    if (steps > SIZE_MAX / sizeof(int32_t) / count)
        return sg_error(SEQGEN_EOVERFLOW, "%s: %zu sequences of %zu symbols overflow the "
                        "address space", source, count, steps);
    seqgen_symbol_dataset *ds = sg_calloc(1, sizeof *ds);
    if (ds) {
        ds->symbols = sg_calloc(count * steps, sizeof *ds->symbols); /* 0: the end symbol */
        ds->lengths = sg_malloc(count * sizeof *ds->lengths);
    }
    if (!ds || !ds->symbols || !ds->lengths) {
        seqgen_symbol_dataset_free(ds);
        return sg_error(SEQGEN_ENOMEM, "%s: cannot allocate %zu sequences of %zu symbols",
                        source, count, steps);
    }
    ds->count = count;
    ds->steps = steps;
    ds->vocab = vocab;
    *out = ds;
    return SEQGEN_OK;
}

int seqgen_symbol_dataset_from_memory(seqgen_symbol_dataset **out,
                                      const seqgen_symbol_sequences *seqs)
{
    if (!out || !seqs || !seqs->symbols)
        return sg_error(SEQGEN_EINVAL, "seqgen_symbol_dataset_from_memory: NULL %s",
                        !out ? "output" : !seqs ? "seqs" : "seqs->symbols");
    const seqgen_symbol_sequences *s = seqs;
    if (s->count == 0 || s->steps == 0)
        return sg_error(SEQGEN_EINVAL, "%zu sequences of %zu symbols: both must be >= 1",
                        s->count, s->steps);
    if (s->vocab < 2 || s->vocab > SEQGEN_VOCAB_MAX)
        return sg_error(SEQGEN_EINVAL, "a vocabulary of %zu symbols: V must be 2 to %d",
                        s->vocab, SEQGEN_VOCAB_MAX);
    if (s->count > MAX_SEQUENCES || s->steps > SIZE_MAX / sizeof(int32_t) / s->count)
        return sg_error(SEQGEN_EOVERFLOW, "%zu sequences of %zu symbols: more than %u sequences "
                        "or more than the address space", s->count, s->steps, MAX_SEQUENCES);
    for (size_t i = 0; i < s->count; i++) {
        size_t length = s->lengths ? s->lengths[i] : s->steps;
        if (length < 1 || length > s->steps)
            return sg_error(SEQGEN_ERANGE, "sequence %zu has length %zu, not in [1, %zu]", i,
                            length, s->steps);
        for (size_t t = 0; t < length; t++) {
            int32_t y = s->symbols[i * s->steps + t];
            if (y < 0 || (size_t)y >= s->vocab)
                return sg_error(SEQGEN_ERANGE, "sequence %zu, step %zu: symbol %ld is not in "
                                "[0, %zu)", i, t, (long)y, s->vocab);
        }
    }
    seqgen_symbol_dataset *ds;
    int status = alloc_dataset(&ds, s->count, s->steps, s->vocab, "the arrays given");
    if (status)
        return status;
    for (size_t i = 0; i < s->count; i++) {
        ds->lengths[i] = s->lengths ? s->lengths[i] : s->steps;
        memcpy(ds->symbols + i * s->steps, s->symbols + i * s->steps,
               ds->lengths[i] * sizeof *ds->symbols);
    }
    *out = ds;
    return SEQGEN_OK;
}

void seqgen_symbol_dataset_free(seqgen_symbol_dataset *ds)
{
    if (!ds)
        return;
    free(ds->symbols);
    free(ds->lengths);
    free(ds);
}

size_t seqgen_symbol_dataset_count(const seqgen_symbol_dataset *ds) { return ds ? ds->count : 0; }
size_t seqgen_symbol_dataset_steps(const seqgen_symbol_dataset *ds) { return ds ? ds->steps : 0; }
size_t seqgen_symbol_dataset_vocab_size(const seqgen_symbol_dataset *ds) { return ds ? ds->vocab : 0; }

size_t seqgen_symbol_dataset_length(const seqgen_symbol_dataset *ds, size_t index)
{
    return ds && index < ds->count ? ds->lengths[index] : 0;
}

const int32_t *seqgen_symbol_dataset_sequence(const seqgen_symbol_dataset *ds, size_t index)
{
    return ds && index < ds->count ? ds->symbols + index * ds->steps : NULL;
}

/* FNV-1a of one value as 8 little-endian bytes. */
static uint64_t fnv_u64(uint64_t h, uint64_t v)
{
    for (int b = 0; b < 8; b++)
        h = (h ^ (v >> 8 * b & 0xff)) * 1099511628211ull;
    return h;
}

uint64_t seqgen_symbol_dataset_checksum(const seqgen_symbol_dataset *ds, uint64_t previous)
{
    if (!ds)
        return previous;
    uint64_t h = 14695981039346656037ull ^ previous;
    h = fnv_u64(fnv_u64(fnv_u64(h, ds->count), ds->steps), ds->vocab);
    for (size_t i = 0; i < ds->count; i++) {
        const int32_t *ids = ds->symbols + i * ds->steps;
        h = fnv_u64(h, ds->lengths[i]);
        for (size_t t = 0; t < ds->lengths[i]; t++)
            h = fnv_u64(h, (uint64_t)(uint32_t)ids[t]);
    }
    return h;
}

/* ---- Text files ---------------------------------------------------------------------------- */

seqgen_text_options seqgen_text_options_default(void)
{
    seqgen_text_options o = {NULL, 0, DEFAULT_MAX_BYTES, DEFAULT_MAX_LINE_SYMBOLS, MAX_SEQUENCES};
    return o;
}

/* The whole regular file at `path`, within max_bytes; an empty file is refused. */
static int read_text_file(const char *path, uint64_t max_bytes, uint8_t **data, size_t *size)
{
    int fd;
    uint64_t bytes;
    int status = sg_open_regular(path, &fd, &bytes);
    if (status)
        return status;
    if (bytes == 0)
        status = sg_error(SEQGEN_EFORMAT, "%s: the file is empty: no line to read", path);
    else if (bytes > max_bytes || bytes > SIZE_MAX - 1)
        status = sg_error(SEQGEN_EOVERFLOW, "%s: %llu bytes, more than the limit of %llu "
                          "(seqgen_text_options.max_bytes)", path, (unsigned long long)bytes,
                          (unsigned long long)max_bytes);
    uint8_t *buf = NULL;
    if (!status && !(buf = sg_malloc((size_t)bytes)))
        status = sg_error(SEQGEN_ENOMEM, "%s: cannot allocate %llu bytes to read it", path,
                          (unsigned long long)bytes);
    size_t got = 0;
    while (!status && got < bytes) {
        size_t chunk = bytes - got < READ_CHUNK ? (size_t)bytes - got : READ_CHUNK;
        ssize_t r = read(fd, buf + got, chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            status = sg_error(SEQGEN_EIO, "%s: read error: %s", path, strerror(errno));
        else if (r == 0)
            status = sg_error(SEQGEN_ETRUNCATED, "%s: file shrank while being read", path);
        else
            got += (size_t)r;
    }
    close(fd);
    if (status) {
        free(buf);
        return status;
    }
    *data = buf;
    *size = (size_t)bytes;
    return SEQGEN_OK;
}

/* What the first pass over a file learns. */
typedef struct text_scan {
    const char *path;
    const uint8_t *data;
    size_t size, start;        /* start: after a byte order mark */
    size_t sequences;          /* non-empty lines */
    size_t longest[2];         /* the most characters in a line of each part (train, held out) */
    size_t count[2];           /* sequences in each part */
    uint64_t *seen;            /* building a vocabulary: one bit per code point, else NULL */
    size_t distinct;
} text_scan;

/* Which part sequence i goes to: 1 (held out) for every k-th. */
static int part_of(size_t i, size_t k) { return k >= 2 && i % k == k - 1; }

/* The end of the line starting at `at` (its LF, or the file's end) and the end of its text
 * (before a CR that precedes the LF). */
static size_t line_end(const text_scan *s, size_t at, size_t *text_end)
{
    const uint8_t *lf = memchr(s->data + at, '\n', s->size - at);
    size_t end = lf ? (size_t)(lf - s->data) : s->size;
    *text_end = lf && end > at && s->data[end - 1] == '\r' ? end - 1 : end;
    return end;
}

/* The first pass: every character checked (UTF-8, NUL, CR, the vocabulary), the lines counted
 * and measured against the limits. */
static int scan_text(text_scan *s, const seqgen_text_options *o)
{
    size_t line = 0;
    for (size_t at = s->start; at < s->size; line++) {
        size_t text_end, end = line_end(s, at, &text_end), chars = 0;
        for (size_t b = at; b < text_end; chars++) {
            uint32_t cp;
            int len = sg_utf8_decode(s->data + b, text_end - b, &cp);
            if (len < 0 && text_end == s->size)
                return sg_error(SEQGEN_ETRUNCATED, "%s: line %zu, column %zu (byte %zu): a "
                                "character of UTF-8 cut by the end of the file", s->path,
                                line + 1, chars + 1, b);
            if (len <= 0)
                return sg_error(SEQGEN_EFORMAT, "%s: line %zu, column %zu (byte %zu): not valid "
                                "UTF-8 (byte 0x%02X)", s->path, line + 1, chars + 1, b,
                                s->data[b]);
            if (cp == 0)
                return sg_error(SEQGEN_EFORMAT, "%s: line %zu, column %zu (byte %zu): a NUL "
                                "byte: a binary file, not text", s->path, line + 1, chars + 1,
                                b);
            if (cp == '\r')
                return sg_error(SEQGEN_EFORMAT, "%s: line %zu, column %zu (byte %zu): a carriage "
                                "return not before a line feed", s->path, line + 1, chars + 1,
                                b);
            if (o->vocab && seqgen_vocab_id(o->vocab, cp) < 0) {
                char what[32];
                sg_describe_code_point(cp, what, sizeof what);
                return sg_error(SEQGEN_ERANGE, "%s: line %zu, column %zu (byte %zu): character "
                                "%s is not in the vocabulary given", s->path, line + 1,
                                chars + 1, b, what);
            }
            if (s->seen && !(s->seen[cp / 64] >> (cp % 64) & 1)) {
                s->seen[cp / 64] |= (uint64_t)1 << (cp % 64);
                s->distinct++;
            }
            b += (size_t)len;
            if (chars + 1 > o->max_line_symbols)
                return sg_error(SEQGEN_EOVERFLOW, "%s: line %zu (byte %zu) is longer than the "
                                "limit of %zu characters (seqgen_text_options.max_line_symbols)",
                                s->path, line + 1, at, o->max_line_symbols);
        }
        if (chars > 0) {
            if (s->sequences == o->max_sequences)
                return sg_error(SEQGEN_EOVERFLOW, "%s: line %zu: more than the limit of %zu "
                                "non-empty lines (seqgen_text_options.max_sequences)", s->path,
                                line + 1, o->max_sequences);
            int part = part_of(s->sequences, o->holdout_every);
            s->count[part]++;
            if (chars > s->longest[part])
                s->longest[part] = chars;
            s->sequences++;
        }
        at = end + 1;
    }
    if (s->sequences == 0)
        return sg_error(SEQGEN_EFORMAT, "%s: no non-empty line in %zu lines", s->path, line);
    if (o->holdout_every >= 2 && s->count[1] == 0)
        return sg_error(SEQGEN_EINVAL, "%s: %zu non-empty lines, fewer than the %zu it takes "
                        "for one held-out sequence (seqgen_text_options.holdout_every)", s->path,
                        s->sequences, o->holdout_every);
    return SEQGEN_OK;
}

/* The second pass: the ids of every non-empty line into its part. */
static void fill_text(const text_scan *s, const seqgen_vocab *vocab, size_t k,
                      seqgen_symbol_dataset *parts[2])
{
    size_t next[2] = {0, 0}, sequence = 0;
    for (size_t at = s->start; at < s->size;) {
        size_t text_end, end = line_end(s, at, &text_end);
        if (text_end > at) {
            int part = part_of(sequence++, k);
            seqgen_symbol_dataset *ds = parts[part];
            int32_t *out = ds->symbols + next[part] * ds->steps;
            size_t n = 0;
            for (size_t b = at; b < text_end; n++) {
                uint32_t cp = 0;
                b += (size_t)sg_utf8_decode(s->data + b, text_end - b, &cp); /* checked */
                out[n] = seqgen_vocab_id(vocab, cp);
            }
            out[n] = SEQGEN_VOCAB_END;
            ds->lengths[next[part]++] = n + 1;
        }
        at = end + 1;
    }
}

static int check_text_options(const seqgen_text_options *o)
{
    if (o->holdout_every == 1)
        return sg_error(SEQGEN_EINVAL, "holdout_every 1 would hold out every sequence: use 0 "
                        "(no split) or k >= 2");
    if (o->max_bytes == 0 || o->max_line_symbols == 0 || o->max_sequences == 0 ||
        o->max_sequences > MAX_SEQUENCES || o->max_line_symbols > SIZE_MAX / 8)
        return sg_error(SEQGEN_EINVAL, "text limits of %llu bytes, %zu characters a line and "
                        "%zu lines: each must be >= 1, the lines at most %u",
                        (unsigned long long)o->max_bytes, o->max_line_symbols, o->max_sequences,
                        MAX_SEQUENCES);
    return SEQGEN_OK;
}

/* The dataset of one part, within the memory limit: N (T * 4 + 8) bytes. */
static int alloc_part(seqgen_symbol_dataset **out, const text_scan *s, int part, size_t V,
                      uint64_t max_bytes)
{
    const size_t n = s->count[part], T = s->longest[part] + 1;
    const uint64_t each = (uint64_t)T * sizeof(int32_t) + sizeof(size_t);
    if (each > max_bytes / n)
        return sg_error(SEQGEN_EOVERFLOW, "%s: %zu sequences padded to %zu symbols take %llu "
                        "bytes, more than the limit of %llu (seqgen_text_options.max_bytes)",
                        s->path, n, T, (unsigned long long)(n * each),
                        (unsigned long long)max_bytes);
    return alloc_dataset(out, n, T, V, s->path);
}

int seqgen_symbol_dataset_open_text(seqgen_symbol_dataset **train, seqgen_symbol_dataset **heldout,
                                    seqgen_vocab **vocab, const char *path,
                                    const seqgen_text_options *opts)
{
    const seqgen_text_options defaults = seqgen_text_options_default();
    const seqgen_text_options *o = opts ? opts : &defaults;
    if (!train || !path || (o->holdout_every >= 2 && !heldout))
        return sg_error(SEQGEN_EINVAL, "seqgen_symbol_dataset_open_text: NULL %s",
                        !train ? "train" : !path ? "path" : "heldout (holdout_every is set)");
    int status = check_text_options(o);
    if (status)
        return status;
    text_scan s;
    memset(&s, 0, sizeof s);
    s.path = path;
    uint8_t *data = NULL;
    status = read_text_file(path, o->max_bytes, &data, &s.size);
    if (status)
        return status;
    s.data = data;
    if (s.size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        s.start = 3; /* a byte order mark */
    if (!o->vocab && !(s.seen = sg_calloc(SG_VOCAB_SET_WORDS, sizeof *s.seen)))
        status = sg_error(SEQGEN_ENOMEM, "%s: cannot allocate the set of characters", path);
    if (!status)
        status = scan_text(&s, o);
    seqgen_vocab *v = NULL;
    if (!status && o->vocab) {
        if ((status = sg_vocab_copy(o->vocab, &v)) != SEQGEN_OK)
            status = sg_error_prefix(status, path);
    } else if (!status && s.distinct > SEQGEN_VOCAB_MAX - 1) {
        status = sg_error(SEQGEN_EOVERFLOW, "%s: %zu distinct characters, more than the %d a "
                          "vocabulary holds", path, s.distinct, SEQGEN_VOCAB_MAX - 1);
    } else if (!status && (status = sg_vocab_from_set(s.seen, s.distinct, &v)) != SEQGEN_OK) {
        status = sg_error_prefix(status, path);
    }
    free(s.seen);
    seqgen_symbol_dataset *parts[2] = {NULL, NULL};
    const size_t V = seqgen_vocab_size(v);
    if (!status)
        status = alloc_part(&parts[0], &s, 0, V, o->max_bytes);
    if (!status && o->holdout_every >= 2)
        status = alloc_part(&parts[1], &s, 1, V, o->max_bytes);
    if (!status)
        fill_text(&s, v, o->holdout_every, parts);
    free(data);
    if (status) {
        seqgen_symbol_dataset_free(parts[0]);
        seqgen_symbol_dataset_free(parts[1]);
        seqgen_vocab_free(v);
        return status;
    }
    *train = parts[0];
    if (heldout)
        *heldout = parts[1];
    if (vocab)
        *vocab = v;
    else
        seqgen_vocab_free(v);
    return SEQGEN_OK;
}

/* ---- Batch iterator ------------------------------------------------------------------------ */

int seqgen_symbol_iter_create(seqgen_symbol_iter **out, const seqgen_symbol_dataset *ds,
                              const seqgen_batch_config *cfg)
{
    static const seqgen_batch_config default_cfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    if (!out || !ds)
        return sg_error(SEQGEN_EINVAL, "seqgen_symbol_iter_create: NULL %s", !out ? "output" : "ds");
    if (!cfg)
        cfg = &default_cfg;
    if (cfg->batch_size == 0)
        return sg_error(SEQGEN_EINVAL, "batch size must be >= 1");
    if (cfg->units_per_step != 1)
        return sg_error(SEQGEN_EINVAL, "units_per_step %zu: a batch of symbols has one symbol "
                        "per step (1)", cfg->units_per_step);
    if (cfg->drop_last && ds->count < cfg->batch_size)
        return sg_error(SEQGEN_EINVAL, "batch size %zu with drop_last leaves no batch in the "
                        "%zu sequences", cfg->batch_size, ds->count);
    const size_t rows = cfg->batch_size < ds->count ? cfg->batch_size : ds->count;
    seqgen_symbol_iter *it = sg_calloc(1, sizeof *it + 2 * rows * sizeof(size_t) +
                                              rows * ds->steps * sizeof(int32_t) +
                                              ds->count * sizeof(uint32_t));
    if (!it)
        return sg_error(SEQGEN_ENOMEM, "cannot allocate an iterator for %zu sequences of %zu "
                        "symbols", ds->count, ds->steps);
    it->indices = (size_t *)(it + 1);
    it->lengths = it->indices + rows;
    it->batch = (int32_t *)(it->lengths + rows);
    it->order = (uint32_t *)(it->batch + rows * ds->steps);
    it->ds = ds;
    it->cfg = *cfg;
    sg_epoch_order(it->order, ds->count, cfg->shuffle, cfg->seed, 0);
    *out = it;
    return SEQGEN_OK;
}

void seqgen_symbol_iter_free(seqgen_symbol_iter *it) { free(it); }

void sg_symbol_iter_describe(const seqgen_symbol_iter *it, seqgen_batch_config *cfg,
                             uint64_t *count)
{
    *cfg = it->cfg;
    *count = it->ds->count;
}

int seqgen_symbol_iter_next(seqgen_symbol_iter *it, const int32_t **symbols, size_t *count)
{
    if (!it || !symbols || !count)
        return sg_error(SEQGEN_EINVAL, "seqgen_symbol_iter_next: NULL %s",
                        !it ? "it" : !symbols ? "symbols" : "count");
    const seqgen_symbol_dataset *ds = it->ds;
    size_t remaining = ds->count - it->position;
    size_t n = remaining < it->cfg.batch_size ? remaining : it->cfg.batch_size;
    if (n == 0 || (n < it->cfg.batch_size && it->cfg.drop_last)) {
        it->epoch++;
        it->position = 0;
        sg_epoch_order(it->order, ds->count, it->cfg.shuffle, it->cfg.seed, it->epoch);
        *symbols = NULL;
        *count = 0;
        return SEQGEN_DONE;
    }
    for (size_t k = 0; k < n; k++) {
        size_t index = it->order[it->position + k];
        it->indices[k] = index;
        it->lengths[k] = ds->lengths[index];
        memcpy(it->batch + k * ds->steps, ds->symbols + index * ds->steps,
               ds->steps * sizeof *it->batch);
    }
    it->position += n;
    *symbols = it->batch;
    *count = n;
    return SEQGEN_OK;
}

const size_t *seqgen_symbol_iter_lengths(const seqgen_symbol_iter *it) { return it ? it->lengths : NULL; }
const size_t *seqgen_symbol_iter_indices(const seqgen_symbol_iter *it) { return it ? it->indices : NULL; }
size_t seqgen_symbol_iter_steps(const seqgen_symbol_iter *it) { return it ? it->ds->steps : 0; }
uint64_t seqgen_symbol_iter_epoch(const seqgen_symbol_iter *it) { return it ? it->epoch : 0; }
size_t seqgen_symbol_iter_position(const seqgen_symbol_iter *it) { return it ? it->position : 0; }

int seqgen_symbol_iter_seek(seqgen_symbol_iter *it, uint64_t epoch, size_t position)
{
    if (!it)
        return sg_error(SEQGEN_EINVAL, "seqgen_symbol_iter_seek: NULL it");
    if (position > it->ds->count)
        return sg_error(SEQGEN_EINVAL, "position %zu is beyond the %zu sequences of an epoch",
                        position, it->ds->count);
    sg_epoch_order(it->order, it->ds->count, it->cfg.shuffle, it->cfg.seed, epoch);
    it->epoch = epoch;
    it->position = position;
    return SEQGEN_OK;
}
