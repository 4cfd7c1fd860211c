/* Checkpoints: round trips (model and full training state, several shapes), refusal of every
 * truncation and every single-bit flip, hand-built files (written here from the format spec with
 * zlib's crc32, independently of the library's writer) for each kind of bad content, atomic
 * replacement under SIGKILL, save errors, and exact resume of a training run in a new process. */
#define _GNU_SOURCE /* unshare() and mount() for the full-disk test */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <sys/mount.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "alloc.h"
#include "model.h"
#include "optim.h"
#include "professor.h"
#include "rng.h"
#include "schedule.h"
#include "seqgen.h"

#define MNIST "data/mnist10k"

/* ---- Helpers ------------------------------------------------------------------------------- */

static seqgen_model *new_model(int D, int H, int L, uint64_t seed)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = D;
    cfg.hidden = H;
    cfg.layers = L;
    cfg.seed = seed;
    cfg.threads = 1;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    return m;
}

/* A training state without handles, as a loader starts from. */
static seqgen_train_state empty_state(void)
{
    return (seqgen_train_state){NULL, NULL, NULL, 0, 0, seqgen_run_config_default(), NULL, NULL};
}

/* Bitwise equality of every tensor and of the generators. */
static void assert_same_model(seqgen_model *a, seqgen_model *b)
{
    seqgen_model_config ca = seqgen_model_get_config(a), cb = seqgen_model_get_config(b);
    assert_int_equal(ca.units_per_step, cb.units_per_step);
    assert_int_equal(ca.hidden, cb.hidden);
    assert_int_equal(ca.layers, cb.layers);
    assert_int_equal(ca.seed, cb.seed);
    size_t n = seqgen_model_param_count(a);
    assert_int_equal(n, seqgen_model_param_count(b));
    assert_memory_equal(sg_model_params_const(a), sg_model_params_const(b), n * sizeof(float));
    assert_memory_equal(sg_model_mix_rng(a), sg_model_mix_rng(b), sizeof(sg_rng));
}

/* Random 0/1 sequences [batch][length][D] from a generator of the test's own. */
static void random_pixels(float *x, size_t n, uint64_t seed)
{
    sg_rng rng;
    sg_rng_seed(&rng, seed, 7);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(sg_rng_u32(&rng) & 1);
}

/* A few optimiser steps with scheduled sampling, so moments, step count and generators move. */
static void train_steps(seqgen_model *m, seqgen_optim *o, int steps)
{
    int D = seqgen_model_get_config(m).units_per_step, B = 3, length = 6;
    float x[3 * 6 * 4];
    seqgen_train_options opts = seqgen_train_options_default();
    opts.teacher_prob = 0.5;
    for (int s = 0; s < steps; s++) {
        random_pixels(x, (size_t)(B * length * D), (uint64_t)s);
        assert_ok(seqgen_model_forward_backward(m, TU_SEQUENCES(m, x, B, length), &opts, NULL,
                                                NULL));
        assert_ok(seqgen_optim_step(o, m));
    }
}

static char *path_in(const char *dir, const char *name)
{
    static char paths[4][512];
    static int next;
    char joined[512];
    snprintf(joined, sizeof joined, "%s/%s", dir, name); /* dir may be an earlier result */
    char *p = paths[next++ % 4];
    memcpy(p, joined, sizeof joined);
    return p;
}

static int is_damage_status(int status)
{
    return status == SEQGEN_ECHECKSUM || status == SEQGEN_EFORMAT ||
           status == SEQGEN_ETRUNCATED || status == SEQGEN_ETRAILING;
}

/* ---- A writer of the format, from docs/checkpoint-format.md, independent of the library ---- */

typedef struct filebuf {
    unsigned char data[1 << 16];
    size_t size;
    unsigned count;
} filebuf;

static void le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put(filebuf *f, uint64_t v, int bytes)
{
    assert_true(f->size + (size_t)bytes <= sizeof f->data);
    le(f->data + f->size, v, bytes);
    f->size += (size_t)bytes;
}

static void put_name(filebuf *f, const char *name)
{
    put(f, strlen(name), 2);
    memcpy(f->data + f->size, name, strlen(name));
    f->size += strlen(name);
}

static void put_f32(filebuf *f, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, 4);
    put(f, bits, 4);
}

static void fb_begin(filebuf *f)
{
    static const unsigned char magic[8] = {0x89, 'S', 'G', 'C', 'K', '\r', '\n', 0x1a};
    memcpy(f->data, magic, 8);
    f->size = 24;
    f->count = 0;
}

static size_t section_start;

static void fb_section(filebuf *f, const char tag[4], uint32_t flags)
{
    section_start = f->size;
    memcpy(f->data + f->size, tag, 4);
    f->size += 4;
    put(f, flags, 4);
    put(f, 0, 8);
    put(f, 0, 4);
}

/* `length_override`: 0, or a length to claim instead of the true one. */
static void fb_end_section_claiming(filebuf *f, uint64_t length_override)
{
    unsigned char *head = f->data + section_start;
    uint64_t length = f->size - section_start - 20;
    le(head + 8, length_override ? length_override : length, 8);
    uLong crc = crc32(0, head, 16);
    crc = crc32(crc, head + 20, (uInt)length);
    le(head + 16, crc, 4);
    f->count++;
}

static void fb_end_section(filebuf *f) { fb_end_section_claiming(f, 0); }

static void fb_finish(filebuf *f, uint32_t version)
{
    le(f->data + 8, version, 4);
    le(f->data + 12, f->count, 4);
    le(f->data + 16, f->size + 4, 8);
    uLong crc = crc32(0, f->data, (uInt)f->size);
    put(f, crc, 4);
}

/* Rewrites the whole-file CRC after a patch. */
static void refresh_file_crc(unsigned char *data, size_t size)
{
    le(data + size - 4, crc32(0, data, (uInt)(size - 4)), 4);
}

/* How to spoil a hand-built model file. */
typedef struct tweak {
    uint32_t H, L;          /* 0: the true ones */
    int nan_tensor;         /* -1, or the tensor whose element 3 becomes NaN */
    int absurd_tensor;      /* -1, or the tensor claiming [2^20, 2^20] */
    int wrong_shape_tensor; /* -1, or the tensor whose first dimension is off by one */
    int missing_tensor;     /* -1, or the tensor left out */
    int twice_tensor;       /* -1, or the tensor written twice */
    const char *extra_tag;  /* NULL, or an extra section */
    uint32_t extra_flags;
    uint64_t claimed_length; /* 0, or the length the extra section claims */
} tweak;

static const tweak no_tweak = {0, 0, -1, -1, -1, -1, -1, NULL, 0, 0};

/* A model file for `m` (D, H, L of it) built by hand, spoiled by `t`. */
static void build_model_file(filebuf *f, seqgen_model *m, const tweak *t)
{
    seqgen_model_config cfg = seqgen_model_get_config(m);
    fb_begin(f);
    fb_section(f, "MODL", 1);
    put(f, (uint64_t)cfg.units_per_step, 4);
    put(f, t->H ? t->H : (uint64_t)cfg.hidden, 4);
    put(f, t->L ? t->L : (uint64_t)cfg.layers, 4);
    put(f, 1, 4);
    put(f, cfg.seed, 8);
    put(f, 1, 4);
    put(f, (uint64_t)cfg.start_step, 4);
    put(f, (uint64_t)cfg.steps, 4);
    fb_end_section(f);
    for (int i = 0; i < seqgen_model_tensor_count(m); i++) {
        const char *name;
        int rows, cols;
        assert_ok(seqgen_model_tensor_info(m, i, &name, &rows, &cols));
        static float values[64 * 64]; /* zero beyond the tensor, for the wrong-shape tweak */
        assert_true((size_t)(rows + 1) * cols <= sizeof values / sizeof values[0]);
        memset(values, 0, sizeof values);
        assert_ok(seqgen_model_get_tensor(m, name, values, (size_t)rows * cols));
        if (i == t->nan_tensor)
            values[3] = NAN;
        int is_bias = strstr(name, "bias") != NULL;
        int copies = i == t->missing_tensor ? 0 : i == t->twice_tensor ? 2 : 1;
        for (int copy = 0; copy < copies; copy++) {
            fb_section(f, "TENS", 1);
            put_name(f, name);
            put(f, 1, 4);
            put(f, is_bias ? 1 : 2, 4);
            if (i == t->absurd_tensor) {
                put(f, 1u << 20, 8);
                put(f, 1u << 20, 8);
            } else {
                put(f, (uint64_t)rows + (i == t->wrong_shape_tensor), 8);
                if (!is_bias)
                    put(f, (uint64_t)cols, 8);
            }
            int written_rows = rows + (i == t->wrong_shape_tensor);
            for (int k = 0; k < written_rows * cols; k++)
                put_f32(f, values[k]);
            fb_end_section(f);
        }
    }
    if (t->extra_tag) {
        fb_section(f, t->extra_tag, t->extra_flags);
        put(f, 0x1234, 4);
        fb_end_section_claiming(f, t->claimed_length);
    }
    fb_finish(f, 3);
}

/* ---- Round trips ---------------------------------------------------------------------------- */

static const int shapes[][2] = {{1, 1}, {1, 3}, {4, 1}, {4, 3}}; /* (D, L) */

static void model_round_trip(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        seqgen_model *m = new_model(shapes[s][0], 5, shapes[s][1], 11 + s);
        const char *path = path_in(dir, "model.ckpt");
        assert_ok(seqgen_checkpoint_save(path, m, NULL));
        seqgen_model *back = NULL;
        assert_ok(seqgen_checkpoint_load_model(&back, path));
        assert_same_model(m, back);

        seqgen_checkpoint_info info;
        assert_ok(seqgen_checkpoint_inspect(path, &info));
        assert_int_equal(info.version, 7);
        assert_int_equal(info.model.units_per_step, shapes[s][0]);
        assert_int_equal(info.model.hidden, 5);
        assert_int_equal(info.model.layers, shapes[s][1]);
        assert_int_equal(info.param_count, seqgen_model_param_count(m));
        assert_int_equal(info.has_training, 0);

        seqgen_train_state train = empty_state();
        seqgen_model *none = NULL;
        assert_fails_with(seqgen_checkpoint_load_training(path, &none, &train), SEQGEN_EMISMATCH,
                          "a model checkpoint, without training state");
        assert_null(none);
        seqgen_model_free(m);
        seqgen_model_free(back);
    }
    tu_rmtree(dir);
}

/* The hand-built file (the spec, read independently) loads as the model it was built from. */
static void hand_built_file_loads(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "hand.ckpt");
    seqgen_model *m = new_model(4, 3, 2, 5);
    static filebuf f;
    build_model_file(&f, m, &no_tweak);
    tu_write_file(path, f.data, f.size);
    seqgen_model *back = NULL;
    assert_ok(seqgen_checkpoint_load_model(&back, path));
    assert_memory_equal(sg_model_params_const(m), sg_model_params_const(back),
                        seqgen_model_param_count(m) * sizeof(float));
    seqgen_model_free(back);

    tweak optional = no_tweak; /* an unknown optional section is skipped */
    optional.extra_tag = "ZZZZ";
    build_model_file(&f, m, &optional);
    tu_write_file(path, f.data, f.size);
    assert_ok(seqgen_checkpoint_load_model(&back, path));
    seqgen_model_free(back);
    seqgen_model_free(m);
    tu_rmtree(dir);
}

typedef struct training {
    seqgen_dataset *ds;
    seqgen_batch_iter *it;
    seqgen_model *model;
    seqgen_train_state train;
} training;

static seqgen_dataset *open_digits(size_t count)
{
    seqgen_dataset *ds = NULL;
    assert_ok(seqgen_dataset_open_dir(&ds, MNIST, SEQGEN_SPLIT_TRAIN));
    assert_ok(seqgen_dataset_limit(ds, count));
    return ds;
}

static seqgen_batch_config iter_config(int D, uint64_t seed)
{
    seqgen_batch_config cfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    cfg.batch_size = 8;
    cfg.units_per_step = (size_t)D;
    cfg.seed = seed;
    return cfg;
}

static seqgen_batch_iter *iter_from(const seqgen_dataset *ds, const seqgen_batch_config *cfg)
{
    seqgen_batch_iter *it = NULL;
    assert_ok(seqgen_batch_iter_create(&it, ds, cfg));
    return it;
}

static seqgen_batch_iter *new_iter(seqgen_dataset *ds, int D, uint64_t seed)
{
    seqgen_batch_config cfg = iter_config(D, seed);
    return iter_from(ds, &cfg);
}

/* The run of an iterator made by new_iter(ds, D, seed): what a program records. */
static seqgen_run_config run_for(const seqgen_dataset *ds, int D, uint64_t seed)
{
    seqgen_run_config run = seqgen_run_config_default();
    run.batches = iter_config(D, seed);
    run.train_sequences = seqgen_dataset_count(ds);
    snprintf(run.data_source, sizeof run.data_source, "%s", MNIST);
    return run;
}

/* An iterator made as the checkpoint at `path` says, as a program resuming a run does. */
static seqgen_batch_iter *saved_iter(const seqgen_dataset *ds, const char *path)
{
    seqgen_checkpoint_info info;
    assert_ok(seqgen_checkpoint_inspect(path, &info));
    assert_int_equal(info.run.train_sequences, seqgen_dataset_count(ds));
    return iter_from(ds, &info.run.batches);
}

