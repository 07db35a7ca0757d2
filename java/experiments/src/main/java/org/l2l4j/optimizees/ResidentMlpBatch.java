package org.l2l4j.optimizees;

import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.blas.MatrixProducts.Operand;
import org.l2l4j.blas.MatrixProducts;
import org.l2l4j.optimizees.MlpSpec.Activation;

/**
 * B MLPs of a {@link ResidentMlpFamily} evaluated together where the family's backend computes:
 * the {@link ResidentBatch} of the MLP optimizee.  Same layout, loss and gradient as
 * {@link MlpWorkspace} (forward Z_l = A_{l-1} W_l^T + b_l, A_l = act(Z_l); mean softmax
 * cross-entropy; backward dW_l = dZ_l^T A_{l-1}, db_l = column sums of dZ_l,
 * dZ_{l-1} = (dZ_l W_l) * act'(A_{l-1})), with every instance's matrices in one batched product
 * and every element-wise step one native call over all instances ({@link MlpKernels}).  The
 * weight and bias gradients are written straight into the gradient buffer; nothing is copied to
 * the host.
 *
 * <p>Minibatches: each instance draws its indices from its own stream exactly as
 * {@link MlpOptimizee} does ({@link MinibatchIndices}).  Native memory ({@link #bytes}):
 * 4 B m (features + 1 + {@value MinibatchIndices#CHUNK} + sum of the layers' output widths +
 * 2 x the widest) bytes, m the minibatch size: 470 KB per instance of the paper's MNIST MLP.
 */
final class ResidentMlpBatch extends AbstractResidentBatch {

    private final ResidentMlpFamily resident;
    private final MlpFamily.Shape shape;
    private final Activation activation;
    private final int rows;
    private final NativeBuffer x;
    private final NativeBuffer y;
    private final MinibatchIndices indices;
    private final NativeBuffer[] outputs;
    private final NativeBuffer[] deltas;

    /** The bytes a batch of {@code instances} MLPs of {@code shape} allocates, minibatches of {@code rows}. */
    static long bytes(MlpFamily.Shape shape, int rows, int instances) {
        long perRow = shape.width(0) + 1L;
        int widest = 1;
        for (int l = 0; l < shape.layers(); l++) {
            perRow += shape.width(l + 1);
            widest = Math.max(widest, shape.width(l + 1));
        }
        return 4L * instances * rows * (perRow + 2L * widest) + MinibatchIndices.bytes(instances, rows);
    }

    ResidentMlpBatch(ResidentMlpFamily resident, int instances) {
        super(resident.backend(), instances, resident.dimension());
        this.resident = resident;
        MlpFamily family = resident.family();
        this.shape = family.shape();
        this.activation = family.spec().activation();
        this.rows = family.spec().batchSize();
        Backend backend = resident.backend();
        long batchRows = (long) instances * rows;
        int layers = shape.layers();
        outputs = new NativeBuffer[layers];
        deltas = new NativeBuffer[2];
        NativeBuffer[] made = new NativeBuffer[2];
        MinibatchIndices streams = null;
        try {
            int widest = 1;
            for (int l = 0; l < layers; l++) {
                outputs[l] = backend.allocateFloats(batchRows * shape.width(l + 1));
                widest = Math.max(widest, shape.width(l + 1));
            }
            for (int i = 0; i < 2; i++) {
                deltas[i] = backend.allocateFloats(batchRows * widest);
            }
            made[0] = backend.allocateFloats(batchRows * shape.width(0));
            made[1] = backend.allocateInts(batchRows);
            streams = new MinibatchIndices(backend, instances, rows);
        } catch (RuntimeException e) {
            closeAll(outputs);
            closeAll(deltas);
            closeAll(made);
            throw e;
        }
        x = made[0];
        y = made[1];
        indices = streams;
    }

    @Override
    void begin(long[] seeds, NativeBuffer theta) {
        indices.start(sampleInto(seeds, theta, resident.family()::sample));
    }

    @Override
    void evaluateChecked(NativeBuffer theta, NativeBuffer gradient, double gradientScale, NativeBuffer losses,
                         long lossOffset) {
        long from = indices.next();
        MlpKernels.gather(resident.images(), resident.labels(), shape.width(0), indices.buffer(), from,
                (long) instances * rows, x, y, false);
        forward(theta);
        int layers = shape.layers();
        MlpKernels.softmaxCrossEntropy(instances, rows, shape.width(layers), outputs[layers - 1], y, gradientScale,
                deltas[0], losses, lossOffset);
        backward(theta, gradient);
    }

    /** Z_l = A_{l-1} W_l^T, then bias and activation (none for the logits). */
    private void forward(NativeBuffer theta) {
        MatrixProducts blas = resident.products();
        int layers = shape.layers();
        for (int l = 0; l < layers; l++) {
            int in = shape.width(l);
            int out = shape.width(l + 1);
            NativeBuffer below = l == 0 ? x : outputs[l - 1];
            blas.multiply(instances, rows, out, in, new Operand(below, 0, in, (long) rows * in), false,
                    new Operand(theta, shape.weightOffset(l), in, dimension), true,
                    new Operand(outputs[l], 0, out, (long) rows * out));
            MlpKernels.biasActivation(instances, rows, out, outputs[l], theta, shape.biasOffset(l), dimension,
                    l < layers - 1 ? activation : null);
        }
    }

    /** From dZ of the logits (in deltas[0]) down to the first layer, into the gradient. */
    private void backward(NativeBuffer theta, NativeBuffer gradient) {
        MatrixProducts blas = resident.products();
        int current = 0;
        for (int l = shape.layers() - 1; l >= 0; l--) {
            int in = shape.width(l);
            int out = shape.width(l + 1);
            NativeBuffer below = l == 0 ? x : outputs[l - 1];
            Operand dz = new Operand(deltas[current], 0, out, (long) rows * out);
            blas.multiply(instances, out, in, rows, dz, true, new Operand(below, 0, in, (long) rows * in), false,
                    new Operand(gradient, shape.weightOffset(l), in, dimension));
            MlpKernels.biasGradient(instances, rows, out, deltas[current], gradient, shape.biasOffset(l), dimension);
            if (l > 0) {
                blas.multiply(instances, rows, in, out, dz, false, new Operand(theta, shape.weightOffset(l), in,
                        dimension), false, new Operand(deltas[1 - current], 0, in, (long) rows * in));
                current = 1 - current;
                MlpKernels.activationBackward((long) instances * rows * in, outputs[l - 1], deltas[current],
                        activation);
            }
        }
    }

    @Override
    void release() {
        closeAll(outputs);
        closeAll(deltas);
        closeAll(new NativeBuffer[] {x, y});
        indices.close();
    }

    private static void closeAll(NativeBuffer[] buffers) {
        for (NativeBuffer b : buffers) {
            if (b != null) {
                b.close();
            }
        }
    }
}
