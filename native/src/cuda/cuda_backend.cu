/*
 * cuda_backend.cu -- the CUDA backend of the native core: contexts, memory, and the launches of
 * the kernels in kernels.cuh and mlp_kernels.cuh; fills the CUDA table of operations (cuda_ops(),
 * internal.h).
 *
 * Every entry point makes the context's device current first (the caller may be on any
 * thread), queues its work on the context's non-blocking stream, and reports every CUDA error
 * through l2l::fail.  step, backward and meta_loss_grads do not synchronize: the caller does
 * when it reads results.  mem_copy, find_non_finite and find_bad_index complete before
 * returning.
 *
 * Kernel shapes:
 *   step      one launch per group of up to 32 nonzero-size tensors; one thread per
 *             coordinate (grid-stride); packed phi in dynamic shared memory.
 *   backward  one launch: block b owns partial row b, made of tiles_per_row consecutive tiles
 *             of T coordinates (T = 128 for the fixed 2 x 20 kernel; 128, 64 or 32 for the
 *             generic one, by the model and the device's shared memory); then one reduction
 *             launch summing the rows in a fixed order in float64.  Rows, tiles and every
 *             summation order depend on n, the model and the device only: dphi is bitwise
 *             reproducible run to run on the same machine.
 *
 *   MLP optimizee kernels (mlp_kernels.cuh): grid-stride element-wise launches; the gather one
 *             block per minibatch row; the bias gradient and the loss one block per instance.
 *
 * Errors: a launch's configuration error is reported by the call that launched it; a kernel's
 * fault on the device (an illegal address, say) reaches the host only at the next synchronizing
 * call, whose message says that it comes from earlier asynchronous work.  After such a fault the
 * CUDA context is unusable: every later call says that it failed earlier, and freeing and
 * destroying still release what they can.  With L2L_CUDA_SYNC=1 (a debugging mode: host and
 * device then run in turn) every launch is followed by a synchronization, so that a fault is
 * reported by the call that launched the kernel, under the kernel's name.
 *
 * Subnormals: the kernels keep them (compiled without -ftz; why in cmake/L2lCuda.cmake), where
 * the CPU backend flushes them (l2l.h, "Floating-point mode").
 *
 * Tests: tests/cuda (run_emu.sh runs them without a GPU over an emulated runtime, run_gpu.sh on
 * a GPU).
 */
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <new>
#include <type_traits>

#include "internal.h"
#include "kernels.cuh"
#include "mlp_kernels.cuh"

