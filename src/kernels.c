/* Math kernels: GEMM through CBLAS and vector primitives (see kernels.h). */
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

/* Loops run over blocks of SG_LANES elements and the clones of SG_VECTOR_CLONES (kernels.h). */

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

/* Through a block on the stack, so that out may be a: every load precedes every store. */
static inline void exp_block(int count, const float *a, float shift, float *out)
{
    float t[SG_LANES];
    for (int k = 0; k < count; k++)
        t[k] = a[k] - shift;
    for (int k = 0; k < count; k++)
        t[k] = sg_expf(t[k]);
    for (int k = 0; k < count; k++)
        out[k] = t[k];
}

SG_VECTOR_CLONES
void sg_exp_shifted(int n, const float *a, float shift, float *out)
{
    int k = 0;
    for (; k + SG_LANES <= n; k += SG_LANES)
        exp_block(SG_LANES, a + k, shift, out + k);
    exp_block(n - k, a + k, shift, out + k);
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
