package org.l2l4j.optimizees;

import static org.bytedeco.cuda.global.cudnn.CUDNN_ACTIVATION_RELU;
import static org.bytedeco.cuda.global.cudnn.CUDNN_BATCHNORM_PER_ACTIVATION;
import static org.bytedeco.cuda.global.cudnn.CUDNN_BATCHNORM_SPATIAL;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CROSS_CORRELATION;
import static org.bytedeco.cuda.global.cudnn.CUDNN_DATA_FLOAT;
import static org.bytedeco.cuda.global.cudnn.CUDNN_FMA_MATH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_PROPAGATE_NAN;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_ALLOC_FAILED;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_NOT_INITIALIZED;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_POOLING_MAX_DETERMINISTIC;
import static org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_NCHW;
import static org.bytedeco.cuda.global.cudnn.cudnnActivationForward;
import static org.bytedeco.cuda.global.cudnn.cudnnBatchNormalizationBackward;
import static org.bytedeco.cuda.global.cudnn.cudnnBatchNormalizationForwardTraining;
import static org.bytedeco.cuda.global.cudnn.cudnnConvolutionBackwardData;
import static org.bytedeco.cuda.global.cudnn.cudnnConvolutionBackwardFilter;
import static org.bytedeco.cuda.global.cudnn.cudnnConvolutionForward;
import static org.bytedeco.cuda.global.cudnn.cudnnCreate;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateActivationDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateConvolutionDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateFilterDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreatePoolingDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateTensorDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroy;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyActivationDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyConvolutionDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyFilterDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyPoolingDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyTensorDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionBackwardDataWorkspaceSize;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionBackwardFilterWorkspaceSize;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionForwardWorkspaceSize;
import static org.bytedeco.cuda.global.cudnn.cudnnGetErrorString;
import static org.bytedeco.cuda.global.cudnn.cudnnPoolingBackward;
import static org.bytedeco.cuda.global.cudnn.cudnnPoolingForward;
import static org.bytedeco.cuda.global.cudnn.cudnnSetActivationDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetConvolution2dDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetConvolutionMathType;
import static org.bytedeco.cuda.global.cudnn.cudnnSetFilter4dDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetPooling2dDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetStream;
import static org.bytedeco.cuda.global.cudnn.cudnnSetTensor4dDescriptor;

import java.lang.ref.Cleaner;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.cuda.cudnn.cudnnActivationStruct;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnPoolingStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.backend.NativeCalls;
import org.l2l4j.backend.Status;
import org.l2l4j.cuda.CudaLibrary;

/**
 * The cuDNN layers of one {@link ConvNetSpec} network for minibatches of exactly
 * {@code spec.batchSize()} examples on a CUDA backend's stream: the convolutions (forward, and
 * backward to their weights and inputs), batch norm in training mode (forward and backward),
 * ReLU and 2x2 max-pooling, for {@link ResidentConvNetBatch}.  Every call works on one
 * optimizee instance's tensors, given by device addresses; layouts are NCHW float32 over the m
 * examples of the minibatch ({@code [m][channels][side][side]}), the fully connected layer's
 * batch norm [m][units].  Same network and formulas as {@link ConvNetWorkspace}.
 *
 * <p>Numerics: float32 throughout, {@code CUDNN_FMA_MATH} (no TF32 tensor-core products), and
 * fixed deterministic algorithms (forward implicit precomputed GEMM, backward data and filter
 * algorithm 1, {@code CUDNN_POOLING_MAX_DETERMINISTIC}), so that repeated evaluations are
 * bitwise identical on one device and library version.  Batch norm uses cuDNN's
 * {@code SPATIAL} mode after a convolution and {@code PER_ACTIVATION} after the fully connected
 * layer, epsilon {@link ConvNetSpec#BN_EPSILON} (PyTorch's), the minibatch's biased variance,
 * no running averages.  NaN propagates through ReLU and pooling, as on the host, so that a
 * diverged network shows in its loss.  Max-pooling's backward routes each gradient to a window
 * maximum, as the host does; on ties cuDNN may pick another element than the host's first:
 * harmless among ReLU's zeros (their gradient is zeroed all the same), a difference where equal
 * positive values share a window (rare with real data).
 *
 * <p>The handle lives on the backend's stream and device and holds the backend
 * ({@link Backend#hold()}); one workspace of {@link #workspaceBytes()} serves every call.  With
 * {@code L2L_CUDA_SYNC=1} every call is followed by a synchronization, so that a fault in
 * cuDNN's kernels is reported by the call that queued it.  Not thread-safe.
 */
