package org.l2l4j.optimizees;

import java.util.Optional;
import java.util.function.Supplier;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.Status;

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

    /**
     * The resident family {@code place} makes, or empty, with a warning in the log naming
     * {@code family} and the reason, when the backend cannot hold it: a CUDA library missing
     * beside the device ({@link Status#NO_CUDA}) or no memory ({@link Status#OUT_OF_MEMORY}); the
     * family's optimizees are then evaluated on the host.  Other failures are thrown.
     */
    static Optional<ResidentFamily> placeOrWarn(OptimizeeFamily family, Backend backend,
                                                Supplier<ResidentFamily> place) {
        try {
            return Optional.of(place.get());
        } catch (L2lException e) {
            if (e.status() != Status.NO_CUDA && e.status() != Status.OUT_OF_MEMORY) {
                throw e;
            }
            System.getLogger(ResidentFamily.class.getName()).log(System.Logger.Level.WARNING, "the optimizees of {0}"
                    + " are evaluated on the host, not in place on the {1} backend: {2}", family.name(),
                    backend.kind(), e.getMessage());
            return Optional.empty();
        }
    }
}
