/* libFuzzer harness for the checkpoint loaders: seqgen_checkpoint_load_model(),
 * seqgen_checkpoint_inspect() and seqgen_checkpoint_load_training() (creating every handle, or
 * restoring existing ones including a batch iterator).
 *
 * Input: one control byte, then the file. Control & 3 picks the loader (0 load_model, 1 inspect,
 * 2 load_training creating handles, 3 load_training into existing handles, as a program resumes:
 * the batch iterator made from the run's setup that inspect reads, when the tiny dataset can
 * take it, else from a fixed configuration; a symbol iterator over tiny symbols and a
 * categorical model when the run's data is symbols or text). With control & 4 the
 * harness first makes the file's sizes and CRC-32s consistent (file size in the header, each
 * section's CRC, the trailer's CRC), so that mutations reach the section decoders instead of
 * stopping at the checksums. Crashes, leaks and sanitizer reports are the findings. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz_file.h"
#include "seqgen.h"

#define HEADER_SIZE 24u
#define SECTION_HEAD 20u
#define TRAILER_SIZE 4u

static fuzz_file checkpoint, images, labels;
static seqgen_dataset *dataset; /* 8 images of 2x2, as the seed corpus's training checkpoints */
static seqgen_symbol_dataset *symbols; /* 6 lines of V = 5, as the seed corpus's text ones */

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> 8 * i);
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Rewrites the header's file size and every CRC the format has (docs/checkpoint-format.md). */
static void make_consistent(uint8_t *file, size_t size)
{
    if (size < HEADER_SIZE + TRAILER_SIZE)
        return;
    for (int i = 0; i < 8; i++)
        file[16 + i] = (uint8_t)((uint64_t)size >> 8 * i);
    size_t end = size - TRAILER_SIZE, at = HEADER_SIZE;
    while (end - at >= SECTION_HEAD) {
        uint64_t length = get_u64(file + at + 8);
        if (length > end - at - SECTION_HEAD)
            break;
        uLong crc = crc32(0L, file + at, 16);
        crc = crc32(crc, file + at + SECTION_HEAD, (uInt)length);
        put_u32(file + at + 16, (uint32_t)crc);
        at += SECTION_HEAD + (size_t)length;
    }
    put_u32(file + end, (uint32_t)crc32(0L, file, (uInt)end));
}

static void write_tiny_dataset(void)
{
    static const uint8_t image_file[] = {0, 0, 8, 3, 0, 0, 0, 8, 0, 0, 0, 2, 0, 0, 0, 2,
                                         0, 255, 0, 255, 255, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0,
                                         0, 255, 255, 0, 255, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255};
    static const uint8_t label_file[] = {0, 0, 8, 1, 0, 0, 0, 8, 0, 1, 2, 3, 4, 5, 6, 7};
    fuzz_file_set(&images, image_file, sizeof image_file);
    fuzz_file_set(&labels, label_file, sizeof label_file);
    if (seqgen_dataset_open(&dataset, images.path, labels.path) != SEQGEN_OK)
        abort();
}

/* The lines of fuzz/make_seeds.c's text checkpoints: ids of "abcd", each line ending with 0. */
static void make_tiny_symbols(void)
{
    static const int32_t ids[6 * 4] = {1, 2, 3, 0, 2, 0, 0, 0, 4, 4, 1, 0,
                                       3, 1, 0, 0, 1, 0, 0, 0, 2, 3, 4, 0};
    static const size_t lengths[6] = {4, 2, 4, 3, 2, 4};
    seqgen_symbol_sequences seqs = {ids, 6, 4, lengths, 5};
    if (seqgen_symbol_dataset_from_memory(&symbols, &seqs) != SEQGEN_OK)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_file_open(&checkpoint, "fuzz-checkpoint");
    fuzz_file_open(&images, "fuzz-images");
    fuzz_file_open(&labels, "fuzz-labels");
    write_tiny_dataset();
    make_tiny_symbols();
    return 0;
}

static void expect_detail(int status)
{
    if (status < 0 && seqgen_last_error()[0] == '\0')
        abort();
}

/* A loaded model must be usable: one generation step; with an autoregressive head, which the
 * step function refuses, the completion of one short sequence from nothing. */
static void step_once(const seqgen_model *model)
{
    seqgen_model_config cfg = seqgen_model_get_config(model);
    if (cfg.head != SEQGEN_HEAD_INDEPENDENT) {
        const long long steps = cfg.steps ? cfg.steps : 2;
        float sequence[64] = {0}, completed[64];
        if (steps * cfg.units_per_step <= 64 &&
            seqgen_complete(model, sequence, 1, (int)steps, NULL, 0, NULL, completed, NULL) !=
                SEQGEN_OK)
            abort();
        return;
    }
    seqgen_model_state *state = NULL;
    if (seqgen_model_state_create(&state, model, 1) != SEQGEN_OK)
        return;
    float input[64] = {0}, logits[64], probs[64];
    const int32_t symbol = 0;
    if (cfg.vocab ? cfg.vocab <= 64 &&
                        seqgen_model_step_symbols(model, state, &symbol, logits, probs) != SEQGEN_OK
                  : cfg.units_per_step <= 64 &&
                        seqgen_model_step(model, state, input, logits, probs) != SEQGEN_OK)
        abort();
    seqgen_model_state_free(state);
}

