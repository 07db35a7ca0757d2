package org.l2l4j.optimizees;

import java.util.SplittableRandom;

/**
 * One MLP classifier of an {@link MlpFamily}: fixed initial parameters and a private stream of
 * minibatches, both keyed by the seed it was sampled with.  Parameter layout, loss and threading
 * of the underlying computation: see {@link MlpFamily}.
 *
 * <p>theta_0: every weight and bias ~ N(0, {@link MlpSpec#initStd()}^2), drawn once at sampling.
 * Each {@link #lossAndGradient(float[], float[])} call draws the next {@link MlpSpec#batchSize()}
 * example indices uniformly with replacement from the data set and evaluates on them.
 *
 * <p>Not thread-safe (the minibatch stream), per the {@link Optimizee} contract.
 */
public final class MlpOptimizee implements Optimizee {

    private final MlpFamily family;
    private final float[] theta0;
    private final SplittableRandom minibatches;
    private final int[] examples;

    MlpOptimizee(MlpFamily family, long seed) {
        this.family = family;
        SplittableRandom root = new SplittableRandom(seed);
        SplittableRandom init = root.split();
        this.minibatches = root.split();
        double std = family.spec().initStd();
        this.theta0 = new float[family.dimension()];
        for (int i = 0; i < theta0.length; i++) {
            theta0[i] = (float) (std * init.nextGaussian());
        }
        this.examples = new int[family.spec().batchSize()];
    }

    /** The family this optimizee was sampled from (for {@link MlpFamily#fullMetrics(float[])}). */
    public MlpFamily family() {
        return family;
    }

    @Override
    public int dimension() {
        return theta0.length;
    }

    /** @throws IllegalArgumentException if {@code theta.length != dimension()} */
    @Override
    public void initialParameters(float[] theta) {
        family.checkLength(theta, "theta");
        System.arraycopy(theta0, 0, theta, 0, theta0.length);
    }

    /**
     * Mean cross-entropy over the next minibatch of this optimizee's stream; writes the gradient.
     *
     * @throws IllegalArgumentException if an array's length is not {@link #dimension()}
     */
    @Override
    public double lossAndGradient(float[] theta, float[] gradient) {
        family.checkLength(theta, "theta");
        family.checkLength(gradient, "gradient");
        drawMinibatch(examples);
        return family.evaluate(theta, gradient, examples, examples.length);
    }

    /**
     * Mean cross-entropy over the given examples of the family's data set, without touching the
     * minibatch stream: the loss of a fixed minibatch, for checks that re-evaluate the same
     * minibatch at several theta (finite differences).
     *
     * @param theta    parameters, length {@link #dimension()}; not modified
     * @param gradient receives df/dtheta, length {@link #dimension()}
     * @param batch    example indices into the data set, 1 to {@link MlpSpec#batchSize()} of
     *                 them, repeats allowed
     * @return the mean loss over {@code batch}
     * @throws IllegalArgumentException if a length is wrong or an index is out of range
     */
    public double lossAndGradient(float[] theta, float[] gradient, int[] batch) {
        family.checkLength(theta, "theta");
        family.checkLength(gradient, "gradient");
        if (batch == null) {
            throw new NullPointerException("batch");
        }
        if (batch.length < 1 || batch.length > examples.length) {
            throw new IllegalArgumentException("batch has " + batch.length
                    + " examples, expected 1 to " + examples.length);
        }
        int size = family.data().size();
        for (int i = 0; i < batch.length; i++) {
            if (batch[i] < 0 || batch[i] >= size) {
                throw new IllegalArgumentException("batch[" + i + "] = " + batch[i]
                        + " is outside [0, " + size + ")");
            }
        }
        return family.evaluate(theta, gradient, batch, batch.length);
    }

    /** Fills {@code out} with the next indices of the minibatch stream (uniform, with replacement). */
    void drawMinibatch(int[] out) {
        int size = family.data().size();
        for (int i = 0; i < out.length; i++) {
            out[i] = minibatches.nextInt(size);
        }
    }
}
