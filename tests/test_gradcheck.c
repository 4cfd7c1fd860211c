/* Gradients of the backward pass against central finite differences of the double-precision
 * reference (tests/gru_reference.h), for both losses, every parameter tensor, L = 1 and 3,
 * D = 1 and 2, and with a fixed scheduled-sampling pattern (the fed-back values held constant,
 * as the stop-gradient says); and for the categorical model (embedding, softmax, cross-entropy)
 * against a reference written out here, with lengths, a start step and argmax feedback.
 *
 * Why double: the loss is a mean over B*T*D values; in float its rounding (~1e-7 relative)
 * divided by a step of 1e-3 would swamp gradients of 1e-4. In double, with a step of 1e-5 the
 * truncation error (~step^2 * third derivative) and the rounding (~1e-16 / step) are both far
 * below 1e-8, so the difference quotient is exact for our purpose, and the only error left is
 * the float arithmetic of the library (~1e-6 relative). Tolerance per tensor: 1e-4 of the
 * largest gradient in it plus 1e-3 relative, far below the size of any real mistake (a wrong
 * sign, gate or missing term changes a gradient by O(1) of its size). */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gru_reference.h"
#include "model.h"
#include "rng.h"
#include "seqgen.h"
#include "train.h"

#define FD_STEP 1e-5

typedef struct case_config {
    int D, H, L, B, T;
    seqgen_loss loss;
    int mixing; /* 1: a fixed pattern of fed-back steps (PROB feedback) */
} case_config;

/* Random 0/1 inputs and targets = inputs shifted by one step (last step random). */
static void make_data(sg_rng *rng, const case_config *c, float *x, float *y)
{
    const size_t n = (size_t)c->B * c->T * c->D;
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(sg_rng_u32(rng) & 1);
    for (int b = 0; b < c->B; b++)
        for (int t = 0; t < c->T; t++)
            for (int d = 0; d < c->D; d++) {
                size_t at = ((size_t)b * c->T + t) * c->D + d;
                y[at] = t + 1 < c->T ? x[at + c->D] : (float)(sg_rng_u32(rng) & 1);
            }
}

/* The reference loss with the inputs `fed` held fixed (teacher forcing on them). */
static double loss_at(const ref_model *r, const case_config *c, const double *fed, const double *y,
                      double *logits)
{
    ref_forward(r, c->B, c->T, fed, NULL, SEQGEN_FEEDBACK_PROB, NULL, logits);
    return ref_loss(c->loss, (size_t)c->B * c->T * c->D, logits, y);
}

