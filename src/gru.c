/* One GRU layer's forward and backward over a sequence (see gru.h for equations and shapes). */
#include "gru.h"

#include <string.h>

#include "kernels.h"

/* gi [rows][G] = x [rows][in] W_ih^T; with one input value per step an outer product. */
static void input_projection(int rows, int in, int G, const float *x, const float *w_ih, float *gi)
{
    if (in == 1)
        sg_outer_product(rows, G, x, w_ih, gi);
    else
        sg_gemm(0, 1, rows, G, in, 1.0f, x, in, w_ih, in, 0.0f, gi, G);
}

size_t sg_gru_packed_floats(int hidden, int backward)
{
    const int H = hidden;
    return sg_rgemm_packed_floats(H, 3 * H) + (backward ? sg_rgemm_packed_floats(3 * H, H) : 0);
}

sg_gru_packed sg_gru_pack(int hidden, const sg_gru_weights *w, int backward, float *buffer)
{
    const int H = hidden;
    sg_gru_packed packed = {sg_rgemm_pack(H, 3 * H, w->w_hh, 1, H, buffer), {NULL, 0, 0}};
    if (backward)
        packed.whh = sg_rgemm_pack(3 * H, H, w->w_hh, H, 1,
                                   buffer + sg_rgemm_packed_floats(H, 3 * H));
    return packed;
}

void sg_gru_step_forward(int batch, int in, int hidden, const sg_gru_weights *w,
                         const sg_gru_packed *packed, const float *x, const float *h_prev,
                         float *h_out, float *gates, const sg_gru_scratch *scratch)
{
    const int G = 3 * hidden;
    input_projection(batch, in, G, x, w->w_ih, scratch->gi);
    sg_rgemm_multiply(batch, h_prev, hidden, &packed->whh_t, scratch->gh, G, 0);
    sg_gru_gates_forward(batch, hidden, scratch->gi, G, scratch->gh, w->b_ih, w->b_hh, h_prev,
                         h_out, gates, scratch->gate_sink);
}

void sg_gru_forward(int steps, int batch, int in, int hidden, const sg_gru_weights *w,
                    const sg_gru_packed *packed, const float *x, float *h, float *gates,
                    const sg_gru_scratch *scratch)
{
    const int G = 3 * hidden;
    const size_t hstep = (size_t)batch * hidden;
    for (int t0 = 0; t0 < steps; t0 += scratch->chunk) {
        int n = steps - t0 < scratch->chunk ? steps - t0 : scratch->chunk;
        input_projection(n * batch, in, G, x + (size_t)t0 * batch * in, w->w_ih, scratch->gi);
        for (int t = t0; t < t0 + n; t++) {
            const float *hp = h + (size_t)t * hstep;
            sg_rgemm_multiply(batch, hp, hidden, &packed->whh_t, scratch->gh, G, 0);
            sg_gru_gates_forward(batch, hidden, scratch->gi + (size_t)(t - t0) * batch * G, G,
                                 scratch->gh, w->b_ih, w->b_hh, hp, h + (size_t)(t + 1) * hstep,
                                 gates ? gates + (size_t)t * 4 * hstep : NULL, scratch->gate_sink);
        }
    }
}

/* grad_w_ih [cols][in] += dg^T x for dg [rows][cols] (row stride ld) and x [rows][in]; with one
 * input value per step a weighted sum of dg's rows. */
static void input_weight_grads(int rows, int in, int cols, const float *dg, int ld, const float *x,
                               float *grad_w_ih)
{
    if (in == 1)
        sg_sum_rows_weighted(rows, cols, x, dg, ld, grad_w_ih);
    else
        sg_gemm(1, 0, cols, in, rows, 1.0f, dg, ld, x, in, 1.0f, grad_w_ih, in);
}

/* Weight and input gradients of the steps [s, s + n) from their gate gradients dg [n][B][4H]
 * (columns dr, dz, dhn, dn). W_hh sees [dr dz dhn], W_ih sees [dr dz dn]: the input side is
 * two products, one for the r and z rows, one for the n rows. */
static void chunk_weight_grads(int n, int batch, int in, int hidden, const sg_gru_weights *w,
                               const float *x, const float *h_prev, const float *dg, float *dx,
                               const sg_gru_weights *grad)
{
    const int H = hidden, rows = n * batch, ld = 4 * H;
    sg_gemm(1, 0, 3 * H, H, rows, 1.0f, dg, ld, h_prev, H, 1.0f, grad->w_hh, H);
    sg_sum_rows(rows, 3 * H, dg, ld, grad->b_hh);
    input_weight_grads(rows, in, 2 * H, dg, ld, x, grad->w_ih);
    input_weight_grads(rows, in, H, dg + 3 * H, ld, x, grad->w_ih + (size_t)2 * H * in);
    sg_sum_rows(rows, 2 * H, dg, ld, grad->b_ih);
    sg_sum_rows(rows, H, dg + 3 * H, ld, grad->b_ih + 2 * H);
    if (dx) {
        sg_gemm(0, 0, rows, in, 2 * H, 1.0f, dg, ld, w->w_ih, in, 0.0f, dx, in);
        sg_gemm(0, 0, rows, in, H, 1.0f, dg + 3 * H, ld, w->w_ih + (size_t)2 * H * in, in, 1.0f, dx,
                in);
    }
}

void sg_gru_backward(int steps, int batch, int in, int hidden, const sg_gru_weights *w,
                     const sg_gru_packed *packed, const float *x, const float *h,
                     const float *gates, float *dy, int want_dx, const sg_gru_weights *grad,
                     float *dh, const sg_gru_scratch *scratch)
{
    const int H = hidden;
    const size_t hstep = (size_t)batch * H, gstep = 4 * hstep;
    memset(dh, 0, hstep * sizeof *dh);
    for (int end = steps; end > 0; end -= scratch->chunk) {
        int start = end - scratch->chunk > 0 ? end - scratch->chunk : 0;
        for (int t = end - 1; t >= start; t--) {
            float *dg = scratch->dgates + (size_t)(t - start) * gstep;
            sg_add(hstep, dy + (size_t)t * hstep, dh);
            sg_gru_gates_backward(batch, H, dh, gates + (size_t)t * gstep, h + (size_t)t * hstep,
                                  dg);
            sg_rgemm_multiply(batch, dg, 4 * H, &packed->whh, dh, H, 1);
        }
        chunk_weight_grads(end - start, batch, in, H, w, x + (size_t)start * batch * in,
                           h + (size_t)start * hstep, scratch->dgates,
                           want_dx ? dy + (size_t)start * hstep : NULL, grad);
    }
}
