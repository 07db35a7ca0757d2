/*
 * cuda_runtime.h (emulation) -- just enough of the CUDA runtime and device built-ins to compile
 * the CUDA backend (cuda_backend.cu, kernels.cuh) as ordinary C++ and run its kernels on the
 * CPU: every block runs in turn, its threads as real threads, __syncthreads as a barrier of the
 * block, __syncwarp and warp shuffles as a barrier of the warp, the bfloat16 tensor-core product
 * (mma.sync m16n8k16) as a scalar model of its fragments.  "Device" memory is host memory.
 *
 * Only for tests (backend_test.cpp): it checks the kernels' indexing, shared-memory layouts,
 * synchronization and results against a float64 reference on machines without a GPU.  Launch
 * syntax (kernel<<<grid, block, smem, stream>>>(args)) is rewritten by run_emu.sh into
 * emu::launch(kernel, grid, block, smem, stream)(args), and a kernel's
 * __launch_bounds__(max_threads[, min_blocks]) into EMU_LAUNCH_BOUNDS(...) at the start of its
 * body.
 *
 * Launches are refused as a device refuses them, with the error left for cudaGetLastError and
 * nothing run: more dynamic shared memory than the kernel's limit (48 KB until
 * cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes) raises it, at
 * most the device's opt-in maximum): cudaErrorInvalidValue; more than 1,024 threads or an empty
 * grid: cudaErrorInvalidConfiguration; more threads than the kernel's __launch_bounds__ (whose
 * register budget is sized for that many): cudaErrorLaunchOutOfResources.
 *
 * Kernel faults: a test sets emu::g_fault_next_launch to a sticky error (cudaErrorIllegalAddress,
 * say); the next launch runs and reports success, as an asynchronous launch does; the next
 * cudaStreamSynchronize returns the error, and from then on every call does (cudaGetLastError
 * without clearing it), as a CUDA context does after a fault; cudaFree still frees, so that leak checkers see what a backend forgot to
 * release.  Setting emu::g_sticky back to cudaSuccess starts afresh.
 */
#ifndef L2L_EMU_CUDA_RUNTIME_H
#define L2L_EMU_CUDA_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <barrier>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define EMU_LAUNCH_BOUNDS(...) \
    if (emu::exceeds_launch_bounds(__VA_ARGS__)) return

struct alignas(16) float4 {
    float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

struct uint3 {
    unsigned x, y, z;
};
struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

inline int64_t min(int64_t a, int64_t b) { return a < b ? a : b; }
inline int min(int a, int b) { return a < b ? a : b; }

/* ---- runtime API ------------------------------------------------------------------------- */
enum cudaError_t {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorIllegalAddress = 700,
    cudaErrorLaunchOutOfResources = 701,
    cudaErrorLaunchTimeout = 702,
    cudaErrorAssert = 710,
    cudaErrorHardwareStackError = 714,
    cudaErrorIllegalInstruction = 715,
    cudaErrorMisalignedAddress = 716,
    cudaErrorInvalidAddressSpace = 717,
    cudaErrorInvalidPc = 718,
    cudaErrorLaunchFailure = 719
};
inline cudaError_t& emu_last_error() {
    static thread_local cudaError_t e = cudaSuccess;
    return e;
}
typedef struct emu_stream* cudaStream_t;
enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3
};
enum cudaFuncAttribute {
    cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
    cudaFuncAttributePreferredSharedMemoryCarveout = 9
};
enum cudaSharedCarveout { cudaSharedmemCarveoutMaxShared = 100 };
enum cudaDeviceAttr {
    cudaDevAttrMultiProcessorCount = 16,
    cudaDevAttrComputeCapabilityMajor = 75,
    cudaDevAttrComputeCapabilityMinor = 76,
    cudaDevAttrMaxSharedMemoryPerMultiprocessor = 81,
    cudaDevAttrMaxSharedMemoryPerBlockOptin = 97
};
#define cudaStreamNonBlocking 0x01
struct cudaFuncAttributes {
    int maxThreadsPerBlock;
};