static void run_case(const case_config *c)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = c->D, cfg.hidden = c->H, cfg.layers = c->L, cfg.seed = 7, cfg.threads = 2;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    /* Larger weights than the default init, so that gates are away from their linear regime. */
    float *params = sg_model_params_for_write(m);
    for (size_t i = 0; i < seqgen_model_param_count(m); i++)
        params[i] *= 3.0f;

    const size_t n = (size_t)c->B * c->T * c->D;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y),
          *probs = malloc(n * sizeof *probs);
    double *xd = malloc(n * sizeof *xd), *yd = malloc(n * sizeof *yd),
           *fed = malloc(n * sizeof *fed);
    double *logits = malloc(n * sizeof *logits);
    unsigned char *teacher = malloc((size_t)c->B * c->T);
    assert_non_null(x), assert_non_null(teacher), assert_non_null(logits);
    sg_rng rng;
    sg_rng_seed(&rng, 99, 0);
    make_data(&rng, c, x, y);
    for (size_t i = 0; i < n; i++)
        xd[i] = x[i], yd[i] = y[i];
    for (size_t i = 0; i < (size_t)c->B * c->T; i++)
        teacher[i] = sg_rng_u32(&rng) % 3 == 0; /* two thirds fed back */

    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = c->loss;
    opts.feedback = SEQGEN_FEEDBACK_PROB;
    seqgen_train_stats st;
    if (c->mixing)
        assert_ok(sg_model_forward_backward_masked(m, &(seqgen_batch){x, y, 0, c->B, c->T, 0, NULL}, &opts,
                                                   teacher, NULL, probs, &st));
    else
        assert_ok(seqgen_model_forward_backward(m, &(seqgen_batch){x, y, 0, c->B, c->T, 0, NULL}, &opts,
                                                probs, &st));

    ref_model r;
    ref_load(&r, m);
    /* The inputs the reference feeds (true or its own fed-back probabilities), then held fixed. */
    ref_forward(&r, c->B, c->T, xd, c->mixing ? teacher : NULL, SEQGEN_FEEDBACK_PROB, fed, logits);
    double loss = ref_loss(c->loss, n, logits, yd);
    assert_allclose(st.loss, loss, 1e-5, 0.0);
    for (size_t i = 0; i < n; i++)
        assert_allclose(probs[i], ref_sigmoid(logits[i]), 1e-5, 1e-7);

    for (int k = 0; k < r.count; k++) {
        float *grad = malloc(r.n[k] * sizeof *grad);
        double *fd = malloc(r.n[k] * sizeof *fd);
        assert_ok(seqgen_model_get_grad(m, r.names[k], grad, r.n[k]));
        double biggest = 0.0;
        for (size_t i = 0; i < r.n[k]; i++) {
            double saved = r.t[k][i];
            r.t[k][i] = saved + FD_STEP;
            double up = loss_at(&r, c, fed, yd, logits);
            r.t[k][i] = saved - FD_STEP;
            double down = loss_at(&r, c, fed, yd, logits);
            r.t[k][i] = saved;
            fd[i] = (up - down) / (2.0 * FD_STEP);
            biggest = fmax(biggest, fabs(fd[i]));
        }
        assert_true(biggest > 0.0); /* every tensor takes part in the loss */
        for (size_t i = 0; i < r.n[k]; i++)
            assert_allclose(grad[i], fd[i], 1e-3, 1e-4 * biggest);
        free(grad);
        free(fd);
    }
    ref_free(&r);
    seqgen_model_free(m);
    free(x), free(y), free(probs), free(xd), free(yd), free(fed), free(logits), free(teacher);
}

static void one_layer_mse(void **state)
{
    (void)state;
    case_config c = {1, 5, 1, 3, 7, SEQGEN_LOSS_MSE, 0};
    run_case(&c);
}

static void one_layer_bce(void **state)
{
    (void)state;
    case_config c = {1, 5, 1, 3, 7, SEQGEN_LOSS_BCE, 0};
    run_case(&c);
}

static void three_layers_two_pixels_mse(void **state)
{
    (void)state;
    case_config c = {2, 4, 3, 3, 6, SEQGEN_LOSS_MSE, 0};
    run_case(&c);
}

static void three_layers_two_pixels_bce(void **state)
{
    (void)state;
    case_config c = {2, 4, 3, 3, 6, SEQGEN_LOSS_BCE, 0};
    run_case(&c);
}

/* H = 11 is not a multiple of the kernels' block of 8: the remainder path is checked too. */
static void odd_hidden_size(void **state)
{
    (void)state;
    case_config c = {3, 11, 2, 2, 5, SEQGEN_LOSS_BCE, 0};
    run_case(&c);
}

static void mixing_stops_gradient_mse(void **state)
{
    (void)state;
    case_config c = {2, 4, 2, 3, 8, SEQGEN_LOSS_MSE, 1};
    run_case(&c);
}

static void mixing_stops_gradient_bce(void **state)
{
    (void)state;
    case_config c = {1, 5, 3, 3, 8, SEQGEN_LOSS_BCE, 1};
    run_case(&c);
}

/* ---- The categorical model: embedding, GRU, softmax and cross-entropy ---------------------- */

typedef struct symbol_case {
    int V, E, H, L, B, T, start_step;
    size_t lengths[4]; /* [B] */
    int fed_back;      /* 1: teacher_prob 0 with THRESHOLD feedback (argmax fed back) */
} symbol_case;

