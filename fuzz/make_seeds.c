/* Writes the seed corpora fuzz/corpus/fuzz_idx and fuzz/corpus/fuzz_checkpoint: small valid
 * files (plain and gzip IDX files, a dataset pair, model and training checkpoints written by the
 * library: format version 3, the training ones with their run's setup; a training checkpoint of
 * a text run, format version 6; training checkpoints of models with the linear autoregressive
 * head and with the MADE head, format version 7), each behind the control byte its harness expects (see
 * fuzz_idx.c and fuzz_checkpoint.c). Run from the repository root after `make`:
 *     cc -std=c11 -Iinclude fuzz/make_seeds.c lib/libseqgen.a $(pkg-config --libs openblas) \
 *        -lz -lm -pthread -o /tmp/make_seeds && /tmp/make_seeds
 * `/tmp/make_seeds text` writes only the text run's seeds, `/tmp/make_seeds ar` only the
 * linear autoregressive head's, `/tmp/make_seeds made` only the MADE head's, `/tmp/make_seeds professor` only professor forcing's (format version
 * 7); the others were written by libseqgen 0.3, and are kept as version 3 files.
 * Not part of the build: the seeds are committed, this records how they were made. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "seqgen.h"

static void die(const char *what)
{
    fprintf(stderr, "make_seeds: %s: %s\n", what, seqgen_last_error());
    exit(1);
}

static void write_seed(const char *dir, const char *name, uint8_t control, const void *data,
                       size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "fuzz/corpus/%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fputc(control, f) == EOF || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        die(path);
}

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die(path);
    uint8_t *data = malloc(1 << 20);
    *size = fread(data, 1, 1 << 20, f);
    fclose(f);
    return data;
}

/* An unsigned-byte IDX file in memory: magic, big-endian sizes, data. */
static size_t idx_bytes(uint8_t *out, unsigned ndims, const uint32_t *dims, const uint8_t *data)
{
    uint8_t *p = out;
    *p++ = 0, *p++ = 0, *p++ = 8, *p++ = (uint8_t)ndims;
    size_t n = 1;
    for (unsigned d = 0; d < ndims; d++) {
        for (int b = 3; b >= 0; b--)
            *p++ = (uint8_t)(dims[d] >> 8 * b);
        n *= dims[d];
    }
    memcpy(p, data, n);
    return (size_t)(p - out) + n;
}

static size_t gzip_bytes(uint8_t *out, size_t capacity, const uint8_t *in, size_t size)
{
    z_stream z = {0};
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        die("deflateInit2");
    z.next_in = (Bytef *)in, z.avail_in = (uInt)size;
    z.next_out = out, z.avail_out = (uInt)capacity;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        die("deflate");
    deflateEnd(&z);
    return z.total_out;
}

/* The 8 images of 2x2 and labels also built into fuzz_checkpoint.c. */
static const uint8_t tiny_pixels[32] = {0, 255, 0, 255, 255, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0,
                                        0, 255, 255, 0, 255, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255};
static const uint8_t tiny_labels[8] = {0, 1, 2, 3, 4, 5, 6, 7};

static void idx_seeds(void)
{
    uint8_t file[4096], packed[4096];
    uint32_t label_dims[1] = {8}, row_dims[2] = {4, 8}, image_dims[3] = {8, 2, 2};
    size_t n = idx_bytes(file, 1, label_dims, tiny_labels);
    write_seed("fuzz_idx", "labels", 0, file, n);
    write_seed("fuzz_idx", "labels-harness-gz", 4, file, n);
    write_seed("fuzz_idx", "labels-gz", 0, packed, gzip_bytes(packed, sizeof packed, file, n));
    n = idx_bytes(file, 2, row_dims, tiny_pixels);
    write_seed("fuzz_idx", "rows", 1, file, n);
    write_seed("fuzz_idx", "rows-harness-gz", 5, file, n);
    n = idx_bytes(file, 3, image_dims, tiny_pixels);
    write_seed("fuzz_idx", "images", 2, file, n);
    write_seed("fuzz_idx", "images-harness-gz", 6, file, n);
    size_t gz = gzip_bytes(packed, sizeof packed, file, n);
    write_seed("fuzz_idx", "images-gz", 2, packed, gz);
    write_seed("fuzz_idx", "images-gz-cut", 2, packed, gz - 6);

    /* Pairs: two length bytes, the labels file, the images file. */
    uint8_t pair[8192];
    size_t labels = idx_bytes(pair + 2, 1, label_dims, tiny_labels);
    pair[0] = (uint8_t)labels, pair[1] = 0;
    size_t images = idx_bytes(pair + 2 + labels, 3, image_dims, tiny_pixels);
    write_seed("fuzz_idx", "pair", 3, pair, 2 + labels + images);
    write_seed("fuzz_idx", "pair-harness-gz-images", 7, pair, 2 + labels + images);
    write_seed("fuzz_idx", "pair-harness-gz-both", 15, pair, 2 + labels + images);
    images = gzip_bytes(pair + 2 + labels, sizeof pair - 2 - labels, file, n);
    write_seed("fuzz_idx", "pair-images-gz", 3, pair, 2 + labels + images);
}

