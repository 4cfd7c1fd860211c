#include "parallel.h"

#include <pthread.h>

/* Any job past SG_PARALLEL_MAX runs on the caller's thread, like one whose thread could not be
 * started. */
#define MAX_THREADS SG_PARALLEL_MAX

void sg_run_parallel(void *(*work)(void *), void *jobs, size_t job_size, int count)
{
    char *job = jobs;
    pthread_t tid[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    sg_blas_single_begin();
    for (int i = 1; i < count && i < MAX_THREADS; i++)
        started[i] = pthread_create(&tid[i], NULL, work, job + (size_t)i * job_size) == 0;
    work(job);
    for (int i = 1; i < count; i++) {
        if (i < MAX_THREADS && started[i])
            pthread_join(tid[i], NULL);
        else
            work(job + (size_t)i * job_size);
    }
    sg_blas_single_end();
}

/* Declared weak: NULL when the CBLAS in use is not OpenBLAS. */
extern int openblas_get_num_threads(void) __attribute__((weak));
extern void openblas_set_num_threads(int num_threads) __attribute__((weak));

/* OpenBLAS's thread count is one variable of the process: the library calls running BLAS, on
 * whatever threads, share one scope, counted under a lock. */
static pthread_mutex_t blas_lock = PTHREAD_MUTEX_INITIALIZER;
static int blas_calls;          /* library calls inside the scope now */
static int blas_caller_threads; /* OpenBLAS's count when the first of them began */

static int have_openblas(void) { return openblas_get_num_threads && openblas_set_num_threads; }

void sg_blas_single_begin(void)
{
    if (!have_openblas())
        return;
    pthread_mutex_lock(&blas_lock);
    if (blas_calls++ == 0) {
        blas_caller_threads = openblas_get_num_threads();
        if (blas_caller_threads != 1)
            openblas_set_num_threads(1);
    }
    pthread_mutex_unlock(&blas_lock);
}

void sg_blas_single_end(void)
{
    if (!have_openblas())
        return;
    pthread_mutex_lock(&blas_lock);
    if (--blas_calls == 0 && blas_caller_threads > 1)
        openblas_set_num_threads(blas_caller_threads);
    pthread_mutex_unlock(&blas_lock);
}