namespace l2l {
namespace cuda {

namespace {

using detail::BwdParams;
using detail::Geometry;
using detail::StepParams;
using detail::kBwdFixedThreads;
using detail::kMaxTensorsPerLaunch;
using detail::kReduceSegments;
using detail::kStepThreads;
using detail::kWarp;
using detail::odd_quads;
using detail::round4;

/* Rows of dphi partials: tiles are grouped so that there are at most kTargetRows rows while a
 * row stays within kReductionChunk coordinates (then rows = n / kReductionChunk).  Overridable
 * at compile time only so that tests can reach several tiles per row with small n. */
#ifndef L2L_CUDA_TARGET_ROWS
#define L2L_CUDA_TARGET_ROWS 1024
#endif
constexpr int64_t kTargetRows = L2L_CUDA_TARGET_ROWS;

/* The backend state of a CUDA context (l2l_context::backend); trivially destructible, so that
 * release() frees it. */
struct Backend {
    int device = 0;
    cudaStream_t stream = nullptr;
    int num_sms = 1;
    size_t smem_optin = 48 * 1024;   /* max dynamic shared memory per block (opt-in) */
    size_t smem_per_sm = 64 * 1024;  /* shared memory per multiprocessor */
    unsigned long long* d_first = nullptr;  /* finite-check result (device) */
    unsigned long long* h_first = nullptr;  /* and its pinned host copy */
    double* workspace = nullptr;     /* dphi partial rows */
    size_t workspace_bytes = 0;
    bool force_generic = false;      /* test hook: run the generic kernels for every model */
    bool sync_launches = false;      /* L2L_CUDA_SYNC=1: synchronize and check after every launch */
    char failure[160] = {};          /* the first error that left the context unusable */
    static constexpr int kMaxPrepared = 16;
    const void* prepared[kMaxPrepared] = {}; /* kernels whose attributes are set */
    int num_prepared = 0;
};

static_assert(std::is_trivially_destructible<Backend>::value, "Backend is freed by release()");

Backend* backend_of(const l2l_context* ctx) { return static_cast<Backend*>(ctx->backend); }

int32_t cuda_error(cudaError_t e, const char* what) {
    (void)cudaGetLastError(); /* clear a non-sticky error so later checks do not see it */
    const int32_t status = e == cudaErrorMemoryAllocation ? L2L_ERR_OUT_OF_MEMORY : L2L_ERR_CUDA;
    return fail(status, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

/* Makes the context's device current. */
int32_t enter(l2l_context* ctx, Backend** out) {
    Backend* b = backend_of(ctx);
    const cudaError_t e = cudaSetDevice(b->device);
    if (e != cudaSuccess) return cuda_error(e, "cudaSetDevice");
    *out = b;
    return L2L_OK;
}

/* Errors after which the CUDA context is unusable and every later call returns them: faults of
 * a kernel on the device, which reach the host at the next synchronizing call. */
bool is_sticky(cudaError_t e) {
    switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchTimeout:
    case cudaErrorAssert:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorLaunchFailure:
        return true;
    default:
        return false;
    }
}

/* The error of a call on a context.  A sticky one is not this call's: the first says that it
 * comes from earlier asynchronous work (unless L2L_CUDA_SYNC=1 caught it right after its
 * launch, named by what), later ones that the context failed before. */
int32_t context_error(Backend* b, cudaError_t e, const char* what, bool after_launch = false) {
    if (!is_sticky(e)) return cuda_error(e, what);
    (void)cudaGetLastError();
    if (b->failure[0] != '\0')
        return fail(L2L_ERR_CUDA, "%s: the CUDA context failed earlier (%s) and is unusable: close it",
                    what, b->failure);
    snprintf(b->failure, sizeof b->failure, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
    if (after_launch)
        return fail(L2L_ERR_CUDA, "%s: the kernel failed on the device: %s (%s), found by L2L_CUDA_SYNC=1 "
                    "right after its launch; the context is unusable: close it",
                    what, cudaGetErrorString(e), cudaGetErrorName(e));
    return fail(L2L_ERR_CUDA, "%s: %s (%s), from earlier asynchronous work on this context (a kernel's "
                "fault reaches the host at the next synchronizing call; L2L_CUDA_SYNC=1 checks after "
                "every launch and names the kernel); the context is unusable: close it",
                what, cudaGetErrorString(e), cudaGetErrorName(e));
}

/* After a launch: its configuration error, and with L2L_CUDA_SYNC=1 its execution's. */
int32_t check_launch(Backend* b, const char* what) {
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return context_error(b, e, what);
    if (b->sync_launches) {
        e = cudaStreamSynchronize(b->stream);
        if (e != cudaSuccess) return context_error(b, e, what, true);
    }
    return L2L_OK;
}

/* Opts a kernel in to the device's largest dynamic shared memory (needed above 48 KB; the
 * same value for every caller, so contexts on other threads cannot undo it), and with
 * prefer_shared asks for the largest shared-memory carveout so that several blocks of a
 * shared-memory-bound kernel fit on one SM.  Done once per kernel and context. */
template <typename Kernel>
int32_t prepare_kernel(Backend* b, Kernel kernel, bool prefer_shared, const char* what) {
    const void* key = reinterpret_cast<const void*>(kernel);
    for (int k = 0; k < b->num_prepared; ++k)
        if (b->prepared[k] == key) return L2L_OK;
    cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         (int)b->smem_optin);
    if (e != cudaSuccess) return cuda_error(e, what);
    if (prefer_shared) {
        e = cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                                 (int)cudaSharedmemCarveoutMaxShared);
        if (e != cudaSuccess) return cuda_error(e, what);
    }
    if (b->num_prepared < Backend::kMaxPrepared) b->prepared[b->num_prepared++] = key;
    return L2L_OK;
}

Geometry make_geometry(const l2l_model* m) {
    Geometry g;
    memset(&g, 0, sizeof g);
    g.L = m->num_layers;
    g.in0 = m->in0;
    g.out_in = m->out_in;
    int32_t pbase = 0, sum_h = 0;
    for (int l = 0; l < g.L; ++l) {
        const l2l_layer& ly = m->layers[l];
        g.in[l] = ly.in;
        g.h[l] = ly.width;
        g.k4[l] = round4(1 + ly.in + ly.width);
        g.pbase[l] = pbase;
        g.hrow[l] = (int32_t)ly.h_row;
        g.hoff[l] = sum_h;
        g.w_ih[l] = ly.w_ih;
        g.w_hh[l] = ly.w_hh;
        g.b_ih[l] = ly.b_ih;
        g.b_hh[l] = ly.b_hh;
        pbase += 4 * ly.width * g.k4[l];
        sum_h += ly.width;
        if (ly.width > g.max_h) g.max_h = ly.width;
        if (g.k4[l] > g.max_k4) g.max_k4 = g.k4[l];
    }
    g.sum_h = sum_h;
    g.pout = pbase;
    g.p4 = pbase + round4(1 + g.out_in);
    g.S = (int32_t)m->state_rows;
    g.R = 1 + g.S;
    g.w_out = m->w_out;
    g.b_out = m->b_out;
    g.phi_size = m->phi_size;
    g.scale = m->output_scale;
    g.pre = m->pre;
    return g;
}

/* ---- kernel selection ------------------------------------------------------------------- */

/* The fixed-width kernels: two layers of 20 units (the paper's optimizer, section 3),
 * log-and-sign (2 inputs) or identity (1 input) preprocessing. */
constexpr int kFixedH = 20;
constexpr int kFixedL = 2;

int fixed_in0(const Backend* b, const l2l_model* m) {
    if (b->force_generic || m->num_layers != kFixedL) return 0;
    for (int l = 0; l < kFixedL; ++l)
        if (m->layers[l].width != kFixedH) return 0;
    return (m->in0 == 1 || m->in0 == 2) ? m->in0 : 0;
}

template <int IN0>
bool fixed_geometry_matches(const Geometry& g) {
    using F = detail::FixedShape<IN0, kFixedH, kFixedL>;
    if (g.p4 != F::p4 || g.pout != F::pout || g.S != F::S) return false;
    for (int l = 0; l < kFixedL; ++l)
        if (g.pbase[l] != F::pbase(l) || g.k4[l] != F::K4(l) || g.hrow[l] != F::hrow(l)) return false;
    return true;
}

template <int IN0>
constexpr size_t fixed_bwd_smem() {
    using F = detail::FixedShape<IN0, kFixedH, kFixedL>;
    return sizeof(float) * (size_t)(2 * F::p4 + kBwdFixedThreads * (F::rs + F::cs) +
                                    (kBwdFixedThreads / kWarp) * F::osp);
}

struct GenericBwdShape {
    int T;
    int rs, cs, osp;
    size_t smem;
};

GenericBwdShape generic_bwd_shape(const Geometry& g, int T) {
    GenericBwdShape s;
    s.T = T;
    s.rs = odd_quads(4 * g.max_h);
    s.cs = odd_quads(g.max_k4);
    s.osp = round4(1 + g.out_in);
    const int64_t vec_rows = 2 * (int64_t)g.sum_h + g.max_h + (g.L > 0 ? g.sum_h - g.h[g.L - 1] : 0);
    s.smem = sizeof(float) * (size_t)(2 * (int64_t)g.p4 + (int64_t)T * (s.rs + s.cs) +
                                      (int64_t)(T / kWarp) * s.osp + vec_rows * T);
    return s;
}

size_t generic_step_smem(const Geometry& g, int cs, int T) {
    return sizeof(float) * (size_t)(g.p4 + (g.L > 0 ? 2 * (int64_t)T * cs : 0));
}

/* Block size of a generic kernel: among {128, 64, 32} the one that fits the most threads per
 * SM given its shared memory (the larger block on a tie); 0 if none fits in a block.  The
 * generic kernels use up to 128 registers: at most 512 threads per SM. */
template <typename SmemOf>
int choose_threads(SmemOf smem_of, const Backend* b) {
    const int sizes[3] = {128, 64, 32};
    const int64_t max_threads_per_sm = 512;
    int best = 0;
    int64_t best_threads = 0;
    for (int T : sizes) {
        const size_t smem = smem_of(T);
        if (smem > b->smem_optin) continue;
        /* about 1 KB per block is reserved by the system */
        int64_t blocks = (int64_t)(b->smem_per_sm / (smem + 1024));
        if (blocks < 1) blocks = 1;
        if (blocks * T > max_threads_per_sm) blocks = max_threads_per_sm / T;
        if (blocks * T > best_threads) {
            best = T;
            best_threads = blocks * T;
        }
    }
    return best;
}

/* cudaMalloc and cudaMallocHost, counted by the fault-injection switch of l2l_testing.h (an
 * injected failure reads as the runtime's out-of-memory error). */
cudaError_t device_alloc(void** p, size_t bytes) {
    return allocation_fails() ? cudaErrorMemoryAllocation : cudaMalloc(p, bytes);
}

cudaError_t pinned_alloc(void** p, size_t bytes) {
    return allocation_fails() ? cudaErrorMemoryAllocation : cudaMallocHost(p, bytes);
}

int32_t ensure_workspace(Backend* b, size_t bytes) {
    if (bytes <= b->workspace_bytes) return L2L_OK;
    if (b->workspace != nullptr) {
        /* the previous backward's reduction may still read it */
        const cudaError_t e = cudaStreamSynchronize(b->stream);
        const cudaError_t f = cudaFree(b->workspace);
        b->workspace = nullptr;
        b->workspace_bytes = 0;
        if (e != cudaSuccess) return context_error(b, e, "backward: cudaStreamSynchronize");
        if (f != cudaSuccess) return context_error(b, f, "backward: cudaFree(workspace)");
    }
    void* p = nullptr;
    const cudaError_t e = device_alloc(&p, bytes);
    if (e != cudaSuccess) return context_error(b, e, "backward: cudaMalloc(workspace)");
    b->workspace = static_cast<double*>(p);
    b->workspace_bytes = bytes;
    return L2L_OK;
}

int grid_for(int64_t work, int threads, const Backend* b, int blocks_per_sm) {
    int64_t blocks = (work + threads - 1) / threads;
    const int64_t cap = (int64_t)b->num_sms * blocks_per_sm;
    if (blocks > cap) blocks = cap;
    if (blocks < 1) blocks = 1;
    return (int)blocks;
}

/* ---- devices and contexts ----------------------------------------------------------------- */

int32_t versions(int32_t* runtime, int32_t* driver) {
    int r = 0, d = 0;
    cudaError_t e = cudaRuntimeGetVersion(&r);
    if (e == cudaSuccess) e = cudaDriverGetVersion(&d);
    (void)cudaGetLastError();
    *runtime = r;
    *driver = d;
    if (e != cudaSuccess)
        return fail(L2L_ERR_NO_CUDA, "cannot read the CUDA versions: %s (%s)", cudaGetErrorString(e),
                    cudaGetErrorName(e));
    return L2L_OK;
}

/* NO_CUDA, with a message that says which, when the installed driver cannot run this library's
 * CUDA runtime: no driver at all (version 0) or one older than the runtime; L2L_OK otherwise
 * (also when the versions cannot be read: the call that needs the driver then fails itself). */
int32_t check_driver() {
    int32_t runtime = 0, driver = 0;
    if (versions(&runtime, &driver) != L2L_OK) return L2L_OK;
    if (driver == 0)
        return fail(L2L_ERR_NO_CUDA, "no CUDA driver is installed (this library's CUDA runtime is %d.%d)",
                    runtime / 1000, runtime % 1000 / 10);
    if (driver < runtime)
        return fail(L2L_ERR_NO_CUDA,
                    "the CUDA driver supports CUDA %d.%d, older than the runtime %d.%d this library "
                    "was built with: install a newer driver",
                    driver / 1000, driver % 1000 / 10, runtime / 1000, runtime % 1000 / 10);
    return L2L_OK;
}

int32_t device_count(int32_t* count) {
    *count = 0;
    const int32_t driver = check_driver();
    if (driver != L2L_OK) return driver;
    int c = 0;
    const cudaError_t e = cudaGetDeviceCount(&c);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return fail(L2L_ERR_NO_CUDA, "no usable CUDA device: cudaGetDeviceCount: %s (%s, %d)",
                    cudaGetErrorString(e), cudaGetErrorName(e), (int)e);
    }
    if (c <= 0) return fail(L2L_ERR_NO_CUDA, "no CUDA device present");
    *count = c;
    return L2L_OK;
}


int32_t create(l2l_context* ctx, int32_t device) {
    int32_t count = 0;
    const int32_t st = device_count(&count);
    if (st != L2L_OK) return st;
    if (device < 0 || device >= count)
        return fail(L2L_ERR_INVALID_ARGUMENT, "CUDA device %d out of range (%d devices)", device,
                    count);
    cudaError_t e = cudaSetDevice(device);
    if (e != cudaSuccess) return cuda_error(e, "cudaSetDevice");

    /* Kernels exist for compute capability 8.x and 9.0 (plus PTX for newer devices). */
    cudaFuncAttributes fa;
    e = cudaFuncGetAttributes(&fa, detail::meta_loss_kernel);
    if (e != cudaSuccess) {
        int major = 0, minor = 0;
        (void)cudaGetLastError();
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device);
        (void)cudaGetLastError();
        return fail(L2L_ERR_NO_CUDA,
                    "CUDA device %d (compute capability %d.%d) cannot run this library's kernels "
                    "(built for sm_80, sm_90 and compute_90): %s",
                    device, major, minor, cudaGetErrorString(e));
    }

