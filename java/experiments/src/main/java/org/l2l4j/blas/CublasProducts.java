package org.l2l4j.blas;

import static org.bytedeco.cuda.global.cublas.CUBLAS_DEFAULT_MATH;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_N;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_T;
import static org.bytedeco.cuda.global.cublas.cublasCreate_v2;
import static org.bytedeco.cuda.global.cublas.cublasDestroy_v2;
import static org.bytedeco.cuda.global.cublas.cublasSetMathMode;
import static org.bytedeco.cuda.global.cublas.cublasSetStream_v2;
import static org.bytedeco.cuda.global.cublas.cublasSgemmStridedBatched;

import java.lang.ref.Cleaner;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.javacpp.FloatPointer;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.NativeCalls;
import org.l2l4j.backend.Status;
import org.l2l4j.cuda.CudaLibrary;

/**
 * {@link MatrixProducts} of a CUDA backend: one {@code cublasSgemmStridedBatched} per call, on
 * the backend's stream (the raw {@code cudaStream_t} that libl2l owns, {@link Backend#cudaStream()}).
 * cuBLAS is column-major, so the row-major product C = op(A) op(B) is computed as its transpose
 * C^T = op(B)^T op(A)^T: the operands are swapped and m, n exchanged, with no data moved.
 * Math mode {@code CUBLAS_DEFAULT_MATH}: plain float32 (TF32 is used only when asked for).
 * cuBLAS's results are bitwise reproducible run to run on one device and library version.
 *
 * <p>The handle lives on the backend's device (made current in the presets' CUDA runtime before
 * it is created and before each product) and on its stream, so it holds the backend
 * ({@link Backend#hold()}): the backend cannot be closed under it.  An unclosed instance is
 * released by a cleaner, and logged.  With {@code L2L_CUDA_SYNC=1} every product is followed by a
 * synchronization, so that a fault of cuBLAS's kernel is reported as cuBLAS's (libl2l checks its
 * own launches the same way).
 */
final class CublasProducts extends MatrixProducts {
    private static final System.Logger LOG = System.getLogger(CublasProducts.class.getName());
    private static final boolean SYNC = "1".equals(System.getenv("L2L_CUDA_SYNC"));

    /** A pointer aimed at device memory it does not own. */
    private static final class View extends FloatPointer {
        View at(long address) {
            this.address = address;
            return this;
        }
    }

    /** What the cleaner releases: the handle, the scalars, the hold on the backend. */
    private static final class State implements Runnable {
        private final cublasContext handle = new cublasContext();
        private final FloatPointer one = new FloatPointer(1f);
        private final FloatPointer zero = new FloatPointer(0f);
        private final Backend.Hold hold;
        private final int device;
        private volatile boolean created;
        private volatile boolean closedExplicitly;

        State(Backend.Hold hold, int device) {
            this.hold = hold;
            this.device = device;
        }

        @Override
        public void run() {
            if (!closedExplicitly) {
                LOG.log(System.Logger.Level.WARNING, "cuBLAS matrix products were not closed; released by the cleaner");
            }
            if (created) {
                try {
                    CudaLibrary.makeCurrent(device);
                } catch (L2lException e) {
                    LOG.log(System.Logger.Level.WARNING, "destroying the cuBLAS handle: {0}", e.getMessage());
                }
                cublasDestroy_v2(handle);
            }
            one.close();
            zero.close();
            hold.release();
        }
    }

    private final State state;
    private final Cleaner.Cleanable cleanable;
    private final View a = new View();
    private final View b = new View();
    private final View c = new View();
    private boolean closed;

    CublasProducts(Backend backend) {
        super(backend);
        CudaLibrary.CUBLAS.require();
        state = new State(backend.hold(), backend.device());
        cleanable = NativeCalls.cleaner().register(this, state);
        try {
            CudaLibrary.makeCurrent(state.device);
            check(cublasCreate_v2(state.handle), "cublasCreate");
            state.created = true;
            int status = cublasSetStream_v2(state.handle, CudaLibrary.stream(backend));
            if (status == 0) {
                status = cublasSetMathMode(state.handle, CUBLAS_DEFAULT_MATH);
            }
            check(status, "cublasSetStream/cublasSetMathMode");
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    void multiplyChecked(int batch, int m, int n, int k, Operand x, boolean transposeA, Operand y,
                         boolean transposeB, Operand z) {
        if (closed) {
            throw new IllegalStateException("the cuBLAS handle is closed");
        }
        CudaLibrary.makeCurrent(state.device);
        check(cublasSgemmStridedBatched(state.handle, transposeB ? CUBLAS_OP_T : CUBLAS_OP_N,
                transposeA ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, state.one,
                b.at(y.buffer().address(y.offset())), y.ld(), y.stride(),
                a.at(x.buffer().address(x.offset())), x.ld(), x.stride(), state.zero,
                c.at(z.buffer().address(z.offset())), z.ld(), z.stride(), batch), "cublasSgemmStridedBatched");
        if (SYNC) {
            try {
                backend().synchronize();
            } catch (L2lException e) {
                throw new L2lException(e.status(), "cublasSgemmStridedBatched (" + m + " x " + n + " x " + k
                        + ", batch " + batch + ") failed on the device, found by L2L_CUDA_SYNC=1: " + e.getMessage());
            }
        }
    }

    private static void check(int status, String what) {
        if (status != 0) {
            throw new L2lException(Status.CUDA, what + " failed with cuBLAS status " + status);
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
