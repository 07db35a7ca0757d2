package org.l2l4j.optimizees;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import org.bytedeco.openblas.global.openblas;
import org.l2l4j.backend.Backend;
import org.l2l4j.data.Dataset;

/**
 * MLP classifiers on one data set (the paper's MNIST optimizee, Andrychowicz et al. 2016,
 * section 3.2): each seed gives an {@link MlpOptimizee} with its own initial
 * parameters and its own stream of minibatches drawn with replacement from the data set.
 *
 * <p><b>Parameter layout</b> (theta, length {@link #dimension()}): the layers in order, input
 * side first; for each layer with {@code in} inputs and {@code out} outputs, its weight matrix
 * W [out x in] row-major (W[o][i] at {@code offset + o * in + i}) followed by its bias b [out].
 * Layer widths are {@code features, hiddenWidths..., classes}.  For MNIST 784-20-10 that is
 * 784 x 20 + 20 + 20 x 10 + 10 = 15,910 values.
 *
 * <p><b>Loss</b>: mean softmax cross-entropy over the minibatch; hidden layers apply
 * {@link MlpSpec#activation()}, the output layer is linear (logits).
 *
 * <p><b>Threads</b>: thread-safe.  Evaluations borrow native work buffers from a pool owned by
 * the family, so native memory grows with the number of evaluations running at once, not with
 * the number of optimizees sampled, and no evaluation allocates once the pool is warm.
 * Loading this class sets OpenBLAS to one thread ({@code blas_set_num_threads(1)}), process
 * wide: callers parallelize across optimizees instead.
 */
public final class MlpFamily implements OptimizeeFamily {

    static {
        openblas.blas_set_num_threads(1);
    }

    /** Layer widths and parameter offsets, see the class comment. */
    static final class Shape {
        private final int[] widths;
        private final int[] weightOffsets;
        private final int[] biasOffsets;
        private final int dimension;

        Shape(int features, List<Integer> hidden, int classes) {
            int layers = hidden.size() + 1;
            widths = new int[layers + 1];
            widths[0] = features;
            for (int i = 0; i < hidden.size(); i++) {
                widths[i + 1] = hidden.get(i);
            }
            widths[layers] = classes;
            weightOffsets = new int[layers];
            biasOffsets = new int[layers];
            long offset = 0;
            for (int l = 0; l < layers; l++) {
                weightOffsets[l] = (int) offset;
                offset += (long) widths[l] * widths[l + 1];
                biasOffsets[l] = (int) offset;
                offset += widths[l + 1];
                if (offset > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("the MLP has more than 2^31 - 1 parameters");
                }
            }
            dimension = (int) offset;
        }

        /** Number of weight layers L (hidden layers + 1). */
        int layers() {
            return weightOffsets.length;
        }

        /** Width i of features, hidden..., classes (i = 0..L). */
        int width(int i) {
            return widths[i];
        }

        int weightOffset(int layer) {
            return weightOffsets[layer];
        }

        int biasOffset(int layer) {
            return biasOffsets[layer];
        }

        int dimension() {
            return dimension;
        }
    }

    /**
     * Loss and accuracy of one parameter vector over a whole data set.
     *
     * @param loss     mean softmax cross-entropy over all examples (nats)
     * @param accuracy fraction of examples whose largest logit is at the label (first index on
     *                 ties), in [0, 1]
     */
    public record Metrics(double loss, double accuracy) {
    }

    private final Dataset data;
    private final MlpSpec spec;
    private final Shape shape;
    private final WorkspacePool<MlpWorkspace> pool;

    /**
     * @param data the examples minibatches are drawn from; kept by reference (not copied)
     * @param spec architecture and protocol, e.g. {@link MlpSpec#paper()}
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code data} is empty
     */
    public MlpFamily(Dataset data, MlpSpec spec) {
        this.data = Objects.requireNonNull(data, "data");
        this.spec = Objects.requireNonNull(spec, "spec");
        if (data.size() == 0) {
            throw new IllegalArgumentException("data has no examples");
        }
        this.shape = new Shape(data.features(), spec.hiddenWidths(), data.classes());
        this.pool = new WorkspacePool<>(() -> new MlpWorkspace(shape, spec.activation(), spec.batchSize()));
    }

    /** E.g. {@code "mlp-784-20-10-sigmoid"}: layer widths and hidden activation. */
    @Override
    public String name() {
        StringBuilder name = new StringBuilder("mlp");
        for (int i = 0; i <= shape.layers(); i++) {
            name.append('-').append(shape.width(i));
        }
        name.append('-').append(spec.activation().name().toLowerCase(Locale.ROOT));
        return name.toString();
    }

    /** n, the length of theta: sum over layers of out x in + out. */
    /**
     * The layers' tensors in theta's order: {@code fc1.weight} [out, in], {@code fc1.bias} [out],
     * {@code fc2.weight}, ... (PyTorch's {@code nn.Linear} names, layer l + 1 for layer l).
     */
    @Override
    public List<ParameterTensor> tensors() {
        List<ParameterTensor> out = new ArrayList<>();
        for (int l = 0; l < shape.layers(); l++) {
            out.add(new ParameterTensor("fc" + (l + 1) + ".weight", new int[] {shape.width(l + 1), shape.width(l)},
                    shape.weightOffset(l)));
            out.add(new ParameterTensor("fc" + (l + 1) + ".bias", new int[] {shape.width(l + 1)}, shape.biasOffset(l)));
        }
        return out;
    }

