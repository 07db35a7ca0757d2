/*
 * api.cpp -- the C API of l2l.h: argument checks, the optional value pre-pass, and the calls of
 * the context's backend operations (internal.h).  Nothing here throws or aborts: every failure
 * is a status code with a message for l2l_last_error(), and every entry point returning a
 * status runs its body through l2l::guarded, which turns an escaping exception into a status.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <new>

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

/* What the value check of the last l2l_step or l2l_backward on this thread found. */
struct NonFinite {
    int32_t input;  /* l2l_input */
    int32_t tensor; /* k for grad[k] and theta[k], else -1 */
    int64_t index;  /* element offset in that input */
};
constexpr NonFinite kNoneFound = {L2L_INPUT_NONE, -1, -1};
thread_local NonFinite last_non_finite = kNoneFound;

/* Rejects a NaN or +-Inf among the count floats of input p (an l2l_input; tensor: k for grad[k]
 * and theta[k], else -1), recording where for l2l_last_non_finite(). */
int32_t check_finite(l2l_context* ctx, int32_t input, int32_t tensor, const float* p, int64_t count) {
    static const char* const names[] = {"", "phi", "grad", "theta", "state", "record",
                                        "dloss_ddelta", "dstate_final"};
    if (count == 0) return L2L_OK;
    int64_t index = -1;
    const int32_t status = ctx->ops->find_non_finite(ctx, p, count, &index);
    if (status != L2L_OK) return status;
    if (index < 0) return L2L_OK;
    last_non_finite = NonFinite{input, tensor, index};
    if (tensor >= 0) {
        return fail(L2L_ERR_NON_FINITE, "%s[%d] holds a NaN or infinite value at index %lld",
                    names[input], tensor, static_cast<long long>(index));
    }
    return fail(L2L_ERR_NON_FINITE, "%s holds a NaN or infinite value at index %lld", names[input],
                static_cast<long long>(index));
}

bool known_activation(int32_t activation) {
    return activation == L2L_ACTIVATION_IDENTITY || activation == L2L_ACTIVATION_SIGMOID ||
           activation == L2L_ACTIVATION_RELU;
}

/* batch, rows and cols of an activation matrix [batch][rows][cols]: each >= 1, and the element
 * count within 64-bit byte offsets. */
int32_t check_matrix(int64_t batch, int64_t rows, int64_t cols) {
    if (batch < 1 || rows < 1 || cols < 1) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "batch, rows and cols must be >= 1, got %lld, %lld, %lld",
                    static_cast<long long>(batch), static_cast<long long>(rows),
                    static_cast<long long>(cols));
    }
    if (rows > INT64_MAX / 8 / cols / batch) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "a [%lld][%lld][%lld] matrix overflows 64-bit offsets",
                    static_cast<long long>(batch), static_cast<long long>(rows),
                    static_cast<long long>(cols));
    }
    return L2L_OK;
}

/* A new context of the backend ops: arg is the thread count (CPU) or the device (CUDA). */
int32_t create_context(const l2l::BackendOps& ops, int32_t arg, l2l_context** out) {
    l2l_context* ctx = static_cast<l2l_context*>(l2l::allocate(sizeof(l2l_context)));
    if (ctx == nullptr) return fail(L2L_ERR_OUT_OF_MEMORY, "cannot allocate the context");
    ctx->ops = &ops;
    ctx->backend = nullptr;
    const int32_t status = ops.create(ctx, arg);
    if (status != L2L_OK) {
        l2l::release(ctx);
        return status;
    }
    *out = ctx;
    return L2L_OK;
}

int32_t check_common(const l2l_context* ctx, const l2l_model* model, const float* phi) {
    if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
    if (model == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "model is NULL");
    if (phi == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "phi is NULL");
    return L2L_OK;
}

/* The coordinates per average of a call over n coordinates: segment, or n for 0. */
int32_t check_segment(int64_t n, int64_t segment, int64_t* out) {
    if (segment < 0 || (segment > 0 && n % segment != 0)) {
        return fail(L2L_ERR_INVALID_ARGUMENT, "segment must be 0 or divide n = %lld, got %lld",
                    static_cast<long long>(n), static_cast<long long>(segment));
    }
    *out = segment == 0 ? n : segment;
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
        case L2L_ERR_INTERNAL: return "L2L_ERR_INTERNAL";
        default: return "L2L_ERR_UNKNOWN";
    }
}

