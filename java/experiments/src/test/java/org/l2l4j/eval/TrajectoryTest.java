package org.l2l4j.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.l2l4j.optimizees.Optimizee;
import org.l2l4j.optimizees.QuadraticFamily;
import org.l2l4j.optimizers.HandDesignedRule;
import org.l2l4j.optimizers.ParameterOptimizer;

class TrajectoryTest {

    /** Records every theta it is evaluated at and the loss it returned. */
    private static final class Recording implements Optimizee {
        final Optimizee inner;
        final List<float[]> points = new ArrayList<>();
        final List<Double> losses = new ArrayList<>();
        final List<float[]> gradients = new ArrayList<>();

        Recording(Optimizee inner) {
            this.inner = inner;
        }

        @Override
        public int dimension() {
            return inner.dimension();
        }

        @Override
        public void initialParameters(float[] theta) {
            inner.initialParameters(theta);
        }

        @Override
        public double lossAndGradient(float[] theta, float[] gradient) {
            double loss = inner.lossAndGradient(theta, gradient);
            points.add(theta.clone());
            gradients.add(gradient.clone());
            losses.add(loss);
            return loss;
        }
    }

    @Test
    void evaluatesExactlyKPlusOneTimesAndStepsWithEachEvaluationsGradient() {
        Recording f = new Recording(new QuadraticFamily().sample(4));
        int steps = 12;
        double lr = 0.01;
        float[] thetaK = new float[10];
        double[] losses;
        try (ParameterOptimizer sgd = HandDesignedRule.SGD.factory(lr).parameterOptimizer()) {
            losses = Trajectory.run(f, sgd, steps, thetaK);
        }
        assertEquals(steps + 1, losses.length);
        assertEquals(steps + 1, f.points.size());
        float[] theta0 = new float[10];
        f.initialParameters(theta0);
        assertArrayEquals(theta0, f.points.get(0), 0f);
        for (int t = 0; t <= steps; t++) {
            assertEquals(f.losses.get(t), losses[t], 0.0, "loss " + t);
            if (t < steps) {
                float[] next = f.points.get(t + 1);
                for (int i = 0; i < 10; i++) {
                    float expected = (float) (f.points.get(t)[i] - lr * f.gradients.get(t)[i]);
                    assertEquals(expected, next[i], 0f, "theta_" + (t + 1) + "[" + i + "]");
                }
            }
        }
        assertArrayEquals(f.points.get(steps), thetaK, 0f);
    }

    @Test
    void zeroStepsEvaluatesOnce() {
        Recording f = new Recording(new QuadraticFamily().sample(1));
        try (ParameterOptimizer adam = HandDesignedRule.ADAM.factory(1).parameterOptimizer()) {
            double[] losses = Trajectory.run(f, adam, 0);
            assertEquals(1, losses.length);
            assertEquals(1, f.points.size());
        }
    }

    @Test
    void rejectsBadArguments() {
        Optimizee f = new QuadraticFamily().sample(1);
        try (ParameterOptimizer adam = HandDesignedRule.ADAM.factory(1).parameterOptimizer()) {
            assertThrows(IllegalArgumentException.class, () -> Trajectory.run(f, adam, -1));
            assertThrows(NullPointerException.class, () -> Trajectory.run(null, adam, 3));
            assertThrows(NullPointerException.class, () -> Trajectory.run(f, null, 3));
            assertThrows(IllegalArgumentException.class, () -> Trajectory.run(f, adam, 3, new float[9]));
            Trajectory.run(f, adam, 1);
            assertThrows(IllegalStateException.class, () -> Trajectory.run(f, adam, 1), "not a fresh optimizer");
        }
    }
}