static int argmax_of(int n, const double *a)
{
    int best = 0;
    for (int k = 1; k < n; k++)
        if (a[k] > a[best])
            best = k;
    return best;
}

/* The reference mean cross-entropy over the counted steps, written out step by step in double:
 * step t of sequence b reads row fed[b][t] of the embedding (a zero vector for -1) and predicts
 * targets[b][t]. With fed_back, fed[b][t] for t > 0 is first replaced by the argmax of the
 * previous step's logits (then held fixed by the caller, as the stop-gradient says). */
static double ref_symbols_loss(const ref_model *r, const symbol_case *c, int32_t *fed,
                               const int32_t *targets, int fed_back)
{
    const int V = c->V, E = c->E, H = c->H, L = c->L;
    const double *emb = ref_tensor(r, "embedding.weight");
    const double *w_out = ref_tensor(r, "out.weight"), *b_out = ref_tensor(r, "out.bias");
    double *h = calloc((size_t)L * H, sizeof *h), *h_new = calloc((size_t)H, sizeof *h_new);
    double *in = calloc((size_t)(E > H ? E : H), sizeof *in), *logits = calloc(V, sizeof *logits);
    assert_true(h && h_new && in && logits);
    double total = 0.0;
    size_t count = 0;
    for (int b = 0; b < c->B; b++) {
        memset(h, 0, (size_t)L * H * sizeof *h);
        const int n = (int)c->lengths[b] - 1 + c->start_step;
        for (int t = 0; t < n; t++) {
            const size_t at = (size_t)b * c->T + t;
            if (fed_back && t > 0)
                fed[at] = argmax_of(V, logits);
            for (int e = 0; e < E; e++)
                in[e] = fed[at] >= 0 ? emb[(size_t)fed[at] * E + e] : 0.0;
            for (int k = 0; k < L; k++) {
                ref_cell(r, k, k == 0 ? E : H, in, h + (size_t)k * H, h_new, NULL);
                memcpy(h + (size_t)k * H, h_new, H * sizeof *h_new);
                memcpy(in, h_new, H * sizeof *h_new);
            }
            double m = -INFINITY, sum = 0.0;
            for (int v = 0; v < V; v++) {
                logits[v] = b_out[v];
                for (int j = 0; j < H; j++)
                    logits[v] += w_out[(size_t)v * H + j] * h[(size_t)(L - 1) * H + j];
                m = fmax(m, logits[v]);
            }
            for (int v = 0; v < V; v++)
                sum += exp(logits[v] - m);
            total += m + log(sum) - logits[targets[at]];
            count++;
        }
    }
    free(h), free(h_new), free(in), free(logits);
    return total / (double)count;
}

