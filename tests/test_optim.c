/* The optimiser against PyTorch's update formulas written out in double (torch.optim.Adam and
 * torch.optim.SGD source, torch.nn.utils.clip_grad_norm_), its state round trip and its errors.
 * Gradients are written straight into the model's gradient buffer so each update is known. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "optim.h"
#include "rng.h"
#include "seqgen.h"

/* Gradients of step k: varied signs and magnitudes, including exact zeros. */
static void set_grads(seqgen_model *m, int k)
{
    float *g = sg_model_grads(m);
    for (size_t i = 0; i < seqgen_model_param_count(m); i++)
        g[i] = i % 11 == 0 ? 0.0f : (float)sin(0.37 * (double)i + k) * (float)(1 + i % 5) * 1e-2f;
}

static void adam_follows_pytorch_formula(void **state)
{
    (void)state;
    seqgen_model *m = tu_make_model(1, 6, 1, 1, 1);
    const size_t n = seqgen_model_param_count(m);
    seqgen_optim_config cfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    assert_true(cfg.lr == 1e-3 && cfg.beta1 == 0.9 && cfg.beta2 == 0.999 && cfg.eps == 1e-8);
    cfg.weight_decay = 0.1;
    seqgen_optim *opt = NULL;
    assert_ok(seqgen_optim_create(&opt, m, &cfg));
    double *w = malloc(n * sizeof *w), *mm = calloc(n, sizeof *mm), *vv = calloc(n, sizeof *vv);
    for (size_t i = 0; i < n; i++)
        w[i] = sg_model_params_const(m)[i];
    for (int t = 1; t <= 4; t++) {
        set_grads(m, t);
        for (size_t i = 0; i < n; i++) {
            double g = sg_model_grads(m)[i] + cfg.weight_decay * w[i];
            mm[i] = cfg.beta1 * mm[i] + (1 - cfg.beta1) * g;
            vv[i] = cfg.beta2 * vv[i] + (1 - cfg.beta2) * g * g;
            double denom = sqrt(vv[i]) / sqrt(1 - pow(cfg.beta2, t)) + cfg.eps;
            w[i] -= cfg.lr / (1 - pow(cfg.beta1, t)) * mm[i] / denom;
        }
        assert_ok(seqgen_optim_step(opt, m));
        for (size_t i = 0; i < n; i++)
            assert_allclose(sg_model_params_const(m)[i], w[i], 1e-6, 1e-8);
    }
    assert_int_equal(seqgen_optim_step_count(opt), 4);
    seqgen_optim_free(opt);
    seqgen_model_free(m);
    free(w), free(mm), free(vv);
}

static void sgd_momentum_follows_pytorch_formula(void **state)
{
    (void)state;
    for (int with_momentum = 0; with_momentum <= 1; with_momentum++) {
        seqgen_model *m = tu_make_model(1, 5, 1, 1, 1);
        const size_t n = seqgen_model_param_count(m);
        seqgen_optim_config cfg = seqgen_optim_config_default(SEQGEN_OPTIM_SGD);
        cfg.lr = 0.5;
        cfg.momentum = with_momentum ? 0.9 : 0.0;
        cfg.weight_decay = 0.01;
        seqgen_optim *opt = NULL;
        assert_ok(seqgen_optim_create(&opt, m, &cfg));
        double *w = malloc(n * sizeof *w), *buf = calloc(n, sizeof *buf);
        for (size_t i = 0; i < n; i++)
            w[i] = sg_model_params_const(m)[i];
        for (int t = 1; t <= 3; t++) {
            set_grads(m, t);
            for (size_t i = 0; i < n; i++) {
                double g = sg_model_grads(m)[i] + cfg.weight_decay * w[i];
                if (with_momentum) {
                    buf[i] = t == 1 ? g : cfg.momentum * buf[i] + g; /* PyTorch: buf = g at first */
                    g = buf[i];
                }
                w[i] -= cfg.lr * g;
            }
            assert_ok(seqgen_optim_step(opt, m));
            for (size_t i = 0; i < n; i++)
                assert_allclose(sg_model_params_const(m)[i], w[i], 1e-6, 1e-7);
        }
        seqgen_optim_free(opt);
        seqgen_model_free(m);
        free(w), free(buf);
    }
}

