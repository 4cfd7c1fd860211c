/* (Named schedule.h, not sched.h, so that it never shadows the system <sched.h> under -Isrc.)
 * Internal access to a schedule's whole state, for checkpoints: the position plus the current
 * epoch's summary accumulators, so a run resumed mid-epoch reports the same summary. */
#ifndef SEQGEN_SCHEDULE_H
#define SEQGEN_SCHEDULE_H

#include "seqgen.h"

typedef struct sg_sched_state {
    uint64_t position; /* i, in the schedule's unit */
    uint64_t batches;  /* batches recorded this epoch */
    uint64_t inputs;   /* mixable inputs recorded this epoch */
    uint64_t forced;   /* of those, teacher-forced */
    double p_weighted; /* sum over recorded batches of p * inputs */
    double p_min;      /* smallest p recorded (1 when none) */
    double p_max;      /* largest p recorded (0 when none) */
} sg_sched_state;

/* Checks a configuration; SEQGEN_EINVAL with the offending field in the detail. */
int sg_sched_config_check(const seqgen_sched_config *cfg);

/* Checks a state is consistent (forced <= inputs, recorded p values in [0, 1]); SEQGEN_ERANGE
 * otherwise. */
int sg_sched_state_check(const sg_sched_state *state);

void sg_sched_get_state(const seqgen_sched *sched, sg_sched_state *state);

/* Replaces the configuration and state after checking both; on failure nothing changes. */
int sg_sched_restore(seqgen_sched *sched, const seqgen_sched_config *cfg,
                     const sg_sched_state *state);

#endif