static seqgen_sched *new_sched(double k)
{
    seqgen_sched_config cfg = seqgen_sched_config_default(SEQGEN_SCHED_INVERSE_SIGMOID);
    cfg.k = k;
    cfg.eps = 0.1;
    seqgen_sched *s = NULL;
    assert_ok(seqgen_sched_create(&s, &cfg));
    return s;
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Walks a file the library wrote, reading it as the spec says: header, sections with zlib
 * CRCs, trailer. Returns the payloads' tags in order as one string, e.g. "MODLTENS...". */
static void walk_spec(const unsigned char *data, size_t size, char *tags, size_t tags_size,
                      const unsigned char **payload_of, const char *wanted, uint64_t *length_of)
{
    static const unsigned char magic[8] = {0x89, 'S', 'G', 'C', 'K', '\r', '\n', 0x1a};
    assert_memory_equal(data, magic, 8);
    assert_int_equal(get_le(data + 8, 4), 7);
    assert_int_equal(get_le(data + 16, 8), size);
    assert_int_equal(get_le(data + size - 4, 4), crc32(0, data, (uInt)(size - 4)));
    size_t at = 24, used = 0;
    for (uint64_t s = 0; s < get_le(data + 12, 4); s++) {
        uint64_t length = get_le(data + at + 8, 8);
        uLong crc = crc32(crc32(0, data + at, 16), data + at + 20, (uInt)length);
        assert_int_equal(get_le(data + at + 16, 4), crc);
        assert_true(used + 4 < tags_size);
        memcpy(tags + used, data + at, 4);
        if (memcmp(data + at, wanted, 4) == 0) {
            *payload_of = data + at + 20;
            *length_of = length;
        }
        used += 4;
        at += 20 + (size_t)length;
    }
    tags[used] = '\0';
    assert_int_equal(at, size - 4);
}

/* A training file as the library writes it, read with the spec's field tables. */
static void library_file_follows_the_spec(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "spec.ckpt");
    seqgen_dataset *ds = open_digits(40);
    seqgen_model *m = new_model(1, 2, 1, 99);
    seqgen_optim *o = NULL;
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_SGD);
    ocfg.momentum = 0.5;
    assert_ok(seqgen_optim_create(&o, m, &ocfg));
    train_steps(m, o, 1);
    seqgen_train_state train = {o, new_sched(3.0), new_iter(ds, 1, 5), 7, 123, run_for(ds, 1, 5), NULL, NULL};
    assert_ok(seqgen_checkpoint_save(path, m, &train));
    size_t size;
    unsigned char *data = tu_read_file(path, &size);

    char tags[256];
    const unsigned char *p = NULL;
    uint64_t length = 0;
    walk_spec(data, size, tags, sizeof tags, &p, "MODL", &length);
    assert_string_equal(tags, "MODL" "TENSTENSTENSTENSTENSTENS" "RNGS" "OPTM"
                              "MOMTMOMTMOMTMOMTMOMTMOMT" "SCHD" "ITER" "PROG" "RUNC" "INFO");
    assert_int_equal(length, 44);
    assert_int_equal(get_le(p, 4), 1);      /* D */
    assert_int_equal(get_le(p + 4, 4), 2);  /* H */
    assert_int_equal(get_le(p + 8, 4), 1);  /* L */
    assert_int_equal(get_le(p + 12, 4), 1); /* sigmoid output */
    assert_int_equal(get_le(p + 16, 8), 99);
    assert_int_equal(get_le(p + 24, 4), 1); /* threads */
    assert_int_equal(get_le(p + 28, 4), 0); /* no start step */
    assert_int_equal(get_le(p + 32, 4), 0); /* steps: not fixed */
    assert_int_equal(get_le(p + 36, 4), 0); /* vocab: binary units */
    assert_int_equal(get_le(p + 40, 4), 0); /* embedding */

    walk_spec(data, size, tags, sizeof tags, &p, "PROG", &length);
    assert_int_equal(length, 16);
    assert_int_equal(get_le(p, 8), 7);
    assert_int_equal(get_le(p + 8, 8), 123);
    walk_spec(data, size, tags, sizeof tags, &p, "OPTM", &length);
    assert_int_equal(length, 4 + 8 + 7 * 8);
    assert_int_equal(get_le(p, 4), 1); /* SGD */
    assert_int_equal(get_le(p + 4, 8), 1);
    double momentum;
    uint64_t bits = get_le(p + 12 + 5 * 8, 8);
    memcpy(&momentum, &bits, 8);
    assert_true(momentum == 0.5);
    walk_spec(data, size, tags, sizeof tags, &p, "SCHD", &length);
    assert_int_equal(length, 4 + 4 + 3 * 8 + 8);
    assert_int_equal(get_le(p, 4), 3); /* inverse sigmoid */
    walk_spec(data, size, tags, sizeof tags, &p, "ITER", &length);
    assert_int_equal(length, 16);
    assert_int_equal(get_le(p, 8), 0);     /* epoch */
    assert_int_equal(get_le(p + 8, 8), 0); /* position */
    walk_spec(data, size, tags, sizeof tags, &p, "RUNC", &length);
    assert_int_equal(length, 158 + strlen(MNIST) + 2 + 44);
    assert_int_equal(get_le(p + 16, 8), 8);  /* batches.batch_size */
    assert_int_equal(get_le(p + 24, 8), 1);  /* batches.units_per_step */
    assert_int_equal(get_le(p + 36, 8), 5);  /* batches.seed */
    assert_int_equal(get_le(p + 52, 4), 127); /* batches.binarize.threshold */
    assert_int_equal(get_le(p + 68, 8), 40); /* train_sequences */
    assert_int_equal(get_le(p + 76, 8), 10); /* epochs */
    assert_int_equal(get_le(p + 84, 4), 7);  /* eval.metrics */
    assert_int_equal(get_le(p + 88, 4), 0xffffffffu); /* eval.given: half */
    assert_int_equal(get_le(p + 156, 2), strlen(MNIST));
    assert_memory_equal(p + 158, MNIST, strlen(MNIST));
    assert_int_equal(get_le(p + 158 + strlen(MNIST), 2), 0); /* no test source */
    const unsigned char *v6 = p + 160 + strlen(MNIST); /* version 6: the data and the text */
    assert_int_equal(get_le(v6, 4), 0);                  /* data: units */
    assert_int_equal(get_le(v6 + 4, 8), 0);              /* text.holdout_every */
    assert_int_equal(get_le(v6 + 12, 8), (uint64_t)1 << 30); /* text.max_bytes */
    assert_int_equal(get_le(v6 + 20, 8), 4096);          /* text.max_line_symbols */
    assert_int_equal(get_le(v6 + 28, 8), 0xffffffffu);   /* text.max_sequences */
    assert_int_equal(get_le(v6 + 36, 8), 0);             /* data_checksum */
    assert_int_equal(get_le(data + (size_t)(p - data) - 16, 4), 1); /* required */
    walk_spec(data, size, tags, sizeof tags, &p, "INFO", &length);
    assert_memory_equal(p, "libseqgen ", 10);
    assert_int_equal(get_le(data + (size_t)(p - data) - 16, 4), 0); /* optional */

    /* The last TENS, out.bias: name, f32, 1-D [D], then its value. */
    walk_spec(data, size, tags, sizeof tags, &p, "TENS", &length);
    assert_int_equal(get_le(p, 2), 8);
    assert_memory_equal(p + 2, "out.bias", 8);
    assert_int_equal(get_le(p + 10, 4), 1);
    assert_int_equal(get_le(p + 14, 4), 1);
    assert_int_equal(get_le(p + 18, 8), 1);
    float bias, expected;
    bits = get_le(p + 26, 4);
    uint32_t bits32 = (uint32_t)bits;
    memcpy(&bias, &bits32, 4);
    assert_ok(seqgen_model_get_tensor(m, "out.bias", &expected, 1));
    assert_true(bias == expected);

    free(data);
    seqgen_model_free(m);
    seqgen_optim_free(o);
    seqgen_sched_free(train.sched);
    seqgen_batch_iter_free(train.batches);
    seqgen_dataset_free(ds);
    tu_rmtree(dir);
}

static void assert_same_optim(seqgen_optim *a, seqgen_optim *b)
{
    sg_optim_state sa, sb;
    sg_optim_get_state(a, &sa);
    sg_optim_get_state(b, &sb);
    size_t n = sa.size;
    assert_int_equal(n, sb.size);
    const seqgen_optim_config *ca = &sa.cfg, *cb = &sb.cfg;
    assert_int_equal(ca->kind, cb->kind); /* field by field: the struct has padding */
    assert_true(ca->lr == cb->lr && ca->beta1 == cb->beta1 && ca->beta2 == cb->beta2);
    assert_true(ca->eps == cb->eps && ca->weight_decay == cb->weight_decay);
    assert_true(ca->momentum == cb->momentum && ca->clip_norm == cb->clip_norm);
    assert_int_equal(sa.steps, sb.steps);
    assert_int_equal(seqgen_optim_step_count(a), seqgen_optim_step_count(b));
    assert_memory_equal(sa.moment1, sb.moment1, n * sizeof(float));
    assert_memory_equal(sa.moment2, sb.moment2, n * sizeof(float));
}

static void assert_same_sched(seqgen_sched *a, seqgen_sched *b)
{
    seqgen_sched_config ca, cb;
    seqgen_sched_get_config(a, &ca);
    seqgen_sched_get_config(b, &cb);
    assert_memory_equal(&ca, &cb, sizeof ca);
}

/* A model with every kind of training state, all moved away from their initial values. */
static void make_training(training *t, int D, int L, seqgen_optim_kind kind, seqgen_dataset *ds)
{
    t->ds = ds;
    t->model = new_model(D, 5, L, 3);
    seqgen_optim_config ocfg = seqgen_optim_config_default(kind);
    ocfg.momentum = kind == SEQGEN_OPTIM_SGD ? 0.9 : 0.0;
    ocfg.weight_decay = 1e-3;
    t->train = (seqgen_train_state){NULL, new_sched(4.0), new_iter(ds, D, 9), 2, 17,
                                    run_for(ds, D, 9), NULL, NULL};
    assert_ok(seqgen_optim_create(&t->train.optim, t->model, &ocfg));
    train_steps(t->model, t->train.optim, 3);
    const float *x;
    size_t n;
    assert_ok(seqgen_batch_iter_next(t->train.batches, &x, &n));
    assert_ok(seqgen_batch_iter_next(t->train.batches, &x, &n));
}

static void free_training(training *t)
{
    seqgen_model_free(t->model);
    seqgen_optim_free(t->train.optim);
    seqgen_sched_free(t->train.sched);
    seqgen_batch_iter_free(t->train.batches);
}

static void full_state_round_trip(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "train.ckpt");
    seqgen_dataset *ds = open_digits(40);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int kind = SEQGEN_OPTIM_ADAM; kind <= SEQGEN_OPTIM_SGD; kind++) {
            int D = shapes[s][0], L = shapes[s][1];
            training a;
            make_training(&a, D, L, (seqgen_optim_kind)kind, ds);
            assert_ok(seqgen_checkpoint_save(path, a.model, &a.train));

            /* Into nothing: every handle but the iterator is created. */
            seqgen_model *model = NULL;
            seqgen_train_state b = empty_state();
            b.batches = saved_iter(ds, path);
            assert_ok(seqgen_checkpoint_load_training(path, &model, &b));
            assert_same_model(a.model, model);
            assert_same_optim(a.train.optim, b.optim);
            assert_same_sched(a.train.sched, b.sched);
            assert_int_equal(seqgen_batch_iter_epoch(b.batches), 0);
            assert_int_equal(seqgen_batch_iter_position(b.batches), 16);
            assert_int_equal(b.epoch, 2);
            assert_int_equal(b.iteration, 17);

            /* Into existing handles that have drifted: all overwritten. */
            train_steps(model, b.optim, 2);
            seqgen_sched_config drifted = seqgen_sched_config_default(SEQGEN_SCHED_LINEAR);
            assert_ok(sg_sched_set_config(b.sched, &drifted));
            b.epoch = b.iteration = 99;
            assert_ok(seqgen_checkpoint_load_training(path, &model, &b));
            assert_same_model(a.model, model);
            assert_same_optim(a.train.optim, b.optim);
            assert_same_sched(a.train.sched, b.sched);
            assert_int_equal(b.iteration, 17);

            seqgen_checkpoint_info info;
            assert_ok(seqgen_checkpoint_inspect(path, &info));
            assert_true(info.has_training && info.has_optim && info.has_sched && info.has_batches);
            assert_int_equal(info.optim.kind, kind);
            assert_int_equal(info.optim_steps, 3);
            assert_int_equal(info.sched.kind, SEQGEN_SCHED_INVERSE_SIGMOID);
            assert_true(info.sched.k == 4.0 && info.sched.eps == 0.1);
            assert_int_equal(info.batches_position, 16);
            assert_int_equal(info.epoch, 2);

            seqgen_model_free(model);
            seqgen_optim_free(b.optim);
            seqgen_sched_free(b.sched);
            seqgen_batch_iter_free(b.batches);
            free_training(&a);
        }
    seqgen_dataset_free(ds);
    tu_rmtree(dir);
}

static void resume_refuses_mismatched_handles_and_changes_nothing(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "train.ckpt");
    seqgen_dataset *ds = open_digits(40);
    training a;
    make_training(&a, 1, 1, SEQGEN_OPTIM_ADAM, ds);
    assert_ok(seqgen_checkpoint_save(path, a.model, &a.train));

    seqgen_model *other = new_model(1, 6, 1, 3); /* H differs */
    seqgen_model *kept = other;
    seqgen_train_state b = empty_state();
    b.epoch = 5, b.iteration = 6;
    assert_fails_with(seqgen_checkpoint_load_training(path, &other, &b), SEQGEN_EMISMATCH,
                      "the model has D = 1, H = 6, L = 1, start step 0, steps 0 but the "
                      "checkpoint's has D = 1, H = 5");
    assert_ptr_equal(other, kept);
    assert_null(b.optim);
    assert_int_equal(b.epoch, 5);

    seqgen_optim *foreign = NULL; /* saving with an optimiser of another model */
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    assert_ok(seqgen_optim_create(&foreign, other, &ocfg));
    seqgen_train_state wrong = a.train;
    wrong.optim = foreign;
    assert_fails_with(seqgen_checkpoint_save(path, a.model, &wrong), SEQGEN_EINVAL,
                      "the optimiser was made for a model of 169 parameters, not this "
                      "one's 126");
    seqgen_optim_free(foreign);

    seqgen_dataset *small = open_digits(30); /* an iterator over another dataset size */
    seqgen_model *none = NULL;
    b.batches = new_iter(small, 1, 9);
    assert_fails_with(seqgen_checkpoint_load_training(path, &none, &b), SEQGEN_EMISMATCH,
                      "the batch iterator's count is 30 but the run's is 40 (train_sequences)");
    assert_null(none);
    assert_null(b.sched);
    seqgen_batch_iter_free(b.batches);

    seqgen_model_free(other);
    seqgen_dataset_free(small);
    free_training(&a);
    seqgen_dataset_free(ds);
    tu_rmtree(dir);
}

/* ---- Damage --------------------------------------------------------------------------------- */

/* A small training checkpoint: D = 1, H = 2, L = 1 with Adam, schedule and progress. */
static unsigned char *small_checkpoint(const char *path, size_t *size)
{
    seqgen_model *m = new_model(1, 2, 1, 8);
    seqgen_optim *o = NULL;
    seqgen_optim_config cfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    assert_ok(seqgen_optim_create(&o, m, &cfg));
    train_steps(m, o, 1);
    seqgen_train_state train = {o, new_sched(2.0), NULL, 1, 1, seqgen_run_config_default(), NULL, NULL};
    assert_ok(seqgen_checkpoint_save(path, m, &train));
    seqgen_model_free(m);
    seqgen_optim_free(o);
    seqgen_sched_free(train.sched);
    return tu_read_file(path, size);
}

/* Both loaders refuse the file at `path` with a damage status and allocate nothing. */
static int refused_by_both(const char *path)
{
    seqgen_model *m = NULL;
    int status = seqgen_checkpoint_load_model(&m, path);
    if (!is_damage_status(status) || m)
        fail_msg("load_model gave %d (%s): %s", status, seqgen_strerror(status),
                 seqgen_last_error());
    seqgen_train_state train = empty_state();
    int again = seqgen_checkpoint_load_training(path, &m, &train);
    if (again != status || m || train.optim || train.sched)
        fail_msg("load_training gave %d, load_model %d", again, status);
    return status;
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + 1e-9 * (double)(now.tv_nsec - start->tv_nsec);
}

/* A directory in memory (tmpfs) if there is one: the damage tests write thousands of files. */
static const char *memory_tempdir(void)
{
    static char path[64];
    strcpy(path, "/dev/shm/seqgen-test-XXXXXX");
    return mkdtemp(path) ? path : tu_tempdir();
}

/* Writes a variant to a fresh file: rewriting a truncated file would make ext4 flush it to disk
 * every time (auto_da_alloc). */
static void write_variant(const char *path, const void *data, size_t size)
{
    unlink(path);
    tu_write_file(path, data, size);
}

static void every_truncation_is_refused(void **state)
{
    (void)state;
    const char *dir = memory_tempdir();
    const char *good = path_in(dir, "good.ckpt"), *cut = path_in(dir, "cut.ckpt");
    size_t size;
    unsigned char *data = small_checkpoint(good, &size);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int truncated = 0;
    for (size_t n = 0; n < size; n++) {
        write_variant(cut, data, n);
        truncated += refused_by_both(cut) == SEQGEN_ETRUNCATED;
    }
    print_message("    %zu truncations of a %zu-byte checkpoint refused (%d as truncated) in "
                  "%.2f s\n", size, size, truncated, seconds_since(&start));
    assert_int_equal(truncated, (int)size); /* every prefix keeps the magic: all say truncated */
    free(data);
    tu_rmtree(dir);
}

