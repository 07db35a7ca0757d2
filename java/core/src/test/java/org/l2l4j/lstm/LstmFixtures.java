package org.l2l4j.lstm;

import java.util.SplittableRandom;

/** Random inputs and the error measure max |a - b| / max |b|, for the LSTM tests. */
final class LstmFixtures {
    private LstmFixtures() {
    }

    /** max_i |a_i - b_i| / max_i |b_i| (b is the reference). */
    static double relativeError(double[] a, double[] b) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            num = Math.max(num, Math.abs(a[i] - b[i]));
            den = Math.max(den, Math.abs(b[i]));
        }
        if (den == 0) {
            throw new AssertionError("the reference is all zeros: the comparison would be meaningless");
        }
        return num / den;
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    static float[] toFloat(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            f[i] = (float) a[i];
        }
        return f;
    }

    /** phi with every tensor random (PyTorch's ranges, the output layer included), as floats. */
    static float[] randomPhi(LstmConfig config, long seed) {
        return toFloat(PhiInit.PYTORCH.initialize(config, seed));
    }

    /**
     * Gradients whose magnitudes span 1e-12 to 1e3 (log-uniform), both signs, and about 5%
     * exact zeros.
     */
    static float[] spanningGradients(int n, SplittableRandom rnd) {
        float[] g = new float[n];
        for (int i = 0; i < n; i++) {
            if (rnd.nextInt(20) == 0) {
                g[i] = 0f;
            } else {
                double mag = Math.pow(10, -12 + 15 * rnd.nextDouble());
                g[i] = (float) (rnd.nextBoolean() ? mag : -mag);
            }
        }
        return g;
    }

    /** Values uniform in [-a, a]. */
    static float[] uniform(int n, double a, SplittableRandom rnd) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((2 * rnd.nextDouble() - 1) * a);
        }
        return v;
    }
}
