package org.l2l4j.optimizees;

import java.util.List;
import java.util.Objects;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.blas.MatrixProducts;

/**
 * An {@link MlpFamily} whose data set lives where a {@link Backend} computes: its MLPs are
 * evaluated in place by {@link ResidentMlpBatch} (the same layout, loss and gradient as
 * {@link MlpFamily}; matrix products by {@link MatrixProducts}, OpenBLAS on a CPU backend and
 * cuBLAS on CUDA; the element-wise parts by the native MLP kernels).  Seeds give the same
 * functions, theta_0 and minibatch sequences as the wrapped family, whose host-side optimizees
 * {@link #sample(long)} returns.
 *
 * <p>The data set is copied to the backend once, here: 4 (features + 1) bytes per example
 * (157 MB for MNIST's 50,000 training images; {@link ResidentData#bytes}).  Close this family before its
 * backend.
 */
public final class ResidentMlpFamily implements ResidentFamily, AutoCloseable {
    private final MlpFamily family;
    private final Backend backend;
    private final MatrixProducts products;
    private final ResidentData data;

    /**
     * Copies {@code family}'s data set to {@code backend}.
     *
     * @throws NullPointerException              if an argument is null
     * @throws org.l2l4j.backend.L2lException    on a CUDA backend where cuBLAS cannot be loaded
     *                                           (status NO_CUDA, saying why), or out of memory
     */
    public ResidentMlpFamily(MlpFamily family, Backend backend) {
        this.family = Objects.requireNonNull(family, "family");
        this.backend = Objects.requireNonNull(backend, "backend");
        this.products = MatrixProducts.on(backend);
        try {
            this.data = new ResidentData(family.data(), backend);
        } catch (RuntimeException e) {
            products.close();
            throw e;
        }
    }

    /** The wrapped host family. */
    public MlpFamily family() {
        return family;
    }

    @Override
    public String name() {
        return family.name();
    }

    @Override
    public int dimension() {
        return family.dimension();
    }

    @Override
    public List<ParameterTensor> tensors() {
        return family.tensors();
    }

    /** The batches' buffers, as the wrapped family's ({@link MlpFamily#residentBatchBytes}). */
    @Override
    public long residentBatchBytes(int instances) {
        return family.residentBatchBytes(instances);
    }

    @Override
    public boolean hasHessianVectorProducts() {
        return family.hasHessianVectorProducts();
    }

    /** The host-side optimizee of {@code seed} (the same function as the resident evaluation). */
    @Override
    public MlpOptimizee sample(long seed) {
        return family.sample(seed);
    }

    @Override
    public Backend backend() {
        return backend;
    }

    /** @throws IllegalStateException if this family is closed */
    @Override
    public ResidentMlpBatch batch(int instances) {
        if (data.isClosed()) {
            throw new IllegalStateException("the resident family is closed");
        }
        return new ResidentMlpBatch(this, instances);
    }

    MatrixProducts products() {
        return products;
    }

    /** The data set's images, float32 [examples x features], on the backend. */
    NativeBuffer images() {
        return data.images();
    }

    /** The data set's labels, int32 [examples], on the backend. */
    NativeBuffer labels() {
        return data.labels();
    }

    /** Frees the data set and the BLAS handle; idempotent.  Close the batches first. */
    @Override
    public void close() {
        data.close();
        products.close();
    }
}
