/* The MPI communication layer of seqgen-train-mpi (examples/comm_mpi.c), run by mpirun with 3
 * ranks from tests/mpi_test.sh: shares cover a count in rank order; sums are the same bit for
 * bit on every rank; comm_same() tells equal values from different ones; comm_agree() gives
 * every rank the lowest failing rank's code, prints only that rank's messages, and spreads a
 * stop. Prints one line per check from rank 0; exit status 0 if every check held on every rank. */
#include <stdio.h>
#include <string.h>

#include "comm.h"

static int failures;

static void check(int ok, const char *what)
{
    int stop = 0, all = comm_agree(ok ? 0 : 1, &stop);
    if (comm_rank() == 0)
        printf("%s: %s\n", all == 0 ? "ok" : "FAILED", what);
    failures += all != 0;
}

int main(int argc, char **argv)
{
    if (comm_start(&argc, &argv) != 0)
        return 1;
    const int rank = comm_rank(), size = comm_size();
    size_t first, n, next = 0;
    int covered = 1;
    for (size_t count = 0; count < 8; count++) { /* each share starts where the last ended */
        comm_share(count, &first, &n);
        double ends[2] = {(double)first, (double)(first + n)}, starts[64] = {0}, stops[64] = {0};
        starts[rank] = ends[0], stops[rank] = ends[1];
        comm_sum_doubles(starts, 64);
        comm_sum_doubles(stops, 64);
        next = 0;
        for (int r = 0; r < size; r++) {
            covered &= starts[r] == (double)next && stops[r] >= starts[r];
            next = (size_t)stops[r];
        }
        covered &= next == count;
    }
    check(covered, "the shares of 0 to 7 items cover them in rank order");

    float v[5];
    for (int i = 0; i < 5; i++) /* values whose sum depends on the order of the additions */
        v[i] = (float)(1.0 / (3.0 + rank + i)) * (i % 2 ? 1e7f : 1e-3f);
    comm_sum_floats(v, 5);
    uint64_t bits = 0;
    for (int i = 0; i < 5; i++) {
        uint32_t b;
        memcpy(&b, &v[i], 4);
        bits = bits * 1000003u + b;
    }
    check(comm_same(bits), "a sum is the same bit for bit on every rank");
    check(!comm_same((uint64_t)(rank == size - 1)), "comm_same tells one differing rank");
    check(comm_same(42), "comm_same of equal values");

    int stop = rank == 1;
    int rc = comm_agree(0, &stop);
    check(rc == 0 && stop == 1, "a stop asked on rank 1 reaches every rank");
    stop = 0;
    if (rank > 0) /* rank 0 writes to the job's standard error directly */
        fprintf(stderr, "comm_test: message of rank %d%s\n", rank,
                rank == 1 ? " (rank 1: the first to fail, so printed)" : " (not printed)");
    rc = comm_agree(rank == 0 ? 0 : 10 + rank, &stop);
    check(rc == 11 && stop == 0, "every rank gets the lowest failing rank's code (rank 1's)");
    return comm_end(failures != 0);
}
