/*
 * cpu_probes.cpp -- the machine probes of l2l_probes.h: the kernels of cpu_kernels.h that
 * measure the processor's limits, split over a CPU context's threads by the worker pool, in the
 * kernels' floating-point mode (flush-to-zero and denormals-are-zero, denormals.h).
 */
#include "l2l_probes.h"
#include "cpu_backend.h"
#include "denormals.h"
#include "thread_pool.h"

#include <algorithm>
#include <atomic>

namespace l2l {
namespace cpu {
namespace {

/* The probes split each thread's share into pieces taken dynamically by the pool, so that all
 * threads stay busy until the end even if one starts late. */
constexpr int64_t kProbePieces = 64;

/* Keeps the probes' results, so that their work cannot be dropped. */
std::atomic<double> probe_sink;

/* *out: the CPU state of ctx (not NULL); WRONG_CONTEXT when ctx is not a CPU context. */
int32_t cpu_of(l2l_context* ctx, CpuContext** out) {
    if (ctx->ops != &cpu_ops()) {
        return fail(L2L_ERR_WRONG_CONTEXT, "the machine probes run on a CPU context");
    }
    *out = &cpu_context(ctx);
    return L2L_OK;
}

/* The most operations per thread a chain probe takes (l2l_probes.h): far beyond any timing, and
 * small enough that rounding up to whole rounds and counting them cannot overflow. */
constexpr int64_t kMaxProbeFlops = int64_t{1} << 50;

/* Runs a probe of independent chains (`per_iteration` operations a round) for at least
 * flops_per_thread operations on each thread. */
int32_t probe_chains(const CpuContext& c, int64_t per_iteration, double (*probe)(int64_t),
                     int64_t flops_per_thread, double* flops_done) {
    const int64_t iterations = (flops_per_thread + per_iteration - 1) / per_iteration;
    parallel_for(c.threads * kProbePieces, c.threads, flushing([&](int32_t, int64_t i) {
        const int64_t q = i % kProbePieces;
        const double sum = probe(iterations / kProbePieces + (q < iterations % kProbePieces ? 1 : 0));
        probe_sink.store(sum, std::memory_order_relaxed);
    }));
    *flops_done = static_cast<double>(c.threads) * static_cast<double>(iterations * per_iteration);
    return L2L_OK;
}

/* The C entry point of a chain probe, the kernel set's members `flops` (operations a round) and
 * `probe`: its arguments checked, then probe_chains.  runs_on: nullptr for a probe that every
 * kernel set has; for one that only some have (nullptr in the others), where it runs, the start
 * of the WRONG_CONTEXT message on the others. */
int32_t chain_entry(l2l_context* ctx, int64_t flops_per_thread, double* flops_done,
                    int32_t Kernels::*flops, double (*Kernels::*probe)(int64_t),
                    const char* runs_on = nullptr) {
    if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
    if (flops_done == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "flops_done is NULL");
    CpuContext* c = nullptr;
    const int32_t status = cpu_of(ctx, &c);
    if (status != L2L_OK) return status;
    const Kernels& K = *c->kernels;
    if (runs_on != nullptr && K.*probe == nullptr) {
        return fail(L2L_ERR_WRONG_CONTEXT, "%s; this context runs %s", runs_on, K.isa);
    }
    if (flops_per_thread < 1 || flops_per_thread > kMaxProbeFlops) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "flops_per_thread must be in [1, 2^50], got %lld",
                    static_cast<long long>(flops_per_thread));
    }
    return probe_chains(*c, K.*flops, K.*probe, flops_per_thread, flops_done);
}

int32_t probe_triad(const CpuContext& c, float* a, const float* b, const float* x, float s,
                    int64_t n) {
    const Kernels& K = *c.kernels;
    constexpr int64_t kChunk = int64_t{1} << 16;
    parallel_for(num_chunks(n, kChunk), c.threads, flushing([&](int32_t, int64_t i) {
        const int64_t lo = i * kChunk;
        K.triad(a + lo, b + lo, x + lo, s, std::min(kChunk, n - lo));
    }));
    return L2L_OK;
}

int32_t probe_cells(const CpuContext& c, int64_t tiles_per_thread) {
    const Kernels& K = *c.kernels;
    parallel_for(c.threads * kProbePieces, c.threads, flushing([&](int32_t, int64_t i) {
        const int64_t q = i % kProbePieces;
        const double sum = K.cell_probe(tiles_per_thread / kProbePieces +
                                        (q < tiles_per_thread % kProbePieces ? 1 : 0));
        probe_sink.store(sum, std::memory_order_relaxed);
    }));
    return L2L_OK;
}

} // namespace
} // namespace cpu
} // namespace l2l

using l2l::fail;
using l2l::cpu::CpuContext;

extern "C" {

int32_t l2l_cpu_probe_fma(l2l_context* ctx, int64_t flops_per_thread, double* flops_done) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        return l2l::cpu::chain_entry(ctx, flops_per_thread, flops_done, &l2l::cpu::Kernels::fma_probe_flops,
                                     &l2l::cpu::Kernels::fma_probe);
    });
}

int32_t l2l_cpu_probe_bf16_dot(l2l_context* ctx, int64_t flops_per_thread, double* flops_done) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        return l2l::cpu::chain_entry(ctx, flops_per_thread, flops_done, &l2l::cpu::Kernels::bf16_probe_flops,
                                     &l2l::cpu::Kernels::bf16_dot_probe);
    });
}

int32_t l2l_cpu_probe_amx(l2l_context* ctx, int64_t flops_per_thread, double* flops_done) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        return l2l::cpu::chain_entry(ctx, flops_per_thread, flops_done, &l2l::cpu::Kernels::amx_probe_flops,
                                     &l2l::cpu::Kernels::amx_probe,
                                     "the AMX tile probe runs on the amx or amx-emulated kernel set");
    });
}

int32_t l2l_cpu_probe_triad(l2l_context* ctx, float* a, const float* b, const float* c, float s,
                            int64_t n) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
        if (a == nullptr || b == nullptr || c == nullptr) {
            return fail(L2L_ERR_NULL_ARGUMENT, "a, b and c must not be NULL");
        }
        CpuContext* cpu = nullptr;
        const int32_t status = l2l::cpu::cpu_of(ctx, &cpu);
        if (status != L2L_OK) return status;
        if (n < 1) return fail(L2L_ERR_INVALID_ARGUMENT, "n must be >= 1, got %lld", static_cast<long long>(n));
        return l2l::cpu::probe_triad(*cpu, a, b, c, s, n);
    });
}

int32_t l2l_cpu_probe_cells(l2l_context* ctx, int64_t tiles_per_thread) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
        CpuContext* c = nullptr;
        const int32_t status = l2l::cpu::cpu_of(ctx, &c);
        if (status != L2L_OK) return status;
        if (tiles_per_thread < 1) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "tiles_per_thread must be >= 1, got %lld",
                        static_cast<long long>(tiles_per_thread));
        }
        return l2l::cpu::probe_cells(*c, tiles_per_thread);
    });
}

} // extern "C"
