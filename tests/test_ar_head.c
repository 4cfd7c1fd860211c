/* The autoregressive heads (seqgen_model_config::head = SEQGEN_HEAD_LINEAR_AR and, with its
 * masked hidden layer, SEQGEN_HEAD_MADE_AR): their configuration and tensors, the masked
 * entries (U's upper triangle, the MADE masks) kept 0 by every door, the gradients against
 * central finite differences of a double-precision reference written out here (every tensor,
 * both losses), the teacher-forced probabilities against completion from every K (so the
 * training products and the unit-by-unit decoding agree and completion conditions on the given
 * units of a partly given step), a hand-set U that copies unit d - 1 into unit d, completion
 * never reading a unit not yet decided, stepping unit by unit (seqgen_model_step_units: a greedy
 * rollout equal to completion, scoring equal to the pass, the independent head's logits those of
 * seqgen_model_step, its refusals), the refusals, threads, and end-to-end runs: units within
 * a step all equal, which only an autoregressive head can model, and a unit that is the XOR of
 * two before it, which the linear head cannot model and MADE can.
 *
 * Finite differences: see test_gradcheck.c for why double, the step and the tolerance. */
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
#define MADE_M 7 /* the MADE head's hidden units in these tests */

static seqgen_model *head_model(seqgen_head_kind head, int D, int H, int L, uint64_t seed,
                                int threads)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = D, cfg.hidden = H, cfg.layers = L, cfg.seed = seed, cfg.threads = threads;
    cfg.head = head;
    cfg.head_hidden = head == SEQGEN_HEAD_MADE_AR ? MADE_M : 0;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    return m;
}

static seqgen_model *ar_model(int D, int H, int L, uint64_t seed, int threads)
{
    return head_model(SEQGEN_HEAD_LINEAR_AR, D, H, L, seed, threads);
}

/* The MADE degrees as seqgen.h states them, written here again: hidden unit k reads unit j iff
 * j <= k mod (D - 1), unit d reads hidden unit k iff d > k mod (D - 1). */
static int made_degree(int k, int D)
{
    return k % (D - 1);
}

/* Sets the MADE head's A, C, c, E uniform in [-scale, scale], the masked entries of A and E 0. */
static void random_made_weights(seqgen_model *m, double scale, uint64_t seed)
{
    const seqgen_model_config cfg = seqgen_model_get_config(m);
    const int D = cfg.units_per_step, H = cfg.hidden, M = cfg.head_hidden;
    float *v = malloc((size_t)M * (D > H ? D : H) * sizeof *v);
    assert_non_null(v);
    sg_rng rng;
    sg_rng_seed(&rng, seed, 6);
#define DRAW() ((float)(scale * (2.0 * sg_rng_double(&rng) - 1.0)))
    for (int k = 0; k < M; k++)
        for (int j = 0; j < D; j++)
            v[k * D + j] = j <= made_degree(k, D) ? DRAW() : 0.0f;
    assert_ok(seqgen_model_set_tensor(m, "out.made_in.weight", v, (size_t)M * D));
    for (int i = 0; i < M * H; i++)
        v[i] = DRAW();
    assert_ok(seqgen_model_set_tensor(m, "out.made_cond.weight", v, (size_t)M * H));
    for (int i = 0; i < M; i++)
        v[i] = DRAW();
    assert_ok(seqgen_model_set_tensor(m, "out.made_cond.bias", v, (size_t)M));
    for (int d = 0; d < D; d++)
        for (int k = 0; k < M; k++)
            v[d * M + k] = d > made_degree(k, D) ? DRAW() : 0.0f;
    assert_ok(seqgen_model_set_tensor(m, "out.made_out.weight", v, (size_t)M * D));
#undef DRAW
    free(v);
}

/* 1 if entry i of the tensor called `name` ([rows][cols] of a model of D units) is masked. */
static int is_masked(const char *name, int D, int cols, size_t i)
{
    const int row = (int)(i / (size_t)cols), col = (int)(i % (size_t)cols);
    if (strcmp(name, "out.ar_weight") == 0)
        return col >= row;
    if (strcmp(name, "out.made_in.weight") == 0)
        return col > made_degree(row, D);
    if (strcmp(name, "out.made_out.weight") == 0)
        return row <= made_degree(col, D);
    return 0;
}

/* Sets U's strictly lower triangle uniform in [-scale, scale]. */
static void random_ar_weight(seqgen_model *m, double scale, uint64_t seed)
{
    const int D = seqgen_model_get_config(m).units_per_step;
    float *u = calloc((size_t)D * D, sizeof *u);
    assert_non_null(u);
    sg_rng rng;
    sg_rng_seed(&rng, seed, 5);
    for (int d = 0; d < D; d++)
        for (int j = 0; j < d; j++)
            u[d * D + j] = (float)(scale * (2.0 * sg_rng_double(&rng) - 1.0));
    assert_ok(seqgen_model_set_tensor(m, "out.ar_weight", u, (size_t)D * D));
    free(u);
}

/* ---- Configuration and tensor --------------------------------------------------------------- */

static void config_and_tensor(void **state)
{
    (void)state;
    seqgen_model_config cfg = seqgen_model_config_default();
    assert_int_equal(cfg.head, SEQGEN_HEAD_INDEPENDENT);
    seqgen_model *m = NULL;
    cfg.vocab = 5, cfg.embedding = 3, cfg.head = SEQGEN_HEAD_LINEAR_AR;
    assert_fails_with(seqgen_model_create(&m, &cfg), SEQGEN_EINVAL,
                      "a categorical model (vocab 5) takes SEQGEN_HEAD_INDEPENDENT");
    cfg = seqgen_model_config_default();
    cfg.head = (seqgen_head_kind)3;
    assert_fails_with(seqgen_model_create(&m, &cfg), SEQGEN_EINVAL, "head must be in [0, 2], got 3");
    assert_null(m);

    /* The tensors of the independent head of the same seed, drawn alike, then U = 0. */
    m = ar_model(4, 5, 2, 9, 1);
    seqgen_model *plain = tu_make_model(4, 5, 2, 9, 1);
    assert_int_equal(seqgen_model_tensor_count(m), 4 * 2 + 3);
    const char *name;
    int rows, cols;
    assert_ok(seqgen_model_tensor_info(m, 10, &name, &rows, &cols));
    assert_string_equal(name, "out.ar_weight");
    assert_int_equal(rows, 4);
    assert_int_equal(cols, 4);
    const size_t n = seqgen_model_param_count(plain);
    assert_int_equal(seqgen_model_param_count(m), n + 16);
    assert_memory_equal(seqgen_model_parameters(m), seqgen_model_parameters(plain), n * sizeof(float));
    for (size_t i = n; i < n + 16; i++)
        assert_true(seqgen_model_parameters(m)[i] == 0.0f);
    assert_int_equal(seqgen_model_get_config(m).head, SEQGEN_HEAD_LINEAR_AR);
    seqgen_model_free(plain);
    seqgen_model_free(m);
}

/* The MADE head's configuration (D >= 2, M in [1, 4096] and 0 with the other heads), its
 * tensors after U in the documented order and shapes, and its initialisation: the tensors up to
 * out.bias as the independent head's of the same seed, U 0, A and E nonzero exactly where their
 * masks allow, c 0; seqgen_model_set_tensor() refuses a nonzero masked entry of A and E. */
