/* The public checkpoint functions: save, load for inference, load to resume training (all or
 * nothing), inspect. The sections themselves are in checkpoint_sections.c, the container in
 * sections.c. */

#include <math.h>
#include <string.h>

#include "atomic_file.h"
#include "checkpoint_sections.h"
#include "dataset.h"
#include "model.h"
#include "optim.h"
#include "professor.h"
#include "run_config.h"

/* Index of the first NaN or infinity among n floats, or n. */
static size_t first_non_finite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return i;
    return n;
}

/* NaN or infinity is never saved: the loaders would refuse the file, and it would have replaced
 * the last good checkpoint. */
static int check_finite(const char *path, const seqgen_model *model,
                        const seqgen_train_state *train)
{
    static const char *const names[3] = {"model parameter", "optimiser first moment",
                                         "optimiser second moment"};
    size_t n = seqgen_model_param_count(model);
    const float *values[3] = {sg_model_params_const(model), NULL, NULL};
    if (train && train->optim) {
        sg_optim_state optim;
        sg_optim_get_state(train->optim, &optim);
        if (optim.size == n)
            values[1] = optim.moment1, values[2] = optim.moment2;
    }
    for (int k = 0; k < 3; k++) {
        size_t bad = values[k] ? first_non_finite(values[k], n) : n;
        if (bad < n)
            return sg_error(SEQGEN_ENUMERIC, "%s: %s %zu is NaN or infinite: not saved, the file "
                            "is left as it was", path, names[k], bad);
    }
    if (train && train->professor) {
        static const char *const disc_names[3] = {"discriminator parameter",
                                                  "discriminator first moment",
                                                  "discriminator second moment"};
        sg_optim_state optim;
        sg_optim_get_state(sg_professor_optim(train->professor), &optim);
        const float *disc[3] = {sg_disc_params(sg_professor_disc(train->professor)),
                                optim.moment1, optim.moment2};
        for (int k = 0; k < 3; k++) {
            size_t bad = first_non_finite(disc[k], optim.size);
            if (bad < optim.size)
                return sg_error(SEQGEN_ENUMERIC, "%s: %s %zu is NaN or infinite: not saved, the "
                                "file is left as it was", path, disc_names[k], bad);
        }
    }
    return SEQGEN_OK;
}

static int save(const char *function, const char *path, const seqgen_model *model,
                const seqgen_train_state *train, const seqgen_vocab *vocab)
{
    if (!path || !model)
        return sg_error(SEQGEN_EINVAL, "%s: NULL %s", function, path ? "model" : "path");
    int finite = check_finite(path, model, train);
    if (finite != SEQGEN_OK)
        return finite;
    sg_section_writer w;
    sg_writer_init(&w);
    int status = sg_ckpt_encode(&w, model, train, vocab);
    if (status == SEQGEN_OK)
        status = sg_write_file_atomic(path, w.data, w.size);
    sg_writer_free(&w);
    return status;
}

int seqgen_checkpoint_save(const char *path, const seqgen_model *model,
                           const seqgen_train_state *train)
{
    return save("seqgen_checkpoint_save", path, model, train, NULL);
}

int seqgen_checkpoint_save_with_vocab(const char *path, const seqgen_model *model,
                                      const seqgen_train_state *train, const seqgen_vocab *vocab)
{
    if (!vocab)
        return sg_error(SEQGEN_EINVAL, "seqgen_checkpoint_save_with_vocab: NULL vocab");
    return save("seqgen_checkpoint_save_with_vocab", path, model, train, vocab);
}

/* For the public function `function`, whose other arguments are all given unless `missing`
 * names the one that is NULL: reads, checks and decodes everything but the tensors; on success
 * the caller closes `file`. */