static void load_model(void)
{
    seqgen_model *model = NULL;
    int status = seqgen_checkpoint_load_model(&model, checkpoint.path);
    expect_detail(status);
    if (status == SEQGEN_OK) {
        step_once(model);
        seqgen_model_free(model);
    }
}

static void inspect(void)
{
    seqgen_checkpoint_info info;
    expect_detail(seqgen_checkpoint_inspect(checkpoint.path, &info));
}

static void free_training(seqgen_model *model, seqgen_train_state *train)
{
    seqgen_model_free(model);
    seqgen_optim_free(train->optim);
    seqgen_sched_free(train->sched);
    seqgen_batch_iter_free(train->batches);
    seqgen_symbol_iter_free(train->symbol_batches);
    seqgen_professor_free(train->professor);
}

static void load_training_created(void)
{
    seqgen_model *model = NULL;
    seqgen_train_state train = {NULL, NULL, NULL, 0, 0, seqgen_run_config_default(), NULL, NULL};
    int status = seqgen_checkpoint_load_training(checkpoint.path, &model, &train);
    expect_detail(status);
    if (status == SEQGEN_OK)
        step_once(model);
    free_training(model, &train);
}

/* Into the handles of the seed corpus's training checkpoints (D = 1, H = 4, L = 1; for text,
 * V = 5, E = 3, a start step, steps 4, and no schedule). */
static void load_training_existing(void)
{
    seqgen_model_config mcfg = seqgen_model_config_default();
    mcfg.hidden = 4;
    mcfg.threads = 1;
    seqgen_checkpoint_info info;
    const int text = seqgen_checkpoint_inspect(checkpoint.path, &info) == SEQGEN_OK &&
                     info.has_training && info.has_symbol_batches;
    if (text)
        mcfg.vocab = 5, mcfg.embedding = 3, mcfg.start_step = 1, mcfg.steps = 4;
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    seqgen_sched_config scfg = seqgen_sched_config_default(SEQGEN_SCHED_LINEAR);
    seqgen_batch_config bcfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    bcfg.batch_size = 4;
    seqgen_model *model = NULL;
    seqgen_train_state train = {NULL, NULL, NULL, 0, 0, seqgen_run_config_default(), NULL, NULL};
    if (text && seqgen_symbol_iter_create(&train.symbol_batches, symbols, &info.run.batches) !=
                    SEQGEN_OK)
        train.symbol_batches = NULL; /* a configuration the tiny symbols cannot take */
    else if (!text && seqgen_checkpoint_inspect(checkpoint.path, &info) == SEQGEN_OK &&
             info.has_training &&
             seqgen_batch_iter_create(&train.batches, dataset, &info.run.batches) != SEQGEN_OK)
        train.batches = NULL; /* a configuration the tiny dataset cannot take */
    if (seqgen_model_create(&model, &mcfg) != SEQGEN_OK ||
        seqgen_optim_create(&train.optim, model, &ocfg) != SEQGEN_OK ||
        (!text && seqgen_sched_create(&train.sched, &scfg) != SEQGEN_OK) || /* text: none */
        (text && !train.symbol_batches &&
         seqgen_symbol_iter_create(&train.symbol_batches, symbols, &bcfg) != SEQGEN_OK) ||
        (!text && !train.batches &&
         seqgen_batch_iter_create(&train.batches, dataset, &bcfg) != SEQGEN_OK))
        abort();
    if (!text && info.has_training && info.has_professor &&
        seqgen_professor_create(&train.professor, model, &info.professor) != SEQGEN_OK)
        train.professor = NULL; /* a shape this model cannot take: the load refuses the file */
    int status = seqgen_checkpoint_load_training(checkpoint.path, &model, &train);
    expect_detail(status);
    if (status == SEQGEN_OK)
        step_once(model);
    free_training(model, &train);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned control = data[0];
    size_t file_size = size - 1;
    uint8_t *file = malloc(file_size ? file_size : 1);
    if (!file)
        return 0;
    memcpy(file, data + 1, file_size);
    if (control & 4)
        make_consistent(file, file_size);
    fuzz_file_set(&checkpoint, file, file_size);
    free(file);
    switch (control & 3) {
    case 0: load_model(); break;
    case 1: inspect(); break;
    case 2: load_training_created(); break;
    default: load_training_existing(); break;
    }
    return 0;
}