static void made_config_and_tensors(void **state)
{
    (void)state;
    seqgen_model *m = NULL;
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = 4, cfg.head = SEQGEN_HEAD_MADE_AR;
    assert_fails_with(seqgen_model_create(&m, &cfg), SEQGEN_EINVAL,
                      "head_hidden must be in [1, 4096] with SEQGEN_HEAD_MADE_AR, got 0");
    cfg.head_hidden = 4097;
    assert_fails_with(seqgen_model_create(&m, &cfg), SEQGEN_EINVAL,
                      "head_hidden must be in [0, 4096], got 4097");
    cfg.head_hidden = 3, cfg.units_per_step = 1;
    assert_fails_with(seqgen_model_create(&m, &cfg), SEQGEN_EINVAL,
                      "SEQGEN_HEAD_MADE_AR needs units_per_step >= 2");
    cfg.units_per_step = 4, cfg.head = SEQGEN_HEAD_LINEAR_AR;
    assert_fails_with(seqgen_model_create(&m, &cfg), SEQGEN_EINVAL,
                      "head_hidden must be 0 without SEQGEN_HEAD_MADE_AR, got 3");
    assert_null(m);

    enum { D = 4, H = 5, M = MADE_M };
    m = head_model(SEQGEN_HEAD_MADE_AR, D, H, 2, 9, 1);
    seqgen_model *plain = tu_make_model(D, H, 2, 9, 1);
    assert_int_equal(seqgen_model_tensor_count(m), 4 * 2 + 3 + 4);
    const struct {
        const char *name;
        int rows, cols;
    } expected[] = {{"out.ar_weight", D, D}, {"out.made_in.weight", M, D},
                    {"out.made_cond.weight", M, H}, {"out.made_cond.bias", M, 1},
                    {"out.made_out.weight", D, M}};
    for (int i = 0; i < 5; i++) {
        const char *name;
        int rows, cols;
        assert_ok(seqgen_model_tensor_info(m, 10 + i, &name, &rows, &cols));
        assert_string_equal(name, expected[i].name);
        assert_int_equal(rows, expected[i].rows);
        assert_int_equal(cols, expected[i].cols);
    }
    const size_t n = seqgen_model_param_count(plain);
    assert_int_equal(seqgen_model_param_count(m), n + D * D + M * D + M * H + M + D * M);
    const float *p = seqgen_model_parameters(m);
    assert_memory_equal(p, seqgen_model_parameters(plain), n * sizeof(float));
    for (size_t i = n; i < n + D * D; i++)
        assert_true(p[i] == 0.0f);
    const float *a = p + n + D * D, *c = a + M * D, *cb = c + M * H, *e = cb + M;
    for (int i = 0; i < M * D; i++) {
        assert_true(is_masked("out.made_in.weight", D, D, (size_t)i) ? a[i] == 0.0f : a[i] != 0.0f);
        assert_true(fabsf(a[i]) <= 1.0f / sqrtf((float)D));
    }
    for (int i = 0; i < M * H; i++)
        assert_true(c[i] != 0.0f && fabsf(c[i]) <= 1.0f / sqrtf((float)H));
    for (int i = 0; i < M; i++)
        assert_true(cb[i] == 0.0f);
    for (int i = 0; i < D * M; i++) {
        assert_true(is_masked("out.made_out.weight", D, M, (size_t)i) ? e[i] == 0.0f : e[i] != 0.0f);
        assert_true(fabsf(e[i]) <= 1.0f / sqrtf((float)M));
    }
    assert_int_equal(seqgen_model_get_config(m).head_hidden, M);

    float v[M * D] = {0};
    v[1] = 0.5f; /* A[0][1]: hidden unit 0 has degree 0, reads unit 0 only */
    assert_fails_with(seqgen_model_set_tensor(m, "out.made_in.weight", v, M * D), SEQGEN_EINVAL,
                      "tensor \"out.made_in.weight\" is masked by the MADE degrees (m_k = k mod "
                      "(D - 1)): element [0][1]");
    v[1] = 0.0f, v[2 * D + 2] = 1.0f; /* A[2][2]: degree 2 reads units 0 .. 2 */
    assert_ok(seqgen_model_set_tensor(m, "out.made_in.weight", v, M * D));
    float w[D * M] = {0};
    w[1 * M + 1] = 1.0f; /* E[1][1]: unit 1 must not read hidden unit 1, of degree 1 */
    assert_fails_with(seqgen_model_set_tensor(m, "out.made_out.weight", w, D * M), SEQGEN_EINVAL,
                      "element [1][1] (a hidden unit of degree >= the unit d) must be 0, got 1");
    w[1 * M + 1] = 0.0f, w[2 * M + 1] = 1.0f;
    assert_ok(seqgen_model_set_tensor(m, "out.made_out.weight", w, D * M));
    seqgen_model_free(plain);
    seqgen_model_free(m);
}

/* seqgen_model_set_tensor() takes a strictly lower-triangular U and refuses any other, changing
 * nothing. */
static void set_tensor_keeps_u_strictly_lower(void **state)
{
    (void)state;
    seqgen_model *m = ar_model(3, 4, 1, 1, 1);
    float u[9] = {0, 0, 0, 1, 0, 0, 2, 3, 0}, got[9];
    assert_ok(seqgen_model_set_tensor(m, "out.ar_weight", u, 9));
    float diagonal[9] = {0, 0, 0, 1, 0, 0, 2, 3, 0.5f};
    assert_fails_with(seqgen_model_set_tensor(m, "out.ar_weight", diagonal, 9), SEQGEN_EINVAL,
                      "tensor \"out.ar_weight\" is strictly lower triangular: element [2][2] (on "
                      "or above the diagonal) must be 0, got 0.5");
    float upper[9] = {0, -1, 0, 1, 0, 0, 2, 3, 0};
    assert_fails_with(seqgen_model_set_tensor(m, "out.ar_weight", upper, 9), SEQGEN_EINVAL,
                      "element [0][1] (on or above the diagonal) must be 0, got -1");
    assert_ok(seqgen_model_get_tensor(m, "out.ar_weight", got, 9));
    assert_memory_equal(got, u, sizeof u);
    seqgen_model_free(m);
}

/* ---- Gradients ------------------------------------------------------------------------------- */

/* 1 if the reference model has the MADE head's tensors. */
static int ref_has_made(const ref_model *r)
{
    for (int i = 0; i < r->count; i++)
        if (strcmp(r->names[i], "out.made_in.weight") == 0)
            return 1;
    return 0;
}

/* The reference loss: the GRU and the output layer (gru_reference.h), plus the autoregressive
 * term written out as its definition, a_d += sum_{j<d} U_dj y_j with the targets y, and with the
 * MADE head a_d += sum_{k: m_k < d} E_dk relu(sum_{j <= m_k} A_kj y_j + (C h)_k + c_k); masked
 * entries are not read, so their difference quotients are 0. top [B][T][H] is scratch. */
static double ar_loss(const ref_model *r, int B, int T, seqgen_loss loss, const double *x,
                      const double *y, double *logits, double *top)
{
    const int D = r->D, H = r->H;
    const double *u = ref_tensor(r, "out.ar_weight");
    ref_forward_top(r, B, T, x, NULL, SEQGEN_FEEDBACK_PROB, NULL, logits, top);
    for (size_t row = 0; row < (size_t)B * T; row++)
        for (int d = 0; d < D; d++)
            for (int j = 0; j < d; j++)
                logits[row * D + d] += u[d * D + j] * y[row * D + j];
    if (!ref_has_made(r))
        return ref_loss(loss, (size_t)B * T * D, logits, y);
    const double *a = ref_tensor(r, "out.made_in.weight"), *c = ref_tensor(r, "out.made_cond.weight");
    const double *cb = ref_tensor(r, "out.made_cond.bias"), *e = ref_tensor(r, "out.made_out.weight");
    const int M = (int)r->n[ref_index(r, "out.made_cond.bias")];
    for (size_t row = 0; row < (size_t)B * T; row++)
        for (int k = 0; k < M; k++) {
            double pre = cb[k];
            for (int i = 0; i < H; i++)
                pre += c[k * H + i] * top[row * H + i];
            for (int j = 0; j <= made_degree(k, D); j++)
                pre += a[k * D + j] * y[row * D + j];
            const double z = pre > 0.0 ? pre : 0.0;
            for (int d = made_degree(k, D) + 1; d < D; d++)
                logits[row * D + d] += e[d * M + k] * z;
        }
    return ref_loss(loss, (size_t)B * T * D, logits, y);
}

