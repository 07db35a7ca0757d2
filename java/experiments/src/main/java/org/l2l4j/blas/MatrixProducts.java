package org.l2l4j.blas;

import java.util.Objects;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.BackendKind;
import org.l2l4j.backend.NativeBuffer;

/**
 * Batched single-precision matrix products on the float32 buffers of one {@link Backend}, for
 * optimizees whose data and parameters stay where the backend computes: OpenBLAS
 * ({@code cblas_sgemm}, one call per product) on a CPU backend, cuBLAS
 * ({@code cublasSgemmStridedBatched} on the backend's stream, full float32: no TF32) on a CUDA
 * backend.
 *
 * <p>Row-major throughout: {@link #multiply} computes, for b = 0..batch-1,
 * C_b = op(A_b) op(B_b) with op(X) = X or X^T, C_b of m x n, op(A_b) of m x k and op(B_b) of
 * k x n, overwriting C_b.  Each operand is an {@link Operand}: matrix b starts at element
 * {@code offset + b * stride} of its buffer and has {@code ld} elements between the starts of
 * consecutive rows.
 *
 * <p>On CUDA the products are queued on the backend's stream, in order with the native kernels,
 * and do not synchronize.  Not thread-safe: one thread at a time, like its backend.  Close it
 * before the backend.
 */
public abstract class MatrixProducts implements AutoCloseable {

    /**
     * One batch of matrices inside a float32 buffer.
     *
     * @param buffer the float32 buffer holding them
     * @param offset element index of matrix 0's first element, >= 0
     * @param ld     leading dimension: elements from one row's start to the next, >= the stored
     *               matrix's column count
     * @param stride elements from one matrix of the batch to the next, >= 0
     */
    public record Operand(NativeBuffer buffer, long offset, int ld, long stride) {
        public Operand {
            Objects.requireNonNull(buffer, "buffer");
            if (offset < 0 || ld < 1 || stride < 0) {
                throw new IllegalArgumentException("offset >= 0, ld >= 1 and stride >= 0 are required, got "
                        + offset + ", " + ld + ", " + stride);
            }
        }
    }

    private final Backend backend;

    MatrixProducts(Backend backend) {
        this.backend = backend;
    }

    /**
     * The matrix products of {@code backend}: OpenBLAS for a CPU backend, cuBLAS for CUDA.
     *
     * @throws L2lException with {@link Status#NO_CUDA} when cuBLAS cannot be loaded (the message
     *                      says why: no device, or no libcublas on the library path)
     */
    public static MatrixProducts on(Backend backend) {
        Objects.requireNonNull(backend, "backend");
        backend.ctx();
        return backend.kind() == BackendKind.CPU ? new OpenBlasProducts(backend) : new CublasProducts(backend);
    }

    /** The backend whose buffers this multiplies. */
    public Backend backend() {
        return backend;
    }

    /**
     * C_b = op(A_b) op(B_b) for b < batch (see the class comment).
     *
     * @param transposeA op(A) = A^T (A_b stored k x m) instead of A (stored m x k)
     * @param transposeB op(B) = B^T (B_b stored n x k) instead of B (stored k x n)
     * @throws IllegalArgumentException for sizes below 1, a buffer that is not float32 or lives on
     *                                  another backend, a matrix reaching past its buffer, or
     *                                  output matrices that overlap
     * @throws L2lException             if the BLAS call fails
     */
    public final void multiply(int batch, int m, int n, int k, Operand a, boolean transposeA, Operand b,
                               boolean transposeB, Operand c) {
        if (batch < 1 || m < 1 || n < 1 || k < 1) {
            throw new IllegalArgumentException("batch, m, n and k must be >= 1, got " + batch + ", " + m + ", "
                    + n + ", " + k);
        }
        check("A", a, batch, transposeA ? k : m, transposeA ? m : k);
        check("B", b, batch, transposeB ? n : k, transposeB ? k : n);
        check("C", c, batch, m, n);
        if (batch > 1 && c.stride() < (long) (m - 1) * c.ld() + n) {
            throw new IllegalArgumentException("the output matrices overlap: stride " + c.stride() + " < "
                    + ((long) (m - 1) * c.ld() + n));
        }
        multiplyChecked(batch, m, n, k, a, transposeA, b, transposeB, c);
    }

    /** The product once the arguments are checked. */
    abstract void multiplyChecked(int batch, int m, int n, int k, Operand a, boolean transposeA, Operand b,
                                  boolean transposeB, Operand c);

    /** Releases the BLAS handle; idempotent. */
    @Override
    public abstract void close();

    private void check(String name, Operand x, int batch, int rows, int cols) {
        Objects.requireNonNull(x, name);
        NativeBuffer buf = x.buffer();
        if (buf.isClosed()) {
            throw new IllegalStateException(name + "'s buffer is closed");
        }
        if (buf.backend() != backend) {
            throw new IllegalArgumentException(name + "'s buffer lives on another backend");
        }
        if (buf.type() != NativeBuffer.ElementType.F32) {
            throw new IllegalArgumentException(name + " must be a float32 buffer, got " + buf);
        }
        if (x.ld() < cols) {
            throw new IllegalArgumentException(name + ": ld " + x.ld() + " < its " + cols + " columns");
        }
        long last = x.offset() + (batch - 1) * x.stride() + (long) (rows - 1) * x.ld() + cols - 1;
        if (last >= buf.length()) {
            throw new IllegalArgumentException(name + " reaches element " + last + " of a buffer of "
                    + buf.length());
        }
    }
}
