/* Math kernels: GEMM through CBLAS and the fused GRU gate arithmetic (see kernels.h). */
#include "kernels.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

void sg_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
             const float *b, int ldb, float beta, float *c, int ldc)
{
    if (m <= 0 || n <= 0)
        return;
    if (k <= 0) { /* BLAS leaves C untouched when k = 0 only if beta = 1: make it uniform */
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                c[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[(size_t)i * ldc + j];
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* Declared weak: resolves to NULL when the CBLAS in use is not OpenBLAS. */
extern void openblas_set_num_threads(int num_threads) __attribute__((weak));

void sg_blas_single_thread(void)
{
    if (openblas_set_num_threads)
        openblas_set_num_threads(1);
}

/* Activation loops are written over blocks of SG_LANES elements: an inner loop with a constant
 * trip count that GCC vectorises at -O2 (its "very cheap" cost model refuses loops that would
 * need a scalar epilogue). The remainder of a row runs through the same inline body with a
 * variable count. kernels.o is compiled with -fno-trapping-math (see the Makefile) so that the
 * clamps in sg_expf become vector min/max; NaN and Inf still propagate. */
#define SG_LANES 8

/* On x86-64 with GCC, the loop kernels are also compiled for AVX2 and the best version is picked
 * when the library loads (function multiversioning): twice the vector width, same results
 * (no FMA contraction under -std=c11). */
/* Not under ThreadSanitizer: it instruments the clones' resolver, which the dynamic loader runs
 * before the sanitizer's runtime is initialised (a crash at start-up). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(__SANITIZE_THREAD__)
#define SG_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SG_VECTOR_CLONES
#endif

/* exp(x), ~2 ulp: x = n ln2 + r with |r| <= ln2/2 (ln2 split in a high part exact in float and
 * a low part, after Cody and Waite), exp(r) by its Taylor polynomial of degree 7 (truncation
 * < 6e-9) in Estrin's scheme (half the dependency chain of Horner's; at most 1.7 ulp against
 * Horner's 1.2 over [-87, 88]), 2^n put into the exponent bits. x is clamped to [-87, 88] so
 * that 2^n stays a normal float: exp(-87) ~ 1.6e-38 stands in for anything smaller, which
 * changes no sigmoid or tanh by more than 1e-38. The clamp maps NaN to -87 (keeping the integer
 * conversion defined); adding x - x (0 for finite x, NaN otherwise) makes NaN and infinite
 * inputs give NaN, so that a numeric failure reaches the loss check instead of being silently
 * saturated. */
static inline float sg_expf(float x)
{
    float xc = x > -87.0f ? x : -87.0f;
    xc = xc < 88.0f ? xc : 88.0f;
    const float round = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float n = (xc * 1.44269504088896341f + round) - round;
    float r = xc - n * 0.693145751953125f;
    r = r - n * 1.428606765330187045e-06f + (x - x);
    float r2 = r * r, r4 = r2 * r2;
    float q0 = 1.0f + r, q1 = 0.5f + r * (1.0f / 6.0f);
    float q2 = 1.0f / 24.0f + r * (1.0f / 120.0f), q3 = 1.0f / 720.0f + r * (1.0f / 5040.0f);
    float p = (q0 + r2 * q1) + r4 * (q2 + r2 * q3);
    int32_t bits = ((int32_t)n + 127) * (1 << 23);
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* sigmoid(x) = 1 / (1 + exp(-x)): never divides by zero or overflows thanks to the clamp. */
static inline float sigmoid_lane(float x)
{
    return 1.0f / (1.0f + sg_expf(-x));
}

/* tanh(x) = 2 sigmoid(2x) - 1; absolute error ~1e-7 near 0, where float rounding of the
 * pre-activation is of the same order. */
static inline float tanh_lane(float x)
{
    return 2.0f / (1.0f + sg_expf(-2.0f * x)) - 1.0f;
}

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
        p.r[k] = sigmoid_lane(p.xr[k] + p.bir[k] + p.hr[k] + p.bhr[k]);
        p.z[k] = sigmoid_lane(p.xz[k] + p.biz[k] + p.hz[k] + p.bhz[k]);
    }
}

static inline void gates_n_block(int count, gates_fwd_row p)
{
    for (int k = 0; k < count; k++) {
        float hn = p.hn[k] + p.bhn[k];
        float n = tanh_lane(p.xn[k] + p.bin[k] + p.r[k] * hn);
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

static inline void scale_block(int count, float a, const float *restrict x, float *restrict y)
{
    for (int k = 0; k < count; k++)
        y[k] = a * x[k];
}

SG_VECTOR_CLONES
void sg_outer_product(int rows, int cols, const float *x, const float *w, float *out)
{
    for (int b = 0; b < rows; b++) {
        float *o = out + (size_t)b * cols;
        int j = 0;
        for (; j + SG_LANES <= cols; j += SG_LANES)
            scale_block(SG_LANES, x[b], w + j, o + j);
        scale_block(cols - j, x[b], w + j, o + j);
    }
}

static inline void add_block(int count, const float *restrict x, float *restrict y)
{
    for (int k = 0; k < count; k++)
        y[k] += x[k];
}

SG_VECTOR_CLONES
void sg_add(size_t n, const float *x, float *y)
{
    size_t i = 0;
    for (; i + SG_LANES <= n; i += SG_LANES)
        add_block(SG_LANES, x + i, y + i);
    add_block((int)(n - i), x + i, y + i);
}

SG_VECTOR_CLONES
void sg_sum_rows(int rows, int cols, const float *x, int ld, float *out)
{
    for (int i = 0; i < rows; i++) {
        const float *row = x + (size_t)i * ld;
        int j = 0;
        for (; j + SG_LANES <= cols; j += SG_LANES)
            add_block(SG_LANES, row + j, out + j);
        add_block(cols - j, row + j, out + j);
    }
}

static inline void add_scaled_block(int count, float a, const float *restrict x,
                                    float *restrict y)
{
    for (int k = 0; k < count; k++)
        y[k] += a * x[k];
}

SG_VECTOR_CLONES
void sg_sum_rows_weighted(int rows, int cols, const float *weights, const float *x, int ld,
                          float *out)
{
    for (int i = 0; i < rows; i++) {
        const float *row = x + (size_t)i * ld;
        int j = 0;
        for (; j + SG_LANES <= cols; j += SG_LANES)
            add_scaled_block(SG_LANES, weights[i], row + j, out + j);
        add_scaled_block(cols - j, weights[i], row + j, out + j);
    }
}
