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
import org.l2l4j.lstm.GroupedLstm;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.ParameterGroup;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.lstm.TensorRule;
import org.l2l4j.optimizees.MlpFamily;
import org.l2l4j.optimizees.MlpSpec;
import org.l2l4j.optimizees.QuadraticFamily;
import org.l2l4j.optimizees.RandomData;

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

    /**
     * Parameter groups in meta-training: an MLP's weights and biases, each with its own LSTM
     * (the biases' narrower), learn, reproduce bitwise, resume exactly, and keep apart: group 0's
     * initial phi is the single-group run's, and a run whose groups are one group of every tensor
     * equals the plain trainer.
     */
    @Test
    void parameterGroupsTrainReproduceAndResume() {
        MlpFamily mlp = new MlpFamily(RandomData.of(3, 200, 6, 3), MlpSpec.paper().withHiddenWidths(5));
        LstmConfig small = LstmConfig.paperMnist().withWidths(6, 6);
        ParameterGroups groups = ParameterGroups.parse("weights=fc*.weight,biases=*", small);
        ParameterGroups uneven = new ParameterGroups(List.of(groups.get(0),
                new ParameterGroup("biases", TensorRule.ALL, small.withWidths(3))));
        MetaTrainingOptions opts = MetaTrainingOptions.defaults().withHorizon(12).withUnroll(4)
                .withMetaLearningRate(3e-3).withEvaluation(4, 2).withEpochs(8).withSeed(5);
        TrainingState whole;
        try (MetaTrainer t = new MetaTrainer(backend, uneven, mlp, mlp, opts)) {
            assertEquals(uneven.phiSize(), t.state().phi().length);
            double[] initial = t.state().phi();
            whole = t.train(null);
            assertTrue(!java.util.Arrays.equals(initial, whole.phi()), "phi did not move");
            for (int g = 0; g < 2; g++) {
                int from = uneven.phiOffset(g);
                int to = from + uneven.get(g).config().phiLayout().size();
                assertTrue(!java.util.Arrays.equals(java.util.Arrays.copyOfRange(initial, from, to),
                        java.util.Arrays.copyOfRange(whole.phi(), from, to)), "group " + g + "'s phi did not move");
            }
        }
        TrainingState half;
        try (MetaTrainer t = new MetaTrainer(backend, uneven, mlp, mlp, opts.withEpochs(4))) {
            half = t.train(null);
        }
        TrainingState resumed;
        try (MetaTrainer t = new MetaTrainer(backend, uneven, mlp, mlp, opts)) {
            t.restore(half);
            resumed = t.train(null);
        }
        assertArrayEquals(whole.phi(), resumed.phi());
        assertArrayEquals(whole.bestPhi(), resumed.bestPhi());
        try (MetaTrainer single = new MetaTrainer(backend, small, mlp, mlp, opts);
             MetaTrainer one = new MetaTrainer(backend, ParameterGroups.single(small), mlp, mlp, opts);
             MetaTrainer two = new MetaTrainer(backend, groups, mlp, mlp, opts)) {
            double[] first = java.util.Arrays.copyOf(two.state().phi(), small.phiLayout().size());
            assertArrayEquals(single.state().phi(), first, "group 0 starts where the single group does");
            assertArrayEquals(single.train(null).phi(), one.train(null).phi());
        }
        ParameterGroups convAndRest = ParameterGroups.convolutionAndRest(small);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new MetaTrainer(backend, convAndRest, mlp, mlp, opts).close());
        assertTrue(e.getMessage().contains("'conv'") && e.getMessage().contains("fc1.weight"), e.getMessage());
        // evaluated, a group without tensors does nothing: the fc group alone steps the MLP
        double[] fc = java.util.Arrays.copyOf(whole.bestPhi(), small.phiLayout().size()); // a trained phi of small
        double[] both = new double[convAndRest.phiSize()];
        System.arraycopy(fc, 0, both, convAndRest.phiOffset(1), fc.length);
        long[] seeds = {3, 4, 5};
        try (GroupedLstm plain = new GroupedLstm(ParameterGroups.single(small), backend);
             GroupedLstm grouped = new GroupedLstm(convAndRest, backend)) {
            plain.write(fc);
            grouped.write(both);
            LearnedRollouts.Result a = LearnedRollouts.run(backend, plain, mlp, seeds, 12);
            LearnedRollouts.Result b = LearnedRollouts.run(backend, grouped, mlp, seeds, 12);
            for (int j = 0; j < seeds.length; j++) {
                assertArrayEquals(a.losses()[j], b.losses()[j]);
                assertArrayEquals(a.finalParameters()[j], b.finalParameters()[j]);
            }
        }
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
