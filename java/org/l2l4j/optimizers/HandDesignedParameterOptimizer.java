package org.l2l4j.optimizers;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.l2l4j.checkpoint.DType;
import org.l2l4j.checkpoint.ParameterOptimizerState;
import org.l2l4j.checkpoint.Tensor;

/**
 * A {@link HandDesignedRule} behind the {@link ParameterOptimizer} interface: each step gathers
 * the registered tensors into one parameter vector and one gradient vector of n coordinates
 * (allocated once, at the first step), rejects NaN and infinite values, runs the rule's
 * {@link HandDesignedOptimizer} on them, and writes the parameters back.  State file: the step
 * count and the rule's state vectors (float64 [n] each, named as in {@code torch.optim}); the
 * settings hold the learning rate.
 */
final class HandDesignedParameterOptimizer extends AbstractParameterOptimizer {
    private final HandDesignedRule.Factory factory;
    private Registered[] tensors;
    private int[] offsets;
    private float[] theta;
    private float[] gradient;
    private FloatBuffer thetaView;
    private FloatBuffer gradientView;
    private HandDesignedOptimizer optimizer;

    HandDesignedParameterOptimizer(HandDesignedRule.Factory factory) {
        this.factory = factory;
    }

    @Override
    String kind() {
        return factory.rule().displayName();
    }

    @Override
    void allocate(List<Registered> registered, long n) {
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("a hand-designed optimizer takes at most 2^31 - 9 coordinates, got " + n);
        }
        tensors = registered.toArray(new Registered[0]);
        offsets = new int[tensors.length];
        for (int k = 1; k < tensors.length; k++) {
            offsets[k] = offsets[k - 1] + (int) tensors[k - 1].length();
        }
        theta = new float[(int) n];
        gradient = new float[(int) n];
        thetaView = FloatBuffer.wrap(theta);
        gradientView = FloatBuffer.wrap(gradient);
        optimizer = (HandDesignedOptimizer) factory.create((int) n);
    }

    @Override
    void update() {
        for (int k = 0; k < tensors.length; k++) {
            tensors[k].parameter().copyTo(thetaView, offsets[k]);
            tensors[k].gradient().copyTo(gradientView, offsets[k]);
        }
        requireFinite(gradient, "gradient");
        requireFinite(theta, "parameter");
        optimizer.step(theta, gradient);
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

    @Override
    Map<String, String> settings() {
        return Map.of("learning_rate", Double.toString(factory.learningRate()));
    }

    @Override
    Map<String, Tensor> stateTensors() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        optimizer.state().forEach((name, v) -> out.put(name, Tensor.ofDoubles(new long[] {v.length}, v)));
        return out;
    }

    @Override
    void restore(Path file, ParameterOptimizerState saved) throws IOException {
        Map<String, double[]> values = new LinkedHashMap<>();
        for (String name : optimizer.state().keySet()) {
            values.put(name, saved.value(file, name, DType.F64, theta.length).toDoubleArray());
        }
        if (saved.values().size() != values.size()) {
            throw new org.l2l4j.checkpoint.CheckpointFormatException(file, "holds the state tensors "
                    + saved.values().keySet() + ", " + kind() + " has " + values.keySet());
        }
        optimizer.restore(saved.steps(), values);
    }

    @Override
    void release() {
        tensors = null;
        optimizer = null;
    }
}
