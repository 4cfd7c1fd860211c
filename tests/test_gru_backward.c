/* The library's backward pass against the hand-written double-precision backward of the test
 * reference (ref_backward in tests/gru_reference.h), at sizes where the fast path's blocking is
 * exercised; and that reference backward against finite differences of the reference forward,
 * so that it is checked independently of the library.
 *
 * A suite of its own, not part of test_gradcheck: it uses only the public API (no src/ header),
 * so it holds whichever file the kernels live in, and it runs the sizes finite differences are
 * too slow for. Those sizes fill the recurrent GEMM's panels (src/rgemm.c: 16 columns per
 * panel, tiles of up to 6 rows): H = 40 and 67 make the forward's N = 3H = 120 and 201 (7 and 12
 * full panels plus a partial one) and the backward's N = H = 40 and 67 (2 and 4 full panels plus
 * a partial one); B = 9 gives row blocks of 4 and 5 with one thread and slices of 4 and 5 rows
 * with two; T = 12 is more than one chunk of 8 steps (the batched input projection and weight
 * gradients); L = 2 sends a gradient down into a layer with an input of size H. On a CPU with
 * AVX2 the model uses the AVX2 kernel; building with CPPFLAGS=-DSG_PORTABLE_ONLY runs
 * this suite on the portable one.
 *
 * Tolerance (library vs reference), per tensor: 3e-5 of the largest reference gradient in the
 * tensor plus 3e-4 relative. The library computes in float: every gate and product is rounded
 * to ~6e-8 relative, sg_expf is within ~2 ulp, and the backward sums B*T = 108 such terms per
 * weight over 12 recurrent steps. Measured, the worst error of any element is 2.3e-6 of its
 * tensor's largest gradient with the AVX2 kernel (1e-6 with the portable one): the tolerance
 * leaves a margin of 13 and lies far below a real mistake: a wrong gate derivative, or storing
 * instead of accumulating in one panel or one row block of the recurrent product, moves the
 * worst element by 0.76 to 85 times its tensor's largest gradient, and even scaling one row
 * block's recurrent product by 1.001 moves it by 9e-3. The loss and probabilities are compared
 * at 1e-5 relative, as in test_model. The reference backward against central finite
 * differences (both double, step 1e-5: truncation ~1e-10, rounding ~1e-11; measured 2e-9 of the
 * largest gradient): 1e-7 of the largest gradient plus 1e-5 relative. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gru_reference.h"
#include "seqgen.h"

#define FD_STEP 1e-5

/* splitmix64: the test's own data, independent of the library's generators. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* A model whose parameters are 3 times PyTorch's initialisation, so that gates are away from
 * their linear regime and every term of the backward matters. */
static seqgen_model *make_model(int D, int H, int L, int threads)
{
    seqgen_model *m = tu_make_model(D, H, L, 11, threads);
    for (int i = 0; i < seqgen_model_tensor_count(m); i++) {
        const char *name;
        int rows, cols;
        assert_ok(seqgen_model_tensor_info(m, i, &name, &rows, &cols));
        const size_t count = (size_t)rows * cols;
        float *values = malloc(count * sizeof *values);
        assert_non_null(values);
        assert_ok(seqgen_model_get_tensor(m, name, values, count));
        for (size_t k = 0; k < count; k++)
            values[k] *= 3.0f;
        assert_ok(seqgen_model_set_tensor(m, name, values, count));
        free(values);
    }
    return m;
}

/* Random 0/1 inputs x [B][T][D] and targets y = x shifted by one step (last step random), in
 * float for the library and in double for the reference. */
typedef struct batch_data {
    int B, T, D;
    float *x, *y;
    double *xd, *yd;
} batch_data;

static batch_data make_data(int B, int T, int D, uint64_t seed)
{
    const size_t n = (size_t)B * T * D;
    batch_data data = {B, T, D, malloc(n * sizeof(float)), malloc(n * sizeof(float)),
                       malloc(n * sizeof(double)), malloc(n * sizeof(double))};
    assert_true(data.x && data.y && data.xd && data.yd);
    for (size_t i = 0; i < n; i++)
        data.x[i] = (float)(next_u64(&seed) & 1);
    for (size_t i = 0; i < n; i++) {
        const size_t t = i / D % T;
        data.y[i] = t + 1 < (size_t)T ? data.x[i + D] : (float)(next_u64(&seed) & 1);
    }
    for (size_t i = 0; i < n; i++)
        data.xd[i] = data.x[i], data.yd[i] = data.y[i];
    return data;
}

