package org.l2l4j.optimizees;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.LongFunction;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;

/**
 * What every {@link ResidentBatch} shares: the checks of the interface's contract (buffers of
 * the right type and length on the family's backend, a started batch, a finite gradient scale,
 * losses in range, an open batch) before the subclass's work, which may then assume them.
 */
abstract class AbstractResidentBatch implements ResidentBatch {
    private final Backend backend;
    /** B. */
    final int instances;
    /** d, the dimension of each instance. */
    final int dimension;
    private boolean started;
    private boolean closed;

    AbstractResidentBatch(Backend backend, int instances, int dimension) {
        if (instances < 1) {
            throw new IllegalArgumentException("instances must be >= 1, got " + instances);
        }
        this.backend = backend;
        this.instances = instances;
        this.dimension = dimension;
    }

    @Override
    public final int instances() {
        return instances;
    }

    @Override
    public final int dimension() {
        return dimension;
    }

    @Override
    public final void start(long[] seeds, NativeBuffer theta) {
        requireOpen();
        Objects.requireNonNull(seeds, "seeds");
        if (seeds.length != instances) {
            throw new IllegalArgumentException("expected " + instances + " seeds, got " + seeds.length);
        }
        requireParameters("theta", theta);
        begin(seeds, theta);
        started = true;
    }

    @Override
    public final void evaluate(NativeBuffer theta, NativeBuffer gradient, double gradientScale, NativeBuffer losses,
                               long lossOffset) {
        requireOpen();
        if (!started) {
            throw new IllegalStateException("start() was not called");
        }
        requireParameters("theta", theta);
        requireParameters("gradient", gradient);
        if (theta == gradient) {
            throw new IllegalArgumentException("theta and gradient must be different buffers");
        }
        Objects.requireNonNull(losses, "losses");
        if (losses.isClosed()) {
            throw new IllegalStateException("losses is closed");
        }
        if (losses.backend() != backend || losses.type() != NativeBuffer.ElementType.F64) {
            throw new IllegalArgumentException("losses must be an F64 buffer on the family's backend, got " + losses);
        }
        if (!Float.isFinite((float) gradientScale)) {
            throw new IllegalArgumentException("gradientScale must be finite, got " + gradientScale);
        }
        if (lossOffset < 0 || lossOffset > losses.length() - instances) {
            throw new IllegalArgumentException("losses [" + lossOffset + ", " + (lossOffset + instances)
                    + ") are outside its " + losses.length() + " elements");
        }
        evaluateChecked(theta, gradient, gradientScale, losses, lossOffset);
    }

    @Override
    public final void close() {
        if (!closed) {
            closed = true;
            release();
        }
    }

    /** Starts the trajectories of {@code seeds}: writes every instance's theta_0 into {@code theta}. */
    abstract void begin(long[] seeds, NativeBuffer theta);

    /**
     * The host-side optimizees of {@code seeds} from {@code family}, each one's theta_0 written at
     * its instance's place in {@code theta}: what {@link #begin} does for families of sampled
     * optimizees.
     */
    final <O extends Optimizee> List<O> sampleInto(long[] seeds, NativeBuffer theta, LongFunction<O> family) {
        List<O> sampled = new ArrayList<>(seeds.length);
        float[] theta0 = new float[dimension];
        for (int b = 0; b < seeds.length; b++) {
            O f = family.apply(seeds[b]);
            f.initialParameters(theta0);
            theta.write((long) b * dimension, theta0, 0, dimension);
            sampled.add(f);
        }
        return sampled;
    }

    /** {@link #evaluate} on checked arguments. */
    abstract void evaluateChecked(NativeBuffer theta, NativeBuffer gradient, double gradientScale,
                                  NativeBuffer losses, long lossOffset);

    /** Frees the batch's buffers (called once). */
    abstract void release();

    private void requireParameters(String name, NativeBuffer b) {
        Objects.requireNonNull(b, name);
        if (b.isClosed()) {
            throw new IllegalStateException(name + " is closed");
        }
        if (b.backend() != backend) {
            throw new IllegalArgumentException(name + " lives on another backend than the family's data");
        }
        if (b.type() != NativeBuffer.ElementType.F32 || b.length() != (long) instances * dimension) {
            throw new IllegalArgumentException(name + " must be F32 x " + (long) instances * dimension + ", got " + b);
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the resident batch is closed");
        }
    }
}
