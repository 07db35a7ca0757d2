package org.l2l4j.optimizers;

import java.math.BigDecimal;
import java.math.MathContext;

/**
 * The paper's hand-designed baselines (Andrychowicz et al. 2016, section 3),
 * each with the update of PyTorch's {@code torch.optim} class and fixed hyperparameters (the
 * constants below: momentum 0.9, RMSprop's alpha 0.99, Adam's betas 0.9 and 0.999, eps 1e-8);
 * only the learning rate lr is free (tuned per problem by
 * {@code org.l2l4j.eval.LearningRateTuner}).
 *
 * <p>Notation, per coordinate, at step t = 1, 2, ...: g = gradient at theta_{t-1}; every state
 * starts at 0.  All arithmetic is in double precision; theta is rounded to float after each
 * step.
 */
public enum HandDesignedRule {

    /** {@code torch.optim.SGD} plain: theta -= lr g. */
    SGD("SGD"),

    /**
     * {@code torch.optim.SGD(momentum=0.9, dampening=0)}, heavy ball: v = mu v + g;
     * theta -= lr v, mu = {@value #MOMENTUM_COEFFICIENT}.  (PyTorch's first step sets v = g,
     * the same as mu 0 + g.)
     */
    MOMENTUM("Momentum"),

    /**
     * {@code torch.optim.SGD(momentum=0.9, dampening=0, nesterov=True)}: v = mu v + g;
     * theta -= lr (g + mu v), mu = {@value #MOMENTUM_COEFFICIENT}.
     */
    NAG("NAG"),

    /**
     * {@code torch.optim.RMSprop(alpha=0.99, eps=1e-8)}, not centered, no momentum:
     * s = alpha s + (1 - alpha) g^2; theta -= lr g / (sqrt(s) + eps),
     * alpha = {@value #RMSPROP_ALPHA}, eps = {@value #EPSILON}.
     */
    RMSPROP("RMSprop"),

    /**
     * {@code torch.optim.Adam(betas=(0.9, 0.999), eps=1e-8)}, bias-corrected as PyTorch does:
     * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
     * theta -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps),
     * b1 = {@value #ADAM_BETA1}, b2 = {@value #ADAM_BETA2}, eps = {@value #EPSILON}.
     */
    ADAM("Adam");

    /** Momentum coefficient mu of {@link #MOMENTUM} and {@link #NAG}, with dampening 0. */
    public static final double MOMENTUM_COEFFICIENT = 0.9;
    /** Decay of RMSprop's mean square (torch.optim default). */
    public static final double RMSPROP_ALPHA = 0.99;
    /** Adam's first-moment decay (torch.optim default). */
    public static final double ADAM_BETA1 = 0.9;
    /** Adam's second-moment decay (torch.optim default). */
    public static final double ADAM_BETA2 = 0.999;
    /** eps of RMSprop and Adam, added to the root mean square (torch.optim default). */
    public static final double EPSILON = 1e-8;

    private final String displayName;

    HandDesignedRule(String displayName) {
        this.displayName = displayName;
    }

    /** The rule's usual name: SGD, Momentum, NAG, RMSprop, Adam. */
    public String displayName() {
        return displayName;
    }

    /**
     * The optimizers of this rule with learning rate lr.
     *
     * @throws IllegalArgumentException if {@code learningRate} is not finite and positive
     */
    public Factory factory(double learningRate) {
        return new Factory(this, learningRate);
    }

    /**
     * The optimizers of one rule at one learning rate.
     *
     * @param rule         the update rule
     * @param learningRate lr, finite and positive
     */
    public record Factory(HandDesignedRule rule, double learningRate) {

        /**
         * @throws NullPointerException     if {@code rule} is null
         * @throws IllegalArgumentException if {@code learningRate} is not finite and positive
         */
        public Factory {
            if (rule == null) {
                throw new NullPointerException("rule");
            }
            if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
                throw new IllegalArgumentException("learning rate must be finite and > 0, got "
                        + learningRate);
            }
        }

        /** E.g. {@code "Adam(lr=0.00316)"}: the rule and lr to three significant digits. */
        public String name() {
            return rule.displayName + "(lr="
                    + new BigDecimal(learningRate).round(new MathContext(3)).stripTrailingZeros()
                    + ")";
        }

        /**
         * A fresh optimizer of registered tensors following this rule, for training loops: the
         * {@link ParameterOptimizer} counterpart of {@link LstmOptimizer}.  Its state (zero at
         * creation) covers the n coordinates of all registered tensors, in registration order,
         * and is allocated at the first step; every step rejects NaN and infinite gradients and
         * parameters ({@link #parameterOptimizer(boolean)} can turn that off).  The state file holds the step count and the rule's state vectors
         * (float64 [n], named as in {@code torch.optim}: {@code momentum_buffer},
         * {@code square_avg}, {@code exp_avg}, {@code exp_avg_sq}); loading requires the same
         * rule and learning rate.  At most 2^31 - 9 coordinates.
         */
        public ParameterOptimizer parameterOptimizer() {
            return parameterOptimizer(true);
        }

        /**
         * As {@link #parameterOptimizer()}; with {@code checkFinite} false a step does not check
         * the values, and a NaN or infinite gradient propagates into the parameters as the rule's
         * arithmetic makes it (what evaluation records for a diverging learning rate).
         */
        public ParameterOptimizer parameterOptimizer(boolean checkFinite) {
            return new HandDesignedParameterOptimizer(this, checkFinite);
        }
    }
}