final class CudnnConvNet implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(CudnnConvNet.class.getName());
    private static final boolean SYNC = "1".equals(System.getenv("L2L_CUDA_SYNC"));

    /** What the cleaner releases: the descriptors, the handle, the scalars, the hold on the backend. */
    private static final class State implements Runnable {
        private final cudnnContext handle = new cudnnContext();
        private final FloatPointer one = new FloatPointer(1f);
        private final FloatPointer zero = new FloatPointer(0f);
        private final List<Runnable> destroyers = new ArrayList<>();
        private final Backend.Hold hold;
        private final int device;
        private NativeBuffer workspace;
        private boolean created;
        private volatile boolean closedExplicitly;

        State(Backend.Hold hold, int device) {
            this.hold = hold;
            this.device = device;
        }

        @Override
        public void run() {
            if (!closedExplicitly) {
                LOG.log(System.Logger.Level.WARNING, "cuDNN layers were not closed; released by the cleaner");
            }
            try {
                CudaLibrary.makeCurrent(device);
            } catch (L2lException e) {
                LOG.log(System.Logger.Level.WARNING, "releasing cuDNN: {0}", e.getMessage());
            }
            for (int i = destroyers.size() - 1; i >= 0; i--) {
                destroyers.get(i).run();
            }
            if (created) {
                cudnnDestroy(handle);
            }
            if (workspace != null) {
                workspace.close();
            }
            one.close();
            zero.close();
            hold.release();
        }
    }

    /** The descriptors of convolution l (input x, output z, pooled p, weights, batch-norm parameters). */
    private record ConvLayer(cudnnTensorStruct x, cudnnTensorStruct z, cudnnTensorStruct p, cudnnFilterStruct w,
            cudnnConvolutionStruct conv, cudnnTensorStruct bn) {
    }

    private final Backend backend;
    private final ConvNetSpec spec;
    private final State state;
    private final Cleaner.Cleanable cleanable;
    private final ConvLayer[] layers;
    private final cudnnTensorStruct fc;
    private final cudnnTensorStruct fcBn;
    private final cudnnPoolingStruct pool;
    private final cudnnActivationStruct relu;
    private final long workspaceBytes;
    private boolean closed;

    /**
     * Creates the handle on {@code backend}'s stream and the descriptors of {@code spec}'s layers,
     * and allocates the workspace.
     *
     * @throws IllegalArgumentException if the backend is not a CUDA backend
     * @throws L2lException             {@link Status#NO_CUDA} when cuDNN cannot be loaded (saying why),
     *                                  {@link Status#CUDA} when cuDNN refuses the network's shapes or
     *                                  algorithms, out of memory for the workspace
     */
    CudnnConvNet(Backend backend, ConvNetSpec spec) {
        if (backend.kind() != org.l2l4j.backend.BackendKind.CUDA) {
            throw new IllegalArgumentException("cuDNN layers need a CUDA backend, got " + backend.kind());
        }
        CudaLibrary.CUDNN.require();
        this.backend = backend;
        this.spec = spec;
        this.state = new State(backend.hold(), backend.device());
        this.cleanable = NativeCalls.cleaner().register(this, state);
        try {
            CudaLibrary.makeCurrent(state.device);
            check(cudnnCreate(state.handle), "cudnnCreate");
            state.created = true;
            check(cudnnSetStream(state.handle, CudaLibrary.stream(backend)), "cudnnSetStream");
            int m = spec.batchSize();
            int k = spec.kernel();
            layers = new ConvLayer[spec.convolutions()];
            long bytes = 0;
            for (int l = 0; l < layers.length; l++) {
                int in = spec.inputChannels(l);
                int out = spec.convChannels().get(l);
                int side = spec.side(l);
                cudnnFilterStruct w = new cudnnFilterStruct();
                check(cudnnCreateFilterDescriptor(w), "cudnnCreateFilterDescriptor");
                state.destroyers.add(() -> cudnnDestroyFilterDescriptor(w));
                check(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, out, in, k, k),
                        "cudnnSetFilter4dDescriptor");
                cudnnConvolutionStruct conv = new cudnnConvolutionStruct();
                check(cudnnCreateConvolutionDescriptor(conv), "cudnnCreateConvolutionDescriptor");
                state.destroyers.add(() -> cudnnDestroyConvolutionDescriptor(conv));
                check(cudnnSetConvolution2dDescriptor(conv, k / 2, k / 2, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION,
                        CUDNN_DATA_FLOAT), "cudnnSetConvolution2dDescriptor");
                check(cudnnSetConvolutionMathType(conv, CUDNN_FMA_MATH), "cudnnSetConvolutionMathType");
                ConvLayer layer = new ConvLayer(tensor(m, in, side, side), tensor(m, out, side, side),
                        tensor(m, out, side / 2, side / 2), w, conv, tensor(1, out, 1, 1));
                layers[l] = layer;
                bytes = Math.max(bytes, workspace(layer, l > 0));
            }
            fc = tensor(m, spec.fcWidth(), 1, 1);
            fcBn = tensor(1, spec.fcWidth(), 1, 1);
            pool = new cudnnPoolingStruct();
            check(cudnnCreatePoolingDescriptor(pool), "cudnnCreatePoolingDescriptor");
            state.destroyers.add(() -> cudnnDestroyPoolingDescriptor(pool));
            check(cudnnSetPooling2dDescriptor(pool, CUDNN_POOLING_MAX_DETERMINISTIC, CUDNN_PROPAGATE_NAN, 2, 2,
                    0, 0, 2, 2), "cudnnSetPooling2dDescriptor");
            relu = new cudnnActivationStruct();
            check(cudnnCreateActivationDescriptor(relu), "cudnnCreateActivationDescriptor");
            state.destroyers.add(() -> cudnnDestroyActivationDescriptor(relu));
            check(cudnnSetActivationDescriptor(relu, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0),
                    "cudnnSetActivationDescriptor");
            workspaceBytes = bytes;
            state.workspace = backend.allocateFloats(Math.max(1, (bytes + 3) / 4));
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /** Bytes of the workspace that the fixed algorithms need, the largest over the layers. */
    long workspaceBytes() {
        return workspaceBytes;
    }

    /** z = conv_l(x) with weights w (cross-correlation, zero padding k/2, stride 1). */
    void convolution(int l, long x, long w, long z) {
        ConvLayer c = layers[l];
        check(cudnnConvolutionForward(state.handle, state.one, c.x(), at(x), c.w(), at(w), c.conv(),
                CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, at(state.workspace.address()), workspaceBytes,
                state.zero, c.z(), at(z)), "cudnnConvolutionForward");
    }

    /** dw = dL/dw of convolution l (overwritten), from its input x and output gradient dz. */
    void convolutionWeightGradient(int l, long x, long dz, long dw) {
        ConvLayer c = layers[l];
        check(cudnnConvolutionBackwardFilter(state.handle, state.one, c.x(), at(x), c.z(), at(dz), c.conv(),
                CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, at(state.workspace.address()), workspaceBytes, state.zero,
                c.w(), at(dw)), "cudnnConvolutionBackwardFilter");
    }

    /** dx = dL/dx of convolution l (overwritten), from its weights w and output gradient dz. */
    void convolutionInputGradient(int l, long w, long dz, long dx) {
        ConvLayer c = layers[l];
        check(cudnnConvolutionBackwardData(state.handle, state.one, c.w(), at(w), c.z(), at(dz), c.conv(),
                CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, at(state.workspace.address()), workspaceBytes, state.zero,
                c.x(), at(dx)), "cudnnConvolutionBackwardData");
    }

    /**
     * a = ReLU(gamma xhat + beta), xhat the batch-normalized z, for convolution l's output
     * (l &lt; convolutions) or the fully connected layer's (l = convolutions); saves the mean and
     * 1/sqrt(var + eps) of each channel (unit) for {@link #batchNormGradient}.
     */
    void batchNormRelu(int l, long z, long gamma, long beta, long a, long mean, long invStd) {
        cudnnTensorStruct data = l < layers.length ? layers[l].z() : fc;
        check(cudnnBatchNormalizationForwardTraining(state.handle, mode(l), state.one, state.zero, data, at(z), data,
                at(a), l < layers.length ? layers[l].bn() : fcBn, at(gamma), at(beta), 1.0, null, null,
                ConvNetSpec.BN_EPSILON, at(mean), at(invStd)), "cudnnBatchNormalizationForwardTraining");
        check(cudnnActivationForward(state.handle, relu, state.one, data, at(a), state.zero, data, at(a)),
                "cudnnActivationForward");
    }

    /**
     * Batch norm's backward for layer l (as {@link #batchNormRelu}): from its input z and the
     * gradient da with respect to its output (before ReLU: the caller applies ReLU's mask),
     * writes dz and the parameters' gradients dgamma, dbeta (overwritten).
     */
    void batchNormGradient(int l, long z, long da, long dz, long gamma, long dgamma, long dbeta, long mean,
                           long invStd) {
        cudnnTensorStruct data = l < layers.length ? layers[l].z() : fc;
        check(cudnnBatchNormalizationBackward(state.handle, mode(l), state.one, state.zero, state.one, state.zero,
                data, at(z), data, at(da), data, at(dz), l < layers.length ? layers[l].bn() : fcBn, at(gamma),
                at(dgamma), at(dbeta), ConvNetSpec.BN_EPSILON, at(mean), at(invStd)),
                "cudnnBatchNormalizationBackward");
    }

    /** p = 2x2 max-pooling (stride 2) of convolution l's activation a. */
    void maxPool(int l, long a, long p) {
        ConvLayer c = layers[l];
        check(cudnnPoolingForward(state.handle, pool, state.one, c.z(), at(a), state.zero, c.p(), at(p)),
                "cudnnPoolingForward");
    }

    /** da = the pooling's adjoint of dp (overwritten), from its input a and output p. */
    void maxPoolGradient(int l, long a, long p, long dp, long da) {
        ConvLayer c = layers[l];
        check(cudnnPoolingBackward(state.handle, pool, state.one, c.p(), at(p), c.p(), at(dp), c.z(), at(a),
                state.zero, c.z(), at(da)), "cudnnPoolingBackward");
    }

    /** Makes the backend's device current in the presets' runtime; call before a pass of layer calls. */
    void makeCurrent() {
        if (closed) {
            throw new IllegalStateException("the cuDNN layers are closed");
        }
        CudaLibrary.makeCurrent(state.device);
    }

    private int mode(int l) {
        return l < layers.length ? CUDNN_BATCHNORM_SPATIAL : CUDNN_BATCHNORM_PER_ACTIVATION;
    }

    /** The workspace the fixed algorithms of one layer need (backward data only where an input gradient is computed). */
    private long workspace(ConvLayer c, boolean inputGradient) {
        long most = 0;
        try (SizeTPointer size = new SizeTPointer(1)) {
            check(cudnnGetConvolutionForwardWorkspaceSize(state.handle, c.x(), c.w(), c.conv(), c.z(),
                    CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, size), "cudnnGetConvolutionForwardWorkspaceSize");
            most = Math.max(most, size.get());
            check(cudnnGetConvolutionBackwardFilterWorkspaceSize(state.handle, c.x(), c.z(), c.conv(), c.w(),
                    CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, size), "cudnnGetConvolutionBackwardFilterWorkspaceSize");
            most = Math.max(most, size.get());
            if (inputGradient) {
                check(cudnnGetConvolutionBackwardDataWorkspaceSize(state.handle, c.w(), c.z(), c.conv(), c.x(),
                        CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, size), "cudnnGetConvolutionBackwardDataWorkspaceSize");
                most = Math.max(most, size.get());
            }
        }
        return most;
    }

    /** A 4-d NCHW float32 tensor descriptor, destroyed with the handle. */
    private cudnnTensorStruct tensor(int n, int c, int h, int w) {
        cudnnTensorStruct t = new cudnnTensorStruct();
        check(cudnnCreateTensorDescriptor(t), "cudnnCreateTensorDescriptor");
        state.destroyers.add(() -> cudnnDestroyTensorDescriptor(t));
        check(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w),
                "cudnnSetTensor4dDescriptor(" + n + ", " + c + ", " + h + ", " + w + ")");
        return t;
    }

    /** A pointer aimed at device memory it does not own. */
    private static Pointer at(long address) {
        return new Pointer() {
            {
                this.address = address;
            }
        };
    }

    /**
     * Throws for a failed status: {@link Status#NO_CUDA} where cuDNN's own libraries or the device
     * do not fit (a sub-library that cannot be loaded, which cuDNN 9 loads only when first used),
     * {@link Status#OUT_OF_MEMORY} for its allocations, else {@link Status#CUDA}.
     */
    private void check(int status, String what) {
        if (status != 0) {
            Status kind = switch (status) {
                case CUDNN_STATUS_NOT_INITIALIZED, CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED,
                        CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH, CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE,
                        CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH, CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER
                        -> Status.NO_CUDA;
                case CUDNN_STATUS_ALLOC_FAILED, CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED
                        -> Status.OUT_OF_MEMORY;
                default -> Status.CUDA;
            };
            throw new L2lException(kind, what + " failed: cuDNN status " + status + " ("
                    + cudnnGetErrorString(status).getString() + ") for " + spec);
        }
        if (SYNC && state.created) {
            try {
                backend.synchronize();
            } catch (L2lException e) {
                throw new L2lException(e.status(), what + " failed on the device, found by L2L_CUDA_SYNC=1: "
                        + e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            state.closedExplicitly = true;
            cleanable.clean();
        }
    }
}
