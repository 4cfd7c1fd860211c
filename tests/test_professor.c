/* Professor forcing's library core (issue 18): the discriminator's gradients (its parameters and
 * its input, the behaviour) and the adversarial gradient that reaches the generator's weights
 * through the pass with extra per-step gradients, each against central finite differences of a
 * double-precision reference written out here (sequence by sequence, step by step, time reversed
 * by index; the GRU cell is tests/gru_reference.h's); and the teacher-forced re-run of a
 * free-running trajectory, which must reproduce it.
 *
 * Why double and which tolerance: as in test_gradcheck.c. The difference quotients of the double
 * reference with a step of 1e-5 are exact to ~1e-9; the library computes in float, ~1e-6
 * relative; per tensor the tolerance is 1e-3 relative plus 1e-4 of the tensor's largest
 * gradient, far below a real mistake (a dropped or misrouted term changes gradients by O(1) of
 * their size). */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "discriminator.h"
#include "gru_reference.h"
#include "head.h"
#include "model_impl.h"
#include "parallel.h"
#include "professor.h"
#include "rng.h"
#include "seqgen.h"
#include "train.h"

#define FD_STEP 1e-5

/* ---- Finite differences ------------------------------------------------------------------- */

typedef double (*loss_fn)(const void *ctx);

/* fd [n] = the central difference quotients of f with respect to values [n]. */
static void differences(double *values, size_t n, loss_fn f, const void *ctx, double *fd)
{
    for (size_t i = 0; i < n; i++) {
        const double saved = values[i];
        values[i] = saved + FD_STEP;
        const double up = f(ctx);
        values[i] = saved - FD_STEP;
        const double down = f(ctx);
        values[i] = saved;
        fd[i] = (up - down) / (2.0 * FD_STEP);
    }
}

/* The library's gradient [n] against the quotients of f over values [n]; returns the worst error
 * relative to the largest quotient. `nonzero`: the quotients must not all be 0. */
static double check_gradient(const float *grad, double *values, size_t n, loss_fn f,
                             const void *ctx, int nonzero)
{
    double *fd = malloc(n * sizeof *fd);
    assert_non_null(fd);
    differences(values, n, f, ctx, fd);
    double biggest = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++)
        biggest = fmax(biggest, fabs(fd[i]));
    if (nonzero)
        assert_true(biggest > 0.0);
    for (size_t i = 0; i < n; i++) {
        assert_allclose(grad[i], fd[i], 1e-3, 1e-4 * biggest);
        if (biggest > 0.0)
            worst = fmax(worst, fabs(grad[i] - fd[i]) / biggest);
    }
    free(fd);
    return worst;
}

/* ---- The reference discriminator ----------------------------------------------------------- */

typedef struct ref_disc {
    int F, Hd, K, M, count;
    double *t[4 * SG_DISC_MAX_LAYERS + 4]; /* the tensors, in the library's order */
    size_t n[4 * SG_DISC_MAX_LAYERS + 4];
    ref_model gru[SG_DISC_MAX_LAYERS]; /* layer k as a one-layer model sharing t[4k..4k+3] */
} ref_disc;

static void ref_disc_load(ref_disc *rd, sg_disc *d, const seqgen_discriminator_config *c)
{
    rd->F = c->features, rd->Hd = c->hidden, rd->K = c->layers, rd->M = c->mlp_hidden;
    rd->count = sg_disc_tensor_count(d);
    assert_int_equal(rd->count, 4 * c->layers + 4);
    for (int i = 0; i < rd->count; i++) {
        const sg_tensor *t = sg_disc_tensor(d, i);
        rd->n[i] = (size_t)t->rows * t->cols;
        rd->t[i] = malloc(rd->n[i] * sizeof *rd->t[i]);
        assert_non_null(rd->t[i]);
        for (size_t j = 0; j < rd->n[i]; j++)
            rd->t[i][j] = sg_disc_params(d)[t->offset + j];
    }
    for (int k = 0; k < rd->K; k++) {
        ref_model *g = &rd->gru[k];
        g->D = k == 0 ? rd->F : rd->Hd, g->H = rd->Hd, g->L = 1, g->count = 4;
        for (int j = 0; j < 4; j++) {
            const char *name = sg_disc_tensor(d, 4 * k + j)->name;
            char prefix[32];
            snprintf(prefix, sizeof prefix, "disc.gru.%d.", k);
            assert_memory_equal(name, prefix, strlen(prefix));
            snprintf(g->names[j], sizeof g->names[j], "%s", name + strlen(prefix));
            g->t[j] = rd->t[4 * k + j], g->n[j] = rd->n[4 * k + j];
        }
    }
}

static void ref_disc_free(ref_disc *rd)
{
    for (int i = 0; i < rd->count; i++)
        free(rd->t[i]);
}

/* The mean BCE of the discriminator over B sequences of behaviour [B][T][F], sequence s counting
 * n[s] steps, against labels [B]. Layer k reads its input from the last step to the first when k
 * is odd; every layer's outputs are kept at the step they belong to. */
static double ref_disc_loss(const ref_disc *rd, const double *beh, const size_t *n,
                            const double *labels, int B, int T)
{
    const int F = rd->F, Hd = rd->Hd, K = rd->K, M = rd->M, W = F > Hd ? F : Hd;
    double *x = malloc((size_t)T * W * sizeof *x), *y = malloc((size_t)T * Hd * sizeof *y);
    double *h = malloc((size_t)Hd * sizeof *h), *h_new = malloc((size_t)Hd * sizeof *h_new);
    double *mean = malloc((size_t)Hd * sizeof *mean);
    assert_true(x && y && h && h_new && mean);
    const double *w1 = rd->t[4 * K], *b1 = rd->t[4 * K + 1], *w2 = rd->t[4 * K + 2];
    const double *b2 = rd->t[4 * K + 3];
    double total = 0.0;
    for (int s = 0; s < B; s++) {
        const int len = n ? (int)n[s] : T;
        int in = F;
        memcpy(x, beh + (size_t)s * T * F, (size_t)len * F * sizeof *x);
        for (int k = 0; k < K; k++) {
            memset(h, 0, (size_t)Hd * sizeof *h);
            for (int j = 0; j < len; j++) {
                const int t = k % 2 ? len - 1 - j : j;
                ref_cell(&rd->gru[k], 0, in, x + (size_t)t * in, h, h_new, NULL);
                memcpy(y + (size_t)t * Hd, h_new, (size_t)Hd * sizeof *y);
                memcpy(h, h_new, (size_t)Hd * sizeof *h);
            }
            memcpy(x, y, (size_t)len * Hd * sizeof *x);
            in = Hd;
        }
        for (int c = 0; c < Hd; c++) {
            mean[c] = 0.0;
            for (int t = 0; t < len; t++)
                mean[c] += x[(size_t)t * Hd + c];
            mean[c] /= len;
        }
        double a = b2[0];
        for (int j = 0; j < M; j++) {
            double u = b1[j];
            for (int c = 0; c < Hd; c++)
                u += w1[(size_t)j * Hd + c] * mean[c];
            a += w2[j] * tanh(u);
        }
        total += fmax(a, 0.0) + log1p(exp(-fabs(a))) - labels[s] * a;
    }
    free(x), free(y), free(h), free(h_new), free(mean);
    return total / B;
}

