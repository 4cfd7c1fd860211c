/* Adam and SGD with PyTorch's semantics (formulas in include/seqgen.h), as flat loops over one
 * parameter buffer: a model's, or a discriminator's (optim.h). */
#include "optim.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "kernels.h"
#include "model.h"
#include "status.h"

struct seqgen_optim {
    seqgen_optim_config cfg;
    sg_optim_owner owner; /* whose buffer it updates */
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
        return sg_error(SEQGEN_EINVAL, "betas must be in [0, 1), got %g and %g", cfg->beta1,
                        cfg->beta2);
    if (!(cfg->eps > 0.0) || !isfinite(cfg->eps))
        return sg_error(SEQGEN_EINVAL, "eps must be finite and > 0, got %g", cfg->eps);
    if (!(cfg->weight_decay >= 0.0) || !isfinite(cfg->weight_decay))
        return sg_error(SEQGEN_EINVAL, "weight_decay must be finite and >= 0, got %g",
                        cfg->weight_decay);
    if (!in_unit_interval(cfg->momentum))
        return sg_error(SEQGEN_EINVAL, "momentum must be in [0, 1), got %g", cfg->momentum);
    if (!(cfg->clip_norm >= 0.0) || !isfinite(cfg->clip_norm))
        return sg_error(SEQGEN_EINVAL, "clip_norm must be finite and >= 0, got %g", cfg->clip_norm);
    return SEQGEN_OK;
}

int seqgen_optim_create(seqgen_optim **out, const seqgen_model *model,
                        const seqgen_optim_config *cfg)
{
    if (!out || !model || !cfg)
        return sg_error(SEQGEN_EINVAL, "seqgen_optim_create: NULL %s",
                        !out ? "output" : !model ? "model" : "config");
    return sg_optim_create_for(out, SG_OPTIM_MODEL, seqgen_model_param_count(model), cfg);
}

