/*
 * internal.h -- what the API layer and the two backends share: the model description, the
 * context, argument bundles, and error reporting.  Not part of the public API.
 */
#ifndef L2L_INTERNAL_H
#define L2L_INTERNAL_H

#include "l2l.h"
#include "lstm_math.h"

/* One LSTM layer: its widths, the offsets of its tensors in phi, its rows in the state. */
struct l2l_layer {
    int32_t in;      /* input width: in_0 for layer 0, else the width below */
    int32_t width;   /* H */
    int64_t w_ih;    /* [4H x in] */
    int64_t w_hh;    /* [4H x H] */
    int64_t b_ih;    /* [4H] */
    int64_t b_hh;    /* [4H] */
    int64_t h_row;   /* first state row of h; c rows follow at h_row + H */
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
};

struct l2l_context {
    int32_t backend;   /* l2l_backend */
    int32_t threads;   /* CPU: threads per call */
    void* cuda;        /* CUDA: the backend's own state */
    const void* cpu_kernels; /* CPU: the kernel set chosen for this context, or NULL (default) */
    double* workspace; /* CPU: per-chunk partial sums of dphi */
    int64_t workspace_doubles;
};

namespace l2l {

/* Records a message for l2l_last_error() and returns status. */
int32_t fail(int32_t status, const char* format, ...) __attribute__((format(printf, 2, 3)));

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
};

/* Coordinates per reduction chunk of the backward pass: partial sums of dphi are formed per
 * chunk and combined in chunk order, so results depend on n only. */
constexpr int64_t kReductionChunk = 2048;

inline int64_t num_chunks(int64_t n, int64_t chunk) { return (n + chunk - 1) / chunk; }

namespace cpu {
int32_t step(l2l_context* ctx, const StepArgs& a);
int32_t backward(l2l_context* ctx, const BackwardArgs& a);
int32_t meta_loss_grads(l2l_context* ctx, const l2l_model* m, int64_t n, int32_t steps,
                        const float* record, const float* grad_last, float scale, float* out);
/* Index of the first non-finite value among count floats, or -1. */
int64_t find_non_finite(l2l_context* ctx, const float* p, int64_t count);
/* Selects the kernel set named isa for ctx; INVALID_ARGUMENT if unknown or unsupported. */
int32_t set_isa(l2l_context* ctx, const char* isa);
const char* isa(const l2l_context* ctx);
/* MLP optimizee kernels (l2l.h "optimizee kernels"); arguments checked by the API layer. */
int32_t mlp_gather(l2l_context* ctx, int64_t examples, int32_t features, const float* images,
                   const int32_t* labels, int64_t rows, const int32_t* indices, float* x, int32_t* y);
/* Sets *index to the first of count indices outside [0, limit), or -1. */
int32_t find_bad_index(l2l_context* ctx, const int32_t* indices, int64_t count, int64_t limit,
                       int64_t* index);
int32_t mlp_bias_activation(l2l_context* ctx, int32_t batch, int64_t rows, int32_t cols, float* z,
                            const float* bias, int64_t bias_stride, int32_t activation);
int32_t mlp_activation_backward(l2l_context* ctx, int64_t count, const float* a, float* delta,
                                int32_t activation);
int32_t mlp_bias_gradient(l2l_context* ctx, int32_t batch, int64_t rows, int32_t cols,
                          const float* delta, float* db, int64_t db_stride);
int32_t mlp_softmax_cross_entropy(l2l_context* ctx, int32_t batch, int64_t rows, int32_t classes,
                                  const float* logits, const int32_t* labels, float scale,
                                  float* dlogits, double* loss);
/* The machine probes of l2l.h, arguments checked by the caller. */
int32_t probe_fma(l2l_context* ctx, int64_t flops_per_thread, double* flops_done);
int32_t probe_triad(l2l_context* ctx, float* a, const float* b, const float* c, float s, int64_t n);
int32_t probe_cells(l2l_context* ctx, int64_t tiles_per_thread);
} // namespace cpu

namespace cuda {
int32_t device_count(int32_t* count);
int32_t create(int32_t device, l2l_context* ctx);
void destroy(l2l_context* ctx);
void* stream(const l2l_context* ctx);
int32_t malloc_(l2l_context* ctx, int64_t bytes, void** out);
int32_t free_(l2l_context* ctx, void* ptr);
int32_t memcpy_(l2l_context* ctx, void* dst, const void* src, int64_t bytes, int32_t kind);
int32_t memset_zero(l2l_context* ctx, void* ptr, int64_t bytes);
int32_t synchronize(l2l_context* ctx);
int32_t step(l2l_context* ctx, const StepArgs& a);
int32_t backward(l2l_context* ctx, const BackwardArgs& a);
int32_t meta_loss_grads(l2l_context* ctx, const l2l_model* m, int64_t n, int32_t steps,
                        const float* record, const float* grad_last, float scale, float* out);
/* Sets *index to the first non-finite value among count floats, or -1. */
int32_t find_non_finite(l2l_context* ctx, const float* p, int64_t count, int64_t* index);
/* MLP optimizee kernels (l2l.h "optimizee kernels"); arguments checked by the API layer. */
int32_t mlp_gather(l2l_context* ctx, int64_t examples, int32_t features, const float* images,
                   const int32_t* labels, int64_t rows, const int32_t* indices, float* x, int32_t* y);
/* Sets *index to the first of count indices outside [0, limit), or -1. */
int32_t find_bad_index(l2l_context* ctx, const int32_t* indices, int64_t count, int64_t limit,
                       int64_t* index);
int32_t mlp_bias_activation(l2l_context* ctx, int32_t batch, int64_t rows, int32_t cols, float* z,
                            const float* bias, int64_t bias_stride, int32_t activation);
int32_t mlp_activation_backward(l2l_context* ctx, int64_t count, const float* a, float* delta,
                                int32_t activation);
int32_t mlp_bias_gradient(l2l_context* ctx, int32_t batch, int64_t rows, int32_t cols,
                          const float* delta, float* db, int64_t db_stride);
int32_t mlp_softmax_cross_entropy(l2l_context* ctx, int32_t batch, int64_t rows, int32_t classes,
                                  const float* logits, const int32_t* labels, float scale,
                                  float* dlogits, double* loss);
} // namespace cuda

} // namespace l2l

#endif
