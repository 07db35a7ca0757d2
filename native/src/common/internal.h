/*
 * internal.h -- what the API layer and the two backends share: the model description, the
 * context and the table of backend operations it points to, argument bundles, and error
 * reporting.  Not part of the public API.
 */
#ifndef L2L_INTERNAL_H
#define L2L_INTERNAL_H

#include "l2l.h"
#include "lstm_math.h"

#include <new>

/* One LSTM layer: its widths, the offsets of its tensors in phi, its rows in the state. */
struct l2l_layer {
    int32_t in;      /* input width: in_0 for layer 0, else the width below */
    int32_t width;   /* H */
    int64_t w_ih;    /* [4H x in] */
    int64_t w_hh;    /* [4H x H] */
    int64_t b_ih;    /* [4H] */
    int64_t b_hh;    /* [4H] */
    int64_t h_row;   /* first state row of h; c rows follow at h_row + H */
    int32_t gac;     /* global averaging cells: the first gac units (l2l.h) */
};

/* Trivially copyable, so that the CUDA backend passes it by value as a kernel parameter. */
struct l2l_model {
    int32_t num_layers;
    l2l_layer layers[L2L_MAX_LAYERS];
    int32_t in0;        /* 1 or 2 */
    int32_t out_in;     /* width read by the output layer: H_{L-1}, or in0 when L = 0 */
    int32_t max_width;  /* max(in0, H_l) */
    int64_t w_out;      /* [1 x out_in] */
    int64_t b_out;      /* [1] */
    int64_t phi_size;
    int64_t state_rows; /* S */
    float output_scale;
    float p;
    l2l::Preprocess pre;
    bool bf16_products; /* L2L_BF16_PRODUCTS */
    bool averaging;     /* some layer has global averaging cells */
};

namespace l2l {
struct BackendOps;
}

/* A context: the operations of its backend and that backend's own state. */
struct l2l_context {
    const l2l::BackendOps* ops; /* the backend's operations: cpu_ops() or cuda_ops() */
    void* backend;              /* the backend's state, made by ops->create, freed by ops->destroy */
};

namespace l2l {

/* Records a message for l2l_last_error() and returns status. */
int32_t fail(int32_t status, const char* format, ...) __attribute__((format(printf, 2, 3)));

/* The body of an extern "C" entry point returning an l2l_status: an exception escaping body()
 * becomes OUT_OF_MEMORY (std::bad_alloc) or INTERNAL (anything else), with call named in the
 * message.  No code of the library is meant to throw; this is the last guard that keeps any
 * exception from crossing the C boundary (into a JVM, where it would end the process). */
template <typename Body>
int32_t guarded(const char* call, const Body& body) noexcept {
    try {
        return body();
    } catch (const std::bad_alloc&) {
        return fail(L2L_ERR_OUT_OF_MEMORY, "%s: out of memory", call);
    } catch (...) {
        return fail(L2L_ERR_INTERNAL, "%s: internal error (an unexpected C++ exception)", call);
    }
}

/* The library's allocator of host memory (memory.cpp): 64-byte aligned; NULL when memory is
 * exhausted or the fault-injection switch of l2l_testing.h fails this allocation.  Never throws.
 * release(NULL) does nothing. */
void* allocate(size_t bytes) noexcept;
void release(void* p) noexcept;
/* Counts one allocation made elsewhere (the CUDA runtime's) against the fault-injection switch:
 * true if it must fail. */
bool allocation_fails() noexcept;

struct StepArgs {
    const l2l_model* m;
    const float* phi;
    int32_t num_tensors;
    float* const* theta;
    const float* const* grad;
    const int64_t* sizes;
    int64_t n;
    float* state;
    float* record;
    int64_t segment; /* coordinates per average (l2l.h), >= 1, dividing n */
};

struct BackwardArgs {
    const l2l_model* m;
    const float* phi;
    int64_t n;
    int32_t steps;
    const float* record;
    const float* dloss_ddelta;
    const float* dstate_final;
    double* dphi;
    float* dstate_initial;
    float* dx;
    int64_t segment; /* as StepArgs::segment */
};

/* Coordinates per reduction chunk of the backward pass: partial sums of dphi are formed per
 * chunk and combined in chunk order, so results depend on n only. */
constexpr int64_t kReductionChunk = 2048;

inline int64_t num_chunks(int64_t n, int64_t chunk) { return (n + chunk - 1) / chunk; }

/*
 * The operations of one backend, filled once by each backend (cpu_ops() in cpu/cpu_backend.cpp;
 * cuda_ops() in cuda/cuda_backend.cu, or in cuda/cuda_absent.cpp when the library is built
 * without CUDA).  The API layer (api.cpp) checks every argument as l2l.h states (pointers, sizes,
 * flags, 64-bit offsets) and then calls the context's operations, which may rely on those checks.
 * Every operation returning int32_t, except threads, returns an l2l_status and, on failure,
 * records a message with fail().  Pointers to data live where the context computes (host memory for the CPU, device
 * memory for CUDA) unless stated.
 */
struct BackendOps {
    int32_t backend; /* l2l_backend */