    void* memory = allocate(sizeof(Backend));
    if (memory == nullptr) return fail(L2L_ERR_OUT_OF_MEMORY, "cannot allocate the CUDA context");
    Backend* b = new (memory) Backend();
    b->device = device;
    const char* force = getenv("L2L_CUDA_FORCE_GENERIC");
    b->force_generic = force != nullptr && force[0] != '\0' && force[0] != '0';
    const char* sync = getenv("L2L_CUDA_SYNC");
    b->sync_launches = sync != nullptr && strcmp(sync, "1") == 0;

    int sms = 0, optin = 0, per_sm = 0;
    e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&per_sm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, device);
    if (e != cudaSuccess) {
        release(b);
        return cuda_error(e, "cudaDeviceGetAttribute");
    }
    b->num_sms = sms > 0 ? sms : 1;
    b->smem_optin = (size_t)optin;
    b->smem_per_sm = (size_t)per_sm;

    e = cudaStreamCreateWithFlags(&b->stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        release(b);
        return cuda_error(e, "cudaStreamCreateWithFlags");
    }
    void* p = nullptr;
    e = device_alloc(&p, sizeof(unsigned long long));
    if (e == cudaSuccess) {
        b->d_first = static_cast<unsigned long long*>(p);
        e = pinned_alloc(&p, sizeof(unsigned long long));
        if (e == cudaSuccess) b->h_first = static_cast<unsigned long long*>(p);
    }
    if (e != cudaSuccess) {
        const int32_t r = cuda_error(e, "context scratch allocation");
        if (b->d_first != nullptr) cudaFree(b->d_first);
        cudaStreamDestroy(b->stream);
        (void)cudaGetLastError();
        release(b);
        return r;
    }
    ctx->backend = b;
    return L2L_OK;
}