static void every_bit_flip_is_refused(void **state)
{
    (void)state;
    const char *dir = memory_tempdir();
    const char *good = path_in(dir, "good.ckpt"), *bad = path_in(dir, "bad.ckpt");
    size_t size;
    unsigned char *data = small_checkpoint(good, &size);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int checksum = 0;
    for (size_t byte = 0; byte < size; byte++)
        for (int bit = 0; bit < 8; bit++) {
            data[byte] ^= (unsigned char)(1u << bit);
            write_variant(bad, data, size);
            checksum += refused_by_both(bad) == SEQGEN_ECHECKSUM;
            data[byte] ^= (unsigned char)(1u << bit);
        }
    print_message("    %zu bit flips of a %zu-byte checkpoint refused (%d by checksum, the rest "
                  "by magic or size) in %.2f s\n", 8 * size, size, checksum,
                  seconds_since(&start));
    /* Only the magic (8 bytes) and the size field (8 bytes) are checked before the CRC. */
    assert_int_equal(checksum, 8 * ((int)size - 16));
    free(data);
    tu_rmtree(dir);
}

/* Loads a hand-built model file spoiled by `t`; expects `status` with `detail`. */
static void refuse_tweaked(const char *path, seqgen_model *m, const tweak *t, int status,
                           const char *detail)
{
    static filebuf f;
    build_model_file(&f, m, t);
    tu_write_file(path, f.data, f.size);
    seqgen_model *back = NULL;
    assert_fails_with(seqgen_checkpoint_load_model(&back, path), status, detail);
    assert_null(back);
    seqgen_checkpoint_info info; /* inspect leaves tensors to the loaders: it only must not crash */
    if (seqgen_checkpoint_inspect(path, &info) == SEQGEN_OK)
        assert_int_equal(info.model.units_per_step, 1);
}

/* The payload of the tensor section whose name is `name` in a file the library wrote. */
static unsigned char *find_tensor_section(unsigned char *data, size_t size, const char *name)
{
    size_t at = 24, n = strlen(name);
    while (at + 20 < size - 4) {
        unsigned char *payload = data + at + 20;
        if (get_le(payload, 2) == n && memcmp(payload + 2, name, n) == 0)
            return payload;
        at += 20 + (size_t)get_le(data + at + 8, 8);
    }
    fail_msg("no tensor %s", name);
    return NULL;
}

/* Recomputes the CRC of the section holding `payload` and the file's. */
static void refresh_crcs(unsigned char *data, size_t size, unsigned char *payload)
{
    unsigned char *head = payload - 20;
    uint64_t length = get_le(head + 8, 8);
    le(head + 16, crc32(crc32(0, head, 16), payload, (uInt)length), 4);
    refresh_file_crc(data, size);
}

/* Sets element `e` (row-major) of the two-dimensional tensor `name` in the checkpoint image to
 * the float whose bits are `bits`, mends the CRCs and writes the image to `path`. */
static void set_matrix_element(const char *path, unsigned char *data, size_t size,
                               const char *name, size_t e, uint32_t bits)
{
    unsigned char *p = find_tensor_section(data, size, name);
    le(p + 2 + strlen(name) + 4 + 4 + 2 * 8 + 4 * e, bits, 4); /* name, dtype, rank, 2 dims */
    refresh_crcs(data, size, p);
    write_variant(path, data, size);
}

static void bad_moments_are_refused(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "moments.ckpt");
    size_t size;
    unsigned char *data = small_checkpoint(path, &size);
    seqgen_model *m = NULL;
    seqgen_train_state train = empty_state();

    /* A negative second moment, with valid CRCs: the square root would give NaN. */
    unsigned char *p = find_tensor_section(data, size, "exp_avg_sq.bias_hh_l0");
    p[2 + 21 + 4 + 4 + 8 + 3] |= 0x80; /* sign bit of element 0 */
    refresh_crcs(data, size, p);
    tu_write_file(path, data, size);
    assert_fails_with(seqgen_checkpoint_load_training(path, &m, &train), SEQGEN_ERANGE,
                      "tensor 'exp_avg_sq.bias_hh_l0' element 0 is negative");
    assert_null(m);
    assert_null(train.optim);
    assert_ok(seqgen_checkpoint_load_model(&m, path)); /* inference does not read moments */
    seqgen_model_free(m);
    m = NULL;
    p[2 + 21 + 4 + 4 + 8 + 3] &= 0x7f;

    /* A moment of a kind this optimiser does not have. */
    memcpy(p + 2, "momentum_buffer.bias", 20); /* same length as "exp_avg_sq.bias_hh_l" */
    refresh_crcs(data, size, p);
    tu_write_file(path, data, size);
    assert_fails_with(seqgen_checkpoint_load_training(path, &m, &train), SEQGEN_EFORMAT,
                      "tensor 'momentum_buffer.bias0' does not belong here");
    assert_null(m);
    free(data);
    tu_rmtree(dir);
}

static void bad_contents_each_have_their_message(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "bad.ckpt");
    seqgen_model *m = new_model(1, 2, 1, 4);
    tweak t;

    size_t size;
    unsigned char *data = small_checkpoint(path, &size);
    data[3] ^= 0x20; /* "SGcK" */
    tu_write_file(path, data, size);
    seqgen_model *back = NULL;
    assert_fails_with(seqgen_checkpoint_load_model(&back, path), SEQGEN_EFORMAT,
                      "not a seqgen checkpoint (wrong magic bytes)");
    data[3] ^= 0x20;
    le(data + 8, 8, 4); /* a future version, with a valid CRC */
    refresh_file_crc(data, size);
    tu_write_file(path, data, size);
    assert_fails_with(seqgen_checkpoint_load_model(&back, path), SEQGEN_EVERSION,
                      "format version 8 is newer than this library's (7)");
    free(data);

    t = no_tweak;
    t.absurd_tensor = 1;
    refuse_tweaked(path, m, &t, SEQGEN_EOVERFLOW,
                   "tensor 'weight_hh_l0' claims 1099511627776 elements but its section holds "
                   "only 48 bytes");
    t = no_tweak;
    t.H = 65536;
    t.L = 65536;
    refuse_tweaked(path, m, &t, SEQGEN_EOVERFLOW, "H = 65536, L = 65536 needs");
    t = no_tweak;
    t.extra_tag = "ZZZZ";
    t.claimed_length = (uint64_t)1 << 40;
    refuse_tweaked(path, m, &t, SEQGEN_EOVERFLOW, "section 'ZZZZ' at byte");
    t = no_tweak;
    t.nan_tensor = 0;
    refuse_tweaked(path, m, &t, SEQGEN_ENUMERIC, "tensor 'weight_ih_l0' element 3 is NaN");
    t = no_tweak;
    t.wrong_shape_tensor = 2;
    refuse_tweaked(path, m, &t, SEQGEN_EMISMATCH,
                   "tensor 'bias_ih_l0' has shape [7] in the file but the configuration needs "
                   "[6]");
    t = no_tweak;
    t.missing_tensor = 5;
    refuse_tweaked(path, m, &t, SEQGEN_EFORMAT, "tensor 'out.bias' is missing");
    t = no_tweak;
    t.twice_tensor = 4;
    refuse_tweaked(path, m, &t, SEQGEN_EFORMAT, "tensor 'out.weight' appears twice");
    t = no_tweak;
    t.extra_tag = "ZZZZ";
    t.extra_flags = 1;
    refuse_tweaked(path, m, &t, SEQGEN_EVERSION,
                   "section 'ZZZZ' at byte 526 is marked required but this version of libseqgen "
                   "does not know it");
    t = no_tweak;
    t.extra_tag = "ZZZZ";
    t.extra_flags = 6;
    refuse_tweaked(path, m, &t, SEQGEN_EFORMAT, "unknown flags 0x6");

    assert_fails_with(seqgen_checkpoint_load_model(&back, path_in(dir, "absent.ckpt")),
                      SEQGEN_ENOENT, "absent.ckpt: no such file");
    seqgen_model_free(m);
    tu_rmtree(dir);
}

/* ---- The run's setup (RUNC) ------------------------------------------------------------------ */

/* A run with every field away from its default. */
static seqgen_run_config unusual_run(const seqgen_dataset *ds)
{
    seqgen_run_config run = seqgen_run_config_default();
    run.train.loss = SEQGEN_LOSS_BCE;
    run.train.teacher_prob = 0.25;
    run.train.feedback = SEQGEN_FEEDBACK_PROB;
    run.batches.batch_size = 6;
    run.batches.units_per_step = 4;
    run.batches.shuffle = 0;
    run.batches.seed = 0xfedcba9876543210u;
    run.batches.drop_last = 1;
    run.batches.binarize = (seqgen_binarize_config){SEQGEN_BINARIZE_STOCHASTIC, 200, 77, 1};
    run.train_sequences = seqgen_dataset_count(ds);
    run.epochs = 123456789012u;
    run.eval.metrics = SEQGEN_EVAL_LOSS | SEQGEN_EVAL_LABEL;
    run.eval.given = 392;
    run.eval.complete = (seqgen_complete_options){SEQGEN_DECODE_SAMPLE, 0.75, 99, 1000};
    run.eval.batch_size = 17;
    run.eval.limit = 250;
    run.eval.binarize = (seqgen_binarize_config){SEQGEN_BINARIZE_THRESHOLD, 64, 5, 0};
    memset(run.data_source, 'x', SEQGEN_RUN_SOURCE_MAX); /* the longest: 1023 bytes */
    memcpy(run.data_source, "~/digits dir/ (copy #2)", 23);
    run.data_source[SEQGEN_RUN_SOURCE_MAX] = '\0';
    run.text.holdout_every = 4294967295u; /* kept for a run of units too */
    run.text.max_bytes = UINT64_MAX;
    run.text.max_line_symbols = 1;
    run.text.max_sequences = 4294967295u;
    run.data_checksum = 0x0123456789abcdefu;
    return run;
}

/* Every field of two runs, one by one (the structs have padding). */
static void assert_same_run(const seqgen_run_config *a, const seqgen_run_config *b)
{
    assert_int_equal(a->train.loss, b->train.loss);
    assert_true(a->train.teacher_prob == b->train.teacher_prob);
    assert_int_equal(a->train.feedback, b->train.feedback);
    const seqgen_batch_config *x = &a->batches, *y = &b->batches;
    assert_int_equal(x->batch_size, y->batch_size);
    assert_int_equal(x->units_per_step, y->units_per_step);
    assert_int_equal(x->shuffle, y->shuffle);
    assert_int_equal(x->seed, y->seed);
    assert_int_equal(x->drop_last, y->drop_last);
    const seqgen_binarize_config *bins[2][2] = {{&x->binarize, &y->binarize},
                                                {&a->eval.binarize, &b->eval.binarize}};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(bins[k][0]->mode, bins[k][1]->mode);
        assert_int_equal(bins[k][0]->threshold, bins[k][1]->threshold);
        assert_int_equal(bins[k][0]->seed, bins[k][1]->seed);
        assert_int_equal(bins[k][0]->resample_each_epoch, bins[k][1]->resample_each_epoch);
    }
    assert_int_equal(a->train_sequences, b->train_sequences);
    assert_int_equal(a->epochs, b->epochs);
    assert_int_equal(a->eval.metrics, b->eval.metrics);
    assert_int_equal(a->eval.given, b->eval.given);
    assert_int_equal(a->eval.complete.decode, b->eval.complete.decode);
    assert_true(a->eval.complete.temperature == b->eval.complete.temperature);
    assert_int_equal(a->eval.complete.seed, b->eval.complete.seed);
    assert_int_equal(a->eval.complete.first_stream, b->eval.complete.first_stream);
    assert_int_equal(a->eval.batch_size, b->eval.batch_size);
    assert_int_equal(a->eval.limit, b->eval.limit);
    assert_string_equal(a->data_source, b->data_source);
    assert_string_equal(a->test_source, b->test_source);
    assert_int_equal(a->data, b->data);
    assert_ptr_equal(a->text.vocab, b->text.vocab);
    assert_int_equal(a->text.holdout_every, b->text.holdout_every);
    assert_int_equal(a->text.max_bytes, b->text.max_bytes);
    assert_int_equal(a->text.max_line_symbols, b->text.max_line_symbols);
    assert_int_equal(a->text.max_sequences, b->text.max_sequences);
    assert_int_equal(a->data_checksum, b->data_checksum);
}

static void run_config_round_trip(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "run.ckpt");
    seqgen_dataset *ds = open_digits(40);
    seqgen_model *m = new_model(4, 3, 1, 5);
    seqgen_train_state t = {NULL, NULL, NULL, 3, 30, unusual_run(ds), NULL, NULL};
    t.batches = iter_from(ds, &t.run.batches);
    assert_ok(seqgen_checkpoint_save(path, m, &t));

    seqgen_checkpoint_info info;
    assert_ok(seqgen_checkpoint_inspect(path, &info));
    assert_true(info.has_training && info.has_batches && !info.has_optim && !info.has_sched);
    assert_same_run(&t.run, &info.run);
    assert_int_equal(strlen(info.run.data_source), SEQGEN_RUN_SOURCE_MAX);

    seqgen_model *back = NULL;
    seqgen_train_state b = empty_state();
    b.batches = iter_from(ds, &info.run.batches);
    assert_ok(seqgen_checkpoint_load_training(path, &back, &b));
    assert_same_run(&t.run, &b.run);
    assert_int_equal(b.epoch, 3);
    assert_int_equal(b.iteration, 30);

    /* A model checkpoint has no run: inspect gives the defaults. */
    assert_ok(seqgen_checkpoint_save(path, m, NULL));
    assert_ok(seqgen_checkpoint_inspect(path, &info));
    seqgen_run_config defaults = seqgen_run_config_default();
    assert_false(info.has_training);
    assert_same_run(&defaults, &info.run);

    seqgen_model_free(back);
    seqgen_batch_iter_free(b.batches);
    seqgen_batch_iter_free(t.batches);
    seqgen_model_free(m);
    seqgen_dataset_free(ds);
    tu_rmtree(dir);
}

/* The payload of the first section tagged `tag` in a file the library wrote. */
static unsigned char *find_section(unsigned char *data, size_t size, const char *tag)
{
    for (size_t at = 24; at + 20 <= size - 4; at += 20 + (size_t)get_le(data + at + 8, 8))
        if (memcmp(data + at, tag, 4) == 0)
            return data + at + 20;
    fail_msg("no section %s", tag);
    return NULL;
}

/* Saving refuses a run with a field out of range (SEQGEN_EINVAL) and a file whose RUNC has one
 * is refused by every reader (SEQGEN_ERANGE), each naming the field; the old file stays. */
