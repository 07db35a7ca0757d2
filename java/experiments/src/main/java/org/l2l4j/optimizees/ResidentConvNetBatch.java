package org.l2l4j.optimizees;

import java.util.ArrayList;
import java.util.List;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.blas.MatrixProducts;
import org.l2l4j.blas.MatrixProducts.Operand;
import org.l2l4j.optimizees.MlpSpec.Activation;

/**
 * B networks of a {@link ResidentConvNetFamily} evaluated together on its CUDA device: the
 * {@link ResidentBatch} of the convolutional optimizee.  Same network, loss and gradient as
 * {@link ConvNetWorkspace}, on NCHW tensors per instance: for each convolution l, its output z_l
 * (batch norm's input), a_l = ReLU(batch norm(z_l)) and the pooled p_l, which is the next
 * convolution's input (the first reads the gathered images); the last p_l, read as [m][features],
 * is the fully connected layer's input (PyTorch's flattening order).  The convolutions, batch
 * norm, ReLU's forward and pooling run one cuDNN call per instance ({@link CudnnConvNet}); the
 * fully connected layers are one batched cuBLAS product over the instances; gathering, the
 * output bias, the softmax cross-entropy, ReLU's backward (through a_l) and the bias gradient are
 * the native MLP kernels over all instances ({@link MlpKernels}).  Every weight gradient is
 * written straight into the gradient buffer; nothing is copied to the host but the minibatch
 * indices ({@link MinibatchIndices}).
 *
 * <p>Native memory per instance ({@link #bytes}), m the minibatch size: 4 m (features + 1 +
 * sum over l of (2 |z_l| + |p_l|) + 2 fcWidth + classes + 2 widest) bytes plus batch norm's saved
 * statistics and the minibatch indices: 43 MB for the paper's network.  Not thread-safe.
 */
final class ResidentConvNetBatch extends AbstractResidentBatch {
    private final ResidentConvNetFamily resident;
    private final ConvNetSpec spec;
    private final int classes;
    private final int rows;
    private final List<ParameterTensor> tensors;
    private final MinibatchIndices indices;
    private final List<NativeBuffer> owned = new ArrayList<>();
    private final NativeBuffer x;
    private final NativeBuffer y;
    /** z[l], a[l], p[l]: convolution l's output, its ReLU(batch norm), its pooling; [B][m * channels * side^2]. */
    private final NativeBuffer[] z;
    private final NativeBuffer[] a;
    private final NativeBuffer[] p;
    private final NativeBuffer fcZ;
    private final NativeBuffer fcA;
    private final NativeBuffer logits;
    /** Batch norm's saved means and 1/sqrt(var + eps): [B][2][channels of every batch norm]. */
    private final NativeBuffer statistics;
    /** Two gradient buffers, [B][widest] each, used in turn. */
    private final NativeBuffer[] deltas;

    /** The bytes a batch of {@code instances} networks of {@code spec} with {@code classes} outputs allocates. */
    static long bytes(ConvNetSpec spec, int classes, int instances) {
        long m = spec.batchSize();
        long floats = m * spec.features() + 2L * m * spec.fcWidth() + m * classes + 2L * widest(spec, classes)
                + 2L * normalizedChannels(spec);
        for (int l = 0; l < spec.convolutions(); l++) {
            floats += 2 * activations(spec, l) + activations(spec, l) / 4;
        }
        return 4L * instances * (floats + m) + MinibatchIndices.bytes(instances, spec.batchSize());
    }

    /** |z_l| per instance: m x channels x side^2. */
    private static long activations(ConvNetSpec spec, int l) {
        return (long) spec.batchSize() * spec.convChannels().get(l) * spec.side(l) * spec.side(l);
    }

    /** The channels (units) of every batch norm: the convolutions' outputs, then the fully connected layer. */
    private static int normalizedChannels(ConvNetSpec spec) {
        return spec.convChannels().stream().mapToInt(Integer::intValue).sum() + spec.fcWidth();
    }

    /** The largest gradient per instance: an activation, the flattened features, the hidden or the logits. */
    private static long widest(ConvNetSpec spec, int classes) {
        long m = spec.batchSize();
        long most = m * Math.max(spec.flatFeatures(), Math.max(spec.fcWidth(), classes));
        for (int l = 0; l < spec.convolutions(); l++) {
            most = Math.max(most, Math.max(activations(spec, l), m * spec.inputChannels(l) * spec.side(l) * spec.side(l)));
        }
        return most;
    }

