/* One GRU layer's forward and backward, gates included (see gru.h for the equations and shapes). */
#include "gru.h"

#include <string.h>

#include "kernels.h"

/* ---- The gates of one step ---------------------------------------------------------------- */

/* One row's operands split per gate (r, z, n): GCC vectorises loads p[k] from distinct restrict
 * pointers, not p[H + k] from one. */
typedef struct gates_fwd_row {
    const float *restrict xr, *restrict xz, *restrict xn;    /* W_ih x */
    const float *restrict hr, *restrict hz, *restrict hn;    /* W_hh h */
    const float *restrict bir, *restrict biz, *restrict bin; /* b_ih */
    const float *restrict bhr, *restrict bhz, *restrict bhn; /* b_hh */
    const float *restrict h_prev;
    float *restrict h_out, *restrict r, *restrict z, *restrict n, *restrict hn_out;
} gates_fwd_row;

/* A row runs in two passes, r and z first, then n and h_out: n waits for r through two long
 * exp-and-divide chains, and a pass with shorter chains lets the CPU overlap more blocks. */
static inline void gates_rz_block(int count, gates_fwd_row p)
{
    for (int k = 0; k < count; k++) {
        p.r[k] = sg_sigmoid_lane(p.xr[k] + p.bir[k] + p.hr[k] + p.bhr[k]);
        p.z[k] = sg_sigmoid_lane(p.xz[k] + p.biz[k] + p.hz[k] + p.bhz[k]);
    }
}

static inline void gates_n_block(int count, gates_fwd_row p)
{
    for (int k = 0; k < count; k++) {
        float hn = p.hn[k] + p.bhn[k];
        float n = sg_tanh_lane(p.xn[k] + p.bin[k] + p.r[k] * hn);
        p.h_out[k] = (1.0f - p.z[k]) * n + p.z[k] * p.h_prev[k];
        p.n[k] = n;
        p.hn_out[k] = hn;
    }
}

/* The operands of columns [j, j + ...) of one row. */
static inline gates_fwd_row gates_fwd_at(int H, int j, const float *xi, const float *hh,
                                         const float *b_ih, const float *b_hh, const float *hp,
                                         float *ho, float *g)
{
    gates_fwd_row p = {xi + j, xi + H + j, xi + 2 * H + j, hh + j, hh + H + j, hh + 2 * H + j,
                       b_ih + j, b_ih + H + j, b_ih + 2 * H + j, b_hh + j, b_hh + H + j,
                       b_hh + 2 * H + j, hp + j, ho + j, g + j, g + H + j, g + 2 * H + j,
                       g + 3 * H + j};
    return p;
}

SG_VECTOR_CLONES
void sg_gru_gates_forward(int rows, int hidden, const float *gi, int gi_ld, const float *gh,
                          const float *b_ih, const float *b_hh, const float *h_prev, float *h_out,
                          float *gates, float *gate_sink)
{
    const int H = hidden;
    for (int b = 0; b < rows; b++) {
        const float *xi = gi + (size_t)b * gi_ld, *hh = gh + (size_t)b * 3 * H;
        const float *hp = h_prev + (size_t)b * H;
        float *ho = h_out + (size_t)b * H, *g = gates ? gates + (size_t)b * 4 * H : gate_sink;
        int j = 0;
        for (; j + SG_LANES <= H; j += SG_LANES)
            gates_rz_block(SG_LANES, gates_fwd_at(H, j, xi, hh, b_ih, b_hh, hp, ho, g));
        gates_rz_block(H - j, gates_fwd_at(H, j, xi, hh, b_ih, b_hh, hp, ho, g));
        for (j = 0; j + SG_LANES <= H; j += SG_LANES)
            gates_n_block(SG_LANES, gates_fwd_at(H, j, xi, hh, b_ih, b_hh, hp, ho, g));
        gates_n_block(H - j, gates_fwd_at(H, j, xi, hh, b_ih, b_hh, hp, ho, g));
    }
}

