/* Math kernels: GEMM through CBLAS and the fused GRU gate arithmetic (see kernels.h). */
#include "kernels.h"

#include <math.h>

/* The one CBLAS routine used, declared with the reference CBLAS's enum values (fixed by the
 * standard, shared by every implementation) rather than through <cblas.h>: OpenBLAS's cblas.h
 * pulls in <sched.h>, which the project's own src/sched.h shadows under -Isrc. */
enum { SG_CBLAS_ROW_MAJOR = 101, SG_CBLAS_NO_TRANS = 111, SG_CBLAS_TRANS = 112 };
extern void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                        const float *a, int lda, const float *b, int ldb, float beta, float *c,
                        int ldc);

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
    cblas_sgemm(SG_CBLAS_ROW_MAJOR, trans_a ? SG_CBLAS_TRANS : SG_CBLAS_NO_TRANS,
                trans_b ? SG_CBLAS_TRANS : SG_CBLAS_NO_TRANS, m, n, k, alpha, a, lda, b, ldb, beta,
                c, ldc);
}

/* Declared weak: resolves to NULL when the CBLAS in use is not OpenBLAS. */
extern void openblas_set_num_threads(int num_threads) __attribute__((weak));

void sg_blas_single_thread(void)
{
    if (openblas_set_num_threads)
        openblas_set_num_threads(1);
}

void sg_gru_gates_forward(int rows, int hidden, const float *gi, int gi_ld, const float *gh,
                          const float *b_ih, const float *b_hh, const float *h_prev, float *h_out,
                          float *gates)
{
    const int H = hidden;
    for (int b = 0; b < rows; b++) {
        const float *xi = gi + (size_t)b * gi_ld, *hh = gh + (size_t)b * 3 * H;
        const float *hp = h_prev + (size_t)b * H;
        float *ho = h_out + (size_t)b * H;
        float *g = gates ? gates + (size_t)b * 4 * H : NULL;
        for (int j = 0; j < H; j++) {
            float r = sg_sigmoidf(xi[j] + b_ih[j] + hh[j] + b_hh[j]);
            float z = sg_sigmoidf(xi[H + j] + b_ih[H + j] + hh[H + j] + b_hh[H + j]);
            float hn = hh[2 * H + j] + b_hh[2 * H + j];
            float n = tanhf(xi[2 * H + j] + b_ih[2 * H + j] + r * hn);
            ho[j] = (1.0f - z) * n + z * hp[j];
            if (g) {
                g[j] = r;
                g[H + j] = z;
                g[2 * H + j] = n;
                g[3 * H + j] = hn;
            }
        }
    }
}

void sg_gru_gates_backward(int rows, int hidden, float *dh, const float *gates, const float *h_prev,
                           float *dgates)
{
    const int H = hidden;
    for (int b = 0; b < rows; b++) {
        const float *g = gates + (size_t)b * 4 * H, *hp = h_prev + (size_t)b * H;
        float *d = dh + (size_t)b * H, *dg = dgates + (size_t)b * 4 * H;
        for (int j = 0; j < H; j++) {
            float r = g[j], z = g[H + j], n = g[2 * H + j], hn = g[3 * H + j];
            float dn = d[j] * (1.0f - z) * (1.0f - n * n);
            float dz = d[j] * (hp[j] - n) * z * (1.0f - z);
            float dr = dn * hn * r * (1.0f - r);
            dg[j] = dr;
            dg[H + j] = dz;
            dg[2 * H + j] = dn * r;
            dg[3 * H + j] = dn;
            d[j] *= z;
        }
    }
}

void sg_add(size_t n, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] += x[i];
}

void sg_sum_rows(int rows, int cols, const float *x, int ld, float *out)
{
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            out[j] += x[(size_t)i * ld + j];
}