static void run_fields_out_of_range_are_refused(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "range.ckpt");
    seqgen_dataset *ds = open_digits(40);
    seqgen_model *m = new_model(1, 2, 1, 5);
    seqgen_train_state t = {NULL, NULL, NULL, 1, 2, run_for(ds, 1, 3), NULL, NULL};
    assert_ok(seqgen_checkpoint_save(path, m, &t));
    size_t size;
    unsigned char *good = tu_read_file(path, &size);

    static const seqgen_vocab *some_vocab = (const seqgen_vocab *)&some_vocab; /* never read */
    for (int k = 0; k < 18; k++) {
        seqgen_train_state bad = t;
        seqgen_run_config *r = &bad.run;
        const char *field = "";
        switch (k) {
        case 0: r->train.loss = (seqgen_loss)3, field = "train.loss 3"; break;
        case 1: r->train.teacher_prob = 1.5, field = "train.teacher_prob is 1.5"; break;
        case 2: r->train.feedback = (seqgen_feedback)-1, field = "train.feedback -1"; break;
        case 3: r->batches.batch_size = 0, field = "batches.batch_size is 0"; break;
        case 4: r->batches.units_per_step = 65537, field = "units_per_step is 65537"; break;
        case 5: r->batches.drop_last = 2, field = "batches.drop_last is 2"; break;
        case 6: r->batches.binarize.mode = 3, field = "batches.binarize.mode 3"; break;
        case 7: r->eval.given = -2, field = "eval.given is -2"; break;
        case 8: r->eval.complete.temperature = 0, field = "eval.complete.temperature is 0"; break;
        case 9: r->eval.metrics = 0, field = "eval.metrics is 0"; break;
        case 10: strcpy(r->data_source, "data\ndir"), field = "data_source byte 4 is 0x0a"; break;
        case 12: r->data = (seqgen_run_data)3, field = "data is 3, not in [0, 2]"; break;
        case 13: r->text.holdout_every = 1, field = "text.holdout_every is 1"; break;
        case 14: r->text.max_sequences = 0, field = "text.max_sequences is 0"; break;
        case 15: r->text.max_line_symbols = (size_t)1 << 32,
                 field = "text.max_line_symbols is 4294967296"; break;
        case 16: r->text.vocab = some_vocab, field = "text.vocab is not NULL"; break;
        case 17: r->text.max_bytes = 0, field = "text.max_bytes is 0"; break;
        default: memset(r->data_source, 'a', sizeof r->data_source),
                 field = "data_source is not a string of at most 1023 bytes"; break;
        }
        assert_fails_with(seqgen_checkpoint_save(path, m, &bad), SEQGEN_EINVAL, field);
    }
    seqgen_train_state wrong = t; /* the iterator is not the run's */
    wrong.batches = new_iter(ds, 1, 4);
    assert_fails_with(seqgen_checkpoint_save(path, m, &wrong), SEQGEN_EMISMATCH,
                      "the batch iterator's seed is 4 but the run's is 3");
    wrong.run.batches.seed = 4;
    wrong.run.train_sequences = 39;
    assert_fails_with(seqgen_checkpoint_save(path, m, &wrong), SEQGEN_EMISMATCH,
                      "count is 40 but the run's is 39");
    seqgen_batch_iter_free(wrong.batches);
    tu_assert_file_is(path, good, size);

    /* In the file: each field patched (with valid CRCs) to a value out of its range. */
    static const struct {
        size_t offset;
        int bytes;
        uint64_t value;
        int status;
        const char *detail;
    } cases[] = {
        {0, 4, 3, SEQGEN_ERANGE, "train.loss is 3, not in [0, 2]"},
        {4, 8, 0x7ff8000000000000u, SEQGEN_ERANGE, "train.teacher_prob is nan"},
        {12, 4, 3, SEQGEN_ERANGE, "train.feedback is 3, not in [0, 2]"},
        {16, 8, 0, SEQGEN_ERANGE, "batches.batch_size is 0, not in [1, 4294967295]"},
        {16, 8, (uint64_t)1 << 32, SEQGEN_ERANGE, "batches.batch_size is 4294967296"},
        {24, 8, 65537, SEQGEN_ERANGE, "batches.units_per_step is 65537, not in [1, 65536]"},
        {32, 4, 2, SEQGEN_ERANGE, "batches.shuffle is 2, not in [0, 1]"},
        {44, 4, 7, SEQGEN_ERANGE, "batches.drop_last is 7"},
        {48, 4, 2, SEQGEN_ERANGE, "batches.binarize.mode is 2"},
        {52, 4, 256, SEQGEN_ERANGE, "batches.binarize.threshold is 256, not in [0, 255]"},
        {64, 4, 2, SEQGEN_ERANGE, "batches.binarize.resample_each_epoch is 2"},
        {68, 8, (uint64_t)1 << 32, SEQGEN_ERANGE, "train_sequences is 4294967296"},
        {84, 4, 0, SEQGEN_ERANGE, "eval.metrics is 0, not in [1, 7]"},
        {84, 4, 8, SEQGEN_ERANGE, "eval.metrics is 8, not in [0, 7]"},
        {88, 4, 0x80000000u, SEQGEN_ERANGE, "eval.given is 2147483648"},
        {92, 4, 2, SEQGEN_ERANGE, "eval.decode is 2"},
        {96, 8, 0, SEQGEN_ERANGE, "eval.complete.temperature is 0, not finite and > 0"},
        {120, 8, 0, SEQGEN_ERANGE, "eval.batch_size is 0, not in [1, 2147483647]"},
        {128, 8, (uint64_t)1 << 32, SEQGEN_ERANGE, "eval.limit is 4294967296"},
        {136, 4, 5, SEQGEN_ERANGE, "eval.binarize.mode is 5"},
        {140, 4, 1000, SEQGEN_ERANGE, "eval.binarize.threshold is 1000"},
        {156, 2, 1024, SEQGEN_ERANGE, "data_source is 1024 bytes, more than 1023"},
        {156, 2, 500, SEQGEN_EFORMAT, "field 'data_source' needs 500 bytes but only 59 remain"},
        {158 + 13, 2, 45, SEQGEN_EFORMAT, "field 'test_source' needs 45 bytes but only 44 remain"},
        {173, 4, 3, SEQGEN_ERANGE, "data is 3, not in [0, 2]"},
        {177, 8, 1, SEQGEN_ERANGE, "text.holdout_every is 1, neither 0 nor in [2, 4294967295]"},
        {177, 8, (uint64_t)1 << 32, SEQGEN_ERANGE, "text.holdout_every is 4294967296"},
        {185, 8, 0, SEQGEN_ERANGE, "text.max_bytes is 0, not in [1, 18446744073709551615]"},
        {193, 8, 0, SEQGEN_ERANGE, "text.max_line_symbols is 0, not in [1, 4294967295]"},
        {201, 8, (uint64_t)1 << 32, SEQGEN_ERANGE, "text.max_sequences is 4294967296"},
        {158, 1, 0x7f, SEQGEN_ERANGE, "data_source byte 0 is 0x7f, not printable ASCII"},
    };
    unsigned char *data = malloc(size);
    assert_non_null(data);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        memcpy(data, good, size);
        unsigned char *p = find_section(data, size, "RUNC");
        le(p + cases[k].offset, cases[k].value, cases[k].bytes);
        refresh_crcs(data, size, p);
        write_variant(path, data, size);
        seqgen_model *none = NULL;
        seqgen_train_state into = empty_state();
        assert_fails_with(seqgen_checkpoint_load_training(path, &none, &into), cases[k].status,
                          cases[k].detail);
        assert_null(none);
        assert_fails_with(seqgen_checkpoint_load_training(path, &none, &into), cases[k].status,
                          "section 'RUNC' (payload at byte");
        seqgen_checkpoint_info info;
        assert_fails_with(seqgen_checkpoint_inspect(path, &info), cases[k].status,
                          cases[k].detail);
        assert_fails_with(seqgen_checkpoint_load_model(&none, path), cases[k].status,
                          cases[k].detail);
    }
    /* In range, but not the model's D: the file contradicts itself. */
    memcpy(data, good, size);
    unsigned char *runc = find_section(data, size, "RUNC");
    le(runc + 24, 2, 8);
    refresh_crcs(data, size, runc);
    write_variant(path, data, size);
    seqgen_model *none = NULL;
    seqgen_train_state into = empty_state();
    assert_fails_with(seqgen_checkpoint_load_training(path, &none, &into), SEQGEN_EMISMATCH,
                      "batches of 2 units per step for a model that reads 1");
    assert_null(none);
    /* and a run of another D than the model's is not saved */
    seqgen_train_state other_d = t;
    other_d.run.batches.units_per_step = 2;
    assert_fails_with(seqgen_checkpoint_save(path, m, &other_d), SEQGEN_EMISMATCH,
                      "the run's batches have 2 pixels per step, the model reads 1");
    free(data);
    free(good);
    seqgen_model_free(m);
    seqgen_dataset_free(ds);
    tu_rmtree(dir);
}

/* The start step is part of the model: saved, given back by inspect and the loader, and a value
 * other than 0 or 1 in the file is refused. */
static void start_step_is_saved_and_checked(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "start.ckpt");
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.hidden = 3;
    cfg.start_step = 1;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    assert_ok(seqgen_checkpoint_save(path, m, NULL));
    seqgen_checkpoint_info info;
    assert_ok(seqgen_checkpoint_inspect(path, &info));
    assert_int_equal(info.model.start_step, 1);
    seqgen_model *back = NULL;
    assert_ok(seqgen_checkpoint_load_model(&back, path));
    assert_int_equal(seqgen_model_get_config(back).start_step, 1);
    seqgen_model_free(back);
    back = NULL;
    size_t size;
    unsigned char *data = tu_read_file(path, &size);
    unsigned char *modl = find_section(data, size, "MODL");
    le(modl + 28, 2, 4);
    refresh_crcs(data, size, modl);
    write_variant(path, data, size);
    assert_fails_with(seqgen_checkpoint_load_model(&back, path), SEQGEN_ERANGE,
                      "start_step = 2, steps = 0: out of range");
    assert_null(back);
    free(data);
    seqgen_model_free(m);
    tu_rmtree(dir);
}

/* Format 3 (before symbols) still loads, as a model of binary units; in format 4 the output
 * kind must go with the vocabulary, which the model's limits check like any other field. */
static void version_3_loads_and_vocab_is_checked(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "v3.ckpt");
    seqgen_model *m = new_model(2, 3, 1, 5);
    static filebuf f;
    build_model_file(&f, m, &no_tweak); /* format 3, by hand */
    tu_write_file(path, f.data, f.size);
    seqgen_checkpoint_info info;
    assert_ok(seqgen_checkpoint_inspect(path, &info));
    assert_int_equal(info.version, 3);
    seqgen_model *back = NULL;
    assert_ok(seqgen_checkpoint_load_model(&back, path));
    assert_int_equal(seqgen_model_get_config(back).vocab, 0);
    assert_int_equal(seqgen_model_get_config(back).embedding, 0);
    assert_same_model(m, back);
    seqgen_model_free(back);
    back = NULL;

    assert_ok(seqgen_checkpoint_save(path, m, NULL)); /* format 4 */
    size_t size;
    unsigned char *data = tu_read_file(path, &size);
    unsigned char *modl = find_section(data, size, "MODL");
    le(modl + 12, 2, 4); /* softmax output with vocab 0 */
    refresh_crcs(data, size, modl);
    write_variant(path, data, size);
    assert_fails_with(seqgen_checkpoint_load_model(&back, path), SEQGEN_ERANGE,
                      "output kind 2 does not go with vocab 0");
    le(modl + 36, 1, 4); /* vocab 1 */
    refresh_crcs(data, size, modl);
    write_variant(path, data, size);
    assert_fails_with(seqgen_checkpoint_load_model(&back, path), SEQGEN_ERANGE,
                      "vocab must be 0 (binary units) or at least 2 symbols, got 1");
    le(modl + 36, 0x80000000u, 4);
    refresh_crcs(data, size, modl);
    write_variant(path, data, size);
    assert_fails_with(seqgen_checkpoint_load_model(&back, path), SEQGEN_ERANGE,
                      "vocab = 2147483648, embedding = 0: out of range");
    assert_null(back);
    free(data);
    seqgen_model_free(m);
    tu_rmtree(dir);
}

/* The MADE head (format 7, output kind 4 with M after the embedding): saved and loaded with its
 * tensors and their Adam moments, M in the configuration; a nonzero masked entry of A (in the
 * parameters) or of E (in a moment) is refused; its run does not resume into a model of the
 * linear head, nor one of another M; format 6 cannot say it. */
static void made_head_is_saved_and_checked(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "made.ckpt");
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = 3, cfg.hidden = 4, cfg.threads = 1, cfg.head = SEQGEN_HEAD_MADE_AR;
    cfg.head_hidden = 3;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    seqgen_optim *o = NULL;
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    assert_ok(seqgen_optim_create(&o, m, &ocfg));
    float x[3 * 6 * 3];
    random_pixels(x, sizeof x / sizeof x[0], 5);
    assert_ok(seqgen_model_forward_backward(m, TU_SEQUENCES(m, x, 3, 6), NULL, NULL, NULL));
    assert_ok(seqgen_optim_step(o, m));
    seqgen_train_state train = {o, NULL, NULL, 1, 1, seqgen_run_config_default(), NULL, NULL};
    train.run.batches.units_per_step = 3;
    assert_ok(seqgen_checkpoint_save(path, m, &train));

    seqgen_checkpoint_info info;
    assert_ok(seqgen_checkpoint_inspect(path, &info));
    assert_int_equal(info.version, 7);
    assert_int_equal(info.model.head, SEQGEN_HEAD_MADE_AR);
    assert_int_equal(info.model.head_hidden, 3);
    seqgen_model *back = NULL;
    seqgen_train_state loaded = empty_state();
    assert_ok(seqgen_checkpoint_load_training(path, &back, &loaded));
    assert_int_equal(seqgen_model_get_config(back).head, SEQGEN_HEAD_MADE_AR);
    assert_int_equal(seqgen_model_get_config(back).head_hidden, 3);
    assert_same_model(m, back);
    seqgen_model_free(back);
    seqgen_optim_free(loaded.optim);
    back = NULL;

    cfg.head = SEQGEN_HEAD_LINEAR_AR, cfg.head_hidden = 0;
    seqgen_model *linear = NULL;
    assert_ok(seqgen_model_create(&linear, &cfg));
    loaded = empty_state();
    assert_fails_with(seqgen_checkpoint_load_training(path, &linear, &loaded),
                      SEQGEN_EMISMATCH, "the model has head 1 but the checkpoint's has head 2");
    seqgen_model_free(linear);
    cfg.head = SEQGEN_HEAD_MADE_AR, cfg.head_hidden = 4;
    seqgen_model *wider = NULL;
    assert_ok(seqgen_model_create(&wider, &cfg));
    loaded = empty_state();
    assert_fails_with(seqgen_checkpoint_load_training(path, &wider, &loaded),
                      SEQGEN_EMISMATCH, "head_hidden 4 and 3");
    seqgen_model_free(wider);

    size_t size;
    unsigned char *data = tu_read_file(path, &size);
    set_matrix_element(path, data, size, "out.made_in.weight", 1, 0x3f800000u); /* A[0][1] = 1 */
    assert_fails_with(seqgen_checkpoint_load_model(&back, path), SEQGEN_EFORMAT,
                      "tensor 'out.made_in.weight' is masked by the MADE degrees (m_k = k mod "
                      "(D - 1)) but element [0][1] (a unit j above the hidden unit's degree) is 1, "
                      "not 0");
    set_matrix_element(path, data, size, "out.made_in.weight", 1, 0);
    /* E[1][1] = 0.25: hidden unit 1 has degree 1, not below unit 1 */
    set_matrix_element(path, data, size, "exp_avg_sq.out.made_out.weight", 4, 0x3e800000u);
    assert_ok(seqgen_checkpoint_load_model(&back, path)); /* inference does not read moments */
    seqgen_model_free(back);
    back = NULL;
    loaded = empty_state();
    assert_fails_with(seqgen_checkpoint_load_training(path, &back, &loaded), SEQGEN_EFORMAT,
                      "tensor 'exp_avg_sq.out.made_out.weight' is masked by the MADE degrees "
                      "(m_k = k mod (D - 1)) but element [1][1] (a hidden unit of degree >= the "
                      "unit d) is 0.25, not 0");
    set_matrix_element(path, data, size, "exp_avg_sq.out.made_out.weight", 4, 0);
    le(data + 8, 6, 4); /* format 6 has no output kind 4 */
    refresh_file_crc(data, size);
    write_variant(path, data, size);
    assert_fails_with(seqgen_checkpoint_load_model(&back, path), SEQGEN_ERANGE,
                      "output kind 4 does not go with vocab 0 in format version 6");
    assert_null(back);
    free(data);
    seqgen_optim_free(o);
    seqgen_model_free(m);
    tu_rmtree(dir);
}

