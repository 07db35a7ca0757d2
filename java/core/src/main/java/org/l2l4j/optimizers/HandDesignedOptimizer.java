package org.l2l4j.optimizers;

import static org.l2l4j.optimizers.HandDesignedRule.EPSILON;
import static org.l2l4j.optimizers.HandDesignedRule.MOMENTUM_COEFFICIENT;
import static org.l2l4j.optimizers.HandDesignedRule.RMSPROP_ALPHA;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The update rules of {@link HandDesignedRule} on one parameter vector of n coordinates, for
 * {@link HandDesignedParameterOptimizer}: the step count t here, one update per subclass.  State
 * in double precision, one vector per kind of state, named as in {@code torch.optim}'s state (for
 * saving it).
 */
abstract class HandDesignedOptimizer {

    final int n;
    final double lr;
    private long steps;

    HandDesignedOptimizer(int dimension, double learningRate) {
        if (dimension < 1) {
            throw new IllegalArgumentException("dimension must be >= 1, got " + dimension);
        }
        this.n = dimension;
        this.lr = learningRate;
    }

    /**
     * The rule {@code rule} with learning rate {@code learningRate} for n = {@code dimension}
     * coordinates, its state zero.
     */
    static HandDesignedOptimizer of(HandDesignedRule rule, int dimension, double learningRate) {
        return switch (rule) {
            case SGD -> new Sgd(dimension, learningRate);
            case MOMENTUM -> new HeavyBall(dimension, learningRate, false);
            case NAG -> new HeavyBall(dimension, learningRate, true);
            case RMSPROP -> new RmsProp(dimension, learningRate);
            case ADAM -> new Adam(dimension, learningRate);
        };
    }

    /** One step: updates {@code theta} (length n) in place from {@code gradient} (length n). */
    final void step(float[] theta, float[] gradient) {
        steps++;
        update(theta, gradient);
    }

    /** t, the number of steps taken (the step being taken, inside {@link #update}). */
    final long steps() {
        return steps;
    }

    /**
     * The per-coordinate state vectors, each of length n, by their {@code torch.optim} names, in
     * a fixed order; the live arrays.
     */
    abstract Map<String, double[]> state();

    /**
     * The names of the state vectors that are averages of squared gradients (second moments),
     * never negative; none by default.
     */
    Set<String> secondMoments() {
        return Set.of();
    }

    /**
     * Replaces the step count and the state vectors.
     *
     * @param values a vector of length n for every name of {@link #state()} (checked by the caller)
     */
    final void restore(long stepCount, Map<String, double[]> values) {
        state().forEach((name, live) -> System.arraycopy(values.get(name), 0, live, 0, n));
        this.steps = stepCount;
    }

    /** One step on arrays of checked lengths. */
    abstract void update(float[] theta, float[] g);

    /** theta -= lr g. */
    static final class Sgd extends HandDesignedOptimizer {
        Sgd(int dimension, double learningRate) {
            super(dimension, learningRate);
        }

        @Override
        Map<String, double[]> state() {
            return Map.of();
        }

        @Override
        void update(float[] theta, float[] g) {
            for (int i = 0; i < n; i++) {
                theta[i] = (float) (theta[i] - lr * g[i]);
            }
        }
    }

    /** v = mu v + g; theta -= lr v, or theta -= lr (g + mu v) with Nesterov's correction. */
    static final class HeavyBall extends HandDesignedOptimizer {
        private final boolean nesterov;
        private final double[] v;

        HeavyBall(int dimension, double learningRate, boolean nesterov) {
            super(dimension, learningRate);
            this.nesterov = nesterov;
            this.v = new double[dimension];
        }

        @Override
        Map<String, double[]> state() {
            return Map.of("momentum_buffer", v);
        }

        @Override
        void update(float[] theta, float[] g) {
            for (int i = 0; i < n; i++) {
                v[i] = MOMENTUM_COEFFICIENT * v[i] + g[i];
                double direction = nesterov ? g[i] + MOMENTUM_COEFFICIENT * v[i] : v[i];
                theta[i] = (float) (theta[i] - lr * direction);
            }
        }
    }

    /** s = alpha s + (1 - alpha) g^2; theta -= lr g / (sqrt(s) + eps). */
    static final class RmsProp extends HandDesignedOptimizer {
        private final double[] s;

        RmsProp(int dimension, double learningRate) {
            super(dimension, learningRate);
            this.s = new double[dimension];
        }

        @Override
        Map<String, double[]> state() {
            return Map.of("square_avg", s);
        }

        @Override
        Set<String> secondMoments() {
            return Set.of("square_avg");
        }

        @Override
        void update(float[] theta, float[] g) {
            for (int i = 0; i < n; i++) {
                double gi = g[i];
                s[i] = RMSPROP_ALPHA * s[i] + (1 - RMSPROP_ALPHA) * gi * gi;
                theta[i] = (float) (theta[i] - lr * gi / (Math.sqrt(s[i]) + EPSILON));
            }
        }
    }

    /** Bias-corrected Adam in PyTorch's arrangement ({@link AdamUpdate}), see {@link HandDesignedRule#ADAM}. */
    static final class Adam extends HandDesignedOptimizer {
        private final AdamUpdate adam;

        Adam(int dimension, double learningRate) {
            super(dimension, learningRate);
            this.adam = new AdamUpdate(dimension);
        }

        @Override
        Map<String, double[]> state() {
            Map<String, double[]> state = new LinkedHashMap<>();
            state.put("exp_avg", adam.liveFirstMoment());
            state.put("exp_avg_sq", adam.liveSecondMoment());
            return state;
        }

        @Override
        Set<String> secondMoments() {
            return Set.of("exp_avg_sq");
        }

        @Override
        void update(float[] theta, float[] g) {
            adam.begin(lr, steps());
            for (int i = 0; i < n; i++) {
                theta[i] = (float) (theta[i] + adam.delta(i, g[i]));
            }
        }
    }
}
