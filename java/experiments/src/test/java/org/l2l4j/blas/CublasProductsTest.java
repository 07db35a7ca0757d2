package org.l2l4j.blas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.CudaTests;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.cuda.CudaLibrary;

/**
 * cuBLAS products on a CUDA backend: the backend cannot be closed under its handle, and a product
 * equals OpenBLAS's on the same operands (exact small integers).  Skipped, saying why, without a
 * CUDA device or cuBLAS (failed with {@code L2L_REQUIRE_CUDA=1}, {@link CudaTests}).
 */
class CublasProductsTest {

    @BeforeEach
    void requireCublas() {
        CudaTests.requireDevice();
        try {
            CudaLibrary.CUBLAS.require();
        } catch (L2lException e) {
            throw CudaTests.requireLibrary("cuBLAS", e);
        }
    }

    @Test
    void theHandleHoldsItsBackendAndMultipliesAsOpenBlas() {
        float[] a = {1, 2, 3, 4, 5, 6};
        float[] b = {1, 0, 2, 1, 0, 3};
        float[] cpu = product(Backend.cpu(1), a, b);
        Backend gpu = Backend.cuda(0);
        MatrixProducts blas = MatrixProducts.on(gpu);
        IllegalStateException e = assertThrows(IllegalStateException.class, gpu::close);
        assertTrue(e.getMessage().contains("objects bound to this backend's context"), e.getMessage());
        blas.close();
        gpu.close();
        assertArrayEquals(cpu, product(Backend.cuda(0), a, b));
    }

    /** C [2 x 2] = A [2 x 3] B^T, B stored [2 x 3]; closes the backend. */
    private static float[] product(Backend backend, float[] a, float[] b) {
        try (backend; MatrixProducts blas = MatrixProducts.on(backend); NativeBuffer x = backend.allocateFloats(6);
             NativeBuffer y = backend.allocateFloats(6); NativeBuffer z = backend.allocateFloats(4)) {
            x.write(a);
            y.write(b);
            blas.multiply(1, 2, 2, 3, new MatrixProducts.Operand(x, 0, 3, 0), false,
                    new MatrixProducts.Operand(y, 0, 3, 0), true, new MatrixProducts.Operand(z, 0, 2, 0));
            return z.toFloatArray();
        }
    }
}