    @Override
    public int dimension() {
        return shape.dimension();
    }

    /** The architecture and protocol. */
    public MlpSpec spec() {
        return spec;
    }

    /** The data set minibatches are drawn from. */
    public Dataset data() {
        return data;
    }

    /** Layer widths and parameter offsets. */
    Shape shape() {
        return shape;
    }

    /**
     * The optimizee for {@code seed}: its initial parameters and its minibatch stream are both
     * keyed by the seed, so sampling the same seed again replays the same function, theta_0 and
     * minibatch sequence.
     */
    @Override
    public MlpOptimizee sample(long seed) {
        return new MlpOptimizee(this, seed);
    }

    /**
     * This family's MLPs evaluated where {@code backend} computes, on a copy of the data set there
     * ({@link ResidentMlpFamily}: OpenBLAS on a CPU backend, cuBLAS on CUDA).  Empty, with a
     * warning in the log, when that is not possible: cuBLAS cannot be loaded beside a CUDA device,
     * or the backend has no memory for the data set; the MLPs are then evaluated on the host.
     */
    @Override
    public Optional<ResidentFamily> residentOn(Backend backend) {
        Objects.requireNonNull(backend, "backend");
        return ResidentFamily.placeOrWarn(this, backend, () -> new ResidentMlpFamily(this, backend));
    }

    /** The copy of the data set that {@link #residentOn} makes ({@link ResidentData#bytes}). */
    @Override
    public long residentBytes() {
        return ResidentData.bytes(data);
    }

    /** The buffers of a {@link ResidentMlpBatch} of {@code instances} MLPs. */
    @Override
    public long residentBatchBytes(int instances) {
        if (instances < 1) {
            throw new IllegalArgumentException("instances must be >= 1, got " + instances);
        }
        return ResidentMlpBatch.bytes(shape, spec.batchSize(), instances);
    }

    /**
     * Mean cross-entropy of theta over this family's whole data set; see
     * {@link #fullMetrics(float[], Dataset)}.
     */
    public double fullLoss(float[] theta) {
        return fullMetrics(theta, data).loss();
    }

    /**
     * Loss and accuracy of theta over this family's whole data set; see
     * {@link #fullMetrics(float[], Dataset)}.
     */
    public Metrics fullMetrics(float[] theta) {
        return fullMetrics(theta, data);
    }

    /**
     * Loss and accuracy of theta over every example of {@code other} (for end-of-run reports),
     * evaluated in consecutive chunks of {@link MlpSpec#batchSize()} examples.
     *
     * @param theta parameters, length {@link #dimension()}, in the layout of the class comment
     * @param other a data set with this family's numbers of features and classes
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if theta's length or other's shape does not match, or
     *                                  other is empty
     */
    public Metrics fullMetrics(float[] theta, Dataset other) {
        checkLength(theta, "theta");
        Objects.requireNonNull(other, "other");
        if (other.features() != data.features() || other.classes() != data.classes()) {
            throw new IllegalArgumentException("data set has " + other.features() + " features and "
                    + other.classes() + " classes, the MLP expects " + data.features() + " and "
                    + data.classes());
        }
        if (other.size() == 0) {
            throw new IllegalArgumentException("data set has no examples");
        }
        MlpWorkspace ws = pool.borrow();
        try {
            ws.loadParameters(theta);
            double total = 0;
            long correct = 0;
            for (int from = 0; from < other.size(); from += spec.batchSize()) {
                int m = Math.min(spec.batchSize(), other.size() - from);
                ws.gatherRange(other.images(), other.labels(), from, m);
                total += ws.forward(m);
                correct += ws.correct();
            }
            return new Metrics(total / other.size(), (double) correct / other.size());
        } finally {
            pool.giveBack(ws);
        }
    }

    /** Every MLP has exact Hessian-vector products, on each evaluation's minibatch ({@link MlpHessian}). */
    @Override
    public boolean hasHessianVectorProducts() {
        return true;
    }

    /** The Hessian-vector products of this family's networks. */
    MlpHessian hessian() {
        return new MlpHessian(shape, spec.activation(), data);
    }

    /**
     * Mean loss over {@code examples[0..count)} (indices into this family's data set), gradient
     * into {@code gradient}.  Arguments are checked by the caller.
     */
    double evaluate(float[] theta, float[] gradient, int[] examples, int count) {
        return pool.lossAndGradient(data, theta, gradient, examples, count);
    }

    /** Checks that {@code a} is a non-null array of length {@link #dimension()}. */
    void checkLength(float[] a, String what) {
        if (a == null) {
            throw new NullPointerException(what);
        }
        if (a.length != shape.dimension()) {
            throw new IllegalArgumentException(what + " has length " + a.length + ", expected "
                    + shape.dimension());
        }
    }
}