/* What the finite differences differentiate: the pass's loss on B sequences of T steps (inputs
 * x, targets y, [B][T][D]), or, with a behaviour gradient g [B][T][H + D], weight times that
 * loss plus sum g . (top layer's state, probabilities) over every step (professor forcing's
 * behaviour pass); logits and top are scratch. */
typedef struct fd_problem {
    int B, T;
    seqgen_loss loss;
    const double *x, *y;
    double *logits, *top;
    double weight;
    const float *g;
} fd_problem;

static double problem_loss(const ref_model *r, const fd_problem *p)
{
    const double loss = ar_loss(r, p->B, p->T, p->loss, p->x, p->y, p->logits, p->top);
    if (!p->g)
        return loss;
    const int H = r->H, D = r->D, F = H + D;
    double extra = 0.0;
    for (size_t row = 0; row < (size_t)p->B * p->T; row++) {
        for (int i = 0; i < H; i++)
            extra += p->g[row * F + i] * p->top[row * H + i];
        for (int d = 0; d < D; d++)
            extra += p->g[row * F + H + d] * ref_sigmoid(p->logits[row * D + d]);
    }
    return p->weight * loss + extra;
}

/* Compares the model's gradient of every tensor with central differences of problem_loss() on
 * the reference r (loaded from m), and checks the masked entries' gradients are exactly 0;
 * returns the worst error relative to a tensor's largest difference quotient. */
static double check_gradients(const seqgen_model *m, ref_model *r, const fd_problem *p)
{
    double worst = 0.0;
    for (int k = 0; k < r->count; k++) {
        float *grad = malloc(r->n[k] * sizeof *grad);
        double *fd = malloc(r->n[k] * sizeof *fd);
        assert_true(grad && fd);
        assert_ok(seqgen_model_get_grad(m, r->names[k], grad, r->n[k]));
        double biggest = 0.0;
        for (size_t i = 0; i < r->n[k]; i++) {
            double saved = r->t[k][i];
            r->t[k][i] = saved + FD_STEP;
            double up = problem_loss(r, p);
            r->t[k][i] = saved - FD_STEP;
            double down = problem_loss(r, p);
            r->t[k][i] = saved;
            fd[i] = (up - down) / (2.0 * FD_STEP);
            biggest = fmax(biggest, fabs(fd[i]));
        }
        assert_true(biggest > 0.0);
        for (size_t i = 0; i < r->n[k]; i++) {
            assert_allclose(grad[i], fd[i], 1e-3, 1e-4 * biggest);
            worst = fmax(worst, fabs(grad[i] - fd[i]) / biggest);
        }
        int rows, cols;
        assert_ok(seqgen_model_tensor_info(m, k, NULL, &rows, &cols));
        for (size_t i = 0; i < r->n[k]; i++) /* masked exactly, not nearly */
            if (is_masked(r->names[k], r->D, cols, i))
                assert_true(grad[i] == 0.0f);
        free(grad);
        free(fd);
    }
    return worst;
}

static void gradients_of(seqgen_loss loss, seqgen_head_kind head)
{
    const int D = 4, H = 5, L = 2, B = 3, T = 6;
    seqgen_model *m = head_model(head, D, H, L, 7, 2);
    float *params = sg_model_params_for_write(m); /* gates away from their linear regime */
    for (size_t i = 0; i < seqgen_model_param_count(m); i++) /* U (0) and the masks stay 0 */
        params[i] *= 3.0f;
    random_ar_weight(m, 1.5, 3);
    if (head == SEQGEN_HEAD_MADE_AR)
        random_made_weights(m, 1.0, 4);

    const size_t n = (size_t)B * T * D, width = (size_t)(T + 1) * D;
    float *seqs = tu_random_bits((size_t)B * width, 11), *probs = malloc(n * sizeof *probs);
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    double *logits = malloc(n * sizeof *logits), *top = malloc((size_t)B * T * H * sizeof *top);
    assert_true(probs && x && y && logits && top);
    for (int b = 0; b < B; b++)
        for (size_t i = 0; i < (size_t)T * D; i++) {
            x[b * T * D + i] = seqs[b * width + i];
            y[b * T * D + i] = seqs[b * width + D + i];
        }
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = loss;
    seqgen_train_stats st;
    assert_ok(seqgen_model_forward_backward(m, TU_SEQUENCES(m, seqs, B, T + 1), &opts, probs,
                                            &st));

    ref_model r;
    ref_load(&r, m);
    assert_allclose(st.loss, ar_loss(&r, B, T, loss, x, y, logits, top), 1e-5, 0.0);
    for (size_t i = 0; i < n; i++)
        assert_allclose(probs[i], ref_sigmoid(logits[i]), 1e-5, 1e-7);
    const fd_problem problem = {B, T, loss, x, y, logits, top, 1.0, NULL};
    const double worst = check_gradients(m, &r, &problem);
    print_message("    %s, %s: loss %.9f, worst gradient error %.2e of a tensor's largest\n",
                  head == SEQGEN_HEAD_MADE_AR ? "MADE" : "linear",
                  loss == SEQGEN_LOSS_BCE ? "BCE" : "MSE", st.loss, worst);
    ref_free(&r);
    seqgen_model_free(m);
    free(seqs), free(probs), free(x), free(y), free(logits), free(top);
}

/* Professor forcing's behaviour pass through the MADE head: the behaviour written (the top
 * layer's states and the teacher-forced probabilities) is the reference's, and with a behaviour
 * gradient g and the pass's loss weighted 0.5 the gradient is that of 0.5 BCE + sum g . b, every
 * tensor against finite differences (g's probability part goes back through the head's
 * hidden layer, its state part into the top layer beside the head's dh). */
static void made_behaviour_pass(void **state)
{
    (void)state;
    enum { D = 4, H = 5, B = 3, T = 4, F = H + D };
    seqgen_model *m = head_model(SEQGEN_HEAD_MADE_AR, D, H, 1, 8, 2);
    float *params = sg_model_params_for_write(m);
    for (size_t i = 0; i < seqgen_model_param_count(m); i++)
        params[i] *= 2.0f;
    random_ar_weight(m, 1.0, 13);
    random_made_weights(m, 1.0, 14);
    const size_t n = (size_t)B * T * D, width = (size_t)(T + 1) * D, nb = (size_t)B * T * F;
    float *seqs = tu_random_bits((size_t)B * width, 15), *out = malloc(nb * sizeof *out);
    float *g = malloc(nb * sizeof *g);
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    double *logits = malloc(n * sizeof *logits), *top = malloc((size_t)B * T * H * sizeof *top);
    assert_true(out && g && x && y && logits && top);
    for (int b = 0; b < B; b++)
        for (size_t i = 0; i < (size_t)T * D; i++) {
            x[b * T * D + i] = seqs[b * width + i];
            y[b * T * D + i] = seqs[b * width + D + i];
        }
    sg_rng rng;
    sg_rng_seed(&rng, 16, 0);
    for (size_t i = 0; i < nb; i++)
        g[i] = (float)(2.0 * sg_rng_double(&rng) - 1.0);
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = SEQGEN_LOSS_BCE;
    sg_behaviour bh = {out, g, 0.5};
    assert_ok(sg_model_pass_behaviour(m, TU_SEQUENCES(m, seqs, B, T + 1), NULL, &opts, 1, &bh,
                                      NULL, NULL));
    ref_model r;
    ref_load(&r, m);
    const fd_problem problem = {B, T, SEQGEN_LOSS_BCE, x, y, logits, top, 0.5, g};
    (void)problem_loss(&r, &problem); /* fills logits and top */
    for (size_t row = 0; row < (size_t)B * T; row++) {
        for (int i = 0; i < H; i++)
            assert_allclose(out[row * F + i], top[row * H + i], 1e-5, 1e-6);
        for (int d = 0; d < D; d++)
            assert_allclose(out[row * F + H + d], ref_sigmoid(logits[row * D + d]), 1e-5, 1e-6);
    }
    const double worst = check_gradients(m, &r, &problem);
    print_message("    0.5 BCE + g . b: worst gradient error %.2e of a tensor's largest\n", worst);
    ref_free(&r);
    seqgen_model_free(m);
    free(seqs), free(out), free(g), free(x), free(y), free(logits), free(top);
}