static int open_checkpoint(const char *function, const char *missing, const char *path,
                           sg_section_file *file, sg_ckpt_contents *contents)
{
    if (missing || !path)
        return sg_error(SEQGEN_EINVAL, "%s: NULL %s", function, path ? missing : "path");
    int status = sg_section_file_read(path, file);
    if (status)
        return status;
    status = sg_ckpt_decode(file, contents);
    if (status) {
        sg_section_file_close(file);
        return sg_error_prefix(status, path);
    }
    return SEQGEN_OK;
}

int seqgen_checkpoint_load_model(seqgen_model **out, const char *path)
{
    sg_section_file file;
    sg_ckpt_contents contents;
    int status = open_checkpoint("seqgen_checkpoint_load_model", out ? NULL : "output", path, &file,
                                 &contents);
    if (status)
        return status;
    status = sg_ckpt_build_model(&contents, out);
    sg_section_file_close(&file);
    return status ? sg_error_prefix(status, path) : SEQGEN_OK;
}

int seqgen_checkpoint_load_vocab(seqgen_vocab **out, const char *path)
{
    sg_section_file file;
    sg_ckpt_contents contents;
    int status = open_checkpoint("seqgen_checkpoint_load_vocab", out ? NULL : "output", path,
                                 &file, &contents);
    if (status)
        return status;
    seqgen_vocab *vocab = NULL;
    if (contents.vocab)
        status = sg_ckpt_build_vocab(&contents, &vocab);
    sg_section_file_close(&file);
    if (status)
        return sg_error_prefix(status, path);
    *out = vocab;
    return SEQGEN_OK;
}

int seqgen_checkpoint_inspect(const char *path, seqgen_checkpoint_info *info)
{
    sg_section_file file;
    sg_ckpt_contents c;
    int status = open_checkpoint("seqgen_checkpoint_inspect", info ? NULL : "info", path, &file,
                                 &c);
    if (status)
        return status;
    seqgen_checkpoint_info i;
    memset(&i, 0, sizeof i);
    i.version = file.version;
    i.model = c.model;
    i.param_count = (size_t)c.param_count;
    i.has_training = c.has_progress;
    i.epoch = c.epoch;
    i.iteration = c.iteration;
    i.run = c.has_run ? c.run : seqgen_run_config_default();
    i.has_optim = c.has_optim;
    i.optim = c.optim;
    i.optim_steps = c.optim_steps;
    i.has_sched = c.has_sched;
    i.sched = c.sched;
    i.has_batches = c.has_iter && c.run.data == SEQGEN_RUN_DATA_UNITS;
    i.has_symbol_batches = c.has_iter && c.run.data != SEQGEN_RUN_DATA_UNITS;
    i.batches_epoch = c.iter_epoch;
    i.batches_position = c.iter_position;
    i.has_professor = c.has_professor;
    if (c.has_professor)
        i.professor = c.professor;
    sg_section_file_close(&file);
    *info = i;
    return SEQGEN_OK;
}

