/* The CUDA entry points of a library built without the CUDA backend (L2L_CUDA=OFF or no nvcc):
 * every one reports L2L_ERR_NO_CUDA.  Only device_count and create can be reached, since no
 * CUDA context can exist. */
#include "internal.h"

namespace l2l {
namespace cuda {
namespace {
int32_t absent() {
    return fail(L2L_ERR_NO_CUDA, "this build of libl2l has no CUDA backend (built with L2L_CUDA=OFF "
                                 "or without nvcc)");
}
} // namespace

int32_t device_count(int32_t* count) {
    *count = 0;
    return absent();
}
int32_t create(int32_t, l2l_context*) { return absent(); }
void destroy(l2l_context*) {}
void* stream(const l2l_context*) { return nullptr; }
int32_t malloc_(l2l_context*, int64_t, void**) { return absent(); }
int32_t free_(l2l_context*, void*) { return absent(); }
int32_t memcpy_(l2l_context*, void*, const void*, int64_t, int32_t) { return absent(); }
int32_t memset_zero(l2l_context*, void*, int64_t) { return absent(); }
int32_t synchronize(l2l_context*) { return absent(); }
int32_t step(l2l_context*, const StepArgs&) { return absent(); }
int32_t backward(l2l_context*, const BackwardArgs&) { return absent(); }
int32_t meta_loss_grads(l2l_context*, const l2l_model*, int64_t, int32_t, const float*,
                        const float*, float, float*) { return absent(); }
int32_t find_non_finite(l2l_context*, const float*, int64_t, int64_t*) { return absent(); }
int32_t mlp_gather(l2l_context*, int64_t, int32_t, const float*, const int32_t*, int64_t,
                   const int32_t*, float*, int32_t*) { return absent(); }
int32_t find_bad_index(l2l_context*, const int32_t*, int64_t, int64_t, int64_t*) { return absent(); }
int32_t mlp_bias_activation(l2l_context*, int32_t, int64_t, int32_t, float*, const float*, int64_t,
                            int32_t) { return absent(); }
int32_t mlp_activation_backward(l2l_context*, int64_t, const float*, float*, int32_t) { return absent(); }
int32_t mlp_bias_gradient(l2l_context*, int32_t, int64_t, int32_t, const float*, float*, int64_t) {
    return absent();
}
int32_t mlp_softmax_cross_entropy(l2l_context*, int32_t, int64_t, int32_t, const float*,
                                  const int32_t*, float, float*, double*) { return absent(); }
} // namespace cuda
} // namespace l2l