static void gradients_bce(void **state)
{
    (void)state;
    gradients_of(SEQGEN_LOSS_BCE, SEQGEN_HEAD_LINEAR_AR);
}

static void gradients_mse(void **state)
{
    (void)state;
    gradients_of(SEQGEN_LOSS_MSE, SEQGEN_HEAD_LINEAR_AR);
}

static void made_gradients_bce(void **state)
{
    (void)state;
    gradients_of(SEQGEN_LOSS_BCE, SEQGEN_HEAD_MADE_AR);
}

static void made_gradients_mse(void **state)
{
    (void)state;
    gradients_of(SEQGEN_LOSS_MSE, SEQGEN_HEAD_MADE_AR);
}

/* With lengths (rows sorted and packed by counted steps, the targets gathered alike), a pass
 * on 1 and on 3 threads gives the same gradients (every tensor) up to float rounding, and the
 * masked entries' gradients are 0. */
static void lengths_and_threads_of(seqgen_head_kind head)
{
    const int D = 5, B = 7, T = 9;
    float *seqs = tu_random_bits((size_t)B * T * D, 4);
    const size_t lengths[7] = {9, 2, 5, 9, 1, 7, 3};
    seqgen_model *m[2];
    for (int k = 0; k < 2; k++) {
        m[k] = head_model(head, D, 6, 2, 2, k == 0 ? 1 : 3);
        random_ar_weight(m[k], 1.0, 8);
        if (head == SEQGEN_HEAD_MADE_AR)
            random_made_weights(m[k], 1.0, 9);
        seqgen_batch batch = seqgen_batch_of_sequences(m[k], seqs, B, T);
        batch.lengths = lengths;
        seqgen_train_options opts = seqgen_train_options_default();
        opts.loss = SEQGEN_LOSS_BCE;
        assert_ok(seqgen_model_forward_backward(m[k], &batch, &opts, NULL, NULL));
    }
    for (int t = 0; t < seqgen_model_tensor_count(m[0]); t++) {
        const char *name;
        int rows, cols;
        assert_ok(seqgen_model_tensor_info(m[0], t, &name, &rows, &cols));
        float *g0 = malloc((size_t)rows * cols * sizeof *g0), *g1 = malloc((size_t)rows * cols * sizeof *g1);
        assert_true(g0 && g1);
        assert_ok(seqgen_model_get_grad(m[0], name, g0, (size_t)rows * cols));
        assert_ok(seqgen_model_get_grad(m[1], name, g1, (size_t)rows * cols));
        double biggest = 0.0;
        for (size_t i = 0; i < (size_t)rows * cols; i++)
            biggest = fmax(biggest, fabs(g0[i]));
        assert_true(biggest > 0.0);
        for (size_t i = 0; i < (size_t)rows * cols; i++) {
            assert_allclose(g1[i], g0[i], 1e-5, 1e-6 * biggest);
            if (is_masked(name, D, cols, i))
                assert_true(g0[i] == 0.0f && g1[i] == 0.0f);
        }
        free(g0), free(g1);
    }
    seqgen_model_free(m[0]), seqgen_model_free(m[1]);
    free(seqs);
}

static void lengths_and_threads(void **state)
{
    (void)state;
    lengths_and_threads_of(SEQGEN_HEAD_LINEAR_AR);
}

static void made_lengths_and_threads(void **state)
{
    (void)state;
    lengths_and_threads_of(SEQGEN_HEAD_MADE_AR);
}

/* ---- Completion ------------------------------------------------------------------------------ */

/* For every K from D to T D - 1, the probability completion gives the first unit it decodes is
 * the teacher-forced pass's probability of that unit: both condition on the same units, those
 * of the steps before and the given ones of its own step (the pass reads them through one matrix
 * product over the targets, completion one unit at a time). */
static void completion_agrees_with_pass(seqgen_head_kind head)
{
    const int D = 5, T = 4, N = 3;
    seqgen_model *m = head_model(head, D, 6, 1, 4, 1);
    random_ar_weight(m, 3.0, 6);
    if (head == SEQGEN_HEAD_MADE_AR)
        random_made_weights(m, 2.0, 7);
    float *seqs = tu_random_bits((size_t)N * T * D, 21);
    float *pass = malloc((size_t)N * (T - 1) * D * sizeof *pass);
    float *out = malloc((size_t)N * T * D * sizeof *out);
    float *probs = malloc((size_t)N * T * D * sizeof *probs);
    assert_true(pass && out && probs);
    assert_ok(seqgen_model_evaluate(m, TU_SEQUENCES(m, seqs, N, T), SEQGEN_LOSS_BCE, pass, NULL));
    double worst = 0.0;
    for (int K = D; K < T * D; K++) {
        assert_ok(seqgen_complete(m, seqs, N, T, NULL, K, NULL, out, probs));
        for (int s = 0; s < N; s++) {
            const float expected = pass[((size_t)s * (T - 1) + K / D - 1) * D + K % D];
            const float got = probs[(size_t)s * (T * D - K)];
            assert_allclose(got, expected, 1e-5, 1e-6);
            worst = fmax(worst, fabs(got - expected));
        }
    }
    print_message("    %s: worst |completion - pass| over %d values of K: %.2e\n",
                  head == SEQGEN_HEAD_MADE_AR ? "MADE" : "linear", T * D - D, worst);
    seqgen_model_free(m);
    free(seqs), free(pass), free(out), free(probs);
}

static void completion_conditions_on_given_units(void **state)
{
    (void)state;
    completion_agrees_with_pass(SEQGEN_HEAD_LINEAR_AR);
}

static void made_completion_conditions_on_given_units(void **state)
{
    (void)state;
    completion_agrees_with_pass(SEQGEN_HEAD_MADE_AR);
}

/* MADE completion reads no unit it has not decided yet: with NaN in every unit after K in the
 * input and in the output before the call, it gives what it gives with zeros there (greedy and
 * sampled, K in the middle of a step and at its start). Any hidden unit completed or summed
 * before its degree allows would read a NaN (E's masked zeros times NaN is NaN). */
