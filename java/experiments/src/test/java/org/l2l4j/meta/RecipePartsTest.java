package org.l2l4j.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.l2l4j.optimizers.HandDesignedRule;

/** The parts of the outer loop on their own: schedules, curricula, imitation weights, selection. */
class RecipePartsTest {

    @Test
    void schedulesFollowTheirFormulas() {
        LearningRateSchedule cosine = LearningRateSchedule.parse("cosine,warmup=4,floor=0.1");
        assertEquals(0.25, cosine.factor(0, 100), 1e-15, "warm-up (0 + 1) / 4");
        assertEquals(0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * 3 / 100)), cosine.factor(3, 100), 1e-15);
        assertEquals(0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * 50 / 100)), cosine.factor(50, 100), 1e-15);
        assertEquals(cosine.factor(99, 100), cosine.factor(150, 100), "past the run: the last epoch's rate");
        LearningRateSchedule step = LearningRateSchedule.parse("step");
        assertEquals(1, step.factor(49, 100));
        assertEquals(0.1, step.factor(50, 100));
        assertEquals(0.01, step.factor(75, 100));
        assertEquals(1, LearningRateSchedule.CONSTANT.factor(1234, 10));
        for (String s : List.of("constant", "cosine", "cosine,warmup=3,floor=0.05", "step,warmup=10")) {
            assertEquals(s, LearningRateSchedule.parse(s).toString());
        }
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.parse("linear"));
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.parse("step,floor=0.1"));
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.parse("cosine,floor=2"));
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.parse("cosine,warmup=x"));
    }

    /** The meta-optimizer reports the meta-gradient's norm before clipping, and clips it in place. */
    @Test
    void theMetaGradientNormIsReportedBeforeClipping() {
        MetaOptimizer clipped = new MetaOptimizer(2, 0.1, LearningRateSchedule.CONSTANT, 1);
        double[] g = {3, 4};
        assertEquals(5, clipped.update(new double[2], g, 0, 10), 1e-15);
        assertArrayEquals(new double[] {0.6, 0.8}, g, 1e-15, "scaled to norm 1 in place");
        MetaOptimizer free = new MetaOptimizer(2, 0.1, LearningRateSchedule.CONSTANT, 0);
        double[] h = {3, 4};
        assertEquals(5, free.update(new double[2], h, 0, 10), 1e-15);
        assertArrayEquals(new double[] {3, 4}, h, "no threshold: left as it is");
    }

    @Test
    void aCurriculumLengthensTheTrajectoriesStageByStage() {
        Curriculum c = Curriculum.parse("20:3, 50:2");
        assertEquals(List.of(20, 20, 20, 50, 50, 100, 100),
                java.util.stream.IntStream.range(0, 7).mapToObj(e -> c.horizon(e, 100)).toList());
        assertEquals(List.of(20, 50, 100), c.horizons(100));
        assertEquals("20:3,50:2", c.toString());
        assertEquals(Curriculum.NONE, Curriculum.parse("none"));
        assertEquals(100, Curriculum.NONE.horizon(0, 100));
        assertThrows(IllegalArgumentException.class, () -> Curriculum.parse("20"));
        assertThrows(IllegalArgumentException.class, () -> Curriculum.parse("20:0"));
    }

    @Test
    void theImitationWeightDecaysLinearlyToZero() {
        Imitation i = new Imitation(HandDesignedRule.NAG, 1, 2, 4);
        assertArrayEquals(new double[] {2, 1.5, 1, 0.5, 0, 0},
                java.util.stream.IntStream.range(0, 6).mapToDouble(i::weight).toArray(), 1e-15);
        assertEquals(0, Imitation.NONE.weight(0));
        assertThrows(IllegalArgumentException.class, () -> new Imitation(HandDesignedRule.NAG, 0, 1, 4));
    }

    /**
     * The cheap validations keep the three best phis; the confirmation picks among them by the
     * confirmation loss, not by the cheap one.
     */
    @Test
    void theConfirmationChoosesAmongTheBestValidatedCandidates() {
        // phi = {k}: cheap loss by k, confirmation loss by another order
        Map<Double, Double> cheap = Map.of(0.0, 5.0, 1.0, 3.0, 2.0, 1.0, 3.0, 2.0, 4.0, 4.0, 5.0, 1.5);
        Map<Double, Double> confirmed = Map.of(2.0, 0.9, 3.0, 0.7, 5.0, 0.8);
        SelectionPolicy p = new SelectionPolicy(1, phi -> cheap.get(phi[0]), phi -> confirmed.get(phi[0]));
        for (int k = 0; k < 6; k++) {
            p.validate(k, new double[] {k});
        }
        assertEquals(2, p.bestEpoch(), "before the confirmation, the lowest cheap loss");
        assertEquals(List.of(2, 5, 3), p.candidates().stream().map(TrainingState.Candidate::epoch).toList());
        p.confirm();
        assertEquals(3, p.bestEpoch());
        assertEquals(0.7, p.bestLoss());
        assertArrayEquals(new double[] {3}, p.bestPhi());
        SelectionPolicy plain = new SelectionPolicy(1, phi -> cheap.get(phi[0]), null);
        for (int k = 0; k < 6; k++) {
            plain.validate(k, new double[] {k});
        }
        plain.confirm();
        assertEquals(2, plain.bestEpoch(), "without a confirmation the cheap validation decides");
        assertEquals(List.of(), plain.candidates());
    }
}