static void checkpoint_seed(const char *name, const char *path, int both_fixups)
{
    size_t size;
    uint8_t *data = slurp(path, &size);
    char seed[128];
    for (uint8_t control = 0; control < (both_fixups ? 8 : 4); control++) {
        snprintf(seed, sizeof seed, "%s-%u", name, control);
        write_seed("fuzz_checkpoint", seed, control, data, size);
    }
    free(data);
}

static void checkpoint_seeds(void)
{
    const char *path = "/tmp/seqgen-make-seeds.ckpt";
    seqgen_model_config mcfg = seqgen_model_config_default();
    mcfg.hidden = 4;
    mcfg.threads = 1;
    seqgen_model *model;
    if (seqgen_model_create(&model, &mcfg) != SEQGEN_OK)
        die("model");
    if (seqgen_checkpoint_save(path, model, NULL) != SEQGEN_OK)
        die("save model");
    checkpoint_seed("model-h4", path, 1);

    /* A training checkpoint after two steps, with every handle, over the tiny dataset. */
    uint8_t file[256];
    uint32_t label_dims[1] = {8}, image_dims[3] = {8, 2, 2};
    FILE *f = fopen("/tmp/seqgen-seeds-images", "wb");
    fwrite(file, 1, idx_bytes(file, 3, image_dims, tiny_pixels), f);
    fclose(f);
    f = fopen("/tmp/seqgen-seeds-labels", "wb");
    fwrite(file, 1, idx_bytes(file, 1, label_dims, tiny_labels), f);
    fclose(f);
    seqgen_dataset *ds;
    if (seqgen_dataset_open(&ds, "/tmp/seqgen-seeds-images", "/tmp/seqgen-seeds-labels") != SEQGEN_OK)
        die("dataset");
    seqgen_batch_config bcfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    bcfg.batch_size = 4;
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    seqgen_sched_config scfg = seqgen_sched_config_default(SEQGEN_SCHED_LINEAR);
    seqgen_train_state train = {NULL, NULL, NULL, 0, 0, seqgen_run_config_default(), NULL, NULL};
    train.run.batches = bcfg;
    train.run.train_sequences = 8;
    train.run.eval.given = 2;
    train.run.epochs = 3;
    strcpy(train.run.data_source, "fuzz/tiny");
    strcpy(train.run.test_source, "fuzz/tiny-test.npy");
    if (seqgen_optim_create(&train.optim, model, &ocfg) != SEQGEN_OK ||
        seqgen_sched_create(&train.sched, &scfg) != SEQGEN_OK ||
        seqgen_batch_iter_create(&train.batches, ds, &bcfg) != SEQGEN_OK)
        die("training handles");
    seqgen_train_options opts = seqgen_train_options_default();
    for (int i = 0; i < 2; i++) {
        const float *x;
        size_t count;
        if (seqgen_batch_iter_next(train.batches, &x, &count) != SEQGEN_OK ||
            seqgen_model_forward_backward(
                model, (const seqgen_batch[]){seqgen_batch_of_sequences(model, x, (int)count, 4)},
                &opts, NULL, NULL) != SEQGEN_OK ||
            seqgen_optim_step(train.optim, model) != SEQGEN_OK)
            die("training step");
        train.iteration++;
    }
    if (seqgen_checkpoint_save(path, model, &train) != SEQGEN_OK)
        die("save training");
    checkpoint_seed("training-h4", path, 1);
    seqgen_train_state optim_only = {train.optim, NULL, NULL, 0, 2, train.run, NULL, NULL};
    if (seqgen_checkpoint_save(path, model, &optim_only) != SEQGEN_OK)
        die("save optim only");
    checkpoint_seed("optim-only-h4", path, 0);
    seqgen_optim_free(train.optim);
    seqgen_sched_free(train.sched);
    seqgen_batch_iter_free(train.batches);
    seqgen_dataset_free(ds);
    seqgen_model_free(model);

    mcfg.units_per_step = 2, mcfg.hidden = 3, mcfg.layers = 2, mcfg.start_step = 1, mcfg.steps = 9;
    if (seqgen_model_create(&model, &mcfg) != SEQGEN_OK ||
        seqgen_checkpoint_save(path, model, NULL) != SEQGEN_OK)
        die("model d2 l2");
    checkpoint_seed("model-d2-h3-l2-start", path, 0);
    seqgen_model_free(model);
    remove(path);
    remove("/tmp/seqgen-seeds-images");
    remove("/tmp/seqgen-seeds-labels");
}

