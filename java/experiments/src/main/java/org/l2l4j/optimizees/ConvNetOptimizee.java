package org.l2l4j.optimizees;

/**
 * One convolutional classifier of a {@link ConvNetFamily}: fixed initial parameters and a private
 * stream of minibatches, both keyed by the seed it was sampled with ({@link MinibatchOptimizee}).
 *
 * <p>theta_0 as PyTorch initializes the same modules: each weight tensor and the output bias
 * ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in its inputs per output (in * k * k for a
 * convolution), every batch-norm gamma 1 and beta 0.  Minibatches: {@link ConvNetSpec#batchSize()}
 * example indices of the family's data set, at least 2 (batch norm).
 *
 * <p>Not thread-safe (the minibatch stream), per the {@link Optimizee} contract.
 */
public final class ConvNetOptimizee extends MinibatchOptimizee {

    private final ConvNetFamily family;

    ConvNetOptimizee(ConvNetFamily family, long seed) {
        super(seed, family.dimension(), family.spec().batchSize(), family.data().size(), (random, theta) -> {
            for (ParameterTensor t : family.tensors()) {
                int[] shape = t.shape();
                boolean normGain = t.name().startsWith("bn") && t.name().endsWith(".weight");
                boolean normShift = t.name().startsWith("bn") && t.name().endsWith(".bias");
                double bound = 1 / Math.sqrt(t.name().equals("out.bias") ? family.spec().fcWidth() : t.size() / shape[0]);
                for (int i = t.offset(); i < t.offset() + t.size(); i++) {
                    theta[i] = normGain ? 1f : normShift ? 0f : (float) (bound * (2 * random.nextDouble() - 1));
                }
            }
        });
        this.family = family;
    }

    /** The family this optimizee was sampled from. */
    public ConvNetFamily family() {
        return family;
    }

    @Override
    protected double evaluate(float[] theta, float[] gradient, int[] examples, int count) {
        return family.evaluate(theta, gradient, examples, count);
    }

    /** Batch norm needs two examples. */
    @Override
    protected int minimumBatch() {
        return 2;
    }
}
