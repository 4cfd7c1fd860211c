/* Running one job per thread: the batch-split parallelism of training passes and completion.
 * Each job runs the whole sequence on its own slice, so there is no synchronisation but the join.
 * While the library computes, BLAS runs on one thread (the library's threads are the parallelism):
 * a scope that sets OpenBLAS's process-wide thread count to 1 and gives the caller's back. */
#ifndef SEQGEN_PARALLEL_H
#define SEQGEN_PARALLEL_H

#include <stddef.h>

/* The most jobs one call runs on threads of their own: the model's thread limit. */
#define SG_PARALLEL_MAX 1024

/* Calls work(jobs + i * job_size) for i in [0, count), job i > 0 on a thread of its own and job 0
 * on the caller's, inside sg_blas_single_begin() / sg_blas_single_end(). A job whose thread
 * cannot be started runs on the caller's thread after the others: the same results, less
 * parallel, and no failure to report. */
void sg_run_parallel(void *(*work)(void *), void *jobs, size_t job_size, int count);

/* The scope of a library call that runs BLAS: if the linked CBLAS is OpenBLAS (found at run time
 * through weak symbols; any other CBLAS is left alone), the first of the calls running in the
 * process saves OpenBLAS's thread count and sets it to 1, and the last to end restores it. Calls
 * on several threads may overlap; each begin must be followed by one end on the same thread. */
void sg_blas_single_begin(void);
void sg_blas_single_end(void);

#endif