/* ---- The discriminator's gradients --------------------------------------------------------- */

typedef struct disc_ctx {
    const ref_disc *rd;
    const double *beh, *labels;
    const size_t *n;
    int B, T;
} disc_ctx;

static double disc_loss_of(const void *ctx)
{
    const disc_ctx *c = ctx;
    return ref_disc_loss(c->rd, c->beh, c->n, c->labels, c->B, c->T);
}

static sg_disc *make_disc(const seqgen_discriminator_config *c, float scale)
{
    sg_disc *d = NULL;
    assert_ok(seqgen_discriminator_create(&d, c));
    for (size_t i = 0; i < seqgen_discriminator_param_count(d); i++)
        sg_disc_params(d)[i] *= scale; /* gates away from their linear regime */
    return d;
}

static void run_disc_case(int F, int Hd, int K, int M, int B, int T, const size_t *lengths)
{
    const seqgen_discriminator_config c = {F, Hd, K, M, 11};
    sg_disc *d = make_disc(&c, 2.0f);
    const size_t n = (size_t)B * T * F;
    float *beh = malloc(n * sizeof *beh), *dbeh = malloc(n * sizeof *dbeh);
    double *behd = malloc(n * sizeof *behd), labels_d[8];
    float labels[8];
    assert_true(beh && dbeh && behd && B <= 8);
    sg_rng rng;
    sg_rng_seed(&rng, 3, 0);
    for (size_t i = 0; i < n; i++)
        behd[i] = beh[i] = 2.0f * sg_rng_float(&rng) - 1.0f;
    for (int s = 0; s < B; s++)
        labels_d[s] = labels[s] = (float)(s % 2 == 0);
    seqgen_discriminator_stats st;
    float logits[8];
    sg_disc_zero_grads(d);
    assert_ok(sg_disc_forward_backward(d, beh, lengths, B, T, labels, logits, &st, dbeh));
    const double loss = st.loss;
    int right = 0;
    for (int s = 0; s < B; s++)
        right += (logits[s] > 0.0f) == (labels[s] > 0.5f);
    assert_true(st.accuracy == (double)right / B);

    ref_disc rd;
    ref_disc_load(&rd, d, &c);
    disc_ctx ctx = {&rd, behd, labels_d, lengths, B, T};
    assert_allclose(loss, disc_loss_of(&ctx), 1e-5, 0.0);
    double worst = 0.0;
    for (int i = 0; i < rd.count; i++)
        worst = fmax(worst, check_gradient(sg_disc_grads(d) + sg_disc_tensor(d, i)->offset, rd.t[i],
                                           rd.n[i], disc_loss_of, &ctx, 1));
    const double worst_input = check_gradient(dbeh, behd, n, disc_loss_of, &ctx, 1);
    for (int s = 0; lengths && s < B; s++) /* the padding is not read: exactly 0 */
        for (size_t i = lengths[s] * F; i < (size_t)T * F; i++)
            assert_true(dbeh[(size_t)s * T * F + i] == 0.0f);
    print_message("    K %d: loss %.9f, worst error %.2e (parameters), %.2e (input)\n", K, loss,
                  worst, worst_input);

    /* the gradients are added: a second pass doubles them */
    float *first = malloc(seqgen_discriminator_param_count(d) * sizeof *first);
    assert_non_null(first);
    memcpy(first, sg_disc_grads(d), seqgen_discriminator_param_count(d) * sizeof *first);
    assert_ok(sg_disc_forward_backward(d, beh, lengths, B, T, labels, NULL, NULL, NULL));
    for (size_t i = 0; i < seqgen_discriminator_param_count(d); i++)
        assert_allclose(sg_disc_grads(d)[i], 2.0 * first[i], 1e-6, 1e-9);
    /* forward only: the same logits, the gradients untouched */
    float again[8];
    memcpy(first, sg_disc_grads(d), seqgen_discriminator_param_count(d) * sizeof *first);
    assert_ok(sg_disc_forward_backward(d, beh, lengths, B, T, NULL, again, NULL, NULL));
    assert_memory_equal(again, logits, (size_t)B * sizeof *again);
    assert_memory_equal(first, sg_disc_grads(d), seqgen_discriminator_param_count(d) * sizeof *first);
    ref_disc_free(&rd);
    seqgen_discriminator_free(d);
    free(beh), free(dbeh), free(behd), free(first);
}

/* The sizes of the issue, the authors' three layers (forward, backward, forward), lengths that
 * tie and that end early. */
static void disc_three_layers_lengths(void **state)
{
    (void)state;
    const size_t lengths[] = {6, 3, 6};
    run_disc_case(5, 4, 3, 3, 3, 6, lengths);
}

/* One layer each way, every sequence whole; H_d = 11 runs the kernels' remainder path. */
static void disc_two_layers_whole(void **state)
{
    (void)state;
    run_disc_case(5, 11, 2, 4, 2, 5, NULL);
}

/* Every length different and one of a single step (which reads the same forward and backward). */
static void disc_four_layers_ragged(void **state)
{
    (void)state;
    const size_t lengths[] = {2, 7, 1, 5};
    run_disc_case(3, 4, 4, 2, 4, 7, lengths);
}

static void disc_refuses_bad_arguments(void **state)
{
    (void)state;
    const seqgen_discriminator_config c = {3, 4, 2, 2, 1};
    sg_disc *d = NULL;
    seqgen_discriminator_config bad = c;
    bad.layers = SG_DISC_MAX_LAYERS + 1;
    assert_fails_with(seqgen_discriminator_create(&d, &bad), SEQGEN_EINVAL, "layers must be in [1, 9]");
    assert_null(d);
    assert_ok(seqgen_discriminator_create(&d, &c));
    float beh[2 * 3 * 3] = {0}, labels[2] = {1.0f, 0.0f};
    size_t lengths[2] = {3, 0};
    assert_fails_with(sg_disc_forward_backward(d, beh, lengths, 2, 3, labels, NULL, NULL, NULL),
                      SEQGEN_EINVAL, "sequence 1 has length 0, not in [1, 3]");
    lengths[1] = 2;
    labels[1] = 2.0f;
    assert_fails_with(sg_disc_forward_backward(d, beh, lengths, 2, 3, labels, NULL, NULL, NULL),
                      SEQGEN_EINVAL, "label 1 is 2, not in [0, 1]");
    labels[1] = 0.0f;
    beh[3 * 3 + 4] = NAN; /* sequence 1, step 1, value 1 */
    assert_fails_with(sg_disc_forward_backward(d, beh, lengths, 2, 3, labels, NULL, NULL, NULL),
                      SEQGEN_EINVAL, "sequence 1, step 1, value 1 is nan");
    beh[3 * 3 + 7] = NAN; /* step 2 of sequence 1 is padding: not read */
    beh[3 * 3 + 4] = 0.0f;
    assert_ok(sg_disc_forward_backward(d, beh, lengths, 2, 3, labels, NULL, NULL, NULL));
    seqgen_discriminator_free(d);
}