    ResidentConvNetBatch(ResidentConvNetFamily resident, int instances) {
        super(resident.backend(), instances, resident.dimension());
        this.resident = resident;
        this.spec = resident.family().spec();
        this.classes = resident.family().data().classes();
        this.rows = spec.batchSize();
        this.tensors = resident.tensors();
        int layers = spec.convolutions();
        z = new NativeBuffer[layers];
        a = new NativeBuffer[layers];
        p = new NativeBuffer[layers];
        deltas = new NativeBuffer[2];
        MinibatchIndices streams;
        try {
            for (int l = 0; l < layers; l++) {
                z[l] = floats(activations(spec, l));
                a[l] = floats(activations(spec, l));
                p[l] = floats(activations(spec, l) / 4);
            }
            x = floats((long) rows * spec.features());
            y = ints(rows);
            fcZ = floats((long) rows * spec.fcWidth());
            fcA = floats((long) rows * spec.fcWidth());
            logits = floats((long) rows * classes);
            statistics = floats(2L * normalizedChannels(spec));
            deltas[0] = floats(widest(spec, classes));
            deltas[1] = floats(widest(spec, classes));
            streams = new MinibatchIndices(resident.backend(), instances, rows);
        } catch (RuntimeException e) {
            closeOwned();
            throw e;
        }
        indices = streams;
    }

    /** A float32 buffer of {@code perInstance} elements for each instance, freed by {@link #release()}. */
    private NativeBuffer floats(long perInstance) {
        NativeBuffer b = resident.backend().allocateFloats(perInstance * instances);
        owned.add(b);
        return b;
    }

    private NativeBuffer ints(long perInstance) {
        NativeBuffer b = resident.backend().allocateInts(perInstance * instances);
        owned.add(b);
        return b;
    }

    @Override
    void begin(long[] seeds, NativeBuffer theta) {
        indices.start(sampleInto(seeds, theta, resident.family()::sample));
    }

    @Override
    void evaluateChecked(NativeBuffer theta, NativeBuffer gradient, double gradientScale, NativeBuffer losses,
                         long lossOffset) {
        long from = indices.next();
        MlpKernels.gather(resident.images(), resident.labels(), spec.features(), indices.buffer(), from,
                (long) instances * rows, x, y, false);
        resident.layers().makeCurrent();
        forward(theta);
        MlpKernels.softmaxCrossEntropy(instances, rows, classes, logits, y, gradientScale, deltas[0], losses,
                lossOffset);
        backward(theta, gradient);
    }

    private void forward(NativeBuffer theta) {
        CudnnConvNet net = resident.layers();
        MatrixProducts blas = resident.products();
        int layers = spec.convolutions();
        for (int b = 0; b < instances; b++) {
            for (int l = 0; l < layers; l++) {
                long input = l == 0 ? at(x, b, (long) rows * spec.features()) : at(p[l - 1], b, activations(spec, l - 1) / 4);
                net.convolution(l, input, parameter(theta, b, 3 * l), at(z[l], b, activations(spec, l)));
                net.batchNormRelu(l, at(z[l], b, activations(spec, l)), parameter(theta, b, 3 * l + 1),
                        parameter(theta, b, 3 * l + 2), at(a[l], b, activations(spec, l)), mean(b, l), invStd(b, l));
                net.maxPool(l, at(a[l], b, activations(spec, l)), at(p[l], b, activations(spec, l) / 4));
            }
        }
        int f = spec.flatFeatures();
        int w = spec.fcWidth();
        blas.multiply(instances, rows, w, f, new Operand(p[layers - 1], 0, f, (long) rows * f), false,
                new Operand(theta, offset(3 * layers), f, dimension), true,
                new Operand(fcZ, 0, w, (long) rows * w));
        for (int b = 0; b < instances; b++) {
            net.batchNormRelu(layers, at(fcZ, b, (long) rows * w), parameter(theta, b, 3 * layers + 1),
                    parameter(theta, b, 3 * layers + 2), at(fcA, b, (long) rows * w), mean(b, layers),
                    invStd(b, layers));
        }
        blas.multiply(instances, rows, classes, w, new Operand(fcA, 0, w, (long) rows * w), false,
                new Operand(theta, offset(3 * layers + 3), w, dimension), true,
                new Operand(logits, 0, classes, (long) rows * classes));
        MlpKernels.biasActivation(instances, rows, classes, logits, theta, offset(3 * layers + 4), dimension, null);
    }

