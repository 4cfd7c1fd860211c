/* Running one job per thread: the batch-split parallelism of training passes and completion.
 * Each job runs the whole sequence on its own slice, so there is no synchronisation but the join. */
#ifndef SEQGEN_PARALLEL_H
#define SEQGEN_PARALLEL_H

#include <stddef.h>

/* The most jobs one call runs on threads of their own: the model's thread limit. */
#define SG_PARALLEL_MAX 1024

/* Calls work(jobs + i * job_size) for i in [0, count), job i > 0 on a thread of its own and job 0
 * on the caller's. A job whose thread cannot be started runs on the caller's thread after the
 * others: the same results, less parallel, and no failure to report. */
void sg_run_parallel(void *(*work)(void *), void *jobs, size_t job_size, int count);

#endif