/* Each allocation of the discriminator and of its workspace, made to fail in turn: ENOMEM, and
 * nothing changed (a failed growth leaves the handle usable at its old size). */
static void disc_out_of_memory(void **state)
{
    (void)state;
    const seqgen_discriminator_config c = {3, 4, 2, 2, 1};
    float beh[4 * 5 * 3] = {0}, logits[4];
    int created = 0;
    for (long n = 0; !created; n++) {
        seqgen_discriminator *d = NULL;
        sg_alloc_fail_after(n);
        int status = seqgen_discriminator_create(&d, &c);
        created = sg_alloc_fail_pending(); /* the failure did not happen */
        sg_alloc_fail_after(-1);
        if (created) {
            assert_ok(status);
        } else {
            assert_fails_with(status, SEQGEN_ENOMEM, "out of memory for");
            assert_null(d);
            continue;
        }
        assert_ok(seqgen_discriminator_classify(d, beh, NULL, 2, 2, logits));
        for (long k = 0; k < 2; k++) {
            sg_alloc_fail_after(k);
            assert_fails_with(seqgen_discriminator_classify(d, beh, NULL, 4, 5, logits),
                              SEQGEN_ENOMEM, "discriminator's workspace of 4 sequences of 5");
            sg_alloc_fail_after(-1);
        }
        assert_ok(seqgen_discriminator_classify(d, beh, NULL, 2, 2, logits));
        assert_ok(seqgen_discriminator_classify(d, beh, NULL, 4, 5, logits));
        seqgen_discriminator_free(d);
    }
}

/* ---- The public door: training with an optimiser ------------------------------------------ */

/* Two classes that only the order of time tells apart: a ramp up (label 1) or down (label 0),
 * with noise, of random lengths; their means over time are the same, so the mean of the input
 * alone cannot separate them: the GRU layers must. Adam over the discriminator's buffer. */
static void disc_learns_the_direction_of_time(void **state)
{
    (void)state;
    const int B = 16, T = 10, F = 2;
    seqgen_discriminator_config c = seqgen_discriminator_config_default(F);
    c.hidden = 8, c.mlp_hidden = 8;
    seqgen_discriminator *d = NULL;
    seqgen_optim *opt = NULL;
    assert_ok(seqgen_discriminator_create(&d, &c));
    seqgen_optim_config oc = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    oc.lr = 1e-2, oc.clip_norm = 1.0;
    assert_ok(seqgen_discriminator_optim_create(&opt, d, &oc));
    float beh[16 * 10 * 2], labels[16], logits[16];
    size_t lengths[16];
    sg_rng rng;
    sg_rng_seed(&rng, 14, 0);
    seqgen_discriminator_stats first = {0, 0}, st = {0, 0};
    for (int step = 0; step < 300; step++) {
        for (int s = 0; s < B; s++) {
            labels[s] = (float)(s % 2);
            lengths[s] = 3 + sg_rng_below(&rng, T - 2);
            for (int t = 0; t < T; t++)
                for (int f = 0; f < F; f++) {
                    const float ramp = (float)t / (float)(lengths[s] - 1);
                    beh[(s * T + t) * F + f] = (labels[s] > 0.5f ? ramp : 1.0f - ramp) +
                                               0.2f * (sg_rng_float(&rng) - 0.5f);
                }
        }
        assert_ok(seqgen_discriminator_train_step(d, opt, beh, lengths, B, T, labels, &st));
        if (step == 0)
            first = st;
    }
    assert_ok(seqgen_discriminator_classify(d, beh, lengths, B, T, logits));
    int right = 0;
    for (int s = 0; s < B; s++)
        right += (logits[s] > 0.0f) == (labels[s] > 0.5f);
    print_message("    loss %.4f, accuracy %.2f at the first step; %.4f, %.2f at the last; %d of "
                  "%d right after it\n", first.loss, first.accuracy, st.loss, st.accuracy, right,
                  B);
    assert_true(first.loss > 0.5);
    assert_true(st.loss < 0.1);
    assert_int_equal(right, B);
    assert_int_equal(seqgen_optim_step_count(opt), 300);

    /* the optimiser is the discriminator's, and the model's is not */
    seqgen_model *m = tu_make_model(1, 4, 1, 1, 1);
    seqgen_optim *model_opt = NULL;
    assert_ok(seqgen_optim_create(&model_opt, m, &oc));
    assert_fails_with(seqgen_optim_step(opt, m), SEQGEN_EMISMATCH,
                      "made for a discriminator, not a model");
    assert_fails_with(seqgen_discriminator_train_step(d, model_opt, beh, lengths, B, T, labels,
                                                      NULL),
                      SEQGEN_EMISMATCH, "made for a model, not a discriminator");
    seqgen_discriminator *other = NULL;
    c.hidden = 5;
    assert_ok(seqgen_discriminator_create(&other, &c));
    assert_fails_with(seqgen_discriminator_train_step(other, opt, beh, lengths, B, T, labels,
                                                      NULL),
                      SEQGEN_EMISMATCH, "parameters, discriminator has");
    assert_fails_with(seqgen_discriminator_train_step(d, opt, beh, lengths, B, T, NULL, NULL),
                      SEQGEN_EINVAL, "seqgen_discriminator_train_step: NULL labels");
    assert_fails_with(seqgen_discriminator_classify(d, NULL, lengths, B, T, logits),
                      SEQGEN_EINVAL, "NULL behaviour");
    assert_fails_with(seqgen_discriminator_create(NULL, &c), SEQGEN_EINVAL,
                      "seqgen_discriminator_create: NULL output");
    assert_int_equal(seqgen_discriminator_param_count(NULL), 0);
    seqgen_discriminator_free(NULL);
    seqgen_discriminator_free(other);
    seqgen_optim_free(model_opt);
    seqgen_model_free(m);
    seqgen_optim_free(opt);
    seqgen_discriminator_free(d);
}

/* ---- The reference generator's behaviour --------------------------------------------------- */

typedef struct gen_case {
    int V, E;  /* V = 0: binary units */
    int D, H, L, B, T;
    size_t lengths[4]; /* of the sequences read by seqgen_batch_of_sequences() (T + 1 at most) */
} gen_case;

