/* Math kernels of the model: a row-major GEMM wrapper over CBLAS, numerically safe scalar
 * activations, vectorisable activations for the GRU's gate loops (gru.c), and vector primitives
 * (sums, scaled sums, outer products). Pure functions on raw float pointers; no allocation, no
 * -ffast-math. */
#ifndef SEQGEN_KERNELS_H
#define SEQGEN_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* C[M x N] = alpha * op(A) op(B) + beta * C, all row-major; op(X) = X or X^T as trans_x says.
 * lda, ldb, ldc are the row strides of A, B, C as stored. */
void sg_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
             const float *b, int ldb, float beta, float *c, int ldc);

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

/* Activation loops are written over blocks of SG_LANES elements: an inner loop with a constant
 * trip count that GCC vectorises at -O2 (its "very cheap" cost model refuses loops that would
 * need a scalar epilogue). The remainder of a row runs through the same inline body with a
 * variable count. the files that use them (kernels.c, gru.c) are compiled with -fno-trapping-math (see the
 * Makefile) so that the clamps in sg_expf become vector min/max; NaN and Inf still propagate. */
#define SG_LANES 8

/* On x86-64 with GCC, the loop kernels are also compiled for AVX2 and the best version is picked
 * when the library loads (function multiversioning): twice the vector width, same results
 * (no FMA contraction under -std=c11). */
/* Not under ThreadSanitizer: it instruments the clones' resolver, which the dynamic loader runs
 * before the sanitizer's runtime is initialised (a crash at start-up). */
/* -DSG_PORTABLE_ONLY (make check-portable) leaves the AVX2 versions out, as rgemm.c's kernel,
 * so that the tests run the paths of CPUs without AVX2. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(__SANITIZE_THREAD__) && !defined(SG_PORTABLE_ONLY)
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
static inline float sg_sigmoid_lane(float x)
{
    return 1.0f / (1.0f + sg_expf(-x));
}

/* tanh(x) = 2 sigmoid(2x) - 1; absolute error ~1e-7 near 0, where float rounding of the
 * pre-activation is of the same order. */
static inline float sg_tanh_lane(float x)
{
    return 2.0f / (1.0f + sg_expf(-2.0f * x)) - 1.0f;
}

/* out[k] = exp(a[k] - shift) for n values by sg_expf (about 2 ulp, at least exp(-87)); out may
 * be a itself. The terms of a softmax. */
void sg_exp_shifted(int n, const float *a, float shift, float *out);

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
