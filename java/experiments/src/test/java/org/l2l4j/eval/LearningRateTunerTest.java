package org.l2l4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.l2l4j.optimizees.MlpFamily;
import org.l2l4j.optimizees.MlpSpec;
import org.l2l4j.optimizees.Optimizee;
import org.l2l4j.optimizees.OptimizeeFamily;
import org.l2l4j.optimizees.QuadraticFamily;
import org.l2l4j.optimizees.RandomData;
import org.l2l4j.optimizers.HandDesignedRule;

class LearningRateTunerTest {

    private static final long[] SEEDS = LongStream.range(1000, 1010).toArray();
    private static final int STEPS = 100;

    /** A family whose functions are {@code scale} times the base's: SGD's best lr moves by 1/scale. */
    private record Scaled(OptimizeeFamily base, double scale) implements OptimizeeFamily {
        @Override
        public String name() {
            return base.name() + "-x" + scale;
        }

        @Override
        public int dimension() {
            return base.dimension();
        }

        @Override
        public Optimizee sample(long seed) {
            Optimizee f = base.sample(seed);
            return new Optimizee() {
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
                    for (int i = 0; i < gradient.length; i++) {
                        gradient[i] = (float) (gradient[i] * scale);
                    }
                    return loss * scale;
                }
            };
        }
    }

    private static boolean interior(LearningRateTuner.Result result) {
        List<LearningRateTuner.Entry> table = result.table();
        return result.bestLearningRate() > table.get(0).learningRate()
                && result.bestLearningRate() < table.get(table.size() - 1).learningRate();
    }

    /** The table's minimum is the reported best, and rates step by half-decades. */
    private static void assertConsistent(LearningRateTuner.Result result) {
        double min = Double.POSITIVE_INFINITY;
        for (int i = 0; i < result.table().size(); i++) {
            LearningRateTuner.Entry e = result.table().get(i);
            min = Math.min(min, e.meanFinalLoss());
            if (i > 0) {
                assertEquals(Math.sqrt(10), e.learningRate() / result.table().get(i - 1).learningRate(), 1e-9);
            }
        }
        assertEquals(min, result.bestMeanFinalLoss(), 0.0);
    }

    @Test
    void picksAnInteriorRateOnQuadraticsWithoutExtending() {
        LearningRateTuner.Result result = new LearningRateTuner(2).tune(HandDesignedRule.SGD,
                new QuadraticFamily(), SEEDS, STEPS);
        assertConsistent(result);
        assertEquals(11, result.table().size());
        assertEquals(1e-5, result.table().get(0).learningRate(), 1e-20);
        assertEquals(1, result.table().get(10).learningRate(), 0.0);
        assertTrue(interior(result), "best " + result.bestLearningRate() + " at an edge");
        assertFalse(result.atCap());
        // 1 diverges on Gaussian 10 x 10 quadratics (largest Hessian eigenvalue ~ 10^2).
        assertEquals(Double.POSITIVE_INFINITY, result.table().get(10).meanFinalLoss());
    }

    /** Scaling f by 1e5 moves SGD's best rate below 1e-5: the grid extends downwards. */
    @Test
    void extendsBelowTheGrid() {
        LearningRateTuner.Result base = new LearningRateTuner(2).tune(HandDesignedRule.SGD,
                new QuadraticFamily(), SEEDS, STEPS);
        LearningRateTuner.Result result = new LearningRateTuner(2).tune(HandDesignedRule.SGD,
                new Scaled(new QuadraticFamily(), 1e5), SEEDS, STEPS);
        assertConsistent(result);
        assertTrue(result.table().get(0).learningRate() < 1e-5, "grid not extended downwards");
        assertTrue(interior(result));
        assertFalse(result.atCap());
        assertEquals(base.bestLearningRate() * 1e-5, result.bestLearningRate(), 1e-3 * result.bestLearningRate());
    }

    /** Scaling f by 1e-4 moves SGD's best rate above 1: the grid extends upwards. */
    @Test
    void extendsAboveTheGrid() {
        LearningRateTuner.Result base = new LearningRateTuner(2).tune(HandDesignedRule.SGD,
                new QuadraticFamily(), SEEDS, STEPS);
        LearningRateTuner.Result result = new LearningRateTuner(2).tune(HandDesignedRule.SGD,
                new Scaled(new QuadraticFamily(), 1e-4), SEEDS, STEPS);
        assertConsistent(result);
        assertTrue(result.table().get(result.table().size() - 1).learningRate() > 1, "grid not extended upwards");
        assertTrue(interior(result));
        assertEquals(base.bestLearningRate() * 1e4, result.bestLearningRate(), 1e-3 * result.bestLearningRate());
    }

    @Test
    void stopsAtTheCapAndSaysSo() {
        LearningRateTuner tuner = new LearningRateTuner(2, 1e-5, 1, Math.pow(10, -5.5), 1);
        LearningRateTuner.Result result = tuner.tune(HandDesignedRule.SGD,
                new Scaled(new QuadraticFamily(), 1e5), SEEDS, STEPS);
        assertEquals(12, result.table().size());
        assertEquals(Math.pow(10, -5.5), result.bestLearningRate(), 1e-20);
        assertTrue(result.atCap());
    }

    /** Same results, bit for bit, with 1 and 3 threads; the MLP case shares OpenBLAS across threads. */
    @Test
    void resultsDoNotDependOnTheThreadCount() {
        assertEquals(new LearningRateTuner(1).tune(HandDesignedRule.ADAM, new QuadraticFamily(), SEEDS, 50),
                new LearningRateTuner(3).tune(HandDesignedRule.ADAM, new QuadraticFamily(), SEEDS, 50));
        MlpFamily mlp = new MlpFamily(RandomData.of(3, 60, 12, 4),
                MlpSpec.paper().withHiddenWidths(8).withBatchSize(16));
        long[] seeds = {1, 2, 3};
        LearningRateTuner.Result one = new LearningRateTuner(1).tune(HandDesignedRule.RMSPROP, mlp, seeds, 20);
        LearningRateTuner.Result three = new LearningRateTuner(3).tune(HandDesignedRule.RMSPROP, mlp, seeds, 20);
        assertEquals(one, three);
        assertConsistent(one);
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> new LearningRateTuner(0));
        assertThrows(IllegalArgumentException.class, () -> new LearningRateTuner(1, 2e-5, 1, 1e-9, 1e3));
        assertThrows(IllegalArgumentException.class, () -> new LearningRateTuner(1, 1e-5, 1, 1e-4, 1e3));
        assertThrows(IllegalArgumentException.class, () -> new LearningRateTuner(1, 1, 1e-5, 1e-9, 1e3));
        LearningRateTuner tuner = new LearningRateTuner(1);
        QuadraticFamily family = new QuadraticFamily();
        assertThrows(IllegalArgumentException.class, () -> tuner.tune(HandDesignedRule.SGD, family, new long[0], 10));
        assertThrows(IllegalArgumentException.class, () -> tuner.tune(HandDesignedRule.SGD, family, SEEDS, 0));
        assertThrows(NullPointerException.class, () -> tuner.tune(HandDesignedRule.SGD, null, SEEDS, 10));
        assertThrows(NullPointerException.class, () -> tuner.tune((HandDesignedRule) null, family, SEEDS, 10));
    }
}
