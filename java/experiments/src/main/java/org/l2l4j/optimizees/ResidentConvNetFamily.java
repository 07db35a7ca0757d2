package org.l2l4j.optimizees;

import java.util.List;
import java.util.Objects;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.blas.MatrixProducts;

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
public final class ResidentConvNetFamily implements ResidentFamily {
    private final ConvNetFamily family;
    private final Backend backend;
    private final MatrixProducts products;
    private final CudnnConvNet layers;
    private final ResidentData data;

    /**
     * Copies {@code family}'s data set to {@code backend} and sets up cuDNN and cuBLAS there.
     *
     * @throws NullPointerException            if an argument is null
     * @throws IllegalArgumentException        if the backend is not a CUDA backend
     * @throws org.l2l4j.backend.L2lException  when cuDNN or cuBLAS cannot be loaded (status NO_CUDA,
     *                                         saying why), cuDNN refuses the network, or out of memory
     */
    public ResidentConvNetFamily(ConvNetFamily family, Backend backend) {
        this.family = Objects.requireNonNull(family, "family");
        this.backend = Objects.requireNonNull(backend, "backend");
        this.layers = new CudnnConvNet(backend, family.spec());
        MatrixProducts blas = null;
        try {
            blas = MatrixProducts.on(backend);
            this.data = new ResidentData(family.data(), backend);
        } catch (RuntimeException e) {
            if (blas != null) {
                blas.close();
            }
            layers.close();
            throw e;
        }
        this.products = blas;
    }

    /** The wrapped host family. */
    public ConvNetFamily family() {
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

    @Override
    public long residentBatchBytes(int instances) {
        return family.residentBatchBytes(instances);
    }

    /** The host-side optimizee of {@code seed} (the same function as the resident evaluation). */
    @Override
    public ConvNetOptimizee sample(long seed) {
        return family.sample(seed);
    }

    @Override
    public Backend backend() {
        return backend;
    }

    /** @throws IllegalStateException if this family is closed */
    @Override
    public ResidentConvNetBatch batch(int instances) {
        if (data.isClosed()) {
            throw new IllegalStateException("the resident family is closed");
        }
        return new ResidentConvNetBatch(this, instances);
    }

    MatrixProducts products() {
        return products;
    }

    CudnnConvNet layers() {
        return layers;
    }

    /** The data set's images, float32 [examples x features], on the device. */
    NativeBuffer images() {
        return data.images();
    }

    /** The data set's labels, int32 [examples], on the device. */
    NativeBuffer labels() {
        return data.labels();
    }

    /** Frees the data set, cuDNN and cuBLAS; idempotent.  Close the batches first. */
    @Override
    public void close() {
        try {
            data.close();
        } finally {
            try {
                products.close();
            } finally {
                layers.close();
            }
        }
    }
}
