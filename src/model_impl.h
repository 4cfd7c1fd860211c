/* The model's structure, shared by the files that compute with it: model.c (handle, tensors,
 * generation), train.c (the threaded training pass) and complete.c (batched completion). Other
 * files go through model.h. */
#ifndef SEQGEN_MODEL_IMPL_H
#define SEQGEN_MODEL_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "gru.h"
#include "rng.h"
#include "seqgen.h"

#define SG_TENSOR_NAME_MAX 24

typedef struct sg_tensor {
    char name[SG_TENSOR_NAME_MAX];
    size_t offset; /* in floats, into the parameter and gradient buffers */
    int rows, cols; /* cols = 1 for biases */
} sg_tensor;

/* One thread's slice of a training pass and its workspace (see train.c). */
typedef struct sg_worker sg_worker;

struct seqgen_model {
    seqgen_model_config cfg;
    size_t param_count;
    float *params; /* the one parameter buffer */
    float *grads;  /* the one gradient buffer, same layout */
    uint64_t params_version; /* new at every write access to params, unique across models */
    int tensor_count;
    sg_tensor *tensors;
    sg_rng init_rng, mix_rng;

    /* Training workspace: one block per thread, grown to the largest pass seen. */
    int ws_threads;
    size_t ws_floats; /* floats in each thread's block */
    sg_worker *workers;
    float *packed_memory;  /* every layer's W_hh packed for a pass (sg_model_pack) */
    sg_gru_packed *packed; /* [L] views into it, filled at the start of each pass */
    uint8_t *teacher; /* [B][T] mixing coins */
    float *uniforms;  /* [B][T][D] Bernoulli samples' uniforms */
    size_t mix_capacity;
};

/* Views of layer `layer`'s four tensors in `buffer` (the parameters or the gradients). */
sg_gru_weights sg_model_layer(const seqgen_model *model, float *buffer, int layer);

/* Input size of layer `layer`: D for the first, H above. */
int sg_model_layer_input(const seqgen_model *model, int layer);

/* out.weight [D][H] and out.bias [D] within `buffer`. */
float *sg_model_out_weight(const seqgen_model *model, float *buffer);
float *sg_model_out_bias(const seqgen_model *model, float *buffer);

/* Floats of the buffer sg_model_pack() fills, with or without the backward's orientation. */
size_t sg_model_packed_floats(const seqgen_model *model, int backward);

/* Packs every layer's W_hh from the current parameters into `buffer` (for the backward too if
 * `backward`); layers [L] receive the views. Call it whenever the parameters may have changed,
 * before the threads that read the views start. */
void sg_model_pack(const seqgen_model *model, int backward, float *buffer, sg_gru_packed *layers);

/* Frees the training workspace (train.c). */
void sg_model_free_workspace(seqgen_model *model);

/* Number of threads a pass uses (cfg.threads resolved, at least 1). */
int sg_model_thread_count(const seqgen_model *model);

#endif
