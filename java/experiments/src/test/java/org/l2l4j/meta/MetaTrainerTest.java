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

    /** Stops a run by throwing from the listener after the validation of epoch {@code at} (as Ctrl-C after a checkpoint). */
    private static final class StopAfter extends RuntimeException {
        private static final long serialVersionUID = 1L;
    }

    /**
     * Every part of the recipe (a cosine schedule with warm-up, a curriculum whose trajectories
     * end in a shorter unroll, imitation of NAG, parameter scaling, a confirmation) keeps a run
     * bitwise reproducible, and a run stopped after a validation and resumed from its state ends
     * exactly where the uninterrupted run does, confirmation included.
     */
    @Test
    void aFullRecipeRunResumesBitForBit() {
        QuadraticFamily f = new QuadraticFamily();
        MetaTrainingOptions opts = small().withEpochs(10).withEvaluation(2, 4).withConfirmation(6)
                .withSchedule(LearningRateSchedule.parse("cosine,warmup=2,floor=0.1"))
                .withCurriculum(Curriculum.parse("15:3,30:2")).withParameterScaling(0.5)
                .withImitation(new Imitation(org.l2l4j.optimizers.HandDesignedRule.NAG, 0.01, 0.5, 6));
        TrainingState whole;
        try (MetaTrainer t = new MetaTrainer(backend, CONFIG, f, f, opts)) {
            whole = t.train(null);
        }
        TrainingState stopped;
        try (MetaTrainer t = new MetaTrainer(backend, CONFIG, f, f, opts)) {
            org.junit.jupiter.api.Assertions.assertThrows(StopAfter.class, () -> t.train(new MetaTrainer.Listener() {
                @Override
                public void validated(TrainingState.Validation v, boolean best) {
                    if (v.epoch() == 4) {
                        throw new StopAfter();
                    }
                }
            }));
            stopped = t.state();
        }
        assertEquals(4, stopped.epochs());
        TrainingState resumed;
        try (MetaTrainer t = new MetaTrainer(backend, CONFIG, f, f, opts)) {
            t.restore(stopped);
            resumed = t.train(null);
        }
        assertArrayEquals(whole.phi(), resumed.phi());
        assertArrayEquals(whole.adamFirst(), resumed.adamFirst());
        assertArrayEquals(whole.adamSecond(), resumed.adamSecond());
        assertEquals(whole.adamStep(), resumed.adamStep());
        assertArrayEquals(whole.bestPhi(), resumed.bestPhi());
        assertEquals(whole.bestValidation(), resumed.bestValidation());
        assertEquals(whole.bestEpoch(), resumed.bestEpoch());
        assertEquals(whole.history().stream().map(TrainingState.Validation::validationLoss).toList(),
                resumed.history().stream().map(TrainingState.Validation::validationLoss).toList());
        assertEquals(whole.candidates().stream().map(TrainingState.Candidate::epoch).toList(),
                resumed.candidates().stream().map(TrainingState.Candidate::epoch).toList());
        // epochs 0-2 over 15 steps (2 unrolls), 3-4 over 30 (3 unrolls), 5-9 over 40 (4 unrolls)
        assertEquals(3 * 2 + 2 * 3 + 5 * 4, whole.adamStep());
        assertEquals(MetaTrainingOptions.CONFIRMED_CANDIDATES, whole.candidates().size());
    }

    /**
     * A run whose meta-learning rate is far too high (1) makes phi worse than the untrained one:
     * the initial phi, validated before the first epoch, is the one kept (epoch 0).
     */
    @Test
    void theInitialPhiIsKeptWhenTrainingOnlyMakesItWorse() {
        QuadraticFamily f = new QuadraticFamily();
        MetaTrainingOptions opts = MetaTrainingOptions.defaults().withMetaLearningRate(1).withEpochs(40)
                .withEvaluation(10, 8).withSeed(3);
        try (MetaTrainer t = new MetaTrainer(backend, LstmConfig.paperQuadratic(), f, f, opts)) {
            double[] initial = t.state().phi();
            TrainingState s = t.train(null);
            assertEquals(0, s.history().get(0).epoch());
            double untrained = s.history().get(0).validationLoss();
            assertTrue(s.history().stream().skip(1).allMatch(v -> !(v.validationLoss() < untrained)),
                    "the test needs a run that only gets worse: " + s.history());
            assertEquals(0, s.bestEpoch());
            assertEquals(untrained, s.bestValidation());
            assertArrayEquals(initial, s.bestPhi());
        }
    }
}
