package org.l2l4j.optimizees;

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
}
