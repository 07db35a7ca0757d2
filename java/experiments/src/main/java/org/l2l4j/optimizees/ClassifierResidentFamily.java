package org.l2l4j.optimizees;

import java.util.List;
import java.util.Objects;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.blas.MatrixProducts;
import org.l2l4j.data.Dataset;

/**
 * What the resident forms of the classifier families share ({@link ResidentMlpFamily},
 * {@link ResidentConvNetFamily}): the wrapped host family, which gives the name, the tensors, the
 * memory estimates and the host-side optimizees of each seed; a copy of its data set on the
 * backend ({@link ResidentData}); and the backend's matrix products.  Subclasses add what their
 * network needs and make the batches.
 *
 * @param <F> the wrapped host family
 */
abstract class ClassifierResidentFamily<F extends OptimizeeFamily> implements ResidentFamily {
    final F family;
    private final Backend backend;
    private final MatrixProducts products;
    private final ResidentData data;

    /**
     * Sets up the backend's matrix products and copies {@code data} there.
     *
     * @throws NullPointerException            if an argument is null
     * @throws org.l2l4j.backend.L2lException  when the products cannot be set up (status NO_CUDA for
     *                                         a CUDA backend without cuBLAS) or out of memory
     */
    ClassifierResidentFamily(F family, Dataset data, Backend backend) {
        this.family = Objects.requireNonNull(family, "family");
        this.backend = Objects.requireNonNull(backend, "backend");
        this.products = MatrixProducts.on(backend);
        try {
            this.data = new ResidentData(data, backend);
        } catch (RuntimeException e) {
            products.close();
            throw e;
        }
    }

    /** The wrapped host family. */
    public F family() {
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

    /** The batches' buffers, as the wrapped family's. */
    @Override
    public long residentBatchBytes(int instances) {
        return family.residentBatchBytes(instances);
    }

    @Override
    public boolean hasHessianVectorProducts() {
        return family.hasHessianVectorProducts();
    }

    @Override
    public Backend backend() {
        return backend;
    }

    /** @throws IllegalStateException if this family is closed */
    void requireOpen() {
        if (data.isClosed()) {
            throw new IllegalStateException("the resident family is closed");
        }
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

    /** Frees the data set and the matrix products; idempotent.  Close the batches first. */
    @Override
    public void close() {
        try {
            data.close();
        } finally {
            products.close();
        }
    }
}
