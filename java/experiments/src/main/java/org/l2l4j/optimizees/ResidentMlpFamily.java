package org.l2l4j.optimizees;

import org.l2l4j.backend.Backend;
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
 * (157 MB for MNIST's 50,000 training images; {@link ResidentData#bytes}).  Close this family
 * before its backend.
 */
public final class ResidentMlpFamily extends ClassifierResidentFamily<MlpFamily> {

    /**
     * Copies {@code family}'s data set to {@code backend}.
     *
     * @throws NullPointerException              if an argument is null
     * @throws org.l2l4j.backend.L2lException    on a CUDA backend where cuBLAS cannot be loaded
     *                                           (status NO_CUDA, saying why), or out of memory
     */
    public ResidentMlpFamily(MlpFamily family, Backend backend) {
        super(family, family.data(), backend);
    }

    /** The host-side optimizee of {@code seed} (the same function as the resident evaluation). */
    @Override
    public MlpOptimizee sample(long seed) {
        return family.sample(seed);
    }

    /** @throws IllegalStateException if this family is closed */
    @Override
    public ResidentMlpBatch batch(int instances) {
        requireOpen();
        return new ResidentMlpBatch(this, instances);
    }
}