const char* l2l_last_error(void) { return l2l::last_error; }

int32_t l2l_last_non_finite(int32_t* input, int32_t* tensor, int64_t* index) {
    const NonFinite found = last_non_finite;
    if (input != nullptr) *input = found.input;
    if (tensor != nullptr) *tensor = found.tensor;
    if (index != nullptr) *index = found.index;
    return found.input != L2L_INPUT_NONE ? 1 : 0;
}

int32_t l2l_version(void) { return kVersion; }

/* ---- model ---- */

int32_t l2l_model_create(const int32_t* widths, const int32_t* gac_units, int32_t num_layers,
                         int32_t preprocessing, float p, float output_scale, int32_t options,
                         l2l_model** out) {
    return l2l::guarded(__func__, [&]() -> int32_t {
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
            if (gac_units != nullptr && (gac_units[l] < 0 || gac_units[l] > widths[l])) {
                return fail(L2L_ERR_INVALID_ARGUMENT,
                            "layer %d's global averaging cells must be in [0, %d] (its width), got %d", l,
                            widths[l], gac_units[l]);
            }
        }
        if (preprocessing != L2L_PREPROCESS_IDENTITY && preprocessing != L2L_PREPROCESS_LOG_AND_SIGN) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "unknown preprocessing %d", preprocessing);
        }
        if (preprocessing == L2L_PREPROCESS_LOG_AND_SIGN && !(p >= L2L_MIN_P && p <= L2L_MAX_P)) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "log-and-sign p must be in [%g, %g], got %g",
                        static_cast<double>(L2L_MIN_P), static_cast<double>(L2L_MAX_P),
                        static_cast<double>(p));
        }
        if (!l2l::is_finite(output_scale)) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "output_scale must be finite, got %g",
                        static_cast<double>(output_scale));
        }
        if ((options & ~(L2L_LOG_EPSILON | L2L_BF16_PRODUCTS)) != 0) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "unknown option bits 0x%x", options);
        }
        void* memory = l2l::allocate(sizeof(l2l_model));
        if (memory == nullptr) return fail(L2L_ERR_OUT_OF_MEMORY, "cannot allocate the model");
        l2l_model* m = new (memory) l2l_model();
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
            L.gac = gac_units != nullptr ? gac_units[l] : 0;
            if (L.gac > 0) m->averaging = true;
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
        m->bf16_products = (options & L2L_BF16_PRODUCTS) != 0;
        m->pre.inv_p = preprocessing == L2L_PREPROCESS_LOG_AND_SIGN ? 1.0f / p : 1.0f;
        m->pre.exp_p = preprocessing == L2L_PREPROCESS_LOG_AND_SIGN ? expf(p) : 1.0f;
        *out = m;
        return L2L_OK;
    });
}

void l2l_model_destroy(l2l_model* model) { l2l::release(model); }

int64_t l2l_model_phi_size(const l2l_model* m) { return m == nullptr ? -1 : m->phi_size; }
int64_t l2l_model_state_rows(const l2l_model* m) { return m == nullptr ? -1 : m->state_rows; }
int64_t l2l_model_record_rows(const l2l_model* m) { return m == nullptr ? -1 : 1 + m->state_rows; }
int32_t l2l_model_input_width(const l2l_model* m) { return m == nullptr ? -1 : m->in0; }
int32_t l2l_model_gac_units(const l2l_model* m, int32_t layer) {
    return m == nullptr || layer < 0 || layer >= m->num_layers ? -1 : m->layers[layer].gac;
}

/* ---- contexts ---- */

int32_t l2l_context_create_cpu(int32_t num_threads, l2l_context** out) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        if (out == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "out is NULL");
        *out = nullptr;
        if (num_threads < 0) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "num_threads must be >= 0, got %d", num_threads);
        }
        return create_context(l2l::cpu_ops(), num_threads, out);
    });
}

int32_t l2l_context_set_threads(l2l_context* ctx, int32_t num_threads) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
        if (num_threads < 0) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "num_threads must be >= 0, got %d", num_threads);
        }
        return ctx->ops->set_threads(ctx, num_threads);
    });
}

int32_t l2l_context_threads(const l2l_context* ctx) {
    return ctx == nullptr ? -1 : ctx->ops->threads(ctx);
}

const char* l2l_context_cpu_isa(const l2l_context* ctx) {
    return ctx == nullptr ? nullptr : ctx->ops->cpu_isa(ctx);
}

