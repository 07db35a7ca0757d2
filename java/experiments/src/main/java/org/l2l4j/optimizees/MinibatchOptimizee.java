package org.l2l4j.optimizees;

import java.util.Objects;
import java.util.SplittableRandom;

/**
 * An optimizee whose loss is the mean loss of a classifier over a minibatch of a data set: fixed
 * initial parameters and a private stream of minibatches, both keyed by the seed it was sampled
 * with (two streams split from one {@link SplittableRandom} of the seed: the first draws
 * theta_0, the second the minibatches).  Each {@link #lossAndGradient(float[], float[])} call draws
 * the next {@code batchSize} example indices uniformly with replacement.
 *
 * <p>Not thread-safe (the minibatch stream), per the {@link Optimizee} contract.
 */
public abstract class MinibatchOptimizee implements Optimizee {

    /** Draws theta_0 from its stream. */
    @FunctionalInterface
    protected interface Initializer {
        /** Fills {@code theta} from {@code random}. */
        void draw(SplittableRandom random, float[] theta);
    }

    private final long seed;
    private final float[] theta0;
    private final SplittableRandom minibatches;
    private final int[] examples;
    private final int dataSize;

    /**
     * @param seed      the optimizee's seed
     * @param dimension n
     * @param batchSize examples per minibatch
     * @param dataSize  examples in the data set the minibatches index
     * @param init      draws theta_0
     */
    protected MinibatchOptimizee(long seed, int dimension, int batchSize, int dataSize, Initializer init) {
        this.seed = seed;
        SplittableRandom root = new SplittableRandom(seed);
        SplittableRandom initStream = root.split();
        this.minibatches = root.split();
        this.theta0 = new float[dimension];
        init.draw(initStream, theta0);
        this.examples = new int[batchSize];
        this.dataSize = dataSize;
    }

    /**
     * Mean loss over {@code examples[0..count)}, gradient into {@code gradient}; the arguments
     * are checked.
     */
    protected abstract double evaluate(float[] theta, float[] gradient, int[] examples, int count);

    @Override
    public int dimension() {
        return theta0.length;
    }

    /** @throws IllegalArgumentException if {@code theta.length != dimension()} */
    @Override
    public void initialParameters(float[] theta) {
        checkLength(theta, "theta");
        System.arraycopy(theta0, 0, theta, 0, theta0.length);
    }

    /**
     * Mean cross-entropy over the next minibatch of this optimizee's stream; writes the gradient.
     *
     * @throws NullPointerException     if an array is null
     * @throws IllegalArgumentException if an array's length is not {@link #dimension()}
     */
    @Override
    public double lossAndGradient(float[] theta, float[] gradient) {
        checkLength(theta, "theta");
        checkLength(gradient, "gradient");
        drawMinibatch(examples);
        return evaluate(theta, gradient, examples, examples.length);
    }

    /**
     * Mean cross-entropy over the given examples of the data set, without touching the minibatch
     * stream: the loss of a fixed minibatch, for checks that re-evaluate the same minibatch at
     * several theta (finite differences).
     *
     * @param theta    parameters, length {@link #dimension()}; not modified
     * @param gradient receives df/dtheta, length {@link #dimension()}
     * @param batch    example indices into the data set, 1 to the minibatch size of them
     *                 (at least 2 for networks with batch norm), repeats allowed
     * @return the mean loss over {@code batch}
     * @throws NullPointerException     if an array is null
     * @throws IllegalArgumentException if a length is wrong or an index is out of range
     */
    public double lossAndGradient(float[] theta, float[] gradient, int[] batch) {
        checkLength(theta, "theta");
        checkLength(gradient, "gradient");
        Objects.requireNonNull(batch, "batch");
        if (batch.length < minimumBatch() || batch.length > examples.length) {
            throw new IllegalArgumentException("batch has " + batch.length
                    + " examples, expected " + minimumBatch() + " to " + examples.length);
        }
        for (int i = 0; i < batch.length; i++) {
            if (batch[i] < 0 || batch[i] >= dataSize) {
                throw new IllegalArgumentException("batch[" + i + "] = " + batch[i]
                        + " is outside [0, " + dataSize + ")");
            }
        }
        return evaluate(theta, gradient, batch, batch.length);
    }

    /**
     * out = H v on the minibatch of evaluation {@code evaluation}, replayed from the seed (the
     * stream redrawn from its start: O(evaluation x batch size) draws), without touching this
     * optimizee's own stream; the network's product is {@link #hessianVectorProduct(float[],
     * float[], float[], int[])}.
     */
    @Override
    public void hessianVectorProduct(long evaluation, float[] theta, float[] v, float[] out) {
        if (evaluation < 0) {
            throw new IllegalArgumentException("evaluation must be >= 0, got " + evaluation);
        }
        checkLength(theta, "theta");
        checkLength(v, "v");
        checkLength(out, "out");
        if (!hasHessianVectorProducts()) {
            Optimizee.super.hessianVectorProduct(evaluation, theta, v, out);
        }
        SplittableRandom root = new SplittableRandom(seed);
        root.split();
        SplittableRandom replay = root.split();
        int[] batch = new int[examples.length];
        for (long e = 0; e <= evaluation; e++) {
            draw(replay, batch);
        }
        hessianVectorProduct(theta, v, out, batch);
    }

    /**
     * out = H v of the mean loss over {@code batch} at theta (checked arguments), for networks
     * that offer it ({@link #hasHessianVectorProducts()}).
     *
     * @throws UnsupportedOperationException by default
     */
    protected void hessianVectorProduct(float[] theta, float[] v, float[] out, int[] batch) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has no Hessian-vector products");
    }

    /** The fewest examples a minibatch may have: 1 unless the network needs more. */
    protected int minimumBatch() {
        return 1;
    }

    /** Fills {@code out} with the next indices of the minibatch stream (uniform, with replacement). */
    void drawMinibatch(int[] out) {
        draw(minibatches, out);
    }

    /** The next {@code out.length} example indices of {@code stream} (uniform, with replacement). */
    private void draw(SplittableRandom stream, int[] out) {
        for (int i = 0; i < out.length; i++) {
            out[i] = stream.nextInt(dataSize);
        }
    }

    /** Checks that {@code a} is a non-null array of length {@link #dimension()}. */
    protected final void checkLength(float[] a, String what) {
        Objects.requireNonNull(a, what);
        if (a.length != theta0.length) {
            throw new IllegalArgumentException(what + " has length " + a.length + ", expected " + theta0.length);
        }
    }
}
