/*
 * api.cpp -- the C API of l2l.h: argument checks, the optional value pre-pass, and dispatch to
 * the CPU or CUDA backend.  Nothing here throws or aborts: every failure is a status code with
 * a message for l2l_last_error().
 */
#include "internal.h"
#include "cpu_kernels.h"
#include "thread_pool.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <new>
#include <string>

namespace l2l {

namespace {
thread_local char last_error[512];
}

int32_t fail(int32_t status, const char* format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(last_error, sizeof last_error, format, args);
    va_end(args);
    return status;
}

} // namespace l2l

using l2l::fail;

namespace {

constexpr int32_t kVersion = 100; /* 0.1.0 */

bool is_cuda(const l2l_context* ctx) { return ctx->backend == L2L_BACKEND_CUDA; }

/* The first non-finite value among count floats where ctx computes, as an index, or -1. */
int32_t find_non_finite(l2l_context* ctx, const float* p, int64_t count, int64_t* index) {
    if (is_cuda(ctx)) return l2l::cuda::find_non_finite(ctx, p, count, index);
    *index = l2l::cpu::find_non_finite(ctx, p, count);
    return L2L_OK;
}

int32_t check_finite(l2l_context* ctx, const char* what, const float* p, int64_t count) {
    int64_t index = -1;
    const int32_t status = find_non_finite(ctx, p, count, &index);
    if (status != L2L_OK) return status;
    if (index >= 0) {
        return fail(L2L_ERR_NON_FINITE, "%s holds a NaN or infinite value at index %lld", what,
                    static_cast<long long>(index));
    }
    return L2L_OK;
}

int32_t check_common(const l2l_context* ctx, const l2l_model* model, const float* phi) {
    if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
    if (model == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "model is NULL");
    if (phi == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "phi is NULL");
    return L2L_OK;
}

} // namespace

extern "C" {

const char* l2l_status_name(int32_t status) {
    switch (status) {
        case L2L_OK: return "L2L_OK";
        case L2L_ERR_NULL_ARGUMENT: return "L2L_ERR_NULL_ARGUMENT";
        case L2L_ERR_INVALID_ARGUMENT: return "L2L_ERR_INVALID_ARGUMENT";
        case L2L_ERR_NON_FINITE: return "L2L_ERR_NON_FINITE";
        case L2L_ERR_OUT_OF_MEMORY: return "L2L_ERR_OUT_OF_MEMORY";
        case L2L_ERR_NO_CUDA: return "L2L_ERR_NO_CUDA";
        case L2L_ERR_CUDA: return "L2L_ERR_CUDA";
        case L2L_ERR_WRONG_CONTEXT: return "L2L_ERR_WRONG_CONTEXT";
        default: return "L2L_ERR_UNKNOWN";
    }
}

const char* l2l_last_error(void) { return l2l::last_error; }

int32_t l2l_version(void) { return kVersion; }

/* ---- model ---- */

int32_t l2l_model_create(const int32_t* widths, int32_t num_layers, int32_t preprocessing,
                         float p, float output_scale, int32_t options, l2l_model** out) {
    if (out == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "out is NULL");
    *out = nullptr;
    if (num_layers < 0 || num_layers > L2L_MAX_LAYERS) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "num_layers must be in [0, %d], got %d",
                    L2L_MAX_LAYERS, num_layers);
    }
    if (num_layers > 0 && widths == nullptr) {
        return fail(L2L_ERR_NULL_ARGUMENT, "widths is NULL but num_layers is %d", num_layers);
    }
    for (int32_t l = 0; l < num_layers; ++l) {
        if (widths[l] < 1 || widths[l] > L2L_MAX_WIDTH) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "width of layer %d must be in [1, %d], got %d",
                        l, L2L_MAX_WIDTH, widths[l]);
        }
    }
    if (preprocessing != L2L_PREPROCESS_IDENTITY && preprocessing != L2L_PREPROCESS_LOG_AND_SIGN) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "unknown preprocessing %d", preprocessing);
    }
    if (preprocessing == L2L_PREPROCESS_LOG_AND_SIGN && !(p > 0.0f && p <= 80.0f)) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "log-and-sign p must be in (0, 80], got %g",
                    static_cast<double>(p));
    }
    if (!l2l::is_finite(output_scale)) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "output_scale must be finite, got %g",
                    static_cast<double>(output_scale));
    }
    if ((options & ~L2L_LOG_EPSILON) != 0) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "unknown option bits 0x%x", options);
    }
    l2l_model* m = new (std::nothrow) l2l_model();
    if (m == nullptr) return fail(L2L_ERR_OUT_OF_MEMORY, "cannot allocate the model");
    m->num_layers = num_layers;
    m->in0 = preprocessing == L2L_PREPROCESS_LOG_AND_SIGN ? 2 : 1;
    m->max_width = m->in0;
    int64_t offset = 0, row = 0;
    int32_t in = m->in0;
    for (int32_t l = 0; l < num_layers; ++l) {
        l2l_layer& L = m->layers[l];
        const int64_t H = widths[l];
        L.in = in;
        L.width = widths[l];
        L.w_ih = offset;
        offset += 4 * H * in;
        L.w_hh = offset;
        offset += 4 * H * H;
        L.b_ih = offset;
        offset += 4 * H;
        L.b_hh = offset;
        offset += 4 * H;
        L.h_row = row;
        row += 2 * H;
        in = widths[l];
        if (widths[l] > m->max_width) m->max_width = widths[l];
    }
    m->out_in = in;
    m->w_out = offset;
    offset += in;
    m->b_out = offset;
    offset += 1;
    m->phi_size = offset;
    m->state_rows = row;
    m->output_scale = output_scale;
    m->p = p;
    m->pre.kind = preprocessing;
    m->pre.log_eps = (options & L2L_LOG_EPSILON) != 0;
    m->pre.inv_p = preprocessing == L2L_PREPROCESS_LOG_AND_SIGN ? 1.0f / p : 1.0f;
    m->pre.exp_p = preprocessing == L2L_PREPROCESS_LOG_AND_SIGN ? expf(p) : 1.0f;
    *out = m;
    return L2L_OK;
}