/* The linear autoregressive head (format 7, output kind 3): saved and loaded with its tensor
 * and its Adam moments; format 6 cannot say it; a nonzero entry on or above the diagonal of U,
 * in the parameters or in a moment, is refused; its run does not resume into a model of the
 * independent head; and a model of the independent head saved as format 6 still loads. */
static void ar_head_is_saved_and_checked(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "ar.ckpt");
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = 3, cfg.hidden = 4, cfg.threads = 1, cfg.head = SEQGEN_HEAD_LINEAR_AR;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    const float u[9] = {0, 0, 0, 0.5f, 0, 0, -0.25f, 1.5f, 0};
    assert_ok(seqgen_model_set_tensor(m, "out.ar_weight", u, 9));
    seqgen_optim *o = NULL;
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    assert_ok(seqgen_optim_create(&o, m, &ocfg));
    float x[3 * 6 * 3];
    random_pixels(x, sizeof x / sizeof x[0], 5);
    assert_ok(seqgen_model_forward_backward(m, TU_SEQUENCES(m, x, 3, 6), NULL, NULL, NULL));
    assert_ok(seqgen_optim_step(o, m));
    seqgen_train_state train = {o, NULL, NULL, 1, 1, seqgen_run_config_default(), NULL, NULL};
    train.run.batches.units_per_step = 3;
    assert_ok(seqgen_checkpoint_save(path, m, &train));

    seqgen_checkpoint_info info;
    assert_ok(seqgen_checkpoint_inspect(path, &info));
    assert_int_equal(info.version, 7);
    assert_int_equal(info.model.head, SEQGEN_HEAD_LINEAR_AR);
    seqgen_model *back = NULL;
    seqgen_train_state loaded = empty_state();
    assert_ok(seqgen_checkpoint_load_training(path, &back, &loaded));
    assert_int_equal(seqgen_model_get_config(back).head, SEQGEN_HEAD_LINEAR_AR);
    assert_same_model(m, back);
    float got[9];
    assert_ok(seqgen_model_get_tensor(back, "out.ar_weight", got, 9));
    for (int i = 0; i < 3; i++)
        for (int j = i; j < 3; j++)
            assert_true(got[i * 3 + j] == 0.0f);
    assert_true(got[3] != u[3]); /* the Adam step moved the lower triangle */
    seqgen_model_free(back);
    seqgen_optim_free(loaded.optim);
    back = NULL;

    seqgen_model *independent = new_model(3, 4, 1, 1);
    loaded = empty_state();
    assert_fails_with(seqgen_checkpoint_load_training(path, &independent, &loaded),
                      SEQGEN_EMISMATCH, "the model has head 0 but the checkpoint's has head 1");

    size_t size;
    unsigned char *data = tu_read_file(path, &size);
    set_matrix_element(path, data, size, "out.ar_weight", 1, 0x3f800000u); /* [0][1] = 1 */
    assert_fails_with(seqgen_checkpoint_load_model(&back, path), SEQGEN_EFORMAT,
                      "tensor 'out.ar_weight' is strictly lower triangular but element [0][1] "
                      "(on or above the diagonal) is 1, not 0");
    set_matrix_element(path, data, size, "out.ar_weight", 1, 0);
    set_matrix_element(path, data, size, "exp_avg.out.ar_weight", 8, 0xbf000000u); /* [2][2] */
    assert_ok(seqgen_checkpoint_load_model(&back, path)); /* inference does not read moments */
    seqgen_model_free(back);
    back = NULL;
    loaded = empty_state();
    assert_fails_with(seqgen_checkpoint_load_training(path, &back, &loaded), SEQGEN_EFORMAT,
                      "tensor 'exp_avg.out.ar_weight' is strictly lower triangular but element "
                      "[2][2] (on or above the diagonal) is -0.5, not 0");
    set_matrix_element(path, data, size, "exp_avg.out.ar_weight", 8, 0);
    le(data + 8, 6, 4); /* format 6 has no output kind 3 */
    refresh_file_crc(data, size);
    write_variant(path, data, size);
    assert_fails_with(seqgen_checkpoint_load_model(&back, path), SEQGEN_ERANGE,
                      "output kind 3 does not go with vocab 0 in format version 6");
    assert_null(back);
    free(data);

    assert_ok(seqgen_checkpoint_save(path, independent, NULL));
    data = tu_read_file(path, &size);
    le(data + 8, 6, 4); /* the independent head's file is the same in format 6 */
    refresh_file_crc(data, size);
    write_variant(path, data, size);
    assert_ok(seqgen_checkpoint_load_model(&back, path));
    assert_int_equal(seqgen_model_get_config(back).head, SEQGEN_HEAD_INDEPENDENT);
    assert_same_model(independent, back);
    free(data);
    seqgen_model_free(back);
    seqgen_model_free(independent);
    seqgen_optim_free(o);
    seqgen_model_free(m);
    tu_rmtree(dir);
}

/* A categorical model saved with its vocabulary (format 5, section VOCB) gives the same
 * vocabulary back; a vocabulary of another size is refused on saving and in a file
 * (SEQGEN_EMISMATCH), bad code points in a file are refused (SEQGEN_ERANGE); files without one,
 * format 4 included, load with none. */
static void vocabulary_is_saved_and_checked(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "vocab.ckpt");
    seqgen_vocab *vocab = NULL, *back = (seqgen_vocab *)&back;
    const char *text = "hé日\nab";
    assert_ok(seqgen_vocab_from_text(&vocab, text, strlen(text)));
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.vocab = (int)seqgen_vocab_size(vocab), cfg.embedding = 3, cfg.hidden = 4, cfg.threads = 1;
    seqgen_model *m = NULL, *binary = new_model(1, 3, 1, 2);
    assert_ok(seqgen_model_create(&m, &cfg));

    /* A model checkpoint without it: no vocabulary. */
    assert_ok(seqgen_checkpoint_save(path, m, NULL));
    assert_ok(seqgen_checkpoint_load_vocab(&back, path));
    assert_null(back);
    /* The same file as format 4 (nothing else differs) still loads. */
    size_t size;
    unsigned char *data = tu_read_file(path, &size);
    le(data + 8, 4, 4);
    refresh_file_crc(data, size);
    write_variant(path, data, size);
    free(data);
    seqgen_model *loaded = NULL;
    assert_ok(seqgen_checkpoint_load_model(&loaded, path));
    assert_same_model(m, loaded);
    seqgen_model_free(loaded);
    back = (seqgen_vocab *)&back;
    assert_ok(seqgen_checkpoint_load_vocab(&back, path));
    assert_null(back);

    /* With it: a model and a training checkpoint. */
    seqgen_train_state train = {NULL, NULL, NULL, 1, 2, seqgen_run_config_default(), NULL, NULL};
    for (int with_train = 0; with_train < 2; with_train++) {
        assert_ok(seqgen_checkpoint_save_with_vocab(path, m, with_train ? &train : NULL, vocab));
        assert_ok(seqgen_checkpoint_load_vocab(&back, path));
        assert_int_equal(seqgen_vocab_size(back), seqgen_vocab_size(vocab));
        for (size_t i = 0; i < seqgen_vocab_size(vocab); i++)
            assert_int_equal(seqgen_vocab_code_point(back, i), seqgen_vocab_code_point(vocab, i));
        seqgen_vocab_free(back);
        assert_ok(seqgen_checkpoint_load_model(&loaded, path));
        assert_same_model(m, loaded);
        seqgen_model_free(loaded);
        loaded = NULL;
    }
    data = tu_read_file(path, &size);
    unsigned char *vocb = find_section(data, size, "VOCB");
    assert_int_equal(get_le(vocb - 12, 8), 4 + 4 * 5); /* the count and 5 code points */
    assert_int_equal(get_le(vocb, 4), 5);
    assert_int_equal(get_le(vocb + 4, 4), 'a');
    assert_int_equal(get_le(vocb + 20, 4), 0x65E5);

    /* Saving: a vocabulary of another size, or for a model of binary units. */
    const char *other = path_in(dir, "other.ckpt");
    seqgen_vocab *small = NULL;
    assert_ok(seqgen_vocab_from_text(&small, "ab", 2));
    assert_fails_with(seqgen_checkpoint_save_with_vocab(other, m, NULL, small), SEQGEN_EMISMATCH,
                      "a vocabulary of 3 symbols for a model of vocab 6");
    assert_fails_with(seqgen_checkpoint_save_with_vocab(other, binary, NULL, small),
                      SEQGEN_EMISMATCH, "for a model of binary units (vocab 0");
    assert_fails_with(seqgen_checkpoint_save_with_vocab(other, m, NULL, NULL), SEQGEN_EINVAL,
                      "NULL vocab");
    struct stat st;
    assert_int_equal(stat(other, &st), -1); /* nothing written */

    /* Loading: code points out of order, not symbols, a count that is not the model's V - 1. */
    static const struct {
        size_t at;
        uint32_t value;
        int status;
        const char *detail;
    } bad[] = {
        {8, 'a', SEQGEN_ERANGE, "code point 1 is 0x61: not above the one before it"},
        {4, '\n', SEQGEN_ERANGE, "code point 0 is 0xA: not a symbol"},
        {20, 0xD800, SEQGEN_ERANGE, "code point 4 is 0xD800: not a symbol"},
        {20, 0x110000, SEQGEN_ERANGE, "code point 4 is 0x110000: not a symbol"},
        {0, 0, SEQGEN_ERANGE, "count 0 of code points"},
        {0, 6, SEQGEN_EFORMAT, "field 'code points' needs 24 bytes but only 20 remain"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        unsigned char *copy = malloc(size);
        memcpy(copy, data, size);
        unsigned char *p = copy + (vocb - data);
        le(p + bad[k].at, bad[k].value, 4);
        refresh_crcs(copy, size, p);
        write_variant(path, copy, size);
        free(copy);
        back = (seqgen_vocab *)&back;
        assert_fails_with(seqgen_checkpoint_load_vocab(&back, path), bad[k].status, bad[k].detail);
        assert_ptr_equal(back, (seqgen_vocab *)&back);
        assert_fails_with(seqgen_checkpoint_load_model(&loaded, path), bad[k].status,
                          bad[k].detail);
        assert_true(strstr(seqgen_last_error(), path) == seqgen_last_error());
    }
    /* A file whose model has another V than its vocabulary: one symbol fewer. */
    seqgen_vocab *five = NULL;
    assert_ok(seqgen_vocab_from_text(&five, "abcd", 4));
    cfg.vocab = 5;
    seqgen_model *m5 = NULL;
    assert_ok(seqgen_model_create(&m5, &cfg));
    assert_ok(seqgen_checkpoint_save_with_vocab(other, m5, NULL, five));
    size_t size5;
    unsigned char *data5 = tu_read_file(other, &size5);
    unsigned char *modl = find_section(data5, size5, "MODL");
    le(modl + 36, 6, 4); /* the model says V = 6 (its tensors then disagree too, checked later) */
    refresh_crcs(data5, size5, modl);
    write_variant(other, data5, size5);
    assert_fails_with(seqgen_checkpoint_load_vocab(&back, other), SEQGEN_EMISMATCH,
                      "section 'VOCB': a vocabulary of 5 symbols for a model of vocab 6");
    free(data5);
    free(data);
    seqgen_model_free(m5);
    seqgen_vocab_free(five);
    seqgen_vocab_free(small);
    seqgen_vocab_free(vocab);
    seqgen_model_free(m);
    seqgen_model_free(binary);
    tu_rmtree(dir);
}

/* The data's length a model is made for (its steps) is saved; a value beyond INT_MAX is refused,
 * and resuming into a model made for another length or start step is refused naming both. */
static void steps_are_saved_and_checked(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "steps.ckpt");
    seqgen_dataset *ds = open_digits(40);
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.hidden = 3, cfg.steps = 784, cfg.threads = 1;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    seqgen_train_state train = {NULL, NULL, NULL, 1, 2, run_for(ds, 1, 5), NULL, NULL};
    assert_ok(seqgen_checkpoint_save(path, m, &train));
    seqgen_checkpoint_info info;
    assert_ok(seqgen_checkpoint_inspect(path, &info));
    assert_int_equal(info.model.steps, 784);
    seqgen_model *back = NULL;
    assert_ok(seqgen_checkpoint_load_model(&back, path));
    assert_int_equal(seqgen_model_get_config(back).steps, 784);
    seqgen_model_free(back);
    back = NULL;
    seqgen_model *other = NULL;
    for (int field = 0; field < 2; field++) {
        seqgen_model_config o = cfg;
        if (field == 0)
            o.steps = 0;
        else
            o.start_step = 1;
        assert_ok(seqgen_model_create(&other, &o));
        seqgen_train_state into = {NULL, NULL, NULL, 0, 0, seqgen_run_config_default(), NULL, NULL};
        assert_fails_with(seqgen_checkpoint_load_training(path, &other, &into), SEQGEN_EMISMATCH,
                          field == 0 ? "start step 0, steps 0 but the checkpoint's has D = 1, "
                                       "H = 3, L = 1, start step 0, steps 784"
                                     : "start step 1, steps 784 but the checkpoint's has D = 1, "
                                       "H = 3, L = 1, start step 0, steps 784");
        seqgen_model_free(other);
        other = NULL;
    }
    size_t size;
    unsigned char *data = tu_read_file(path, &size);
    unsigned char *modl = find_section(data, size, "MODL");
    le(modl + 32, 0x80000000u, 4);
    refresh_crcs(data, size, modl);
    write_variant(path, data, size);
    assert_fails_with(seqgen_checkpoint_load_model(&back, path), SEQGEN_ERANGE,
                      "steps = 2147483648: out of range");
    assert_null(back);
    free(data);
    seqgen_model_free(m);
    seqgen_dataset_free(ds);
    tu_rmtree(dir);
}

/* An iterator that is not the saved run's is refused, naming the first field that differs, and
 * nothing changes: not the handles, not the iterator's position, not the counters. */
