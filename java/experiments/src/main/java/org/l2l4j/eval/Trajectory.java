package org.l2l4j.eval;

import java.util.Objects;
import org.l2l4j.optimizees.Optimizee;
import org.l2l4j.optimizers.ParameterOptimizer;

/**
 * Runs one optimizer on one optimizee for K steps (a trajectory
 * theta_0..theta_K) and records the loss at every point.
 */
public final class Trajectory {

    private Trajectory() {
    }

    /**
     * Runs K steps from the optimizee's theta_0; see {@link #run(Optimizee, ParameterOptimizer, int, float[])}.
     *
     * @return losses f(theta_0..theta_K), length K + 1
     */
    public static double[] run(Optimizee f, ParameterOptimizer optimizer, int steps) {
        Objects.requireNonNull(f, "f");
        return run(f, optimizer, steps, new float[f.dimension()]);
    }

    /**
     * Runs K = {@code steps} steps from the optimizee's theta_0 with exactly K + 1 evaluations:
     * for t = 0..K, evaluate f at theta_t (loss and gradient on that evaluation's minibatch);
     * for t &lt; K, step the optimizer with that same gradient.  The optimizer must have no tensor
     * registered: the trajectory registers theta and its gradient as the tensor {@code "theta"};
     * it is not closed.
     *
     * @param f         the optimizee; its minibatch stream advances K + 1 times
     * @param optimizer a fresh optimizer, with no tensor registered
     * @param steps     K, at least 0
     * @param theta     length {@code f.dimension()}; receives theta_K
     * @return losses: element t is f(theta_t) as returned by the evaluation at theta_t, length
     *         K + 1; non-finite values are recorded as they come
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code steps < 0} or theta's length is wrong
     * @throws IllegalStateException    if the optimizer already has tensors or is closed
     */
    public static double[] run(Optimizee f, ParameterOptimizer optimizer, int steps, float[] theta) {
        Objects.requireNonNull(f, "f");
        Objects.requireNonNull(optimizer, "optimizer");
        Objects.requireNonNull(theta, "theta");
        if (steps < 0) {
            throw new IllegalArgumentException("steps must be >= 0, got " + steps);
        }
        if (theta.length != f.dimension()) {
            throw new IllegalArgumentException("theta has length " + theta.length
                    + ", the optimizee has dimension " + f.dimension());
        }
        if (!optimizer.tensorNames().isEmpty()) {
            throw new IllegalStateException("the optimizer already steps the tensors " + optimizer.tensorNames()
                    + "; a trajectory needs a fresh one");
        }
        float[] gradient = new float[theta.length];
        double[] losses = new double[steps + 1];
        f.initialParameters(theta);
        optimizer.register("theta", theta, gradient);
        for (int t = 0; t <= steps; t++) {
            losses[t] = f.lossAndGradient(theta, gradient);
            if (t < steps) {
                optimizer.step();
            }
        }
        return losses;
    }
}
