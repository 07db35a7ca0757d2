package org.l2l4j.meta;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.function.ToDoubleFunction;

/**
 * Which phi meta-training keeps: never the one of the lowest training meta-loss (an untrained
 * optimizer can win that comparison, DESIGN section 2), but the one of the lowest loss at the
 * horizon on held-out validation functions.  phi is validated before the first epoch (so the
 * untrained phi is a candidate too: a run that only made it worse keeps it, and says so) and
 * every E epochs on V functions.
 *
 * <p>With a confirmation (C &gt; 0 functions), the validations are a cheap screen: the
 * {@value #CANDIDATES} phis of the lowest validation losses are kept as candidates, and at the
 * end of training each is evaluated on the C confirmation functions (drawn apart from the
 * validation functions) and the lowest of those losses decides.  V can then be small and the
 * validations frequent, at a fraction of the cost of validating on many functions every time,
 * without selecting a phi for its luck on a few functions.
 *
 * <p>Not thread-safe.
 */
final class SelectionPolicy {
    /** How many of the best-validated phis a confirmation re-evaluates. */
    static final int CANDIDATES = MetaTrainingOptions.CONFIRMED_CANDIDATES;

    private final int period;
    private final boolean confirms;
    private final ToDoubleFunction<double[]> validate;
    private final ToDoubleFunction<double[]> confirm;
    private List<TrainingState.Candidate> candidates = new ArrayList<>();
    private double[] bestPhi;
    private double bestLoss = Double.POSITIVE_INFINITY;
    private int bestEpoch = -1;

    /**
     * @param period   E, epochs between validations
     * @param validate phi -&gt; mean loss at the horizon on the validation functions (+infinity if
     *                 not finite)
     * @param confirm  phi -&gt; the same on the confirmation functions, or null for no confirmation
     */
    SelectionPolicy(int period, ToDoubleFunction<double[]> validate, ToDoubleFunction<double[]> confirm) {
        this.period = period;
        this.validate = Objects.requireNonNull(validate, "validate");
        this.confirm = confirm;
        this.confirms = confirm != null;
    }

    /** Whether phi is validated after epoch {@code epochs} (1-based count of epochs done); epoch 0 too. */
    boolean due(int epochs) {
        return epochs % period == 0;
    }

    /**
     * Validates {@code phi} after {@code epochs} epochs; keeps it as the best or as a candidate.
     *
     * @return its validation loss
     */
    double validate(int epochs, double[] phi) {
        double loss = validate.applyAsDouble(phi);
        if (loss < bestLoss) {
            bestLoss = loss;
            bestPhi = phi.clone();
            bestEpoch = epochs;
        }
        if (confirms && Double.isFinite(loss)) {
            candidates.add(new TrainingState.Candidate(epochs, loss, phi.clone()));
            candidates.sort(Comparator.comparingDouble(TrainingState.Candidate::validationLoss)
                    .thenComparingInt(TrainingState.Candidate::epoch));
            if (candidates.size() > CANDIDATES) {
                candidates = new ArrayList<>(candidates.subList(0, CANDIDATES));
            }
        }
        return loss;
    }

    /**
     * With a confirmation, evaluates the candidates on the confirmation functions and makes the
     * best of them the best phi, its confirmation loss the best loss; without one, does nothing.
     * Deterministic: the same candidates give the same choice, so a resumed run confirms as an
     * uninterrupted one would.
     */
    void confirm() {
        if (!confirms || candidates.isEmpty()) {
            return;
        }
        double best = Double.POSITIVE_INFINITY;
        for (TrainingState.Candidate c : candidates) {
            double loss = confirm.applyAsDouble(c.phi());
            if (loss < best) {
                best = loss;
                bestPhi = c.phi().clone();
                bestLoss = loss;
                bestEpoch = c.epoch();
            }
        }
    }

    /** The phi to keep so far, or null before any finite validation. */
    double[] bestPhi() {
        return bestPhi;
    }

    double bestLoss() {
        return bestLoss;
    }

    int bestEpoch() {
        return bestEpoch;
    }

    List<TrainingState.Candidate> candidates() {
        return List.copyOf(candidates);
    }

    /** Continues from a saved state's best phi and candidates. */
    void restore(TrainingState s) {
        bestPhi = s.bestPhi() == null ? null : s.bestPhi().clone();
        bestLoss = s.bestValidation();
        bestEpoch = s.bestEpoch();
        candidates = new ArrayList<>(s.candidates());
    }
}
