package org.l2l4j.optimizers;

/**
 * An optimizer of one parameter vector of fixed length: hand-designed rules and the learned
 * optimizer alike (the paper's eq. 1: theta_{t+1} = theta_t + g_t).  It keeps its own per-
 * coordinate state between steps.  Evaluation runs optimizers through this interface; training
 * loops with several parameter tensors use {@link ParameterOptimizer}.
 */
public interface Optimizer extends AutoCloseable {

    /**
     * One step: updates {@code theta} in place from {@code gradient}.
     *
     * @throws IllegalArgumentException if an array's length differs from the optimizer's
     * @throws IllegalStateException    if the optimizer is closed
     */
    void step(float[] theta, float[] gradient);

    /** Releases native resources, if any; idempotent. */
    @Override
    default void close() {
    }
}
