package org.l2l4j.optimizers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.l2l4j.safetensors.CheckpointFormatException;
import org.l2l4j.safetensors.Tensor;

/**
 * A {@link HandDesignedRule} behind the {@link ParameterOptimizer} interface: each step gathers
 * the registered tensors into one parameter vector and one gradient vector of n coordinates
 * (allocated once, at the first step), rejects NaN and infinite values (unless told not to), runs the rule's
 * {@link HandDesignedOptimizer} on them, and writes the parameters back.  State file: the step
 * count and the rule's state vectors (float64 [n] each, named as in {@code torch.optim}); the
 * settings hold the learning rate.  Loading requires every state value finite and the second
 * moments ({@code square_avg}, {@code exp_avg_sq}) non-negative, so that the next step's
 * square root is defined.
 */
final class HandDesignedParameterOptimizer extends AbstractParameterOptimizer {
    private final HandDesignedRule.Factory factory;
    private final boolean checkFinite;
    private GatheredTensors gathered;
    private HandDesignedOptimizer optimizer;

    HandDesignedParameterOptimizer(HandDesignedRule.Factory factory, boolean checkFinite) {
        this.factory = factory;
        this.checkFinite = checkFinite;
    }

    @Override
    String kind() {
        return factory.rule().displayName();
    }

    @Override
    void allocate(List<Registered> registered, long n) {
        requireDimension(n);
        gathered = new GatheredTensors(registered, (int) n);
        optimizer = rule((int) n);
    }

    @Override
    void update() {
        gathered.gather(checkFinite);
        optimizer.step(gathered.theta, gathered.gradient);
        gathered.scatter();
    }

    @Override
    Map<String, String> settings() {
        return Map.of("learning_rate", Double.toString(factory.learningRate()));
    }

    private static void requireDimension(long n) {
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("a hand-designed optimizer takes at most 2^31 - 9 coordinates, got " + n);
        }
    }

    @Override
    Map<String, Tensor> stateTensors(long n) {
        requireDimension(n);
        HandDesignedOptimizer live = optimizer != null ? optimizer : rule((int) n);
        Map<String, Tensor> out = new LinkedHashMap<>();
        live.state().forEach((name, v) -> out.put(name, Tensor.ofDoubles(new long[] {v.length}, v)));
        return out;
    }

    @Override
    Runnable restore(Path file, ParameterOptimizerState saved, long n) throws IOException {
        requireDimension(n);
        HandDesignedOptimizer rule = rule(1);
        if (!saved.values().keySet().equals(rule.state().keySet())) {
            throw new CheckpointFormatException(file, "holds the state tensors " + saved.values().keySet() + ", "
                    + kind() + " has " + rule.state().keySet());
        }
        Map<String, double[]> values = new LinkedHashMap<>();
        for (String name : rule.state().keySet()) {
            double min = rule.secondMoments().contains(name) ? 0 : Double.NEGATIVE_INFINITY;
            values.put(name, saved.finiteDoubles(file, name, min, n));
        }
        return () -> optimizer.restore(saved.steps(), values);
    }

    /** The rule's optimizer for n coordinates, with zero state. */
    private HandDesignedOptimizer rule(int n) {
        return HandDesignedOptimizer.of(factory.rule(), n, factory.learningRate());
    }

    @Override
    void release() {
        gathered = null;
        optimizer = null;
    }
}