void l2l_model_destroy(l2l_model* model) { delete model; }

int64_t l2l_model_phi_size(const l2l_model* m) { return m == nullptr ? -1 : m->phi_size; }
int64_t l2l_model_state_rows(const l2l_model* m) { return m == nullptr ? -1 : m->state_rows; }
int64_t l2l_model_record_rows(const l2l_model* m) { return m == nullptr ? -1 : 1 + m->state_rows; }
int32_t l2l_model_input_width(const l2l_model* m) { return m == nullptr ? -1 : m->in0; }

/* ---- contexts ---- */

int32_t l2l_context_create_cpu(int32_t num_threads, l2l_context** out) {
    if (out == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "out is NULL");
    *out = nullptr;
    if (num_threads < 0) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "num_threads must be >= 0, got %d", num_threads);
    }
    l2l_context* ctx = new (std::nothrow) l2l_context();
    if (ctx == nullptr) return fail(L2L_ERR_OUT_OF_MEMORY, "cannot allocate the context");
    ctx->backend = L2L_BACKEND_CPU;
    ctx->threads = num_threads == 0 ? l2l::hardware_threads() : num_threads;
    *out = ctx;
    return L2L_OK;
}

int32_t l2l_context_set_threads(l2l_context* ctx, int32_t num_threads) {
    if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
    if (is_cuda(ctx)) return fail(L2L_ERR_WRONG_CONTEXT, "a CUDA context has no thread count");
    if (num_threads < 0) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "num_threads must be >= 0, got %d", num_threads);
    }
    ctx->threads = num_threads == 0 ? l2l::hardware_threads() : num_threads;
    return L2L_OK;
}

int32_t l2l_context_threads(const l2l_context* ctx) {
    return ctx == nullptr || is_cuda(ctx) ? -1 : ctx->threads;
}

const char* l2l_context_cpu_isa(const l2l_context* ctx) {
    return ctx == nullptr || is_cuda(ctx) ? nullptr : l2l::cpu::isa(ctx);
}

int32_t l2l_context_set_cpu_isa(l2l_context* ctx, const char* isa) {
    if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
    if (isa == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "isa is NULL");
    if (is_cuda(ctx)) return fail(L2L_ERR_WRONG_CONTEXT, "a CUDA context has no CPU kernels");
    return l2l::cpu::set_isa(ctx, isa);
}