/* Releases everything, also after an error that left the context unusable (each call is tried). */
void destroy(l2l_context* ctx) {
    Backend* b = backend_of(ctx);
    (void)cudaSetDevice(b->device);
    (void)cudaStreamSynchronize(b->stream);
    if (b->workspace != nullptr) (void)cudaFree(b->workspace);
    if (b->d_first != nullptr) (void)cudaFree(b->d_first);
    if (b->h_first != nullptr) (void)cudaFreeHost(b->h_first);
    (void)cudaStreamDestroy(b->stream);
    (void)cudaGetLastError();
    release(b);
    ctx->backend = nullptr;
}

void* stream(const l2l_context* ctx) { return static_cast<void*>(backend_of(ctx)->stream); }

/* ---- the CPU-only operations ----------------------------------------------------------------- */

int32_t no_threads(const l2l_context*) { return -1; }

int32_t set_threads(l2l_context*, int32_t) {
    return fail(L2L_ERR_WRONG_CONTEXT, "a CUDA context has no thread count");
}

const char* no_cpu_isa(const l2l_context*) { return nullptr; }

int32_t set_cpu_isa(l2l_context*, const char*) {
    return fail(L2L_ERR_WRONG_CONTEXT, "a CUDA context has no CPU kernels");
}

const char* no_cpu_isas() { return nullptr; }

/* ---- memory ------------------------------------------------------------------------------- */

int32_t mem_alloc(l2l_context* ctx, int64_t bytes, void** out) {
    Backend* b = nullptr;
    int32_t st = enter(ctx, &b);
    if (st != L2L_OK) return st;
    void* p = nullptr;
    const cudaError_t e = device_alloc(&p, (size_t)bytes); /* 256-byte aligned */
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        const int32_t status = e == cudaErrorMemoryAllocation ? L2L_ERR_OUT_OF_MEMORY : L2L_ERR_CUDA;
        return fail(status, "cudaMalloc of %lld bytes on device %d: %s", (long long)bytes,
                    b->device, cudaGetErrorString(e));
    }
    *out = p;
    return L2L_OK;
}

int32_t mem_free(l2l_context* ctx, void* ptr) {
    Backend* b = nullptr;
    int32_t st = enter(ctx, &b);
    if (st != L2L_OK) return st;
    /* work queued on the context may still use the buffer; after a failure of that work the
     * buffer is released all the same */
    const cudaError_t e = cudaStreamSynchronize(b->stream);
    const cudaError_t f = cudaFree(ptr);
    if (e != cudaSuccess) return context_error(b, e, "free: cudaStreamSynchronize");
    if (f != cudaSuccess) return context_error(b, f, "cudaFree");
    return L2L_OK;
}

int32_t mem_copy(l2l_context* ctx, void* dst, const void* src, int64_t bytes, int32_t kind) {
    Backend* b = nullptr;
    int32_t st = enter(ctx, &b);
    if (st != L2L_OK) return st;
    const cudaMemcpyKind k = kind == L2L_COPY_HOST_TO_CONTEXT   ? cudaMemcpyHostToDevice
                             : kind == L2L_COPY_CONTEXT_TO_HOST ? cudaMemcpyDeviceToHost
                                                                : cudaMemcpyDeviceToDevice;
    cudaError_t e = cudaMemcpyAsync(dst, src, (size_t)bytes, k, b->stream);
    if (e != cudaSuccess) return context_error(b, e, "cudaMemcpyAsync");
    e = cudaStreamSynchronize(b->stream);
    if (e != cudaSuccess) return context_error(b, e, "memcpy: cudaStreamSynchronize");
    return L2L_OK;
}

/* Queued on the context's stream (ordered before later work of the context). */
int32_t mem_zero(l2l_context* ctx, void* ptr, int64_t bytes) {
    Backend* b = nullptr;
    int32_t st = enter(ctx, &b);
    if (st != L2L_OK) return st;
    const cudaError_t e = cudaMemsetAsync(ptr, 0, (size_t)bytes, b->stream);
    if (e != cudaSuccess) return context_error(b, e, "cudaMemsetAsync");
    return L2L_OK;
}

int32_t synchronize(l2l_context* ctx) {
    Backend* b = nullptr;
    int32_t st = enter(ctx, &b);
    if (st != L2L_OK) return st;
    const cudaError_t e = cudaStreamSynchronize(b->stream);
    if (e != cudaSuccess) return context_error(b, e, "cudaStreamSynchronize");
    return L2L_OK;
}

/* ---- finite check ------------------------------------------------------------------------- */

int32_t find_non_finite(l2l_context* ctx, const float* p, int64_t count, int64_t* index) {
    Backend* b = nullptr;
    int32_t st = enter(ctx, &b);
    if (st != L2L_OK) return st;
    *index = -1;
    cudaError_t e = cudaMemsetAsync(b->d_first, 0xff, sizeof(unsigned long long), b->stream);
    if (e != cudaSuccess) return context_error(b, e, "finite check: cudaMemsetAsync");
    (void)cudaGetLastError();
    detail::non_finite_kernel<<<grid_for(count, 256, b, 16), 256, 0, b->stream>>>(p, count,
                                                                                   b->d_first);
    st = check_launch(b, "finite check: kernel launch");
    if (st != L2L_OK) return st;
    e = cudaMemcpyAsync(b->h_first, b->d_first, sizeof(unsigned long long),
                        cudaMemcpyDeviceToHost, b->stream);
    if (e != cudaSuccess) return context_error(b, e, "finite check: cudaMemcpyAsync");
    e = cudaStreamSynchronize(b->stream);
    if (e != cudaSuccess) return context_error(b, e, "finite check: cudaStreamSynchronize");
    const unsigned long long first = *b->h_first;
    *index = first == ~0ull ? -1 : (int64_t)first;
    return L2L_OK;
}