    /** From dL/dlogits (in deltas[0], [B][m][classes]) down to the first convolution, into the gradient. */
    private void backward(NativeBuffer theta, NativeBuffer gradient) {
        CudnnConvNet net = resident.layers();
        MatrixProducts blas = resident.products();
        int layers = spec.convolutions();
        int f = spec.flatFeatures();
        int w = spec.fcWidth();
        long hidden = (long) rows * w;
        Operand dLogits = new Operand(deltas[0], 0, classes, (long) rows * classes);
        blas.multiply(instances, classes, w, rows, dLogits, true, new Operand(fcA, 0, w, hidden), false,
                new Operand(gradient, offset(3 * layers + 3), w, dimension));
        MlpKernels.biasGradient(instances, rows, classes, deltas[0], gradient, offset(3 * layers + 4), dimension);
        blas.multiply(instances, rows, w, classes, dLogits, false,
                new Operand(theta, offset(3 * layers + 3), w, dimension), false, new Operand(deltas[1], 0, w, hidden));
        MlpKernels.activationBackward(instances * hidden, fcA, deltas[1], Activation.RELU);
        for (int b = 0; b < instances; b++) {
            net.batchNormGradient(layers, at(fcZ, b, hidden), at(deltas[1], b, hidden), at(deltas[0], b, hidden),
                    parameter(theta, b, 3 * layers + 1), parameter(gradient, b, 3 * layers + 1),
                    parameter(gradient, b, 3 * layers + 2), mean(b, layers), invStd(b, layers));
        }
        Operand dHidden = new Operand(deltas[0], 0, w, hidden);
        blas.multiply(instances, w, f, rows, dHidden, true, new Operand(p[layers - 1], 0, f, (long) rows * f), false,
                new Operand(gradient, offset(3 * layers), f, dimension));
        blas.multiply(instances, rows, f, w, dHidden, false, new Operand(theta, offset(3 * layers), f, dimension),
                false, new Operand(deltas[1], 0, f, (long) rows * f));
        int current = 1;
        for (int l = layers - 1; l >= 0; l--) {
            long size = activations(spec, l);
            NativeBuffer dPooled = deltas[current];
            NativeBuffer dActivation = deltas[1 - current];
            for (int b = 0; b < instances; b++) {
                net.maxPoolGradient(l, at(a[l], b, size), at(p[l], b, size / 4), at(dPooled, b, size / 4),
                        at(dActivation, b, size));
            }
            MlpKernels.activationBackward(instances * size, a[l], dActivation, Activation.RELU);
            NativeBuffer dz = dPooled;
            for (int b = 0; b < instances; b++) {
                net.batchNormGradient(l, at(z[l], b, size), at(dActivation, b, size), at(dz, b, size),
                        parameter(theta, b, 3 * l + 1), parameter(gradient, b, 3 * l + 1),
                        parameter(gradient, b, 3 * l + 2), mean(b, l), invStd(b, l));
                long input = l == 0 ? at(x, b, (long) rows * spec.features()) : at(p[l - 1], b, size(l - 1));
                net.convolutionWeightGradient(l, input, at(dz, b, size), parameter(gradient, b, 3 * l));
            }
            for (int b = 0; l > 0 && b < instances; b++) {
                net.convolutionInputGradient(l, parameter(theta, b, 3 * l), at(dz, b, size),
                        at(dActivation, b, size(l - 1)));
            }
            current = 1 - current;
        }
    }

    /** |p_l| per instance. */
    private long size(int l) {
        return activations(spec, l) / 4;
    }

    /** The address of instance b's slice of {@code perInstance} elements. */
    private static long at(NativeBuffer buffer, int b, long perInstance) {
        return buffer.address(b * perInstance);
    }

    /** The offset in theta of tensor t ({@link ConvNetSpec#tensors}). */
    private int offset(int t) {
        return tensors.get(t).offset();
    }

    /** The address of tensor t of instance b in a [B d] buffer (theta or the gradient). */
    private long parameter(NativeBuffer buffer, int b, int t) {
        return buffer.address((long) b * dimension + offset(t));
    }

    /** The saved means of batch norm l (the fully connected layer's for l = convolutions) of instance b. */
    private long mean(int b, int l) {
        int at = 0;
        for (int i = 0; i < l; i++) {
            at += spec.convChannels().get(i);
        }
        return statistics.address(2L * b * normalizedChannels(spec) + at);
    }

    /** The saved 1/sqrt(var + eps) of batch norm l of instance b. */
    private long invStd(int b, int l) {
        return mean(b, l) + 4L * normalizedChannels(spec);
    }

    @Override
    void release() {
        closeOwned();
        indices.close();
    }

    private void closeOwned() {
        for (NativeBuffer b : owned) {
            b.close();
        }
        owned.clear();
    }
}
