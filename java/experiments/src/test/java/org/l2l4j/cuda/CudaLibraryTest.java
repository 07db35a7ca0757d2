package org.l2l4j.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.backend.Status;
import org.l2l4j.blas.MatrixProducts;

/**
 * Where CUDA's libraries are missing (no driver, no libcublas or libcudnn), loading cuBLAS or
 * cuDNN through the JavaCPP presets fails with a clear {@link L2lException}, the same on every
 * attempt, and never with an {@link UnsatisfiedLinkError} or a crash; a CPU backend's matrix
 * products need no CUDA at all.  Skipped on machines with a CUDA device, where the libraries may
 * well load (CUDA tests cover that case).
 */
class CudaLibraryTest {

    @ParameterizedTest
    @CsvSource({"CUBLAS, libcublas.so.13", "CUDNN, libcudnn_cnn.so.9"})
    void loadingWithoutCudaFailsCleanlyAndStaysFailed(CudaLibrary library, String namedFile) {
        assumeTrue(Backend.cudaDeviceCount() == 0, "a CUDA device is present: " + library.displayName()
                + " may load here");
        String first = library.loadPresets();
        assertFalse(first.isEmpty(), library.displayName() + " loaded without a CUDA driver");
        assertTrue(first.contains(namedFile), first);
        assertSame(first, library.loadPresets(), "a second attempt must give the same answer");
        L2lException e = assertThrows(L2lException.class, library::require);
        assertEquals(Status.NO_CUDA, e.status());
        assertTrue(e.getMessage().contains(library.displayName() + " needs a CUDA device"), e.getMessage());
    }

    @Test
    void aCpuBackendMultipliesWithoutCuda() {
        try (Backend cpu = Backend.cpu(1); MatrixProducts blas = MatrixProducts.on(cpu);
             NativeBuffer a = cpu.allocateFloats(6); NativeBuffer b = cpu.allocateFloats(6);
             NativeBuffer c = cpu.allocateFloats(4)) {
            a.write(new float[] {1, 2, 3, 4, 5, 6});     // A 2 x 3
            b.write(new float[] {1, 0, 2, 1, 0, 3});     // B^T stored 2 x 3
            blas.multiply(1, 2, 2, 3, new MatrixProducts.Operand(a, 0, 3, 0), false,
                    new MatrixProducts.Operand(b, 0, 3, 0), true, new MatrixProducts.Operand(c, 0, 2, 0));
            // C = A B with B = [[1, 1], [0, 0], [2, 3]]
            assertEquals("[7.0, 10.0, 16.0, 22.0]", java.util.Arrays.toString(c.toFloatArray()));
            assertThrows(IllegalArgumentException.class, () -> blas.multiply(1, 2, 2, 4,
                    new MatrixProducts.Operand(a, 0, 3, 0), false, new MatrixProducts.Operand(b, 0, 3, 0), true,
                    new MatrixProducts.Operand(c, 0, 2, 0)), "k past the rows' ends");
            assertThrows(IllegalArgumentException.class, () -> blas.multiply(2, 2, 2, 3,
                    new MatrixProducts.Operand(a, 0, 3, 0), false, new MatrixProducts.Operand(b, 0, 3, 0), true,
                    new MatrixProducts.Operand(c, 0, 2, 2)), "overlapping outputs");
        }
    }
}
