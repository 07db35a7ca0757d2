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
}
