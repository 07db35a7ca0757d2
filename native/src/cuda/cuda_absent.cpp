/* The CUDA table of operations (internal.h) of a library built without the CUDA backend
 * (L2L_CUDA=OFF or no nvcc): every entry reports L2L_ERR_NO_CUDA.  Only device_count and create
 * can be reached, since no CUDA context can exist. */
#include "internal.h"

namespace l2l {
namespace {

int32_t absent() {
    return fail(L2L_ERR_NO_CUDA, "this build of libl2l has no CUDA backend (built with L2L_CUDA=OFF "
                                 "or without nvcc)");
}

} // namespace

const BackendOps& cuda_ops() {
    static const BackendOps ops = [] {
        BackendOps o{};
        o.backend = L2L_BACKEND_CUDA;
        o.device_count = [](int32_t* count) {
            *count = 0;
            return absent();
        };
        o.versions = [](int32_t* runtime, int32_t* driver) {
            *runtime = 0;
            *driver = 0;
            return absent();
        };
        o.create = [](l2l_context*, int32_t) { return absent(); };
        o.destroy = [](l2l_context*) {};
        o.stream = [](const l2l_context*) -> void* { return nullptr; };
        o.threads = [](const l2l_context*) { return int32_t{-1}; };
        o.set_threads = [](l2l_context*, int32_t) { return absent(); };
        o.cpu_isa = [](const l2l_context*) -> const char* { return nullptr; };
        o.set_cpu_isa = [](l2l_context*, const char*) { return absent(); };
        o.cpu_isas = []() -> const char* { return nullptr; };
        o.mem_alloc = [](l2l_context*, int64_t, void**) { return absent(); };
        o.mem_free = [](l2l_context*, void*) { return absent(); };
        o.mem_copy = [](l2l_context*, void*, const void*, int64_t, int32_t) { return absent(); };
        o.mem_zero = [](l2l_context*, void*, int64_t) { return absent(); };
        o.synchronize = [](l2l_context*) { return absent(); };
        o.find_non_finite = [](l2l_context*, const float*, int64_t, int64_t*) { return absent(); };
        o.find_bad_index = [](l2l_context*, const int32_t*, int64_t, int64_t, int64_t*) {
            return absent();
        };
        o.step = [](l2l_context*, const StepArgs&) { return absent(); };
        o.meta_loss_grads = [](l2l_context*, const l2l_model*, int64_t, int32_t, const float*,
                               const float*, float, float*) { return absent(); };
        o.backward = [](l2l_context*, const BackwardArgs&) { return absent(); };
        o.mlp_gather = [](l2l_context*, int64_t, int32_t, const float*, const int32_t*, int64_t,
                          const int32_t*, float*, int32_t*) { return absent(); };
        o.mlp_bias_activation = [](l2l_context*, int32_t, int64_t, int32_t, float*, const float*,
                                   int64_t, int32_t) { return absent(); };
        o.mlp_activation_backward = [](l2l_context*, int64_t, const float*, float*, int32_t) {
            return absent();
        };
        o.mlp_bias_gradient = [](l2l_context*, int32_t, int64_t, int32_t, const float*, float*,
                                 int64_t) { return absent(); };
        o.mlp_softmax_cross_entropy = [](l2l_context*, int32_t, int64_t, int32_t, const float*,
                                         const int32_t*, float, float*, double*) { return absent(); };
        return o;
    }();
    return ops;
}

} // namespace l2l