/* ---- step --------------------------------------------------------------------------------- */

/* The kernel parameters of a step: the geometry and the call's buffers (the tensor table is
 * filled per launch). */
StepParams step_params(const StepArgs& a) {
    StepParams p;
    memset(&p, 0, sizeof p);
    p.g = make_geometry(a.m);
    p.phi = a.phi;
    p.state = a.state;
    p.record = a.record;
    p.n = a.n;
    return p;
}

/* The kernel parameters of a backward pass: the geometry and the call's buffers (the shape of
 * the tiles and partial rows is set by the caller). */
BwdParams bwd_params(const BackwardArgs& a) {
    BwdParams p;
    memset(&p, 0, sizeof p);
    p.g = make_geometry(a.m);
    p.phi = a.phi;
    p.record = a.record;
    p.dloss = a.dloss_ddelta;
    p.dstate_final = a.dstate_final;
    p.dstate_initial = a.dstate_initial;
    p.dx = a.dx;
    p.n = a.n;
    p.steps = a.steps;
    return p;
}

/* Calls launch(p) for each group of up to 32 nonzero-size tensors of the step, p's tensor table
 * filled with the group's; stops at the first failure. */
template <typename Launch>
int32_t for_tensor_groups(const StepArgs& a, StepParams& p, const Launch& launch) {
    int64_t offset = 0;
    int32_t k = 0;
    while (k < a.num_tensors) {
        p.count = 0;
        p.begin = offset;
        while (k < a.num_tensors && p.count < kMaxTensorsPerLaunch) {
            const int64_t size = a.sizes[k];
            if (size > 0) {
                p.off[p.count] = offset;
                p.theta[p.count] = a.theta[k];
                p.grad[p.count] = a.grad[k];
                ++p.count;
                offset += size;
            }
            ++k;
        }
        p.end = offset;
        if (p.count == 0) break;
        for (int32_t t = p.count; t < kMaxTensorsPerLaunch; ++t) {
            p.off[t] = p.end;
            p.theta[t] = p.theta[p.count - 1];
            p.grad[t] = p.grad[p.count - 1];
        }
        const int32_t st = launch(static_cast<const StepParams&>(p));
        if (st != L2L_OK) return st;
    }
    return L2L_OK;
}

/* Replaces each of `count` rows (stride n) of `rows` by its means over segments (gac_average);
 * with carry, the averaging units' gradients. */
int32_t average_rows(Backend* b, float* rows, float* carry, int32_t count, int64_t n, int64_t segment,
                     const char* what) {
    const int64_t segments = n / segment;
    if (segments > 0x7fffffff)
        return fail(L2L_ERR_INVALID_ARGUMENT, "%s: %lld segments are too many for the CUDA backend", what,
                    (long long)segments);
    (void)cudaGetLastError();
    detail::gac_average<<<dim3((unsigned)segments, (unsigned)count), detail::kAverageThreads, 0, b->stream>>>(
        rows, carry, n, segment);
    return check_launch(b, what);
}

/* The shared memory of the layer passes' kernels: the generic backward pass's tiles without
 * its per-thread vectors, plus two rows per thread as wide as the widest layer input (the new
 * carried dh and dL/du of gac_layer_backward) and the warps' bfloat16 product tiles (8 floats
 * per thread; detail::bf16_tiles_offset). */
GenericBwdShape averaging_shape(const Geometry& g, int T) {
    GenericBwdShape s = generic_bwd_shape(g, T);
    const int64_t own_rows = 2 * (int64_t)(g.max_h > g.in0 ? g.max_h : g.in0);
    s.smem = sizeof(float) * (size_t)(2 * (int64_t)g.p4 + (int64_t)T * (s.rs + s.cs) +
                                      (int64_t)(T / kWarp) * s.osp + own_rows * T + 8 * (int64_t)T);
    return s;
}

/* The block size of the averaging models' kernels (one for all of them, so that every launch
 * of a backward pass adds into the same partial rows of dphi); 0, with the message, when the
 * model does not fit in a block. */
int averaging_threads(const Backend* b, const Geometry& g, const char* what) {
    const int threads = choose_threads([&](int T) { return averaging_shape(g, T).smem; }, b);
    if (threads == 0)
        fail(L2L_ERR_INVALID_ARGUMENT,
             "model too large for the CUDA %s: it needs %lld bytes of shared memory per block, the "
             "device allows %lld",
             what, (long long)averaging_shape(g, 32).smem, (long long)b->smem_optin);
    return threads;
}

/* The step of a model with global averaging cells or bfloat16 products: layer by layer over all
 * coordinates, the averaging units' h replaced by their segment means after each layer, then the
 * output layer. */
int32_t averaging_step(Backend* b, const StepArgs& a) {
    const l2l_model* m = a.m;
    StepParams p = step_params(a);
    p.cs = odd_quads(p.g.max_k4);
    const int threads = averaging_threads(b, p.g, "step");
    if (threads == 0) return L2L_ERR_INVALID_ARGUMENT;
    const size_t smem = sizeof(float) * (size_t)(p.g.p4 + (int64_t)threads * (p.cs + 8));
    void (*layer)(StepParams, int) =
        m->bf16_products ? (m->in0 == 1 ? detail::gac_layer_step<1, true> : detail::gac_layer_step<2, true>)
                         : (m->in0 == 1 ? detail::gac_layer_step<1, false> : detail::gac_layer_step<2, false>);
    int32_t st = prepare_kernel(b, layer, false, "step: cudaFuncSetAttribute");
    if (st == L2L_OK) st = prepare_kernel(b, detail::gac_output_step, false, "step: cudaFuncSetAttribute");
    for (int l = 0; l < m->num_layers && st == L2L_OK; ++l) {
        st = for_tensor_groups(a, p, [&](const StepParams& q) {
            (void)cudaGetLastError();
            layer<<<grid_for(q.end - q.begin, threads, b, 8), threads, smem, b->stream>>>(q, l);
            return check_launch(b, "step: layer launch");
        });
        const l2l_layer& L = m->layers[l];
        if (st == L2L_OK && L.gac > 0)
            st = average_rows(b, a.state + L.h_row * a.n, nullptr, L.gac, a.n, a.segment, "step: averages");
        p.record = nullptr; /* layer 0's launches wrote it */
    }
    if (st != L2L_OK) return st;
    const size_t phi_smem = sizeof(float) * (size_t)p.g.p4;
    return for_tensor_groups(a, p, [&](const StepParams& q) {
        (void)cudaGetLastError();
        detail::gac_output_step<<<grid_for(q.end - q.begin, threads, b, 8), threads, phi_smem, b->stream>>>(q);
        return check_launch(b, "step: output launch");
    });
}


