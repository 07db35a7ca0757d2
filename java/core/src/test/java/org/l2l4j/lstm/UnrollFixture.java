package org.l2l4j.lstm;

import java.util.SplittableRandom;

/**
 * A small optimizee for the backward-pass tests: f(theta) = sum_i a_i (theta_i - c_i)^2 / 2 with
 * random a_i > 0 and c_i, so gradients are cheap, exact and differ per coordinate.
 */
final class UnrollFixture {
    final double[] a;
    final double[] c;

    UnrollFixture(int n, SplittableRandom rnd) {
        a = new double[n];
        c = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = 0.5 + rnd.nextDouble();
            c[i] = 2 * rnd.nextDouble() - 1;
        }
    }

    double loss(double[] theta) {
        double f = 0;
        for (int i = 0; i < theta.length; i++) {
            double d = theta[i] - c[i];
            f += 0.5 * a[i] * d * d;
        }
        return f;
    }

    double[] gradient(double[] theta) {
        double[] g = new double[theta.length];
        for (int i = 0; i < theta.length; i++) {
            g[i] = a[i] * (theta[i] - c[i]);
        }
        return g;
    }
}