int32_t l2l_context_set_cpu_isa(l2l_context* ctx, const char* isa) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
        if (isa == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "isa is NULL");
        return ctx->ops->set_cpu_isa(ctx, isa);
    });
}

const char* l2l_cpu_isas(void) { return l2l::cpu_ops().cpu_isas(); }
const char* l2l_cpu_isa_note(void) { return l2l::cpu_ops().cpu_isa_note(); }

int32_t l2l_cuda_device_count(int32_t* count) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        if (count == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "count is NULL");
        *count = 0;
        return l2l::cuda_ops().device_count(count);
    });
}

int32_t l2l_cuda_versions(int32_t* runtime, int32_t* driver) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        if (runtime == nullptr || driver == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "runtime or driver is NULL");
        *runtime = 0;
        *driver = 0;
        return l2l::cuda_ops().versions(runtime, driver);
    });
}

int32_t l2l_context_create_cuda(int32_t device, l2l_context** out) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        if (out == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "out is NULL");
        *out = nullptr;
        return create_context(l2l::cuda_ops(), device, out);
    });
}

void* l2l_context_stream(const l2l_context* ctx) {
    return ctx == nullptr ? nullptr : ctx->ops->stream(ctx);
}

int32_t l2l_context_backend(const l2l_context* ctx) { return ctx == nullptr ? -1 : ctx->ops->backend; }

void l2l_context_destroy(l2l_context* ctx) {
    if (ctx == nullptr) return;
    ctx->ops->destroy(ctx);
    l2l::release(ctx);
}

/* ---- memory ---- */

int32_t l2l_malloc(l2l_context* ctx, int64_t bytes, void** out) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        if (out == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "out is NULL");
        *out = nullptr;
        if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
        if (bytes <= 0) return fail(L2L_ERR_INVALID_ARGUMENT, "bytes must be > 0, got %lld",
                                    static_cast<long long>(bytes));
        return ctx->ops->mem_alloc(ctx, bytes, out);
    });
}

int32_t l2l_free(l2l_context* ctx, void* ptr) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        if (ptr == nullptr) return L2L_OK;
        if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
        return ctx->ops->mem_free(ctx, ptr);
    });
}

int32_t l2l_memcpy(l2l_context* ctx, void* dst, const void* src, int64_t bytes, int32_t kind) {
    return l2l::guarded(__func__, [&]() -> int32_t {
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
        return ctx->ops->mem_copy(ctx, dst, src, bytes, kind);
    });
}

int32_t l2l_memset_zero(l2l_context* ctx, void* ptr, int64_t bytes) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
        if (bytes < 0) return fail(L2L_ERR_INVALID_ARGUMENT, "bytes must be >= 0, got %lld",
                                   static_cast<long long>(bytes));
        if (bytes == 0) return L2L_OK;
        if (ptr == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "ptr is NULL");
        return ctx->ops->mem_zero(ctx, ptr, bytes);
    });
}

int32_t l2l_synchronize(l2l_context* ctx) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
        return ctx->ops->synchronize(ctx);
    });
}

/* ---- step ---- */

int32_t l2l_step(l2l_context* ctx, const l2l_model* model, const float* phi,
                 int32_t num_tensors, float* const* theta, const float* const* grad,
                 const int64_t* sizes, float* state, float* record, int64_t segment, int32_t flags) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        last_non_finite = kNoneFound;
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
        if ((flags & ~(L2L_CHECK_FINITE | L2L_CHECK_ONLY)) != 0) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "unknown flag bits 0x%x", flags);
        }
        if ((flags & L2L_CHECK_ONLY) && !(flags & L2L_CHECK_FINITE)) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "L2L_CHECK_ONLY needs L2L_CHECK_FINITE");
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
        int64_t per_average = 0;
        if ((status = check_segment(n, segment, &per_average)) != L2L_OK) return status;
        if (model->state_rows > 0 && n > INT64_MAX / 4 / (1 + model->state_rows)) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "n = %lld is too large for 64-bit offsets",
                        static_cast<long long>(n));
        }
        if (flags & L2L_CHECK_FINITE) {
            status = check_finite(ctx, L2L_INPUT_PHI, -1, phi, model->phi_size);
            for (int32_t k = 0; k < num_tensors && status == L2L_OK; ++k) {
                status = check_finite(ctx, L2L_INPUT_GRAD, k, grad[k], sizes[k]);
                if (status == L2L_OK) status = check_finite(ctx, L2L_INPUT_THETA, k, theta[k], sizes[k]);
            }
            if (status == L2L_OK) status = check_finite(ctx, L2L_INPUT_STATE, -1, state, model->state_rows * n);
            if (status != L2L_OK || (flags & L2L_CHECK_ONLY)) return status;
        }
        const l2l::StepArgs a{model, phi, num_tensors, theta, grad, sizes, n, state, record, per_average};
        return ctx->ops->step(ctx, a);
    });
}