int32_t step(l2l_context* ctx, const StepArgs& a) {
    Backend* b = nullptr;
    int32_t st = enter(ctx, &b);
    if (st != L2L_OK) return st;
    if (a.m->averaging || a.m->bf16_products) return averaging_step(b, a);
    const l2l_model* m = a.m;
    StepParams p = step_params(a);

    const int in0 = fixed_in0(b, m);
    void (*kernel)(StepParams) = nullptr;
    int threads = 0;
    size_t smem = 0;
    if (in0 == 1 && fixed_geometry_matches<1>(p.g)) {
        kernel = detail::step_fixed<1, kFixedH, kFixedL>;
    } else if (in0 == 2 && fixed_geometry_matches<2>(p.g)) {
        kernel = detail::step_fixed<2, kFixedH, kFixedL>;
    }
    if (kernel != nullptr) {
        threads = kStepThreads;
        smem = sizeof(float) * (size_t)p.g.p4;
    } else {
        kernel = m->in0 == 1 ? detail::step_generic<1> : detail::step_generic<2>;
        p.cs = p.g.L > 0 ? odd_quads(p.g.max_k4) : 0;
        const Geometry& g = p.g;
        const int cs = p.cs;
        threads = choose_threads([&](int T) { return generic_step_smem(g, cs, T); }, b);
        if (threads == 0)
            return fail(L2L_ERR_INVALID_ARGUMENT,
                        "model too large for the CUDA step: its packed phi needs %lld bytes of "
                        "shared memory, the device allows %lld per block",
                        (long long)generic_step_smem(g, cs, 32), (long long)b->smem_optin);
        smem = generic_step_smem(g, cs, threads);
    }
    if (smem > b->smem_optin)
        return fail(L2L_ERR_INVALID_ARGUMENT,
                    "model too large for the CUDA step: %lld bytes of shared memory needed, the "
                    "device allows %lld per block",
                    (long long)smem, (long long)b->smem_optin);
    st = prepare_kernel(b, kernel, false, "step: cudaFuncSetAttribute");
    if (st != L2L_OK) return st;

    return for_tensor_groups(a, p, [&](const StepParams& q) {
        (void)cudaGetLastError();
        kernel<<<grid_for(q.end - q.begin, threads, b, 8), threads, smem, b->stream>>>(q);
        return check_launch(b, "step: kernel launch");
    });
}

/* ---- backward ----------------------------------------------------------------------------- */

/* The partial rows of dphi for n coordinates in blocks of `threads`: p.tiles and
 * p.tiles_per_row, and the number of rows (blocks); a function of n and the block size only. */
int32_t partial_rows(BwdParams& p, int64_t n, int threads, int64_t* rows) {
    p.tiles = (n + threads - 1) / threads;
    int64_t per_row = (p.tiles + kTargetRows - 1) / kTargetRows;
    const int64_t max_per_row = kReductionChunk / threads;
    if (per_row > max_per_row) per_row = max_per_row;
    if (per_row < 1) per_row = 1;
    p.tiles_per_row = per_row;
    *rows = (p.tiles + per_row - 1) / per_row;
    if (*rows > 0x7fffffff)
        return fail(L2L_ERR_INVALID_ARGUMENT, "n = %lld is too large for the CUDA backward", (long long)n);
    return L2L_OK;
}

/* dphi = the sum of the partial rows (reduce_partials). */
int32_t reduce_rows(Backend* b, int64_t rows, int64_t P, double* dphi) {
    const dim3 rblock(kWarp, kReduceSegments);
    const unsigned rgrid = (unsigned)((P + kWarp - 1) / kWarp);
    detail::reduce_partials<<<rgrid, rblock, 0, b->stream>>>(b->workspace, rows, P, dphi);
    return check_launch(b, "backward: reduction launch");
}

/* The backward pass of a model with global averaging cells or bfloat16 products, step by step
 * from the last: the step's forward recomputed layer by layer with its averages (into `after`),
 * then the output layer and the layers from the top, the averaging units' gradients averaged
 * before each layer's launch.  Every launch adds into the same partial rows of dphi (zeroed
 * first). */
