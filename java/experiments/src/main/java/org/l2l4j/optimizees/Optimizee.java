package org.l2l4j.optimizees;

/**
 * One optimizee: a function f of parameters theta in R^n, minimized by an optimizer (the paper's
 * f; Andrychowicz et al. 2016, section 2).  Stochastic optimizees draw a fresh minibatch at every
 * evaluation from their own random stream, so two optimizers run on optimizees sampled with the
 * same seed see the same functions, initial parameters and minibatch sequence (paired runs).
 *
 * <p>Not thread-safe: one trajectory at a time.
 */
public interface Optimizee {

    /** n, the number of parameters (coordinates). */
    int dimension();

    /** Writes the initial parameters theta_0 into {@code theta} (length {@link #dimension()}). */
    void initialParameters(float[] theta);

    /**
     * Evaluates f at {@code theta} on the next minibatch, advancing the minibatch stream, and
     * writes the gradient into {@code gradient}.
     *
     * @param theta    parameters, length {@link #dimension()}; not modified
     * @param gradient receives df/dtheta, length {@link #dimension()}
     * @return f(theta)
     * @throws IllegalArgumentException if an array has the wrong length
     */
    double lossAndGradient(float[] theta, float[] gradient);

    /**
     * Whether {@link #hessianVectorProduct} is available: exact products (quadratics; MLPs on the
     * minibatch of the evaluation asked for).  Meta-training with exact second derivatives needs
     * it.  False by default.
     */
    default boolean hasHessianVectorProducts() {
        return false;
    }

    /**
     * out = H v, the Hessian at theta of the function that this optimizee's evaluation number
     * {@code evaluation} computes (0 for the first {@link #lossAndGradient} call after sampling, 1
     * for the next, and so on: its minibatch, for stochastic optimizees; deterministic ones have one
     * function), times v; exact (not finite differences), for the exact meta-gradient of paper
     * section 2 (dL/d theta_t gains H(theta_t) dL/dx_t).  Does not touch this optimizee's own
     * minibatch stream.
     *
     * @param evaluation the evaluation's index, &gt;= 0
     * @param theta      parameters, length {@link #dimension()}; not modified
     * @param v          the vector, length {@link #dimension()}; not modified
     * @param out        receives H v, length {@link #dimension()}
     * @throws UnsupportedOperationException if {@link #hasHessianVectorProducts()} is false
     * @throws IllegalArgumentException      if an array has the wrong length or evaluation &lt; 0
     */
    default void hessianVectorProduct(long evaluation, float[] theta, float[] v, float[] out) {
        throw new UnsupportedOperationException(getClass().getSimpleName()
                + " has no Hessian-vector products: exact second derivatives need them");
    }
}
