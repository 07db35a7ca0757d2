package org.l2l4j.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.optimizees.Optimizee;
import org.l2l4j.optimizees.QuadraticFamily;

/**
 * An optimizee that throws stops meta-training with an exception that names the epoch and the
 * step and carries the optimizee's own, without corrupting the trainer: the failed epoch is not
 * counted, and training resumed after the failure ends bitwise where a run that never failed
 * ends.
 */
class OptimizeeFailureTest {

    /** Quadratics of which one instance of one epoch throws once, at its {@code at}-th evaluation (0: θ_0). */
    private static final class FailsOnce implements FaultyQuadratics.Fault {
        final int at;
        /** How often the failing evaluation was reached; it throws the first time only. */
        final AtomicInteger reached = new AtomicInteger();
        final RuntimeException failure = new IllegalStateException("the data pipeline lost its connection");

        FailsOnce(int at) {
            this.at = at;
        }

        @Override
        public void initialParameters(Optimizee f, float[] theta) {
            if (at == 0 && reached.getAndIncrement() == 0) {
                throw failure;
            }
            f.initialParameters(theta);
        }

        @Override
        public double lossAndGradient(Optimizee f, int evaluation, float[] theta, float[] gradient) {
            if (evaluation == at && reached.getAndIncrement() == 0) {
                throw failure;
            }
            return f.lossAndGradient(theta, gradient);
        }
    }

    /**
     * @param instances the meta-batch (with more than one, the instances are evaluated in parallel)
     * @param at        the failing evaluation: 0 for θ_0's parameters, 1 for f(θ_0), 13 for f(θ_12)
     */
    @ParameterizedTest(name = "B={0}, evaluation {1}")
    @CsvSource({"1, 13", "4, 13", "4, 1", "1, 0"})
    void aThrowingOptimizeeStopsTrainingCleanly(int instances, int at) {
        LstmConfig config = LstmConfig.paperQuadratic().withWidths(6);
        MetaTrainingOptions opts = MetaTrainingOptions.defaults().withHorizon(20).withUnroll(5).withEpochs(4)
                .withInstances(instances, InputScaling.PAPER).withEvaluation(1, 4).withSeed(13);
        FailsOnce fault = new FailsOnce(at);
        FaultyQuadratics family = new FaultyQuadratics("failing-quadratic",
                Seeds.derive(opts.seed(), Seeds.TRAINING, 2, instances - 1), fault);
        try (Backend backend = Backend.cpu(1)) {
            TrainingState clean2;
            TrainingState clean4;
            try (MetaTrainer t = new MetaTrainer(backend, config, new QuadraticFamily(), new QuadraticFamily(),
                    opts.withEpochs(2))) {
                clean2 = t.train(null);
            }
            try (MetaTrainer t = new MetaTrainer(backend, config, new QuadraticFamily(), new QuadraticFamily(), opts)) {
                clean4 = t.train(null);
            }
            try (MetaTrainer t = new MetaTrainer(backend, config, family, new QuadraticFamily(), opts)) {
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.train(null));
                assertSame(fault.failure, e.getCause());
                String m = e.getMessage();
                assertTrue(m.contains("epoch 3") && m.contains("failing-quadratic") && m.contains("not counted")
                        && m.contains("the data pipeline lost its connection")
                        && m.contains("step " + Math.max(0, at - 1) + " of 20"), m);

                // the failed epoch left no trace: the state is that of a run of two epochs
                assertSameState(clean2, t.state());

                // and training goes on from there to where a run that never failed ends
                assertSameState(clean4, t.train(null));
                assertEquals(2, fault.reached.get(), "the epoch ran again, without the failure");
            }
        }
    }

    private static void assertSameState(TrainingState want, TrainingState got) {
        assertEquals(want.epochs(), got.epochs());
        assertArrayEquals(want.phi(), got.phi());
        assertArrayEquals(want.adamFirst(), got.adamFirst());
        assertArrayEquals(want.adamSecond(), got.adamSecond());
        assertEquals(want.adamStep(), got.adamStep());
        assertArrayEquals(want.bestPhi(), got.bestPhi());
        assertEquals(want.bestValidation(), got.bestValidation());
        assertEquals(want.bestEpoch(), got.bestEpoch());
        assertEquals(want.skippedUpdates(), got.skippedUpdates());
        assertEquals(want.history().size(), got.history().size());
        for (int i = 0; i < want.history().size(); i++) {
            assertEquals(want.history().get(i).validationLoss(), got.history().get(i).validationLoss());
        }
    }
}