const char* l2l_cpu_isas(void) {
    static const std::string names = [] {
        std::string s;
        for (const l2l::cpu::Kernels* const* k = l2l::cpu::supported_kernels(); *k; ++k) {
            if (!s.empty()) s += ",";
            s += (*k)->isa;
        }
        return s;
    }();
    return names.c_str();
}

int32_t l2l_cpu_probe_fma(l2l_context* ctx, int64_t flops_per_thread, double* flops_done) {
    if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
    if (flops_done == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "flops_done is NULL");
    if (is_cuda(ctx)) return fail(L2L_ERR_WRONG_CONTEXT, "the machine probes run on a CPU context");
    if (flops_per_thread < 1) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "flops_per_thread must be >= 1, got %lld",
                    static_cast<long long>(flops_per_thread));
    }
    return l2l::cpu::probe_fma(ctx, flops_per_thread, flops_done);
}

int32_t l2l_cpu_probe_triad(l2l_context* ctx, float* a, const float* b, const float* c, float s,
                            int64_t n) {
    if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
    if (a == nullptr || b == nullptr || c == nullptr) {
        return fail(L2L_ERR_NULL_ARGUMENT, "a, b and c must not be NULL");
    }
    if (is_cuda(ctx)) return fail(L2L_ERR_WRONG_CONTEXT, "the machine probes run on a CPU context");
    if (n < 1) return fail(L2L_ERR_INVALID_ARGUMENT, "n must be >= 1, got %lld", static_cast<long long>(n));
    return l2l::cpu::probe_triad(ctx, a, b, c, s, n);
}

int32_t l2l_cpu_probe_cells(l2l_context* ctx, int64_t tiles_per_thread) {
    if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
    if (is_cuda(ctx)) return fail(L2L_ERR_WRONG_CONTEXT, "the machine probes run on a CPU context");
    if (tiles_per_thread < 1) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "tiles_per_thread must be >= 1, got %lld",
                    static_cast<long long>(tiles_per_thread));
    }
    return l2l::cpu::probe_cells(ctx, tiles_per_thread);
}

int32_t l2l_cuda_device_count(int32_t* count) {
    if (count == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "count is NULL");
    *count = 0;
    return l2l::cuda::device_count(count);
}

int32_t l2l_context_create_cuda(int32_t device, l2l_context** out) {
    if (out == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "out is NULL");
    *out = nullptr;
    l2l_context* ctx = new (std::nothrow) l2l_context();
    if (ctx == nullptr) return fail(L2L_ERR_OUT_OF_MEMORY, "cannot allocate the context");
    ctx->backend = L2L_BACKEND_CUDA;
    ctx->threads = -1;
    const int32_t status = l2l::cuda::create(device, ctx);
    if (status != L2L_OK) {
        delete ctx;
        return status;
    }
    *out = ctx;
    return L2L_OK;
}

void* l2l_context_stream(const l2l_context* ctx) {
    return ctx != nullptr && is_cuda(ctx) ? l2l::cuda::stream(ctx) : nullptr;
}

int32_t l2l_context_backend(const l2l_context* ctx) { return ctx == nullptr ? -1 : ctx->backend; }

void l2l_context_destroy(l2l_context* ctx) {
    if (ctx == nullptr) return;
    if (is_cuda(ctx)) {
        l2l::cuda::destroy(ctx);
    } else {
        free(ctx->workspace);
    }
    delete ctx;
}

/* ---- memory ---- */

int32_t l2l_malloc(l2l_context* ctx, int64_t bytes, void** out) {
    if (out == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "out is NULL");
    *out = nullptr;
    if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
    if (bytes <= 0) return fail(L2L_ERR_INVALID_ARGUMENT, "bytes must be > 0, got %lld",
                                static_cast<long long>(bytes));
    if (is_cuda(ctx)) return l2l::cuda::malloc_(ctx, bytes, out);
    void* p = aligned_alloc(64, static_cast<size_t>((bytes + 63) / 64 * 64));
    if (p == nullptr) {
        return fail(L2L_ERR_OUT_OF_MEMORY, "cannot allocate %lld bytes",
                    static_cast<long long>(bytes));
    }
    *out = p;
    return L2L_OK;
}