namespace emu {

/* device description, set by tests */
inline int g_num_sms = 132;
inline int g_smem_optin = 227 * 1024;
inline int g_smem_per_sm = 228 * 1024;
inline int g_device_count = 1;
inline int g_runtime_version = 13000;
inline int g_driver_version = 13000;
/* dynamic shared memory a kernel may use without cudaFuncSetAttribute */
constexpr int kDefaultDynamicSmem = 48 * 1024;
/* the limits cudaFuncSetAttribute set, by kernel */
inline std::map<const void*, int> g_max_dynamic_smem;
inline std::mutex g_attribute_mutex;
/* set by a block whose size exceeds its kernel's __launch_bounds__ */
inline std::atomic<bool> g_bounds_exceeded{false};
/* kernel faults (see above) */
inline cudaError_t g_fault_next_launch = cudaSuccess;
inline cudaError_t g_pending_fault = cudaSuccess; /* raised by a launch, seen at the next synchronization */
inline cudaError_t g_sticky = cudaSuccess;
/* allocation limit, to test out-of-memory paths (0: none) */
inline size_t g_alloc_limit = 0;
inline int64_t g_launches = 0;

/* dynamic shared memory of the running block: exactly the launch's size, so that address
 * sanitizers see accesses past it */
inline unsigned char* g_smem = nullptr;

inline thread_local uint3 t_thread{0, 0, 0};
inline thread_local uint3 t_block{0, 0, 0};
inline dim3 g_block_dim;
inline dim3 g_grid_dim;
inline std::barrier<>* g_block_barrier = nullptr;
inline std::vector<std::unique_ptr<std::barrier<>>> g_warp_barriers;
inline float g_shfl[1024];
inline std::mutex g_atomic_mutex;

inline int linear_tid() {
    return (int)(t_thread.x + g_block_dim.x * (t_thread.y + g_block_dim.y * t_thread.z));
}

inline void sync_block() { g_block_barrier->arrive_and_wait(); }

inline float shfl_xor(unsigned mask, float v, int lane_mask) {
    if (mask != 0xffffffffu) throw std::logic_error("emulated shuffles need a full mask");
    const int t = linear_tid();
    const int warp = t / 32, lane = t % 32;
    g_shfl[t] = v;
    g_warp_barriers[warp]->arrive_and_wait();
    const float r = g_shfl[warp * 32 + (lane ^ lane_mask)];
    g_warp_barriers[warp]->arrive_and_wait();
    return r;
}

inline void sync_warp() { g_warp_barriers[linear_tid() / 32]->arrive_and_wait(); }

/* mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32, d = A B + c, as a scalar model of its
 * fragments (PTX ISA, "Matrix fragments for mma.m16n8k16 with floating point type"): lane l
 * (group g = l / 4, t = l % 4) holds A (16 x 16, row-major) in a[0..3]: rows g, g + 8, g, g + 8
 * and columns (2t, 2t + 1), (2t, 2t + 1), (2t + 8, 2t + 9), (2t + 8, 2t + 9), two bfloat16 to a
 * word, the lower column in the low half; B (16 x 8) in b[0..1]: column g, rows (2t, 2t + 1) and
 * (2t + 8, 2t + 9); C and D (16 x 8, float32) in c[0..3] and d[0..3]: rows g, g, g + 8, g + 8,
 * columns 2t, 2t + 1, 2t, 2t + 1.  Every lane deposits its fragments, the warp meets, each lane
 * computes its four outputs from all of them (the exact bfloat16 products summed in float32 in
 * column order, then c added: the hardware's order within the instruction is not specified),
 * and the warp meets again before the deposits may be reused. */
inline uint32_t g_mma_a[1024][4];
inline uint32_t g_mma_b[1024][2];

inline float bf16_value(uint32_t word, int half) {
    const uint32_t bits = ((word >> (16 * half)) & 0xffffu) << 16;
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

inline void mma_bf16_m16n8k16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], const float (&c)[4]) {
    const int t = linear_tid();
    const int warp = t / 32, lane = t % 32;
    for (int r = 0; r < 4; ++r) g_mma_a[t][r] = a[r];
    for (int r = 0; r < 2; ++r) g_mma_b[t][r] = b[r];
    g_warp_barriers[warp]->arrive_and_wait();
    const auto A = [&](int row, int k) {
        const int src = warp * 32 + (row % 8) * 4 + (k % 8) / 2;
        return bf16_value(g_mma_a[src][(row >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0)], k % 2);
    };
    const auto B = [&](int k, int col) {
        const int src = warp * 32 + col * 4 + (k % 8) / 2;
        return bf16_value(g_mma_b[src][k >= 8 ? 1 : 0], k % 2);
    };
    float out[4];
    for (int r = 0; r < 4; ++r) {
        const int row = lane / 4 + 8 * (r / 2);
        const int col = 2 * (lane % 4) + r % 2;
        float sum = 0.0f;
        for (int k = 0; k < 16; ++k) sum += A(row, k) * B(k, col);
        out[r] = sum + c[r];
    }
    g_warp_barriers[warp]->arrive_and_wait();
    for (int r = 0; r < 4; ++r) d[r] = out[r];
}