static void mismatching_iterator_is_refused_naming_the_field(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "iter.ckpt");
    seqgen_dataset *ds = open_digits(40), *small = open_digits(30);
    training a;
    make_training(&a, 2, 1, SEQGEN_OPTIM_ADAM, ds);
    assert_ok(seqgen_checkpoint_save(path, a.model, &a.train));
    const seqgen_batch_config saved = a.train.run.batches;
    for (int k = 0; k < 10; k++) {
        seqgen_batch_config c = saved;
        const seqgen_dataset *over = ds;
        const char *detail = "";
        switch (k) {
        case 0: c.units_per_step = 4, detail = "units_per_step is 4 but the run's is 2"; break;
        case 1: c.batch_size = 7, detail = "batch_size is 7 but the run's is 8"; break;
        case 2: c.shuffle = 0, detail = "shuffle is 0 but the run's is 1"; break;
        case 3: c.seed = 10, detail = "seed is 10 but the run's is 9"; break;
        case 4: c.drop_last = 1, detail = "drop_last is 1 but the run's is 0"; break;
        case 5: c.binarize.mode = SEQGEN_BINARIZE_STOCHASTIC, detail = "binarize.mode is 1"; break;
        case 6: c.binarize.threshold = 128, detail = "threshold is 128 but the run's is 127"; break;
        case 7: c.binarize.seed = 1, detail = "binarize.seed is 1 but the run's is 0"; break;
        case 8: c.binarize.resample_each_epoch = 1, detail = "resample_each_epoch is 1"; break;
        default: over = small, detail = "count is 30 but the run's is 40 (train_sequences)"; break;
        }
        seqgen_model *none = NULL;
        seqgen_train_state b = empty_state();
        b.epoch = 77;
        b.batches = iter_from(over, &c);
        const float *x;
        size_t n;
        assert_ok(seqgen_batch_iter_next(b.batches, &x, &n));
        assert_fails_with(seqgen_checkpoint_load_training(path, &none, &b), SEQGEN_EMISMATCH,
                          detail);
        assert_null(none);
        assert_true(!b.optim && !b.sched && b.epoch == 77 && b.run.train_sequences == 0);
        assert_int_equal(seqgen_batch_iter_epoch(b.batches), 0);
        assert_int_equal(seqgen_batch_iter_position(b.batches), n);
        seqgen_batch_iter_free(b.batches);
    }
    free_training(&a);
    seqgen_dataset_free(small);
    seqgen_dataset_free(ds);
    tu_rmtree(dir);
}

/* ---- Runs of symbols: the position of a seqgen_symbol_iter ------------------------------- */

#define SYM_V 5
#define SYM_T 7

/* `count` sequences of symbols of lengths 2 to 7, the same for the same count. */
static seqgen_symbol_dataset *symbol_data(size_t count)
{
    int32_t symbols[16 * SYM_T];
    size_t lengths[16];
    assert_true(count <= 16);
    uint64_t x = 12345;
    for (size_t i = 0; i < count; i++) {
        lengths[i] = 2 + i % 6;
        for (size_t t = 0; t < SYM_T; t++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            symbols[i * SYM_T + t] = t < lengths[i] ? (int32_t)((x >> 33) % SYM_V) : 0;
        }
    }
    seqgen_symbol_sequences seqs = {symbols, count, SYM_T, lengths, SYM_V};
    seqgen_symbol_dataset *ds = NULL;
    assert_ok(seqgen_symbol_dataset_from_memory(&ds, &seqs));
    return ds;
}

static seqgen_symbol_iter *symbol_iter(const seqgen_symbol_dataset *ds,
                                       const seqgen_batch_config *cfg)
{
    seqgen_symbol_iter *it = NULL;
    assert_ok(seqgen_symbol_iter_create(&it, ds, cfg));
    return it;
}

/* The run of a text of `ds`'s sequences in shuffled batches of 4, as seqgen-text records it. */
static seqgen_run_config symbol_run(const seqgen_symbol_dataset *ds)
{
    seqgen_run_config run = seqgen_run_config_default();
    run.train.loss = SEQGEN_LOSS_CE;
    run.batches.batch_size = 4;
    run.batches.seed = 7;
    run.train_sequences = seqgen_symbol_dataset_count(ds);
    run.data = SEQGEN_RUN_DATA_TEXT;
    run.text.holdout_every = 10;
    run.text.max_line_symbols = 300;
    run.text.max_bytes = 123456789012u;
    run.text.max_sequences = 1000;
    run.data_checksum = seqgen_symbol_dataset_checksum(ds, 0);
    snprintf(run.data_source, sizeof run.data_source, "words.txt");
    return run;
}

/* A new categorical model (start step, 1 thread) and its Adam, at iteration 0. */
static void start_symbol_run(const seqgen_symbol_dataset *ds, seqgen_model **m,
                             seqgen_train_state *t)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.vocab = SYM_V, cfg.embedding = 3, cfg.hidden = 6, cfg.layers = 2;
    cfg.start_step = 1, cfg.steps = SYM_T, cfg.threads = 1, cfg.seed = 21;
    *m = NULL;
    assert_ok(seqgen_model_create(m, &cfg));
    *t = empty_state();
    t->run = symbol_run(ds);
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    ocfg.lr = 0.01;
    assert_ok(seqgen_optim_create(&t->optim, *m, &ocfg));
    t->symbol_batches = symbol_iter(ds, &t->run.batches);
}

/* `batches` more training batches (the end of an epoch is not one), as a program's loop. */
static void train_symbols(seqgen_model *m, seqgen_train_state *t, int batches)
{
    seqgen_train_options o = seqgen_train_options_default();
    o.loss = SEQGEN_LOSS_CE;
    const int T = (int)seqgen_symbol_iter_steps(t->symbol_batches);
    for (int done = 0; done < batches;) {
        const int32_t *y;
        size_t n;
        int status = seqgen_symbol_iter_next(t->symbol_batches, &y, &n);
        if (status == SEQGEN_DONE) {
            t->epoch++;
            continue;
        }
        assert_ok(status);
        seqgen_symbol_batch b = seqgen_symbol_batch_of_sequences(m, y, (int)n, T);
        b.lengths = seqgen_symbol_iter_lengths(t->symbol_batches);
        assert_ok(seqgen_model_forward_backward_symbols(m, &b, &o, NULL, NULL));
        assert_ok(seqgen_optim_step(t->optim, m));
        t->iteration++, done++;
    }
}

static void stop_symbol_run(seqgen_model *m, seqgen_train_state *t)
{
    seqgen_model_free(m);
    seqgen_optim_free(t->optim);
    seqgen_symbol_iter_free(t->symbol_batches);
}

/* Fresh handles from the checkpoint alone, as seqgen-text --resume: the iterator made from the
 * saved run over the data, then the model and optimiser created by the loader. */
static void resume_symbol_run(const char *path, const seqgen_symbol_dataset *ds, seqgen_model **m,
                              seqgen_train_state *t)
{
    seqgen_checkpoint_info info;
    assert_ok(seqgen_checkpoint_inspect(path, &info));
    assert_true(info.has_symbol_batches && !info.has_batches);
    *m = NULL;
    *t = empty_state();
    t->symbol_batches = symbol_iter(ds, &info.run.batches);
    assert_ok(seqgen_checkpoint_load_training(path, m, t));
    assert_int_equal(seqgen_symbol_iter_epoch(t->symbol_batches), info.batches_epoch);
    assert_int_equal(seqgen_symbol_iter_position(t->symbol_batches), info.batches_position);
}

/* A run of symbols saved mid-epoch, and again exactly at an epoch's end, each time resumed in
 * fresh handles, ends bit-identical to the run that never stopped; the run's data, text options
 * and checksum come back as saved. */
static void symbol_run_resumes_bit_identically(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "symbols.ckpt");
    seqgen_symbol_dataset *ds = symbol_data(11); /* batches of 4, 4, 3: 3 an epoch */
    seqgen_model *straight, *m;
    seqgen_train_state s, t;
    start_symbol_run(ds, &straight, &s);
    train_symbols(straight, &s, 9);
    assert_int_equal(s.epoch, 2);

    start_symbol_run(ds, &m, &t);
    train_symbols(m, &t, 2); /* epoch 0, position 8 */
    assert_ok(seqgen_checkpoint_save(path, m, &t));
    stop_symbol_run(m, &t);
    seqgen_checkpoint_info info;
    assert_ok(seqgen_checkpoint_inspect(path, &info));
    assert_int_equal(info.version, 7);
    assert_true(info.has_training && info.has_optim && info.has_symbol_batches);
    assert_false(info.has_batches);
    assert_int_equal(info.batches_epoch, 0);
    assert_int_equal(info.batches_position, 8);
    seqgen_run_config run = symbol_run(ds);
    assert_int_equal(info.run.data, SEQGEN_RUN_DATA_TEXT);
    assert_null(info.run.text.vocab);
    assert_int_equal(info.run.text.holdout_every, 10);
    assert_int_equal(info.run.text.max_bytes, 123456789012u);
    assert_int_equal(info.run.text.max_line_symbols, 300);
    assert_int_equal(info.run.text.max_sequences, 1000);
    assert_int_equal(info.run.data_checksum, run.data_checksum);
    assert_int_not_equal(run.data_checksum, seqgen_symbol_dataset_checksum(ds, 1));
    assert_same_run(&run, &info.run);

    resume_symbol_run(path, ds, &m, &t);
    assert_int_equal(t.iteration, 2);
    train_symbols(m, &t, 4); /* over the end of epoch 0, to the last batch of epoch 1 */
    assert_int_equal(seqgen_symbol_iter_position(t.symbol_batches), 11);
    assert_ok(seqgen_checkpoint_save(path, m, &t));
    stop_symbol_run(m, &t);

    resume_symbol_run(path, ds, &m, &t);
    assert_int_equal(t.epoch, 1);
    assert_int_equal(seqgen_symbol_iter_epoch(t.symbol_batches), 1);
    assert_int_equal(seqgen_symbol_iter_position(t.symbol_batches), 11);
    train_symbols(m, &t, 3);
    assert_int_equal(t.iteration, s.iteration);
    assert_int_equal(t.epoch, s.epoch);
    assert_memory_equal(seqgen_model_parameters(m), seqgen_model_parameters(straight),
                        seqgen_model_param_count(m) * sizeof(float));
    stop_symbol_run(m, &t);
    stop_symbol_run(straight, &s);
    seqgen_symbol_dataset_free(ds);
    tu_rmtree(dir);
}

/* A symbol iterator that is not the run's, an iterator of the other kind, or both kinds at once
 * are refused on saving and on loading, naming the field; a refused load changes nothing. */
static void symbol_iterator_mismatch_is_refused(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "mismatch.ckpt");
    seqgen_symbol_dataset *ds = symbol_data(11), *fewer = symbol_data(10);
    seqgen_dataset *digits = open_digits(40);
    seqgen_model *m;
    seqgen_train_state t;
    start_symbol_run(ds, &m, &t);
    t.run.data = SEQGEN_RUN_DATA_SYMBOLS;
    train_symbols(m, &t, 1);
    assert_ok(seqgen_checkpoint_save(path, m, &t));
    size_t size;
    unsigned char *good = tu_read_file(path, &size);

    seqgen_batch_config other_seed = t.run.batches;
    other_seed.seed = 8;
    seqgen_batch_config digits_cfg = iter_config(1, 7);
    for (int k = 0; k < 4; k++) {
        seqgen_model *none = NULL;
        seqgen_train_state b = empty_state();
        int status = SEQGEN_EMISMATCH;
        const char *detail = "";
        switch (k) {
        case 0: b.symbol_batches = symbol_iter(ds, &other_seed),
                detail = "the symbol iterator's seed is 8 but the run's is 7"; break;
        case 1: b.symbol_batches = symbol_iter(fewer, &t.run.batches),
                detail = "the symbol iterator's count is 10 but the run's is 11 "
                         "(train_sequences)"; break;
        case 2: b.batches = iter_from(digits, &digits_cfg),
                detail = "a seqgen_batch_iter was given but the run's data is symbols: its "
                         "iterator is a seqgen_symbol_iter"; break;
        default: b.batches = iter_from(digits, &digits_cfg);
                 b.symbol_batches = symbol_iter(ds, &t.run.batches), status = SEQGEN_EINVAL;
                 detail = "both a batch iterator and a symbol iterator given"; break;
        }
        assert_fails_with(seqgen_checkpoint_load_training(path, &none, &b), status, detail);
        assert_null(none);
        assert_null(b.optim);
        assert_int_equal(b.iteration, 0);
        if (b.symbol_batches)
            assert_int_equal(seqgen_symbol_iter_position(b.symbol_batches), 0);
        seqgen_symbol_iter_free(b.symbol_batches);
        seqgen_batch_iter_free(b.batches);
    }

    /* Saving: each refused, the file left as it was. */
    seqgen_train_state bad = t;
    bad.symbol_batches = symbol_iter(ds, &other_seed);
    assert_fails_with(seqgen_checkpoint_save(path, m, &bad), SEQGEN_EMISMATCH,
                      "the symbol iterator's seed is 8 but the run's is 7");
    seqgen_symbol_iter_free(bad.symbol_batches);
    bad = t;
    bad.run.data = SEQGEN_RUN_DATA_UNITS;
    assert_fails_with(seqgen_checkpoint_save(path, m, &bad), SEQGEN_EMISMATCH,
                      "a seqgen_symbol_iter was given but the run's data is units: its iterator "
                      "is a seqgen_batch_iter");
    bad = t;
    bad.batches = iter_from(digits, &digits_cfg);
    assert_fails_with(seqgen_checkpoint_save(path, m, &bad), SEQGEN_EINVAL,
                      "both a batch iterator and a symbol iterator");
    seqgen_batch_iter_free(bad.batches);
    seqgen_model *binary = new_model(1, 2, 1, 3);
    bad = empty_state();
    bad.run.data = SEQGEN_RUN_DATA_SYMBOLS;
    assert_fails_with(seqgen_checkpoint_save(path, binary, &bad), SEQGEN_EMISMATCH,
                      "the run's data is symbols but the model is of binary units (vocab 0)");
    tu_assert_file_is(path, good, size);

    /* A run of units does not resume into a symbol iterator. */
    bad = empty_state();
    bad.run = run_for(digits, 1, 7);
    bad.batches = iter_from(digits, &digits_cfg);
    assert_ok(seqgen_checkpoint_save(path, binary, &bad));
    seqgen_batch_iter_free(bad.batches);
    seqgen_model *none = NULL;
    seqgen_train_state into = empty_state();
    into.symbol_batches = symbol_iter(ds, &t.run.batches);
    assert_fails_with(seqgen_checkpoint_load_training(path, &none, &into), SEQGEN_EMISMATCH,
                      "a seqgen_symbol_iter was given but the run's data is units");
    seqgen_symbol_iter_free(into.symbol_batches);
    /* and a file saying its binary model's data is symbols contradicts itself */
    size_t units_size;
    unsigned char *data = tu_read_file(path, &units_size);
    unsigned char *runc = find_section(data, units_size, "RUNC");
    le(runc + 158 + strlen(MNIST) + 2, SEQGEN_RUN_DATA_SYMBOLS, 4);
    refresh_crcs(data, units_size, runc);
    write_variant(path, data, units_size);
    seqgen_checkpoint_info info;
    assert_fails_with(seqgen_checkpoint_inspect(path, &info), SEQGEN_EMISMATCH,
                      "section 'RUNC': data of symbols for a model of binary units");
    free(data);
    free(good);
    seqgen_model_free(binary);
    stop_symbol_run(m, &t);
    seqgen_dataset_free(digits);
    seqgen_symbol_dataset_free(fewer);
    seqgen_symbol_dataset_free(ds);
    tu_rmtree(dir);
}

/* A file of format version 5 (RUNC without the data's kind and the text options) reads as a run
 * of units with the default text options; the same bytes under version 6 are refused. */
