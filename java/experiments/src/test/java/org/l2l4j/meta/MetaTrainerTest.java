package org.l2l4j.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.optimizees.QuadraticFamily;

/** Meta-training on small quadratic problems: it learns, and it is exactly reproducible. */
class MetaTrainerTest {
    static Backend backend;
    static final LstmConfig CONFIG = LstmConfig.paperQuadratic().withWidths(8, 8);

    @BeforeAll
    static void open() {
        backend = Backend.cpu(1);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    static MetaTrainingOptions small() {
        return MetaTrainingOptions.defaults().withHorizon(40).withUnroll(10).withMetaLearningRate(3e-3)
                .withInstances(8, InputScaling.PAPER).withEvaluation(20, 16).withEpochs(60).withSeed(11);
    }

    @Test
    void theMetaLossFallsAndValidationImproves() {
        QuadraticFamily f = new QuadraticFamily();
        try (MetaTrainer trainer = new MetaTrainer(backend, CONFIG, f, f, small())) {
            double first = trainer.trainEpoch();
            TrainingState s = trainer.train(null);
            List<TrainingState.Validation> h = s.history();
            assertEquals(3, h.size());
            double untrained = LearnedValidation.untrained(backend, CONFIG, f, small());
            assertTrue(s.bestValidation() < 0.5 * untrained,
                    "validation loss " + s.bestValidation() + " vs untrained " + untrained);
            assertTrue(h.get(h.size() - 1).trainingMetaLoss() < first,
                    "meta-loss " + h.get(h.size() - 1).trainingMetaLoss() + " vs first epoch " + first);
            assertNotNull(s.bestPhi());
            assertEquals(0, s.skippedUpdates());
        }
    }

    @Test
    void seededRunsAreBitwiseReproducibleAndResumeExactly() {
        QuadraticFamily f = new QuadraticFamily();
        MetaTrainingOptions opts = small().withEpochs(20);
        TrainingState whole;
        try (MetaTrainer t = new MetaTrainer(backend, CONFIG, f, f, opts)) {
            whole = t.train(null);
        }
        TrainingState again;
        try (MetaTrainer t = new MetaTrainer(backend, CONFIG, f, f, opts)) {
            again = t.train(null);
        }
        assertArrayEquals(whole.phi(), again.phi());
        TrainingState half;
        try (MetaTrainer t = new MetaTrainer(backend, CONFIG, f, f, opts.withEpochs(10))) {
            half = t.train(null);
        }
        TrainingState resumed;
        try (MetaTrainer t = new MetaTrainer(backend, CONFIG, f, f, opts)) {
            t.restore(half);
            resumed = t.train(null);
        }
        assertArrayEquals(whole.phi(), resumed.phi());
        assertArrayEquals(whole.adamSecond(), resumed.adamSecond());
        assertEquals(whole.adamStep(), resumed.adamStep());
    }

    @Test
    void aShorterLastUnrollAndAnUnrollLongerThanTheHorizonBothTrain() {
        QuadraticFamily f = new QuadraticFamily();
        // K = 25, T = 10: unrolls of 10, 10 and 5 steps, three meta-updates per epoch.
        try (MetaTrainer t = new MetaTrainer(backend, CONFIG, f, f, small().withHorizon(25).withEpochs(4))) {
            TrainingState s = t.train(null);
            assertEquals(4 * 3, s.adamStep());
            assertEquals(0, s.skippedUpdates());
            assertTrue(Double.isFinite(s.bestValidation()), "validation loss " + s.bestValidation());
        }
        // T = 30 > K = 25: one unroll of the whole trajectory.
        try (MetaTrainer t = new MetaTrainer(backend, CONFIG, f, f,
                small().withHorizon(25).withUnroll(30).withEpochs(4))) {
            assertEquals(4, t.train(null).adamStep());
        }
    }
}