static void made_completion_reads_only_decided_units(void **state)
{
    (void)state;
    enum { D = 5, T = 4 };
    seqgen_model *m = head_model(SEQGEN_HEAD_MADE_AR, D, 6, 1, 5, 1);
    random_ar_weight(m, 2.0, 10);
    random_made_weights(m, 2.0, 11);
    float *bits = tu_random_bits(T * D, 12);
    for (int decode = SEQGEN_DECODE_GREEDY; decode <= SEQGEN_DECODE_SAMPLE; decode++)
        for (int K = D; K < T * D; K += 3) {
            float nan_in[T * D], zero_in[T * D], nan_out[T * D], zero_out[T * D];
            float nan_probs[T * D], zero_probs[T * D];
            for (int i = 0; i < T * D; i++) {
                nan_in[i] = i < K ? bits[i] : NAN;
                zero_in[i] = i < K ? bits[i] : 0.0f;
                nan_out[i] = NAN;
            }
            seqgen_complete_options opts = seqgen_complete_options_default();
            opts.decode = (seqgen_decode)decode, opts.seed = 3;
            assert_ok(seqgen_complete(m, nan_in, 1, T, NULL, K, &opts, nan_out, nan_probs));
            assert_ok(seqgen_complete(m, zero_in, 1, T, NULL, K, &opts, zero_out, zero_probs));
            assert_memory_equal(nan_out, zero_out, sizeof nan_out);
            assert_memory_equal(nan_probs, zero_probs, (size_t)(T * D - K) * sizeof(float));
            for (int i = 0; i < T * D - K; i++)
                assert_true(isfinite(nan_probs[i]));
        }
    free(bits);
    seqgen_model_free(m);
}

/* A hand-set head whose unit d copies unit d - 1 (U_d,d-1 = 40, bias -20, W_out = 0): greedy and
 * sampled completion of a partly given step continue its last given unit to the end of the
 * step; every later step is 0 (its unit 0 has logit -20). Without U the head gives 0 for all.
 * The units after K are NaN in the input and in the output before the call: completion must
 * read neither (the decoding of unit d reads only the units before it, not U's zeros times
 * units still to be decoded). */
static void partly_given_step_is_copied(void **state)
{
    (void)state;
    enum { D = 6, T = 3, N = 4 };
    seqgen_model *m = ar_model(D, 4, 1, 3, 1);
    float w[D * 4] = {0}, bias[D], u[D * D] = {0};
    for (int d = 0; d < D; d++)
        bias[d] = -20.0f;
    for (int d = 1; d < D; d++)
        u[d * D + d - 1] = 40.0f;
    assert_ok(seqgen_model_set_tensor(m, "out.weight", w, D * 4));
    assert_ok(seqgen_model_set_tensor(m, "out.bias", bias, D));
    assert_ok(seqgen_model_set_tensor(m, "out.ar_weight", u, D * D));
    /* step 1 of each sequence is given up to K: its units as below, then NaN never read */
    const int K[N] = {D + 3, D + 3, D + 1, D + 5};
    const float given[N][D] = {{0, 1, 1}, {1, 1, 0}, {1}, {0, 0, 0, 0, 1}};
    for (int decode = SEQGEN_DECODE_GREEDY; decode <= SEQGEN_DECODE_SAMPLE; decode++)
        for (int s = 0; s < N; s++) {
            float seq[T * D], out[T * D], probs[T * D];
            for (int i = 0; i < T * D; i++)
                seq[i] = i < D ? 1.0f : NAN, out[i] = NAN;
            memcpy(seq + D, given[s], (size_t)(K[s] - D) * sizeof(float));
            seqgen_complete_options opts = seqgen_complete_options_default();
            opts.decode = (seqgen_decode)decode, opts.seed = 5;
            assert_ok(seqgen_complete(m, seq, 1, T, NULL, K[s], &opts, out, probs));
            const float last = given[s][K[s] - D - 1];
            for (int d = K[s] - D; d < D; d++) {
                assert_true(out[D + d] == last);
                assert_allclose(probs[D + d - K[s]], last, 0.0, 1e-6);
            }
            for (int i = 2 * D; i < T * D; i++)
                assert_true(out[i] == 0.0f);
        }
    /* the independent part alone decodes every unit to 0 */
    memset(u, 0, sizeof u);
    assert_ok(seqgen_model_set_tensor(m, "out.ar_weight", u, D * D));
    float seq[T * D] = {0}, out[T * D];
    seq[D] = 1.0f;
    assert_ok(seqgen_complete(m, seq, 1, T, NULL, D + 1, NULL, out, NULL));
    for (int i = D + 1; i < T * D; i++)
        assert_true(out[i] == 0.0f);
    seqgen_model_free(m);
}

/* MADE completion gives the same bits on 1 and on 3 threads (each worker's hidden units in its
 * own rollout): 150 sequences, three blocks, with lengths, greedy and sampled. */
static void made_completion_threads(void **state)
{
    (void)state;
    enum { D = 4, T = 5, N = 150 };
    seqgen_model *m = head_model(SEQGEN_HEAD_MADE_AR, D, 6, 2, 6, 1);
    random_ar_weight(m, 2.0, 17);
    random_made_weights(m, 2.0, 18);
    float *seqs = tu_random_bits((size_t)N * T * D, 19);
    float *out[2], *probs[2];
    size_t lengths[N];
    for (int s = 0; s < N; s++)
        lengths[s] = 1 + (size_t)s % T;
    for (int decode = SEQGEN_DECODE_GREEDY; decode <= SEQGEN_DECODE_SAMPLE; decode++) {
        seqgen_complete_options opts = seqgen_complete_options_default();
        opts.decode = (seqgen_decode)decode, opts.seed = 4;
        for (int k = 0; k < 2; k++) {
            out[k] = malloc((size_t)N * T * D * sizeof(float));
            probs[k] = malloc((size_t)N * (T * D - 6) * sizeof(float));
            assert_true(out[k] && probs[k]);
            assert_ok(seqgen_model_set_threads(m, k == 0 ? 1 : 3));
            assert_ok(seqgen_complete(m, seqs, N, T, lengths, 6, &opts, out[k], probs[k]));
        }
        assert_memory_equal(out[0], out[1], (size_t)N * T * D * sizeof(float));
        assert_memory_equal(probs[0], probs[1], (size_t)N * (T * D - 6) * sizeof(float));
        for (int k = 0; k < 2; k++)
            free(out[k]), free(probs[k]);
    }
    free(seqs);
    seqgen_model_free(m);
}

/* ---- Stepping unit by unit (seqgen_model_step_units) ------------------------------------------ */

/* What the choosers below read: the sequences [N][T][D], the units of them that are given (the
 * first K of each), the step being chosen, and the order of the calls. */
typedef struct unit_choice {
    const float *seqs;
    int T, D, batch, K, step;
    int calls; /* made so far in this step_units call */
    int out_of_order;
} unit_choice;

/* Counts the call and notes whether it is the next (sequence, unit) in order. */
static void note_call(unit_choice *c, int sequence, int unit)
{
    if (sequence * c->D + unit != c->calls || sequence >= c->batch || unit >= c->D)
        c->out_of_order = 1;
    c->calls++;
}

/* The given unit where the sequence is given (its first K units), else greedy: 1 iff logit > 0. */
static float choose_given_or_greedy(void *context, int sequence, int unit, float logit)
{
    unit_choice *c = context;
    note_call(c, sequence, unit);
    const int i = c->step * c->D + unit;
    if (i < c->K)
        return c->seqs[((size_t)sequence * c->T) * c->D + i];
    return logit > 0.0f ? 1.0f : 0.0f;
}

/* The sequence's own unit: scoring it. */
static float choose_true_unit(void *context, int sequence, int unit, float logit)
{
    (void)logit;
    unit_choice *c = context;
    note_call(c, sequence, unit);
    return c->seqs[((size_t)sequence * c->T + c->step) * c->D + unit];
}

/* A greedy rollout written with seqgen_model_step_units, feeding each step's chosen units back
 * in place (units = input) and choosing the given units where a sequence is given, equals
 * seqgen_complete()'s greedy completion bit for bit, for K at the start and in the middle of
 * steps (partly given steps); the probabilities completion records are the sigmoids of the
 * logits the call gives. Five sequences, D = 5, two layers. */
