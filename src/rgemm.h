/* Recurrent GEMM: pack once, multiply many times. The GRU multiplies by the same W_hh at every
 * step of a sequence, with few rows per product (a thread's slice of the batch); a BLAS packs
 * its operand again at every call. Here the right-hand operand B [K][N] is packed once into
 * panels of SG_RGEMM_NR columns, stored k by k ([K][NR] per panel, the last one padded with
 * zeros), and each product runs a register-blocked micro-kernel over those panels with the
 * left-hand operand read in place.
 *
 * Every element of a product is the sum over k in increasing order, accumulated from zero and
 * then added to C or stored: the result of a row depends neither on the other rows nor on how
 * many there are. On x86-64 CPUs with AVX2 and FMA the sums use fused multiply-adds (chosen at
 * run time); elsewhere a portable C loop multiplies and adds. Nothing here allocates. */
#ifndef SEQGEN_RGEMM_H
#define SEQGEN_RGEMM_H

#include <stddef.h>

/* Columns per panel: two 8-float AVX2 vectors. */
#define SG_RGEMM_NR 16

/* A packed B [K][N]: ceil(N / SG_RGEMM_NR) panels of K x SG_RGEMM_NR floats, 64-byte aligned. */
typedef struct sg_rgemm_packed {
    const float *panels;
    int k, n;
} sg_rgemm_packed;

/* Floats a buffer needs to hold B [K][N] packed, alignment slack included. */
size_t sg_rgemm_packed_floats(int k, int n);

/* Packs B [K][N], element (k, n) at b[k * k_stride + n * n_stride], into `buffer` (of
 * sg_rgemm_packed_floats(k, n) floats). A row-major matrix is (k_stride, n_stride) = (ld, 1),
 * the transpose of a row-major [N][K] matrix is (1, ld). The result points into `buffer`. */
sg_rgemm_packed sg_rgemm_pack(int k, int n, const float *b, size_t k_stride, size_t n_stride,
                              float *buffer);

/* C [M][N] = A [M][K] B, or C += A B if `accumulate`; A and C row-major with row strides lda
 * and ldc (columns of C beyond N are not touched). Picks the AVX2 + FMA kernel when the CPU
 * has it (unless built with -DSG_PORTABLE_ONLY), else sg_rgemm_multiply_portable. */
void sg_rgemm_multiply(int m, const float *a, size_t lda, const sg_rgemm_packed *b, float *c,
                       size_t ldc, int accumulate);

/* The same product on any CPU, multiplying and adding without FMA (the path of CPUs without
 * AVX2; tests run it everywhere). */
void sg_rgemm_multiply_portable(int m, const float *a, size_t lda, const sg_rgemm_packed *b,
                                float *c, size_t ldc, int accumulate);

#endif
