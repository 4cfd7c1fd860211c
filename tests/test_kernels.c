/* The math kernels against plain double-precision loops: the GEMM wrapper (all four transpose
 * combinations, strided operands), the fused gate arithmetic with its vectorised exp over the
 * whole float range (tiny, huge, saturating, NaN), in blocks of 8 and in remainders, the
 * gate backward against the derivative of the same equations, and weighted row sums. */
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

static double sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* H = 13: one block of 8 and a remainder of 5. Pre-activations from tiny to huge. */
static void gates_forward_matches_the_equations(void **state)
{
    (void)state;
    enum { H = 13, ROWS = 40, G = 3 * H };
    sg_rng rng;
    sg_rng_seed(&rng, 2, 1);
    static float gi[ROWS][G], gh[ROWS][G], hp[ROWS][H], ho[ROWS][H], gates[ROWS][4 * H];
    float b_ih[G], b_hh[G], sink[4 * H];
    const float scales[] = {1e-6f, 0.1f, 1.0f, 5.0f, 30.0f, 100.0f, 1e4f, 1e30f};
    for (int r = 0; r < ROWS; r++) {
        float s = scales[r % 8];
        for (int j = 0; j < G; j++)
            gi[r][j] = uniform(&rng, -s, s), gh[r][j] = uniform(&rng, -s, s);
        for (int j = 0; j < H; j++)
            hp[r][j] = uniform(&rng, -1, 1);
    }
    for (int j = 0; j < G; j++)
        b_ih[j] = uniform(&rng, -0.5f, 0.5f), b_hh[j] = uniform(&rng, -0.5f, 0.5f);
    sg_gru_gates_forward(ROWS, H, &gi[0][0], G, &gh[0][0], b_ih, b_hh, &hp[0][0], &ho[0][0],
                         &gates[0][0], sink);
    for (int r = 0; r < ROWS; r++)
        for (int j = 0; j < H; j++) {
            double rg = sigmoid((double)gi[r][j] + b_ih[j] + gh[r][j] + b_hh[j]);
            double z = sigmoid((double)gi[r][H + j] + b_ih[H + j] + gh[r][H + j] + b_hh[H + j]);
            double hn = (double)gh[r][2 * H + j] + b_hh[2 * H + j];
            double n = tanh((double)gi[r][2 * H + j] + b_ih[2 * H + j] + rg * hn);
            /* absolute 3e-7: the float rounding of pre-activations and of tanh near 0 */
            assert_allclose(gates[r][j], rg, 1e-6, 3e-7);
            assert_allclose(gates[r][H + j], z, 1e-6, 3e-7);
            assert_allclose(gates[r][2 * H + j], n, 1e-6, 3e-7);
            assert_allclose(gates[r][3 * H + j], hn, 1e-6, 0.0);
            assert_allclose(ho[r][j], (1.0 - z) * n + z * hp[r][j], 1e-6, 3e-7);
        }
    /* without a gate cache the outputs are the same */
    static float ho2[ROWS][H];
    sg_gru_gates_forward(ROWS, H, &gi[0][0], G, &gh[0][0], b_ih, b_hh, &hp[0][0], &ho2[0][0], NULL,
                         sink);
    assert_memory_equal(ho, ho2, sizeof ho);
}

static void gates_forward_propagates_nan(void **state)
{
    (void)state;
    enum { H = 9, G = 27 };
    float gi[G] = {0}, gh[G] = {0}, b[G] = {0}, hp[H] = {0}, ho[H], gates[4 * H];
    gi[3] = NAN;          /* r of unit 3 */
    gh[H + 8] = INFINITY; /* z of unit 8 (the remainder path) */
    sg_gru_gates_forward(1, H, gi, G, gh, b, b, hp, ho, gates, NULL);
    assert_true(isnan(ho[3]));
    assert_true(isnan(ho[8]));
    assert_true(isfinite(ho[0]));
}

/* The backward kernel against central differences of the forward kernel in float at a
 * moderate point (step 1e-2, gates far from saturation, tolerance 1e-3 of the scale). */
static void gates_backward_matches_differences(void **state)
{
    (void)state;
    enum { H = 10, G = 30 };
    sg_rng rng;
    sg_rng_seed(&rng, 3, 1);
    float gi[G], gh[G], b_ih[G], b_hh[G], hp[H], ho[H], gates[4 * H], dh[H], dout[H], dg[4 * H];
    for (int j = 0; j < G; j++)
        gi[j] = uniform(&rng, -1, 1), gh[j] = uniform(&rng, -1, 1), b_ih[j] = b_hh[j] = 0.0f;
    for (int j = 0; j < H; j++)
        hp[j] = uniform(&rng, -1, 1), dout[j] = uniform(&rng, -1, 1);
    sg_gru_gates_forward(1, H, gi, G, gh, b_ih, b_hh, hp, ho, gates, NULL);
    memcpy(dh, dout, sizeof dh);
    sg_gru_gates_backward(1, H, dh, gates, hp, dg);
    const float eps = 1e-2f;
    /* L = sum dout * h_out; d L / d gi (columns dr, dz, dn) and d L / d gh (dr, dz, dhn) */
    for (int side = 0; side < 2; side++)
        for (int c = 0; c < G; c++) {
            float *v = side ? &gh[c] : &gi[c], saved = *v;
            double loss[2];
            for (int s = 0; s < 2; s++) {
                *v = saved + (s ? -eps : eps);
                sg_gru_gates_forward(1, H, gi, G, gh, b_ih, b_hh, hp, ho, gates, NULL);
                loss[s] = 0.0;
                for (int j = 0; j < H; j++)
                    loss[s] += (double)dout[j] * ho[j];
            }
            *v = saved;
            double fd = (loss[0] - loss[1]) / (2.0 * eps);
            int col = c < 2 * H ? c : (side ? c : c + H); /* n: dhn for gh, dn for gi */
            assert_allclose(dg[col], fd, 2e-3, 2e-4);
        }
    /* and the direct path to h_prev is z * dout */
    sg_gru_gates_forward(1, H, gi, G, gh, b_ih, b_hh, hp, ho, gates, NULL);
    for (int j = 0; j < H; j++)
        assert_allclose(dh[j], gates[H + j] * dout[j], 1e-6, 0.0);
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
        cmocka_unit_test(gates_forward_matches_the_equations),
        cmocka_unit_test(gates_forward_propagates_nan),
        cmocka_unit_test(gates_backward_matches_differences),
        cmocka_unit_test(sum_rows_weighted_matches_loops),
    };
    return cmocka_run_group_tests_name("kernels", tests, NULL, NULL);
}