/* The reference behaviour [B][T][F] (F = H + O) of the generator r teacher-forced on its inputs:
 * units [B][T][D] or symbols [B][T] (-1: a zero vector); n [B] counted steps, zeros after. */
static void ref_behaviour(const ref_model *r, const gen_case *c, const double *units,
                          const int32_t *symbols, const size_t *n, double *beh)
{
    const int H = c->H, L = c->L, O = c->V ? c->V : c->D, X = c->V ? c->E : c->D, F = H + O;
    const double *w_out = ref_tensor(r, "out.weight"), *b_out = ref_tensor(r, "out.bias");
    const double *emb = c->V ? ref_tensor(r, "embedding.weight") : NULL;
    double *h = calloc((size_t)L * H, sizeof *h), *h_new = calloc((size_t)H, sizeof *h_new);
    double *in = calloc((size_t)(X > H ? X : H), sizeof *in);
    assert_true(h && h_new && in);
    memset(beh, 0, (size_t)c->B * c->T * F * sizeof *beh);
    for (int b = 0; b < c->B; b++) {
        memset(h, 0, (size_t)L * H * sizeof *h);
        for (int t = 0; t < (int)n[b]; t++) {
            const size_t at = (size_t)b * c->T + t;
            for (int e = 0; e < X; e++)
                in[e] = !c->V ? units[at * X + e]
                        : symbols[at] >= 0 ? emb[(size_t)symbols[at] * X + e] : 0.0;
            for (int k = 0; k < L; k++) {
                ref_cell(r, k, k == 0 ? X : H, in, h + (size_t)k * H, h_new, NULL);
                memcpy(h + (size_t)k * H, h_new, (size_t)H * sizeof *h_new);
                memcpy(in, h_new, (size_t)H * sizeof *h_new);
            }
            double *out = beh + at * F, *p = out + H, top = 0.0;
            memcpy(out, h + (size_t)(L - 1) * H, (size_t)H * sizeof *out);
            for (int o = 0; o < O; o++) {
                p[o] = b_out[o];
                for (int j = 0; j < H; j++)
                    p[o] += w_out[(size_t)o * H + j] * out[j];
                top = o == 0 || p[o] > top ? p[o] : top;
            }
            double sum = 0.0;
            for (int o = 0; o < O; o++)
                sum += c->V ? exp(p[o] - top) : 0.0;
            for (int o = 0; o < O; o++)
                p[o] = c->V ? exp(p[o] - top) / sum : ref_sigmoid(p[o]);
        }
    }
    free(h), free(h_new), free(in);
}

typedef struct gen_ctx {
    const ref_model *r;
    const ref_disc *rd;
    const gen_case *c;
    const double *units;
    const int32_t *symbols;
    const size_t *n;
    double *beh;
    const double *ones;
} gen_ctx;

/* BCE(D(b_fr), 1) as a function of the generator's parameters, its inputs fixed. */
static double adversarial_loss_of(const void *ctx)
{
    const gen_ctx *g = ctx;
    ref_behaviour(g->r, g->c, g->units, g->symbols, g->n, g->beh);
    return ref_disc_loss(g->rd, g->beh, g->n, g->ones, g->c->B, g->c->T);
}

/* The generator's adversarial gradient: b_fr from a forward pass over fixed (sampled) sequences,
 * dL/db_fr of BCE(D(b_fr), 1) from the discriminator, then the pass with that gradient and the
 * pass's own loss weighted 0, against the differences of the reference in the generator's
 * parameters (D's held fixed). */
static void run_adversarial_case(const gen_case *c)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = c->V ? 1 : c->D, cfg.hidden = c->H, cfg.layers = c->L;
    cfg.vocab = c->V, cfg.embedding = c->E, cfg.seed = 21, cfg.threads = 2;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    float *params = sg_model_params_for_write(m);
    for (size_t i = (size_t)c->V * c->E; i < seqgen_model_param_count(m); i++)
        params[i] *= 2.0f;
    const int B = c->B, T = c->T, X = c->V ? 1 : c->D, O = c->V ? c->V : c->D, F = c->H + O;
    const int width = T + 1;
    float *seqs = malloc((size_t)B * width * X * sizeof *seqs);
    int32_t *syms = malloc((size_t)B * width * sizeof *syms);
    double *units = calloc((size_t)B * T * X, sizeof *units);
    int32_t *fed = calloc((size_t)B * T, sizeof *fed);
    size_t n[4];
    assert_true(seqs && syms && units && fed && B <= 4);
    sg_rng rng;
    sg_rng_seed(&rng, 8, 0);
    for (size_t i = 0; i < (size_t)B * width * X; i++)
        seqs[i] = (float)(sg_rng_u32(&rng) & 1);
    for (size_t i = 0; i < (size_t)B * width; i++)
        syms[i] = (int32_t)sg_rng_below(&rng, c->V ? (uint32_t)c->V : 2);
    for (int b = 0; b < B; b++) {
        n[b] = c->lengths[b] - 1; /* no start step: a sequence of length l predicts l - 1 */
        for (int t = 0; t < T; t++) {
            fed[(size_t)b * T + t] = syms[(size_t)b * width + t];
            for (int x = 0; x < X; x++)
                units[((size_t)b * T + t) * X + x] = seqs[((size_t)b * width + t) * X + x];
        }
    }
    seqgen_batch units_batch = seqgen_batch_of_sequences(m, seqs, B, width);
    seqgen_symbol_batch symbol_batch = seqgen_symbol_batch_of_sequences(m, syms, B, width);
    units_batch.lengths = symbol_batch.lengths = c->lengths;
    const seqgen_batch *ub = c->V ? NULL : &units_batch;
    const seqgen_symbol_batch *sb = c->V ? &symbol_batch : NULL;
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = c->V ? SEQGEN_LOSS_CE : SEQGEN_LOSS_BCE;

    const size_t nb = (size_t)B * T * F;
    float *b_fr = malloc(nb * sizeof *b_fr), *db = malloc(nb * sizeof *db);
    float *again = malloc(nb * sizeof *again), ones[4] = {1, 1, 1, 1};
    double *behd = malloc(nb * sizeof *behd), ones_d[4] = {1, 1, 1, 1};
    assert_true(b_fr && db && again && behd);
    sg_behaviour fr = {b_fr, NULL, 0.0};
    assert_ok(sg_model_pass_behaviour(m, ub, sb, &opts, 0, &fr, NULL, NULL));
    const seqgen_discriminator_config dc = {F, 4, 3, 3, 12};
    sg_disc *d = make_disc(&dc, 2.0f);
    float *before = malloc(seqgen_discriminator_param_count(d) * sizeof *before);
    assert_non_null(before);
    memcpy(before, sg_disc_params(d), seqgen_discriminator_param_count(d) * sizeof *before);
    seqgen_discriminator_stats dst;
    assert_ok(seqgen_discriminator_input_gradient(d, b_fr, n, B, T, ones, db, &dst));
    assert_memory_equal(before, sg_disc_params(d), /* the public door leaves them */
                        seqgen_discriminator_param_count(d) * sizeof *before);
    free(before);
    const double adv = dst.loss;
    sg_behaviour with_grad = {again, db, 0.0};
    assert_ok(sg_model_pass_behaviour(m, ub, sb, &opts, 1, &with_grad, NULL, NULL));
    assert_memory_equal(again, b_fr, nb * sizeof *again); /* the same forward */

    ref_model r;
    ref_load(&r, m);
    ref_disc rd;
    ref_disc_load(&rd, d, &dc);
    gen_ctx ctx = {&r, &rd, c, units, fed, n, behd, ones_d};
    assert_allclose(adv, adversarial_loss_of(&ctx), 1e-5, 0.0);
    for (size_t i = 0; i < nb; i++)
        assert_allclose(b_fr[i], behd[i], 1e-5, 1e-6);
    double worst = 0.0;
    for (int k = 0; k < r.count; k++) {
        float *grad = malloc(r.n[k] * sizeof *grad);
        assert_non_null(grad);
        assert_ok(seqgen_model_get_grad(m, r.names[k], grad, r.n[k]));
        worst = fmax(worst, check_gradient(grad, r.t[k], r.n[k], adversarial_loss_of, &ctx, 1));
        free(grad);
    }
    print_message("    BCE(D(b_fr), 1) %.9f, worst error %.2e of a tensor's largest\n", adv, worst);
    ref_disc_free(&rd);
    ref_free(&r);
    seqgen_discriminator_free(d);
    seqgen_model_free(m);
    free(seqs), free(syms), free(units), free(fed), free(b_fr), free(db), free(again), free(behd);
}

