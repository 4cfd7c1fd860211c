/* Teacher-forcing schedules of scheduled sampling (Bengio et al., NeurIPS 2015): a pure formula
 * of the configuration and the position, which the caller's training state gives. */
#include "schedule.h"

#include <math.h>
#include <stdlib.h>

#include "alloc.h"
#include "status.h"

struct seqgen_sched {
    seqgen_sched_config cfg;
};

seqgen_sched_config seqgen_sched_config_default(seqgen_sched_kind kind)
{
    seqgen_sched_config cfg = {kind, SEQGEN_SCHED_PER_BATCH, 1.0, 0.0, 0.0, 0};
    switch (kind) {
    case SEQGEN_SCHED_LINEAR: cfg.c = 1e-4; break;
    case SEQGEN_SCHED_EXPONENTIAL: cfg.k = 0.9995; break;
    case SEQGEN_SCHED_INVERSE_SIGMOID: cfg.k = 200.0; break;
    default: break; /* constant, or an unknown kind that seqgen_sched_create() will report */
    }
    return cfg;
}

static const char *kind_name(seqgen_sched_kind kind)
{
    switch (kind) {
    case SEQGEN_SCHED_CONSTANT: return "constant";
    case SEQGEN_SCHED_LINEAR: return "linear";
    case SEQGEN_SCHED_EXPONENTIAL: return "exponential";
    case SEQGEN_SCHED_INVERSE_SIGMOID: return "inverse sigmoid";
    }
    return "unknown";
}

/* The bounds on k for each kind, as documented in the header. */
static int check_k(const seqgen_sched_config *cfg)
{
    const char *name = kind_name(cfg->kind);
    double k = cfg->k;
    switch (cfg->kind) {
    case SEQGEN_SCHED_CONSTANT:
    case SEQGEN_SCHED_LINEAR:
        if (!(k >= 0.0 && k <= 1.0))
            return sg_error(SEQGEN_EINVAL, "%s schedule: k must be in [0, 1], got %g", name, k);
        return SEQGEN_OK;
    case SEQGEN_SCHED_EXPONENTIAL:
        if (!(k > 0.0 && k < 1.0))
            return sg_error(SEQGEN_EINVAL, "%s schedule: k must be in (0, 1), got %g", name, k);
        return SEQGEN_OK;
    case SEQGEN_SCHED_INVERSE_SIGMOID:
        if (!(k >= 1.0 && isfinite(k)))
            return sg_error(SEQGEN_EINVAL, "%s schedule: k must be finite and >= 1, got %g",
                            name, k);
        return SEQGEN_OK;
    }
    return sg_error(SEQGEN_EINVAL, "schedule kind %d is not a seqgen_sched_kind", (int)cfg->kind);
}

int sg_sched_config_check(const seqgen_sched_config *cfg)
{
    if (cfg->unit != SEQGEN_SCHED_PER_BATCH && cfg->unit != SEQGEN_SCHED_PER_EPOCH)
        return sg_error(SEQGEN_EINVAL, "schedule unit %d is not a seqgen_sched_unit",
                        (int)cfg->unit);
    int status = check_k(cfg);
    if (status != SEQGEN_OK)
        return status;
    if (!(cfg->eps >= 0.0 && cfg->eps <= 1.0))
        return sg_error(SEQGEN_EINVAL, "%s schedule: eps must be in [0, 1], got %g",
                        kind_name(cfg->kind), cfg->eps);
    if (!(cfg->c >= 0.0 && isfinite(cfg->c)))
        return sg_error(SEQGEN_EINVAL, "%s schedule: c must be finite and >= 0, got %g",
                        kind_name(cfg->kind), cfg->c);
    return SEQGEN_OK;
}

int seqgen_sched_create(seqgen_sched **out, const seqgen_sched_config *cfg)
{
    if (!out || !cfg)
        return sg_error(SEQGEN_EINVAL, "seqgen_sched_create: NULL %s", out ? "config" : "output");
    int status = sg_sched_config_check(cfg);
    if (status != SEQGEN_OK)
        return status;
    seqgen_sched *sched = sg_malloc(sizeof *sched);
    if (!sched)
        return sg_error(SEQGEN_ENOMEM, "cannot allocate a schedule");
    sched->cfg = *cfg;
    *out = sched;
    return SEQGEN_OK;
}

void seqgen_sched_free(seqgen_sched *sched) { free(sched); }

void seqgen_sched_get_config(const seqgen_sched *sched, seqgen_sched_config *cfg)
{
    if (sched && cfg)
        *cfg = sched->cfg;
}

/* The decay f(j) after the warm-up; overflow and underflow go to 0, then the floor. */
static double decay(const seqgen_sched_config *cfg, double j)
{
    double k = cfg->k;
    switch (cfg->kind) {
    case SEQGEN_SCHED_CONSTANT: return k;
    case SEQGEN_SCHED_LINEAR: return fmax(cfg->eps, k - cfg->c * j);
    case SEQGEN_SCHED_EXPONENTIAL: return fmax(cfg->eps, pow(k, j));
    case SEQGEN_SCHED_INVERSE_SIGMOID: return fmax(cfg->eps, k / (k + exp(j / k)));
    }
    return 1.0; /* unreachable: the kind was checked at creation */
}

double seqgen_sched_p(const seqgen_sched *sched, uint64_t iteration, uint64_t epoch)
{
    if (!sched)
        return NAN;
    uint64_t i = sched->cfg.unit == SEQGEN_SCHED_PER_EPOCH ? epoch : iteration;
    if (i < sched->cfg.warmup)
        return 1.0;
    return decay(&sched->cfg, (double)(i - sched->cfg.warmup));
}

int sg_sched_set_config(seqgen_sched *sched, const seqgen_sched_config *cfg)
{
    int status = sg_sched_config_check(cfg);
    if (status == SEQGEN_OK)
        sched->cfg = *cfg;
    return status;
}
