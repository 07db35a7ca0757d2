package org.l2l4j.presets;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * The JNI binding of {@code native/include/l2l.h}, one static method per C function, generated
 * and compiled by JavaCPP at build time.  Pointers cross as raw 64-bit addresses ({@code long}),
 * so that a call allocates nothing on either side; handles ({@code l2l_model*},
 * {@code l2l_context*}) too.  Every function returning {@code int} returns an {@code l2l_status}.
 *
 * <p>This class checks nothing: it is the layer under {@code org.l2l4j.backend} and
 * {@code org.l2l4j.lstm}, which validate every argument before calling it.  See l2l.h for the
 * shapes, layouts and status codes.
 */
@Platform(include = "l2l.h", link = "l2l")
public final class L2l {
    static {
        Loader.load();
    }

    private L2l() {
    }

    public static final int L2L_OK = 0;
    public static final int L2L_ERR_NULL_ARGUMENT = 1;
    public static final int L2L_ERR_INVALID_ARGUMENT = 2;
    public static final int L2L_ERR_NON_FINITE = 3;
    public static final int L2L_ERR_OUT_OF_MEMORY = 4;
    public static final int L2L_ERR_NO_CUDA = 5;
    public static final int L2L_ERR_CUDA = 6;
    public static final int L2L_ERR_WRONG_CONTEXT = 7;
    public static final int L2L_ERR_INTERNAL = 8;

    public static final int L2L_PREPROCESS_IDENTITY = 0;
    public static final int L2L_PREPROCESS_LOG_AND_SIGN = 1;
    public static final int L2L_LOG_EPSILON = 1;
    public static final int L2L_BF16_PRODUCTS = 2;
    public static final int L2L_MAX_WIDTH = 256;
    public static final int L2L_MAX_LAYERS = 8;
    public static final int L2L_BACKEND_CPU = 0;
    public static final int L2L_BACKEND_CUDA = 1;
    public static final int L2L_COPY_HOST_TO_CONTEXT = 0;
    public static final int L2L_COPY_CONTEXT_TO_HOST = 1;
    public static final int L2L_COPY_CONTEXT_TO_CONTEXT = 2;
    public static final int L2L_CHECK_FINITE = 1;
    public static final int L2L_CHECK_INDICES = 2;
    public static final int L2L_CHECK_ONLY = 4;
    public static final int L2L_ACTIVATION_IDENTITY = 0;
    public static final int L2L_ACTIVATION_SIGMOID = 1;
    public static final int L2L_ACTIVATION_RELU = 2;
    public static final int L2L_INPUT_NONE = 0;
    public static final int L2L_INPUT_PHI = 1;
    public static final int L2L_INPUT_GRAD = 2;
    public static final int L2L_INPUT_THETA = 3;
    public static final int L2L_INPUT_STATE = 4;
    public static final int L2L_INPUT_RECORD = 5;
    public static final int L2L_INPUT_DLOSS_DDELTA = 6;
    public static final int L2L_INPUT_DSTATE_FINAL = 7;

    public static native @Cast("const char*") String l2l_status_name(int status);

    public static native @Cast("const char*") String l2l_last_error();

    public static native int l2l_version();

    public static native int l2l_last_non_finite(@Cast("int32_t*") long input, @Cast("int32_t*") long tensor,
            @Cast("int64_t*") long index);

    public static native int l2l_model_create(@Cast("const int32_t*") long widths,
            @Cast("const int32_t*") long gacUnits, int numLayers, int preprocessing, float p, float outputScale,
            int options, @Cast("l2l_model**") long out);

    public static native void l2l_model_destroy(@Cast("l2l_model*") long model);

    public static native @Cast("int64_t") long l2l_model_phi_size(@Cast("const l2l_model*") long model);

    public static native @Cast("int64_t") long l2l_model_state_rows(@Cast("const l2l_model*") long model);

    public static native @Cast("int64_t") long l2l_model_record_rows(@Cast("const l2l_model*") long model);

    public static native int l2l_model_input_width(@Cast("const l2l_model*") long model);

    public static native int l2l_model_gac_units(@Cast("const l2l_model*") long model, int layer);

    public static native int l2l_context_create_cpu(int numThreads, @Cast("l2l_context**") long out);

    public static native int l2l_context_set_threads(@Cast("l2l_context*") long ctx, int numThreads);