/* Bernoulli units (dlogit += dp p (1 - p)), two layers, sequences ending early. */
static void adversarial_units(void **state)
{
    (void)state;
    gen_case c = {0, 0, 2, 3, 2, 3, 6, {7, 4, 6}};
    run_adversarial_case(&c);
}

/* A softmax over symbols (dlogit_k += p_k (dp_k - sum_j p_j dp_j)) and the embedding. */
static void adversarial_symbols(void **state)
{
    (void)state;
    gen_case c = {4, 3, 1, 3, 2, 3, 5, {6, 3, 5}};
    run_adversarial_case(&c);
}

/* ---- Unused, the pass is the plain one; weighted, the two gradients add ------------------- */

static void behaviour_leaves_the_pass_alone(void **state)
{
    (void)state;
    seqgen_model *m = tu_make_model(2, 5, 2, 4, 2);
    const int B = 3, T = 7, F = 5 + 2;
    float *x = tu_random_bits((size_t)B * (T + 1) * 2, 5);
    const size_t P = seqgen_model_param_count(m), nb = (size_t)B * T * F;
    float *plain = malloc(P * sizeof *plain), *probs = malloc((size_t)B * T * 2 * sizeof *probs);
    float *probs2 = malloc((size_t)B * T * 2 * sizeof *probs2), *beh = malloc(nb * sizeof *beh);
    float *dbeh = malloc(nb * sizeof *dbeh), *adv = malloc(P * sizeof *adv);
    assert_true(plain && probs && probs2 && beh && dbeh && adv);
    const size_t lengths[] = {8, 5, 2};
    seqgen_batch batch = seqgen_batch_of_sequences(m, x, B, T + 1);
    batch.lengths = lengths;
    seqgen_train_options opts = seqgen_train_options_default();
    seqgen_train_stats st, st2;
    assert_ok(seqgen_model_forward_backward(m, &batch, &opts, probs, &st));
    memcpy(plain, seqgen_model_gradients(m), P * sizeof *plain);
    sg_behaviour bh = {beh, NULL, 1.0};
    assert_ok(sg_model_pass_behaviour(m, &batch, NULL, &opts, 1, &bh, probs2, &st2));
    assert_memory_equal(plain, seqgen_model_gradients(m), P * sizeof *plain);
    assert_memory_equal(probs, probs2, (size_t)B * T * 2 * sizeof *probs);
    assert_true(st.loss == st2.loss);
    for (int b = 0; b < B; b++) /* the behaviour's probabilities are the pass's */
        for (int t = 0; t < T; t++)
            assert_memory_equal(beh + ((size_t)b * T + t) * F + 5, probs + ((size_t)b * T + t) * 2,
                                2 * sizeof *probs);
    /* each sequence's behaviour is its own worker's: the same on one thread as on two */
    float *one_thread = malloc(nb * sizeof *one_thread);
    assert_non_null(one_thread);
    sg_behaviour single = {one_thread, NULL, 1.0};
    assert_ok(seqgen_model_set_threads(m, 1));
    assert_ok(sg_model_pass_behaviour(m, &batch, NULL, &opts, 0, &single, NULL, NULL));
    assert_ok(seqgen_model_set_threads(m, 2));
    assert_memory_equal(one_thread, beh, nb * sizeof *beh);
    free(one_thread);
    /* an extra gradient alone, then with the loss: the sum of the two */
    sg_rng rng;
    sg_rng_seed(&rng, 6, 0);
    for (size_t i = 0; i < nb; i++)
        dbeh[i] = 0.1f * (2.0f * sg_rng_float(&rng) - 1.0f);
    sg_behaviour extra = {beh, dbeh, 0.0};
    assert_ok(sg_model_pass_behaviour(m, &batch, NULL, &opts, 1, &extra, NULL, &st2));
    memcpy(adv, seqgen_model_gradients(m), P * sizeof *adv);
    double adv_norm = 0.0;
    for (size_t i = 0; i < P; i++)
        adv_norm += (double)adv[i] * adv[i];
    assert_true(adv_norm > 1e-6);
    extra.loss_weight = 1.0;
    assert_ok(sg_model_pass_behaviour(m, &batch, NULL, &opts, 1, &extra, NULL, &st2));
    for (size_t i = 0; i < P; i++)
        assert_allclose(seqgen_model_gradients(m)[i], plain[i] + adv[i], 1e-5, 1e-7);
    assert_fails_with(sg_model_pass_behaviour(m, &batch, NULL, &opts, 1, NULL, NULL, NULL),
                      SEQGEN_EINVAL, "NULL behaviour");
    assert_fails_with(sg_model_pass_behaviour(m, &batch, NULL, &opts, 0, &extra, NULL, NULL),
                      SEQGEN_EINVAL, "a behaviour gradient for a pass without backward");
    extra.loss_weight = -1.0;
    assert_fails_with(sg_model_pass_behaviour(m, &batch, NULL, &opts, 1, &extra, NULL, NULL),
                      SEQGEN_EINVAL, "loss_weight is -1");
    seqgen_model_free(m);
    free(x), free(plain), free(probs), free(probs2), free(beh), free(dbeh), free(adv);
}