static void free_data(batch_data *data)
{
    free(data->x), free(data->y), free(data->xd), free(data->yd);
}

/* A gradient table of r's layout. */
static double **alloc_grads(const ref_model *r)
{
    double **g = calloc(r->count, sizeof *g);
    assert_non_null(g);
    for (int i = 0; i < r->count; i++) {
        g[i] = malloc(r->n[i] * sizeof *g[i]);
        assert_non_null(g[i]);
    }
    return g;
}

static void free_grads(const ref_model *r, double **g)
{
    for (int i = 0; i < r->count; i++)
        free(g[i]);
    free(g);
}

static double largest(const double *v, size_t n)
{
    double biggest = 0.0;
    for (size_t i = 0; i < n; i++)
        biggest = fmax(biggest, fabs(v[i]));
    return biggest;
}

/* ---- The reference backward against finite differences of the reference forward ----------- */

static void reference_against_differences(int D, int H, int L, seqgen_loss loss, int mixing)
{
    const int B = 3, T = 7;
    seqgen_model *m = make_model(D, H, L, 1);
    ref_model r;
    ref_load(&r, m);
    batch_data data = make_data(B, T, D, 5);
    const size_t n = (size_t)B * T * D;
    unsigned char *teacher = malloc((size_t)B * T);
    double *fed = malloc(n * sizeof *fed), *logits = malloc(n * sizeof *logits);
    assert_true(teacher && fed && logits);
    uint64_t seed = 17;
    for (size_t i = 0; i < (size_t)B * T; i++)
        teacher[i] = next_u64(&seed) % 3 == 0; /* two thirds fed back */
    const unsigned char *pattern = mixing ? teacher : NULL;

    double **grads = alloc_grads(&r);
    const double value = ref_backward(&r, B, T, data.xd, pattern, SEQGEN_FEEDBACK_PROB, loss,
                                      data.yd, grads, logits);
    /* The inputs fed (true or fed back), then held fixed while the parameters move. */
    ref_forward(&r, B, T, data.xd, pattern, SEQGEN_FEEDBACK_PROB, fed, logits);
    assert_allclose(value, ref_loss(loss, n, logits, data.yd), 1e-14, 0.0);
    for (int k = 0; k < r.count; k++) {
        const double biggest = largest(grads[k], r.n[k]);
        assert_true(biggest > 0.0); /* every tensor takes part in the loss */
        for (size_t i = 0; i < r.n[k]; i++) {
            const double saved = r.t[k][i];
            r.t[k][i] = saved + FD_STEP;
            ref_forward(&r, B, T, fed, NULL, SEQGEN_FEEDBACK_PROB, NULL, logits);
            const double up = ref_loss(loss, n, logits, data.yd);
            r.t[k][i] = saved - FD_STEP;
            ref_forward(&r, B, T, fed, NULL, SEQGEN_FEEDBACK_PROB, NULL, logits);
            const double down = ref_loss(loss, n, logits, data.yd);
            r.t[k][i] = saved;
            assert_allclose(grads[k][i], (up - down) / (2.0 * FD_STEP), 1e-5, 1e-7 * biggest);
        }
    }
    free_grads(&r, grads);
    ref_free(&r);
    seqgen_model_free(m);
    free_data(&data);
    free(teacher), free(fed), free(logits);
}

static void reference_matches_differences_mse(void **state)
{
    (void)state;
    reference_against_differences(2, 5, 2, SEQGEN_LOSS_MSE, 0);
    reference_against_differences(1, 4, 3, SEQGEN_LOSS_MSE, 1);
}

static void reference_matches_differences_bce(void **state)
{
    (void)state;
    reference_against_differences(2, 5, 2, SEQGEN_LOSS_BCE, 0);
    reference_against_differences(3, 4, 1, SEQGEN_LOSS_BCE, 1);
}

/* ---- The library against the reference backward ------------------------------------------- */

