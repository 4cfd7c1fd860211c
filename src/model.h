/* The model's internals that other parts of the library use (checkpoints, the optimiser, the
 * training pass, completion, tests): its limits, its tensor table and its buffers.
 *
 * Parameter buffer layout (and the gradient buffer's, identical): for a categorical model (V
 * symbols) first embedding.weight [V][E]; then for each layer K in order, weight_ih_lK
 * [3H][in_K], weight_hh_lK [3H][H], bias_ih_lK [3H], bias_hh_lK [3H] (in_0 = D, or E for
 * symbols; in_K = H above), then out.weight [O][H], out.bias [O] with O = D, or V for symbols;
 * with the autoregressive heads then out.ar_weight [D][D], with the MADE head last
 * out.made_in.weight [M][D], out.made_cond.weight [M][H], out.made_cond.bias [M],
 * out.made_out.weight [D][M]; contiguous, no padding. The tensor
 * table (sg_model_tensor) is the one description of that layout: everything else, checkpoints
 * included, reads it. */
#ifndef SEQGEN_MODEL_H
#define SEQGEN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "parallel.h"
#include "rng.h"
#include "seqgen.h"

/* Limits of a configuration: D, H and L each in [1, SG_MODEL_MAX_DIM], threads in
 * [0, SG_MODEL_MAX_THREADS]; V 0 or in [2, SG_MODEL_MAX_DIM], with E in [1, SG_MODEL_MAX_DIM]
 * and D = 1 when V is set, E = 0 when not. */
#define SG_MODEL_MAX_DIM 65536
#define SG_MODEL_MAX_MADE 4096 /* head_hidden, M of the MADE head */
#define SG_MODEL_MAX_THREADS SG_PARALLEL_MAX
#define SG_TENSOR_NAME_MAX 24

/* Which entries of a tensor take no part in the model (stored as 0 and kept 0). */
typedef enum sg_tensor_mask {
    SG_MASK_NONE = 0,
    SG_MASK_STRICT_LOWER, /* square; those on and above the diagonal (out.ar_weight) */
    SG_MASK_MADE_IN,      /* [M][D]: A_kj with j > m_k (out.made_in.weight; head.h's degrees) */
    SG_MASK_MADE_OUT      /* [D][M]: E_dk with d <= m_k (out.made_out.weight) */
} sg_tensor_mask;

/* One named tensor of the model: PyTorch's name and shape (biases are 1-D, [rows]; weights 2-D,
 * [rows][cols]) and where it starts in the parameter and gradient buffers. */
typedef struct sg_tensor {
    char name[SG_TENSOR_NAME_MAX];
    size_t offset; /* in floats */
    int ndim;      /* 1 or 2 */
    int rows, cols; /* cols = 1 for biases */
    sg_tensor_mask mask; /* the entries stored as 0 and kept 0 */
} sg_tensor;

/* Appends a tensor to the table `t` (if not NULL) at `*count` and counts it; returns its size in
 * floats. The model's table and the discriminator's (discriminator.c) are built with it. */
size_t sg_tensor_append(sg_tensor *t, int *count, const char *name, int ndim, int rows, int cols,
                        size_t offset);

/* 1 if `values`, the values of tensor t or of a buffer in its layout (its gradient, an
 * optimiser's moment), break its structure, with *row and *col the first entry that does (a
 * nonzero value where t's mask says 0); else 0. */
int sg_tensor_breaks_structure(const sg_tensor *t, const float *values, int *row, int *col);

/* What t's mask is and where its zeros are, for messages: "strictly lower triangular" and "on or
 * above the diagonal", or "masked by the MADE degrees" and "masked"; NULL for SG_MASK_NONE. */
const char *sg_tensor_mask_name(const sg_tensor *t);
const char *sg_tensor_mask_where(const sg_tensor *t);

/* SEQGEN_OK, or SEQGEN_EINVAL naming the field out of the limits above. */
int sg_model_check_config(const seqgen_model_config *cfg);

/* The number of parameters of a configuration within the limits (from the same table as the
 * model's tensors); fits in 64 bits for every such configuration. */
uint64_t sg_model_param_count_for(const seqgen_model_config *cfg);

/* Tensor `index` (0 <= index < seqgen_model_tensor_count()), and the index of the tensor called
 * `name`, or -1. */
const sg_tensor *sg_model_tensor(const seqgen_model *model, int index);
int sg_model_find_tensor(const seqgen_model *model, const char *name);

/* The flat parameter and gradient buffers, seqgen_model_param_count() floats each. Writing
 * parameters directly (the optimiser and the checkpoint loader do) goes through the pointer
 * sg_model_params_for_write() returns, before the next computation with the model: each call
 * marks the parameters as changed, so that generation states pack W_hh again. */
const float *sg_model_params_const(const seqgen_model *model);
float *sg_model_params_for_write(seqgen_model *model);
float *sg_model_grads(seqgen_model *model);

/* The generator of the weight initialisation (stream 1 of the seed) and the one of the
 * scheduled-sampling coins and samples (stream 2). Checkpoints save and restore both so that a
 * resumed run draws the same coins. */
sg_rng *sg_model_init_rng(seqgen_model *model);
sg_rng *sg_model_mix_rng(seqgen_model *model);

#endif
