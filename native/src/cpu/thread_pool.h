/*
 * thread_pool.h -- the one process-wide worker pool of the CPU backend.
 *
 * Reentrant: several threads may call parallel_for at once (each call is its own job), and the
 * caller always works on its own job, so a call never waits for a busy pool to start it.
 * Workers sleep on a condition variable; nothing spins.  A call allocates nothing and nothing
 * in it throws: its job lives on the caller's stack, the queue has a fixed capacity, and the
 * body is a function pointer with a context.
 */
#ifndef L2L_THREAD_POOL_H
#define L2L_THREAD_POOL_H

#include <cstdint>

namespace l2l {

/* The body of a parallel loop: called as body(context, slot, i).  slot is the participant
 * running it, in [0, participants(count, parallelism)): 0 for the calling thread, a distinct
 * slot for each pool worker that joins the call, so that body may use per-slot scratch.  It must
 * not throw. */
typedef void (*LoopBody)(const void* context, int32_t slot, int64_t i);

/* Runs body(context, slot, i) for every i in [0, count), on the calling thread plus at most
 * (parallelism - 1) pool workers.  Which thread runs which i is unspecified, so body must write
 * only to places owned by i (or by its slot). */
void parallel_for(int64_t count, int32_t parallelism, LoopBody body, const void* context);

/* parallel_for with a callable f(slot, i), passed by address (no copy, no allocation). */
template <typename F>
void parallel_for(int64_t count, int32_t parallelism, const F& f) {
    parallel_for(count, parallelism,
                 [](const void* context, int32_t slot, int64_t i) {
                     (*static_cast<const F*>(context))(slot, i);
                 },
                 &f);
}

/* How many participants (hence slots) a call of parallel_for(count, parallelism, ...) uses at
 * most: min(parallelism, count, 1 + the pool's workers), at least 1. */
int32_t participants(int64_t count, int32_t parallelism);

/* Number of hardware threads (at least 1). */
int32_t hardware_threads();

} // namespace l2l

#endif
