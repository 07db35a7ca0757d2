package org.l2l4j.meta;

import java.io.Serializable;
import java.util.Objects;
import org.l2l4j.optimizers.HandDesignedRule;

/**
 * Imitation of a hand-designed optimizer in the first epochs of meta-training (Chen et al. 2020,
 * "Training stronger baselines for learning to optimize"): the meta-loss of an unroll gains
 * <pre>
 *     lambda_e (1/B) sum_b sum_s || delta_{b,s} - delta^teacher_{b,s} ||^2
 * </pre>
 * where delta_{b,s} = theta_{b,s+1} - theta_{b,s} is the learned optimizer's step and
 * delta^teacher_{b,s} the step the teacher (the rule {@code rule} at {@code learningRate}, its state
 * following the learned optimizer's trajectory, fed the same gradients) would take from the same
 * point.  The teacher's step is a constant of phi (it depends on the gradients only, which
 * truncated BPTT treats as constants), so the term only adds 2 lambda_e / B (delta - delta^teacher)
 * to dL/d delta_s, which the fused backward pass already takes.  lambda_e decays linearly from
 * {@code weight} at epoch 0 to 0 at epoch {@code epochs}.
 *
 * @param rule         the teacher's rule
 * @param learningRate its learning rate, finite and &gt; 0 (a tuned one)
 * @param weight       lambda_0 &gt;= 0; 0 turns imitation off
 * @param epochs       the epochs over which lambda decays to 0, at least 1
 */
public record Imitation(HandDesignedRule rule, double learningRate, double weight, int epochs) implements Serializable {

    /** No imitation (the paper). */
    public static final Imitation NONE = new Imitation(HandDesignedRule.ADAM, 1, 0, 1);

    /**
     * @throws NullPointerException     if rule is null
     * @throws IllegalArgumentException if a value is out of range
     */
    public Imitation {
        Objects.requireNonNull(rule, "rule");
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("the teacher's learning rate must be finite and > 0, got " + learningRate);
        }
        if (!(weight >= 0) || Double.isInfinite(weight)) {
            throw new IllegalArgumentException("the imitation weight must be finite and >= 0, got " + weight);
        }
        if (epochs < 1) {
            throw new IllegalArgumentException("the imitation epochs must be >= 1, got " + epochs);
        }
    }

    /** lambda_e of epoch {@code epoch} (0-based): weight (1 - e / epochs), 0 from {@code epochs} on. */
    public double weight(int epoch) {
        return epoch >= epochs ? 0 : weight * (1 - (double) epoch / epochs);
    }

    /** Whether imitation is on at all. */
    public boolean active() {
        return weight > 0;
    }

    /** {@code none}, or the rule, learning rate, weight and epochs, as the settings record them. */
    @Override
    public String toString() {
        return active() ? rule.name().toLowerCase(java.util.Locale.ROOT) + ":" + learningRate + ":" + weight + ":"
                + epochs : "none";
    }
}
