package org.l2l4j.optimizers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.l2l4j.ntm.NtmBfgs;
import org.l2l4j.ntm.NtmBfgsCheckpoint;
import org.l2l4j.ntm.NtmBfgsConfig;
import org.l2l4j.safetensors.CheckpointFormatException;
import org.l2l4j.safetensors.Tensor;

/**
 * A meta-trained NTM-BFGS optimizer ({@link NtmBfgs}, paper appendix B) behind the
 * {@link ParameterOptimizer} interface, for small models: every registered tensor together is
 * one optimizee instance of n coordinates (registration order), whose d x d memory couples them
 * all, so n is at most {@link NtmBfgsConfig#MAX_DIMENSION} (a registration that would exceed it is
 * rejected).  Each step gathers the gradients (float32, as float64), runs the optimizer in
 * float64 and adds its update to the parameters (rounded to float32).  Zero state at creation.
 *
 * <pre>{@code
 * try (ParameterOptimizer optimizer = NtmBfgsOptimizer.of(NtmBfgsCheckpoint.load(file))) {
 *     optimizer.register("w", w, dw);
 *     ...
 *     optimizer.step();
 * }
 * }</pre>
 *
 * <p>State file: {@link ParameterOptimizerState} with optimizer {@value #KIND}, the tensors of
 * {@link NtmBfgs#state()} in float64, and as settings the architecture and the SHA-256 of phi,
 * so that a state loads only into the optimizer that saved it.  Values are always checked: NaN or
 * infinite gradients and parameters are rejected before anything is written, naming the tensor
 * and index (the memory would otherwise spread one coordinate's NaN to all of them).
 */
public final class NtmBfgsOptimizer extends AbstractParameterOptimizer {
    /** The optimizer's name in state files. */
    public static final String KIND = "NTM-BFGS";

    private final NtmBfgsCheckpoint checkpoint;
    private final String phiDigest;
    private GatheredTensors gathered;
    private double[] input;
    private double[] delta;
    private NtmBfgs model;

    private NtmBfgsOptimizer(NtmBfgsCheckpoint checkpoint) {
        this.checkpoint = Objects.requireNonNull(checkpoint, "checkpoint");
        this.phiDigest = Tensor.ofDoubles(new long[] {checkpoint.phi().length}, checkpoint.phi()).sha256();
    }

    /** The optimizer of a checkpoint, with zero state. */
    public static NtmBfgsOptimizer of(NtmBfgsCheckpoint checkpoint) {
        return new NtmBfgsOptimizer(checkpoint);
    }

    @Override
    String kind() {
        return KIND;
    }

    @Override
    void accept(Registered tensor) {
        long n = tensor.length() + registered().stream().mapToLong(Registered::length).sum();
        if (n > NtmBfgsConfig.MAX_DIMENSION) {
            throw new IllegalArgumentException("'" + tensor.name() + "' would make " + n + " coordinates: "
                    + "NTM-BFGS keeps a d x d memory over all registered tensors and takes at most "
                    + NtmBfgsConfig.MAX_DIMENSION);
        }
    }

    @Override
    void allocate(List<Registered> registered, long n) {
        gathered = new GatheredTensors(registered, (int) n);
        input = new double[(int) n];
        delta = new double[(int) n];
        model = newModel((int) n);
    }

    private NtmBfgs newModel(int n) {
        NtmBfgs m = new NtmBfgs(checkpoint.config(), 1, n, 0);
        m.write(checkpoint.phi());
        return m;
    }

    @Override
    void update() {
        gathered.gather(true);
        float[] theta = gathered.theta;
        for (int i = 0; i < input.length; i++) {
            input[i] = gathered.gradient[i];
        }
        model.step(input, delta);
        for (int i = 0; i < theta.length; i++) {
            theta[i] += (float) delta[i];
        }
        gathered.scatter();
    }

    @Override
    Map<String, String> settings() {
        NtmBfgsConfig c = checkpoint.config();
        Map<String, String> m = new LinkedHashMap<>();
        m.put("architecture", c.toString());
        m.put("phi_sha256", phiDigest);
        return m;
    }

    @Override
    Map<String, Tensor> stateTensors(long n) {
        Map<String, long[]> shapes = NtmBfgs.stateShapes(checkpoint.config(), 1, (int) n);
        Map<String, double[]> values = model != null ? model.state() : newModel((int) n).state();
        Map<String, Tensor> out = new LinkedHashMap<>();
        shapes.forEach((name, shape) -> out.put(name, Tensor.ofDoubles(shape, values.get(name))));
        return out;
    }

    @Override
    Runnable restore(Path file, ParameterOptimizerState saved, long n) throws IOException {
        Map<String, long[]> shapes = NtmBfgs.stateShapes(checkpoint.config(), 1, (int) n);
        if (!saved.values().keySet().equals(shapes.keySet())) {
            throw new CheckpointFormatException(file, "holds the state tensors " + saved.values().keySet() + ", "
                    + KIND + " has " + shapes.keySet());
        }
        Map<String, double[]> values = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            values.put(e.getKey(), saved.finiteDoubles(file, e.getKey(), Double.NEGATIVE_INFINITY, e.getValue()));
        }
        return () -> model.restoreState(values);
    }

    @Override
    void release() {
        gathered = null;
        model = null;
    }
}
