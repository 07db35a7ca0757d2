package org.l2l4j.report;

import java.util.Objects;

/**
 * A paired comparison of two optimizers' final losses over the same runs (same functions,
 * initial parameters and minibatches): the mean and standard error of the per-run difference
 * {@code loss(a) - loss(b)}. Negative differences favour {@code a}.
 *
 * @param a          first optimizer
 * @param b          second optimizer
 * @param difference mean and standard error of {@code loss(a) - loss(b)} over the runs
 */
public record PairedComparison(String a, String b, Estimate difference) {

    /** How many standard errors a difference must exceed to count as a win. */
    public static final double MARGIN_STDERRS = 2.0;

    /** Checks that no component is null. */
    public PairedComparison {
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        Objects.requireNonNull(difference, "difference");
    }

    /**
     * Whether {@code a} beats {@code b}: its loss is lower by more than {@value #MARGIN_STDERRS}
     * standard errors of the paired difference.
     */
    public boolean aBeatsB() {
        return difference.mean() < -MARGIN_STDERRS * difference.stderr();
    }

    /**
     * Whether {@code b} beats {@code a}: its loss is lower by more than {@value #MARGIN_STDERRS}
     * standard errors of the paired difference.  When neither beats the other, the difference is
     * within the margin: a tie.
     */
    public boolean bBeatsA() {
        return difference.mean() > MARGIN_STDERRS * difference.stderr();
    }
}
