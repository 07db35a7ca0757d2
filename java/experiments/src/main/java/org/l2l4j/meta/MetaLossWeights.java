package org.l2l4j.meta;

/**
 * The weights w_t of the meta-loss sum_{t=1..K} w_t f(theta_t) over a trajectory of K steps
 * (paper eq. 2 allows any; it uses w_t = 1).  The unweighted sum rewards a fast early descent as
 * much as a low loss at the end; weights that grow with t make the learned optimizer care more
 * about where the trajectory ends, which is what the comparison at step K measures.
 */
public enum MetaLossWeights {
    /** w_t = 1 (the paper). */
    UNIFORM,
    /** w_t = 2 t / (K + 1): growing linearly, mean 1 over the trajectory. */
    LINEAR;

    /** w_t for step t (1-based) of a trajectory of K steps. */
    public double weight(int t, int horizon) {
        return this == UNIFORM ? 1 : 2.0 * t / (horizon + 1);
    }
}
