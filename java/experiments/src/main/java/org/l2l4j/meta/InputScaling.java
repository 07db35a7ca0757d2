package org.l2l4j.meta;

/**
 * What a meta-batch of B optimizee instances feeds the LSTM; the meta-loss (paper equation 2) is
 * the mean over the instances of each one's sum of losses, L = (1/B) sum_b sum_t f_b(theta_{b,t}).
 */
public enum InputScaling {
    /** Each instance's own gradient grad f_b, unscaled (the paper). */
    PAPER,
    /** grad f_b / B, the gradient of the batch mean (the reference code). */
    BATCH_MEAN
}