/* teacher_prob 1 (teacher forcing) or 0: every input at t > 0 is the model's own probability
 * of the step before, the one scheduled-sampling pattern the public API fixes. */
static void library_against_reference(int D, int H, seqgen_loss loss, double teacher_prob)
{
    const int B = 9, T = 12, L = 2;
    const size_t n = (size_t)B * T * D;
    batch_data data = make_data(B, T, D, (uint64_t)H * 8 + D);
    seqgen_model *m = make_model(D, H, L, 1);
    ref_model r;
    ref_load(&r, m);
    double **grads = alloc_grads(&r);
    double *logits = malloc(n * sizeof *logits);
    float *probs = malloc(n * sizeof *probs);
    assert_true(logits && probs);
    unsigned char *teacher = NULL;
    if (teacher_prob < 1.0) {
        teacher = calloc((size_t)B * T, 1);
        assert_non_null(teacher);
    }
    const double value = ref_backward(&r, B, T, data.xd, teacher, SEQGEN_FEEDBACK_PROB, loss,
                                      data.yd, grads, logits);

    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = loss;
    opts.teacher_prob = teacher_prob;
    opts.feedback = SEQGEN_FEEDBACK_PROB;
    for (int threads = 1; threads <= 2; threads++) {
        assert_ok(seqgen_model_set_threads(m, threads));
        seqgen_train_stats st;
        assert_ok(seqgen_model_forward_backward(m, &(seqgen_batch){data.x, data.y, 0, B, T, 0, NULL}, &opts,
                                                probs, &st));
        assert_allclose(st.loss, value, 1e-5, 0.0);
        for (size_t i = 0; i < n; i++)
            assert_allclose(probs[i], ref_sigmoid(logits[i]), 1e-5, 1e-7);
        for (int k = 0; k < r.count; k++) {
            const double biggest = largest(grads[k], r.n[k]);
            assert_true(biggest > 0.0);
            float *grad = malloc(r.n[k] * sizeof *grad);
            assert_non_null(grad);
            assert_ok(seqgen_model_get_grad(m, r.names[k], grad, r.n[k]));
            for (size_t i = 0; i < r.n[k]; i++)
                assert_allclose(grad[i], grads[k][i], 3e-4, 3e-5 * biggest);
            free(grad);
        }
    }
    free_grads(&r, grads);
    ref_free(&r);
    seqgen_model_free(m);
    free_data(&data);
    free(logits), free(probs), free(teacher);
}

static void hidden_40_three_pixels(void **state)
{
    (void)state;
    library_against_reference(3, 40, SEQGEN_LOSS_MSE, 1.0);
    library_against_reference(3, 40, SEQGEN_LOSS_BCE, 1.0);
}

static void hidden_40_one_pixel(void **state)
{
    (void)state;
    library_against_reference(1, 40, SEQGEN_LOSS_MSE, 1.0);
    library_against_reference(1, 40, SEQGEN_LOSS_BCE, 1.0);
}

static void hidden_67_three_pixels(void **state)
{
    (void)state;
    library_against_reference(3, 67, SEQGEN_LOSS_MSE, 1.0);
    library_against_reference(3, 67, SEQGEN_LOSS_BCE, 1.0);
}

static void hidden_67_one_pixel(void **state)
{
    (void)state;
    library_against_reference(1, 67, SEQGEN_LOSS_MSE, 1.0);
    library_against_reference(1, 67, SEQGEN_LOSS_BCE, 1.0);
}

/* The step-by-step forward of scheduled sampling, fed-back inputs held constant. */
static void every_input_fed_back(void **state)
{
    (void)state;
    library_against_reference(3, 67, SEQGEN_LOSS_BCE, 0.0);
    library_against_reference(1, 40, SEQGEN_LOSS_MSE, 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reference_matches_differences_mse),
        cmocka_unit_test(reference_matches_differences_bce),
        cmocka_unit_test(hidden_40_three_pixels),
        cmocka_unit_test(hidden_40_one_pixel),
        cmocka_unit_test(hidden_67_three_pixels),
        cmocka_unit_test(hidden_67_one_pixel),
        cmocka_unit_test(every_input_fed_back),
    };
    return cmocka_run_group_tests_name("gru_backward", tests, NULL, NULL);
}
