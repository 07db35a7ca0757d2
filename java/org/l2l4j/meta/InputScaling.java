package org.l2l4j.meta;

/**
 * What a meta-batch of B optimizee instances feeds the LSTM (DESIGN section 1, "Meta-loss").
 */
public enum InputScaling {
    /** Each instance's own gradient grad f_b, unscaled (the paper). */
    PAPER,
    /** grad f_b / B, the gradient of the batch mean (the reference code). */
    BATCH_MEAN
}