static void version_5_reads_as_units(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "v5.ckpt");
    seqgen_dataset *ds = open_digits(40);
    seqgen_model *m = new_model(1, 2, 1, 5);
    seqgen_train_state t = {NULL, NULL, NULL, 1, 2, run_for(ds, 1, 3), NULL, NULL};
    t.batches = iter_from(ds, &t.run.batches);
    assert_ok(seqgen_batch_iter_seek(t.batches, 1, 16));
    assert_ok(seqgen_checkpoint_save(path, m, &t));
    size_t size;
    unsigned char *data = tu_read_file(path, &size);
    unsigned char *runc = find_section(data, size, "RUNC");
    unsigned char *head = runc - 20, *end = runc + get_le(head + 8, 8);
    memmove(end - 44, end, (size_t)(data + size - end)); /* RUNC as version 5 wrote it */
    size -= 44;
    le(head + 8, get_le(head + 8, 8) - 44, 8);
    le(data + 16, size, 8);
    refresh_crcs(data, size, runc);
    write_variant(path, data, size);
    seqgen_model *none = NULL;
    seqgen_train_state into = empty_state();
    into.batches = iter_from(ds, &t.run.batches);
    assert_fails_with(seqgen_checkpoint_load_training(path, &none, &into), SEQGEN_EFORMAT,
                      "field 'data' needs 4 bytes but only 0 remain");
    le(data + 8, 5, 4);
    refresh_file_crc(data, size);
    write_variant(path, data, size);
    seqgen_checkpoint_info info;
    assert_ok(seqgen_checkpoint_inspect(path, &info));
    assert_int_equal(info.version, 5);
    assert_true(info.has_batches && !info.has_symbol_batches);
    assert_int_equal(info.run.data, SEQGEN_RUN_DATA_UNITS);
    seqgen_text_options defaults = seqgen_text_options_default();
    assert_int_equal(info.run.text.max_bytes, defaults.max_bytes);
    assert_int_equal(info.run.text.max_line_symbols, defaults.max_line_symbols);
    assert_int_equal(info.run.text.max_sequences, defaults.max_sequences);
    assert_int_equal(info.run.text.holdout_every, 0);
    assert_int_equal(info.run.data_checksum, 0);
    assert_ok(seqgen_checkpoint_load_training(path, &none, &into));
    assert_int_equal(seqgen_batch_iter_epoch(into.batches), 1);
    assert_int_equal(seqgen_batch_iter_position(into.batches), 16);
    assert_same_model(m, none);
    seqgen_model_free(none);
    seqgen_batch_iter_free(into.batches);
    seqgen_batch_iter_free(t.batches);
    free(data);
    seqgen_model_free(m);
    seqgen_dataset_free(ds);
    tu_rmtree(dir);
}

/* Files of format version 1 (libseqgen 0.1) are refused, naming the version and what to do. */
static void version_1_is_refused_naming_it(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "v1.ckpt");
    seqgen_model *m = new_model(1, 2, 1, 4);
    static filebuf f;
    build_model_file(&f, m, &no_tweak);
    le(f.data + 8, 1, 4);
    refresh_file_crc(f.data, f.size);
    tu_write_file(path, f.data, f.size);
    seqgen_model *back = NULL;
    const char *detail = "v1.ckpt: format version 1 (written by libseqgen 0.1) is no longer read: "
                         "this library reads versions 3 to 7";
    assert_fails_with(seqgen_checkpoint_load_model(&back, path), SEQGEN_EVERSION, detail);
    assert_null(back);
    assert_fails_with(seqgen_checkpoint_load_model(&back, path), SEQGEN_EVERSION,
                      "use the file with libseqgen 0.1, or train the model again");
    seqgen_checkpoint_info info;
    assert_fails_with(seqgen_checkpoint_inspect(path, &info), SEQGEN_EVERSION, detail);
    seqgen_train_state t = empty_state();
    assert_fails_with(seqgen_checkpoint_load_training(path, &back, &t), SEQGEN_EVERSION, detail);
    le(f.data + 8, 0, 4); /* 0 is no version at all */
    refresh_file_crc(f.data, f.size);
    tu_write_file(path, f.data, f.size);
    assert_fails_with(seqgen_checkpoint_load_model(&back, path), SEQGEN_EFORMAT,
                      "format version 0 is invalid");
    seqgen_model_free(m);
    tu_rmtree(dir);
}

/* The sections of the training state come together: a file whose RUNC is gone, or whose ITER
 * position is beyond the run's images, is refused. */
static void training_sections_come_together(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "parts.ckpt");
    seqgen_dataset *ds = open_digits(40);
    training a;
    make_training(&a, 1, 1, SEQGEN_OPTIM_SGD, ds);
    assert_ok(seqgen_checkpoint_save(path, a.model, &a.train));
    size_t size;
    unsigned char *data = tu_read_file(path, &size);
    seqgen_model *none = NULL;
    seqgen_train_state t = empty_state();

    unsigned char *run = find_section(data, size, "RUNC");
    memcpy(run - 20, "RUNX", 4); /* an unknown tag, still marked required */
    refresh_crcs(data, size, run);
    write_variant(path, data, size);
    assert_fails_with(seqgen_checkpoint_load_training(path, &none, &t), SEQGEN_EVERSION,
                      "section 'RUNX' at byte");
    le(run - 16, 0, 4); /* optional now: skipped, and the run is missing */
    refresh_crcs(data, size, run);
    write_variant(path, data, size);
    assert_fails_with(seqgen_checkpoint_load_training(path, &none, &t), SEQGEN_EFORMAT,
                      "'PROG' without 'RUNC'");
    memcpy(run - 20, "RUNC", 4);
    le(run - 16, 1, 4);
    unsigned char *prog = find_section(data, size, "PROG");
    memcpy(prog - 20, "PROX", 4);
    le(prog - 16, 0, 4);
    refresh_crcs(data, size, run);
    refresh_crcs(data, size, prog);
    write_variant(path, data, size);
    assert_fails_with(seqgen_checkpoint_inspect(path, &(seqgen_checkpoint_info){0}),
                      SEQGEN_EFORMAT, "'RUNC' without 'PROG'");
    memcpy(prog - 20, "PROG", 4);
    le(prog - 16, 1, 4);
    refresh_crcs(data, size, prog);

    unsigned char *iter = find_section(data, size, "ITER");
    le(iter + 8, 41, 8);
    refresh_crcs(data, size, iter);
    write_variant(path, data, size);
    assert_fails_with(seqgen_checkpoint_load_training(path, &none, &t), SEQGEN_ERANGE,
                      "section 'ITER': position 41 is beyond the run's 40 training sequences");
    le(iter + 8, 40, 8); /* at the very end of the epoch: valid */
    refresh_crcs(data, size, iter);
    write_variant(path, data, size);
    seqgen_checkpoint_info info;
    assert_ok(seqgen_checkpoint_inspect(path, &info));
    assert_int_equal(info.batches_position, 40);
    assert_null(none);
    free(data);
    free_training(&a);
    seqgen_dataset_free(ds);
    tu_rmtree(dir);
}

/* ---- Atomic save ---------------------------------------------------------------------------- */

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Which of two models the checkpoint at `path` holds: 0, 1, or fails. */
static int which_model(const char *path, seqgen_model *models[2])
{
    seqgen_model *back = NULL;
    assert_ok(seqgen_checkpoint_load_model(&back, path));
    size_t bytes = seqgen_model_param_count(back) * sizeof(float);
    int which = -1;
    for (int k = 0; k < 2; k++)
        if (memcmp(sg_model_params_const(back), sg_model_params_const(models[k]), bytes) == 0)
            which = k;
    seqgen_model_free(back);
    assert_true(which >= 0);
    return which;
}

static void killed_saves_leave_old_or_new(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "run.ckpt");
    seqgen_model *models[2] = {new_model(4, 48, 2, 1), new_model(4, 48, 2, 2)};
    assert_ok(seqgen_checkpoint_save(path, models[0], NULL));
    sg_rng rng;
    sg_rng_seed(&rng, 42, 0);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int seen[2] = {0, 0}, kills = 100;
    for (int k = 0; k < kills; k++) {
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) /* saves the two models in turn until killed */
            for (int n = 0;; n++)
                if (seqgen_checkpoint_save(path, models[n & 1 ? 0 : 1], NULL) != SEQGEN_OK)
                    _exit(3);
        struct timespec pause = {0, (long)sg_rng_below(&rng, 4000) * 1000}; /* 0-4 ms */
        nanosleep(&pause, NULL);
        kill(child, SIGKILL);
        int wstatus;
        assert_int_equal(waitpid(child, &wstatus, 0), child);
        assert_true(WIFSIGNALED(wstatus)); /* killed, not failed */
        seen[which_model(path, models)]++;
    }
    print_message("    %d saves killed at random points in %.2f s: old model %d times, new %d; "
                  "%d temporary files left by the kills\n", kills, seconds_since(&start),
                  seen[0], seen[1], count_entries(dir) - 1);
    seqgen_model_free(models[0]);
    seqgen_model_free(models[1]);
    tu_rmtree(dir);
}

static void failed_saves_leave_the_old_file(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "keep.ckpt");
    seqgen_model *old = new_model(1, 3, 1, 1), *big = new_model(1, 40, 2, 2);
    assert_ok(seqgen_checkpoint_save(path, old, NULL));
    size_t old_size;
    unsigned char *old_bytes = tu_read_file(path, &old_size);

    /* A full disk, simulated by a file-size limit below the new file's size. */
    struct rlimit saved, small = {0, 0};
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    small.rlim_cur = 4096;
    small.rlim_max = saved.rlim_max;
    void (*handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    int status = seqgen_checkpoint_save(path, big, NULL);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, handler);
    assert_fails_with(status, SEQGEN_EIO, "cannot write");

    /* The target is a directory: the rename fails. */
    const char *sub = path_in(dir, "sub");
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(mkdir(path_in(sub, "x"), 0700), 0);
    status = seqgen_checkpoint_save(sub, old, NULL);
    assert_fails_with(status, SEQGEN_EIO, "cannot rename over the target: Is a directory");

    /* A directory that does not exist. */
    status = seqgen_checkpoint_save(path_in(dir, "nowhere/x.ckpt"), old, NULL);
    assert_fails_with(status, SEQGEN_ENOENT, "cannot create a temporary file");

    /* Unwritable directory: root writes anyway, so only checked for other users. */
    if (geteuid() != 0) {
        assert_int_equal(chmod(dir, 0500), 0);
        status = seqgen_checkpoint_save(path, big, NULL);
        assert_int_equal(chmod(dir, 0700), 0);
        assert_fails_with(status, SEQGEN_EIO, "Permission denied");
    }

    size_t size;
    unsigned char *now = tu_read_file(path, &size);
    assert_int_equal(size, old_size);
    assert_memory_equal(now, old_bytes, size);
    assert_int_equal(count_entries(dir), 2); /* keep.ckpt and sub: no temporary file left */
    free(now);
    free(old_bytes);
    seqgen_model_free(old);
    seqgen_model_free(big);
    tu_rmtree(dir);
}

/* Loads the FIFO at `path`: 0 if both loaders refused it as one. */
static int load_fifo(const char *path)
{
    seqgen_model *m = NULL;
    seqgen_checkpoint_info info;
    int model = seqgen_checkpoint_load_model(&m, path) == SEQGEN_EFORMAT &&
                strstr(seqgen_last_error(), "not a regular file (a FIFO)");
    int inspect = seqgen_checkpoint_inspect(path, &info) == SEQGEN_EFORMAT &&
                  strstr(seqgen_last_error(), "not a regular file (a FIFO)");
    return model && inspect ? 0 : 1;
}

/* A FIFO without a writer blocked the open forever (Ctrl-C then gave "Interrupted system
 * call"); it, a directory and devices are refused at once, naming what they are. */
static void non_regular_files_are_refused(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *fifo = path_in(dir, "pipe.ckpt");
    tu_read_fifo_in_child(fifo, load_fifo);
    seqgen_model *m = NULL;
    assert_fails_with(seqgen_checkpoint_load_model(&m, dir), SEQGEN_EFORMAT,
                      "not a regular file (a directory)");
    assert_fails_with(seqgen_checkpoint_load_model(&m, "/dev/null"), SEQGEN_EFORMAT,
                      "/dev/null: not a regular file (a device)");
    assert_fails_with(seqgen_checkpoint_load_model(&m, "/dev/zero"), SEQGEN_EFORMAT,
                      "/dev/zero: not a regular file (a device)");
    assert_null(m);
    tu_rmtree(dir);
}

/* In a child with its own mount namespace, a 64 KiB tmpfs holds the old file; saving a bigger
 * model runs out of space. Exit codes: 0 pass, 77 no privilege to mount (skipped), else the
 * check that failed. */
static int full_disk_child(const char *dir, seqgen_model *old, seqgen_model *big)
{
    if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", dir, "tmpfs", 0, "size=64k") != 0)
        return 77;
    const char *path = path_in(dir, "keep.ckpt");
    if (seqgen_checkpoint_save(path, old, NULL) != SEQGEN_OK)
        return 1;
    size_t old_size, size;
    unsigned char *before = tu_read_file(path, &old_size);
    int status = seqgen_checkpoint_save(path, big, NULL);
    fprintf(stderr, "    full disk: %s\n", seqgen_last_error());
    int no_space = status == SEQGEN_EIO && strstr(seqgen_last_error(), "No space left on device");
    unsigned char *after = tu_read_file(path, &size);
    int intact = size == old_size && memcmp(before, after, size) == 0;
    free(before);
    free(after);
    return !no_space ? 2 : !intact ? 3 : count_entries(dir) != 1 ? 4 : umount(dir) != 0 ? 5 : 0;
}

static void full_disk_leaves_the_old_file(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    seqgen_model *old = new_model(1, 3, 1, 1), *big = new_model(1, 64, 2, 2); /* 2 KB, 160 KB */
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        int code = full_disk_child(dir, old, big);
        seqgen_model_free(old);
        seqgen_model_free(big);
        _exit(code);
    }
    int wstatus;
    assert_int_equal(waitpid(child, &wstatus, 0), child);
    assert_true(WIFEXITED(wstatus));
    if (WEXITSTATUS(wstatus) == 77)
        print_message("    skipped: no privilege to mount a small tmpfs\n");
    else
        assert_int_equal(WEXITSTATUS(wstatus), 0);
    seqgen_model_free(old);
    seqgen_model_free(big);
    tu_rmtree(dir);
}

/* Makes allocation n fail, for n = 0, 1, ... until the call no longer reaches an n-th
 * allocation: every failure must be ENOMEM, leave the handles as they were and leak nothing. */
static void every_allocation_failure_is_clean(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "alloc.ckpt");
    seqgen_dataset *ds = open_digits(40);
    training a;
    make_training(&a, 4, 2, SEQGEN_OPTIM_ADAM, ds);
    assert_ok(seqgen_checkpoint_save(path, a.model, &a.train));
    size_t size;
    unsigned char *saved = tu_read_file(path, &size);
    long failures[3] = {0, 0, 0};
    for (long n = 0;; n++, failures[0]++) {
        seqgen_model *m = NULL;
        seqgen_train_state t = empty_state();
        t.batches = a.train.batches;
        sg_alloc_fail_after(n);
        int status = seqgen_checkpoint_load_training(path, &m, &t);
        int reached = !sg_alloc_fail_pending();
        sg_alloc_fail_after(-1);
        if (!reached) {
            assert_ok(status);
            assert_same_model(a.model, m);
            seqgen_model_free(m);
            seqgen_optim_free(t.optim);
            seqgen_sched_free(t.sched);
            break;
        }
        assert_fails_with(status, SEQGEN_ENOMEM, "");
        assert_true(!m && !t.optim && !t.sched && t.iteration == 0);
    }
    for (long n = 0;; n++, failures[1]++) {
        sg_alloc_fail_after(n);
        int status = seqgen_checkpoint_save(path, a.model, &a.train);
        int reached = !sg_alloc_fail_pending();
        sg_alloc_fail_after(-1);
        if (!reached) {
            assert_ok(status);
            break;
        }
        assert_fails_with(status, SEQGEN_ENOMEM, "");
        size_t now_size;
        unsigned char *now = tu_read_file(path, &now_size); /* the old file, untouched */
        assert_int_equal(now_size, size);
        assert_memory_equal(now, saved, size);
        free(now);
    }
    for (long n = 0;; n++, failures[2]++) {
        seqgen_checkpoint_info info;
        sg_alloc_fail_after(n);
        int status = seqgen_checkpoint_inspect(path, &info);
        int reached = !sg_alloc_fail_pending();
        sg_alloc_fail_after(-1);
        if (!reached) {
            assert_ok(status);
            break;
        }
        assert_fails_with(status, SEQGEN_ENOMEM, "");
    }
    print_message("    allocation failures injected: %ld in load_training, %ld in save, %ld in "
                  "inspect\n", failures[0], failures[1], failures[2]);
    assert_int_equal(count_entries(dir), 1); /* no temporary file left */
    free(saved);
    free_training(&a);
    seqgen_dataset_free(ds);
    tu_rmtree(dir);
}

