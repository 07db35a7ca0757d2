package org.l2l4j.meta;

import java.util.List;

/**
 * Everything meta-training needs to continue exactly where it stopped: phi and Adam's moments
 * (float64), the epoch counter (every random stream is derived from the seed and the epoch, see
 * {@link Seeds}), the best phi by validation loss, and the history.
 *
 * @param epochs         epochs completed
 * @param phi            current phi
 * @param adamFirst      Adam's first moment
 * @param adamSecond     Adam's second moment
 * @param adamStep       Adam's step count (meta-updates applied)
 * @param bestPhi        phi with the lowest validation loss so far (null before any validation)
 * @param bestValidation that loss (+infinity before any validation)
 * @param bestEpoch      the epoch of that validation (-1 before any)
 * @param skippedUpdates meta-updates skipped because the meta-loss or gradient was not finite
 * @param history        validations so far
 */
public record TrainingState(int epochs, double[] phi, double[] adamFirst, double[] adamSecond, long adamStep,
                            double[] bestPhi, double bestValidation, int bestEpoch, long skippedUpdates,
                            List<Validation> history) {

    /**
     * One validation: mean loss at the horizon over the held-out functions, and the mean
     * training meta-loss per step over the epochs since the previous validation.
     */
    public record Validation(int epoch, double validationLoss, double trainingMetaLoss, double seconds) {
    }

    public TrainingState {
        history = List.copyOf(history);
    }
}
