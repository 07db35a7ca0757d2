package org.l2l4j.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.optimizees.Optimizee;
import org.l2l4j.optimizees.OptimizeeFamily;
import org.l2l4j.optimizees.QuadraticFamily;

/**
 * A meta-update whose meta-loss or gradient is not finite is skipped and counted, and phi is
 * never corrupted: training on a family whose functions turn to NaN mid-unroll in one epoch
 * leaves phi finite and equal to a run that never saw that epoch's updates.
 */
class NonFiniteGuardTest {

    /** Quadratics whose evaluations return NaN from the 7th on, for epoch {@code poisoned}'s seeds. */
    private static final class Poisoned implements OptimizeeFamily {
        final QuadraticFamily base = new QuadraticFamily();
        final long poisonedSeed;

        Poisoned(long poisonedSeed) {
            this.poisonedSeed = poisonedSeed;
        }

        @Override
        public String name() {
            return "poisoned-quadratic";
        }

        @Override
        public int dimension() {
            return base.dimension();
        }

        @Override
        public Optimizee sample(long seed) {
            Optimizee f = base.sample(seed);
            if (seed != poisonedSeed) {
                return f;
            }
            return new Optimizee() {
                int evaluations;

                @Override
                public int dimension() {
                    return f.dimension();
                }

                @Override
                public void initialParameters(float[] theta) {
                    f.initialParameters(theta);
                }

                @Override
                public double lossAndGradient(float[] theta, float[] gradient) {
                    double loss = f.lossAndGradient(theta, gradient);
                    if (++evaluations >= 7) {
                        java.util.Arrays.fill(gradient, Float.NaN);
                        return Double.NaN;
                    }
                    return loss;
                }
            };
        }
    }

    @Test
    void nonFiniteUnrollsAreSkippedAndPhiStaysFinite() {
        LstmConfig config = LstmConfig.paperQuadratic().withWidths(6);
        MetaTrainingOptions opts = MetaTrainingOptions.defaults().withHorizon(20).withUnroll(5).withEpochs(3)
                .withEvaluation(3, 4).withSeed(5);
        long poisoned = Seeds.derive(opts.seed(), Seeds.TRAINING, 1, 0); // epoch 1, instance 0
        try (Backend backend = Backend.cpu(1);
             MetaTrainer t = new MetaTrainer(backend, config, new Poisoned(poisoned), new QuadraticFamily(), opts)) {
            TrainingState s = t.train(null);
            // epoch 1: evaluations 1..6 (theta_0..theta_5) are finite, so its first unroll is
            // applied; from theta_6 on every loss is NaN and its three other unrolls are skipped
            assertEquals(3, s.skippedUpdates());
            assertEquals(9, s.adamStep());
            for (double v : s.phi()) {
                assertTrue(Double.isFinite(v), "phi must stay finite");
            }
            assertTrue(Double.isFinite(s.bestValidation()));
        }
        // the same run with epoch 1's functions harmless differs: the guard did act
        try (Backend backend = Backend.cpu(1);
             MetaTrainer clean = new MetaTrainer(backend, config, new QuadraticFamily(), new QuadraticFamily(), opts)) {
            TrainingState c = clean.train(null);
            assertEquals(0, c.skippedUpdates());
            assertEquals(12, c.adamStep());
            assertTrue(!java.util.Arrays.equals(c.phi(), new double[c.phi().length]));
        }
    }

    @Test
    void adamRejectsANonFiniteGradientWithoutTouchingPhi() {
        MetaAdam adam = new MetaAdam(3, 1e-3, 0);
        double[] phi = {1, 2, 3};
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> adam.update(phi, new double[] {0.1, Double.NaN, 0.2}));
        assertArrayEquals(new double[] {1, 2, 3}, phi);
        assertEquals(0, adam.step());
    }
}
