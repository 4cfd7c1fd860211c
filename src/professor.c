/* Professor forcing's three-pass training step (Lamb et al. 2016; issue 18; seqgen.h's
 * "Professor forcing: the training step"): the teacher-forced pass on the real batch (its
 * gradient kept, its behaviour b_tf), sequences drawn free-running by seqgen_complete(), the
 * teacher-forced re-run on them (b_fr), the discriminator's step on b_tf against b_fr, and, in
 * the accuracy band, the re-run's backward with lambda dBCE(D(b_fr), 1)/db_fr added to the kept
 * gradient. */
#include "professor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "model_impl.h"
#include "optim.h"
#include "status.h"
#include "train.h"

struct seqgen_professor {
    seqgen_professor_config cfg;
    int units, hidden;  /* D and H of the model it is for */
    sg_disc *disc;
    seqgen_optim *optim;
    sg_rng rng;         /* draws each step's sampling seed */
    /* buffers for at most cap_batch sequences of cap_length steps (T <= cap_length) */
    int cap_batch, cap_length;
    size_t cap_params;
    float *behaviour;   /* [2B][T][F]: b_tf then b_fr */
    float *dbehaviour;  /* [B][T][F] */
    float *drawn;       /* [B][length][D] the free-running sequences */
    float *kept;        /* [P] the teacher-forced pass's gradient */
    float *labels;      /* [2B]: 1 then 0 */
    size_t *counted;    /* [2B] the behaviour's counted steps, twice */
};

seqgen_professor_config seqgen_professor_config_default(const seqgen_model *model)
{
    const seqgen_model_config m = seqgen_model_get_config(model);
    seqgen_professor_config cfg = {
        .lambda = 0.001, .given = 0, .band_low = 0.75, .band_high = 0.99, .seed = 1,
        .disc = seqgen_discriminator_config_default(model ? m.hidden + m.units_per_step : 0),
        .disc_optim = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM)};
    return cfg;
}

int sg_professor_check_config(const seqgen_professor_config *cfg, int features)
{
    if (!isfinite(cfg->lambda) || cfg->lambda < 0.0)
        return sg_error(SEQGEN_EINVAL, "professor forcing's lambda must be finite and >= 0, "
                        "got %g", cfg->lambda);
    if (cfg->given < 0)
        return sg_error(SEQGEN_EINVAL, "professor forcing's given units must be >= 0, got %d",
                        cfg->given);
    if (!(cfg->band_low >= 0.0 && cfg->band_low <= cfg->band_high && cfg->band_high <= 1.0))
        return sg_error(SEQGEN_EINVAL, "professor forcing's accuracy band [%g, %g] is not "
                        "within [0, 1] with low <= high", cfg->band_low, cfg->band_high);
    int status = sg_disc_check_config(&cfg->disc);
    if (status == SEQGEN_OK)
        status = sg_optim_check_config(&cfg->disc_optim);
    if (status == SEQGEN_OK && features && cfg->disc.features != features)
        status = sg_error(SEQGEN_EMISMATCH, "the discriminator reads %d features per step but "
                          "the model's behaviour has H + D = %d", cfg->disc.features, features);
    return status;
}

int seqgen_professor_create(seqgen_professor **out, const seqgen_model *model,
                            const seqgen_professor_config *cfg)
{
    if (!out || !model || !cfg)
        return sg_error(SEQGEN_EINVAL, "seqgen_professor_create: NULL %s",
                        !out ? "output" : !model ? "model" : "config");
    const seqgen_model_config m = seqgen_model_get_config(model);
    if (m.vocab)
        return sg_error(SEQGEN_EINVAL, "professor forcing trains models of binary units; this "
                        "one is categorical (vocab %d)", m.vocab);
    int status = sg_professor_check_config(cfg, m.hidden + m.units_per_step);
    if (status)
        return status;
    seqgen_professor *pf = sg_calloc(1, sizeof *pf);
    if (!pf)
        return sg_error(SEQGEN_ENOMEM, "out of memory for a professor-forcing trainer");
    pf->cfg = *cfg;
    pf->units = m.units_per_step, pf->hidden = m.hidden;
    sg_rng_seed(&pf->rng, cfg->seed, 0);
    status = seqgen_discriminator_create(&pf->disc, &cfg->disc);
    if (status == SEQGEN_OK)
        status = seqgen_discriminator_optim_create(&pf->optim, pf->disc, &cfg->disc_optim);
    if (status) {
        seqgen_professor_free(pf);
        return status;
    }
    *out = pf;
    return SEQGEN_OK;
}

void seqgen_professor_free(seqgen_professor *pf)
{
    if (!pf)
        return;
    seqgen_discriminator_free(pf->disc);
    seqgen_optim_free(pf->optim);
    free(pf->behaviour), free(pf->dbehaviour), free(pf->drawn), free(pf->kept);
    free(pf->labels), free(pf->counted);
    free(pf);
}

