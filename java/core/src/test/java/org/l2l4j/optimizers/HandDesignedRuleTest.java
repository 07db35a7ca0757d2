package org.l2l4j.optimizers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class HandDesignedRuleTest {

    private static final int N = 7;
    private static final int STEPS = 6;
    private static final double LR = 0.05;

    /**
     * The update direction d_t (theta_t = theta_{t-1} - lr d_t) written in closed form over the
     * gradient history g_1..g_t, not as the recursions the optimizers run: exponential moving
     * sums for momentum, and Kingma and Ba's bias-corrected m-hat / v-hat form for Adam (which
     * PyTorch rearranges; the two are algebraically equal).
     */
    private static double direction(HandDesignedRule rule, double[] g, int t) {
        double mu = 0.9;
        double momentum = 0;
        double meanSquare99 = 0;
        double m = 0;
        double v = 0;
        for (int s = 1; s <= t; s++) {
            double gs = g[s - 1];
            momentum += Math.pow(mu, t - s) * gs;
            meanSquare99 += 0.01 * Math.pow(0.99, t - s) * gs * gs;
            m += 0.1 * Math.pow(0.9, t - s) * gs;
            v += 0.001 * Math.pow(0.999, t - s) * gs * gs;
        }
        double gt = g[t - 1];
        return switch (rule) {
            case SGD -> gt;
            case MOMENTUM -> momentum;
            case NAG -> gt + mu * momentum;
            case RMSPROP -> gt / (Math.sqrt(meanSquare99) + 1e-8);
            case ADAM -> (m / (1 - Math.pow(0.9, t))) / (Math.sqrt(v / (1 - Math.pow(0.999, t))) + 1e-8);
        };
    }

    /**
     * Six steps on random theta_0 and random gradients (N(0, 1), a fresh draw each step, some
     * coordinates scaled down to 1e-3 so eps-free terms are not all alike) against the
     * closed-form reference, in double with theta rounded to float like the optimizer: the
     * tolerance 1e-6 (1 + |theta|) is a few float ulps per step.
     */
    @ParameterizedTest
    @EnumSource(HandDesignedRule.class)
    void matchesClosedFormReferenceOnRandomInputs(HandDesignedRule rule) {
        Random random = new Random(rule.ordinal() + 100);
        float[] theta = new float[N];
        double[] expected = new double[N];
        double[][] history = new double[N][STEPS];
        for (int i = 0; i < N; i++) {
            theta[i] = (float) random.nextGaussian();
            expected[i] = theta[i];
        }
        float[] gradient = new float[N];
        try (ParameterOptimizer optimizer = rule.factory(LR).parameterOptimizer()) {
            optimizer.register("theta", theta, gradient);
            for (int t = 1; t <= STEPS; t++) {
                for (int i = 0; i < N; i++) {
                    gradient[i] = (float) (random.nextGaussian() * (i % 3 == 0 ? 1e-3 : 1));
                    history[i][t - 1] = gradient[i];
                }
                optimizer.step();
                for (int i = 0; i < N; i++) {
                    expected[i] = (float) (expected[i] - LR * direction(rule, history[i], t));
                    assertEquals(expected[i], theta[i], 1e-6 * (1 + Math.abs(expected[i])),
                            rule + " coordinate " + i + " step " + t);
                }
            }
        }
    }

    /** Values worked out by hand for g = 2 then g = -1, lr = 0.1, theta_0 = 1. */
    @Test
    void firstTwoStepsByHand() {
        assertTwoSteps(HandDesignedRule.SGD, 1 - 0.2, 0.8 + 0.1);
        // v1 = 2, v2 = 1.8 - 1 = 0.8.
        assertTwoSteps(HandDesignedRule.MOMENTUM, 1 - 0.2, 0.8 - 0.08);
        // d1 = 2 + 0.9 * 2 = 3.8; d2 = -1 + 0.9 * 0.8 = -0.28.
        assertTwoSteps(HandDesignedRule.NAG, 1 - 0.38, 0.62 + 0.028);
        // s1 = 0.04, d1 = 2 / 0.2 = 10; s2 = 0.0396 + 0.01 = 0.0496, d2 = -1 / sqrt(0.0496).
        assertTwoSteps(HandDesignedRule.RMSPROP, 1 - 1.0, 0 + 0.1 / Math.sqrt(0.0496));
        // m-hat1 = 2, v-hat1 = 4, d1 = 1; m2 = 0.18 - 0.1 = 0.08, m-hat2 = 0.08 / 0.19;
        // v2 = 0.003996 + 0.001 = 0.004996, v-hat2 = 0.004996 / 0.001999.
        assertTwoSteps(HandDesignedRule.ADAM, 1 - 0.1,
                0.9 - 0.1 * (0.08 / 0.19) / Math.sqrt(0.004996 / 0.001999));
    }

    private static void assertTwoSteps(HandDesignedRule rule, double first, double second) {
        float[] theta = {1};
        float[] gradient = {2};
        try (ParameterOptimizer optimizer = rule.factory(0.1).parameterOptimizer()) {
            optimizer.register("theta", theta, gradient);
            optimizer.step();
            assertEquals(first, theta[0], 1e-6, rule + " step 1");
            gradient[0] = -1;
            optimizer.step();
            assertEquals(second, theta[0], 1e-6, rule + " step 2");
        }
    }

    /**
     * 200 steps on a well-conditioned quadratic ||W theta - y||^2 (W = I + 0.2 G, G and y
     * standard Gaussian, 10 x 10), at a stable learning rate, cut the loss tenfold.
     */
    @ParameterizedTest
    @EnumSource(HandDesignedRule.class)
    void reducesAQuadratic(HandDesignedRule rule) {
        double lr = switch (rule) {
            case SGD -> 1e-2;
            case MOMENTUM, NAG -> 3e-3;
            case RMSPROP, ADAM -> 3e-2;
        };
        Random random = new Random(5);
        int n = 10;
        double[] w = new double[n * n];
        double[] y = new double[n];
        for (int i = 0; i < w.length; i++) {
            w[i] = (i % (n + 1) == 0 ? 1 : 0) + 0.2 * random.nextGaussian();
        }
        for (int i = 0; i < n; i++) {
            y[i] = random.nextGaussian();
        }
        float[] theta = new float[n];
        float[] gradient = new float[n];
        double initial = quadratic(w, y, theta, gradient);
        try (ParameterOptimizer optimizer = rule.factory(lr).parameterOptimizer()) {
            optimizer.register("theta", theta, gradient);
            for (int t = 0; t < 200; t++) {
                optimizer.step();
                quadratic(w, y, theta, gradient);
            }
        }
        double last = quadratic(w, y, theta, gradient);
        assertTrue(last < 0.1 * initial, rule + ": loss " + initial + " -> " + last);
    }

    /** ||W theta - y||^2 (W n x n row-major); writes its gradient 2 W^T (W theta - y). */
    private static double quadratic(double[] w, double[] y, float[] theta, float[] gradient) {
        int n = y.length;
        double[] r = new double[n];
        double loss = 0;
        for (int i = 0; i < n; i++) {
            r[i] = -y[i];
            for (int j = 0; j < n; j++) {
                r[i] += w[i * n + j] * theta[j];
            }
            loss += r[i] * r[i];
        }
        for (int j = 0; j < n; j++) {
            double g = 0;
            for (int i = 0; i < n; i++) {
                g += w[i * n + j] * r[i];
            }
            gradient[j] = (float) (2 * g);
        }
        return loss;
    }

    @Test
    void namesShowRuleAndLearningRate() {
        assertEquals("Adam(lr=0.00316)", HandDesignedRule.ADAM.factory(Math.pow(10, -2.5)).name());
        assertEquals("SGD(lr=0.1)", HandDesignedRule.SGD.factory(0.1).name());
        assertEquals("RMSprop(lr=1E-7)", HandDesignedRule.RMSPROP.factory(1e-7).name());
        assertEquals(HandDesignedRule.NAG, HandDesignedRule.NAG.factory(1).rule());
    }

    @Test
    void rejectsLearningRatesThatAreNotFiniteAndPositive() {
        assertThrows(IllegalArgumentException.class, () -> HandDesignedRule.SGD.factory(0));
        assertThrows(IllegalArgumentException.class, () -> HandDesignedRule.SGD.factory(-1));
        assertThrows(IllegalArgumentException.class, () -> HandDesignedRule.SGD.factory(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> HandDesignedRule.SGD.factory(Double.POSITIVE_INFINITY));
    }

    /**
     * Without the value check a NaN gradient propagates into the parameter (what evaluation
     * records for a diverging learning rate); with it, the step is rejected and nothing changes.
     */
    @ParameterizedTest
    @EnumSource(HandDesignedRule.class)
    void aNanGradientPropagatesOnlyWithoutTheValueCheck(HandDesignedRule rule) {
        float[] theta = {1, 2};
        float[] gradient = {Float.NaN, 1};
        try (ParameterOptimizer unchecked = rule.factory(0.1).parameterOptimizer(false)) {
            unchecked.register("theta", theta, gradient);
            unchecked.step();
        }
        assertTrue(Float.isNaN(theta[0]) && Float.isFinite(theta[1]), rule + ": " + java.util.Arrays.toString(theta));
        float[] kept = {1, 2};
        try (ParameterOptimizer checked = rule.factory(0.1).parameterOptimizer()) {
            checked.register("theta", kept, gradient);
            assertThrows(IllegalArgumentException.class, checked::step);
        }
        assertEquals(1f, kept[0]);
        assertEquals(2f, kept[1]);
    }
}