int32_t l2l_free(l2l_context* ctx, void* ptr) {
    if (ptr == nullptr) return L2L_OK;
    if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
    if (is_cuda(ctx)) return l2l::cuda::free_(ctx, ptr);
    free(ptr);
    return L2L_OK;
}

int32_t l2l_memcpy(l2l_context* ctx, void* dst, const void* src, int64_t bytes, int32_t kind) {
    if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
    if (bytes < 0) return fail(L2L_ERR_INVALID_ARGUMENT, "bytes must be >= 0, got %lld",
                               static_cast<long long>(bytes));
    if (kind < L2L_COPY_HOST_TO_CONTEXT || kind > L2L_COPY_CONTEXT_TO_CONTEXT) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "unknown copy kind %d", kind);
    }
    if (bytes == 0) return L2L_OK;
    if (dst == nullptr || src == nullptr) {
        return fail(L2L_ERR_NULL_ARGUMENT, "%s is NULL", dst == nullptr ? "dst" : "src");
    }
    if (is_cuda(ctx)) return l2l::cuda::memcpy_(ctx, dst, src, bytes, kind);
    memmove(dst, src, static_cast<size_t>(bytes));
    return L2L_OK;
}

int32_t l2l_memset_zero(l2l_context* ctx, void* ptr, int64_t bytes) {
    if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
    if (bytes < 0) return fail(L2L_ERR_INVALID_ARGUMENT, "bytes must be >= 0, got %lld",
                               static_cast<long long>(bytes));
    if (bytes == 0) return L2L_OK;
    if (ptr == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "ptr is NULL");
    if (is_cuda(ctx)) return l2l::cuda::memset_zero(ctx, ptr, bytes);
    memset(ptr, 0, static_cast<size_t>(bytes));
    return L2L_OK;
}

int32_t l2l_synchronize(l2l_context* ctx) {
    if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
    return is_cuda(ctx) ? l2l::cuda::synchronize(ctx) : L2L_OK;
}

/* ---- step ---- */

int32_t l2l_step(l2l_context* ctx, const l2l_model* model, const float* phi,
                 int32_t num_tensors, float* const* theta, const float* const* grad,
                 const int64_t* sizes, float* state, float* record, int32_t flags) {
    int32_t status = check_common(ctx, model, phi);
    if (status != L2L_OK) return status;
    if (num_tensors < 1) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "num_tensors must be >= 1, got %d", num_tensors);
    }
    if (theta == nullptr || grad == nullptr || sizes == nullptr) {
        return fail(L2L_ERR_NULL_ARGUMENT, "the %s array is NULL",
                    theta == nullptr ? "theta" : grad == nullptr ? "grad" : "sizes");
    }
    if (state == nullptr && model->state_rows > 0) return fail(L2L_ERR_NULL_ARGUMENT, "state is NULL");
    if ((flags & ~L2L_CHECK_FINITE) != 0) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "unknown flag bits 0x%x", flags);
    }
    int64_t n = 0;
    for (int32_t k = 0; k < num_tensors; ++k) {
        if (sizes[k] < 0) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "sizes[%d] is negative (%lld)", k,
                        static_cast<long long>(sizes[k]));
        }
        if (sizes[k] > 0 && (theta[k] == nullptr || grad[k] == nullptr)) {
            return fail(L2L_ERR_NULL_ARGUMENT, "%s[%d] is NULL", theta[k] == nullptr ? "theta" : "grad", k);
        }
        if (sizes[k] > INT64_MAX / 4 - n) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "the sizes overflow 64-bit offsets");
        }
        n += sizes[k];
    }
    if (n == 0) return fail(L2L_ERR_INVALID_ARGUMENT, "the tensors hold no coordinates (n = 0)");
    if (model->state_rows > 0 && n > INT64_MAX / 4 / (1 + model->state_rows)) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "n = %lld is too large for 64-bit offsets",
                    static_cast<long long>(n));
    }
    if (flags & L2L_CHECK_FINITE) {
        if ((status = check_finite(ctx, "phi", phi, model->phi_size)) != L2L_OK) return status;
        char what[64];
        for (int32_t k = 0; k < num_tensors; ++k) {
            if (sizes[k] == 0) continue;
            snprintf(what, sizeof what, "grad[%d]", k);
            if ((status = check_finite(ctx, what, grad[k], sizes[k])) != L2L_OK) return status;
            snprintf(what, sizeof what, "theta[%d]", k);
            if ((status = check_finite(ctx, what, theta[k], sizes[k])) != L2L_OK) return status;
        }
        if (model->state_rows > 0 &&
            (status = check_finite(ctx, "state", state, model->state_rows * n)) != L2L_OK) {
            return status;
        }
    }
    const l2l::StepArgs a{model, phi, num_tensors, theta, grad, sizes, n, state, record};
    return is_cuda(ctx) ? l2l::cuda::step(ctx, a) : l2l::cpu::step(ctx, a);
}

