package org.l2l4j.meta;

import java.util.Objects;
import org.l2l4j.optimizers.AdamUpdate;

/**
 * The meta-optimizer: Adam on phi (paper section 3), the library's one Adam ({@link AdamUpdate},
 * torch.optim's arrangement, betas 0.9 and 0.999, eps 1e-8) with phi and both moments in float64,
 * at a learning rate that follows a {@link LearningRateSchedule} over the epochs, and optional
 * clipping of the meta-gradient by its global L2 norm (applied first).
 */
public final class MetaOptimizer {
    private final double learningRate;
    private final LearningRateSchedule schedule;
    private final double clipNorm;
    private final AdamUpdate adam;
    private long t;

    /**
     * @param size         number of parameters
     * @param learningRate the base rate, finite and &gt; 0
     * @param schedule     its change over the epochs
     * @param clipNorm     global-norm clipping threshold, or 0 for none
     * @throws IllegalArgumentException if a value is out of range
     */
    public MetaOptimizer(int size, double learningRate, LearningRateSchedule schedule, double clipNorm) {
        if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
            throw new IllegalArgumentException("meta learning rate must be > 0 and finite, got " + learningRate);
        }
        if (!(clipNorm >= 0) || !Double.isFinite(clipNorm)) {
            throw new IllegalArgumentException("clip norm must be >= 0 and finite, got " + clipNorm);
        }
        this.learningRate = learningRate;
        this.schedule = Objects.requireNonNull(schedule, "schedule");
        this.clipNorm = clipNorm;
        this.adam = new AdamUpdate(size);
    }

    /** Restores the moments and step count of a saved run. */
    public void restore(double[] firstMoment, double[] secondMoment, long step) {
        if (step < 0) {
            throw new IllegalArgumentException("the step count must be >= 0, got " + step);
        }
        adam.restore(firstMoment, secondMoment);
        t = step;
    }

    /** True if every value of g is finite. */
    public static boolean allFinite(double[] g) {
        for (double x : g) {
            if (!Double.isFinite(x)) {
                return false;
            }
        }
        return true;
    }

    /** The learning rate of epoch {@code epoch} (0-based) of a run of {@code epochs} epochs. */
    public double learningRate(int epoch, int epochs) {
        return learningRate * schedule.factor(epoch, epochs);
    }

    /**
     * One Adam step on phi with gradient g (which it scales in place when clipping), at the rate
     * of epoch {@code epoch} of {@code epochs}.
     *
     * @return the meta-gradient's global L2 norm, before any clipping
     * @throws IllegalArgumentException if g is not finite (callers check first: phi is never
     *                                  touched by a non-finite gradient) or has the wrong length
     */
    public double update(double[] phi, double[] g, int epoch, int epochs) {
        if (phi.length != adam.size() || g.length != adam.size()) {
            throw new IllegalArgumentException("phi and gradient must have " + adam.size() + " values");
        }
        if (!allFinite(g)) {
            throw new IllegalArgumentException("the meta-gradient is not finite");
        }
        double norm = 0;
        for (double x : g) {
            norm += x * x;
        }
        norm = Math.sqrt(norm);
        if (clipNorm > 0 && norm > clipNorm) {
            double f = clipNorm / norm;
            for (int i = 0; i < g.length; i++) {
                g[i] *= f;
            }
        }
        adam.begin(learningRate(epoch, epochs), ++t);
        for (int i = 0; i < phi.length; i++) {
            phi[i] += adam.delta(i, g[i]);
        }
        return norm;
    }

    public double[] firstMoment() {
        return adam.firstMoment();
    }

    public double[] secondMoment() {
        return adam.secondMoment();
    }

    /** Meta-updates applied. */
    public long step() {
        return t;
    }
}