typedef struct gates_bwd_row {
    float *restrict dh;
    const float *restrict r, *restrict z, *restrict n, *restrict hn, *restrict h_prev;
    float *restrict dr, *restrict dz, *restrict dhn, *restrict dn;
} gates_bwd_row;

static inline void gates_backward_block(int count, gates_bwd_row p)
{
    for (int k = 0; k < count; k++) {
        float r = p.r[k], z = p.z[k], n = p.n[k];
        float dn = p.dh[k] * (1.0f - z) * (1.0f - n * n);
        float dz = p.dh[k] * (p.h_prev[k] - n) * z * (1.0f - z);
        p.dr[k] = dn * p.hn[k] * r * (1.0f - r);
        p.dz[k] = dz;
        p.dhn[k] = dn * r;
        p.dn[k] = dn;
        p.dh[k] *= z;
    }
}

static inline gates_bwd_row gates_bwd_at(int H, int j, float *d, const float *g, const float *hp,
                                         float *dg)
{
    gates_bwd_row p = {d + j, g + j, g + H + j, g + 2 * H + j, g + 3 * H + j, hp + j,
                       dg + j, dg + H + j, dg + 2 * H + j, dg + 3 * H + j};
    return p;
}

SG_VECTOR_CLONES
void sg_gru_gates_backward(int rows, int hidden, float *dh, const float *gates, const float *h_prev,
                           float *dgates)
{
    const int H = hidden;
    for (int b = 0; b < rows; b++) {
        const float *g = gates + (size_t)b * 4 * H, *hp = h_prev + (size_t)b * H;
        float *d = dh + (size_t)b * H, *dg = dgates + (size_t)b * 4 * H;
        int j = 0;
        for (; j + SG_LANES <= H; j += SG_LANES)
            gates_backward_block(SG_LANES, gates_bwd_at(H, j, d, g, hp, dg));
        gates_backward_block(H - j, gates_bwd_at(H, j, d, g, hp, dg));
    }
}

/* ---- A step and a sequence ----------------------------------------------------------------- */

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

size_t sg_gru_packed_order(int count, int steps, int (*length)(const void *ctx, int s),
                           const void *ctx, int *order, int *rows)
{
    for (int r = 0; r < count; r++) {
        int i = r;
        order[r] = r;
        while (i > 0 && length(ctx, order[i - 1]) < length(ctx, order[i])) {
            int swap = order[i - 1];
            order[i - 1] = order[i], order[i] = swap;
            i--;
        }
    }
    size_t total = 0;
    for (int t = 0, r = count; t < steps; t++) {
        while (r > 0 && length(ctx, order[r - 1]) <= t)
            r--;
        rows[t] = r;
        total += (size_t)r;
    }
    return total;
}

/* Rows of steps [t0, t0 + n). */
static size_t rows_of(const int *rows, int t0, int n)
{
    size_t total = 0;
    for (int t = t0; t < t0 + n; t++)
        total += (size_t)rows[t];
    return total;
}