int sg_optim_create_for(seqgen_optim **out, sg_optim_owner owner, size_t n,
                        const seqgen_optim_config *cfg)
{
    int status = sg_optim_check_config(cfg);
    if (status)
        return status;
    seqgen_optim *o = sg_calloc(1, sizeof *o);
    float *moments = o ? sg_calloc(2 * n, sizeof *moments) : NULL;
    if (!moments) {
        free(o);
        return sg_error(SEQGEN_ENOMEM, "out of memory for the optimiser's %zu moments", 2 * n);
    }
    o->cfg = *cfg;
    o->owner = owner;
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

/* One step's constants: the update of every parameter is a function of them, of the parameter,
 * its gradient and its moments. */
typedef struct update_rule {
    int adam;
    float lr, b1, b2, wd, eps, inv_sqrt_bc2, mu;
    int first; /* SGD: the momentum buffer starts as the first gradient */
} update_rule;

static update_rule rule_for(const seqgen_optim *o, uint64_t step)
{
    const seqgen_optim_config *c = &o->cfg;
    const double t = (double)step;
    update_rule r = {c->kind == SEQGEN_OPTIM_ADAM, (float)c->lr, (float)c->beta1, (float)c->beta2,
                     (float)c->weight_decay, (float)c->eps, 0.0f, (float)c->momentum, step == 1};
    if (r.adam) {
        r.lr = (float)(c->lr / (1.0 - pow(c->beta1, t))); /* Adam's step size */
        r.inv_sqrt_bc2 = (float)(1.0 / sqrt(1.0 - pow(c->beta2, t)));
    }
    return r;
}

/* Adam's update of parameter *w with gradient g and moments *m, *v. */
static inline void adam_one(const update_rule *r, float *w, float g, float *m, float *v)
{
    float grad = g + r->wd * *w;
    *m = r->b1 * *m + (1.0f - r->b1) * grad;
    *v = r->b2 * *v + (1.0f - r->b2) * grad * grad;
    *w -= r->lr * *m / (sqrtf(*v) * r->inv_sqrt_bc2 + r->eps);
}

/* Parameter *w with gradient g and moments *m, *v after one step of rule r. */
static inline void update_one(const update_rule *r, float *w, float g, float *m, float *v)
{
    if (r->adam) {
        adam_one(r, w, g, m, v);
        return;
    }
    float grad = g + r->wd * *w;
    if (r->mu > 0.0f) {
        *m = r->first ? grad : r->mu * *m + grad;
        grad = *m;
    }
    *w -= r->lr * grad;
}

/* Adam's update of `count` consecutive parameters, and whether one of the new values (parameter
 * or moments) is NaN or infinite; written back only if `write`. Over blocks of SG_LANES
 * (kernels.h) so that GCC vectorises the loop: with -fno-math-errno (Makefile) sqrtf is the
 * correctly rounded vector instruction, the same numbers as the scalar one. */
static inline int adam_block(int count, update_rule r, float *restrict w, const float *restrict g,
                             float *restrict m, float *restrict v, int write)
{
    int bad = 0;
    for (int k = 0; k < count; k++) {
        float wk = w[k], mk = m[k], vk = v[k];
        adam_one(&r, &wk, g[k], &mk, &vk);
        bad |= !(fabsf(wk) <= FLT_MAX) | !(fabsf(mk) <= FLT_MAX) | !(fabsf(vk) <= FLT_MAX);
        if (write)
            w[k] = wk, m[k] = mk, v[k] = vk;
    }
    return bad;
}

/* Whether the step would make a parameter or a moment NaN or infinite; nothing is written.
 * SGD, rarely a cost, runs the scalar loop. */
SG_VECTOR_CLONES
static int any_non_finite_update(const seqgen_optim *o, const update_rule *r, const float *w,
                                 const float *g)
{
    int bad = 0;
    size_t i = 0;
    if (!r->adam) {
        for (; i < o->size; i++) {
            float wi = w[i], mi = o->m[i], vi = o->v[i];
            update_one(r, &wi, g[i], &mi, &vi);
            bad |= !isfinite(wi) || !isfinite(mi) || !isfinite(vi);
        }
        return bad;
    }
    for (; i + SG_LANES <= o->size; i += SG_LANES)
        bad |= adam_block(SG_LANES, *r, (float *)w + i, g + i, o->m + i, o->v + i, 0);
    return bad | adam_block((int)(o->size - i), *r, (float *)w + i, g + i, o->m + i, o->v + i, 0);
}

/* The step, written. */
SG_VECTOR_CLONES
static void update_all(seqgen_optim *o, const update_rule *r, float *w, const float *g)
{
    size_t i = 0;
    if (!r->adam) {
        for (; i < o->size; i++)
            update_one(r, &w[i], g[i], &o->m[i], &o->v[i]);
        return;
    }
    for (; i + SG_LANES <= o->size; i += SG_LANES)
        adam_block(SG_LANES, *r, w + i, g + i, o->m + i, o->v + i, 1);
    adam_block((int)(o->size - i), *r, w + i, g + i, o->m + i, o->v + i, 1);
}

/* The first parameter the step would make (or whose moments it would make) NaN or infinite, or
 * o->size if there is none, for the error message; nothing is written. */
static size_t first_non_finite_update(const seqgen_optim *o, const update_rule *r, const float *w,
                                      const float *g)
{
    for (size_t i = 0; i < o->size; i++) {
        float wi = w[i], mi = o->m[i], vi = o->v[i];
        update_one(r, &wi, g[i], &mi, &vi);
        if (!isfinite(wi) || !isfinite(mi) || !isfinite(vi))
            return i;
    }
    return o->size;
}

int seqgen_optim_step(seqgen_optim *opt, seqgen_model *model)
{
    if (!opt || !model)
        return sg_error(SEQGEN_EINVAL, "seqgen_optim_step: NULL %s", opt ? "model" : "optimiser");
    return sg_optim_step_buffers(opt, SG_OPTIM_MODEL, seqgen_model_param_count(model),
                                 sg_model_params_for_write(model), sg_model_grads(model));
}

int sg_optim_step_buffers(seqgen_optim *opt, sg_optim_owner owner, size_t n, float *w, float *g)
{
    const char *name[] = {"model", "discriminator"};
    if (opt->owner != owner)
        return sg_error(SEQGEN_EMISMATCH, "the optimiser was made for a %s, not a %s",
                        name[opt->owner], name[owner]);
    if (n != opt->size)
        return sg_error(SEQGEN_EMISMATCH, "optimiser made for %zu parameters, %s has %zu",
                        opt->size, name[owner], n);
    double norm = global_norm(opt->size, g);
    if (!isfinite(norm))
        return sg_error(SEQGEN_ENUMERIC, "the gradient holds NaN or infinity: step skipped");
    opt->last_norm = norm;
    if (opt->cfg.clip_norm > 0.0)
        clip(opt->size, g, norm, opt->cfg.clip_norm);
    /* Checked before anything is written: a step that would overflow (e.g. a huge learning
     * rate) leaves the parameters, the moments and the step count as they were. */
    update_rule rule = rule_for(opt, opt->steps + 1);
    if (any_non_finite_update(opt, &rule, w, g)) {
        size_t bad = first_non_finite_update(opt, &rule, w, g);
        return sg_error(SEQGEN_ENUMERIC,
                        "the update would make parameter %zu or its moments NaN or "
                        "infinite (gradient %g, learning rate %g): step skipped",
                        bad, (double)g[bad], opt->cfg.lr);
    }
    opt->steps++;
    update_all(opt, &rule, w, g);
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

void sg_optim_get_state(const seqgen_optim *opt, sg_optim_state *state)
{
    *state = (sg_optim_state){opt->cfg, opt->steps, opt->size, opt->m, opt->v};
}

int sg_optim_restore(seqgen_optim *opt, const sg_optim_state *state)
{
    if (state->size != opt->size)
        return sg_error(SEQGEN_EMISMATCH, "optimiser state of %zu parameters, the optimiser "
                        "has %zu", state->size, opt->size);
    int status = sg_optim_check_config(&state->cfg);
    if (status != SEQGEN_OK)
        return status;
    opt->cfg = state->cfg;
    opt->steps = state->steps;
    memmove(opt->m, state->moment1, opt->size * sizeof *opt->m); /* may be its own state */
    memmove(opt->v, state->moment2, opt->size * sizeof *opt->v);
    return SEQGEN_OK;
}