static void clipping_scales_to_the_global_norm(void **state)
{
    (void)state;
    seqgen_model *m = tu_make_model(1, 4, 1, 1, 1);
    const size_t n = seqgen_model_param_count(m);
    seqgen_optim_config cfg = seqgen_optim_config_default(SEQGEN_OPTIM_SGD);
    cfg.clip_norm = 0.05;
    seqgen_optim *opt = NULL;
    assert_ok(seqgen_optim_create(&opt, m, &cfg));
    set_grads(m, 1);
    float *before = malloc(n * sizeof *before), *w0 = malloc(n * sizeof *w0);
    memcpy(before, sg_model_grads(m), n * sizeof *before);
    memcpy(w0, sg_model_params_const(m), n * sizeof *w0);
    double norm = 0.0;
    for (size_t i = 0; i < n; i++)
        norm += (double)before[i] * before[i];
    norm = sqrt(norm);
    assert_true(norm > cfg.clip_norm);
    assert_ok(seqgen_optim_step(opt, m));
    assert_allclose(seqgen_optim_last_grad_norm(opt), norm, 1e-6, 0.0);
    const double coef = cfg.clip_norm / (norm + 1e-6);
    for (size_t i = 0; i < n; i++) {
        assert_allclose(sg_model_grads(m)[i], before[i] * coef, 1e-6, 1e-9);
        assert_allclose(sg_model_params_const(m)[i], w0[i] - cfg.lr * before[i] * coef, 1e-6, 1e-8);
    }
    /* below the threshold nothing is scaled */
    for (size_t i = 0; i < n; i++)
        sg_model_grads(m)[i] = i == 0 ? 0.01f : 0.0f;
    assert_ok(seqgen_optim_step(opt, m));
    assert_true(sg_model_grads(m)[0] == 0.01f);
    seqgen_optim_free(opt);
    seqgen_model_free(m);
    free(before), free(w0);
}

static void learning_rate_is_readable_and_settable(void **state)
{
    (void)state;
    seqgen_model *m = tu_make_model(1, 3, 1, 1, 1);
    seqgen_optim_config cfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    seqgen_optim *opt = NULL;
    assert_ok(seqgen_optim_create(&opt, m, &cfg));
    assert_true(seqgen_optim_get_lr(opt) == 1e-3);
    assert_ok(seqgen_optim_set_lr(opt, 5e-4));
    assert_true(seqgen_optim_get_lr(opt) == 5e-4);
    assert_int_equal(seqgen_optim_set_lr(opt, 0.0), SEQGEN_EINVAL);
    assert_int_equal(seqgen_optim_set_lr(opt, NAN), SEQGEN_EINVAL);
    assert_true(seqgen_optim_get_lr(opt) == 5e-4);
    seqgen_optim_free(opt);
    seqgen_model_free(m);
}

/* Restoring one optimiser's state (settings, step count, moments) into another continues
 * identically; a restore of another size or with invalid settings is refused. */
