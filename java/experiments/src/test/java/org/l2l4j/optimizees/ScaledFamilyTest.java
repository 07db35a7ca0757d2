package org.l2l4j.optimizees;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * A scaled optimizee g(theta) = f(c * theta): its initial point is f's (c theta_0 = theta_0^f),
 * its loss is f's at c theta, its gradient matches central finite differences of g, and the
 * scales lie in [e^-kappa, e^kappa], drawn per seed.
 */
class ScaledFamilyTest {

    @Test
    void theScaledOptimizeeIsFAtScaledParameters() {
        QuadraticFamily quadratics = new QuadraticFamily(6, QuadraticFamily.Distribution.GAUSSIAN);
        ScaledFamily scaled = new ScaledFamily(quadratics, 1.5);
        Optimizee g = scaled.sample(42);
        Quadratic f = quadratics.sample(42);
        float[] theta = new float[6];
        g.initialParameters(theta);
        float[] theta0 = new float[6];
        f.initialParameters(theta0);
        float[] gradient = new float[6];
        double loss = g.lossAndGradient(theta, gradient);
        float[] scales = new float[6];
        for (int i = 0; i < 6; i++) {
            scales[i] = theta0[i] / theta[i];
            assertTrue(scales[i] >= Math.exp(-1.5) * 0.999 && scales[i] <= Math.exp(1.5) * 1.001, "scale " + scales[i]);
        }
        assertEquals(f.lossAndGradient(theta0, new float[6]), loss, 1e-5 * loss);
        double h = 1e-3;
        for (int i = 0; i < 6; i++) {
            float[] plus = theta.clone();
            float[] minus = theta.clone();
            plus[i] += (float) h;
            minus[i] -= (float) h;
            double fd = (g.lossAndGradient(plus, new float[6]) - g.lossAndGradient(minus, new float[6]))
                    / (plus[i] - minus[i]);
            assertEquals(fd, gradient[i], 2e-3 * (1 + Math.abs(fd)), "coordinate " + i);
        }
        float[] other = new float[6];
        scaled.sample(43).initialParameters(other);
        float[] otherF = new float[6];
        quadratics.sample(43).initialParameters(otherF);
        assertNotEquals(otherF[0] / other[0], scales[0], "each seed draws its own scales");
        assertEquals(quadratics.dimension(), scaled.dimension());
        assertTrue(scaled.name().startsWith(quadratics.name()));
        assertThrows(IllegalArgumentException.class, () -> new ScaledFamily(quadratics, 0));
        assertThrows(IllegalArgumentException.class, () -> g.lossAndGradient(new float[5], new float[6]));
        float[] again = new float[6];
        scaled.sample(42).initialParameters(again);
        assertArrayEquals(theta, again, "the same seed, the same scales");
    }
}
