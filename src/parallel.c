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
    for (int i = 1; i < count && i < MAX_THREADS; i++)
        started[i] = pthread_create(&tid[i], NULL, work, job + (size_t)i * job_size) == 0;
    work(job);
    for (int i = 1; i < count; i++) {
        if (i < MAX_THREADS && started[i])
            pthread_join(tid[i], NULL);
        else
            work(job + (size_t)i * job_size);
    }
}
