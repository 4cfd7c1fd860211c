/* Teacher-forcing schedules of scheduled sampling (Bengio et al., NeurIPS 2015): the formulas,
 * the position i moved by batch/epoch events, and the per-epoch summary of what was used. */
#include "schedule.h"

#include <math.h>
#include <stdlib.h>

#include "alloc.h"
#include "status.h"

struct seqgen_sched {
    seqgen_sched_config cfg;
    sg_sched_state state;
};

static const sg_sched_state empty_epoch = {0, 0, 0, 0, 0.0, 1.0, 0.0};

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
    if (!cfg)
        return sg_error(SEQGEN_EINVAL, "schedule config is NULL");
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
    if (!out)
        return sg_error(SEQGEN_EINVAL, "seqgen_sched_create: out is NULL");
    int status = sg_sched_config_check(cfg);
    if (status != SEQGEN_OK)
        return status;
    seqgen_sched *sched = sg_malloc(sizeof *sched);
    if (!sched)
        return sg_error(SEQGEN_ENOMEM, "cannot allocate a schedule");
    sched->cfg = *cfg;
    sched->state = empty_epoch;
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

double seqgen_sched_p_at(const seqgen_sched *sched, uint64_t i)
{
    if (!sched)
        return NAN;
    if (i < sched->cfg.warmup)
        return 1.0;
    return decay(&sched->cfg, (double)(i - sched->cfg.warmup));
}

double seqgen_sched_p(const seqgen_sched *sched)
{
    return sched ? seqgen_sched_p_at(sched, sched->state.position) : NAN;
}

uint64_t seqgen_sched_position(const seqgen_sched *sched) { return sched ? sched->state.position : 0; }

void seqgen_sched_set_position(seqgen_sched *sched, uint64_t i)
{
    if (sched)
        sched->state.position = i;
}

void seqgen_sched_on_batch(seqgen_sched *sched)
{
    if (sched && sched->cfg.unit == SEQGEN_SCHED_PER_BATCH)
        sched->state.position++;
}

void seqgen_sched_on_epoch(seqgen_sched *sched)
{
    if (!sched)
        return;
    uint64_t position = sched->state.position;
    if (sched->cfg.unit == SEQGEN_SCHED_PER_EPOCH)
        position++;
    sched->state = empty_epoch;
    sched->state.position = position;
}

int seqgen_sched_record_batch(seqgen_sched *sched, uint64_t forced, uint64_t inputs)
{
    if (!sched)
        return sg_error(SEQGEN_EINVAL, "seqgen_sched_record_batch: sched is NULL");
    sg_sched_state *s = &sched->state;
    if (forced > inputs)
        return sg_error(SEQGEN_EINVAL, "batch summary: %llu inputs forced out of only %llu",
                        (unsigned long long)forced, (unsigned long long)inputs);
    if (inputs > UINT64_MAX - s->inputs)
        return sg_error(SEQGEN_EINVAL, "batch summary: input count overflows this epoch's total");
    double p = seqgen_sched_p(sched);
    s->batches++;
    s->inputs += inputs;
    s->forced += forced;
    s->p_weighted += p * (double)inputs;
    s->p_min = fmin(s->p_min, p);
    s->p_max = fmax(s->p_max, p);
    return SEQGEN_OK;
}

void seqgen_sched_epoch_summary(const seqgen_sched *sched, seqgen_sched_summary *summary)
{
    if (!sched || !summary)
        return;
    const sg_sched_state *s = &sched->state;
    double p = seqgen_sched_p(sched);
    summary->batches = s->batches;
    summary->inputs = s->inputs;
    summary->forced = s->forced;
    summary->p_mean = s->inputs ? s->p_weighted / (double)s->inputs : p;
    summary->p_min = s->batches ? s->p_min : p;
    summary->p_max = s->batches ? s->p_max : p;
    summary->forced_fraction = s->inputs ? (double)s->forced / (double)s->inputs : 0.0;
}

void sg_sched_get_state(const seqgen_sched *sched, sg_sched_state *state) { *state = sched->state; }

static int is_probability(double p) { return p >= 0.0 && p <= 1.0; }

int sg_sched_state_check(const sg_sched_state *state)
{
    if (state->forced > state->inputs)
        return sg_error(SEQGEN_ERANGE, "schedule state: %llu inputs forced out of %llu",
                        (unsigned long long)state->forced, (unsigned long long)state->inputs);
    if (!is_probability(state->p_min) || !is_probability(state->p_max) ||
        !(state->p_weighted >= 0.0 && state->p_weighted <= (double)state->inputs))
        return sg_error(SEQGEN_ERANGE, "schedule state: recorded p values out of [0, 1]");
    return SEQGEN_OK;
}

int sg_sched_restore(seqgen_sched *sched, const seqgen_sched_config *cfg,
                     const sg_sched_state *state)
{
    int status = sg_sched_config_check(cfg);
    if (status == SEQGEN_OK)
        status = sg_sched_state_check(state);
    if (status != SEQGEN_OK)
        return status;
    sched->cfg = *cfg;
    sched->state = *state;
    return SEQGEN_OK;
}
