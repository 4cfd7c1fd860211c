/* One GRU layer: its forward and backward over a sequence and for a single step, gates included.
 * PyTorch's equations and layout (gate order r, z, n; b_hn inside the reset product):
 *   r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
 *   z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
 *   n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))
 *   h' = (1 - z) * n + z * h
 * and, for the backward, with dh' = dL/dh' and the gates cached by the forward:
 *   dn = dh' (1 - z) (1 - n^2)        d(W_in x + b_in) = dn
 *   dz = dh' (h - n) z (1 - z)        d(W_iz x + b_iz) = d(W_hz h + b_hz) = dz
 *   dr = dn (W_hn h + b_hn) r (1 - r) d(W_ir x + b_ir) = d(W_hr h + b_hr) = dr
 *   d(W_hn h + b_hn) = dn r           dh = dh' z + W_hh^T [dr dz dhn]
 * Activations are time-major, step after step (packed, see sg_gru_forward), so that one step
 * of a batch is one contiguous matrix and the input products of many steps are single GEMMs.
 * Shapes: in = input size, H = hidden size, W_ih [3H][in], W_hh [3H][H], b_ih [3H], b_hh [3H].
 * Nothing here allocates. */
#ifndef SEQGEN_GRU_H
#define SEQGEN_GRU_H

#include <stddef.h>

#include "rgemm.h"

/* The weights of one layer, views into the model's parameter (or gradient) buffer. */
typedef struct sg_gru_weights {
    float *w_ih; /* [3H][in] */
    float *w_hh; /* [3H][H] */
    float *b_ih; /* [3H] */
    float *b_hh; /* [3H] */
} sg_gru_weights;

/* A layer's W_hh packed for the per-step products (rgemm.h), once per pass: the weights do not
 * change within one. */
typedef struct sg_gru_packed {
    sg_rgemm_packed whh_t; /* W_hh^T [H][3H], the forward's h W_hh^T */
    sg_rgemm_packed whh;   /* W_hh [3H][H], the backward's dG W_hh */
} sg_gru_packed;

/* Floats of the buffer sg_gru_pack() fills for hidden size H, with or without `backward`. */
size_t sg_gru_packed_floats(int hidden, int backward);

/* Packs w->w_hh for the forward's products, and if `backward` for the backward's too, into
 * `buffer` (sg_gru_packed_floats(hidden, backward) floats). */
sg_gru_packed sg_gru_pack(int hidden, const sg_gru_weights *w, int backward, float *buffer);

/* Scratch shared by the functions below for a batch of at most B rows and chunks of C steps:
 * gi [C][B][3H], gh [B][3H], dgates [C][B][4H] (backward only), gate_sink [4H] (receives the
 * gates when no backward follows; may point into dgates), hprev [C][B][H] (backward only: a
 * chunk's previous states gathered in line with its gate gradients when the rows shrink). */
typedef struct sg_gru_scratch {
    float *gi, *gh, *dgates, *gate_sink;
    int chunk;
    float *hprev;
} sg_gru_scratch;

/* One step for a batch: h_out [B][H] from x [B][in] and h_prev [B][H] (h_out must not alias
 * h_prev). gates [B][4H] receives r, z, n, W_hn h + b_hn for backward, or is NULL. `packed` is
 * w's W_hh packed by sg_gru_pack(), here and below. */
void sg_gru_step_forward(int batch, int in, int hidden, const sg_gru_weights *w,
                         const sg_gru_packed *packed, const float *x, const float *h_prev,
                         float *h_out, float *gates, const sg_gru_scratch *scratch);

/* A sequence of steps run over a shrinking batch, as PyTorch's packed sequences: rows[t]
 * sequences take part in step t, non-increasing in t (the batch sorted by decreasing length),
 * so that step t reads the first rows[t] states of step t - 1. The arrays below are packed:
 * step t's rows follow step t - 1's, at row offset rows[0] + ... + rows[t-1]; with every
 * rows[t] = B that is the time-major [T][B][...] layout. Rows that end take no further part:
 * nothing is computed for padding. */

/* The packed layout of `count` sequences, sequence s of length(ctx, s) steps: order [count]
 * receives the sequences by decreasing length (ties in index order), rows [steps] the rows of
 * each of the first `steps` steps (the sequences longer than t); returns the total rows. An
 * insertion sort: a batch is small beside its pass, and equal lengths cost one comparison each. */
size_t sg_gru_packed_order(int count, int steps, int (*length)(const void *ctx, int s),
                           const void *ctx, int *order, int *rows);

/* The whole sequence when every input is known: x [rows][in] (packed); h [rows[0]][H], the
 * initial state on entry, followed by the outputs [rows][H] (packed: the next layer's input);
 * gates [rows][4H] (packed; NULL if no backward follows). The input projection is one GEMM per
 * chunk of steps. */
void sg_gru_forward(int steps, const int *rows, int in, int hidden, const sg_gru_weights *w,
                    const sg_gru_packed *packed, const float *x, float *h, float *gates,
                    const sg_gru_scratch *scratch);

/* Backpropagation through time. x, h, gates as left by the forward; dy [rows][H] (packed)
 * holds dL/d(outputs) from above (output head or the next layer). dx, if not NULL, receives
 * dL/dx [rows][in]; it may be dy itself when in = H (a layer above the first: each chunk of
 * steps writes its dx where its dy was read). dh [rows[0]][H] is scratch. Gradients are ADDED
 * to grad (same layout as w). */
void sg_gru_backward(int steps, const int *rows, int in, int hidden, const sg_gru_weights *w,
                     const sg_gru_packed *packed, const float *x, const float *h,
                     const float *gates, float *dy, float *dx, const sg_gru_weights *grad,
                     float *dh, const sg_gru_scratch *scratch);

/* The gate arithmetic of one step for `rows` sequences, the products given:
 *   gi     [rows][gi_ld]  input projection W_ih x (gi_ld >= 3H; biases not included)
 *   gh     [rows][3H]     recurrent projection W_hh h (biases not included)
 *   h_prev [rows][H], h_out [rows][H] (may not alias)
 *   gates  [rows][4H]     r, z, n and hn = W_hn h + b_hn, kept for backward; if NULL, they
 *                         are written to gate_sink [4H] instead (inference) */
void sg_gru_gates_forward(int rows, int hidden, const float *gi, int gi_ld, const float *gh,
                          const float *b_ih, const float *b_hh, const float *h_prev, float *h_out,
                          float *gates, float *gate_sink);

/* Its backward for one step:
 *   dh     [rows][H]   in: dL/dh_out; out: the part of dL/dh_prev that bypasses W_hh (z * dh)
 *   dgates [rows][4H]  out: dL/d(pre-activations) laid out [dr, dz, dhn, dn]: the first 3H are
 *                      the gradient of W_hh h + b_hh, columns {0..2H, 3H..4H} that of W_ih x + b_ih
 */
void sg_gru_gates_backward(int rows, int hidden, float *dh, const float *gates, const float *h_prev,
                           float *dgates);

#endif
