/* Math kernels of the model: a row-major GEMM wrapper over CBLAS, numerically safe activations,
 * and the fused GRU gate arithmetic of one time step. Pure functions on raw float pointers; no
 * allocation. Loops are written so the compiler vectorises them at -O2 with exact libm calls
 * (expf, tanhf, log1pf): no approximations, no -ffast-math. */
#ifndef SEQGEN_KERNELS_H
#define SEQGEN_KERNELS_H

#include <math.h>
#include <stddef.h>

/* C[M x N] = alpha * op(A) op(B) + beta * C, all row-major; op(X) = X or X^T as trans_x says.
 * lda, ldb, ldc are the row strides of A, B, C as stored. */
void sg_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
             const float *b, int ldb, float beta, float *c, int ldc);

/* Makes OpenBLAS single-threaded if the linked CBLAS is OpenBLAS (weak symbol; other CBLAS
 * libraries link and this does nothing). The model splits the batch across its own threads,
 * so BLAS threads would only oversubscribe the cores. */
void sg_blas_single_thread(void);

/* Logistic function without overflow: exp is only taken of a non-positive number. For single
 * values (losses, feedback); the gate kernels use a vectorisable form. */
static inline float sg_sigmoidf(float x)
{
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

/* log(1 + exp(x)), finite for every finite x. */
static inline double sg_softplus(double x)
{
    return (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x)));
}

/* One GRU step's gate arithmetic for `rows` sequences (PyTorch's equations, gate order r, z, n).
 *   gi     [rows][gi_ld]  input projection W_ih x (gi_ld >= 3H; biases not included)
 *   gh     [rows][3H]     recurrent projection W_hh h (biases not included)
 *   b_ih, b_hh [3H]
 *   h_prev [rows][H], h_out [rows][H] (may not alias)
 *   gates  [rows][4H]     r, z, n and hn = W_hn h + b_hn, kept for backward; if NULL, they
 *                         are written to gate_sink [4H] instead (inference) */
void sg_gru_gates_forward(int rows, int hidden, const float *gi, int gi_ld, const float *gh,
                          const float *b_ih, const float *b_hh, const float *h_prev, float *h_out,
                          float *gates, float *gate_sink);

/* Backward of sg_gru_gates_forward for one step.
 *   dh     [rows][H]   in: dL/dh_out; out: the part of dL/dh_prev that bypasses W_hh (z * dh)
 *   gates  [rows][4H]  as cached by the forward; h_prev [rows][H]
 *   dgates [rows][4H]  out: dL/d(pre-activations) laid out [dr, dz, dhn, dn]: the first 3H are
 *                      the gradient of W_hh h + b_hh, columns {0..2H, 3H..4H} that of W_ih x + b_ih
 */
void sg_gru_gates_backward(int rows, int hidden, float *dh, const float *gates, const float *h_prev,
                           float *dgates);

/* out[b][c] = x[b] * w[c] (rows x cols): the input projection when the input has one value
 * per step, where a GEMM with K = 1 would spend more on packing than on arithmetic. */
void sg_outer_product(int rows, int cols, const float *x, const float *w, float *out);

/* out[j] += sum over rows of weights[row] * x[row][j] (x is rows x cols, row stride ld): the
 * weight gradient of an input with one value per step, where a GEMM with N = 1 would spend more
 * on packing than on arithmetic. */
void sg_sum_rows_weighted(int rows, int cols, const float *weights, const float *x, int ld,
                          float *out);

/* y[i] += x[i] for n values. */
void sg_add(size_t n, const float *x, float *y);

/* out[j] += sum over rows of x[row][j] (x is rows x cols, row stride ld). */
void sg_sum_rows(int rows, int cols, const float *x, int ld, float *out);

#endif