seqgen_professor_config seqgen_professor_get_config(const seqgen_professor *pf)
{
    seqgen_professor_config cfg;
    memset(&cfg, 0, sizeof cfg);
    return pf ? pf->cfg : cfg;
}

const seqgen_discriminator *seqgen_professor_discriminator(const seqgen_professor *pf)
{
    return pf ? pf->disc : NULL;
}

sg_disc *sg_professor_disc(seqgen_professor *pf) { return pf->disc; }
seqgen_optim *sg_professor_optim(seqgen_professor *pf) { return pf->optim; }
sg_rng *sg_professor_rng(seqgen_professor *pf) { return &pf->rng; }
void sg_professor_shape(const seqgen_professor *pf, int *units, int *hidden)
{
    *units = pf->units, *hidden = pf->hidden;
}
const float *sg_professor_drawn(const seqgen_professor *pf) { return pf->drawn; }

void sg_professor_set_config(seqgen_professor *pf, const seqgen_professor_config *cfg)
{
    pf->cfg.lambda = cfg->lambda, pf->cfg.given = cfg->given;
    pf->cfg.band_low = cfg->band_low, pf->cfg.band_high = cfg->band_high;
    pf->cfg.seed = cfg->seed;
    pf->cfg.disc.seed = cfg->disc.seed;
    pf->cfg.disc_optim = cfg->disc_optim;
}

/* Grows the buffers to B sequences of `length` steps and P parameters (nothing if they fit). */
static int reserve(seqgen_professor *pf, int B, int length, size_t P)
{
    if (B <= pf->cap_batch && length <= pf->cap_length && P <= pf->cap_params)
        return SEQGEN_OK;
    const int nb = B > pf->cap_batch ? B : pf->cap_batch;
    const int nl = length > pf->cap_length ? length : pf->cap_length;
    const size_t np = P > pf->cap_params ? P : pf->cap_params;
    const size_t F = (size_t)pf->hidden + (size_t)pf->units, per = (size_t)nb * (size_t)nl;
    float *beh = sg_malloc(2 * per * F * sizeof *beh), *dbeh = sg_malloc(per * F * sizeof *dbeh);
    float *drawn = sg_malloc(per * (size_t)pf->units * sizeof *drawn);
    float *kept = sg_malloc(np * sizeof *kept), *labels = sg_malloc(2 * (size_t)nb * sizeof *labels);
    size_t *counted = sg_malloc(2 * (size_t)nb * sizeof *counted);
    if (!beh || !dbeh || !drawn || !kept || !labels || !counted) {
        free(beh), free(dbeh), free(drawn), free(kept), free(labels), free(counted);
        return sg_error(SEQGEN_ENOMEM, "out of memory for professor forcing's buffers of %d "
                        "sequences of %d steps", nb, nl);
    }
    free(pf->behaviour), free(pf->dbehaviour), free(pf->drawn), free(pf->kept);
    free(pf->labels), free(pf->counted);
    pf->behaviour = beh, pf->dbehaviour = dbeh, pf->drawn = drawn, pf->kept = kept;
    pf->labels = labels, pf->counted = counted;
    pf->cap_batch = nb, pf->cap_length = nl, pf->cap_params = np;
    return SEQGEN_OK;
}

static int check_step(const seqgen_professor *pf, const seqgen_model *model,
                      const float *sequences, int B, int length, const size_t *lengths,
                      const seqgen_train_options *opts)
{
    if (!pf || !model || !sequences)
        return sg_error(SEQGEN_EINVAL, "seqgen_professor_step: NULL %s",
                        !pf ? "trainer" : !model ? "model" : "sequences");
    const seqgen_model_config m = seqgen_model_get_config(model);
    if (m.vocab)
        return sg_error(SEQGEN_EINVAL, "professor forcing trains models of binary units; this "
                        "one is categorical (vocab %d)", m.vocab);
    if (m.units_per_step != pf->units || m.hidden != pf->hidden)
        return sg_error(SEQGEN_EMISMATCH, "the trainer was made for D = %d, H = %d, the model "
                        "has D = %d, H = %d", pf->units, pf->hidden, m.units_per_step, m.hidden);
    if (B < 1)
        return sg_error(SEQGEN_EINVAL, "batch must be >= 1, got %d", B);
    const int shortest = 2 - m.start_step;
    if (length < shortest)
        return sg_error(SEQGEN_EINVAL, "length must be >= %d, got %d", shortest, length);
    for (int s = 0; lengths && s < B; s++)
        if (lengths[s] < (size_t)shortest || lengths[s] > (size_t)length)
            return sg_error(SEQGEN_EINVAL, "sequence %d: length %zu is not in [%d, %d]", s,
                            lengths[s], shortest, length);
    if ((size_t)pf->cfg.given > (size_t)length * (size_t)m.units_per_step)
        return sg_error(SEQGEN_EINVAL, "professor forcing's %d given units are more than a "
                        "sequence's %zu", pf->cfg.given, (size_t)length * m.units_per_step);
    if (opts->teacher_prob != 1.0)
        return sg_error(SEQGEN_EINVAL, "professor forcing's passes are teacher-forced: "
                        "teacher_prob must be 1, got %g", opts->teacher_prob);
    if (opts->slices > 1)
        return sg_error(SEQGEN_EINVAL, "professor forcing computes the whole batch: slices must "
                        "be 0 or 1, got %d", opts->slices);
    return SEQGEN_OK;
}