void sg_gru_forward(int steps, const int *rows, int in, int hidden, const sg_gru_weights *w,
                    const sg_gru_packed *packed, const float *x, float *h, float *gates,
                    const sg_gru_scratch *scratch)
{
    const int G = 3 * hidden;
    float *out = h + (size_t)rows[0] * hidden;
    const float *hp = h; /* the previous step's states */
    size_t at = 0;       /* row offset of the chunk's first step */
    for (int t0 = 0; t0 < steps; t0 += scratch->chunk) {
        int n = steps - t0 < scratch->chunk ? steps - t0 : scratch->chunk;
        const size_t chunk_rows = rows_of(rows, t0, n);
        input_projection((int)chunk_rows, in, G, x + at * in, w->w_ih, scratch->gi);
        size_t c = 0; /* row offset of step t within the chunk */
        for (int t = t0; t < t0 + n; t++) {
            float *ho = out + (at + c) * hidden;
            sg_rgemm_multiply(rows[t], hp, hidden, &packed->whh_t, scratch->gh, G, 0);
            sg_gru_gates_forward(rows[t], hidden, scratch->gi + c * G, G, scratch->gh, w->b_ih,
                                 w->b_hh, hp, ho, gates ? gates + (at + c) * 4 * hidden : NULL,
                                 scratch->gate_sink);
            hp = ho;
            c += (size_t)rows[t];
        }
        at += chunk_rows;
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

/* Weight and input gradients of a chunk of steps, `rows` rows in all, from their gate gradients
 * dg [rows][4H] (columns dr, dz, dhn, dn) and the states they read, h_prev [rows][H]. W_hh
 * sees [dr dz dhn], W_ih sees [dr dz dn]: the input side is two products, one for the r and z
 * rows, one for the n rows. */
static void chunk_weight_grads(int rows, int in, int hidden, const sg_gru_weights *w,
                               const float *x, const float *h_prev, const float *dg, float *dx,
                               const sg_gru_weights *grad)
{
    const int H = hidden, ld = 4 * H;
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

/* The previous states read by steps [start, end), in line with their gate gradients: where
 * they already lie (each step's rows those of the step before, so that the blocks follow one
 * another), or gathered into `hprev`. `at` is the row offset of step `start`. */
static const float *chunk_h_prev(int start, int end, const int *rows, int hidden, const float *h,
                                 size_t at, float *hprev)
{
    const float *out = h + (size_t)rows[0] * hidden;
    const float *first = start == 0 ? h : out + (at - (size_t)rows[start - 1]) * hidden;
    int aligned = 1;
    for (int t = start > 0 ? start : 1; t < end; t++)
        aligned &= rows[t - 1] == rows[t];
    if (aligned)
        return first;
    float *p = hprev;
    const float *src = first;
    for (int t = start; t < end; t++) {
        memcpy(p, src, (size_t)rows[t] * hidden * sizeof *p);
        p += (size_t)rows[t] * hidden;
        src = t == 0 ? out : src + (size_t)rows[t - 1] * hidden;
    }
    return hprev;
}

void sg_gru_backward(int steps, const int *rows, int in, int hidden, const sg_gru_weights *w,
                     const sg_gru_packed *packed, const float *x, const float *h,
                     const float *gates, float *dy, float *dx, const sg_gru_weights *grad,
                     float *dh, const sg_gru_scratch *scratch)
{
    const int H = hidden;
    const float *out = h + (size_t)rows[0] * H;
    /* rows that have not started their backward (they end before the current step) stay 0 */
    memset(dh, 0, (size_t)rows[0] * H * sizeof *dh);
    size_t end_at = rows_of(rows, 0, steps); /* row offset just after step end - 1 */
    for (int end = steps; end > 0; end -= scratch->chunk) {
        int start = end - scratch->chunk > 0 ? end - scratch->chunk : 0;
        const size_t chunk_rows = rows_of(rows, start, end - start), at = end_at - chunk_rows;
        size_t c = chunk_rows; /* row offset of step t within the chunk */
        for (int t = end - 1; t >= start; t--) {
            c -= (size_t)rows[t];
            const size_t row = at + c;
            const float *hp = t == 0 ? h : out + (row - (size_t)rows[t - 1]) * H;
            float *dg = scratch->dgates + c * 4 * H;
            sg_add((size_t)rows[t] * H, dy + row * H, dh);
            sg_gru_gates_backward(rows[t], H, dh, gates + row * 4 * H, hp, dg);
            sg_rgemm_multiply(rows[t], dg, 4 * H, &packed->whh, dh, H, 1);
        }
        const float *h_prev = chunk_h_prev(start, end, rows, H, h, at, scratch->hprev);
        chunk_weight_grads((int)chunk_rows, in, H, w, x + at * in, h_prev, scratch->dgates,
                           dx ? dx + at * in : NULL, grad);
        end_at = at;
    }
}