/* ---- backward ---- */

int32_t l2l_meta_loss_grads(l2l_context* ctx, const l2l_model* model, int64_t n,
                            int32_t steps, const float* record, const float* grad_last,
                            float scale, float* out) {
    return l2l::guarded(__func__, [&]() -> int32_t {
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
        return ctx->ops->meta_loss_grads(ctx, model, n, steps, record, grad_last, scale, out);
    });
}

int32_t l2l_backward(l2l_context* ctx, const l2l_model* model, const float* phi, int64_t n,
                     int32_t steps, const float* record, const float* dloss_ddelta,
                     const float* dstate_final, double* dphi, float* dstate_initial, float* dx,
                     int64_t segment, int32_t flags) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        last_non_finite = kNoneFound;
        int32_t status = check_common(ctx, model, phi);
        if (status != L2L_OK) return status;
        if (n < 1) return fail(L2L_ERR_INVALID_ARGUMENT, "n must be >= 1, got %lld",
                               static_cast<long long>(n));
        if (steps < 1) return fail(L2L_ERR_INVALID_ARGUMENT, "steps must be >= 1, got %d", steps);
        const int64_t R = 1 + model->state_rows;
        if (n > INT64_MAX / 4 / steps / R) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "n x steps x record rows overflows 64-bit offsets");
        }
        int64_t per_average = 0;
        if ((status = check_segment(n, segment, &per_average)) != L2L_OK) return status;
        if (record == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "record is NULL");
        if (dloss_ddelta == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "dloss_ddelta is NULL");
        if (dphi == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "dphi is NULL");
        if ((flags & ~L2L_CHECK_FINITE) != 0) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "unknown flag bits 0x%x", flags);
        }
        if (flags & L2L_CHECK_FINITE) {
            status = check_finite(ctx, L2L_INPUT_PHI, -1, phi, model->phi_size);
            if (status == L2L_OK) status = check_finite(ctx, L2L_INPUT_RECORD, -1, record, steps * R * n);
            if (status == L2L_OK) status = check_finite(ctx, L2L_INPUT_DLOSS_DDELTA, -1, dloss_ddelta, steps * n);
            if (status == L2L_OK && dstate_final != nullptr) {
                status = check_finite(ctx, L2L_INPUT_DSTATE_FINAL, -1, dstate_final, model->state_rows * n);
            }
            if (status != L2L_OK) return status;
        }
        const l2l::BackwardArgs a{model, phi, n, steps, record, dloss_ddelta, dstate_final,
                                  dphi, dstate_initial, dx, per_average};
        return ctx->ops->backward(ctx, a);
    });
}

/* ---- MLP optimizee kernels ---- */

int32_t l2l_mlp_gather(l2l_context* ctx, int64_t examples, int32_t features, const float* images,
                       const int32_t* labels, int64_t rows, const int32_t* indices, float* x,
                       int32_t* y, int32_t flags) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
        if (images == nullptr || labels == nullptr || indices == nullptr || x == nullptr || y == nullptr) {
            return fail(L2L_ERR_NULL_ARGUMENT, "%s is NULL",
                        images == nullptr ? "images" : labels == nullptr ? "labels"
                        : indices == nullptr ? "indices" : x == nullptr ? "x" : "y");
        }
        if (examples < 1 || features < 1 || rows < 1) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "examples, features and rows must be >= 1, got %lld, %d, %lld",
                        static_cast<long long>(examples), features, static_cast<long long>(rows));
        }
        int32_t status = check_matrix(1, examples, features);
        if (status != L2L_OK) return status;
        if ((status = check_matrix(1, rows, features)) != L2L_OK) return status;
        if ((flags & ~L2L_CHECK_INDICES) != 0) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "unknown flag bits 0x%x", flags);
        }
        if (flags & L2L_CHECK_INDICES) {
            int64_t bad = -1;
            status = ctx->ops->find_bad_index(ctx, indices, rows, examples, &bad);
            if (status != L2L_OK) return status;
            if (bad >= 0) {
                return fail(L2L_ERR_INVALID_ARGUMENT, "indices[%lld] is outside [0, %lld)",
                            static_cast<long long>(bad), static_cast<long long>(examples));
            }
        }
        return ctx->ops->mlp_gather(ctx, examples, features, images, labels, rows, indices, x, y);
    });
}