int seqgen_professor_step(seqgen_professor *pf, seqgen_model *model, const float *sequences,
                          int batch, int length, const size_t *lengths,
                          const seqgen_train_options *opts, seqgen_professor_stats *stats)
{
    seqgen_train_options defaults = seqgen_train_options_default();
    if (!opts)
        opts = &defaults;
    int status = check_step(pf, model, sequences, batch, length, lengths, opts);
    const size_t P = model ? seqgen_model_param_count(model) : 0;
    if (status == SEQGEN_OK)
        status = reserve(pf, batch, length, P);
    if (status)
        return status;
    const int B = batch, start = seqgen_model_get_config(model).start_step;
    const int T = length - 1 + start, F = pf->hidden + pf->units;
    const size_t half = (size_t)B * T * F;
    float *b_tf = pf->behaviour, *b_fr = pf->behaviour + half, *grads = seqgen_model_gradients(model);
    for (int s = 0; s < B; s++) {
        pf->counted[s] = pf->counted[B + s] = (lengths ? lengths[s] : (size_t)length) - 1 + start;
        pf->labels[s] = 1.0f, pf->labels[B + s] = 0.0f;
    }
    seqgen_professor_stats st;
    memset(&st, 0, sizeof st);
    /* (1) teacher forcing on the real sequences: the NLL gradient, kept, and b_tf */
    seqgen_batch real = seqgen_batch_of_sequences(model, sequences, B, length);
    real.lengths = lengths;
    sg_behaviour tf = {b_tf, NULL, 1.0};
    status = sg_model_pass_behaviour(model, &real, NULL, opts, 1, &tf, NULL, &st.train);
    if (status)
        return status;
    memcpy(pf->kept, grads, P * sizeof *grads);
    /* (2) free-running from K given units, drawn without gradient */
    seqgen_complete_options sampling = seqgen_complete_options_default();
    sampling.decode = SEQGEN_DECODE_SAMPLE;
    sampling.temperature = 1.0;
    sampling.seed = (uint64_t)sg_rng_u32(&pf->rng) << 32 | sg_rng_u32(&pf->rng);
    status = seqgen_complete(model, sequences, (size_t)B, length, lengths, pf->cfg.given,
                             &sampling, pf->drawn, NULL);
    /* (3) the re-run on the drawn sequences: b_fr, then D's gradient on it and D's step */
    seqgen_batch drawn = seqgen_batch_of_sequences(model, pf->drawn, B, length);
    drawn.lengths = lengths;
    sg_behaviour fr = {b_fr, NULL, 0.0};
    if (status == SEQGEN_OK)
        status = sg_model_pass_behaviour(model, &drawn, NULL, opts, 0, &fr, NULL, NULL);
    seqgen_discriminator_stats adv, disc;
    if (status == SEQGEN_OK)
        status = seqgen_discriminator_input_gradient(pf->disc, b_fr, pf->counted, B, T,
                                                     pf->labels, pf->dbehaviour, &adv);
    if (status == SEQGEN_OK)
        status = seqgen_discriminator_train_step(pf->disc, pf->optim, pf->behaviour, pf->counted,
                                                 2 * B, T, pf->labels, &disc);
    if (status)
        return status;
    st.adv_loss = adv.loss, st.disc_loss = disc.loss, st.disc_accuracy = disc.accuracy;
    st.passed = pf->cfg.lambda > 0.0 && disc.accuracy >= pf->cfg.band_low &&
                disc.accuracy <= pf->cfg.band_high;
    if (st.passed) {
        const float lambda = (float)pf->cfg.lambda;
        for (size_t i = 0; i < half; i++)
            pf->dbehaviour[i] *= lambda;
        sg_behaviour back = {b_fr, pf->dbehaviour, 0.0};
        status = sg_model_pass_behaviour(model, &drawn, NULL, opts, 1, &back, NULL, NULL);
        if (status)
            return status;
        for (size_t i = 0; i < P; i++)
            grads[i] = pf->kept[i] + grads[i];
    } else {
        memcpy(grads, pf->kept, P * sizeof *grads);
    }
    if (stats)
        *stats = st;
    return SEQGEN_OK;
}
