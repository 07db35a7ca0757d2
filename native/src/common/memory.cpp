/*
 * memory.cpp -- the library's one allocator of host memory, and the fault-injection switch of
 * l2l_testing.h that it, and the CUDA backend's device allocations, consult.
 */
#include "internal.h"
#include "l2l_testing.h"

#include <stdlib.h>

#include <atomic>

namespace l2l {
namespace {

/* Allocations still to come before the injected failure, that one included; 0: none armed. */
std::atomic<int64_t> fail_countdown{0};

} // namespace

bool allocation_fails() noexcept {
    int64_t left = fail_countdown.load(std::memory_order_relaxed);
    while (left > 0 && !fail_countdown.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) {
    }
    return left == 1;
}

void* allocate(size_t bytes) noexcept {
    if (allocation_fails() || bytes > SIZE_MAX - 63) return nullptr;
    const size_t rounded = bytes == 0 ? 64 : (bytes + 63) / 64 * 64;
    return aligned_alloc(64, rounded);
}

void release(void* p) noexcept { free(p); }

} // namespace l2l

extern "C" int64_t l2l_testing_fail_allocation(int64_t k) {
    return l2l::fail_countdown.exchange(k > 0 ? k : 0, std::memory_order_relaxed);
}