/* A categorical model trained one batch on 6 lines of "abcd" (the symbols of fuzz_checkpoint.c),
 * saved mid-epoch with its vocabulary, the symbol iterator's position and a run of text. */
static void text_checkpoint_seeds(void)
{
    const char *path = "/tmp/seqgen-make-seeds-text.ckpt";
    static const int32_t ids[6 * 4] = {1, 2, 3, 0, 2, 0, 0, 0, 4, 4, 1, 0,
                                       3, 1, 0, 0, 1, 0, 0, 0, 2, 3, 4, 0};
    static const size_t lengths[6] = {4, 2, 4, 3, 2, 4};
    static const uint32_t code_points[4] = {'a', 'b', 'c', 'd'};
    seqgen_symbol_sequences seqs = {ids, 6, 4, lengths, 5};
    seqgen_symbol_dataset *ds;
    seqgen_vocab *vocab;
    if (seqgen_symbol_dataset_from_memory(&ds, &seqs) != SEQGEN_OK ||
        seqgen_vocab_create(&vocab, code_points, 4) != SEQGEN_OK)
        die("text data");
    seqgen_model_config mcfg = seqgen_model_config_default();
    mcfg.vocab = 5, mcfg.embedding = 3, mcfg.hidden = 4, mcfg.threads = 1;
    mcfg.start_step = 1, mcfg.steps = 4;
    seqgen_model *model;
    if (seqgen_model_create(&model, &mcfg) != SEQGEN_OK)
        die("text model");
    seqgen_train_state train = {NULL, NULL, NULL, 0, 0, seqgen_run_config_default(), NULL, NULL};
    train.run.train.loss = SEQGEN_LOSS_CE;
    train.run.batches.batch_size = 4;
    train.run.train_sequences = 6;
    train.run.epochs = 3;
    train.run.data = SEQGEN_RUN_DATA_TEXT;
    train.run.data_checksum = seqgen_symbol_dataset_checksum(ds, 0);
    strcpy(train.run.data_source, "fuzz/tiny.txt");
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    if (seqgen_optim_create(&train.optim, model, &ocfg) != SEQGEN_OK ||
        seqgen_symbol_iter_create(&train.symbol_batches, ds, &train.run.batches) != SEQGEN_OK)
        die("text training handles");
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = SEQGEN_LOSS_CE;
    const int32_t *y;
    size_t count;
    seqgen_symbol_batch batch;
    if (seqgen_symbol_iter_next(train.symbol_batches, &y, &count) != SEQGEN_OK)
        die("text batch");
    batch = seqgen_symbol_batch_of_sequences(model, y, (int)count, 4);
    batch.lengths = seqgen_symbol_iter_lengths(train.symbol_batches);
    if (seqgen_model_forward_backward_symbols(model, &batch, &opts, NULL, NULL) != SEQGEN_OK ||
        seqgen_optim_step(train.optim, model) != SEQGEN_OK)
        die("text training step");
    train.iteration++;
    if (seqgen_checkpoint_save_with_vocab(path, model, &train, vocab) != SEQGEN_OK)
        die("save text training");
    checkpoint_seed("training-text", path, 1);
    seqgen_optim_free(train.optim);
    seqgen_symbol_iter_free(train.symbol_batches);
    seqgen_model_free(model);
    seqgen_vocab_free(vocab);
    seqgen_symbol_dataset_free(ds);
    remove(path);
}

/* One Adam step of a model of 3 units per step on a fixed batch, saved with the optimiser (the
 * moments of every tensor too) at path as the seeds NAME-*; frees the model. */
