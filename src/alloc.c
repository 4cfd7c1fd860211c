/* The library's allocator with its failure-injection hook (alloc.h). The hook's countdown is
 * thread-local, so injecting failures in one thread never disturbs another. */
#include "alloc.h"

#include <stdlib.h>

/* Allocations left before the injected failure; negative: no failure planned. */
static _Thread_local long fail_countdown = -1;

/* True if this allocation is the one to fail. */
static int inject_failure(void)
{
    if (fail_countdown < 0)
        return 0;
    return fail_countdown-- == 0;
}

void *sg_malloc(size_t size) { return inject_failure() ? NULL : malloc(size); }

void *sg_calloc(size_t count, size_t size) { return inject_failure() ? NULL : calloc(count, size); }

void *sg_realloc(void *p, size_t size) { return inject_failure() ? NULL : realloc(p, size); }

void sg_alloc_fail_after(long n) { fail_countdown = n < 0 ? -1 : n; }

int sg_alloc_fail_pending(void) { return fail_countdown >= 0; }
