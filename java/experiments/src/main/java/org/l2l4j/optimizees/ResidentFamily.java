package org.l2l4j.optimizees;

import org.l2l4j.backend.Backend;

/**
 * A family of optimizees whose data live where a {@link Backend} computes, so that meta-training
 * and rollouts on that backend evaluate them in place ({@link ResidentBatch}): on a CUDA backend
 * the parameters theta, their gradients, the learned optimizer's state and its backward record
 * then all stay on the device, and a step costs no host round trip.
 *
 * <p>{@link #sample(long)} still gives the host-side {@link Optimizee} of each seed: the same
 * function, theta_0 and minibatch sequence as the resident evaluation (paired runs).  A resident
 * family is made by {@link OptimizeeFamily#residentOn(Backend)} and owns what it placed on the
 * backend (the data set, a BLAS handle) until {@link #close()}.
 */
public interface ResidentFamily extends OptimizeeFamily, AutoCloseable {

    /** Where the data live and the evaluations run. */
    Backend backend();

    /**
     * A batch of {@code instances} optimizees evaluated together on {@link #backend()}.
     *
     * @throws IllegalArgumentException if instances < 1
     */
    ResidentBatch batch(int instances);

    /** Frees what the family holds on the backend; idempotent.  Close its batches first. */
    @Override
    void close();
}
