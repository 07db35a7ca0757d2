/*
 * thread_pool.h -- the one process-wide worker pool of the CPU backend.
 *
 * Reentrant: several threads may call parallel_for at once (each call is its own job), and the
 * caller always works on its own job, so a call never waits for a busy pool to start it.
 * Workers sleep on a condition variable; nothing spins.
 */
#ifndef L2L_THREAD_POOL_H
#define L2L_THREAD_POOL_H

#include <cstdint>
#include <functional>

namespace l2l {

/* Runs body(i) for every i in [0, count), on the calling thread plus at most
 * (parallelism - 1) pool workers.  Which thread runs which i is unspecified, so body must
 * write only to places owned by i. */
void parallel_for(int64_t count, int32_t parallelism, const std::function<void(int64_t)>& body);

/* Number of hardware threads (at least 1). */
int32_t hardware_threads();

} // namespace l2l

#endif
