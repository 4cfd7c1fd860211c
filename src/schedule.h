/* (Named schedule.h, not sched.h, so that it never shadows the system <sched.h> under -Isrc.)
 * Internal access to a schedule for checkpoints: its whole state is its configuration. */
#ifndef SEQGEN_SCHEDULE_H
#define SEQGEN_SCHEDULE_H

#include "seqgen.h"

/* Checks a configuration (not NULL); SEQGEN_EINVAL with the offending field in the detail. */
int sg_sched_config_check(const seqgen_sched_config *cfg);

/* Replaces the configuration after checking it; on failure nothing changes. */
int sg_sched_set_config(seqgen_sched *sched, const seqgen_sched_config *cfg);

#endif