/* Runs a grid: blocks one after the other, the threads of a block concurrently.  Shared memory
 * is filled with NaN before each block so that reads of unwritten shared memory show. */
template <typename Body>
void run_grid(dim3 grid, dim3 block, size_t smem, Body body) {
    const unsigned threads = block.x * block.y * block.z;
    if (threads == 0 || threads > 1024) throw std::logic_error("bad block size");
    if ((int64_t)smem > g_smem_optin) throw std::logic_error("too much shared memory");
    if (threads % 32 != 0) throw std::logic_error("emulated blocks must be whole warps");
    ++g_launches;
    g_block_dim = block;
    g_grid_dim = grid;
    std::barrier<> bar((ptrdiff_t)threads);
    g_block_barrier = &bar;
    g_warp_barriers.clear();
    for (unsigned w = 0; w < threads / 32; ++w) g_warp_barriers.emplace_back(new std::barrier<>(32));
    const size_t smem_alloc = (smem + 15) / 16 * 16;
    std::unique_ptr<unsigned char, void (*)(void*)> buffer(
        static_cast<unsigned char*>(aligned_alloc(16, smem_alloc > 0 ? smem_alloc : 16)), free);
    g_smem = buffer.get();
    /* one thread per CUDA thread for the whole launch; blocks in turn, separated by barriers
     * (thread 0 refills shared memory before each block) */
    const size_t blocks = (size_t)grid.x * grid.y * grid.z;
    std::vector<std::thread> ts;
    ts.reserve(threads);
    for (unsigned t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            t_thread = uint3{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
            for (size_t k = 0; k < blocks; ++k) {
                t_block = uint3{(unsigned)(k % grid.x), (unsigned)((k / grid.x) % grid.y),
                                (unsigned)(k / ((size_t)grid.x * grid.y))};
                if (t == 0) {
                    const float nan = std::nanf("");
                    for (size_t e = 0; e < smem_alloc / sizeof(float); ++e)
                        memcpy(g_smem + e * sizeof(float), &nan, sizeof(float));
                }
                bar.arrive_and_wait();
                body();
                bar.arrive_and_wait();
            }
        });
    }
    for (auto& th : ts) th.join();
    g_block_barrier = nullptr;
    g_smem = nullptr;
}

inline int max_dynamic_smem(const void* kernel) {
    std::lock_guard<std::mutex> lock(g_attribute_mutex);
    const auto it = g_max_dynamic_smem.find(kernel);
    return it == g_max_dynamic_smem.end() ? kDefaultDynamicSmem : it->second;
}

/* At the start of a kernel with __launch_bounds__(max_threads[, min_blocks]): whether the
 * running block is larger (every thread of the block gets the same answer and returns). */
inline bool exceeds_launch_bounds(int max_threads, int = 0) {
    if ((int)(g_block_dim.x * g_block_dim.y * g_block_dim.z) <= max_threads) return false;
    g_bounds_exceeded = true;
    return true;
}

/* A launch: refused with the device's error (for cudaGetLastError) or run. */
template <typename Kernel>
auto launch(Kernel kernel, dim3 grid, dim3 block, size_t smem = 0, cudaStream_t = nullptr) {
    const void* key = reinterpret_cast<const void*>(kernel);
    return [=](auto... args) {
        if (g_sticky != cudaSuccess) {
            emu_last_error() = g_sticky;
            return;
        }
        const size_t threads = (size_t)block.x * block.y * block.z;
        if (threads == 0 || threads > 1024 || (size_t)grid.x * grid.y * grid.z == 0) {
            emu_last_error() = cudaErrorInvalidConfiguration;
            return;
        }
        if ((int64_t)smem > max_dynamic_smem(key) || (int64_t)smem > g_smem_optin) {
            emu_last_error() = cudaErrorInvalidValue;
            return;
        }
        g_bounds_exceeded = false;
        run_grid(grid, block, smem, [&] { kernel(args...); });
        if (g_bounds_exceeded) emu_last_error() = cudaErrorLaunchOutOfResources;
        if (g_fault_next_launch != cudaSuccess) {
            g_pending_fault = g_fault_next_launch;
            g_fault_next_launch = cudaSuccess;
        }
    };
}

} // namespace emu

#define threadIdx (emu::t_thread)
#define blockIdx (emu::t_block)
#define blockDim (emu::g_block_dim)
#define gridDim (emu::g_grid_dim)