/* ---- backward ---- */

int32_t l2l_meta_loss_grads(l2l_context* ctx, const l2l_model* model, int64_t n,
                            int32_t steps, const float* record, const float* grad_last,
                            float scale, float* out) {
    if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
    if (model == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "model is NULL");
    if (n < 1) return fail(L2L_ERR_INVALID_ARGUMENT, "n must be >= 1, got %lld",
                           static_cast<long long>(n));
    if (steps < 1) return fail(L2L_ERR_INVALID_ARGUMENT, "steps must be >= 1, got %d", steps);
    if (n > INT64_MAX / 4 / steps / (1 + model->state_rows)) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "n x steps overflows 64-bit offsets");
    }
    if (record == nullptr && steps > 1) return fail(L2L_ERR_NULL_ARGUMENT, "record is NULL");
    if (grad_last == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "grad_last is NULL");
    if (out == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "out is NULL");
    if (!l2l::is_finite(scale)) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "scale must be finite, got %g",
                    static_cast<double>(scale));
    }
    return is_cuda(ctx) ? l2l::cuda::meta_loss_grads(ctx, model, n, steps, record, grad_last, scale, out)
                        : l2l::cpu::meta_loss_grads(ctx, model, n, steps, record, grad_last, scale, out);
}

int32_t l2l_backward(l2l_context* ctx, const l2l_model* model, const float* phi, int64_t n,
                     int32_t steps, const float* record, const float* dloss_ddelta,
                     const float* dstate_final, double* dphi, float* dstate_initial, float* dx,
                     int32_t flags) {
    int32_t status = check_common(ctx, model, phi);
    if (status != L2L_OK) return status;
    if (n < 1) return fail(L2L_ERR_INVALID_ARGUMENT, "n must be >= 1, got %lld",
                           static_cast<long long>(n));
    if (steps < 1) return fail(L2L_ERR_INVALID_ARGUMENT, "steps must be >= 1, got %d", steps);
    const int64_t R = 1 + model->state_rows;
    if (n > INT64_MAX / 4 / steps / R) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "n x steps x record rows overflows 64-bit offsets");
    }
    if (record == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "record is NULL");
    if (dloss_ddelta == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "dloss_ddelta is NULL");
    if (dphi == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "dphi is NULL");
    if ((flags & ~L2L_CHECK_FINITE) != 0) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "unknown flag bits 0x%x", flags);
    }
    if (flags & L2L_CHECK_FINITE) {
        if ((status = check_finite(ctx, "phi", phi, model->phi_size)) != L2L_OK) return status;
        if ((status = check_finite(ctx, "record", record, steps * R * n)) != L2L_OK) return status;
        if ((status = check_finite(ctx, "dloss_ddelta", dloss_ddelta, steps * n)) != L2L_OK) {
            return status;
        }
        if (dstate_final != nullptr &&
            (status = check_finite(ctx, "dstate_final", dstate_final, model->state_rows * n)) != L2L_OK) {
            return status;
        }
    }
    const l2l::BackwardArgs a{model, phi, n, steps, record, dloss_ddelta, dstate_final,
                              dphi, dstate_initial, dx};
    return is_cuda(ctx) ? l2l::cuda::backward(ctx, a) : l2l::cpu::backward(ctx, a);
}

} // extern "C"
