package org.l2l4j.meta;

import java.io.Serializable;
import java.util.List;
import java.util.Objects;

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
 * @param candidates     the phis of the lowest validation losses so far, kept for a confirmation on
 *                       more functions at the end of training (empty when there is none)
 */
public record TrainingState(int epochs, double[] phi, double[] adamFirst, double[] adamSecond, long adamStep,
                            double[] bestPhi, double bestValidation, int bestEpoch, long skippedUpdates,
                            List<Validation> history, List<Candidate> candidates) implements Serializable {

    /**
     * One validation: mean loss at the horizon over the held-out functions, and the mean
     * training meta-loss per step over the epochs since the previous validation.
     */
    public record Validation(int epoch, double validationLoss, double trainingMetaLoss, double seconds)
            implements Serializable {
    }

    /**
     * A phi kept for confirmation: the epoch it was validated at, its validation loss and its
     * values (float64).
     */
    public record Candidate(int epoch, double validationLoss, double[] phi) implements Serializable {
        /** @throws NullPointerException if phi is null */
        public Candidate {
            Objects.requireNonNull(phi, "phi");
        }
    }

    /**
     * Checks the invariants meta-training keeps, so that a state read from a file cannot resume a
     * run that no run could have reached.
     *
     * @throws NullPointerException     if phi, a moment or the history (or one of its entries) is
     *                                  null
     * @throws IllegalArgumentException if the vectors differ in length or hold a NaN or infinity,
     *                                  a counter is negative, bestValidation is NaN, bestEpoch is
     *                                  not in [-1, epochs], or bestPhi is present without a best
     *                                  epoch or absent with one
     */
    public TrainingState {
        Objects.requireNonNull(phi, "phi");
        Objects.requireNonNull(adamFirst, "adamFirst");
        Objects.requireNonNull(adamSecond, "adamSecond");
        history = List.copyOf(history);
        candidates = List.copyOf(candidates);
        requireFinite("phi", phi, phi.length);
        requireFinite("adamFirst", adamFirst, phi.length);
        requireFinite("adamSecond", adamSecond, phi.length);
        if (bestPhi != null) {
            requireFinite("bestPhi", bestPhi, phi.length);
        }
        if (epochs < 0 || adamStep < 0 || skippedUpdates < 0) {
            throw new IllegalArgumentException("counters must be >= 0: epochs " + epochs + ", adamStep " + adamStep
                    + ", skippedUpdates " + skippedUpdates);
        }
        for (Candidate c : candidates) {
            requireFinite("candidate phi of epoch " + c.epoch(), c.phi(), phi.length);
            if (c.epoch() < 0 || c.epoch() > epochs || !Double.isFinite(c.validationLoss())) {
                throw new IllegalArgumentException("candidate of epoch " + c.epoch() + " with validation loss "
                        + c.validationLoss() + " does not fit a run of " + epochs + " epochs");
            }
        }
        if (Double.isNaN(bestValidation)) {
            throw new IllegalArgumentException("bestValidation is NaN");
        }
        if (bestEpoch < -1 || bestEpoch > epochs) {
            throw new IllegalArgumentException("bestEpoch " + bestEpoch + " is not in [-1, " + epochs + "]");
        }
        if ((bestPhi != null) != (bestEpoch >= 0)) {
            throw new IllegalArgumentException("bestPhi must be present exactly when there is a best epoch (bestEpoch "
                    + bestEpoch + ", bestPhi " + (bestPhi == null ? "absent" : "present") + ")");
        }
    }

    private static void requireFinite(String name, double[] v, int length) {
        if (v.length != length) {
            throw new IllegalArgumentException(name + " has " + v.length + " values, phi " + length);
        }
        for (int i = 0; i < v.length; i++) {
            if (!Double.isFinite(v[i])) {
                throw new IllegalArgumentException(name + "[" + i + "] is " + v[i]);
            }
        }
    }
}
