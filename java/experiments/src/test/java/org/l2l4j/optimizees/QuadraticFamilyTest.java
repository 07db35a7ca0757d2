package org.l2l4j.optimizees;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.l2l4j.optimizees.QuadraticFamily.Distribution;

class QuadraticFamilyTest {

    /** ||W theta - y||^2 in double, straight from the definition. */
    private static double reference(Quadratic f, double[] theta) {
        int n = theta.length;
        double[] w = f.matrix();
        double[] y = f.target();
        double loss = 0;
        for (int i = 0; i < n; i++) {
            double r = -y[i];
            for (int j = 0; j < n; j++) {
                r += w[i * n + j] * theta[j];
            }
            loss += r * r;
        }
        return loss;
    }

    /**
     * Gradient against central differences (h = 1e-6) of the double reference at a random
     * theta; the analytic gradient is rounded to float once, so it agrees to ~1e-7 relative
     * (max |a - b| / max |b|); tolerance 1e-6.
     */
    @ParameterizedTest
    @EnumSource(Distribution.class)
    void gradientMatchesFiniteDifferences(Distribution distribution) {
        QuadraticFamily family = new QuadraticFamily(10, distribution);
        Random random = new Random(3);
        for (long seed = 0; seed < 5; seed++) {
            Quadratic f = family.sample(seed);
            float[] theta = new float[10];
            double[] point = new double[10];
            for (int i = 0; i < 10; i++) {
                theta[i] = (float) random.nextGaussian();
                point[i] = theta[i];
            }
            float[] gradient = new float[10];
            double loss = f.lossAndGradient(theta, gradient);
            assertEquals(reference(f, point), loss, 1e-12 * loss);
            double h = 1e-6;
            double diff = 0;
            double scale = 0;
            for (int i = 0; i < 10; i++) {
                double saved = point[i];
                point[i] = saved + h;
                double up = reference(f, point);
                point[i] = saved - h;
                double down = reference(f, point);
                point[i] = saved;
                double numeric = (up - down) / (2 * h);
                diff = Math.max(diff, Math.abs(gradient[i] - numeric));
                scale = Math.max(scale, Math.abs(numeric));
            }
            assertTrue(diff / scale < 1e-6, "relative gradient error " + diff / scale);
        }
    }

    @Test
    void gradientIsZeroAtTheLeastSquaresSolution() {
        // W = diag(1..3), y = W (1, -2, 0.5): theta* = (1, -2, 0.5), f = 0, gradient 0.
        Quadratic f = new Quadratic(new double[] {1, 0, 0, 0, 2, 0, 0, 0, 3},
                new double[] {1, -4, 1.5}, new float[3]);
        float[] gradient = new float[3];
        assertEquals(0, f.lossAndGradient(new float[] {1, -2, 0.5f}, gradient), 0.0);
        assertArrayEquals(new float[3], gradient, 0f);
        // At theta = 0: f = 1 + 16 + 2.25, gradient 2 W^T (-y) = (-2, 16, -9).
        assertEquals(19.25, f.lossAndGradient(new float[3], gradient), 1e-12);
        assertArrayEquals(new float[] {-2, 16, -9}, gradient, 0f);
    }

    @Test
    void sameSeedGivesSameFunctionAndDifferentSeedsDiffer() {
        QuadraticFamily family = new QuadraticFamily();
        Quadratic a = family.sample(77);
        Quadratic b = family.sample(77);
        Quadratic c = family.sample(78);
        assertArrayEquals(a.matrix(), b.matrix(), 0.0);
        assertArrayEquals(a.target(), b.target(), 0.0);
        float[] thetaA = new float[10];
        float[] thetaB = new float[10];
        a.initialParameters(thetaA);
        b.initialParameters(thetaB);
        assertArrayEquals(thetaA, thetaB, 0f);
        assertFalse(Arrays.equals(a.matrix(), c.matrix()));
    }

    /**
     * Moments over 2,000 functions (220,000 entries of W and y, 20,000 of theta_0): standard
     * errors ~0.002 for the means, so 5-sigma tolerances.
     */
    @Test
    void entriesFollowTheChosenDistributionAndThetaZeroHasStd001() {
        double[] gaussian = moments(new QuadraticFamily(10, Distribution.GAUSSIAN));
        assertEquals(0, gaussian[0], 0.011);
        assertEquals(1, gaussian[1], 0.02);
        double[] uniform = moments(new QuadraticFamily(10, Distribution.UNIFORM));
        assertEquals(0.5, uniform[0], 0.004);
        assertEquals(1.0 / 12, uniform[1], 0.002);
        assertTrue(uniform[2] >= 0 && uniform[3] < 1, "uniform entries outside [0, 1)");
        assertEquals(0.01, gaussian[4], 0.01 * 0.03);
        assertEquals(0.01, uniform[4], 0.01 * 0.03);
    }

    /** mean, variance, min, max of the entries of W and y; std of theta_0. */
    private static double[] moments(QuadraticFamily family) {
        double sum = 0;
        double squares = 0;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        double thetaSquares = 0;
        long count = 0;
        float[] theta = new float[family.dimension()];
        for (long seed = 0; seed < 2000; seed++) {
            Quadratic f = family.sample(seed);
            for (double[] values : new double[][] {f.matrix(), f.target()}) {
                for (double v : values) {
                    sum += v;
                    squares += v * v;
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                    count++;
                }
            }
            f.initialParameters(theta);
            for (float v : theta) {
                thetaSquares += (double) v * v;
            }
        }
        double mean = sum / count;
        return new double[] {mean, squares / count - mean * mean, min, max,
            Math.sqrt(thetaSquares / (2000.0 * family.dimension()))};
    }

    @Test
    void dimensionIsConfigurable() {
        QuadraticFamily family = new QuadraticFamily(3, Distribution.UNIFORM);
        assertEquals(3, family.dimension());
        assertEquals("quadratic-3-uniform", family.name());
        assertEquals("quadratic-10-gaussian", new QuadraticFamily().name());
        Quadratic f = family.sample(1);
        assertEquals(3, f.dimension());
        assertEquals(9, f.matrix().length);
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> new QuadraticFamily(0, Distribution.GAUSSIAN));
        assertThrows(NullPointerException.class, () -> new QuadraticFamily(3, null));
        Quadratic f = new QuadraticFamily().sample(0);
        assertThrows(IllegalArgumentException.class, () -> f.lossAndGradient(new float[9], new float[10]));
        assertThrows(IllegalArgumentException.class, () -> f.lossAndGradient(new float[10], new float[11]));
        assertThrows(NullPointerException.class, () -> f.lossAndGradient(new float[10], null));
        assertThrows(IllegalArgumentException.class, () -> f.initialParameters(new float[1]));
    }
}
