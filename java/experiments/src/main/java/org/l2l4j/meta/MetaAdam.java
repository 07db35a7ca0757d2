package org.l2l4j.meta;

import java.util.Objects;

/**
 * The meta-optimizer: Adam on phi (Kingma and Ba 2015; paper section 3), beta1 = 0.9,
 * beta2 = 0.999, epsilon = 1e-8, bias-corrected, with phi and both moments in float64.
 * Optional clipping of the gradient by its global L2 norm.
 *
 * <p>update: t += 1; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * phi -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
 */
public final class MetaAdam {
    static final double BETA1 = 0.9;
    static final double BETA2 = 0.999;
    static final double EPSILON = 1e-8;

    private final double learningRate;
    private final double clipNorm;
    private final double[] m;
    private final double[] v;
    private long t;

    /**
     * @param size         number of parameters
     * @param learningRate > 0
     * @param clipNorm     global-norm clipping threshold, or 0 for none
     */
    public MetaAdam(int size, double learningRate, double clipNorm) {
        if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
            throw new IllegalArgumentException("meta learning rate must be > 0 and finite, got " + learningRate);
        }
        if (!(clipNorm >= 0) || !Double.isFinite(clipNorm)) {
            throw new IllegalArgumentException("clip norm must be >= 0 and finite, got " + clipNorm);
        }
        this.learningRate = learningRate;
        this.clipNorm = clipNorm;
        this.m = new double[size];
        this.v = new double[size];
    }

    /** Restores the moments and step count of a saved run. */
    public void restore(double[] firstMoment, double[] secondMoment, long step) {
        Objects.requireNonNull(firstMoment, "firstMoment");
        Objects.requireNonNull(secondMoment, "secondMoment");
        if (firstMoment.length != m.length || secondMoment.length != v.length || step < 0) {
            throw new IllegalArgumentException("Adam state of " + firstMoment.length + "/" + secondMoment.length
                    + " values at step " + step + " does not fit " + m.length + " parameters");
        }
        System.arraycopy(firstMoment, 0, m, 0, m.length);
        System.arraycopy(secondMoment, 0, v, 0, v.length);
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

    /**
     * One Adam step on phi with gradient g (which it may scale in place when clipping).
     *
     * @throws IllegalArgumentException if g is not finite (callers check first: phi is never
     *                                  touched by a non-finite gradient)
     */
    public void update(double[] phi, double[] g) {
        if (phi.length != m.length || g.length != m.length) {
            throw new IllegalArgumentException("phi and gradient must have " + m.length + " values");
        }
        if (!allFinite(g)) {
            throw new IllegalArgumentException("the meta-gradient is not finite");
        }
        if (clipNorm > 0) {
            double norm = 0;
            for (double x : g) {
                norm += x * x;
            }
            norm = Math.sqrt(norm);
            if (norm > clipNorm) {
                double f = clipNorm / norm;
                for (int i = 0; i < g.length; i++) {
                    g[i] *= f;
                }
            }
        }
        t++;
        double c1 = 1 - Math.pow(BETA1, t);
        double c2 = 1 - Math.pow(BETA2, t);
        for (int i = 0; i < phi.length; i++) {
            m[i] = BETA1 * m[i] + (1 - BETA1) * g[i];
            v[i] = BETA2 * v[i] + (1 - BETA2) * g[i] * g[i];
            phi[i] -= learningRate * (m[i] / c1) / (Math.sqrt(v[i] / c2) + EPSILON);
        }
    }

    public double[] firstMoment() {
        return m.clone();
    }

    public double[] secondMoment() {
        return v.clone();
    }

    public long step() {
        return t;
    }
}
