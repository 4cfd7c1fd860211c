/* The recurrent GEMM (rgemm.h) against a plain double-precision triple loop, for both of the
 * GRU's products with W_hh (h W_hh^T and dG W_hh, dG with row stride 4H), hidden sizes 1 to 130
 * (full and partial panels), every row count from 1 to 70 (full and partial row blocks),
 * overwriting and accumulating, through the dispatching and the portable path. Also: columns of
 * C beyond N stay untouched, and a row's result does not depend on how many rows are multiplied
 * with it (completion relies on it to match the single-step API bit for bit). */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rgemm.h"
#include "rng.h"

#define MAX_ROWS 70
#define PAD 3 /* columns of C beyond N */

typedef void multiply_fn(int m, const float *a, size_t lda, const sg_rgemm_packed *b, float *c,
                         size_t ldc, int accumulate);

static float *random_floats(sg_rng *rng, size_t count)
{
    float *x = malloc(count * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < count; i++)
        x[i] = 2.0f * sg_rng_float(rng) - 1.0f;
    return x;
}

/* One of the two products for hidden size H: B [K][N] is W_hh [3H][H] (backward) or its
 * transpose (forward), A [rows][K] has row stride lda. */
typedef struct product {
    int hidden, k, n;
    size_t lda, ldc;
    const float *w, *a;
    int backward;
} product;

static double b_at(const product *p, int k, int n)
{
    const size_t H = (size_t)p->hidden;
    return p->backward ? p->w[k * H + n] : p->w[n * H + k];
}

/* exact[i][j] = sum_k A[i][k] B[k][j] in double; bound[i][j] = sum_k |A[i][k] B[k][j]|. */
static void reference(const product *p, double *exact, double *bound)
{
    for (int i = 0; i < MAX_ROWS; i++)
        for (int j = 0; j < p->n; j++) {
            double sum = 0.0, abs_sum = 0.0;
            for (int k = 0; k < p->k; k++) {
                double term = (double)p->a[i * p->lda + k] * b_at(p, k, j);
                sum += term;
                abs_sum += fabs(term);
            }
            exact[i * p->n + j] = sum;
            bound[i * p->n + j] = abs_sum;
        }
}

/* All MAX_ROWS rows against the reference (float rounding of sums of up to 390 terms: 1e-5 of
 * the sum of magnitudes, while one term missing or wrong is about 1/K of it); padding kept. */
static void check_all_rows(const product *p, const float *c, const float *c0, int accumulate,
                           const double *exact, const double *bound)
{
    for (int i = 0; i < MAX_ROWS; i++) {
        for (int j = 0; j < p->n; j++) {
            double expected = exact[i * p->n + j] + (accumulate ? c0[i * p->ldc + j] : 0.0);
            assert_allclose(c[i * p->ldc + j], expected, 1e-6, 1e-5 * bound[i * p->n + j]);
        }
        for (size_t j = (size_t)p->n; j < p->ldc; j++)
            assert_true(c[i * p->ldc + j] == c0[i * p->ldc + j]);
    }
}

static void check_product(multiply_fn *multiply, int hidden, int backward)
{
    const int H = hidden;
    sg_rng rng;
    sg_rng_seed(&rng, (uint64_t)H, (uint64_t)backward);
    product p = {H, backward ? 3 * H : H, backward ? H : 3 * H, backward ? 4 * H : H, 0, NULL, NULL,
                 backward};
    p.ldc = (size_t)p.n + PAD;
    float *w = random_floats(&rng, (size_t)3 * H * H), *a = random_floats(&rng, MAX_ROWS * p.lda);
    float *c0 = random_floats(&rng, MAX_ROWS * p.ldc), *c = malloc(MAX_ROWS * p.ldc * sizeof *c);
    float *all = malloc(MAX_ROWS * p.ldc * sizeof *all);
    float *buffer = malloc(sg_rgemm_packed_floats(p.k, p.n) * sizeof *buffer);
    double *exact = malloc((size_t)MAX_ROWS * p.n * sizeof *exact);
    double *bound = malloc((size_t)MAX_ROWS * p.n * sizeof *bound);
    assert_true(c && all && buffer && exact && bound);
    p.w = w, p.a = a;
    const sg_rgemm_packed b = backward ? sg_rgemm_pack(p.k, p.n, w, H, 1, buffer)
                                       : sg_rgemm_pack(p.k, p.n, w, 1, H, buffer);
    reference(&p, exact, bound);
    const size_t bytes = MAX_ROWS * p.ldc * sizeof *c;
    for (int accumulate = 0; accumulate <= 1; accumulate++) {
        memcpy(all, c0, bytes);
        multiply(MAX_ROWS, a, p.lda, &b, all, p.ldc, accumulate);
        check_all_rows(&p, all, c0, accumulate, exact, bound);
        for (int rows = 1; rows < MAX_ROWS; rows++) {
            memcpy(c, c0, bytes);
            multiply(rows, a, p.lda, &b, c, p.ldc, accumulate);
            assert_memory_equal(c, all, rows * p.ldc * sizeof *c);
            assert_memory_equal(c + rows * p.ldc, c0 + rows * p.ldc,
                                (MAX_ROWS - rows) * p.ldc * sizeof *c);
        }
    }
    free(w), free(a), free(c0), free(c), free(all), free(buffer), free(exact), free(bound);
}

static void check_every_size(multiply_fn *multiply)
{
    const int hidden[] = {1, 5, 11, 16, 32, 128, 130};
    for (size_t i = 0; i < sizeof hidden / sizeof *hidden; i++)
        for (int backward = 0; backward <= 1; backward++)
            check_product(multiply, hidden[i], backward);
}

static void product_matches_loops(void **state)
{
    (void)state;
    check_every_size(sg_rgemm_multiply);
}

static void portable_product_matches_loops(void **state)
{
    (void)state;
    check_every_size(sg_rgemm_multiply_portable);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(product_matches_loops),
        cmocka_unit_test(portable_product_matches_loops),
    };
    return cmocka_run_group_tests_name("rgemm", tests, NULL, NULL);
}