/* ---- The re-run reproduces the free-running trajectory ------------------------------------- */

/* Free-running through the network's one step (sg_model_step_forward, what seqgen_model_step(),
 * completion and generation run): from a start step of zeros, each step's units drawn from its
 * probabilities and fed to the next. The teacher-forced pass over the drawn sequences (the
 * re-run of professor forcing) must give the same top hidden states and probabilities: to
 * 1e-6, not bit for bit. Both paths run the same gate code and recurrent products, but the
 * input and output products are GEMMs over 8 steps at once in one and over a step in the other;
 * natively OpenBLAS sums them alike (0 values differ here, also with the portable kernels), but
 * under valgrind, which shows OpenBLAS another CPU, 141 of the 1600 differ by up to 1.2e-7: a
 * BLAS may order a dot product differently for another number of rows. */
static void rerun_reproduces_free_running(void **state)
{
    (void)state;
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = 3, cfg.hidden = 13, cfg.layers = 2, cfg.start_step = 1, cfg.seed = 9;
    cfg.threads = 2;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    const int B = 5, T = 20, D = 3, H = 13, L = 2, F = H + D;
    float *buffer = malloc(sg_rollout_floats(m, B) * sizeof *buffer);
    float *seqs = malloc((size_t)B * T * D * sizeof *seqs), *probs = malloc((size_t)B * D * 4);
    float *free_run = malloc((size_t)B * T * F * sizeof *free_run);
    float *rerun = malloc((size_t)B * T * F * sizeof *rerun);
    sg_gru_packed *packed = sg_model_pack_copy(m);
    assert_true(buffer && seqs && probs && free_run && rerun && packed);
    sg_rollout ro;
    sg_rollout_lay_out(m, B, buffer, &ro);
    memset(ro.h[0], 0, (size_t)L * B * H * sizeof(float));
    memset(ro.x, 0, (size_t)B * D * sizeof(float)); /* the start step */
    sg_rng rng;
    sg_rng_seed(&rng, 10, 0);
    sg_blas_single_begin();
    for (int t = 0, cur = 0; t < T; t++, cur = 1 - cur) {
        sg_step_io io = {ro.x, ro.h[cur], ro.h[1 - cur], (size_t)B * H, NULL, 0, ro.logits};
        sg_model_step_forward(m, packed, B, &io, &ro.scratch);
        sg_head_probs(SG_HEAD_BERNOULLI, B, D, ro.logits, probs);
        for (int b = 0; b < B; b++) {
            float *out = free_run + ((size_t)b * T + t) * F;
            memcpy(out, ro.h[1 - cur] + ((size_t)(L - 1) * B + b) * H, (size_t)H * sizeof *out);
            memcpy(out + H, probs + (size_t)b * D, (size_t)D * sizeof *out);
            for (int u = 0; u < D; u++) {
                const float drawn = sg_rng_float(&rng) < probs[b * D + u] ? 1.0f : 0.0f;
                seqs[((size_t)b * T + t) * D + u] = ro.x[b * D + u] = drawn;
            }
        }
    }
    sg_blas_single_end();
    sg_behaviour bh = {rerun, NULL, 0.0};
    seqgen_train_options opts = seqgen_train_options_default();
    assert_ok(sg_model_pass_behaviour(m, TU_SEQUENCES(m, seqs, B, T), NULL, &opts, 0, &bh, NULL,
                                      NULL));
    size_t differ = 0;
    double largest = 0.0;
    for (size_t i = 0; i < (size_t)B * T * F; i++) {
        differ += rerun[i] != free_run[i];
        largest = fmax(largest, fabs((double)rerun[i] - free_run[i]));
        assert_allclose(rerun[i], free_run[i], 0.0, 1e-6);
    }
    print_message("    %zu of %d values differ from the free run, by at most %.2e\n", differ,
                  B * T * F, largest);
    free(packed);
    seqgen_model_free(m);
    free(buffer), free(seqs), free(probs), free(free_run), free(rerun);
}

/* ---- The three-pass step ------------------------------------------------------------------- */

/* A trainer for m with a small discriminator. */
static seqgen_professor *make_professor(const seqgen_model *m, double lambda, double lo,
                                        double hi, int given)
{
    seqgen_professor_config pc = seqgen_professor_config_default(m);
    pc.lambda = lambda, pc.band_low = lo, pc.band_high = hi, pc.given = given;
    pc.disc.hidden = 5, pc.disc.layers = 3, pc.disc.mlp_hidden = 4, pc.seed = 3;
    seqgen_professor *pf = NULL;
    assert_ok(seqgen_professor_create(&pf, m, &pc));
    return pf;
}

/* With lambda 0, or the band closed to every accuracy, the step's gradient is teacher
 * forcing's, bit for bit. */
static void step_without_adversary_is_teacher_forcing(void **state)
{
    (void)state;
    const int B = 3, length = 9, D = 2;
    const size_t lengths[] = {9, 4, 6};
    float *x = tu_random_bits((size_t)B * length * D, 17);
    for (int closed = 0; closed < 2; closed++) {
        seqgen_model *m = tu_make_model(D, 6, 2, 5, 2);
        /* accuracies over 2B = 6 sequences are multiples of 1/6: none is in [0.01, 0.02] */
        seqgen_professor *pf = closed ? make_professor(m, 1.0, 0.01, 0.02, 0)
                                      : make_professor(m, 0.0, 0.0, 1.0, 0);
        const size_t P = seqgen_model_param_count(m);
        float *tf = malloc(P * sizeof *tf);
        assert_non_null(tf);
        seqgen_train_options opts = seqgen_train_options_default();
        opts.loss = SEQGEN_LOSS_BCE;
        seqgen_batch batch = seqgen_batch_of_sequences(m, x, B, length);
        batch.lengths = lengths;
        seqgen_train_stats ts;
        assert_ok(seqgen_model_forward_backward(m, &batch, &opts, NULL, &ts));
        memcpy(tf, seqgen_model_gradients(m), P * sizeof *tf);
        seqgen_professor_stats st;
        for (int step = 0; step < 2; step++) { /* the second reuses the buffers */
            assert_ok(seqgen_professor_step(pf, m, x, B, length, lengths, &opts, &st));
            assert_int_equal(st.passed, 0);
            assert_memory_equal(tf, seqgen_model_gradients(m), P * sizeof *tf);
            assert_true(st.train.loss == ts.loss && st.train.nll_nats == ts.nll_nats);
            assert_true(isfinite(st.disc_loss) && isfinite(st.adv_loss));
            assert_true(st.disc_accuracy >= 0.0 && st.disc_accuracy <= 1.0);
        }
        seqgen_professor_free(pf);
        seqgen_model_free(m);
        free(tf);
    }
    free(x);
}

