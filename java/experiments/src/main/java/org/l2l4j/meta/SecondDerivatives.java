package org.l2l4j.meta;

/**
 * What the meta-gradient does with the optimizee's second derivatives (paper section 2): the
 * gradient x_t = grad f(theta_t) that the learned optimizer reads depends on phi through theta_t,
 * so the exact dL/dphi holds terms in the Hessian of f.
 */
public enum SecondDerivatives {
    /**
     * Dropped (the paper's choice, "d grad_t / d phi = 0"): x_t is held fixed in the backward
     * pass, which then needs only gradients and runs over a whole unroll in one fused call
     * ({@link TruncatedBackprop}).
     */
    DROPPED,
    /**
     * Kept: the backward pass alternates, from the last step down, the LSTM's backward of one step
     * and a Hessian-vector product of the optimizee, dL/d theta_s += H(theta_s) dL/dx_s, which
     * flows into dL/d delta_{s-1} ({@link ExactBackprop}).  Needs optimizees with Hessian-vector
     * products ({@link org.l2l4j.optimizees.OptimizeeFamily#hasHessianVectorProducts()}: quadratics
     * and MLPs; not the convolutional network, whose batch norm's second derivatives are not
     * written).
     */
    EXACT
}
