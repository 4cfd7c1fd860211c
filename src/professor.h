/* Professor forcing's trainer (seqgen.h's seqgen_professor_*): what the checkpoint code reads and
 * restores, and the check of its settings. */
#ifndef SEQGEN_PROFESSOR_H
#define SEQGEN_PROFESSOR_H

#include "discriminator.h"
#include "rng.h"
#include "seqgen.h"

/* SEQGEN_OK, or SEQGEN_EINVAL naming the setting out of range (lambda, given, the band, the
 * discriminator's shape, its optimiser). `features` (the model's H + D) must be the
 * discriminator's, else SEQGEN_EMISMATCH; 0 skips that check. */
int sg_professor_check_config(const seqgen_professor_config *cfg, int features);

/* The trainer's parts, owned by it. */
sg_disc *sg_professor_disc(seqgen_professor *pf);
seqgen_optim *sg_professor_optim(seqgen_professor *pf);
sg_rng *sg_professor_rng(seqgen_professor *pf);

/* D and H of the model the trainer was made for. */
void sg_professor_shape(const seqgen_professor *pf, int *units, int *hidden);

/* The sequences the last step drew free-running, [B][length][D] (tests). */
const float *sg_professor_drawn(const seqgen_professor *pf);

/* Replaces the settings that do not shape the discriminator (lambda, given, band, seed) with
 * cfg's, already checked. */
void sg_professor_set_config(seqgen_professor *pf, const seqgen_professor_config *cfg);

#endif
