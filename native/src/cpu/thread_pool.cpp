#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace l2l {
namespace {

struct Job {
    const std::function<void(int64_t)>* body;
    int64_t count;
    std::atomic<int64_t> next{0};
    int32_t helpers_wanted; /* queue entries still to be taken by workers */
    int32_t active = 0;     /* workers inside run(); guarded by the pool mutex */
    std::condition_variable finished;

    void run() {
        for (int64_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) {
            (*body)(i);
        }
    }
};

class Pool {
public:
    Pool() {
        const int32_t workers = std::max(0, hardware_threads() - 1);
        for (int32_t w = 0; w < workers; ++w) {
            threads_.emplace_back([this] { work(); });
        }
    }

    ~Pool() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        for (auto& t : threads_) t.join();
    }

    int32_t workers() const { return static_cast<int32_t>(threads_.size()); }

    void run(Job& job) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            for (int32_t h = 0; h < job.helpers_wanted; ++h) queue_.push_back(&job);
        }
        if (job.helpers_wanted == 1) {
            wake_.notify_one();
        } else {
            wake_.notify_all();
        }
        job.run();
        std::unique_lock<std::mutex> lock(mutex_);
        /* No worker may pick the job up once the caller leaves: drop its remaining entries. */
        queue_.erase(std::remove(queue_.begin(), queue_.end(), &job), queue_.end());
        job.finished.wait(lock, [&] { return job.active == 0; });
    }

private:
    void work() {
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            Job* job = queue_.front();
            queue_.pop_front();
            ++job->active;
            lock.unlock();
            job->run();
            lock.lock();
            if (--job->active == 0) job->finished.notify_all();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job*> queue_;
    std::vector<std::thread> threads_;
    bool stopping_ = false;
};

Pool& pool() {
    static Pool instance;
    return instance;
}

} // namespace

int32_t hardware_threads() {
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int32_t>(n);
}

void parallel_for(int64_t count, int32_t parallelism, const std::function<void(int64_t)>& body) {
    if (count <= 0) return;
    const int64_t helpers = std::min<int64_t>({static_cast<int64_t>(parallelism) - 1, count - 1,
                                               static_cast<int64_t>(pool().workers())});
    if (helpers <= 0) {
        for (int64_t i = 0; i < count; ++i) body(i);
        return;
    }
    Job job;
    job.body = &body;
    job.count = count;
    job.helpers_wanted = static_cast<int32_t>(helpers);
    pool().run(job);
}

} // namespace l2l
