package org.l2l4j.meta;

/**
 * How the meta-learning rate grows with the meta-batch: B optimizee instances per meta-update
 * average B independent estimates of dL/dphi, whose noise then shrinks as 1/sqrt(B), so a larger
 * batch tolerates a larger step.
 */
public enum MetaBatchScaling {
    /** The same rate for every B (the paper). */
    NONE,
    /** The rate times sqrt(B). */
    SQRT
}
