/* Recurrent GEMM: B packed once in column panels, products by a register-blocked micro-kernel
 * (see rgemm.h). */
#include "rgemm.h"

#include <stdint.h>

#define NR SG_RGEMM_NR
/* Rows per tile: 6 x 16 = 12 AVX2 accumulators, two B vectors and one broadcast A value fit in
 * the 16 vector registers. */
#define MR 6
/* Panels start on a cache line so that no vector load of B straddles two. */
#define ALIGN_BYTES 64

/* Building with -DSG_PORTABLE_ONLY (make check-portable) leaves the AVX2 kernel out, so that
 * the model's tests run the portable kernel on a CPU that has AVX2. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(SG_PORTABLE_ONLY)
#define SG_RGEMM_AVX2 1
#include <immintrin.h>
#endif

static int panel_count(int n)
{
    return (n + NR - 1) / NR;
}

size_t sg_rgemm_packed_floats(int k, int n)
{
    return (size_t)panel_count(n) * k * NR + ALIGN_BYTES / sizeof(float);
}

sg_rgemm_packed sg_rgemm_pack(int k, int n, const float *b, size_t k_stride, size_t n_stride,
                              float *buffer)
{
    uintptr_t at = ((uintptr_t)buffer + ALIGN_BYTES - 1) & ~(uintptr_t)(ALIGN_BYTES - 1);
    float *panels = (float *)at, *p = panels;
    for (int j0 = 0; j0 < n; j0 += NR)
        for (int kk = 0; kk < k; kk++)
            for (int j = j0; j < j0 + NR; j++)
                *p++ = j < n ? b[kk * k_stride + j * n_stride] : 0.0f;
    sg_rgemm_packed packed = {panels, k, n};
    return packed;
}

/* C's tile [rows][cols] = (or +=) acc; acc has NR columns, of which `cols` are kept. */
static void store_tile(int rows, int cols, float acc[MR][NR], float *c, size_t ldc, int accumulate)
{
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

/* One tile of C: rows [0, rows) (at most MR) of A times one panel, `cols` columns kept. */
typedef void tile_kernel(int rows, int k, const float *a, size_t lda, const float *panel, float *c,
                         size_t ldc, int cols, int accumulate);

static void tile_portable(int rows, int k, const float *a, size_t lda, const float *panel,
                          float *c, size_t ldc, int cols, int accumulate)
{
    float acc[MR][NR] = {{0.0f}};
    for (int p = 0; p < k; p++)
        for (int i = 0; i < rows; i++) {
            const float ai = a[i * lda + p];
            for (int j = 0; j < NR; j++)
                acc[i][j] += ai * panel[p * NR + j];
        }
    store_tile(rows, cols, acc, c, ldc, accumulate);
}

#ifdef SG_RGEMM_AVX2
#define SG_TARGET_AVX2_FMA __attribute__((target("avx2,fma")))

/* The tile with a constant row count, so that the accumulators stay in registers. */
SG_TARGET_AVX2_FMA static inline __attribute__((always_inline)) void
tile_avx2_rows(const int rows, int k, const float *a, size_t lda, const float *panel, float *c,
               size_t ldc, int cols, int accumulate)
{
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int i = 0; i < rows; i++)
        acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (int p = 0; p < k; p++) {
        const __m256 b0 = _mm256_load_ps(panel + p * NR), b1 = _mm256_load_ps(panel + p * NR + 8);
#pragma GCC unroll 6
        for (int i = 0; i < rows; i++) {
            const __m256 ai = _mm256_broadcast_ss(a + i * lda + p);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
    if (cols < NR) {
        float tile[MR][NR];
#pragma GCC unroll 6
        for (int i = 0; i < rows; i++) {
            _mm256_storeu_ps(tile[i], acc[i][0]);
            _mm256_storeu_ps(tile[i] + 8, acc[i][1]);
        }
        store_tile(rows, cols, tile, c, ldc, accumulate);
        return;
    }
#pragma GCC unroll 6
    for (int i = 0; i < rows; i++) {
        float *ci = c + i * ldc;
        if (accumulate) {
            acc[i][0] = _mm256_add_ps(_mm256_loadu_ps(ci), acc[i][0]);
            acc[i][1] = _mm256_add_ps(_mm256_loadu_ps(ci + 8), acc[i][1]);
        }
        _mm256_storeu_ps(ci, acc[i][0]);
        _mm256_storeu_ps(ci + 8, acc[i][1]);
    }
}

SG_TARGET_AVX2_FMA static void tile_avx2(int rows, int k, const float *a, size_t lda,
                                         const float *panel, float *c, size_t ldc, int cols,
                                         int accumulate)
{
    switch (rows) {
    case 1: tile_avx2_rows(1, k, a, lda, panel, c, ldc, cols, accumulate); break;
    case 2: tile_avx2_rows(2, k, a, lda, panel, c, ldc, cols, accumulate); break;
    case 3: tile_avx2_rows(3, k, a, lda, panel, c, ldc, cols, accumulate); break;
    case 4: tile_avx2_rows(4, k, a, lda, panel, c, ldc, cols, accumulate); break;
    case 5: tile_avx2_rows(5, k, a, lda, panel, c, ldc, cols, accumulate); break;
    default: tile_avx2_rows(MR, k, a, lda, panel, c, ldc, cols, accumulate); break;
    }
}
#endif

/* Panel by panel (the panel stays in L1 while every row block uses it); the M rows are split
 * into blocks of at most MR as even as possible, so that no block is left with a row or two. */
static void multiply(tile_kernel *tile, int m, const float *a, size_t lda,
                     const sg_rgemm_packed *b, float *c, size_t ldc, int accumulate)
{
    const int blocks = (m + MR - 1) / MR;
    for (int j0 = 0; j0 < b->n; j0 += NR) {
        const float *panel = b->panels + (size_t)(j0 / NR) * b->k * NR;
        const int cols = b->n - j0 < NR ? b->n - j0 : NR;
        for (int blk = 0; blk < blocks; blk++) {
            const int i0 = (int)((long long)m * blk / blocks);
            const int i1 = (int)((long long)m * (blk + 1) / blocks);
            tile(i1 - i0, b->k, a + i0 * lda, lda, panel, c + i0 * ldc + j0, ldc, cols,
                 accumulate);
        }
    }
}

void sg_rgemm_multiply_portable(int m, const float *a, size_t lda, const sg_rgemm_packed *b,
                                float *c, size_t ldc, int accumulate)
{
    multiply(tile_portable, m, a, lda, b, c, ldc, accumulate);
}

void sg_rgemm_multiply(int m, const float *a, size_t lda, const sg_rgemm_packed *b, float *c,
                       size_t ldc, int accumulate)
{
#ifdef SG_RGEMM_AVX2
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        multiply(tile_avx2, m, a, lda, b, c, ldc, accumulate);
        return;
    }
#endif
    sg_rgemm_multiply_portable(m, a, lda, b, c, ldc, accumulate);
}
