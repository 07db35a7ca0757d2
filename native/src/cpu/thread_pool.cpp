/*
 * thread_pool.cpp -- the worker pool of thread_pool.h.
 *
 * The queue is a ring of at most kQueueCapacity jobs, each present once with the number of
 * helpers it still wants.  A worker takes the front job, joins it with the next slot, and takes
 * it off the ring when no more helpers are wanted; a caller that finishes its share first takes
 * its job off itself, so that no worker joins a job whose caller has left.  When the ring is
 * full, a call runs on its calling thread alone.
 *
 * The pool is built on the first call that could use a helper, in static storage, and is never
 * destroyed; its workers are detached and never joined.  A thread may still be inside a parallel
 * call when the process exits (a Java thread while the JVM shuts down, say): had the pool a
 * destructor, static destruction would tear its mutex, condition variable and queue down under
 * that thread and under the workers.  The workers simply sleep until the process ends.
 *
 * Creating a thread can fail (std::system_error, or std::bad_alloc for its start data): the pool
 * then keeps the workers made so far, possibly none, and calls get fewer helpers.
 */
#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <new>
#include <thread>

namespace l2l {
namespace {

struct Job {
    LoopBody body;
    const void* context;
    int64_t count;
    std::atomic<int64_t> next{0};
    int32_t helpers_wanted; /* workers still to join; guarded by the pool mutex */
    int32_t joined = 0;     /* workers that joined, with slots 1..joined; guarded */
    int32_t active = 0;     /* workers inside run(); guarded */
    std::condition_variable finished;

    void run(int32_t slot) {
        for (int64_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) body(context, slot, i);
    }
};

/* Jobs waiting for helpers at once; more concurrent calls than this run without helpers. */
constexpr int32_t kQueueCapacity = 64;

class Pool {
public:
    Pool() {
        const int32_t wanted = hardware_threads() - 1;
        for (int32_t w = 0; w < wanted; ++w) {
            try {
                std::thread(&Pool::work, this).detach();
            } catch (...) {
                break;
            }
            ++workers_;
        }
    }

    int32_t workers() const { return workers_; }

    /* Runs job on the calling thread (slot 0) and on the workers that join it. */
    void run(Job& job) {
        const int32_t helpers = job.helpers_wanted;
        bool queued = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (size_ < kQueueCapacity) {
                ring_[(head_ + size_) % kQueueCapacity] = &job;
                ++size_;
                queued = true;
            }
        }
        if (queued) {
            if (helpers == 1) {
                wake_.notify_one();
            } else {
                wake_.notify_all();
            }
        }
        job.run(0);
        if (!queued) return;
        std::unique_lock<std::mutex> lock(mutex_);
        remove(&job);
        job.finished.wait(lock, [&] { return job.active == 0; });
    }

private:
    void work() {
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return size_ > 0; });
            Job* job = ring_[head_];
            const int32_t slot = ++job->joined;
            if (--job->helpers_wanted == 0) {
                head_ = (head_ + 1) % kQueueCapacity;
                --size_;
            }
            ++job->active;
            lock.unlock();
            job->run(slot);
            lock.lock();
            if (--job->active == 0) job->finished.notify_all();
        }
    }

    /* Takes job off the ring if it is still there (the mutex held). */
    void remove(const Job* job) {
        int32_t kept = 0;
        for (int32_t k = 0; k < size_; ++k) {
            Job* j = ring_[(head_ + k) % kQueueCapacity];
            if (j != job) ring_[(head_ + kept++) % kQueueCapacity] = j;
        }
        size_ = kept;
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    Job* ring_[kQueueCapacity] = {};
    int32_t head_ = 0;
    int32_t size_ = 0;
    int32_t workers_ = 0;
};

Pool& pool() {
    alignas(Pool) static unsigned char storage[sizeof(Pool)];
    static Pool* const instance = new (storage) Pool(); /* never destroyed: see above */
    return *instance;
}

} // namespace

int32_t hardware_threads() {
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int32_t>(n);
}

int32_t participants(int64_t count, int32_t parallelism) {
    if (parallelism <= 1 || count <= 1) return 1;
    return static_cast<int32_t>(std::min<int64_t>({parallelism, count, 1 + pool().workers()}));
}

void parallel_for(int64_t count, int32_t parallelism, LoopBody body, const void* context) {
    if (count <= 0) return;
    const int32_t helpers = participants(count, parallelism) - 1;
    if (helpers == 0) {
        for (int64_t i = 0; i < count; ++i) body(context, 0, i);
        return;
    }
    Job job;
    job.body = body;
    job.context = context;
    job.count = count;
    job.helpers_wanted = helpers;
    pool().run(job);
}

} // namespace l2l
