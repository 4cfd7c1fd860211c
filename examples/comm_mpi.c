/* The communication layer of seqgen-train-mpi: the ranks of an MPI job (MPI_COMM_WORLD). The
 * library's threads never call MPI, so MPI_THREAD_FUNNELED is enough. Sums go through rank 0
 * (MPI_Reduce, then MPI_Bcast) rather than MPI_Allreduce, whose result MPI does not promise to
 * be the same bit for bit on every rank: the parameters of the ranks must stay identical. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "comm.h"

static int rank, size = 1, local_size = 1;
static FILE *captured;        /* ranks > 0: where standard error goes between comm_agree()s */
static int real_stderr = -1;  /* ranks > 0: the job's standard error */

/* Elements per MPI call: counts are ints. */
#define CHUNK (1 << 28)

int comm_start(int *argc, char ***argv)
{
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "seqgen-train-mpi: cannot start MPI\n");
        return 1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &local_size);
    MPI_Comm_free(&local);
    if (rank == 0)
        return 0;
    int null = open("/dev/null", O_WRONLY);
    captured = tmpfile();
    real_stderr = dup(STDERR_FILENO);
    if (null < 0 || !captured || real_stderr < 0 || dup2(null, STDOUT_FILENO) < 0 ||
        dup2(fileno(captured), STDERR_FILENO) < 0) {
        fprintf(stderr, "seqgen-train-mpi: rank %d: cannot redirect its output: %s\n", rank,
                strerror(errno));
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    close(null);
    return 0;
}

int comm_end(int rc)
{
    MPI_Finalize();
    return rc;
}

int comm_rank(void) { return rank; }
int comm_size(void) { return size; }
int comm_local_size(void) { return local_size; }
int comm_launched(void) { return 1; }

void comm_share(size_t count, size_t *first, size_t *n)
{
    *first = count * (size_t)rank / (size_t)size;
    *n = count * (size_t)(rank + 1) / (size_t)size - *first;
}

static int sum(void *buf, size_t n, MPI_Datatype type, size_t elem)
{
    char *p = buf;
    for (size_t done = 0; done < n;) {
        int k = n - done < CHUNK ? (int)(n - done) : CHUNK;
        int rc = MPI_Reduce(rank == 0 ? MPI_IN_PLACE : p, rank == 0 ? p : NULL, k, type, MPI_SUM,
                            0, MPI_COMM_WORLD);
        if (rc == MPI_SUCCESS)
            rc = MPI_Bcast(p, k, type, 0, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return rc;
        done += (size_t)k;
        p += (size_t)k * elem;
    }
    return 0;
}

int comm_sum_floats(float *buf, size_t n) { return sum(buf, n, MPI_FLOAT, sizeof *buf); }
int comm_sum_doubles(double *buf, size_t n) { return sum(buf, n, MPI_DOUBLE, sizeof *buf); }

/* Copies what this rank wrote to standard error since the last call to the job's, if `show`,
 * and empties the buffer. */
static void release_messages(int show)
{
    if (!captured)
        return;
    fflush(stderr);
    long end = lseek(fileno(captured), 0, SEEK_CUR);
    if (show && end > 0 && lseek(fileno(captured), 0, SEEK_SET) == 0) {
        char chunk[4096];
        ssize_t got;
        long left = end;
        while (left > 0 && (got = read(fileno(captured), chunk, sizeof chunk)) > 0) {
            if (write(real_stderr, chunk, (size_t)got) != got)
                break;
            left -= got;
        }
    }
    if (ftruncate(fileno(captured), 0) == 0)
        lseek(fileno(captured), 0, SEEK_SET);
}

int comm_agree(int rc, int *stop)
{
    /* both as minima: the lowest failing rank (size if none), 0 if any rank was asked to stop */
    int mine[2] = {rc != 0 ? rank : size, *stop ? 0 : 1}, all[2];
    MPI_Allreduce(mine, all, 2, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    release_messages(all[0] == rank);
    *stop = all[1] == 0;
    if (all[0] == size)
        return 0;
    MPI_Bcast(&rc, 1, MPI_INT, all[0], MPI_COMM_WORLD);
    return rc;
}

int comm_same(uint64_t value)
{
    uint64_t mine[2] = {value, ~value}, all[2];
    MPI_Allreduce(mine, all, 2, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    return all[0] == ~all[1]; /* the least equals the greatest */
}