inline void __syncthreads() { emu::sync_block(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) {
    if (mask != 0xffffffffu) throw std::logic_error("emulated warp barriers need a full mask");
    emu::sync_warp();
}
inline float __shfl_xor_sync(unsigned mask, float v, int lane_mask) {
    return emu::shfl_xor(mask, v, lane_mask);
}
inline unsigned long long atomicMin(unsigned long long* p, unsigned long long v) {
    std::lock_guard<std::mutex> lock(emu::g_atomic_mutex);
    const unsigned long long old = *p;
    if (v < old) *p = v;
    return old;
}

inline cudaError_t cudaGetLastError() {
    if (emu::g_sticky != cudaSuccess) return emu::g_sticky;
    const cudaError_t e = emu_last_error();
    emu_last_error() = cudaSuccess;
    return e;
}
inline const char* cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    default: return "emulated error";
    }
}
inline const char* cudaGetErrorName(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    default: return "cudaErrorEmulated";
    }
}
inline cudaError_t cudaGetDeviceCount(int* c) {
    *c = emu::g_device_count;
    return emu::g_device_count > 0 ? cudaSuccess : cudaErrorInvalidValue;
}
inline cudaError_t cudaSetDevice(int) { return cudaSuccess; }
inline cudaError_t cudaRuntimeGetVersion(int* v) {
    *v = emu::g_runtime_version;
    return cudaSuccess;
}
inline cudaError_t cudaDriverGetVersion(int* v) {
    *v = emu::g_driver_version;
    return cudaSuccess;
}
inline cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr a, int) {
    switch (a) {
    case cudaDevAttrMultiProcessorCount: *v = emu::g_num_sms; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *v = emu::g_smem_optin; break;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor: *v = emu::g_smem_per_sm; break;
    case cudaDevAttrComputeCapabilityMajor: *v = 9; break;
    case cudaDevAttrComputeCapabilityMinor: *v = 0; break;
    }
    return cudaSuccess;
}
template <typename F>
cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* a, F) {
    a->maxThreadsPerBlock = 1024;
    return cudaSuccess;
}
template <typename F>
cudaError_t cudaFuncSetAttribute(F kernel, cudaFuncAttribute a, int v) {
    if (a == cudaFuncAttributeMaxDynamicSharedMemorySize) {
        if (v < 0 || v > emu::g_smem_optin) {
            emu_last_error() = cudaErrorInvalidValue;
            return cudaErrorInvalidValue;
        }
        std::lock_guard<std::mutex> lock(emu::g_attribute_mutex);
        emu::g_max_dynamic_smem[reinterpret_cast<const void*>(kernel)] = v;
    }
    return cudaSuccess;
}
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
    *s = reinterpret_cast<cudaStream_t>(new int(0));
    return cudaSuccess;
}
inline cudaError_t cudaStreamDestroy(cudaStream_t s) {
    delete reinterpret_cast<int*>(s);
    return cudaSuccess;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t) {
    if (emu::g_pending_fault != cudaSuccess) {
        emu::g_sticky = emu::g_pending_fault;
        emu::g_pending_fault = cudaSuccess;
    }
    return emu::g_sticky;
}
inline cudaError_t cudaMalloc(void** p, size_t bytes) {
    if (emu::g_sticky != cudaSuccess) return emu::g_sticky;
    if (emu::g_alloc_limit != 0 && bytes > emu::g_alloc_limit) {
        emu_last_error() = cudaErrorMemoryAllocation;
        return cudaErrorMemoryAllocation;
    }
    *p = aligned_alloc(256, (bytes + 255) / 256 * 256);
    return *p != nullptr ? cudaSuccess : cudaErrorMemoryAllocation;
}
inline cudaError_t cudaMallocHost(void** p, size_t bytes) { return cudaMalloc(p, bytes); }
inline cudaError_t cudaFree(void* p) {
    free(p);
    return emu::g_sticky;
}
inline cudaError_t cudaFreeHost(void* p) { return cudaFree(p); }
inline cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind, cudaStream_t) {
    if (emu::g_sticky != cudaSuccess) return emu::g_sticky;
    if (n > 0) memmove(d, s, n); /* a copy of 0 bytes may name NULL, as CUDA allows */
    return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* d, int v, size_t n, cudaStream_t) {
    if (emu::g_sticky != cudaSuccess) return emu::g_sticky;
    if (n > 0) memset(d, v, n);
    return cudaSuccess;
}

#endif
