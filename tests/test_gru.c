/* The GRU layer's gate arithmetic against plain double-precision loops: the forward with its
 * vectorised exp over the whole float range (tiny, huge, saturating, NaN), in blocks of 8 and in
 * remainders, and the gate backward against the derivative of the same equations. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gru.h"
#include "rng.h"

static float uniform(sg_rng *rng, float lo, float hi)
{
    return lo + (hi - lo) * sg_rng_float(rng);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gates_forward_matches_the_equations),
        cmocka_unit_test(gates_forward_propagates_nan),
        cmocka_unit_test(gates_backward_matches_differences),
    };
    return cmocka_run_group_tests_name("gru", tests, NULL, NULL);
}