static void step_units_rollout_of(seqgen_head_kind head)
{
    enum { D = 5, T = 4, N = 5 };
    seqgen_model *m = head_model(head, D, 6, 2, 8, 1);
    random_ar_weight(m, 3.0, 31);
    if (head == SEQGEN_HEAD_MADE_AR)
        random_made_weights(m, 2.0, 32);
    float *seqs = tu_random_bits((size_t)N * T * D, 33);
    seqgen_model_state *st = NULL;
    assert_ok(seqgen_model_state_create(&st, m, N));
    const int Ks[] = {D, D + 2, 2 * D, 2 * D + 1, 3 * D - 1, 3 * D + 3};
    int ones = 0;
    for (size_t k = 0; k < sizeof Ks / sizeof Ks[0]; k++) {
        const int K = Ks[k];
        float out[N * T * D], probs[N * T * D], roll[N * T * D], logits[N * T * D], x[N * D];
        assert_ok(seqgen_complete(m, seqs, N, T, NULL, K, NULL, out, probs));
        seqgen_model_state_reset(st);
        for (int s = 0; s < N; s++) /* step 0 is given (K >= D) */
            memcpy(x + s * D, seqs + (size_t)s * T * D, D * sizeof(float));
        memcpy(roll, out, sizeof roll); /* step 0 */
        for (int t = 0; t + 1 < T; t++) {
            unit_choice c = {seqs, T, D, N, K, t + 1, 0, 0};
            float step_logits[N * D];
            assert_ok(seqgen_model_step_units(m, st, x, choose_given_or_greedy, &c, x,
                                              step_logits));
            assert_int_equal(c.calls, N * D);
            assert_false(c.out_of_order);
            for (int s = 0; s < N; s++) {
                memcpy(roll + ((size_t)s * T + t + 1) * D, x + s * D, D * sizeof(float));
                memcpy(logits + ((size_t)s * T + t + 1) * D, step_logits + s * D,
                       D * sizeof(float));
            }
        }
        assert_memory_equal(roll, out, sizeof roll);
        for (int s = 0; s < N; s++)
            for (int i = K; i < T * D; i++) {
                const float p = probs[(size_t)s * (T * D - K) + i - K];
                assert_allclose(p, 1.0 / (1.0 + exp(-(double)logits[s * T * D + i])), 0.0, 1e-6);
                ones += out[s * T * D + i] == 1.0f;
            }
    }
    assert_true(ones > 0); /* the greedy choices are not all 0 */
    seqgen_model_state_free(st);
    seqgen_model_free(m);
    free(seqs);
}

static void step_units_rollout_equals_completion(void **state)
{
    (void)state;
    step_units_rollout_of(SEQGEN_HEAD_LINEAR_AR);
}

static void made_step_units_rollout_equals_completion(void **state)
{
    (void)state;
    step_units_rollout_of(SEQGEN_HEAD_MADE_AR);
}

/* Scoring: fed the sequences step by step with a chooser returning their own units, the logits
 * give the teacher-forced pass's probabilities (|difference| <= 1e-5 relative + 1e-6) and its
 * summed log-likelihood (seqgen_train_stats::nll_nats, relative 1e-5: the pass's products run
 * over all rows at once, the call's unit by unit). */
static void step_units_scores_of(seqgen_head_kind head)
{
    enum { D = 4, T = 6, N = 3 };
    seqgen_model *m = head_model(head, D, 5, 1, 9, 1);
    random_ar_weight(m, 3.0, 41);
    if (head == SEQGEN_HEAD_MADE_AR)
        random_made_weights(m, 2.0, 42);
    float *seqs = tu_random_bits((size_t)N * T * D, 43);
    float pass[N * (T - 1) * D], x[N * D], units[N * D], logits[N * D];
    seqgen_train_stats stats;
    assert_ok(seqgen_model_evaluate(m, TU_SEQUENCES(m, seqs, N, T), SEQGEN_LOSS_BCE, pass,
                                    &stats));
    seqgen_model_state *st = NULL;
    assert_ok(seqgen_model_state_create(&st, m, N));
    double nll = 0.0, worst = 0.0;
    for (int t = 0; t + 1 < T; t++) {
        for (int s = 0; s < N; s++)
            memcpy(x + s * D, seqs + ((size_t)s * T + t) * D, D * sizeof(float));
        unit_choice c = {seqs, T, D, N, 0, t + 1, 0, 0};
        assert_ok(seqgen_model_step_units(m, st, x, choose_true_unit, &c, units, logits));
        assert_false(c.out_of_order);
        for (int s = 0; s < N; s++)
            for (int d = 0; d < D; d++) {
                const double a = logits[s * D + d], y = seqs[((size_t)s * T + t + 1) * D + d];
                const double p = 1.0 / (1.0 + exp(-a));
                const float expected = pass[((size_t)s * (T - 1) + t) * D + d];
                assert_true(units[s * D + d] == (float)y);
                assert_allclose(p, expected, 1e-5, 1e-6);
                worst = fmax(worst, fabs(p - expected));
                nll += (a > 0 ? a + log1p(exp(-a)) : log1p(exp(a))) - y * a; /* softplus - y a */
            }
    }
    assert_allclose(nll / N, stats.nll_nats, 1e-5, 0.0);
    print_message("    %s: worst |step_units - pass| %.2e, NLL %.6f vs %.6f\n",
                  head == SEQGEN_HEAD_MADE_AR ? "MADE" : "linear", worst, nll / N,
                  stats.nll_nats);
    seqgen_model_state_free(st);
    seqgen_model_free(m);
    free(seqs);
}

static void step_units_scores_sequences(void **state)
{
    (void)state;
    step_units_scores_of(SEQGEN_HEAD_LINEAR_AR);
}

static void made_step_units_scores_sequences(void **state)
{
    (void)state;
    step_units_scores_of(SEQGEN_HEAD_MADE_AR);
}

/* With the independent head the logits are seqgen_model_step()'s, bit for bit, whatever the
 * chooser returns, and the chooser is still called for every unit in order. */
static void step_units_independent_head(void **state)
{
    (void)state;
    enum { D = 4, T = 5, N = 3 };
    seqgen_model *m = head_model(SEQGEN_HEAD_INDEPENDENT, D, 6, 2, 10, 1);
    float *seqs = tu_random_bits((size_t)N * T * D, 51);
    seqgen_model_state *a = NULL, *b = NULL;
    assert_ok(seqgen_model_state_create(&a, m, N));
    assert_ok(seqgen_model_state_create(&b, m, N));
    for (int t = 0; t + 1 < T; t++) {
        float x[N * D], step_logits[N * D], units_logits[N * D], units[N * D];
        for (int s = 0; s < N; s++)
            memcpy(x + s * D, seqs + ((size_t)s * T + t) * D, D * sizeof(float));
        unit_choice c = {seqs, T, D, N, 0, t + 1, 0, 0};
        assert_ok(seqgen_model_step(m, a, x, step_logits, NULL));
        assert_ok(seqgen_model_step_units(m, b, x, choose_given_or_greedy, &c, units,
                                          units_logits));
        assert_int_equal(c.calls, N * D);
        assert_false(c.out_of_order);
        assert_memory_equal(units_logits, step_logits, sizeof step_logits);
        for (int i = 0; i < N * D; i++)
            assert_true(units[i] == (step_logits[i] > 0.0f ? 1.0f : 0.0f));
    }
    seqgen_model_state_free(a);
    seqgen_model_state_free(b);
    seqgen_model_free(m);
    free(seqs);
}

/* Returns *(float *)context for every unit. */
static float choose_constant(void *context, int sequence, int unit, float logit)
{
    (void)sequence, (void)unit, (void)logit;
    return *(const float *)context;
}

