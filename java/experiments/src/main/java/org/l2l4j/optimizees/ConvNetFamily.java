package org.l2l4j.optimizees;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.bytedeco.openblas.global.openblas;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.BackendKind;
import org.l2l4j.data.Dataset;

/**
 * A family of convolutional classifiers ({@link ConvNetSpec}) on one image data set, such as
 * CIFAR-10's meta-training split: every optimizee has the same network and data and differs in
 * its initial parameters and minibatch stream, both drawn from its seed.
 *
 * <p>Parameter layout: theta holds the tensors of {@link #tensors()} one after another, each
 * row-major, so that theta's slices load into the same PyTorch modules by name.  Images are read
 * channel-major per example ({@code c * side^2 + y * side + x}), as
 * {@link org.l2l4j.data.Cifar10Data} gives them.
 *
 * <p>Evaluated on the host with OpenBLAS ({@link ConvNetWorkspace}); thread-safe: concurrent
 * evaluations each borrow their own workspace.  Loading this class sets OpenBLAS to one thread
 * ({@code blas_set_num_threads(1)}), process wide, as {@link MlpFamily} does: callers parallelize
 * across optimizees instead, and OpenBLAS's own threads, which spin while they wait, would
 * compete with them and with other processes (measured on the 2-core machine, the paper's network:
 * alone, 155 ms per evaluation on one thread and 138 on two; two processes side by side, 160-170
 * ms each on one thread, 650-780 ms each on two).  On a CUDA backend, {@link #residentOn} places it
 * on the device (cuDNN and cuBLAS, {@link ResidentConvNetFamily}).
 */
public final class ConvNetFamily implements OptimizeeFamily {

    static {
        openblas.blas_set_num_threads(1);
    }

    private final Dataset data;
    private final ConvNetSpec spec;
    private final List<ParameterTensor> tensors;
    private final int dimension;
    private final WorkspacePool<ConvNetWorkspace> pool;

    /**
     * @param data images of {@code spec.features()} values each, channel-major; kept by reference
     * @param spec the network and minibatch size
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if data is empty or its features are not the spec's
     */
    public ConvNetFamily(Dataset data, ConvNetSpec spec) {
        this.data = Objects.requireNonNull(data, "data");
        this.spec = Objects.requireNonNull(spec, "spec");
        if (data.size() == 0) {
            throw new IllegalArgumentException("data has no examples");
        }
        if (data.features() != spec.features()) {
            throw new IllegalArgumentException("data has " + data.features() + " features per example, the network reads "
                    + spec.imageChannels() + "x" + spec.imageSide() + "x" + spec.imageSide() + " = " + spec.features());
        }
        this.tensors = spec.tensors(data.classes());
        this.dimension = spec.dimension(data.classes());
        this.pool = new WorkspacePool<>(() -> new ConvNetWorkspace(spec, data.classes(), spec.batchSize()));
    }

    /** E.g. {@code "convnet-3x32x32-16-16-16-k5-fc32-10"}. */
    @Override
    public String name() {
        StringBuilder name = new StringBuilder("convnet-").append(spec.imageChannels()).append('x')
                .append(spec.imageSide()).append('x').append(spec.imageSide());
        spec.convChannels().forEach(c -> name.append('-').append(c));
        return name.append("-k").append(spec.kernel()).append("-fc").append(spec.fcWidth()).append('-')
                .append(data.classes()).toString();
    }

    /** n, the length of theta. */
    @Override
    public int dimension() {
        return dimension;
    }

    /** The parameter tensors, in theta's order ({@link ConvNetSpec#tensors(int)}). */
    @Override
    public List<ParameterTensor> tensors() {
        return tensors;
    }

    /** The network and minibatch size. */
    public ConvNetSpec spec() {
        return spec;
    }

    /** The data set minibatches are drawn from. */
    public Dataset data() {
        return data;
    }

    /** The optimizee for {@code seed}: its theta_0 and minibatch stream are keyed by the seed. */
    @Override
    public ConvNetOptimizee sample(long seed) {
        return new ConvNetOptimizee(this, seed);
    }

    /**
     * This family's networks evaluated in place on a CUDA device ({@link ResidentConvNetFamily}:
     * cuDNN and cuBLAS, on a copy of the data set there).  Empty on a CPU backend, where the host
     * evaluation ({@link ConvNetWorkspace}) is the resident form's equal (theta is in host memory
     * already); empty, with a warning in the log, when cuDNN or cuBLAS cannot be loaded beside a
     * CUDA device or the device has no memory for the data set.
     */
    @Override
    public Optional<ResidentFamily> residentOn(Backend backend) {
        Objects.requireNonNull(backend, "backend");
        if (backend.kind() != BackendKind.CUDA) {
            return Optional.empty();
        }
        return ResidentFamily.placeOrWarn(this, backend, () -> new ResidentConvNetFamily(this, backend));
    }

    /** The copy of the data set that {@link #residentOn} makes on a CUDA device ({@link ResidentData#bytes}). */
    @Override
    public long residentBytes() {
        return ResidentData.bytes(data);
    }

    /** The buffers of a {@link ResidentConvNetBatch} of {@code instances} networks. */
    @Override
    public long residentBatchBytes(int instances) {
        if (instances < 1) {
            throw new IllegalArgumentException("instances must be >= 1, got " + instances);
        }
        return ResidentConvNetBatch.bytes(spec, data.classes(), instances);
    }

    /**
     * Mean loss over {@code examples[0..count)} (indices into the data set), gradient into
     * {@code gradient}.  Arguments are checked by the caller.
     */
    double evaluate(float[] theta, float[] gradient, int[] examples, int count) {
        return pool.lossAndGradient(data, theta, gradient, examples, count);
    }
}
