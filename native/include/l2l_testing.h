/*
 * l2l_testing.h -- a fault-injection switch for tests, not part of the library's API.
 *
 * Every allocation libl2l makes goes through one allocator that consults this switch: its host
 * memory (models, contexts and their backend state, l2l_malloc on a CPU context, the CPU
 * backend's workspace, per-thread scratch, bfloat16 copy of phi's weights and averaging units'
 * rows) and, in a build with CUDA, its device and pinned memory (l2l_malloc on a CUDA context,
 * the backward pass's workspace, a context's result cells).  Not counted: the memory of the worker
 * pool's threads, created once per process, and what the CUDA runtime allocates for itself.  Tests
 * use the switch to check that each failure is reported as L2L_ERR_OUT_OF_MEMORY and leaves the
 * caller's buffers untouched.
 */
#ifndef L2L_TESTING_H
#define L2L_TESTING_H

#include "l2l.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Arms the switch: the k-th allocation from now on (k = 1: the next one), counted over all
 * threads, fails as if memory were exhausted; the ones before and after it succeed.  k <= 0
 * disarms it.  Returns how many allocations were still to come before the armed failure when
 * called (0 if none was armed, or it has happened): arm with k, make a call, disarm, and the
 * return value r tells whether the call made at least k allocations (r = 0: the k-th failed) or
 * k - r of them. */
L2L_API int64_t l2l_testing_fail_allocation(int64_t k);

#ifdef __cplusplus
}
#endif

#endif /* L2L_TESTING_H */
