package org.l2l4j.meta;

import java.util.Optional;
import org.l2l4j.optimizers.HandDesignedRule;

/**
 * Named meta-training recipes: the paper's settings, and a faster recipe that reaches a learned
 * optimizer beating the tuned baselines within the main job's few hundred epochs.  A recipe sets
 * the meta-learning rate and its schedule, the truncation curriculum, the imitation of a tuned
 * teacher and the selection; the problem's settings (horizon, unroll, seed, epochs, budget) stay
 * the caller's, and any setting given explicitly overrides the recipe's.
 */
public enum Recipe {
    /** The paper's (section 3): Adam at 1e-3, every trajectory of the full horizon, nothing else. */
    PAPER,
    /**
     * Adam at 5e-3 on phi (five times the paper's rate) under a cosine decay to 3% of it,
     * imitation of tuned NAG with a weight decaying from 1 to 0 over the whole run, and cheap
     * validations (4 functions every 25 epochs) whose best 3 are confirmed on 16 more at the end;
     * measured in the README's ablation.
     */
    FAST;

    /** The epochs of the fast recipe (the main job's): its schedule decays over them. */
    public static final int FAST_EPOCHS = 500;

    /** A teacher to imitate: its rule (its learning rate is tuned by the caller), lambda_0 and decay epochs. */
    public record Teacher(HandDesignedRule rule, double weight, int epochs) {
    }

    /**
     * The recipe's settings on top of {@code base}, whose problem settings (horizon, unroll,
     * instances), seed and budget stay; the fast recipe also sets the epochs, over which its
     * schedule decays.
     */
    public MetaTrainingOptions apply(MetaTrainingOptions base) {
        return switch (this) {
            case PAPER -> base;
            case FAST -> base.withEpochs(FAST_EPOCHS).withMetaLearningRate(5e-3)
                    .withSchedule(new LearningRateSchedule(LearningRateSchedule.Kind.COSINE, 0, 0.03))
                    .withEvaluation(25, 4).withConfirmation(16);
        };
    }

    /**
     * The teacher the recipe imitates in a run of {@code epochs} epochs, if any: the fast recipe's
     * weight decays over the whole run.
     */
    public Optional<Teacher> teacher(int epochs) {
        return switch (this) {
            case PAPER -> Optional.empty();
            case FAST -> Optional.of(new Teacher(HandDesignedRule.NAG, 1, epochs));
        };
    }
}