static void trained_head_seeds(seqgen_model *model, const char *name, const char *path)
{
    static const float x[2 * 4 * 3] = {0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1,
                                       1, 1, 0, 0, 1, 0, 1, 0, 1, 1, 1, 1};
    seqgen_train_state train = {NULL, NULL, NULL, 0, 1, seqgen_run_config_default(), NULL, NULL};
    train.run.batches.units_per_step = 3;
    train.run.train.loss = SEQGEN_LOSS_BCE;
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = SEQGEN_LOSS_BCE;
    seqgen_batch batch = seqgen_batch_of_sequences(model, x, 2, 4);
    if (seqgen_optim_create(&train.optim, model, &ocfg) != SEQGEN_OK ||
        seqgen_model_forward_backward(model, &batch, &opts, NULL, NULL) != SEQGEN_OK ||
        seqgen_optim_step(train.optim, model) != SEQGEN_OK ||
        seqgen_checkpoint_save(path, model, &train) != SEQGEN_OK)
        die(name);
    checkpoint_seed(name, path, 1);
    seqgen_optim_free(train.optim);
    seqgen_model_free(model);
    remove(path);
}

/* The linear autoregressive head (a strictly lower-triangular out.ar_weight, set by hand). */
static void ar_checkpoint_seeds(void)
{
    seqgen_model_config mcfg = seqgen_model_config_default();
    mcfg.units_per_step = 3, mcfg.hidden = 4, mcfg.threads = 1, mcfg.steps = 4;
    mcfg.head = SEQGEN_HEAD_LINEAR_AR;
    seqgen_model *model;
    static const float u[9] = {0, 0, 0, 0.5f, 0, 0, -0.25f, 1, 0};
    if (seqgen_model_create(&model, &mcfg) != SEQGEN_OK ||
        seqgen_model_set_tensor(model, "out.ar_weight", u, 9) != SEQGEN_OK)
        die("ar model");
    trained_head_seeds(model, "training-ar-d3", "/tmp/seqgen-make-seeds-ar.ckpt");
}

/* The MADE head (M 3: A and E masked, output kind 4 with M in MODL). */
static void made_checkpoint_seeds(void)
{
    seqgen_model_config mcfg = seqgen_model_config_default();
    mcfg.units_per_step = 3, mcfg.hidden = 4, mcfg.threads = 1, mcfg.steps = 4;
    mcfg.head = SEQGEN_HEAD_MADE_AR, mcfg.head_hidden = 3;
    seqgen_model *model;
    if (seqgen_model_create(&model, &mcfg) != SEQGEN_OK)
        die("made model");
    trained_head_seeds(model, "training-made-d3-m3", "/tmp/seqgen-make-seeds-made.ckpt");
}

/* A training checkpoint of professor forcing (format version 7, the PFDC section): D 1, H 4 with
 * Adam and a discriminator of H_d 3, K 2, M 2 after two steps on 4 sequences of 4 units, the
 * first unit given. */
static void professor_checkpoint_seeds(void)
{
    const char *path = "/tmp/seqgen-make-seeds-pf.ckpt";
    seqgen_model_config mcfg = seqgen_model_config_default();
    mcfg.hidden = 4;
    mcfg.threads = 1;
    seqgen_model *model;
    seqgen_train_state train = {NULL, NULL, NULL, 0, 0, seqgen_run_config_default(), NULL, NULL};
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    if (seqgen_model_create(&model, &mcfg) != SEQGEN_OK ||
        seqgen_optim_create(&train.optim, model, &ocfg) != SEQGEN_OK)
        die("professor model");
    seqgen_professor_config pcfg = seqgen_professor_config_default(model);
    pcfg.given = 1, pcfg.band_low = 0.0, pcfg.band_high = 1.0;
    pcfg.disc.hidden = 3, pcfg.disc.layers = 2, pcfg.disc.mlp_hidden = 2;
    if (seqgen_professor_create(&train.professor, model, &pcfg) != SEQGEN_OK)
        die("professor");
    const float x[16] = {0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 1, 0};
    for (int i = 0; i < 2; i++) {
        if (seqgen_professor_step(train.professor, model, x, 4, 4, NULL, NULL, NULL) !=
                SEQGEN_OK ||
            seqgen_optim_step(train.optim, model) != SEQGEN_OK)
            die("professor step");
        train.iteration++;
    }
    if (seqgen_checkpoint_save(path, model, &train) != SEQGEN_OK)
        die("save professor");
    checkpoint_seed("training-professor", path, 1);
    seqgen_professor_free(train.professor);
    seqgen_optim_free(train.optim);
    seqgen_model_free(model);
    remove(path);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "professor") == 0) {
        professor_checkpoint_seeds();
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "text") == 0) {
        text_checkpoint_seeds();
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "ar") == 0) {
        ar_checkpoint_seeds();
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "made") == 0) {
        made_checkpoint_seeds();
        return 0;
    }
    idx_seeds();
    checkpoint_seeds();
    text_checkpoint_seeds();
    ar_checkpoint_seeds();
    made_checkpoint_seeds();
    professor_checkpoint_seeds();
    return 0;
}