/* Returns 1 for every unit but unit 2 of sequence 1, for which it returns *(float *)context. */
static float choose_bad_unit(void *context, int sequence, int unit, float logit)
{
    (void)logit;
    return sequence == 1 && unit == 2 ? *(const float *)context : 1.0f;
}

static void step_units_refusals(void **state)
{
    (void)state;
    seqgen_model *made = head_model(SEQGEN_HEAD_MADE_AR, 3, 4, 1, 1, 1);
    seqgen_model *linear = ar_model(3, 4, 1, 1, 1);
    seqgen_model *independent = head_model(SEQGEN_HEAD_INDEPENDENT, 3, 4, 1, 1, 1);
    seqgen_model_config cfg = seqgen_model_get_config(made);
    cfg.head_hidden = 3;
    seqgen_model *made3 = NULL;
    assert_ok(seqgen_model_create(&made3, &cfg));
    seqgen_model_state *st = NULL, *st_linear = NULL, *st_independent = NULL, *st_made3 = NULL;
    assert_ok(seqgen_model_state_create(&st, made, 2));
    assert_ok(seqgen_model_state_create(&st_linear, linear, 2));
    assert_ok(seqgen_model_state_create(&st_independent, independent, 2));
    assert_ok(seqgen_model_state_create(&st_made3, made3, 2));
    float in[2 * 3] = {0, 1, 0, 1, 1, 0}, units[2 * 3], logits[2 * 3], one = 1.0f;
    assert_fails_with(seqgen_model_step_units(NULL, st, in, choose_constant, &one, units, NULL),
                      SEQGEN_EINVAL, "seqgen_model_step_units: NULL model");
    assert_fails_with(seqgen_model_step_units(made, NULL, in, choose_constant, &one, units, NULL),
                      SEQGEN_EINVAL, "seqgen_model_step_units: NULL state");
    assert_fails_with(seqgen_model_step_units(made, st, NULL, choose_constant, &one, units, NULL),
                      SEQGEN_EINVAL, "seqgen_model_step_units: NULL input");
    assert_fails_with(seqgen_model_step_units(made, st, in, NULL, &one, units, NULL),
                      SEQGEN_EINVAL, "seqgen_model_step_units: NULL chooser");
    assert_fails_with(seqgen_model_step_units(made, st, in, choose_constant, &one, NULL, NULL),
                      SEQGEN_EINVAL, "seqgen_model_step_units: NULL units");
    /* a state of another head, or of MADE with another M */
    assert_fails_with(seqgen_model_step_units(made, st_linear, in, choose_constant, &one, units,
                                              NULL),
                      SEQGEN_EMISMATCH, "state made for the head SEQGEN_HEAD_LINEAR_AR with M=0 "
                      "used with SEQGEN_HEAD_MADE_AR with M=7");
    assert_fails_with(seqgen_model_step_units(made, st_made3, in, choose_constant, &one, units,
                                              NULL),
                      SEQGEN_EMISMATCH, "state made for the head SEQGEN_HEAD_MADE_AR with M=3 "
                      "used with SEQGEN_HEAD_MADE_AR with M=7");
    assert_fails_with(seqgen_model_step_units(linear, st_independent, in, choose_constant, &one,
                                              units, NULL),
                      SEQGEN_EMISMATCH, "state made for the head SEQGEN_HEAD_INDEPENDENT with M=0 "
                      "used with SEQGEN_HEAD_LINEAR_AR with M=0");
    assert_fails_with(seqgen_model_step_units(independent, st, in, choose_constant, &one, units,
                                              NULL),
                      SEQGEN_EMISMATCH, "state made for the head SEQGEN_HEAD_MADE_AR with M=7 "
                      "used with SEQGEN_HEAD_INDEPENDENT with M=0");
    /* seqgen_model_step() keeps its shape check only: an independent model steps on a MADE
     * model's state as before */
    assert_ok(seqgen_model_step(independent, st, in, logits, NULL));
    /* the chooser's values: NaN, infinity, 2, -0.5 refused, naming the sequence and unit */
    const float bad[] = {NAN, INFINITY, 2.0f, -0.5f};
    const char *shown[] = {"gave nan for unit 2 of sequence 1", "gave inf for unit 2 of sequence 1",
                           "gave 2 for unit 2 of sequence 1", "gave -0.5 for unit 2 of sequence 1"};
    for (int i = 0; i < 4; i++) {
        assert_fails_with(seqgen_model_step_units(made, st, in, choose_bad_unit, (void *)&bad[i],
                                                  units, logits),
                          SEQGEN_ERANGE, shown[i]);
        assert_true(units[0] == 1.0f && units[1] == 1.0f && units[2] == 1.0f); /* sequence 0 */
    }
    assert_fails_with(seqgen_model_step_units(linear, st_linear, in, choose_constant,
                                              (void *)&bad[0], units, NULL),
                      SEQGEN_ERANGE, "seqgen_model_step_units: the chooser gave nan for unit 0 "
                      "of sequence 0: a unit must be in [0, 1]");
    /* values within [0, 1] are read as they are */
    const float half = 0.5f;
    assert_ok(seqgen_model_step_units(made, st, in, choose_constant, (void *)&half, units, NULL));
    for (int i = 0; i < 2 * 3; i++)
        assert_true(units[i] == 0.5f);
    /* the step functions point to each other */
    assert_fails_with(seqgen_model_step(made, st, in, NULL, logits), SEQGEN_EINVAL,
                      "step it unit by unit with seqgen_model_step_units()");
    seqgen_model *symbols = tu_make_symbol_model(5, 3, 4, 0, 1, 1);
    seqgen_model_state *st_symbols = NULL;
    assert_ok(seqgen_model_state_create(&st_symbols, symbols, 2));
    assert_fails_with(seqgen_model_step_units(symbols, st_symbols, in, choose_constant, &one,
                                              units, NULL),
                      SEQGEN_EINVAL, "the model is categorical (vocab 5): step it with "
                      "seqgen_model_step_symbols()");
    seqgen_model_state_free(st_symbols);
    seqgen_model_free(symbols);
    seqgen_model_state_free(st);
    seqgen_model_state_free(st_linear);
    seqgen_model_state_free(st_independent);
    seqgen_model_state_free(st_made3);
    seqgen_model_free(made);
    seqgen_model_free(made3);
    seqgen_model_free(linear);
    seqgen_model_free(independent);
}

/* ---- Refusals -------------------------------------------------------------------------------- */

static void refusals(void **state)
{
    (void)state;
    seqgen_model *m = ar_model(3, 4, 1, 1, 1);
    float seqs[2 * 5 * 3] = {0}, probs[2 * 3];
    seqgen_train_options opts = seqgen_train_options_default();
    opts.teacher_prob = 0.5;
    assert_fails_with(seqgen_model_forward_backward(m, TU_SEQUENCES(m, seqs, 2, 5), &opts, NULL,
                                                    NULL),
                      SEQGEN_EINVAL, "scheduled sampling (teacher_prob < 1) is not implemented "
                      "for the autoregressive head SEQGEN_HEAD_LINEAR_AR");
    seqgen_model_state *st = NULL;
    assert_ok(seqgen_model_state_create(&st, m, 2));
    assert_fails_with(seqgen_model_step(m, st, seqs, NULL, probs), SEQGEN_EINVAL,
                      "seqgen_model_step: the model's head is SEQGEN_HEAD_LINEAR_AR");
    seqgen_model_state_free(st);
    opts.teacher_prob = 1.0;
    assert_ok(seqgen_model_forward_backward(m, TU_SEQUENCES(m, seqs, 2, 5), &opts, NULL, NULL));
    seqgen_model_free(m);

    m = head_model(SEQGEN_HEAD_MADE_AR, 3, 4, 1, 1, 1);
    opts.teacher_prob = 0.5;
    assert_fails_with(seqgen_model_forward_backward(m, TU_SEQUENCES(m, seqs, 2, 5), &opts, NULL,
                                                    NULL),
                      SEQGEN_EINVAL, "scheduled sampling (teacher_prob < 1) is not implemented "
                      "for the autoregressive head SEQGEN_HEAD_MADE_AR");
    assert_ok(seqgen_model_state_create(&st, m, 2));
    assert_fails_with(seqgen_model_step(m, st, seqs, NULL, probs), SEQGEN_EINVAL,
                      "seqgen_model_step: the model's head is SEQGEN_HEAD_MADE_AR");
    seqgen_model_state_free(st);
    seqgen_model_free(m);
}