/* From K given units the drawn sequences begin with the real ones (K not a whole number of
 * steps included), and differ somewhere after; with a start step, from nothing. */
static void step_keeps_the_given_units(void **state)
{
    (void)state;
    const int B = 4, length = 12, D = 3, K = 13;
    float *x = tu_random_bits((size_t)B * length * D, 23);
    seqgen_model *m = tu_make_model(D, 7, 1, 6, 2);
    seqgen_professor *pf = make_professor(m, 1.0, 0.0, 1.0, K);
    seqgen_professor_stats st;
    assert_ok(seqgen_professor_step(pf, m, x, B, length, NULL, NULL, &st));
    const float *drawn = sg_professor_drawn(pf);
    size_t differ = 0;
    for (int s = 0; s < B; s++) {
        const size_t at = (size_t)s * length * D;
        assert_memory_equal(drawn + at, x + at, (size_t)K * sizeof *x);
        for (size_t i = K; i < (size_t)length * D; i++) {
            assert_true(drawn[at + i] == 0.0f || drawn[at + i] == 1.0f);
            differ += drawn[at + i] != x[at + i];
        }
    }
    assert_true(differ > 0);
    assert_int_equal(st.passed, 1);
    seqgen_professor_free(pf);
    seqgen_model_free(m);
    /* a start step, from nothing (K = 0), sequences of their own lengths down to 1 step: the
     * drawn units 0 or 1 within each length, 0 after it */
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = D, cfg.hidden = 5, cfg.start_step = 1, cfg.seed = 2, cfg.threads = 2;
    assert_ok(seqgen_model_create(&m, &cfg));
    pf = make_professor(m, 1.0, 0.0, 1.0, 0);
    const size_t lengths[] = {12, 1, 7, 3};
    assert_ok(seqgen_professor_step(pf, m, x, B, length, lengths, NULL, &st));
    assert_int_equal(st.passed, 1);
    assert_true(isfinite(st.train.nll_nats) && isfinite(st.adv_loss));
    drawn = sg_professor_drawn(pf);
    for (int s = 0; s < B; s++)
        for (size_t i = 0; i < (size_t)length * D; i++) {
            const float v = drawn[(size_t)s * length * D + i];
            assert_true(i < lengths[s] * D ? v == 0.0f || v == 1.0f : v == 0.0f);
        }
    seqgen_professor_free(pf);
    seqgen_model_free(m);
    free(x);
}

/* In the band, the gradient is the teacher-forced one plus lambda times the adversarial one:
 * twice lambda, twice the difference (the same draws and discriminator on fresh copies). */
static void step_adds_lambda_times_the_adversarial_gradient(void **state)
{
    (void)state;
    const int B = 3, length = 8, D = 1;
    float *x = tu_random_bits((size_t)B * length * D, 29);
    float *diff[2];
    size_t P = 0;
    seqgen_train_options opts = seqgen_train_options_default();
    for (int k = 0; k < 2; k++) {
        seqgen_model *m = tu_make_model(D, 5, 1, 8, 2);
        P = seqgen_model_param_count(m);
        seqgen_professor *pf = make_professor(m, k ? 2.0 : 1.0, 0.0, 1.0, 0);
        diff[k] = malloc(P * sizeof *diff[k]);
        assert_non_null(diff[k]);
        assert_ok(seqgen_model_forward_backward(m, TU_SEQUENCES(m, x, B, length), &opts, NULL,
                                                NULL));
        memcpy(diff[k], seqgen_model_gradients(m), P * sizeof *diff[k]);
        seqgen_professor_stats st;
        assert_ok(seqgen_professor_step(pf, m, x, B, length, NULL, &opts, &st));
        assert_int_equal(st.passed, 1);
        for (size_t i = 0; i < P; i++)
            diff[k][i] = seqgen_model_gradients(m)[i] - diff[k][i];
        seqgen_professor_free(pf);
        seqgen_model_free(m);
    }
    double norm = 0.0;
    for (size_t i = 0; i < P; i++) {
        norm += (double)diff[0][i] * diff[0][i];
        assert_allclose(diff[1][i], 2.0 * diff[0][i], 1e-4, 1e-6);
    }
    assert_true(norm > 1e-12);
    free(diff[0]), free(diff[1]), free(x);
}

/* Every allocation of create and of the first step, made to fail in turn: SEQGEN_ENOMEM, nothing
 * leaked (the sanitizers' builds), and the trainer usable afterwards. */
static void step_out_of_memory(void **state)
{
    (void)state;
    const int B = 2, length = 6;
    float *x = tu_random_bits((size_t)B * length, 37);
    seqgen_model *m = tu_make_model(1, 4, 1, 9, 2);
    const seqgen_professor_config pc = seqgen_professor_config_default(m);
    long failures = 0;
    for (long n = 0;; n++, failures++) {
        seqgen_professor *pf = NULL;
        sg_alloc_fail_after(n);
        int status = seqgen_professor_create(&pf, m, &pc);
        if (status == SEQGEN_OK)
            status = seqgen_professor_step(pf, m, x, B, length, NULL, NULL, NULL);
        int reached = !sg_alloc_fail_pending();
        sg_alloc_fail_after(-1);
        if (!reached) {
            assert_ok(status);
            seqgen_professor_free(pf);
            break;
        }
        assert_int_equal(status, SEQGEN_ENOMEM);
        if (pf) /* the step failed: the next one works */
            assert_ok(seqgen_professor_step(pf, m, x, B, length, NULL, NULL, NULL));
        seqgen_professor_free(pf);
    }
    print_message("    %ld allocation failures injected\n", failures);
    assert_true(failures > 5);
    seqgen_model_free(m);
    free(x);
}

/* The step's gradient rebuilt from its parts on fresh copies (the same initialisations): teacher
 * forcing on the real sequences, plus the re-run on the step's drawn sequences with lambda times
 * the discriminator's (before its update) gradient on their behaviour; bit for bit. Catches a
 * gradient taken on the real sequences' behaviour, or the backward run on the real sequences. */
