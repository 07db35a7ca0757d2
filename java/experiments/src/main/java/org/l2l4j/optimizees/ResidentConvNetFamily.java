package org.l2l4j.optimizees;

import org.l2l4j.backend.Backend;
import org.l2l4j.backend.BackendKind;
import org.l2l4j.cuda.CudaLibrary;

/**
 * A {@link ConvNetFamily} whose data set lives on a CUDA device: its networks are evaluated in
 * place by {@link ResidentConvNetBatch} (convolutions, batch norm, ReLU and pooling by cuDNN,
 * {@link CudnnConvNet}; the fully connected layers by cuBLAS; gathering and the softmax by the
 * native MLP kernels), so that meta-training keeps theta, its gradients and the learned
 * optimizer's state on the device for a whole epoch.  Same network, loss and gradient as the
 * host's {@link ConvNetWorkspace}; seeds give the same functions, theta_0 and minibatch sequences
 * as the wrapped family, whose host-side optimizees {@link #sample(long)} returns.
 *
 * <p>The data set is copied to the device once, here: 4 (features + 1) bytes per example (492 MB
 * for CIFAR-10's 40,000 meta-training images; {@link ResidentData#bytes}), besides the cuDNN
 * workspace.  Close this family before its backend.
 */
public final class ResidentConvNetFamily extends ClassifierResidentFamily<ConvNetFamily> {
    private final CudnnConvNet layers;

    /**
     * Sets up cuDNN and cuBLAS on {@code backend} and copies {@code family}'s data set there.
     *
     * @throws NullPointerException            if an argument is null
     * @throws IllegalArgumentException        if the backend is not a CUDA backend
     * @throws org.l2l4j.backend.L2lException  when cuDNN or cuBLAS cannot be loaded (status NO_CUDA,
     *                                         saying why), cuDNN refuses the network, or out of memory
     */
    public ResidentConvNetFamily(ConvNetFamily family, Backend backend) {
        super(family, family.data(), requireCuda(backend));
        try {
            this.layers = new CudnnConvNet(backend, family.spec());
        } catch (RuntimeException | Error e) {
            super.close();
            throw e;
        }
    }

    /** The backend, once it is known to be a CUDA backend with cuDNN (before the data set is copied). */
    private static Backend requireCuda(Backend backend) {
        if (backend.kind() != BackendKind.CUDA) {
            throw new IllegalArgumentException("cuDNN layers need a CUDA backend, got " + backend.kind());
        }
        CudaLibrary.CUDNN.require();
        return backend;
    }

    /** The host-side optimizee of {@code seed} (the same function as the resident evaluation). */
    @Override
    public ConvNetOptimizee sample(long seed) {
        return family.sample(seed);
    }

    /** @throws IllegalStateException if this family is closed */
    @Override
    public ResidentConvNetBatch batch(int instances) {
        requireOpen();
        return new ResidentConvNetBatch(this, instances);
    }

    CudnnConvNet layers() {
        return layers;
    }

    /** Frees the data set, cuBLAS and cuDNN; idempotent.  Close the batches first. */
    @Override
    public void close() {
        try {
            super.close();
        } finally {
            layers.close();
        }
    }
}
