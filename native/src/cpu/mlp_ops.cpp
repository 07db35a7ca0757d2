/*
 * mlp_ops.cpp -- the CPU twins of the MLP optimizee kernels (l2l.h "optimizee kernels"; the CUDA
 * versions are in cuda/mlp_kernels.cuh), and the index check of l2l_mlp_gather.  Plain loops over
 * the same per-element math (mlp_math.h); element-wise work is split over the worker pool in
 * fixed chunks, and every sum runs in one fixed order, so results do not depend on the thread
 * count.  The kernels that compute compute with flush-to-zero and denormals-are-zero set, like
 * the LSTM's (denormals.h): a saturated sigmoid's derivative a (1 - a) times a small delta is
 * subnormal; gather copies and the index check compare integers.
 */
#include "cpu_backend.h"
#include "denormals.h"
#include "mlp_math.h"
#include "thread_pool.h"

#include <algorithm>

namespace l2l {
namespace cpu {
namespace {

/* Elements per parallel chunk, and the element count below which a call stays on the caller's
 * thread (a minibatch of the paper's MLP is far below it). */
constexpr int64_t kChunk = 1 << 16;

int32_t parallelism(const l2l_context* ctx, int64_t work) {
    return work < 2 * kChunk ? 1 : cpu_context(ctx).threads;
}

template <typename Body>
void for_chunks(const l2l_context* ctx, int64_t count, Body body) {
    parallel_for(num_chunks(count, kChunk), parallelism(ctx, count), flushing([&](int32_t, int64_t c) {
        const int64_t lo = c * kChunk;
        body(lo, std::min(count, lo + kChunk));
    }));
}

int32_t mlp_gather(l2l_context* ctx, int64_t examples, int32_t features, const float* images,
                   const int32_t* labels, int64_t rows, const int32_t* indices, float* x, int32_t* y) {
    parallel_for(rows, parallelism(ctx, rows * features), [&](int32_t, int64_t r) {
        const int64_t e = indices[r];
        float* dst = x + r * features;
        if (e < 0 || e >= examples) {
            std::fill(dst, dst + features, NAN);
            y[r] = -1;
            return;
        }
        std::copy(images + e * features, images + (e + 1) * features, dst);
        y[r] = labels[e];
    });
    return L2L_OK;
}

int32_t find_bad_index(l2l_context* ctx, const int32_t* indices, int64_t count, int64_t limit,
                       int64_t* index) {
    *index = -1;
    for (int64_t i = 0; i < count; ++i) {
        if (indices[i] < 0 || indices[i] >= limit) {
            *index = i;
            break;
        }
    }
    return L2L_OK;
}

int32_t mlp_bias_activation(l2l_context* ctx, int32_t batch, int64_t rows, int32_t cols, float* z,
                            const float* bias, int64_t bias_stride, int32_t activation) {
    const int64_t per_instance = rows * cols;
    for_chunks(ctx, batch * per_instance, [&](int64_t lo, int64_t hi) {
        for (int64_t k = lo; k < hi; ++k) {
            const int64_t b = k / per_instance, j = k % cols;
            z[k] = activate(activation, z[k] + bias[b * bias_stride + j]);
        }
    });
    return L2L_OK;
}

int32_t mlp_activation_backward(l2l_context* ctx, int64_t count, const float* a, float* delta,
                                int32_t activation) {
    for_chunks(ctx, count, [&](int64_t lo, int64_t hi) {
        for (int64_t k = lo; k < hi; ++k) delta[k] *= activation_derivative(activation, a[k]);
    });
    return L2L_OK;
}

int32_t mlp_bias_gradient(l2l_context* ctx, int32_t batch, int64_t rows, int32_t cols,
                          const float* delta, float* db, int64_t db_stride) {
    parallel_for(batch, parallelism(ctx, batch * rows * cols), flushing([&](int32_t, int64_t b) {
        const float* d = delta + b * rows * cols;
        for (int32_t j = 0; j < cols; ++j) {
            double sum = 0.0;
            for (int64_t r = 0; r < rows; ++r) sum += d[r * cols + j];
            db[b * db_stride + j] = (float)sum;
        }
    }));
    return L2L_OK;
}

int32_t mlp_softmax_cross_entropy(l2l_context* ctx, int32_t batch, int64_t rows, int32_t classes,
                                  const float* logits, const int32_t* labels, float scale,
                                  float* dlogits, double* loss) {
    const double grad_scale = (double)scale / (double)rows, inv_rows = 1.0 / (double)rows;
    parallel_for(batch, parallelism(ctx, batch * rows * classes), flushing([&](int32_t, int64_t b) {
        double total = 0.0;
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t row = (b * rows + r) * classes;
            total += softmax_cross_entropy_row(logits + row, classes, labels[b * rows + r],
                                               grad_scale, dlogits + row);
        }
        loss[b] = total * inv_rows; /* as the CUDA kernel */
    }));
    return L2L_OK;
}

} // namespace

void fill_mlp_ops(BackendOps& ops) {
    ops.find_bad_index = &find_bad_index;
    ops.mlp_gather = &mlp_gather;
    ops.mlp_bias_activation = &mlp_bias_activation;
    ops.mlp_activation_backward = &mlp_activation_backward;
    ops.mlp_bias_gradient = &mlp_bias_gradient;
    ops.mlp_softmax_cross_entropy = &mlp_softmax_cross_entropy;
}

} // namespace cpu
} // namespace l2l
