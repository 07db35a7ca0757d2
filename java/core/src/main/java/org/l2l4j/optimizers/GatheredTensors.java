package org.l2l4j.optimizers;

import java.nio.FloatBuffer;
import java.util.List;

/**
 * The registered tensors of an optimizer that steps one vector of n coordinates on the host: at
 * every step their parameters and gradients are gathered, in registration order, into one
 * parameter vector and one gradient vector ({@link #gather}), and the parameters written back
 * after the update ({@link #scatter}).  Allocated once, at the first step.
 */
final class GatheredTensors {
    private final AbstractParameterOptimizer.Registered[] tensors;
    private final int[] offsets;
    /** The gathered parameters, float32 [n]; the update writes them before {@link #scatter}. */
    final float[] theta;
    /** The gathered gradients, float32 [n]. */
    final float[] gradient;
    private final FloatBuffer thetaView;
    private final FloatBuffer gradientView;

    /** @param n the tensors' total length, below 2^31 - 8 */
    GatheredTensors(List<AbstractParameterOptimizer.Registered> registered, int n) {
        tensors = registered.toArray(new AbstractParameterOptimizer.Registered[0]);
        offsets = new int[tensors.length];
        for (int k = 1; k < tensors.length; k++) {
            offsets[k] = offsets[k - 1] + (int) tensors[k - 1].length();
        }
        theta = new float[n];
        gradient = new float[n];
        thetaView = FloatBuffer.wrap(theta);
        gradientView = FloatBuffer.wrap(gradient);
    }

    /**
     * Copies every tensor's parameter and gradient into {@link #theta} and {@link #gradient}.
     *
     * @param checkFinite reject NaN and infinite values
     * @throws IllegalArgumentException with checkFinite, naming the first non-finite value's
     *                                  tensor and index; the caller's tensors are untouched
     */
    void gather(boolean checkFinite) {
        for (int k = 0; k < tensors.length; k++) {
            tensors[k].parameter().copyTo(thetaView, offsets[k]);
            tensors[k].gradient().copyTo(gradientView, offsets[k]);
        }
        if (checkFinite) {
            requireFinite(gradient, "gradient");
            requireFinite(theta, "parameter");
        }
    }

    /** Writes {@link #theta} back into every tensor's parameter. */
    void scatter() {
        for (int k = 0; k < tensors.length; k++) {
            tensors[k].parameter().copyFrom(thetaView, offsets[k]);
        }
    }

    private void requireFinite(float[] values, String role) {
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                int k = tensors.length - 1;
                while (offsets[k] > i) {
                    k--;
                }
                throw new IllegalArgumentException("the " + role + " of '" + tensors[k].name() + "' holds "
                        + values[i] + " at index " + (i - offsets[k]) + "; nothing was updated");
            }
        }
    }
}
