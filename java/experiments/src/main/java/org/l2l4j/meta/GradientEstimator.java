package org.l2l4j.meta;

/**
 * How meta-training estimates dL/dphi of an unroll: the part of the outer loop that a learned
 * optimizer's training can swap (learned_optimization calls it a gradient estimator) without
 * touching the schedule, the meta-optimizer or the selection.  The library's estimator is
 * {@link TruncatedBackprop} (truncated BPTT with the optimizee's second derivatives dropped, the
 * paper's); exact second derivatives, evolution strategies or PES would be others.
 *
 * <p>An estimator drives the {@link OptimizeeBatch} of its meta-trainer: {@link #unroll} advances
 * the optimizees by one unroll, so that the next unroll continues their trajectory.
 */
interface GradientEstimator extends AutoCloseable {

    /** A trajectory of epoch {@code epoch} (0-based) starts: the batch was just started. */
    void startTrajectory(int epoch);

    /**
     * Advances the optimizees by an unroll of {@code steps} steps and writes dL/dphi of the
     * unroll's meta-loss (1/B) sum_b sum_{t=1..steps} f_b(theta_t) [+ the estimator's own terms]
     * into {@code dphi} (float64 [phiSize]).
     *
     * @return the unroll's optimizee meta-loss, (1/B) sum_b sum_{t=1..steps} f_b(theta_t) (the
     *         losses only, without any added term of the estimator's)
     */
    double unroll(int steps, double[] dphi);

    /** Nanoseconds spent so far in the LSTM kernels (steps, meta-loss gradients, backward passes). */
    long kernelNanos();

    /** Nanoseconds spent so far evaluating the optimizees. */
    long optimizeeNanos();

    @Override
    void close();
}
