package org.l2l4j.meta;

import java.util.List;
import java.util.Objects;
import java.util.stream.IntStream;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.lstm.CoordinatewiseLstm;
import org.l2l4j.lstm.TensorList;
import org.l2l4j.lstm.UnrollRecord;
import org.l2l4j.optimizees.Optimizee;

/**
 * B optimizees of one dimension d driven by the learned optimizer together: their parameters
 * are one coordinate vector of B d coordinates (instance b at [b d, (b + 1) d)), so that one
 * native step serves them all (DESIGN section 3, "many optimizees, one launch").  The
 * optimizees are evaluated on the host, in parallel across instances.
 *
 * <p>After {@link #start} and every {@link #advance}, the gradient buffer holds x_t = grad
 * f_b(theta_t) of every instance (times the input scale), ready for the next step.
 */
final class OptimizeeBatch implements AutoCloseable {
    private final CoordinatewiseLstm lstm;
    private final int dimension;
    private final int instances;
    private final NativeBuffer theta;
    private final NativeBuffer grad;
    private final NativeBuffer state;
    private final TensorList tensors;
    private final UnrollRecord record;
    private final float[][] hostTheta;
    private final float[][] hostGrad;
    private List<? extends Optimizee> optimizees = List.of();
    private float inputScale = 1f;
    private long lastStepNanos;

    /**
     * @param recordSteps capacity of the backward record (0 for none: forward only)
     */
    OptimizeeBatch(Backend backend, CoordinatewiseLstm lstm, int dimension, int instances, int recordSteps) {
        this.lstm = Objects.requireNonNull(lstm, "lstm");
        if (dimension < 1 || instances < 1) {
            throw new IllegalArgumentException("need >= 1 instance of dimension >= 1, got " + instances + " x "
                    + dimension);
        }
        this.dimension = dimension;
        this.instances = instances;
        long n = (long) dimension * instances;
        theta = backend.allocateFloats(n);
        grad = backend.allocateFloats(n);
        int rows = lstm.config().stateRows();
        state = rows > 0 ? backend.allocateFloats(rows * n) : null;
        tensors = TensorList.of(theta, grad);
        record = recordSteps > 0 ? new UnrollRecord(backend, lstm.config(), n, recordSteps) : null;
        hostTheta = new float[instances][dimension];
        hostGrad = new float[instances][dimension];
    }

    int instances() {
        return instances;
    }

    long coordinates() {
        return (long) dimension * instances;
    }

    UnrollRecord record() {
        return record;
    }

    NativeBuffer gradient() {
        return grad;
    }

    /**
     * Starts a trajectory: theta_0 of each optimizee, zero state, and the first evaluation.
     *
     * @param scale factor applied to the gradients fed to the LSTM (1, or 1/B for the
     *              reference code's mean-gradient input)
     * @return f_b(theta_0) for each instance
     */
    double[] start(List<? extends Optimizee> fs, double scale) {
        if (fs.size() != instances) {
            throw new IllegalArgumentException("expected " + instances + " optimizees, got " + fs.size());
        }
        for (Optimizee f : fs) {
            if (f.dimension() != dimension) {
                throw new IllegalArgumentException("optimizee of dimension " + f.dimension() + ", expected " + dimension);
            }
        }
        this.optimizees = List.copyOf(fs);
        this.inputScale = (float) scale;
        for (int b = 0; b < instances; b++) {
            optimizees.get(b).initialParameters(hostTheta[b]);
            theta.write((long) b * dimension, hostTheta[b], 0, dimension);
        }
        if (state != null) {
            state.zero();
        }
        return evaluate();
    }

    /**
     * One learned-optimizer step for all instances (recorded in {@code slot}, or not when
     * {@code slot < 0}), then the evaluation at the new parameters.
     *
     * @return f_b(theta_{t+1}) for each instance
     */
    double[] advance(NativeBuffer phi, int slot) {
        long t0 = System.nanoTime();
        lstm.step(phi, tensors, state, slot >= 0 ? record : null, Math.max(slot, 0), false);
        lastStepNanos = System.nanoTime() - t0;
        for (int b = 0; b < instances; b++) {
            theta.read((long) b * dimension, hostTheta[b], 0, dimension);
        }
        return evaluate();
    }

    /** Wall time of the last native step. */
    long lastStepNanos() {
        return lastStepNanos;
    }

    /** The current parameters of instance b (a live array: do not modify). */
    float[] parameters(int b) {
        return hostTheta[b];
    }

    /**
     * Evaluates every instance (in parallel).  If optimizees throw, every instance still finishes
     * before the first one's exception (by instance) is rethrown with the others suppressed, so
     * that no evaluation is left running on this batch's arrays.
     */
    private double[] evaluate() {
        double[] losses = new double[instances];
        RuntimeException[] failures = new RuntimeException[instances];
        IntStream stream = IntStream.range(0, instances);
        (instances > 1 ? stream.parallel() : stream).forEach(b -> {
            try {
                losses[b] = optimizees.get(b).lossAndGradient(hostTheta[b], hostGrad[b]);
            } catch (RuntimeException e) {
                failures[b] = e;
                return;
            }
            if (inputScale != 1f) {
                for (int i = 0; i < dimension; i++) {
                    hostGrad[b][i] *= inputScale;
                }
            }
        });
        RuntimeException first = null;
        for (RuntimeException e : failures) {
            if (first == null) {
                first = e;
            } else if (e != null) {
                first.addSuppressed(e);
            }
        }
        if (first != null) {
            throw first;
        }
        for (int b = 0; b < instances; b++) {
            grad.write((long) b * dimension, hostGrad[b], 0, dimension);
        }
        return losses;
    }

    @Override
    public void close() {
        tensors.close();
        if (record != null) {
            record.close();
        }
        theta.close();
        grad.close();
        if (state != null) {
            state.close();
        }
    }
}