static void step_is_its_parts(void **state)
{
    (void)state;
    const int B = 3, length = 8, D = 2, H = 5, F = H + D, T = length - 1;
    const size_t lengths[] = {8, 5, 3}, counted[] = {7, 4, 2};
    float *x = tu_random_bits((size_t)B * length * D, 41);
    seqgen_model *m = tu_make_model(D, H, 1, 12, 2), *copy = tu_make_model(D, H, 1, 12, 2);
    seqgen_professor *pf = make_professor(m, 0.7, 0.0, 1.0, 4);
    seqgen_professor *fresh = make_professor(copy, 0.7, 0.0, 1.0, 4);
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = SEQGEN_LOSS_BCE;
    seqgen_professor_stats st;
    assert_ok(seqgen_professor_step(pf, m, x, B, length, lengths, &opts, &st));
    assert_int_equal(st.passed, 1);
    const size_t P = seqgen_model_param_count(m), nb = (size_t)B * T * F;
    float *drawn = malloc((size_t)B * length * D * sizeof *drawn), *tf = malloc(P * sizeof *tf);
    float *b_fr = malloc(nb * sizeof *b_fr), *db = malloc(nb * sizeof *db);
    assert_true(drawn && tf && b_fr && db);
    memcpy(drawn, sg_professor_drawn(pf), (size_t)B * length * D * sizeof *drawn);
    seqgen_batch real = seqgen_batch_of_sequences(copy, x, B, length);
    real.lengths = lengths;
    assert_ok(seqgen_model_forward_backward(copy, &real, &opts, NULL, NULL));
    memcpy(tf, seqgen_model_gradients(copy), P * sizeof *tf);
    seqgen_batch fr = seqgen_batch_of_sequences(copy, drawn, B, length);
    fr.lengths = lengths;
    sg_behaviour forward = {b_fr, NULL, 0.0};
    assert_ok(sg_model_pass_behaviour(copy, &fr, NULL, &opts, 0, &forward, NULL, NULL));
    const float ones[3] = {1, 1, 1};
    seqgen_discriminator_stats adv;
    assert_ok(seqgen_discriminator_input_gradient(sg_professor_disc(fresh), b_fr, counted, B, T,
                                                  ones, db, &adv));
    assert_true(adv.loss == st.adv_loss);
    for (size_t i = 0; i < nb; i++)
        db[i] *= 0.7f;
    sg_behaviour back = {b_fr, db, 0.0};
    assert_ok(sg_model_pass_behaviour(copy, &fr, NULL, &opts, 1, &back, NULL, NULL));
    float *g = seqgen_model_gradients(copy);
    for (size_t i = 0; i < P; i++)
        g[i] = tf[i] + g[i];
    assert_memory_equal(g, seqgen_model_gradients(m), P * sizeof *g);
    seqgen_professor_free(pf), seqgen_professor_free(fresh);
    seqgen_model_free(m), seqgen_model_free(copy);
    free(x), free(drawn), free(tf), free(b_fr), free(db);
}

static void step_refuses_bad_arguments(void **state)
{
    (void)state;
    const int B = 2, length = 5;
    float *x = tu_random_bits((size_t)B * length, 31);
    seqgen_model *m = tu_make_model(1, 4, 1, 9, 1), *other = tu_make_model(2, 4, 1, 9, 1);
    seqgen_professor_config pc = seqgen_professor_config_default(m);
    seqgen_professor *pf = NULL;
    pc.lambda = NAN;
    assert_fails_with(seqgen_professor_create(&pf, m, &pc), SEQGEN_EINVAL, "lambda");
    pc = seqgen_professor_config_default(m), pc.band_low = 0.9, pc.band_high = 0.8;
    assert_fails_with(seqgen_professor_create(&pf, m, &pc), SEQGEN_EINVAL, "band");
    pc = seqgen_professor_config_default(m), pc.given = -1;
    assert_fails_with(seqgen_professor_create(&pf, m, &pc), SEQGEN_EINVAL, "given");
    pc = seqgen_professor_config_default(m), pc.disc.features = 7;
    assert_fails_with(seqgen_professor_create(&pf, m, &pc), SEQGEN_EMISMATCH, "H + D = 5");
    pc = seqgen_professor_config_default(m), pc.disc.layers = 0;
    assert_fails_with(seqgen_professor_create(&pf, m, &pc), SEQGEN_EINVAL, "layers");
    assert_fails_with(seqgen_professor_create(&pf, NULL, &pc), SEQGEN_EINVAL, "NULL model");
    assert_null(pf);
    pc = seqgen_professor_config_default(m), pc.given = 6;
    assert_ok(seqgen_professor_create(&pf, m, &pc));
    seqgen_train_options opts = seqgen_train_options_default();
    assert_fails_with(seqgen_professor_step(pf, m, x, B, length, NULL, NULL, NULL),
                      SEQGEN_EINVAL, "6 given units are more than a sequence's 5");
    seqgen_professor_free(pf);
    pf = make_professor(m, 1.0, 0.75, 0.99, 0);
    opts.teacher_prob = 0.5;
    assert_fails_with(seqgen_professor_step(pf, m, x, B, length, NULL, &opts, NULL),
                      SEQGEN_EINVAL, "teacher_prob must be 1");
    opts = seqgen_train_options_default(), opts.slices = 2;
    assert_fails_with(seqgen_professor_step(pf, m, x, B, length, NULL, &opts, NULL),
                      SEQGEN_EINVAL, "slices");
    assert_fails_with(seqgen_professor_step(pf, other, x, B, length, NULL, NULL, NULL),
                      SEQGEN_EMISMATCH, "D = 1, H = 4");
    const size_t short_one[] = {5, 1};
    assert_fails_with(seqgen_professor_step(pf, m, x, B, length, short_one, NULL, NULL),
                      SEQGEN_EINVAL, "sequence 1: length 1");
    assert_fails_with(seqgen_professor_step(pf, m, NULL, B, length, NULL, NULL, NULL),
                      SEQGEN_EINVAL, "NULL sequences");
    assert_fails_with(seqgen_professor_step(pf, m, x, 0, length, NULL, NULL, NULL),
                      SEQGEN_EINVAL, "batch");
    assert_null(seqgen_professor_discriminator(NULL));
    assert_non_null(seqgen_professor_discriminator(pf));
    assert_true(seqgen_professor_get_config(pf).lambda == 1.0);
    seqgen_professor_free(NULL);
    seqgen_professor_free(pf);
    seqgen_model_free(m);
    seqgen_model_free(other);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(disc_three_layers_lengths),
        cmocka_unit_test(disc_two_layers_whole),
        cmocka_unit_test(disc_four_layers_ragged),
        cmocka_unit_test(disc_refuses_bad_arguments),
        cmocka_unit_test(disc_out_of_memory),
        cmocka_unit_test(disc_learns_the_direction_of_time),
        cmocka_unit_test(adversarial_units),
        cmocka_unit_test(adversarial_symbols),
        cmocka_unit_test(behaviour_leaves_the_pass_alone),
        cmocka_unit_test(rerun_reproduces_free_running),
        cmocka_unit_test(step_without_adversary_is_teacher_forcing),
        cmocka_unit_test(step_keeps_the_given_units),
        cmocka_unit_test(step_adds_lambda_times_the_adversarial_gradient),
        cmocka_unit_test(step_is_its_parts),
        cmocka_unit_test(step_out_of_memory),
        cmocka_unit_test(step_refuses_bad_arguments),
    };
    return cmocka_run_group_tests_name("professor", tests, NULL, NULL);
}
