package org.l2l4j.optimizees;

/**
 * One MLP classifier of an {@link MlpFamily}: fixed initial parameters and a private stream of
 * minibatches, both keyed by the seed it was sampled with ({@link MinibatchOptimizee}).
 * Parameter layout, loss and threading of the underlying computation: see {@link MlpFamily}.
 *
 * <p>theta_0: every weight and bias ~ N(0, {@link MlpSpec#initStd()}^2), drawn once at sampling.
 * Minibatches: {@link MlpSpec#batchSize()} example indices of the family's data set.
 *
 * <p>Not thread-safe (the minibatch stream), per the {@link Optimizee} contract.
 */
public final class MlpOptimizee extends MinibatchOptimizee {

    private final MlpFamily family;

    MlpOptimizee(MlpFamily family, long seed) {
        super(seed, family.dimension(), family.spec().batchSize(), family.data().size(), (random, theta) -> {
            double std = family.spec().initStd();
            for (int i = 0; i < theta.length; i++) {
                theta[i] = (float) (std * random.nextGaussian());
            }
        });
        this.family = family;
    }

    /** The family this optimizee was sampled from (for {@link MlpFamily#fullMetrics(float[])}). */
    public MlpFamily family() {
        return family;
    }

    @Override
    protected double evaluate(float[] theta, float[] gradient, int[] examples, int count) {
        return family.evaluate(theta, gradient, examples, count);
    }

    /** MLPs have exact Hessian-vector products ({@link MlpHessian}). */
    @Override
    public boolean hasHessianVectorProducts() {
        return true;
    }

    @Override
    protected void hessianVectorProduct(float[] theta, float[] v, float[] out, int[] batch) {
        family.hessian().product(theta, v, out, batch);
    }
}
