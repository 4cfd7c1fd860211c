/* Each section of a checkpoint (docs/checkpoint-format.md): encoding a whole file, and decoding
 * it into plain values (checkpoint_sections.c), for checkpoint.c's public save / load / inspect
 * functions and their all-or-nothing commits. */
#ifndef SEQGEN_CHECKPOINT_SECTIONS_H
#define SEQGEN_CHECKPOINT_SECTIONS_H

#include "sections.h"
#include "rng.h"
#include "schedule.h"
#include "seqgen.h"

#define SG_TAG_MODEL SG_TAG('M', 'O', 'D', 'L')
#define SG_TAG_TENSOR SG_TAG('T', 'E', 'N', 'S')
#define SG_TAG_RNGS SG_TAG('R', 'N', 'G', 'S')
#define SG_TAG_OPTIM SG_TAG('O', 'P', 'T', 'M')
#define SG_TAG_MOMENT SG_TAG('M', 'O', 'M', 'T')
#define SG_TAG_SCHED SG_TAG('S', 'C', 'H', 'D')
#define SG_TAG_ITER SG_TAG('I', 'T', 'E', 'R')
#define SG_TAG_PROGRESS SG_TAG('P', 'R', 'O', 'G')
#define SG_TAG_INFO SG_TAG('I', 'N', 'F', 'O')
#define SG_TAG_RUN SG_TAG('R', 'U', 'N', 'C')
#define SG_TAG_VOCAB SG_TAG('V', 'O', 'C', 'B')
#define SG_TAG_PROFESSOR SG_TAG('P', 'F', 'D', 'C')

/* Everything but the tensors, checked for range; the tensors stay in the file until built. */
typedef struct sg_ckpt_contents {
    const sg_section_file *file;
    seqgen_model_config model;
    uint64_t param_count;
    int has_rngs, has_init_rng;
    sg_rng init_rng, mix_rng;
    int has_optim;
    seqgen_optim_config optim;
    uint64_t optim_steps;
    int has_sched;
    seqgen_sched_config sched;
    int has_iter;
    uint64_t iter_epoch, iter_position;
    int has_progress;
    uint64_t epoch, iteration;
    int has_run;
    seqgen_run_config run;
    const sg_section *vocab; /* the VOCB section, checked, or NULL */
    uint32_t vocab_count;    /* its code points: V - 1 */
    int has_professor;       /* the PFDC section (version 7 on), checked */
    seqgen_professor_config professor;
    sg_rng professor_rng;
    uint64_t professor_optim_steps;
    uint64_t professor_params;              /* P of its discriminator */
    const unsigned char *professor_floats;  /* [3P] f32: parameters, first and second moments */
} sg_ckpt_contents;

/* Builds the whole file in `w` (initialised by the caller); `vocab` may be NULL. */
int sg_ckpt_encode(sg_section_writer *w, const seqgen_model *model,
                   const seqgen_train_state *train, const seqgen_vocab *vocab);

/* Decodes and checks every section except the tensors' data. */
int sg_ckpt_decode(const sg_section_file *file, sg_ckpt_contents *contents);

/* A new model from the contents: its configuration, every TENS tensor, its generators. */
int sg_ckpt_build_model(const sg_ckpt_contents *contents, seqgen_model **out);

/* A new optimiser for `model` from the contents: settings, step count, every MOMT tensor. */
int sg_ckpt_build_optim(const sg_ckpt_contents *contents, const seqgen_model *model,
                        seqgen_optim **out);

/* A new professor-forcing trainer for `model` from the contents' PFDC section (which must be
 * there): settings, discriminator, its optimiser, the sampling generator. */
int sg_ckpt_build_professor(const sg_ckpt_contents *contents, const seqgen_model *model,
                            seqgen_professor **out);

/* A new vocabulary from the contents' VOCB section (which must be there). */
int sg_ckpt_build_vocab(const sg_ckpt_contents *contents, seqgen_vocab **out);

#endif
