/* How the processes of one seqgen-train run work together. seqgen-train is one process
 * (comm_local.c); seqgen-train-mpi is the same program linked with comm_mpi.c, every rank of an
 * MPI job holding the whole model and computing its slice of each batch (docs/distributed.md).
 * The library knows nothing of this: it computes a slice's share of the gradient
 * (seqgen_train_options::slice_count), and this layer sums the shares.
 *
 * Every function but comm_rank() and comm_size() is collective: each rank calls it at the same
 * point of the program, or the run hangs. */
#ifndef SEQGEN_COMM_H
#define SEQGEN_COMM_H

#include <stddef.h>
#include <stdint.h>

/* Starts the communication layer (MPI_Init), before anything is printed. On ranks other than 0
 * standard output goes to /dev/null and standard error into a buffer that comm_agree() prints
 * only if this rank is the first to fail, so that a message common to every rank appears
 * once. 0, or an exit code after printing why. */
int comm_start(int *argc, char ***argv);

/* Ends it (MPI_Finalize) and gives back the exit code. */
int comm_end(int rc);

int comm_rank(void);
int comm_size(void);

/* This rank's share of `count` items: [*first, *first + *n), the ranks' shares in rank order,
 * their sizes differing by at most one. */
void comm_share(size_t count, size_t *first, size_t *n);

/* Sums `buf` over the ranks, in place. The result is the same bit for bit on every rank: the
 * sum is reduced on rank 0 in a fixed order and broadcast (MPI_Reduce, then MPI_Bcast). 0, or
 * an MPI error code (MPI's default handler ends the job first). */
int comm_sum_floats(float *buf, size_t n);
int comm_sum_doubles(double *buf, size_t n);

/* Every rank gives its exit code so far (0: going on) and whether it was asked to stop
 * (*stop != 0). Returns the exit code of the lowest rank that failed, 0 if none did, after
 * printing that rank's buffered messages (once, for the whole job); *stop becomes 1 on every
 * rank if any rank was asked to stop. */
int comm_agree(int rc, int *stop);

/* 1 if `value` is the same on every rank. */
int comm_same(uint64_t value);

/* The number of processes of the job on this machine (1 without MPI). */
int comm_local_size(void);

/* 1 if a launcher runs this process (mpirun): it passes SIGUSR1 on to every rank at once, and
 * Ctrl-C as SIGTERM a little later (docs/distributed.md); 0 for a process of its own. */
int comm_launched(void);

#endif
