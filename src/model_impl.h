/* The model's structure and one step of the whole network, for the files that compute with it:
 * model.c (the handle, tensors, generation states), train.c (the training pass) and complete.c
 * (batched completion). Other files go through model.h. */
#ifndef SEQGEN_MODEL_IMPL_H
#define SEQGEN_MODEL_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "gru.h"
#include "head.h"
#include "model.h"
#include "rng.h"
#include "seqgen.h"

/* Memory of the training passes (train.c lays it out and fills it; the model owns it and frees
 * it with free()). Grown to the largest pass seen, then reused: nothing is allocated per pass of
 * a size seen before. */
typedef struct sg_train_memory {
    int threads;      /* per-thread blocks allocated */
    size_t floats;    /* floats in each thread's block */
    float **blocks;   /* [threads] each thread's activations, gradients and scratch */
    sg_gru_weights *grad_layers; /* [threads][L] views of the GRU gradients in each block */
    void *workers;    /* [threads] train.c's per-thread state */
    sg_gru_packed *packed_layers; /* [L] views into packed, allocated with it */
    float *packed;    /* every layer's W_hh packed for the pass (both orientations) */
    float *uniforms;  /* [B][T][D] Bernoulli samples' uniforms ... */
    uint8_t *teacher; /* ... then [B][T] scheduled-sampling coins, in the same allocation */
    size_t mix_capacity; /* B * T the two above hold */
} sg_train_memory;

struct seqgen_model {
    seqgen_model_config cfg;
    uint64_t params_version; /* new at every write access to params, unique across models */
    size_t param_count;
    float *params; /* the one parameter buffer */
    float *grads;  /* the one gradient buffer, same layout */
    int tensor_count;
    sg_tensor *tensors; /* [4L + 2] in buffer order, one more with the embedding first, one
                           more with the autoregressive head's out.ar_weight, four more after
                           it with the MADE head's */
    sg_gru_weights *layer_params, *layer_grads; /* [L] views of each layer's tensors ... */
    sg_head_weights head, head_grads;           /* ... and of the head's, built once */
    float *embedding, *embedding_grads;         /* [V][E] views, NULL for binary units */
    sg_rng init_rng, mix_rng;
    sg_train_memory train;
};

/* Layer l's input size: D (E for symbols) for the first, H above. */
static inline int sg_model_layer_in(const seqgen_model *model, int layer)
{
    return layer > 0 ? model->cfg.hidden
                     : model->cfg.vocab ? model->cfg.embedding : model->cfg.units_per_step;
}

/* The head's kind and its logits per step: D units, or V symbols. */
static inline sg_head_kind sg_model_head_kind(const seqgen_model *model)
{
    return model->cfg.vocab                                ? SG_HEAD_CATEGORICAL
           : model->cfg.head == SEQGEN_HEAD_LINEAR_AR ? SG_HEAD_BERNOULLI_AR
           : model->cfg.head == SEQGEN_HEAD_MADE_AR   ? SG_HEAD_BERNOULLI_MADE
                                                           : SG_HEAD_BERNOULLI;
}

static inline int sg_model_outputs(const seqgen_model *model)
{
    return model->cfg.vocab ? model->cfg.vocab : model->cfg.units_per_step;
}

/* Fills layers [L] and head with the views of each tensor within `buffer`, a buffer in the
 * parameters' layout (the parameters, the gradients, a thread's gradients), and *embedding
 * (if not NULL) with the view of the embedding table, NULL for binary units. */
void sg_model_views(const seqgen_model *model, float *buffer, sg_gru_weights *layers,
                    sg_head_weights *head, float **embedding);

/* Frees the per-thread part of the training memory (blocks, their views, the workers) and
 * marks it empty; the packed weights and the coins stay. */
void sg_train_memory_free_threads(sg_train_memory *t);

/* Number of threads a pass uses (cfg.threads resolved, at least 1). */
int sg_model_thread_count(const seqgen_model *model);

/* Floats of the buffer sg_model_pack() fills, with or without the backward's orientation. */
size_t sg_model_packed_floats(const seqgen_model *model, int backward);

/* Packs every layer's W_hh from the current parameters into `buffer` (for the backward too if
 * `backward`); layers [L] receive the views. Call it whenever the parameters may have changed,
 * before the threads that read the views start. */
void sg_model_pack(const seqgen_model *model, int backward, float *buffer, sg_gru_packed *layers);

/* Every layer's W_hh packed for the forward's products, in one allocation of its own (the [L]
 * views, then the floats they point into), for calls that step a const model on several
 * threads (completion, generation); NULL if out of memory. Free it with free(). */
sg_gru_packed *sg_model_pack_copy(const seqgen_model *model);

/* Where one step of the network reads and writes for `rows` sequences: x [rows][in_0] is the
 * step's input (units, or the symbols' embedding rows); layer l's previous and new states are [rows][H] at h_prev + l * h_stride and
 * h_next + l * h_stride; its gates, if gates is not NULL, [rows][4H] at gates + l * gates_stride
 * (kept for backward); logits [rows][O] receives the head's output, or is NULL to skip it (with
 * the autoregressive head, the part of the logits that does not depend on the step's own units,
 * to be completed by sg_head_ar_logit() as its units are decoded). */
typedef struct sg_step_io {
    const float *x;
    const float *h_prev;
    float *h_next;
    size_t h_stride;
    float *gates;
    size_t gates_stride;
    float *logits;
} sg_step_io;

/* A block of at most `rows` sequences stepped through the network one step at a time
 * (completion, generation): the hidden states of every layer, current and next, the step's
 * input (D units, or E embedding values for symbols) and logits (D or V), the MADE head's
 * hidden units, and the GRU step's scratch, laid out in one buffer of sg_rollout_floats() floats. */
typedef struct sg_rollout {
    float *h[2];    /* [L][rows][H] each */
    float *x;       /* [rows][D or E] */
    float *logits;  /* [rows][D or V] */
    float *made;    /* [rows][M] the MADE head's hidden layer (sg_head_ar_logit), else NULL */
    sg_gru_scratch scratch;
} sg_rollout;

size_t sg_rollout_floats(const seqgen_model *model, int rows);
void sg_rollout_lay_out(const seqgen_model *model, int rows, float *buffer, sg_rollout *r);

/* One step of the whole network: every layer's GRU step from the bottom, then the output head.
 * The one place a step is written: training with scheduled sampling, completion and
 * seqgen_model_step() all call it. */
void sg_model_step_forward(const seqgen_model *model, const sg_gru_packed *packed, int rows,
                           const sg_step_io *io, const sg_gru_scratch *scratch);

#endif
