package org.l2l4j.blas;

import static org.bytedeco.openblas.global.openblas.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas.CblasTrans;
import static org.bytedeco.openblas.global.openblas.cblas_sgemm;

import org.bytedeco.javacpp.FloatPointer;
import org.l2l4j.backend.Backend;

/**
 * {@link MatrixProducts} of a CPU backend: one OpenBLAS {@code cblas_sgemm} per matrix of the
 * batch, on the buffers' host memory (no copy).  OpenBLAS's own thread count applies
 * (org.l2l4j.optimizees.MlpFamily sets it to 1).
 */
final class OpenBlasProducts extends MatrixProducts {

    /** A pointer aimed at an address of native memory it does not own. */
    private static final class View extends FloatPointer {
        View at(long address) {
            this.address = address;
            return this;
        }
    }

    private final View a = new View();
    private final View b = new View();
    private final View c = new View();

    OpenBlasProducts(Backend backend) {
        super(backend);
    }

    @Override
    void multiplyChecked(int batch, int m, int n, int k, Operand x, boolean transposeA, Operand y,
                         boolean transposeB, Operand z) {
        for (int i = 0; i < batch; i++) {
            cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    m, n, k, 1f, a.at(address(x, i)), x.ld(), b.at(address(y, i)), y.ld(), 0f,
                    c.at(address(z, i)), z.ld());
        }
    }

    private static long address(Operand x, int i) {
        return x.buffer().address(x.offset() + i * x.stride());
    }

    @Override
    public void close() {
    }
}
