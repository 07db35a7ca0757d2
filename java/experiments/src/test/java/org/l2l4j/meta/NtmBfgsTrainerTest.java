package org.l2l4j.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.l2l4j.ntm.NtmBfgs;
import org.l2l4j.ntm.NtmBfgsConfig;
import org.l2l4j.optimizees.QuadraticFamily;
import org.l2l4j.optimizers.HandDesignedRule;

/** NTM-BFGS's meta-training and rollouts on the paper's quadratics. */
class NtmBfgsTrainerTest {
    private static final NtmBfgsConfig CONFIG = new NtmBfgsConfig(new int[] {8, 8}, new int[] {1, 1}, 2,
            NtmBfgsConfig.paperQuadratic().preprocessing(), 10, 1.0);
    private static final QuadraticFamily QUADRATICS = new QuadraticFamily();

    private static MetaTrainingOptions options() {
        return MetaTrainingOptions.defaults().withInstances(4, InputScaling.PAPER).withHorizon(20).withUnroll(10)
                .withEpochs(30).withEvaluation(10, 8).withMetaLearningRate(3e-3).withSeed(3);
    }

    @Test
    void trainingIsReproducibleAndBeatsTheUntrainedOptimizer() {
        NtmBfgsTrainer.Result a = new NtmBfgsTrainer(CONFIG, QUADRATICS, QUADRATICS, options()).train(null);
        NtmBfgsTrainer.Result b = new NtmBfgsTrainer(CONFIG, QUADRATICS, QUADRATICS, options()).train(null);
        assertArrayEquals(a.bestPhi(), b.bestPhi(), "the same seed gives the same phi, bit for bit");
        assertEquals(30, a.epochs());
        assertEquals(4, a.history().size(), "validated at epochs 0, 10, 20 and 30");
        double untrained = a.history().get(0).validationLoss();
        assertTrue(a.bestEpoch() > 0 && a.bestLoss() < 0.5 * untrained, "best " + a.bestLoss() + " at epoch "
                + a.bestEpoch() + ", untrained " + untrained);
        assertEquals(a.bestLoss(), NtmBfgsRollouts.meanFinalLoss(CONFIG, a.bestPhi(), QUADRATICS,
                Seeds.list(3, Seeds.VALIDATION, 8), 20), 0.0, "the kept phi validates as recorded");
    }

    @Test
    void refusesWhatItDoesNotTake() {
        MetaTrainingOptions o = options();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new NtmBfgsTrainer(CONFIG,
                QUADRATICS, QUADRATICS, o.withImitation(new Imitation(HandDesignedRule.NAG, 0.1, 1, 4))
                        .withCurriculum(Curriculum.parse("10:5"))));
        assertEquals("NTM-BFGS meta-training does not take imitation, a curriculum", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new NtmBfgsTrainer(CONFIG, QUADRATICS, QUADRATICS,
                o.withSecondDerivatives(SecondDerivatives.EXACT)));
        IllegalArgumentException large = assertThrows(IllegalArgumentException.class, () -> new NtmBfgsTrainer(CONFIG,
                new QuadraticFamily(2000, QuadraticFamily.Distribution.GAUSSIAN),
                new QuadraticFamily(2000, QuadraticFamily.Distribution.GAUSSIAN), o));
        assertTrue(large.getMessage().contains("1 to 1024 coordinates per instance; got 2000 (32 MB per memory"),
                large.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new NtmBfgsTrainer(CONFIG, QUADRATICS,
                new QuadraticFamily(5, QuadraticFamily.Distribution.GAUSSIAN), o));
    }

    @Test
    void rolloutsRunEachFunctionAsALoneRunAndKeepDivergenceToItsOwnRun() {
        double[] phi = NtmBfgs.initialPhi(CONFIG, 4);
        for (int i = 0; i < phi.length; i++) {
            phi[i] *= 3; /* an untrained phi that moves theta */
        }
        long[] seeds = {11, 12, 13};
        // seed 12's gradient turns NaN at its 4th evaluation (theta_3)
        FaultyQuadratics faulty = new FaultyQuadratics("faulty", 12, (f, evaluation, theta, gradient) -> {
            double loss = f.lossAndGradient(theta, gradient);
            if (evaluation == 4) {
                gradient[2] = Float.NaN;
            }
            return loss;
        });
        LearnedRollouts.Result together = NtmBfgsRollouts.run(CONFIG, phi, faulty, seeds, 6);
        for (int j = 0; j < seeds.length; j++) {
            LearnedRollouts.Result alone = NtmBfgsRollouts.run(CONFIG, phi, faulty, new long[] {seeds[j]}, 6);
            assertArrayEquals(alone.losses()[0], together.losses()[j]);
            assertArrayEquals(alone.finalParameters()[0], together.finalParameters()[j]);
        }
        double[] broken = together.losses()[1];
        assertTrue(Arrays.stream(broken, 0, 4).allMatch(Double::isFinite), Arrays.toString(broken));
        assertTrue(Arrays.stream(broken, 4, 7).allMatch(Double::isNaN), Arrays.toString(broken));
        assertTrue(Arrays.stream(together.losses()[0]).allMatch(Double::isFinite));
        assertEquals(Double.POSITIVE_INFINITY, NtmBfgsRollouts.meanFinalLoss(CONFIG, phi, faulty, seeds, 6));
    }
}