int32_t l2l_mlp_bias_activation(l2l_context* ctx, int32_t batch, int64_t rows, int32_t cols, float* z,
                                const float* bias, int64_t bias_stride, int32_t activation) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
        if (z == nullptr || bias == nullptr) {
            return fail(L2L_ERR_NULL_ARGUMENT, "%s is NULL", z == nullptr ? "z" : "bias");
        }
        const int32_t status = check_matrix(batch, rows, cols);
        if (status != L2L_OK) return status;
        if (bias_stride < 0 || bias_stride > INT64_MAX / 8 / batch) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "bias_stride must be in [0, 2^60 / batch), got %lld",
                        static_cast<long long>(bias_stride));
        }
        if (!known_activation(activation)) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "unknown activation %d", activation);
        }
        return ctx->ops->mlp_bias_activation(ctx, batch, rows, cols, z, bias, bias_stride, activation);
    });
}

int32_t l2l_mlp_activation_backward(l2l_context* ctx, int64_t count, const float* a, float* delta,
                                    int32_t activation) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
        if (a == nullptr || delta == nullptr) {
            return fail(L2L_ERR_NULL_ARGUMENT, "%s is NULL", a == nullptr ? "a" : "delta");
        }
        if (count < 1 || count > INT64_MAX / 8) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "count must be in [1, 2^60), got %lld",
                        static_cast<long long>(count));
        }
        if (!known_activation(activation)) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "unknown activation %d", activation);
        }
        return ctx->ops->mlp_activation_backward(ctx, count, a, delta, activation);
    });
}

int32_t l2l_mlp_bias_gradient(l2l_context* ctx, int32_t batch, int64_t rows, int32_t cols,
                              const float* delta, float* db, int64_t db_stride) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
        if (delta == nullptr || db == nullptr) {
            return fail(L2L_ERR_NULL_ARGUMENT, "%s is NULL", delta == nullptr ? "delta" : "db");
        }
        const int32_t status = check_matrix(batch, rows, cols);
        if (status != L2L_OK) return status;
        if (batch > 1 && (db_stride < cols || db_stride > INT64_MAX / 8 / batch)) {
            return fail(L2L_ERR_INVALID_ARGUMENT,
                        "db_stride must be >= cols (%d) and below 2^60 / batch for %d instances, got %lld",
                        cols, batch, static_cast<long long>(db_stride));
        }
        return ctx->ops->mlp_bias_gradient(ctx, batch, rows, cols, delta, db, db_stride);
    });
}

int32_t l2l_mlp_softmax_cross_entropy(l2l_context* ctx, int32_t batch, int64_t rows, int32_t classes,
                                      const float* logits, const int32_t* labels, float scale,
                                      float* dlogits, double* loss) {
    return l2l::guarded(__func__, [&]() -> int32_t {
        if (ctx == nullptr) return fail(L2L_ERR_NULL_ARGUMENT, "context is NULL");
        if (logits == nullptr || labels == nullptr || dlogits == nullptr || loss == nullptr) {
            return fail(L2L_ERR_NULL_ARGUMENT, "%s is NULL",
                        logits == nullptr ? "logits" : labels == nullptr ? "labels"
                        : dlogits == nullptr ? "dlogits" : "loss");
        }
        const int32_t status = check_matrix(batch, rows, classes);
        if (status != L2L_OK) return status;
        if (classes < 2) return fail(L2L_ERR_INVALID_ARGUMENT, "classes must be >= 2, got %d", classes);
        if (!l2l::is_finite(scale)) {
            return fail(L2L_ERR_INVALID_ARGUMENT, "scale must be finite, got %g", static_cast<double>(scale));
        }
        return ctx->ops->mlp_softmax_cross_entropy(ctx, batch, rows, classes, logits, labels, scale, dlogits, loss);
    });
}

} // extern "C"