/* Can the caller's existing handles take the saved state? Checked before anything changes. */
static int check_handles(const sg_ckpt_contents *c, const seqgen_model *model,
                         const seqgen_train_state *train)
{
    if (!c->has_progress)
        return sg_error(SEQGEN_EMISMATCH, "a model checkpoint, without training state: load it "
                        "with seqgen_checkpoint_load_model()");
    if (model) {
        seqgen_model_config have = seqgen_model_get_config(model);
        const seqgen_model_config *saved = &c->model;
        if (have.units_per_step != saved->units_per_step || have.hidden != saved->hidden ||
            have.layers != saved->layers || have.start_step != saved->start_step ||
            have.steps != saved->steps)
            return sg_error(SEQGEN_EMISMATCH, "the model has D = %d, H = %d, L = %d, start step "
                            "%d, steps %d but the checkpoint's has D = %d, H = %d, L = %d, start "
                            "step %d, steps %d", have.units_per_step, have.hidden, have.layers,
                            have.start_step, have.steps, saved->units_per_step, saved->hidden,
                            saved->layers, saved->start_step, saved->steps);
        if (have.vocab != saved->vocab || have.embedding != saved->embedding)
            return sg_error(SEQGEN_EMISMATCH, "the model has vocab %d, embedding %d but the "
                            "checkpoint's has vocab %d, embedding %d", have.vocab,
                            have.embedding, saved->vocab, saved->embedding);
        if (have.head != saved->head || have.head_hidden != saved->head_hidden)
            return sg_error(SEQGEN_EMISMATCH, "the model has head %d but the checkpoint's has "
                            "head %d (0 = SEQGEN_HEAD_INDEPENDENT, 1 = SEQGEN_HEAD_LINEAR_AR, 2 = "
                            "SEQGEN_HEAD_MADE_AR; head_hidden %d and %d)", (int)have.head,
                            (int)saved->head, have.head_hidden, saved->head_hidden);
    }
    if (train->optim && !c->has_optim)
        return sg_error(SEQGEN_EMISMATCH, "an optimiser was given but the checkpoint holds none");
    if (train->optim) {
        sg_optim_state have;
        sg_optim_get_state(train->optim, &have);
        if (have.size != c->param_count)
            return sg_error(SEQGEN_EMISMATCH, "the optimiser was made for %zu parameters, the "
                            "checkpoint's model has %llu", have.size,
                            (unsigned long long)c->param_count);
    }
    if (train->professor && !c->has_professor)
        return sg_error(SEQGEN_EMISMATCH, "a professor-forcing trainer was given but the "
                        "checkpoint holds none");
    if (train->professor) {
        const seqgen_discriminator_config have = seqgen_professor_get_config(train->professor).disc;
        const seqgen_discriminator_config *saved = &c->professor.disc;
        if (have.features != saved->features || have.hidden != saved->hidden ||
            have.layers != saved->layers || have.mlp_hidden != saved->mlp_hidden)
            return sg_error(SEQGEN_EMISMATCH, "the trainer's discriminator has F = %d, H_d = %d, "
                            "K = %d, M = %d but the checkpoint's has F = %d, H_d = %d, K = %d, "
                            "M = %d", have.features, have.hidden, have.layers, have.mlp_hidden,
                            saved->features, saved->hidden, saved->layers, saved->mlp_hidden);
        int units, hidden;
        sg_professor_shape(train->professor, &units, &hidden);
        if (units != c->model.units_per_step || hidden != c->model.hidden)
            return sg_error(SEQGEN_EMISMATCH, "the trainer was made for D = %d, H = %d but the "
                            "checkpoint's model has D = %d, H = %d", units, hidden,
                            c->model.units_per_step, c->model.hidden);
    }
    if (train->sched && !c->has_sched)
        return sg_error(SEQGEN_EMISMATCH, "a schedule was given but the checkpoint holds none");
    if (train->batches || train->symbol_batches) {
        if (!c->has_iter)
            return sg_error(SEQGEN_EMISMATCH, "a %s iterator was given but the checkpoint "
                            "holds no dataset position", train->batches ? "batch" : "symbol");
        seqgen_batch_config have;
        uint64_t count;
        if (train->batches)
            sg_batch_iter_describe(train->batches, &have, &count);
        else
            sg_symbol_iter_describe(train->symbol_batches, &have, &count);
        int status = sg_run_config_match_batches(&c->run, &have, count, !train->batches);
        if (status != SEQGEN_OK)
            return status;
    }
    return SEQGEN_OK;
}

/* The handles decoded from the file, before they replace or become the caller's. */
typedef struct staged {
    seqgen_model *model;
    seqgen_optim *optim;
    seqgen_sched *sched;
    seqgen_professor *professor;
} staged;

static void staged_free(staged *s)
{
    seqgen_model_free(s->model);
    seqgen_optim_free(s->optim);
    seqgen_sched_free(s->sched);
    seqgen_professor_free(s->professor);
}