    /* ---- the backend ---- */
    /* Devices this backend can make contexts on (the CPU: 1, the host); *count = 0 on failure. */
    int32_t (*device_count)(int32_t* count);
    /* The linked CUDA runtime's and the driver's versions (l2l_cuda_versions); CPU: NULL. */
    int32_t (*versions)(int32_t* runtime, int32_t* driver);
    /* Makes ctx->backend for a new context: arg is the thread count for the CPU (0: every
     * hardware thread), the device for CUDA.  Nothing to release on failure. */
    int32_t (*create)(l2l_context* ctx, int32_t arg);
    void (*destroy)(l2l_context* ctx);
    /* The cudaStream_t of a CUDA context; NULL for the CPU. */
    void* (*stream)(const l2l_context* ctx);

    /* ---- CPU contexts only: WRONG_CONTEXT elsewhere (threads: -1, cpu_isa: NULL) ---- */
    int32_t (*threads)(const l2l_context* ctx);
    int32_t (*set_threads)(l2l_context* ctx, int32_t num_threads); /* 0: every hardware thread */
    const char* (*cpu_isa)(const l2l_context* ctx);
    /* INVALID_ARGUMENT if isa is unknown or this processor cannot run it. */
    int32_t (*set_cpu_isa)(l2l_context* ctx, const char* isa);
    /* Every kernel set this processor runs, best first, comma-separated; NULL for CUDA. */
    const char* (*cpu_isas)(void);
    const char* (*cpu_isa_note)(void);

    /* ---- memory where the context computes ---- */
    int32_t (*mem_alloc)(l2l_context* ctx, int64_t bytes, void** out); /* bytes > 0 */
    int32_t (*mem_free)(l2l_context* ctx, void* ptr);                   /* ptr != NULL */
    /* bytes > 0; kind: an l2l_copy_kind; complete on return. */
    int32_t (*mem_copy)(l2l_context* ctx, void* dst, const void* src, int64_t bytes, int32_t kind);
    int32_t (*mem_zero)(l2l_context* ctx, void* ptr, int64_t bytes);     /* bytes > 0 */
    int32_t (*synchronize)(l2l_context* ctx);

    /* ---- value checks: complete on return ---- */
    /* *index: the first non-finite value among count >= 1 floats, or -1. */
    int32_t (*find_non_finite)(l2l_context* ctx, const float* p, int64_t count, int64_t* index);
    /* *index: the first of count >= 1 indices outside [0, limit), or -1. */
    int32_t (*find_bad_index)(l2l_context* ctx, const int32_t* indices, int64_t count,
                              int64_t limit, int64_t* index);

    /* ---- the optimizer (l2l_step, l2l_meta_loss_grads, l2l_backward) ---- */
    int32_t (*step)(l2l_context* ctx, const StepArgs& a);
    int32_t (*meta_loss_grads)(l2l_context* ctx, const l2l_model* m, int64_t n, int32_t steps,
                               const float* record, const float* grad_last, float scale, float* out);
    int32_t (*backward)(l2l_context* ctx, const BackwardArgs& a);

    /* ---- MLP optimizee kernels (l2l.h "optimizee kernels") ---- */
    int32_t (*mlp_gather)(l2l_context* ctx, int64_t examples, int32_t features,
                          const float* images, const int32_t* labels, int64_t rows,
                          const int32_t* indices, float* x, int32_t* y);
    int32_t (*mlp_bias_activation)(l2l_context* ctx, int32_t batch, int64_t rows, int32_t cols,
                                   float* z, const float* bias, int64_t bias_stride,
                                   int32_t activation);
    int32_t (*mlp_activation_backward)(l2l_context* ctx, int64_t count, const float* a,
                                       float* delta, int32_t activation);
    int32_t (*mlp_bias_gradient)(l2l_context* ctx, int32_t batch, int64_t rows, int32_t cols,
                                 const float* delta, float* db, int64_t db_stride);
    int32_t (*mlp_softmax_cross_entropy)(l2l_context* ctx, int32_t batch, int64_t rows,
                                         int32_t classes, const float* logits,
                                         const int32_t* labels, float scale, float* dlogits,
                                         double* loss);
};

/* The two backends' operations. */
const BackendOps& cpu_ops();
const BackendOps& cuda_ops();

} // namespace l2l

#endif