int32_t averaging_backward(Backend* b, const BackwardArgs& a) {
    const l2l_model* m = a.m;
    BwdParams p = bwd_params(a);
    const int threads = averaging_threads(b, p.g, "backward");
    if (threads == 0) return L2L_ERR_INVALID_ARGUMENT;
    const GenericBwdShape shape = averaging_shape(p.g, threads);
    p.rs = shape.rs;
    p.cs = shape.cs;
    p.osp = shape.osp;
    const int64_t n = a.n, S = m->state_rows, W = m->max_width, P = m->phi_size;
    int64_t rows = 0;
    int32_t st = partial_rows(p, n, threads, &rows);
    if (st != L2L_OK) return st;
    /* the workspace: the partial rows, then (as floats) the state after the step [S][n] (h rows
     * only), the carried state gradient [S][n], and dL/dh' of a layer and of the one below [W][n] */
    const size_t partial_bytes = (size_t)rows * (size_t)P * sizeof(double);
    st = ensure_workspace(b, partial_bytes + sizeof(float) * (size_t)((2 * S + 2 * W) * n));
    if (st != L2L_OK) return st;
    p.partial = b->workspace;
    float* after = reinterpret_cast<float*>(reinterpret_cast<char*>(b->workspace) + partial_bytes);
    float* carry = after + S * n;
    float* D = carry + S * n;
    float* Dbelow = D + W * n;
    const bool bf16 = m->bf16_products;
    void (*recompute)(BwdParams, int, int, float*) =
        bf16 ? (m->in0 == 1 ? detail::gac_recompute<1, true> : detail::gac_recompute<2, true>)
             : (m->in0 == 1 ? detail::gac_recompute<1, false> : detail::gac_recompute<2, false>);
    void (*layer)(BwdParams, int, int, const float*, const float*, float*, float*) =
        bf16 ? (m->in0 == 1 ? detail::gac_layer_backward<1, true> : detail::gac_layer_backward<2, true>)
             : (m->in0 == 1 ? detail::gac_layer_backward<1, false> : detail::gac_layer_backward<2, false>);
    st = prepare_kernel(b, recompute, true, "backward: cudaFuncSetAttribute");
    if (st == L2L_OK) st = prepare_kernel(b, layer, true, "backward: cudaFuncSetAttribute");
    if (st == L2L_OK) st = prepare_kernel(b, detail::gac_output_backward, true, "backward: cudaFuncSetAttribute");
    if (st != L2L_OK) return st;
    cudaError_t e = cudaMemsetAsync(p.partial, 0, partial_bytes, b->stream);
    if (e == cudaSuccess) {
        e = a.dstate_final != nullptr
                ? cudaMemcpyAsync(carry, a.dstate_final, sizeof(float) * (size_t)(S * n), cudaMemcpyDeviceToDevice,
                                  b->stream)
                : cudaMemsetAsync(carry, 0, sizeof(float) * (size_t)(S * n), b->stream);
    }
    if (e != cudaSuccess) return context_error(b, e, "backward: workspace initialization");
    const size_t smem = shape.smem;
    const unsigned blocks = (unsigned)rows;
    for (int32_t s = a.steps - 1; s >= 0 && st == L2L_OK; --s) {
        for (int l = 0; l < m->num_layers && st == L2L_OK; ++l) {
            (void)cudaGetLastError();
            recompute<<<grid_for(n, threads, b, 8), threads, smem, b->stream>>>(p, s, l, after);
            st = check_launch(b, "backward: recompute launch");
            const l2l_layer& L = m->layers[l];
            if (st == L2L_OK && L.gac > 0)
                st = average_rows(b, after + L.h_row * n, nullptr, L.gac, n, a.segment, "backward: averages");
        }
        if (st != L2L_OK) break;
        (void)cudaGetLastError();
        detail::gac_output_backward<<<blocks, threads, smem, b->stream>>>(p, s, after, D);
        st = check_launch(b, "backward: output launch");
        float* above = D;
        float* below = Dbelow;
        for (int l = m->num_layers - 1; l >= 0 && st == L2L_OK; --l) {
            const l2l_layer& L = m->layers[l];
            if (L.gac > 0)
                st = average_rows(b, above, carry + L.h_row * n, L.gac, n, a.segment, "backward: gradient averages");
            if (st != L2L_OK) break;
            (void)cudaGetLastError();
            layer<<<blocks, threads, smem, b->stream>>>(p, s, l, after, above, carry, below);
            st = check_launch(b, "backward: layer launch");
            float* t = above;
            above = below;
            below = t;
        }
    }
    if (st != L2L_OK) return st;
    if (a.dstate_initial != nullptr) {
        e = cudaMemcpyAsync(a.dstate_initial, carry, sizeof(float) * (size_t)(S * n), cudaMemcpyDeviceToDevice,
                            b->stream);
        if (e != cudaSuccess) return context_error(b, e, "backward: dstate_initial");
    }
    return reduce_rows(b, rows, P, a.dphi);
}


int32_t backward(l2l_context* ctx, const BackwardArgs& a) {
    Backend* b = nullptr;
    int32_t st = enter(ctx, &b);
    if (st != L2L_OK) return st;
    if (a.m->averaging || a.m->bf16_products) return averaging_backward(b, a);
    const l2l_model* m = a.m;
    BwdParams p = bwd_params(a);

    const int in0 = fixed_in0(b, m);
    void (*kernel)(BwdParams) = nullptr;
    int threads = 0;
    size_t smem = 0;
    /* the fixed kernel where it applies and fits in a block (it does not on devices with
     * about 100 KB of shared memory per SM), else the generic one */
    if (in0 == 1 && fixed_geometry_matches<1>(p.g) && fixed_bwd_smem<1>() <= b->smem_optin) {
        kernel = detail::backward_fixed<1, kFixedH, kFixedL>;
        smem = fixed_bwd_smem<1>();
    } else if (in0 == 2 && fixed_geometry_matches<2>(p.g) && fixed_bwd_smem<2>() <= b->smem_optin) {
        kernel = detail::backward_fixed<2, kFixedH, kFixedL>;
        smem = fixed_bwd_smem<2>();
    }
    if (kernel != nullptr) {
        threads = kBwdFixedThreads; /* rs, cs, osp: compile-time constants of the kernel */
    } else {
        kernel = m->in0 == 1 ? detail::backward_generic<1> : detail::backward_generic<2>;
        const Geometry& g = p.g;
        threads = choose_threads([&](int T) { return generic_bwd_shape(g, T).smem; }, b);
        if (threads == 0)
            return fail(L2L_ERR_INVALID_ARGUMENT,
                        "model too large for the CUDA backward: it needs %lld bytes of shared "
                        "memory per block, the device allows %lld",
                        (long long)generic_bwd_shape(g, 32).smem, (long long)b->smem_optin);
        const GenericBwdShape s = generic_bwd_shape(g, threads);
        p.rs = s.rs;
        p.cs = s.cs;
        p.osp = s.osp;
        smem = s.smem;
    }

    int64_t rows = 0;
    st = partial_rows(p, a.n, threads, &rows);
    if (st != L2L_OK) return st;
    const int64_t P = p.g.phi_size;
    st = ensure_workspace(b, (size_t)rows * (size_t)P * sizeof(double));
    if (st != L2L_OK) return st;
    p.partial = b->workspace;

    st = prepare_kernel(b, kernel, true, "backward: cudaFuncSetAttribute");
    if (st != L2L_OK) return st;
    (void)cudaGetLastError();
    kernel<<<(unsigned)rows, threads, smem, b->stream>>>(p);
    st = check_launch(b, "backward: kernel launch");
    if (st != L2L_OK) return st;
    return reduce_rows(b, rows, P, a.dphi);
}

/* ---- meta-loss gradients ------------------------------------------------------------------ */

int32_t meta_loss_grads(l2l_context* ctx, const l2l_model* m, int64_t n, int32_t steps,
                        const float* record, const float* grad_last, float scale, float* out) {
    Backend* b = nullptr;
    int32_t st = enter(ctx, &b);
    if (st != L2L_OK) return st;
    const int64_t R = 1 + m->state_rows;
    (void)cudaGetLastError();
    detail::meta_loss_kernel<<<grid_for(n, 256, b, 16), 256, 0, b->stream>>>(
        n, steps, R, record, grad_last, scale, out);
    return check_launch(b, "meta_loss_grads: kernel launch");
}

