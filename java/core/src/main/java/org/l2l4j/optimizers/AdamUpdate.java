package org.l2l4j.optimizers;

import static org.l2l4j.optimizers.HandDesignedRule.ADAM_BETA1;
import static org.l2l4j.optimizers.HandDesignedRule.ADAM_BETA2;
import static org.l2l4j.optimizers.HandDesignedRule.EPSILON;

import java.util.Objects;

/**
 * Adam's update (Kingma and Ba 2015) over n coordinates, bias-corrected in the arrangement of
 * {@code torch.optim.Adam} with the constants of {@link HandDesignedRule#ADAM} (betas 0.9 and
 * 0.999, eps 1e-8), its moments in double precision: the one Adam of the library, used by the
 * hand-designed {@code HandDesignedRule.ADAM} on an optimizee's parameters and by meta-training
 * on phi (paper section 3: "Adam on phi").
 *
 * <p>At step t = 1, 2, ... with learning rate lr, for each coordinate i with gradient g:
 * <pre>
 *     m_i = b1 m_i + (1 - b1) g;   v_i = b2 v_i + (1 - b2) g^2
 *     delta_i = -(lr / (1 - b1^t)) m_i / (sqrt(v_i) / sqrt(1 - b2^t) + eps)
 * </pre>
 * {@link #begin} fixes lr and t for a step, then {@link #delta} is called once per coordinate.
 * Not thread-safe.
 */
public final class AdamUpdate {
    private final double[] m;
    private final double[] v;
    private double stepSize;
    private double secondCorrection;

    /**
     * Zero moments for {@code size} coordinates.
     *
     * @throws IllegalArgumentException if size is negative
     */
    public AdamUpdate(int size) {
        if (size < 0) {
            throw new IllegalArgumentException("size must be >= 0, got " + size);
        }
        this.m = new double[size];
        this.v = new double[size];
    }

    /** The number of coordinates. */
    public int size() {
        return m.length;
    }

    /**
     * Starts step {@code t} with learning rate {@code learningRate}.
     *
     * @throws IllegalArgumentException if t < 1 or the learning rate is not finite and positive
     */
    public void begin(double learningRate, long t) {
        if (t < 1) {
            throw new IllegalArgumentException("the step count starts at 1, got " + t);
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be finite and > 0, got " + learningRate);
        }
        stepSize = learningRate / (1 - Math.pow(ADAM_BETA1, t));
        secondCorrection = Math.sqrt(1 - Math.pow(ADAM_BETA2, t));
    }

    /** The change of coordinate i for its gradient {@code g} at the step begun; updates i's moments. */
    public double delta(int i, double g) {
        m[i] = ADAM_BETA1 * m[i] + (1 - ADAM_BETA1) * g;
        v[i] = ADAM_BETA2 * v[i] + (1 - ADAM_BETA2) * g * g;
        return -(stepSize * m[i] / (Math.sqrt(v[i]) / secondCorrection + EPSILON));
    }

    /** A copy of the first moments m. */
    public double[] firstMoment() {
        return m.clone();
    }

    /** A copy of the second moments v. */
    public double[] secondMoment() {
        return v.clone();
    }

    /**
     * Replaces the moments (a saved state).
     *
     * @throws NullPointerException     if an array is null
     * @throws IllegalArgumentException if an array's length is not {@link #size()}
     */
    public void restore(double[] firstMoment, double[] secondMoment) {
        Objects.requireNonNull(firstMoment, "firstMoment");
        Objects.requireNonNull(secondMoment, "secondMoment");
        if (firstMoment.length != m.length || secondMoment.length != v.length) {
            throw new IllegalArgumentException("moments of " + firstMoment.length + " and " + secondMoment.length
                    + " values do not fit " + m.length + " coordinates");
        }
        System.arraycopy(firstMoment, 0, m, 0, m.length);
        System.arraycopy(secondMoment, 0, v, 0, v.length);
    }

    /** The live first moments, for the hand-designed rule's state file. */
    double[] liveFirstMoment() {
        return m;
    }

    /** The live second moments, for the hand-designed rule's state file. */
    double[] liveSecondMoment() {
        return v;
    }
}
