package org.l2l4j.optimizees;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.l2l4j.backend.Backend;

/**
 * A distribution over optimizees (the paper's distribution of functions f): each seed gives a
 * fresh function with its initial parameters and its minibatch stream, reproducibly.
 */
public interface OptimizeeFamily {

    /** A short name for logs and reports, such as {@code "mnist-mlp-784-20-10-sigmoid"}. */
    String name();

    /** n of every optimizee of this family. */
    int dimension();

    /** The optimizee for {@code seed}: the same seed always gives the same function. */
    Optimizee sample(long seed);

    /**
     * The named parameter tensors that make up theta, in order and without gaps (PyTorch's names,
     * such as {@code fc1.weight}), which a learned optimizer's parameter groups select by name.
     * By default one tensor {@code theta} of every coordinate.
     */
    default List<ParameterTensor> tensors() {
        return List.of(new ParameterTensor("theta", new int[] {dimension()}, 0));
    }

    /**
     * Whether every optimizee of this family offers exact Hessian-vector products
     * ({@link Optimizee#hessianVectorProduct}), as meta-training with exact second derivatives
     * needs.  False by default.
     */
    default boolean hasHessianVectorProducts() {
        return false;
    }

    /**
     * This family evaluated in place where {@code backend} computes: a {@link ResidentFamily}
     * whose optimizees read their parameters from, and write their gradients and losses into, the
     * backend's buffers, so that a learned-optimizer step copies nothing; the same functions,
     * theta_0 and minibatch sequences as {@link #sample(long)}.  Empty when the family has no such
     * form on this backend: its optimizees are then evaluated on the host, their parameters and
     * gradients copied at every step.  The caller closes the resident family.  Empty by default.
     *
     * @throws NullPointerException if {@code backend} is null
     */
    default Optional<ResidentFamily> residentOn(Backend backend) {
        Objects.requireNonNull(backend, "backend");
        return Optional.empty();
    }

    /**
     * Bytes that placing this family on a backend ({@link #residentOn}) allocates there once, such
     * as a copy of its data set; for memory estimates.  0 by default (nothing, or no resident
     * form).
     */
    default long residentBytes() {
        return 0;
    }

    /**
     * Bytes that a {@link ResidentFamily#batch} of {@code instances} optimizees of this family's
     * resident form allocates on its backend; for memory estimates.  0 by default.
     *
     * @throws IllegalArgumentException if instances < 1
     */
    default long residentBatchBytes(int instances) {
        if (instances < 1) {
            throw new IllegalArgumentException("instances must be >= 1, got " + instances);
        }
        return 0;
    }
}