/* ---- MLP optimizee kernels ----------------------------------------------------------------- */

int32_t mlp_gather(l2l_context* ctx, int64_t examples, int32_t features, const float* images,
                   const int32_t* labels, int64_t rows, const int32_t* indices, float* x, int32_t* y) {
    Backend* b = nullptr;
    int32_t st = enter(ctx, &b);
    if (st != L2L_OK) return st;
    const int64_t blocks = rows < (int64_t)b->num_sms * 16 ? rows : (int64_t)b->num_sms * 16;
    (void)cudaGetLastError();
    detail::mlp_gather_kernel<<<(unsigned)blocks, detail::kMlpThreads, 0, b->stream>>>(
        examples, features, images, labels, rows, indices, x, y);
    return check_launch(b, "mlp_gather: kernel launch");
}

int32_t find_bad_index(l2l_context* ctx, const int32_t* indices, int64_t count, int64_t limit,
                       int64_t* index) {
    Backend* b = nullptr;
    int32_t st = enter(ctx, &b);
    if (st != L2L_OK) return st;
    *index = -1;
    cudaError_t e = cudaMemsetAsync(b->d_first, 0xff, sizeof(unsigned long long), b->stream);
    if (e != cudaSuccess) return context_error(b, e, "index check: cudaMemsetAsync");
    (void)cudaGetLastError();
    const int grid = grid_for(count, detail::kMlpThreads, b, 16);
    detail::bad_index_kernel<<<grid, detail::kMlpThreads, 0, b->stream>>>(indices, count, limit,
                                                                          b->d_first);
    st = check_launch(b, "index check: kernel launch");
    if (st != L2L_OK) return st;
    e = cudaMemcpyAsync(b->h_first, b->d_first, sizeof(unsigned long long), cudaMemcpyDeviceToHost,
                        b->stream);
    if (e != cudaSuccess) return context_error(b, e, "index check: cudaMemcpyAsync");
    e = cudaStreamSynchronize(b->stream);
    if (e != cudaSuccess) return context_error(b, e, "index check: cudaStreamSynchronize");
    const unsigned long long first = *b->h_first;
    *index = first == ~0ull ? -1 : (int64_t)first;
    return L2L_OK;
}

int32_t mlp_bias_activation(l2l_context* ctx, int32_t batch, int64_t rows, int32_t cols, float* z,
                            const float* bias, int64_t bias_stride, int32_t activation) {
    Backend* b = nullptr;
    int32_t st = enter(ctx, &b);
    if (st != L2L_OK) return st;
    (void)cudaGetLastError();
    const int grid = grid_for(batch * rows * cols, detail::kMlpThreads, b, 16);
    detail::mlp_bias_activation_kernel<<<grid, detail::kMlpThreads, 0, b->stream>>>(
        batch, rows, cols, z, bias, bias_stride, activation);
    return check_launch(b, "mlp_bias_activation: kernel launch");
}

int32_t mlp_activation_backward(l2l_context* ctx, int64_t count, const float* a, float* delta,
                                int32_t activation) {
    Backend* b = nullptr;
    int32_t st = enter(ctx, &b);
    if (st != L2L_OK) return st;
    (void)cudaGetLastError();
    const int grid = grid_for(count, detail::kMlpThreads, b, 16);
    detail::mlp_activation_backward_kernel<<<grid, detail::kMlpThreads, 0, b->stream>>>(
        count, a, delta, activation);
    return check_launch(b, "mlp_activation_backward: kernel launch");
}

int32_t mlp_bias_gradient(l2l_context* ctx, int32_t batch, int64_t rows, int32_t cols,
                          const float* delta, float* db, int64_t db_stride) {
    Backend* b = nullptr;
    int32_t st = enter(ctx, &b);
    if (st != L2L_OK) return st;
    (void)cudaGetLastError();
    detail::mlp_bias_gradient_kernel<<<(unsigned)batch, detail::kBiasGradThreads, 0, b->stream>>>(
        rows, cols, delta, db, db_stride);
    return check_launch(b, "mlp_bias_gradient: kernel launch");
}

int32_t mlp_softmax_cross_entropy(l2l_context* ctx, int32_t batch, int64_t rows, int32_t classes,
                                  const float* logits, const int32_t* labels, float scale,
                                  float* dlogits, double* loss) {
    Backend* b = nullptr;
    int32_t st = enter(ctx, &b);
    if (st != L2L_OK) return st;
    (void)cudaGetLastError();
    detail::mlp_softmax_cross_entropy_kernel<<<(unsigned)batch, detail::kLossThreads, 0, b->stream>>>(
        rows, classes, logits, labels, (double)scale / (double)rows, 1.0 / (double)rows, dlogits, loss);
    return check_launch(b, "mlp_softmax_cross_entropy: kernel launch");
}

} // namespace
} // namespace cuda

const BackendOps& cuda_ops() {
    static const BackendOps ops = [] {
        BackendOps o{};
        o.backend = L2L_BACKEND_CUDA;
        o.device_count = &cuda::device_count;
        o.versions = &cuda::versions;
        o.create = &cuda::create;
        o.destroy = &cuda::destroy;
        o.stream = &cuda::stream;
        o.threads = &cuda::no_threads;
        o.set_threads = &cuda::set_threads;
        o.cpu_isa = &cuda::no_cpu_isa;
        o.set_cpu_isa = &cuda::set_cpu_isa;
        o.cpu_isas = &cuda::no_cpu_isas;
        o.mem_alloc = &cuda::mem_alloc;
        o.mem_free = &cuda::mem_free;
        o.mem_copy = &cuda::mem_copy;
        o.mem_zero = &cuda::mem_zero;
        o.synchronize = &cuda::synchronize;
        o.find_non_finite = &cuda::find_non_finite;
        o.find_bad_index = &cuda::find_bad_index;
        o.step = &cuda::step;
        o.meta_loss_grads = &cuda::meta_loss_grads;
        o.backward = &cuda::backward;
        o.mlp_gather = &cuda::mlp_gather;
        o.mlp_bias_activation = &cuda::mlp_bias_activation;
        o.mlp_activation_backward = &cuda::mlp_activation_backward;
        o.mlp_bias_gradient = &cuda::mlp_bias_gradient;
        o.mlp_softmax_cross_entropy = &cuda::mlp_softmax_cross_entropy;
        return o;
    }();
    return ops;
}

} // namespace l2l
