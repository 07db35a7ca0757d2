/*
 * cpu_backend.h -- what the files of the CPU backend share: the state of a CPU context and the
 * parts of the operations table (internal.h) that other files fill.
 */
#ifndef L2L_CPU_BACKEND_H
#define L2L_CPU_BACKEND_H

#include "cpu_kernels.h"

namespace l2l {
namespace cpu {

/* The backend state of a CPU context (l2l_context::backend). */
struct CpuContext {
    int32_t threads;         /* threads one call may use */
    const Kernels* kernels;  /* the kernel set of this context */
    double* workspace;       /* the backward pass's per-chunk partial sums of dphi */
    int64_t workspace_doubles;
    float* scratch;          /* the kernels' scratch: slot s (thread_pool.h) at s * scratch_stride */
    int64_t scratch_stride;  /* floats per slot */
    int32_t scratch_slots;
    uint32_t* packed;        /* phi's weights in bfloat16 (pack_phi), for L2L_BF16_PRODUCTS models */
    int64_t packed_words;
    float* rows;             /* the backward pass's rows over all coordinates, for models with */
    int64_t rows_floats;     /* global averaging cells */
};

inline CpuContext& cpu_context(const l2l_context* ctx) {
    return *static_cast<CpuContext*>(ctx->backend);
}

/* Fills the MLP optimizee kernels of the CPU's table (mlp_ops.cpp). */
void fill_mlp_ops(BackendOps& ops);

} // namespace cpu
} // namespace l2l

#endif