/* ---- Exact resume ---------------------------------------------------------------------------- */

/* The training loop of a program: scheduled sampling, Adam, epochs of shuffled digits. */
static void train_until(seqgen_model *m, seqgen_train_state *t, uint64_t iterations)
{
    size_t T = seqgen_batch_iter_steps(t->batches);
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = SEQGEN_LOSS_BCE;
    while (t->iteration < iterations) {
        const float *x;
        size_t n;
        int status = seqgen_batch_iter_next(t->batches, &x, &n);
        if (status == SEQGEN_DONE) {
            t->epoch++;
            continue;
        }
        assert_ok(status);
        opts.teacher_prob = seqgen_sched_p(t->sched, t->iteration, t->epoch);
        seqgen_train_stats stats;
        assert_ok(seqgen_model_forward_backward(m, TU_SEQUENCES(m, x, (int)n, (int)T), &opts, NULL,
                                                &stats));
        assert_ok(seqgen_optim_step(t->optim, m));
        t->iteration++;
    }
}

static void start_run(seqgen_dataset *ds, seqgen_model **m, seqgen_train_state *t)
{
    *m = new_model(16, 8, 2, 21);
    seqgen_optim_config cfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    cfg.lr = 1e-2;
    *t = (seqgen_train_state){NULL, new_sched(1.5), new_iter(ds, 16, 77), 0, 0,
                              run_for(ds, 16, 77), NULL, NULL};
    assert_ok(seqgen_optim_create(&t->optim, *m, &cfg));
}

static void stop_run(seqgen_model *m, seqgen_train_state *t)
{
    seqgen_model_free(m);
    seqgen_optim_free(t->optim);
    seqgen_sched_free(t->sched);
    seqgen_batch_iter_free(t->batches);
}

static void resumed_run_matches_straight_run(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "resume.ckpt");
    seqgen_dataset *ds = open_digits(36); /* 5 batches of 8 per epoch, the last of 4 */
    const uint64_t stop = 7, end = 16;    /* stop mid-epoch 1, end in epoch 3 */

    pid_t child = fork(); /* the first part runs and saves in another process */
    assert_true(child >= 0);
    if (child == 0) {
        seqgen_model *m;
        seqgen_train_state t;
        start_run(ds, &m, &t);
        train_until(m, &t, stop);
        int status = seqgen_checkpoint_save(path, m, &t);
        stop_run(m, &t);
        seqgen_dataset_free(ds);
        _exit(status == SEQGEN_OK ? 0 : 1);
    }
    int wstatus;
    assert_int_equal(waitpid(child, &wstatus, 0), child);
    assert_true(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);

    seqgen_model *straight;
    seqgen_train_state s;
    start_run(ds, &straight, &s);
    train_until(straight, &s, end);

    seqgen_model *resumed = NULL;
    seqgen_train_state r = empty_state();
    r.batches = saved_iter(ds, path); /* as a program resuming from the file alone */
    assert_ok(seqgen_checkpoint_load_training(path, &resumed, &r));
    assert_int_equal(r.iteration, stop);
    assert_int_equal(r.epoch, 1);
    train_until(resumed, &r, end);

    assert_same_model(straight, resumed);
    assert_same_optim(s.optim, r.optim);
    assert_same_sched(s.sched, r.sched);
    assert_int_equal(r.epoch, s.epoch);
    assert_true(seqgen_sched_p(s.sched, s.iteration, s.epoch) < 1.0); /* it mixed outputs in */
    stop_run(straight, &s);
    stop_run(resumed, &r);
    seqgen_dataset_free(ds);
    tu_rmtree(dir);
}

/* ---- Professor forcing's state (PFDC) ------------------------------------------------------ */

/* Professor-forcing steps [from, to) with optimiser steps, on batches of the test's own. */
static void professor_steps(seqgen_model *m, seqgen_optim *o, seqgen_professor *pf, int from,
                            int to)
{
    const int D = seqgen_model_get_config(m).units_per_step, B = 3, length = 7;
    const size_t lengths[] = {7, 4, 6};
    float x[3 * 7 * 2];
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = SEQGEN_LOSS_BCE;
    for (int s = from; s < to; s++) {
        random_pixels(x, (size_t)(B * length * D), 100 + (uint64_t)s);
        seqgen_professor_stats st;
        assert_ok(seqgen_professor_step(pf, m, x, B, length, lengths, &opts, &st));
        assert_int_equal(st.passed, 1);
        assert_ok(seqgen_optim_step(o, m));
    }
}

static seqgen_professor *new_professor(seqgen_model *m, int hidden, double lambda,
                                       uint64_t seed)
{
    seqgen_professor_config c = seqgen_professor_config_default(m);
    c.lambda = lambda, c.given = 3, c.band_low = 0.0, c.band_high = 1.0, c.seed = seed;
    c.disc.hidden = hidden, c.disc.layers = 2, c.disc.mlp_hidden = 3, c.disc.seed = seed;
    seqgen_professor *pf = NULL;
    assert_ok(seqgen_professor_create(&pf, m, &c));
    return pf;
}

/* Every parameter of both networks, the discriminator's optimiser and the sampling generator. */
static void assert_same_professor(seqgen_professor *a, seqgen_professor *b)
{
    const size_t n = seqgen_discriminator_param_count(sg_professor_disc(a));
    assert_int_equal(n, seqgen_discriminator_param_count(sg_professor_disc(b)));
    assert_memory_equal(sg_disc_params(sg_professor_disc(a)),
                        sg_disc_params(sg_professor_disc(b)), n * sizeof(float));
    assert_same_optim(sg_professor_optim(a), sg_professor_optim(b));
    assert_memory_equal(sg_professor_rng(a), sg_professor_rng(b), sizeof(sg_rng));
    seqgen_professor_config ca = seqgen_professor_get_config(a);
    seqgen_professor_config cb = seqgen_professor_get_config(b);
    assert_true(ca.lambda == cb.lambda && ca.given == cb.given && ca.band_low == cb.band_low &&
                ca.band_high == cb.band_high && ca.seed == cb.seed);
}

/* k steps, save, k more; against: load into fresh handles (and into existing ones of other
 * seeds), k more: every parameter of generator and discriminator bit for bit. */
static void professor_resumes_bit_identically(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    const char *path = path_in(dir, "pf.ckpt");
    seqgen_model *m = new_model(2, 5, 1, 4);
    seqgen_optim *o = NULL;
    seqgen_optim_config oc = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    assert_ok(seqgen_optim_create(&o, m, &oc));
    seqgen_professor *pf = new_professor(m, 4, 0.5, 6);
    professor_steps(m, o, pf, 0, 3);
    seqgen_train_state train = empty_state();
    train.optim = o, train.professor = pf, train.epoch = 1, train.iteration = 3;
    train.run.batches.units_per_step = 2;
    assert_ok(seqgen_checkpoint_save(path, m, &train));
    seqgen_checkpoint_info info;
    assert_ok(seqgen_checkpoint_inspect(path, &info));
    assert_int_equal(info.version, 7);
    assert_int_equal(info.has_professor, 1);
    assert_true(info.professor.lambda == 0.5 && info.professor.given == 3);
    assert_int_equal(info.professor.disc.hidden, 4);
    professor_steps(m, o, pf, 3, 6);

    for (int existing = 0; existing < 2; existing++) {
        seqgen_model *back = existing ? new_model(2, 5, 1, 4) : NULL; /* the seed is config */
        seqgen_train_state into = empty_state();
        if (existing) {
            sg_model_params_for_write(back)[0] += 1.0f;
            assert_ok(seqgen_optim_create(&into.optim, back, &oc));
            into.professor = new_professor(back, 4, 2.0, 77);
        }
        assert_ok(seqgen_checkpoint_load_training(path, &back, &into));
        assert_non_null(into.professor);
        professor_steps(back, into.optim, into.professor, 3, 6);
        assert_same_model(m, back);
        assert_same_professor(pf, into.professor);
        seqgen_model_free(back);
        seqgen_optim_free(into.optim);
        seqgen_professor_free(into.professor);
    }

    /* a trainer of another shape, or one the file does not hold, is refused; nothing changes */
    seqgen_model *other = new_model(2, 5, 1, 99);
    seqgen_train_state into = empty_state();
    into.professor = new_professor(other, 6, 1.0, 1);
    const float before = sg_disc_params(sg_professor_disc(into.professor))[0];
    assert_fails_with(seqgen_checkpoint_load_training(path, &other, &into), SEQGEN_EMISMATCH,
                      "the trainer's discriminator has F = 7, H_d = 6");
    assert_true(sg_disc_params(sg_professor_disc(into.professor))[0] == before);
    seqgen_professor_free(into.professor);
    seqgen_model *split = new_model(1, 6, 1, 99); /* H + D = 7 too, split otherwise */
    into.professor = new_professor(split, 4, 1.0, 1);
    assert_fails_with(seqgen_checkpoint_load_training(path, &other, &into), SEQGEN_EMISMATCH,
                      "the trainer was made for D = 1, H = 6 but the checkpoint's model has "
                      "D = 2, H = 5");
    seqgen_model_free(split);
    train.professor = NULL;
    const char *plain = path_in(dir, "plain.ckpt");
    assert_ok(seqgen_checkpoint_save(plain, m, &train));
    assert_fails_with(seqgen_checkpoint_load_training(plain, &other, &into), SEQGEN_EMISMATCH,
                      "a professor-forcing trainer was given but the checkpoint holds none");
    seqgen_professor_free(into.professor);
    seqgen_model_free(other);

    /* the section's values out of range, each named (the CRCs made right again) */
    size_t size;
    unsigned char *data = tu_read_file(path, &size);
    unsigned char *pfdc = find_section(data, size, "PFDC");
    const uint64_t P = get_le(pfdc + 144, 8);
    const struct {
        size_t at;
        int bytes;
        uint64_t value;
        int status;
        const char *detail;
    } cases[] = {
        {0, 8, 0xbff0000000000000u, SEQGEN_ERANGE, "lambda must be finite and >= 0, got -1"},
        {12, 8, 0x4000000000000000u, SEQGEN_ERANGE, "accuracy band [2, 1] is not within"},
        {36, 4, 9, SEQGEN_EMISMATCH, "a discriminator of 9 features for a model of H + D = 7"},
        {44, 4, 0, SEQGEN_ERANGE, "discriminator layers must be in [1, 9], got 0"},
        {68, 8, 2, SEQGEN_ERANGE, "the sampling generator has an even increment"},
        {76, 4, 5, SEQGEN_ERANGE, "optimiser kind is 5"},
        {144, 8, 0, SEQGEN_EOVERFLOW, "parameter count 0"},
        {152, 4, 0x7fc00000u, SEQGEN_ERANGE, "discriminator parameter 0 is nan"},
        {152 + 8 * P + 4, 4, 0xbf800000u, SEQGEN_ERANGE, "discriminator second moment 1 is -1"},
    };
    const char *bad = path_in(dir, "bad.ckpt");
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        unsigned char *copy = malloc(size);
        assert_non_null(copy);
        memcpy(copy, data, size);
        unsigned char *at = copy + (pfdc - data);
        le(at + cases[k].at, cases[k].value, cases[k].bytes);
        refresh_crcs(copy, size, at);
        write_variant(bad, copy, size);
        seqgen_model *none = NULL;
        assert_fails_with(seqgen_checkpoint_load_model(&none, bad), cases[k].status,
                          cases[k].detail);
        seqgen_train_state t = empty_state();
        assert_fails_with(seqgen_checkpoint_load_training(bad, &none, &t), cases[k].status,
                          cases[k].detail);
        assert_true(!none && !t.professor && !t.optim);
        free(copy);
    }
    long failures = 0; /* every allocation of the load, made to fail in turn: nothing kept */
    for (long n = 0;; n++, failures++) {
        seqgen_model *none = NULL;
        seqgen_train_state t = empty_state();
        sg_alloc_fail_after(n);
        int status = seqgen_checkpoint_load_training(path, &none, &t);
        int reached = !sg_alloc_fail_pending();
        sg_alloc_fail_after(-1);
        if (!reached) {
            assert_ok(status);
            assert_non_null(t.professor);
            seqgen_model_free(none);
            seqgen_optim_free(t.optim);
            seqgen_professor_free(t.professor);
            break;
        }
        assert_fails_with(status, SEQGEN_ENOMEM, "");
        assert_true(!none && !t.optim && !t.professor);
    }
    assert_true(failures > 5);
    le(data + 8, 6, 4); /* the section in a file of version 6 */
    refresh_file_crc(data, size);
    write_variant(bad, data, size);
    seqgen_model *none = NULL;
    assert_fails_with(seqgen_checkpoint_load_model(&none, bad), SEQGEN_EFORMAT,
                      "professor forcing's state in a file of format 6 (version 7 on)");
    free(data);
    seqgen_model_free(m);
    seqgen_optim_free(o);
    seqgen_professor_free(pf);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_round_trip),
        cmocka_unit_test(hand_built_file_loads),
        cmocka_unit_test(library_file_follows_the_spec),
        cmocka_unit_test(full_state_round_trip),
        cmocka_unit_test(resume_refuses_mismatched_handles_and_changes_nothing),
        cmocka_unit_test(every_truncation_is_refused),
        cmocka_unit_test(every_bit_flip_is_refused),
        cmocka_unit_test(bad_contents_each_have_their_message),
        cmocka_unit_test(bad_moments_are_refused),
        cmocka_unit_test(run_config_round_trip),
        cmocka_unit_test(run_fields_out_of_range_are_refused),
        cmocka_unit_test(start_step_is_saved_and_checked),
        cmocka_unit_test(steps_are_saved_and_checked),
        cmocka_unit_test(version_3_loads_and_vocab_is_checked),
        cmocka_unit_test(ar_head_is_saved_and_checked),
        cmocka_unit_test(made_head_is_saved_and_checked),
        cmocka_unit_test(vocabulary_is_saved_and_checked),
        cmocka_unit_test(mismatching_iterator_is_refused_naming_the_field),
        cmocka_unit_test(symbol_run_resumes_bit_identically),
        cmocka_unit_test(symbol_iterator_mismatch_is_refused),
        cmocka_unit_test(version_5_reads_as_units),
        cmocka_unit_test(version_1_is_refused_naming_it),
        cmocka_unit_test(professor_resumes_bit_identically),
        cmocka_unit_test(training_sections_come_together),
        cmocka_unit_test(every_allocation_failure_is_clean),
        cmocka_unit_test(killed_saves_leave_old_or_new),
        cmocka_unit_test(failed_saves_leave_the_old_file),
        cmocka_unit_test(non_regular_files_are_refused),
        cmocka_unit_test(full_disk_leaves_the_old_file),
        cmocka_unit_test(resumed_run_matches_straight_run),
    };
    return cmocka_run_group_tests_name("checkpoint", tests, NULL, NULL);
}