    public static native int l2l_context_threads(@Cast("const l2l_context*") long ctx);

    public static native @Cast("const char*") String l2l_context_cpu_isa(@Cast("const l2l_context*") long ctx);

    public static native int l2l_context_set_cpu_isa(@Cast("l2l_context*") long ctx, String isa);

    public static native @Cast("const char*") String l2l_cpu_isas();

    public static native @Cast("const char*") String l2l_cpu_isa_note();

    public static native int l2l_cuda_device_count(@Cast("int32_t*") long count);

    public static native int l2l_cuda_versions(@Cast("int32_t*") long runtime, @Cast("int32_t*") long driver);

    public static native int l2l_context_create_cuda(int device, @Cast("l2l_context**") long out);

    public static native @Cast("intptr_t") long l2l_context_stream(@Cast("const l2l_context*") long ctx);

    public static native int l2l_context_backend(@Cast("const l2l_context*") long ctx);

    public static native void l2l_context_destroy(@Cast("l2l_context*") long ctx);

    public static native int l2l_malloc(@Cast("l2l_context*") long ctx, @Cast("int64_t") long bytes,
            @Cast("void**") long out);

    public static native int l2l_free(@Cast("l2l_context*") long ctx, @Cast("void*") long ptr);

    public static native int l2l_memcpy(@Cast("l2l_context*") long ctx, @Cast("void*") long dst,
            @Cast("const void*") long src, @Cast("int64_t") long bytes, int kind);

    public static native int l2l_memset_zero(@Cast("l2l_context*") long ctx, @Cast("void*") long ptr,
            @Cast("int64_t") long bytes);

    public static native int l2l_synchronize(@Cast("l2l_context*") long ctx);

    public static native int l2l_step(@Cast("l2l_context*") long ctx, @Cast("const l2l_model*") long model,
            @Cast("const float*") long phi, int numTensors, @Cast("float* const*") long theta,
            @Cast("const float* const*") long grad, @Cast("const int64_t*") long sizes,
            @Cast("float*") long state, @Cast("float*") long record, @Cast("int64_t") long segment, int flags);

    public static native int l2l_meta_loss_grads(@Cast("l2l_context*") long ctx,
            @Cast("const l2l_model*") long model, @Cast("int64_t") long n, int steps,
            @Cast("const float*") long record, @Cast("const float*") long gradLast, float scale,
            @Cast("float*") long out);

    public static native int l2l_backward(@Cast("l2l_context*") long ctx, @Cast("const l2l_model*") long model,
            @Cast("const float*") long phi, @Cast("int64_t") long n, int steps,
            @Cast("const float*") long record, @Cast("const float*") long dlossDdelta,
            @Cast("const float*") long dstateFinal, @Cast("double*") long dphi,
            @Cast("float*") long dstateInitial, @Cast("float*") long dx, @Cast("int64_t") long segment,
            int flags);

    public static native int l2l_mlp_gather(@Cast("l2l_context*") long ctx, @Cast("int64_t") long examples,
            int features, @Cast("const float*") long images, @Cast("const int32_t*") long labels,
            @Cast("int64_t") long rows, @Cast("const int32_t*") long indices, @Cast("float*") long x,
            @Cast("int32_t*") long y, int flags);

    public static native int l2l_mlp_bias_activation(@Cast("l2l_context*") long ctx, int batch,
            @Cast("int64_t") long rows, int cols, @Cast("float*") long z, @Cast("const float*") long bias,
            @Cast("int64_t") long biasStride, int activation);

    public static native int l2l_mlp_activation_backward(@Cast("l2l_context*") long ctx,
            @Cast("int64_t") long count, @Cast("const float*") long a, @Cast("float*") long delta, int activation);

    public static native int l2l_mlp_bias_gradient(@Cast("l2l_context*") long ctx, int batch,
            @Cast("int64_t") long rows, int cols, @Cast("const float*") long delta, @Cast("float*") long db,
            @Cast("int64_t") long dbStride);

    public static native int l2l_mlp_softmax_cross_entropy(@Cast("l2l_context*") long ctx, int batch,
            @Cast("int64_t") long rows, int classes, @Cast("const float*") long logits,
            @Cast("const int32_t*") long labels, float scale, @Cast("float*") long dlogits,
            @Cast("double*") long loss);
}
