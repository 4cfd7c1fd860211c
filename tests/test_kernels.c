/* The math kernels against plain double-precision loops: the GEMM wrapper (all four transpose
 * combinations, strided operands) and weighted row sums. The GRU's gate arithmetic, which uses
 * the vectorised activations of kernels.h, is tested in test_gru.c. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "rng.h"

static float uniform(sg_rng *rng, float lo, float hi)
{
    return lo + (hi - lo) * sg_rng_float(rng);
}

static void gemm_matches_loops(void **state)
{
    (void)state;
    sg_rng rng;
    sg_rng_seed(&rng, 1, 1);
    const int m = 5, n = 7, k = 9, pad = 3;
    float a[(9 + 3) * (9 + 3)], b[(9 + 3) * (9 + 3)], c[5 * (7 + 3)];
    for (int ta = 0; ta <= 1; ta++)
        for (int tb = 0; tb <= 1; tb++) {
            const int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
            for (size_t i = 0; i < sizeof a / sizeof *a; i++)
                a[i] = uniform(&rng, -1, 1), b[i] = uniform(&rng, -1, 1);
            for (size_t i = 0; i < sizeof c / sizeof *c; i++)
                c[i] = uniform(&rng, -1, 1);
            float c0[sizeof c / sizeof *c];
            memcpy(c0, c, sizeof c);
            sg_gemm(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 2.0f, c, ldc);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double sum = 0.0;
                    for (int p = 0; p < k; p++)
                        sum += (double)(ta ? a[p * lda + i] : a[i * lda + p]) *
                               (tb ? b[j * ldb + p] : b[p * ldb + j]);
                    assert_allclose(c[i * ldc + j], 0.5 * sum + 2.0 * c0[i * ldc + j], 1e-5, 1e-6);
                }
            for (int i = 0; i < m; i++) /* padding untouched */
                for (int j = n; j < ldc; j++)
                    assert_true(c[i * ldc + j] == c0[i * ldc + j]);
        }
}

/* Weighted row sums (the input-weight gradient when D = 1): blocks of 8 and remainders, strided
 * rows, added to what out held. */
static void sum_rows_weighted_matches_loops(void **state)
{
    (void)state;
    enum { ROWS = 37, LD = 23 };
    sg_rng rng;
    sg_rng_seed(&rng, 4, 1);
    float x[ROWS * LD], weights[ROWS], out[LD], out0[LD];
    for (int i = 0; i < ROWS * LD; i++)
        x[i] = uniform(&rng, -1, 1);
    for (int i = 0; i < ROWS; i++)
        weights[i] = uniform(&rng, -1, 1);
    const int widths[] = {1, 8, 13, 20};
    for (int w = 0; w < 4; w++) {
        const int cols = widths[w];
        for (int j = 0; j < LD; j++)
            out[j] = out0[j] = uniform(&rng, -1, 1);
        sg_sum_rows_weighted(ROWS, cols, weights, x, LD, out);
        for (int j = 0; j < LD; j++) {
            double sum = out0[j]; /* columns from `cols` on keep their value */
            for (int i = 0; j < cols && i < ROWS; i++)
                sum += (double)weights[i] * x[i * LD + j];
            assert_allclose(out[j], sum, 1e-5, 1e-6);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gemm_matches_loops),
        cmocka_unit_test(sum_rows_weighted_matches_loops),
    };
    return cmocka_run_group_tests_name("kernels", tests, NULL, NULL);
}
