/* The benchmarks' clocks: wall time (monotonic) and the process's CPU time, in seconds. */
#ifndef SEQGEN_BENCH_CLOCK_H
#define SEQGEN_BENCH_CLOCK_H

#include <time.h>

static inline double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static inline double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#endif
