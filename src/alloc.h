/* The library's allocator. Every allocation the library makes itself goes through these, so
 * that a test can make exactly one of them fail (sg_alloc_fail_after) and check that each
 * failure path returns SEQGEN_ENOMEM and frees what it had. Memory is released with free().
 * (zlib's allocations for reading IDX files go through them too; those inside stdio and pthreads
 * are not covered.) */
#ifndef SEQGEN_ALLOC_H
#define SEQGEN_ALLOC_H

#include <stddef.h>

void *sg_malloc(size_t size);
void *sg_calloc(size_t count, size_t size);
void *sg_realloc(void *p, size_t size);

/* Test hook, for the calling thread only: the next `n` allocations succeed and the one after
 * fails (once); a negative `n` turns the hook off. */
void sg_alloc_fail_after(long n);

/* 1 if the failure set by sg_alloc_fail_after() has not happened yet (the code under test made
 * fewer allocations than asked), else 0. */
int sg_alloc_fail_pending(void);

#endif
