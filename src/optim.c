/* Adam and SGD with PyTorch's semantics (formulas in include/seqgen.h), as flat loops over the
 * model's one parameter buffer. */
#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "model.h"
#include "status.h"

struct seqgen_optim {
    seqgen_optim_config cfg;
    size_t size;
    uint64_t steps;
    double last_norm;
    float *m, *v; /* first and second moments, `size` floats each */
};

seqgen_optim_config seqgen_optim_config_default(seqgen_optim_kind kind)
{
    seqgen_optim_config cfg = {.kind = kind, .lr = kind == SEQGEN_OPTIM_SGD ? 1e-2 : 1e-3,
                               .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.0,
                               .momentum = 0.0, .clip_norm = 0.0};
    return cfg;
}

static int in_unit_interval(double x)
{
    return x >= 0.0 && x < 1.0;
}

int sg_optim_check_config(const seqgen_optim_config *cfg)
{
    if (cfg->kind != SEQGEN_OPTIM_ADAM && cfg->kind != SEQGEN_OPTIM_SGD)
        return sg_error(SEQGEN_EINVAL, "unknown optimiser kind %d", (int)cfg->kind);
    if (!(cfg->lr > 0.0) || !isfinite(cfg->lr))
        return sg_error(SEQGEN_EINVAL, "learning rate must be finite and > 0, got %g", cfg->lr);
    if (!in_unit_interval(cfg->beta1) || !in_unit_interval(cfg->beta2))
        return sg_error(SEQGEN_EINVAL, "betas must be in [0, 1), got %g and %g", cfg->beta1, cfg->beta2);
    if (!(cfg->eps > 0.0) || !isfinite(cfg->eps))
        return sg_error(SEQGEN_EINVAL, "eps must be finite and > 0, got %g", cfg->eps);
    if (!(cfg->weight_decay >= 0.0) || !isfinite(cfg->weight_decay))
        return sg_error(SEQGEN_EINVAL, "weight_decay must be finite and >= 0, got %g", cfg->weight_decay);
    if (!in_unit_interval(cfg->momentum))
        return sg_error(SEQGEN_EINVAL, "momentum must be in [0, 1), got %g", cfg->momentum);
    if (!(cfg->clip_norm >= 0.0) || !isfinite(cfg->clip_norm))
        return sg_error(SEQGEN_EINVAL, "clip_norm must be finite and >= 0, got %g", cfg->clip_norm);
    return SEQGEN_OK;
}

int seqgen_optim_create(seqgen_optim **out, const seqgen_model *model, const seqgen_optim_config *cfg)
{
    if (!out || !model || !cfg)
        return sg_error(SEQGEN_EINVAL, "seqgen_optim_create: NULL argument");
    int status = sg_optim_check_config(cfg);
    if (status)
        return status;
    seqgen_optim *o = sg_calloc(1, sizeof *o);
    size_t n = seqgen_model_param_count(model);
    float *moments = o ? sg_calloc(2 * n, sizeof *moments) : NULL;
    if (!moments) {
        free(o);
        return sg_error(SEQGEN_ENOMEM, "out of memory for the optimiser's %zu moments", 2 * n);
    }
    o->cfg = *cfg;
    o->size = n;
    o->m = moments;
    o->v = moments + n;
    *out = o;
    return SEQGEN_OK;
}

void seqgen_optim_free(seqgen_optim *opt)
{
    if (!opt)
        return;
    free(opt->m); /* v lives in the same block */
    free(opt);
}

static double global_norm(size_t n, const float *g)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += (double)g[i] * g[i];
    return sqrt(sum);
}

/* torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1. */
static void clip(size_t n, float *g, double norm, double max_norm)
{
    double coef = max_norm / (norm + 1e-6);
    if (coef >= 1.0)
        return;
    for (size_t i = 0; i < n; i++)
        g[i] = (float)(g[i] * coef);
}

static void adam_update(seqgen_optim *o, float *w, const float *g)
{
    const seqgen_optim_config *c = &o->cfg;
    const float b1 = (float)c->beta1, b2 = (float)c->beta2, wd = (float)c->weight_decay;
    const double t = (double)o->steps;
    const float step_size = (float)(c->lr / (1.0 - pow(c->beta1, t)));
    const float inv_sqrt_bc2 = (float)(1.0 / sqrt(1.0 - pow(c->beta2, t)));
    const float eps = (float)c->eps;
    for (size_t i = 0; i < o->size; i++) {
        float grad = g[i] + wd * w[i];
        o->m[i] = b1 * o->m[i] + (1.0f - b1) * grad;
        o->v[i] = b2 * o->v[i] + (1.0f - b2) * grad * grad;
        w[i] -= step_size * o->m[i] / (sqrtf(o->v[i]) * inv_sqrt_bc2 + eps);
    }
}

static void sgd_update(seqgen_optim *o, float *w, const float *g)
{
    const float lr = (float)o->cfg.lr, mu = (float)o->cfg.momentum, wd = (float)o->cfg.weight_decay;
    for (size_t i = 0; i < o->size; i++) {
        float grad = g[i] + wd * w[i];
        if (mu > 0.0f) {
            o->m[i] = o->steps == 1 ? grad : mu * o->m[i] + grad;
            grad = o->m[i];
        }
        w[i] -= lr * grad;
    }
}

int seqgen_optim_step(seqgen_optim *opt, seqgen_model *model)
{
    if (!opt || !model)
        return sg_error(SEQGEN_EINVAL, "seqgen_optim_step: NULL %s", opt ? "model" : "optimiser");
    if (seqgen_model_param_count(model) != opt->size)
        return sg_error(SEQGEN_EMISMATCH, "optimiser made for %zu parameters, model has %zu",
                        opt->size, seqgen_model_param_count(model));
    float *g = sg_model_grads(model);
    double norm = global_norm(opt->size, g);
    if (!isfinite(norm))
        return sg_error(SEQGEN_ENUMERIC, "the gradient holds NaN or infinity: step skipped");
    opt->last_norm = norm;
    if (opt->cfg.clip_norm > 0.0)
        clip(opt->size, g, norm, opt->cfg.clip_norm);
    opt->steps++;
    if (opt->cfg.kind == SEQGEN_OPTIM_ADAM)
        adam_update(opt, sg_model_params(model), g);
    else
        sgd_update(opt, sg_model_params(model), g);
    return SEQGEN_OK;
}

double seqgen_optim_get_lr(const seqgen_optim *opt)
{
    return opt ? opt->cfg.lr : 0.0;
}

int seqgen_optim_set_lr(seqgen_optim *opt, double lr)
{
    if (!opt)
        return sg_error(SEQGEN_EINVAL, "seqgen_optim_set_lr: NULL optimiser");
    if (!(lr > 0.0) || !isfinite(lr))
        return sg_error(SEQGEN_EINVAL, "learning rate must be finite and > 0, got %g", lr);
    opt->cfg.lr = lr;
    return SEQGEN_OK;
}

uint64_t seqgen_optim_step_count(const seqgen_optim *opt)
{
    return opt ? opt->steps : 0;
}

double seqgen_optim_last_grad_norm(const seqgen_optim *opt)
{
    return opt ? opt->last_norm : 0.0;
}

size_t sg_optim_size(const seqgen_optim *opt) { return opt->size; }
float *sg_optim_moment1(seqgen_optim *opt) { return opt->m; }
float *sg_optim_moment2(seqgen_optim *opt) { return opt->v; }
uint64_t *sg_optim_step_count_ptr(seqgen_optim *opt) { return &opt->steps; }
seqgen_optim_config *sg_optim_config(seqgen_optim *opt) { return &opt->cfg; }
