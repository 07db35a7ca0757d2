/*
 * mlp_kernels.cuh -- device code of the MLP optimizee kernels (l2l.h "optimizee kernels"); their
 * CPU twins are cpu/mlp_ops.cpp, the per-element math mlp_math.h.  Included once, by
 * cuda_backend.cu, which launches them on the context's stream.
 *
 * Shapes: element-wise kernels are grid-stride loops over 64-bit element indices; the gather
 * gives each row of the minibatch to one block, whose threads copy adjacent features
 * (coalesced); the bias gradient and the softmax cross-entropy give each instance of the
 * meta-batch to one block.  Every sum runs in a fixed order: the bias gradient sums the rows of
 * one column in order on one thread; the loss sums each thread's rows in order and then the
 * threads' partial sums by a fixed tree in shared memory.  Results are therefore bitwise
 * reproducible run to run.
 */
#ifndef L2L_CUDA_MLP_KERNELS_CUH
#define L2L_CUDA_MLP_KERNELS_CUH

#include <cuda_runtime.h>
#include <stdint.h>

#include "internal.h"
#include "mlp_math.h"

namespace l2l {
namespace cuda {
namespace detail {

constexpr int kMlpThreads = 256;  /* element-wise kernels and the gather */
constexpr int kLossThreads = 128; /* softmax cross-entropy: one block per instance */
constexpr int kBiasGradThreads = 128;

__global__ void __launch_bounds__(kMlpThreads)
    mlp_gather_kernel(int64_t examples, int32_t features, const float* images,
                      const int32_t* labels, int64_t rows, const int32_t* indices, float* x,
                      int32_t* y) {
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const int64_t e = indices[r];
        const bool valid = e >= 0 && e < examples;
        float* dst = x + r * features;
        const float* src = images + (valid ? e : 0) * features;
        for (int32_t f = threadIdx.x; f < features; f += blockDim.x) dst[f] = valid ? src[f] : NAN;
        if (threadIdx.x == 0) y[r] = valid ? labels[e] : -1;
    }
}

/* Smallest position of an index outside [0, limit): each thread stops at its first hit. */
__global__ void __launch_bounds__(kMlpThreads)
    bad_index_kernel(const int32_t* indices, int64_t count, int64_t limit,
                     unsigned long long* first) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride) {
        if (indices[i] < 0 || indices[i] >= limit) {
            atomicMin(first, (unsigned long long)i);
            break;
        }
    }
}

__global__ void __launch_bounds__(kMlpThreads)
    mlp_bias_activation_kernel(int32_t batch, int64_t rows, int32_t cols, float* z,
                               const float* bias, int64_t bias_stride, int32_t activation) {
    const int64_t per_instance = rows * cols, count = batch * per_instance;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t k = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; k < count; k += stride) {
        const int64_t b = k / per_instance, j = k % cols;
        z[k] = activate(activation, z[k] + bias[b * bias_stride + j]);
    }
}

__global__ void __launch_bounds__(kMlpThreads)
    mlp_activation_backward_kernel(int64_t count, const float* a, float* delta, int32_t activation) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t k = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; k < count; k += stride)
        delta[k] *= activation_derivative(activation, a[k]);
}

/* Block b sums instance b's columns: thread j takes columns j, j + blockDim.x, ... */
__global__ void __launch_bounds__(kBiasGradThreads)
    mlp_bias_gradient_kernel(int64_t rows, int32_t cols, const float* delta, float* db,
                             int64_t db_stride) {
    const int64_t b = blockIdx.x;
    const float* d = delta + b * rows * cols;
    for (int32_t j = threadIdx.x; j < cols; j += blockDim.x) {
        double sum = 0.0;
        for (int64_t r = 0; r < rows; ++r) sum += d[r * cols + j];
        db[b * db_stride + j] = (float)sum;
    }
}

/* Block b computes instance b: thread t takes rows t, t + kLossThreads, ... in order, then the
 * partial sums are added by a fixed binary tree.  grad_scale = scale / rows and inv_rows =
 * 1 / rows come from the host (a float64 division is a call on the device). */
__global__ void __launch_bounds__(kLossThreads)
    mlp_softmax_cross_entropy_kernel(int64_t rows, int32_t classes, const float* logits,
                                     const int32_t* labels, double grad_scale, double inv_rows,
                                     float* dlogits, double* loss) {
    __shared__ double partial[kLossThreads];
    const int64_t b = blockIdx.x;
    double total = 0.0;
    for (int64_t r = threadIdx.x; r < rows; r += kLossThreads) {
        const int64_t row = (b * rows + r) * classes;
        total += softmax_cross_entropy_row(logits + row, classes, labels[b * rows + r], grad_scale,
                                           dlogits + row);
    }
    partial[threadIdx.x] = total;
    __syncthreads();
    for (int half = kLossThreads / 2; half > 0; half /= 2) {
        if ((int)threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0) loss[b] = partial[0] * inv_rows;
}

} // namespace detail
} // namespace cuda
} // namespace l2l

#endif
