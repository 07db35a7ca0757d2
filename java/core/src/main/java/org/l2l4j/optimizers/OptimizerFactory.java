package org.l2l4j.optimizers;

/** Makes a fresh optimizer, with zero state, for each trajectory. */
public interface OptimizerFactory {

    /** A short name for reports, such as {@code "Adam(lr=1e-2)"}. */
    String name();

    /** A new optimizer for parameter vectors of {@code dimension} coordinates. */
    Optimizer create(int dimension);
}