/* ---- End to end ------------------------------------------------------------------------------ */

/* Steps whose D units are all equal, each step a fair coin: the independent head cannot beat
 * ln 2 nats per unit, the autoregressive head pays ln 2 for a step's first unit and about 0 for
 * the others, (ln 2) / D per unit. Both heads train alike (same seed, Adam, teacher forcing);
 * U stays strictly lower triangular through the optimiser. */
enum { EQUAL_UNITS, XOR_UNITS };

/* Trains a model of `head` with 300 Adam steps on fresh batches of steps drawn independently:
 * EQUAL_UNITS, D = 4 units all equal to one coin; XOR_UNITS, D = 3 units, two coins and their
 * exclusive or. Returns the mean BCE per unit on a fresh batch. */
static double train_on_steps(seqgen_head_kind head, int data, seqgen_model **out)
{
    enum { T = 8, B = 32, STEPS = 300 };
    const int D = data == XOR_UNITS ? 3 : 4;
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = D, cfg.hidden = 8, cfg.seed = 3, cfg.threads = 2, cfg.head = head;
    cfg.head_hidden = head == SEQGEN_HEAD_MADE_AR ? 16 : 0;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    ocfg.lr = 0.05;
    seqgen_optim *o = NULL;
    assert_ok(seqgen_optim_create(&o, m, &ocfg));
    static float seqs[B * T * 4];
    sg_rng rng;
    sg_rng_seed(&rng, 12, 0);
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = SEQGEN_LOSS_BCE;
    seqgen_train_stats st;
    for (int step = 0; step <= STEPS; step++) {
        for (int i = 0; i < B * T; i++) {
            const float bit = (float)(sg_rng_u32(&rng) & 1);
            for (int d = 0; d < D; d++)
                seqs[i * D + d] = bit;
            if (data == XOR_UNITS) {
                seqs[i * D + 1] = (float)(sg_rng_u32(&rng) & 1);
                seqs[i * D + 2] = seqs[i * D] != seqs[i * D + 1] ? 1.0f : 0.0f;
            }
        }
        if (step == STEPS) /* fresh data, forward only */
            break;
        assert_ok(seqgen_model_forward_backward(m, TU_SEQUENCES(m, seqs, B, T), &opts, NULL, NULL));
        assert_ok(seqgen_optim_step(o, m));
    }
    assert_ok(seqgen_model_evaluate(m, TU_SEQUENCES(m, seqs, B, T), SEQGEN_LOSS_BCE, NULL, &st));
    seqgen_optim_free(o);
    *out = m;
    return st.bce;
}

static double train_on_equal_units(seqgen_head_kind head, seqgen_model **out)
{
    return train_on_steps(head, EQUAL_UNITS, out);
}

static void learns_equal_units_within_a_step(void **state)
{
    (void)state;
    seqgen_model *ar, *independent;
    const double with_ar = train_on_equal_units(SEQGEN_HEAD_LINEAR_AR, &ar);
    const double without = train_on_equal_units(SEQGEN_HEAD_INDEPENDENT, &independent);
    print_message("    BCE per unit: autoregressive %.4f, independent %.4f (ln 2 = %.4f, "
                  "ln 2 / 4 = %.4f)\n", with_ar, without, log(2.0), log(2.0) / 4);
    assert_true(without > 0.6);
    assert_true(with_ar < 0.3);
    float u[16];
    assert_ok(seqgen_model_get_tensor(ar, "out.ar_weight", u, 16));
    for (int d = 0; d < 4; d++)
        for (int j = 0; j < 4; j++)
            assert_true(j < d ? u[d * 4 + j] != 0.0f : u[d * 4 + j] == 0.0f);
    seqgen_model_free(ar);
    seqgen_model_free(independent);
}

/* Steps of two fair coins and their exclusive or: unit 2 is a function of units 0 and 1 that
 * no logistic function of them (the linear head's) predicts better than a coin, so the
 * independent and linear heads cannot beat ln 2 nats per unit; the MADE head's hidden units of
 * degree 1 see both, and it approaches (2 ln 2) / 3 = 0.462. The masked entries stay 0 through
 * the optimiser. */
static void made_learns_xor_within_a_step(void **state)
{
    (void)state;
    seqgen_model *made, *linear, *independent;
    const double with_made = train_on_steps(SEQGEN_HEAD_MADE_AR, XOR_UNITS, &made);
    const double with_linear = train_on_steps(SEQGEN_HEAD_LINEAR_AR, XOR_UNITS, &linear);
    const double without = train_on_steps(SEQGEN_HEAD_INDEPENDENT, XOR_UNITS, &independent);
    print_message("    BCE per unit: MADE %.4f, linear %.4f, independent %.4f (ln 2 = %.4f, "
                  "2 ln 2 / 3 = %.4f)\n", with_made, with_linear, without, log(2.0),
                  2.0 * log(2.0) / 3);
    assert_true(without > 0.65);
    assert_true(with_linear > 0.65);
    assert_true(with_made < 0.52);
    for (int t = 0; t < seqgen_model_tensor_count(made); t++) {
        const char *name;
        int rows, cols;
        assert_ok(seqgen_model_tensor_info(made, t, &name, &rows, &cols));
        float *v = malloc((size_t)rows * cols * sizeof *v);
        assert_non_null(v);
        assert_ok(seqgen_model_get_tensor(made, name, v, (size_t)rows * cols));
        for (size_t i = 0; i < (size_t)rows * cols; i++)
            if (is_masked(name, 3, cols, i))
                assert_true(v[i] == 0.0f);
        free(v);
    }
    seqgen_model_free(made);
    seqgen_model_free(linear);
    seqgen_model_free(independent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_and_tensor),
        cmocka_unit_test(set_tensor_keeps_u_strictly_lower),
        cmocka_unit_test(gradients_bce),
        cmocka_unit_test(gradients_mse),
        cmocka_unit_test(lengths_and_threads),
        cmocka_unit_test(completion_conditions_on_given_units),
        cmocka_unit_test(partly_given_step_is_copied),
        cmocka_unit_test(refusals),
        cmocka_unit_test(learns_equal_units_within_a_step),
        cmocka_unit_test(made_config_and_tensors),
        cmocka_unit_test(made_gradients_bce),
        cmocka_unit_test(made_gradients_mse),
        cmocka_unit_test(made_lengths_and_threads),
        cmocka_unit_test(made_behaviour_pass),
        cmocka_unit_test(made_completion_conditions_on_given_units),
        cmocka_unit_test(made_completion_reads_only_decided_units),
        cmocka_unit_test(made_completion_threads),
        cmocka_unit_test(made_learns_xor_within_a_step),
        cmocka_unit_test(step_units_rollout_equals_completion),
        cmocka_unit_test(made_step_units_rollout_equals_completion),
        cmocka_unit_test(step_units_scores_sequences),
        cmocka_unit_test(made_step_units_scores_sequences),
        cmocka_unit_test(step_units_independent_head),
        cmocka_unit_test(step_units_refusals),
    };
    return cmocka_run_group_tests_name("ar_head", tests, NULL, NULL);
}
