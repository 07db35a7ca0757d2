package org.l2l4j.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.optimizees.QuadraticFamily;

/**
 * A meta-update whose meta-loss or gradient is not finite is skipped and counted, and phi is
 * never corrupted: training on a family whose functions turn to NaN or infinity mid-unroll (in
 * the loss, the gradient, or both) in one epoch leaves phi finite; an epoch whose every unroll is
 * poisoned leaves phi, Adam's state and the best phi bitwise as they were.
 */
class NonFiniteGuardTest {

    /** What a poisoned evaluation returns. */
    enum Poison {
        /** NaN loss and NaN gradient. */
        NAN,
        /** +Inf loss, finite gradient. */
        INFINITE_LOSS,
        /** Finite loss, one gradient coordinate +Inf. */
        INFINITE_GRADIENT,
        /** Finite loss, one gradient coordinate NaN. */
        NAN_GRADIENT
    }

    /** Quadratics whose evaluations are poisoned from the {@code from}-th on, for one seed. */
    private static FaultyQuadratics poisoned(long seed, int from, Poison poison) {
        return new FaultyQuadratics("poisoned-quadratic", seed, (f, evaluation, theta, gradient) -> {
            double loss = f.lossAndGradient(theta, gradient);
            if (evaluation < from) {
                return loss;
            }
            switch (poison) {
                case NAN:
                    java.util.Arrays.fill(gradient, Float.NaN);
                    return Double.NaN;
                case INFINITE_LOSS:
                    return Double.POSITIVE_INFINITY;
                case INFINITE_GRADIENT:
                    gradient[3] = Float.POSITIVE_INFINITY;
                    return loss;
                default:
                    gradient[3] = Float.NaN;
                    return loss;
            }
        });
    }

    @Test
    void nonFiniteUnrollsAreSkippedAndPhiStaysFinite() {
        LstmConfig config = LstmConfig.paperQuadratic().withWidths(6);
        MetaTrainingOptions opts = MetaTrainingOptions.defaults().withHorizon(20).withUnroll(5).withEpochs(3)
                .withEvaluation(3, 4).withSeed(5);
        long poisoned = Seeds.derive(opts.seed(), Seeds.TRAINING, 1, 0); // epoch 1, instance 0
        try (Backend backend = Backend.cpu(1);
             MetaTrainer t = new MetaTrainer(backend, config, poisoned(poisoned, 7, Poison.NAN), new QuadraticFamily(), opts)) {
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

    /**
     * Every kind of poison from the 7th evaluation of epoch 1 on: the first unroll (evaluations
     * 1 to 6) is applied, the three others are skipped, whichever of the meta-loss and the
     * meta-gradient turns non-finite (a NaN gradient coordinate also makes later losses NaN; an
     * infinite one keeps the loss finite and is caught by the meta-gradient alone).  NaN in both
     * is the test above.
     */
    @ParameterizedTest
    @EnumSource(value = Poison.class, names = "NAN", mode = EnumSource.Mode.EXCLUDE)
    void everyKindOfPoisonIsSkippedAndCounted(Poison poison) {
        LstmConfig config = LstmConfig.paperQuadratic().withWidths(6);
        MetaTrainingOptions opts = MetaTrainingOptions.defaults().withHorizon(20).withUnroll(5).withEpochs(3)
                .withEvaluation(3, 4).withSeed(5);
        long poisoned = Seeds.derive(opts.seed(), Seeds.TRAINING, 1, 0);
        try (Backend backend = Backend.cpu(1);
             MetaTrainer t = new MetaTrainer(backend, config, poisoned(poisoned, 7, poison), new QuadraticFamily(),
                     opts)) {
            TrainingState s = t.train(null);
            assertEquals(3, s.skippedUpdates(), poison.toString());
            assertEquals(9, s.adamStep(), poison.toString());
            assertTrue(java.util.Arrays.stream(s.phi()).allMatch(Double::isFinite), "phi must stay finite");
        }
    }

    /**
     * An epoch poisoned from its first evaluation skips all four of its unrolls: phi, Adam's
     * moments and step, the best phi and its validation loss are bitwise what they were after
     * the epoch before (the validation that follows sees the same phi, so it is no better).
     */
    @ParameterizedTest
    @EnumSource(Poison.class)
    void aFullyPoisonedEpochLeavesPhiAndTheBestPhiBitwiseIntact(Poison poison) {
        LstmConfig config = LstmConfig.paperQuadratic().withWidths(6);
        MetaTrainingOptions opts = MetaTrainingOptions.defaults().withHorizon(20).withUnroll(5).withEpochs(2)
                .withEvaluation(1, 4).withSeed(9);
        long poisoned = Seeds.derive(opts.seed(), Seeds.TRAINING, 2, 0); // epoch 2, instance 0
        FaultyQuadratics family = poisoned(poisoned, 1, poison);
        try (Backend backend = Backend.cpu(1)) {
            TrainingState before;
            try (MetaTrainer t = new MetaTrainer(backend, config, family, new QuadraticFamily(), opts)) {
                before = t.train(null);
            }
            assertEquals(0, before.skippedUpdates());
            TrainingState after;
            try (MetaTrainer t = new MetaTrainer(backend, config, family, new QuadraticFamily(), opts.withEpochs(3))) {
                t.restore(before);
                after = t.train(null);
            }
            assertEquals(3, after.epochs());
            assertEquals(4, after.skippedUpdates(), poison.toString());
            assertArrayEquals(before.phi(), after.phi(), poison + ": phi changed");
            assertArrayEquals(before.adamFirst(), after.adamFirst());
            assertArrayEquals(before.adamSecond(), after.adamSecond());
            assertEquals(before.adamStep(), after.adamStep());
            assertArrayEquals(before.bestPhi(), after.bestPhi(), poison + ": the best phi changed");
            assertEquals(before.bestValidation(), after.bestValidation());
            assertEquals(before.bestEpoch(), after.bestEpoch());
            assertEquals(4, after.history().size(), "validations at epochs 0 (the initial phi), 1, 2 and 3");
        }
    }

    @Test
    void adamRejectsANonFiniteGradientWithoutTouchingPhi() {
        MetaOptimizer adam = new MetaOptimizer(3, 1e-3, LearningRateSchedule.CONSTANT, 0);
        double[] phi = {1, 2, 3};
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> adam.update(phi, new double[] {0.1, Double.NaN, 0.2}, 0, 1));
        assertArrayEquals(new double[] {1, 2, 3}, phi);
        assertEquals(0, adam.step());
    }
}