static void state_round_trip_continues_identically(void **state)
{
    (void)state;
    seqgen_model *a = tu_make_model(1, 5, 1, 1, 1), *b = tu_make_model(1, 5, 1, 1, 1);
    seqgen_optim_config cfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    seqgen_optim *oa = NULL, *ob = NULL;
    assert_ok(seqgen_optim_create(&oa, a, &cfg));
    for (int t = 1; t <= 3; t++) {
        set_grads(a, t);
        assert_ok(seqgen_optim_step(oa, a));
    }
    seqgen_optim_config other = seqgen_optim_config_default(SEQGEN_OPTIM_SGD);
    assert_ok(seqgen_optim_create(&ob, b, &other));
    const size_t n = seqgen_model_param_count(a);
    sg_optim_state saved;
    sg_optim_get_state(oa, &saved);
    assert_int_equal(saved.size, n);
    assert_int_equal(saved.steps, 3);

    /* Refused restores change nothing: another size, invalid settings. */
    sg_optim_state wrong = saved;
    wrong.size = n + 1;
    assert_int_equal(sg_optim_restore(ob, &wrong), SEQGEN_EMISMATCH);
    wrong = saved;
    wrong.cfg.lr = -1.0;
    assert_int_equal(sg_optim_restore(ob, &wrong), SEQGEN_EINVAL);
    sg_optim_state untouched;
    sg_optim_get_state(ob, &untouched);
    assert_int_equal(untouched.cfg.kind, SEQGEN_OPTIM_SGD);
    assert_int_equal(untouched.steps, 0);

    assert_ok(sg_optim_restore(ob, &saved));
    sg_optim_state copied;
    sg_optim_get_state(ob, &copied);
    assert_int_equal(copied.cfg.kind, SEQGEN_OPTIM_ADAM);
    assert_int_equal(copied.steps, 3);
    assert_ptr_not_equal(copied.moment1, saved.moment1); /* copies, not shared buffers */
    assert_memory_equal(copied.moment1, saved.moment1, n * sizeof(float));
    assert_memory_equal(copied.moment2, saved.moment2, n * sizeof(float));
    memcpy(sg_model_params_for_write(b), sg_model_params_const(a), n * sizeof(float));
    for (int t = 4; t <= 6; t++) {
        set_grads(a, t);
        set_grads(b, t);
        assert_ok(seqgen_optim_step(oa, a));
        assert_ok(seqgen_optim_step(ob, b));
    }
    assert_memory_equal(sg_model_params_const(a), sg_model_params_const(b), n * sizeof(float));
    seqgen_optim_free(oa), seqgen_optim_free(ob);
    seqgen_model_free(a), seqgen_model_free(b);
}

static void errors_leave_everything_unchanged(void **state)
{
    (void)state;
    seqgen_model *m = tu_make_model(1, 4, 1, 1, 1), *bigger = tu_make_model(1, 5, 1, 1, 1);
    seqgen_optim *opt = (seqgen_optim *)0x1;
    seqgen_optim_config cfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    cfg.beta1 = 1.0;
    assert_int_equal(seqgen_optim_create(&opt, m, &cfg), SEQGEN_EINVAL);
    cfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    cfg.lr = -1.0;
    assert_int_equal(seqgen_optim_create(&opt, m, &cfg), SEQGEN_EINVAL);
    cfg = seqgen_optim_config_default((seqgen_optim_kind)5);
    assert_int_equal(seqgen_optim_create(&opt, m, &cfg), SEQGEN_EINVAL);
    cfg = seqgen_optim_config_default(SEQGEN_OPTIM_SGD);
    cfg.clip_norm = -1.0;
    assert_int_equal(seqgen_optim_create(&opt, m, &cfg), SEQGEN_EINVAL);
    assert_ptr_equal(opt, (seqgen_optim *)0x1);

    cfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    assert_ok(seqgen_optim_create(&opt, m, &cfg));
    assert_int_equal(seqgen_optim_step(opt, bigger), SEQGEN_EMISMATCH);
    const size_t n = seqgen_model_param_count(m);
    float *w0 = malloc(n * sizeof *w0);
    memcpy(w0, sg_model_params_const(m), n * sizeof *w0);
    set_grads(m, 1);
    sg_model_grads(m)[3] = NAN;
    assert_int_equal(seqgen_optim_step(opt, m), SEQGEN_ENUMERIC);
    assert_memory_equal(sg_model_params_const(m), w0, n * sizeof *w0);
    assert_int_equal(seqgen_optim_step_count(opt), 0);
    seqgen_optim_free(opt);
    seqgen_optim_free(NULL);
    seqgen_model_free(m), seqgen_model_free(bigger);
    free(w0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adam_follows_pytorch_formula),
        cmocka_unit_test(sgd_momentum_follows_pytorch_formula),
        cmocka_unit_test(clipping_scales_to_the_global_norm),
        cmocka_unit_test(learning_rate_is_readable_and_settable),
        cmocka_unit_test(state_round_trip_continues_identically),
        cmocka_unit_test(errors_leave_everything_unchanged),
    };
    return cmocka_run_group_tests_name("optim", tests, NULL, NULL);
}
