package org.l2l4j.blas;

import static org.bytedeco.cuda.global.cublas.CUBLAS_DEFAULT_MATH;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_N;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_T;
import static org.bytedeco.cuda.global.cublas.cublasCreate_v2;
import static org.bytedeco.cuda.global.cublas.cublasDestroy_v2;
import static org.bytedeco.cuda.global.cublas.cublasSetMathMode;
import static org.bytedeco.cuda.global.cublas.cublasSetStream_v2;
import static org.bytedeco.cuda.global.cublas.cublasSgemmStridedBatched;

import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.Status;

/**
 * {@link MatrixProducts} of a CUDA backend: one {@code cublasSgemmStridedBatched} per call, on
 * the backend's stream (the raw {@code cudaStream_t} that libl2l owns, {@link Backend#cudaStream()}).
 * cuBLAS is column-major, so the row-major product C = op(A) op(B) is computed as its transpose
 * C^T = op(B)^T op(A)^T: the operands are swapped and m, n exchanged, with no data moved.
 * Math mode {@code CUBLAS_DEFAULT_MATH}: plain float32 (TF32 is used only when asked for).
 * cuBLAS's results are bitwise reproducible run to run on one device and library version.
 */
final class CublasProducts extends MatrixProducts {

    /** A pointer aimed at device memory it does not own. */
    private static final class View extends FloatPointer {
        View at(long address) {
            this.address = address;
            return this;
        }
    }

    private final cublasContext handle;
    private final FloatPointer one = new FloatPointer(1f);
    private final FloatPointer zero = new FloatPointer(0f);
    private final View a = new View();
    private final View b = new View();
    private final View c = new View();
    private boolean closed;

    CublasProducts(Backend backend) {
        super(backend);
        CublasLibrary.require();
        handle = new cublasContext();
        check(cublasCreate_v2(handle), "cublasCreate");
        long raw = backend.cudaStream();
        int status = cublasSetStream_v2(handle, new CUstream_st(new Pointer() {
            {
                address = raw;
            }
        }));
        if (status == 0) {
            status = cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH);
        }
        if (status != 0) {
            cublasDestroy_v2(handle);
            check(status, "cublasSetStream/cublasSetMathMode");
        }
    }

    @Override
    void multiplyChecked(int batch, int m, int n, int k, Operand x, boolean transposeA, Operand y,
                         boolean transposeB, Operand z) {
        if (closed) {
            throw new IllegalStateException("the cuBLAS handle is closed");
        }
        check(cublasSgemmStridedBatched(handle, transposeB ? CUBLAS_OP_T : CUBLAS_OP_N,
                transposeA ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, one,
                b.at(y.buffer().address(y.offset())), y.ld(), y.stride(),
                a.at(x.buffer().address(x.offset())), x.ld(), x.stride(), zero,
                c.at(z.buffer().address(z.offset())), z.ld(), z.stride(), batch), "cublasSgemmStridedBatched");
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
            cublasDestroy_v2(handle);
            one.close();
            zero.close();
        }
    }
}