static int stage(const sg_ckpt_contents *c, staged *s)
{
    int status = sg_ckpt_build_model(c, &s->model);
    if (status == SEQGEN_OK && c->has_optim)
        status = sg_ckpt_build_optim(c, s->model, &s->optim);
    if (status == SEQGEN_OK && c->has_sched) {
        status = seqgen_sched_create(&s->sched, &c->sched);
    }
    if (status == SEQGEN_OK && c->has_professor)
        status = sg_ckpt_build_professor(c, s->model, &s->professor);
    return status;
}

/* Moves staged state into the caller's handles (or hands the staged handles over). Nothing
 * here can fail: every check was done before. */
static void commit(staged *s, const sg_ckpt_contents *c, seqgen_model **model,
                   seqgen_train_state *train)
{
    if (*model) {
        memcpy(sg_model_params_for_write(*model), sg_model_params_const(s->model),
               seqgen_model_param_count(s->model) * sizeof(float));
        *sg_model_mix_rng(*model) = *sg_model_mix_rng(s->model);
        if (c->has_init_rng)
            *sg_model_init_rng(*model) = c->init_rng;
    } else {
        *model = s->model;
        s->model = NULL;
    }
    if (s->optim && train->optim) {
        sg_optim_state saved;
        sg_optim_get_state(s->optim, &saved);
        if (sg_optim_restore(train->optim, &saved) != SEQGEN_OK)
            return; /* unreachable: the size and settings were checked before */
    } else if (s->optim) {
        train->optim = s->optim;
        s->optim = NULL;
    }
    if (s->sched && train->sched) {
        if (sg_sched_set_config(train->sched, &c->sched) != SEQGEN_OK)
            return; /* unreachable: the same values were accepted when staged */
    } else if (s->sched) {
        train->sched = s->sched;
        s->sched = NULL;
    }
    if (s->professor && train->professor) {
        seqgen_professor *to = train->professor, *from = s->professor;
        sg_optim_state saved;
        sg_optim_get_state(sg_professor_optim(from), &saved);
        if (sg_optim_restore(sg_professor_optim(to), &saved) != SEQGEN_OK)
            return; /* unreachable: the same shape, settings accepted when staged */
        memcpy(sg_disc_params(sg_professor_disc(to)), sg_disc_params(sg_professor_disc(from)),
               saved.size * sizeof(float));
        *sg_professor_rng(to) = *sg_professor_rng(from);
        sg_professor_set_config(to, &c->professor);
    } else if (s->professor) {
        train->professor = s->professor;
        s->professor = NULL;
    }
    if (train->batches) /* cannot fail: the position is within the count, checked before */
        (void)!seqgen_batch_iter_seek(train->batches, c->iter_epoch, (size_t)c->iter_position);
    if (train->symbol_batches) /* the same */
        (void)!seqgen_symbol_iter_seek(train->symbol_batches, c->iter_epoch,
                                       (size_t)c->iter_position);
    train->epoch = c->epoch;
    train->iteration = c->iteration;
    train->run = c->run;
}

int seqgen_checkpoint_load_training(const char *path, seqgen_model **model,
                                    seqgen_train_state *train)
{
    if (train && train->batches && train->symbol_batches)
        return sg_error(SEQGEN_EINVAL, "seqgen_checkpoint_load_training: both a batch iterator "
                        "and a symbol iterator given: a run has one");
    sg_section_file file;
    sg_ckpt_contents c;
    int status = open_checkpoint("seqgen_checkpoint_load_training",
                                 !model ? "model" : !train ? "training state" : NULL, path, &file,
                                 &c);
    if (status)
        return status;
    staged s = {NULL, NULL, NULL, NULL};
    status = check_handles(&c, *model, train);
    if (status == SEQGEN_OK)
        status = stage(&c, &s);
    if (status == SEQGEN_OK)
        commit(&s, &c, model, train);
    staged_free(&s);
    sg_section_file_close(&file);
    return status ? sg_error_prefix(status, path) : SEQGEN_OK;
}