static void run_symbol_case(const symbol_case *c)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.vocab = c->V, cfg.embedding = c->E, cfg.hidden = c->H, cfg.layers = c->L;
    cfg.start_step = c->start_step, cfg.seed = 5, cfg.threads = 2;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    float *params = sg_model_params_for_write(m); /* gates away from their linear regime */
    for (size_t i = (size_t)c->V * c->E; i < seqgen_model_param_count(m); i++)
        params[i] *= 3.0f;

    /* sequences of their own lengths, -1 in the padding; the pass's fed and target symbols */
    const int width = c->T + 1 - c->start_step;
    int32_t *seqs = malloc((size_t)c->B * width * sizeof *seqs);
    int32_t *fed = malloc((size_t)c->B * c->T * sizeof *fed);
    int32_t *targets = malloc((size_t)c->B * c->T * sizeof *targets);
    assert_true(seqs && fed && targets);
    sg_rng rng;
    sg_rng_seed(&rng, 17, 0);
    for (int b = 0; b < c->B; b++)
        for (int i = 0; i < width; i++)
            seqs[b * width + i] = (size_t)i < c->lengths[b] ? (int32_t)sg_rng_below(&rng, c->V) : -1;
    for (int b = 0; b < c->B; b++)
        for (int t = 0; t < c->T; t++) {
            const int i = t - c->start_step;
            fed[b * c->T + t] = i >= 0 ? seqs[b * width + i] : -1;
            targets[b * c->T + t] = seqs[b * width + i + 1];
        }

    seqgen_symbol_batch batch = seqgen_symbol_batch_of_sequences(m, seqs, c->B, width);
    batch.lengths = c->lengths;
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = SEQGEN_LOSS_CE;
    if (c->fed_back)
        opts.teacher_prob = 0.0, opts.feedback = SEQGEN_FEEDBACK_THRESHOLD;
    seqgen_train_stats st;
    assert_ok(seqgen_model_forward_backward_symbols(m, &batch, &opts, NULL, &st));

    ref_model r;
    ref_load(&r, m);
    double loss = ref_symbols_loss(&r, c, fed, targets, c->fed_back); /* fixes the fed symbols */
    assert_allclose(st.loss, loss, 1e-5, 0.0);
    double worst = 0.0; /* of |library - difference quotient| / the tensor's largest */
    for (int k = 0; k < r.count; k++) {
        float *grad = malloc(r.n[k] * sizeof *grad);
        double *fd = malloc(r.n[k] * sizeof *fd);
        assert_ok(seqgen_model_get_grad(m, r.names[k], grad, r.n[k]));
        double biggest = 0.0;
        for (size_t i = 0; i < r.n[k]; i++) {
            double saved = r.t[k][i];
            r.t[k][i] = saved + FD_STEP;
            double up = ref_symbols_loss(&r, c, fed, targets, 0);
            r.t[k][i] = saved - FD_STEP;
            double down = ref_symbols_loss(&r, c, fed, targets, 0);
            r.t[k][i] = saved;
            fd[i] = (up - down) / (2.0 * FD_STEP);
            biggest = fmax(biggest, fabs(fd[i]));
        }
        assert_true(biggest > 0.0);
        for (size_t i = 0; i < r.n[k]; i++) {
            assert_allclose(grad[i], fd[i], 1e-3, 1e-4 * biggest);
            worst = fmax(worst, fabs(grad[i] - fd[i]) / biggest);
        }
        free(grad);
        free(fd);
    }
    print_message("    loss %.9f (reference %.9f), worst gradient error %.2e of a tensor's "
                  "largest\n", st.loss, loss, worst);
    ref_free(&r);
    seqgen_model_free(m);
    free(seqs), free(fed), free(targets);
}

/* Symbols repeat within and across sequences (V = 5 over 18 steps): the embedding's gradient
 * is a scatter-add. */
static void symbols_two_layers(void **state)
{
    (void)state;
    symbol_case c = {5, 3, 4, 2, 3, 6, 0, {7, 4, 2}, 0};
    run_symbol_case(&c);
}

/* A start step (a zero vector in, no gradient to any row), lengths down to 1, odd H. */
static void symbols_start_step_odd_hidden(void **state)
{
    (void)state;
    symbol_case c = {6, 2, 11, 1, 3, 5, 1, {5, 3, 1}, 0};
    run_symbol_case(&c);
}

/* Every input after the first is the argmax of the step before: the fed-back rows receive the
 * gradient of their use, none flows into the choice. */
static void symbols_fed_back_argmax(void **state)
{
    (void)state;
    symbol_case c = {4, 3, 5, 2, 2, 7, 0, {8, 5}, 1};
    run_symbol_case(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_layer_mse),
        cmocka_unit_test(one_layer_bce),
        cmocka_unit_test(three_layers_two_pixels_mse),
        cmocka_unit_test(three_layers_two_pixels_bce),
        cmocka_unit_test(odd_hidden_size),
        cmocka_unit_test(mixing_stops_gradient_mse),
        cmocka_unit_test(mixing_stops_gradient_bce),
        cmocka_unit_test(symbols_two_layers),
        cmocka_unit_test(symbols_start_step_odd_hidden),
        cmocka_unit_test(symbols_fed_back_argmax),
    };
    return cmocka_run_group_tests_name("gradcheck", tests, NULL, NULL);
}
