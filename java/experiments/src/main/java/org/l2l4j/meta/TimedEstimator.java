package org.l2l4j.meta;

/**
 * What the gradient estimators share: the forward steps of an unroll with their time split
 * (LSTM kernels against optimizee evaluations) and the unroll's optimizee meta-loss.
 */
abstract class TimedEstimator implements GradientEstimator {
    /** Nanoseconds in the LSTM kernels and in the optimizees, so far; subclasses add their own parts. */
    long kernelNanos;
    long optimizeeNanos;

    /** Step s of an unroll: the learned optimizer's step (recorded in slot s), then the evaluation, timed. */
    final void advance(OptimizeeBatch batch, int s) {
        long t0 = System.nanoTime();
        batch.advance(s, s);
        long t1 = System.nanoTime();
        kernelNanos += batch.lastStepNanos();
        optimizeeNanos += (t1 - t0) - batch.lastStepNanos();
    }

    /** (1/B) sum_b sum_{t=1..steps} f_b(theta_t) from the batch's loss slots, B the whole meta-batch. */
    static double metaLoss(OptimizeeBatch batch, int steps, int metaBatch) {
        double loss = 0;
        for (double[] losses : batch.losses(steps)) {
            for (double f : losses) {
                loss += f / metaBatch;
            }
        }
        return loss;
    }

    @Override
    public final long kernelNanos() {
        return kernelNanos;
    }

    @Override
    public final long optimizeeNanos() {
        return optimizeeNanos;
    }
}
