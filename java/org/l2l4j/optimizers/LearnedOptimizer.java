package org.l2l4j.optimizers;

import java.util.Objects;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.checkpoint.OptimizerCheckpoint;
import org.l2l4j.lstm.CoordinatewiseLstm;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.TensorList;

/**
 * The learned optimizer behind the {@link Optimizer} interface: one parameter vector of fixed
 * length, one fused native step per {@link #step} (paper eq. 1 and 3), every coordinate's
 * hidden state kept between steps (zero at creation).  The arrays are copied to and from the
 * backend's memory at each step; trainers that keep their parameters in native memory call
 * {@link CoordinatewiseLstm#step} directly.
 *
 * <p>Not thread-safe.  {@link #close()} releases the native memory; afterwards {@link #step}
 * throws {@link IllegalStateException}.
 */
public final class LearnedOptimizer implements Optimizer {
    private final int dimension;
    private final CoordinatewiseLstm lstm;
    private final NativeBuffer phi;
    private final NativeBuffer theta;
    private final NativeBuffer grad;
    private final NativeBuffer state;
    private final TensorList tensors;
    private boolean closed;

    /**
     * @param backend   where the LSTM runs
     * @param config    the architecture
     * @param phi       its parameters (PyTorch order, {@link org.l2l4j.lstm.PhiLayout})
     * @param dimension the length of the parameter vectors it will step (>= 1)
     */
    public LearnedOptimizer(Backend backend, LstmConfig config, float[] phi, int dimension) {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(phi, "phi");
        if (dimension < 1) {
            throw new IllegalArgumentException("dimension must be >= 1, got " + dimension);
        }
        if (phi.length != config.phiLayout().size()) {
            throw new IllegalArgumentException("phi has " + phi.length + " values, " + config + " needs "
                    + config.phiLayout().size());
        }
        this.dimension = dimension;
        this.lstm = new CoordinatewiseLstm(config);
        this.phi = backend.allocateFloats(phi.length);
        this.phi.write(phi);
        this.theta = backend.allocateFloats(dimension);
        this.grad = backend.allocateFloats(dimension);
        this.state = config.stateRows() > 0 ? backend.allocateFloats((long) config.stateRows() * dimension) : null;
        this.tensors = TensorList.of(theta, grad);
    }

    /** A factory of learned optimizers with the checkpoint's phi, on {@code backend}. */
    public static OptimizerFactory factory(Backend backend, OptimizerCheckpoint checkpoint) {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(checkpoint, "checkpoint");
        return new OptimizerFactory() {
            @Override
            public String name() {
                return "LSTM (learned)";
            }

            @Override
            public Optimizer create(int dimension) {
                return new LearnedOptimizer(backend, checkpoint.config(), checkpoint.phi(), dimension);
            }
        };
    }

    @Override
    public void step(float[] parameters, float[] gradient) {
        if (closed) {
            throw new IllegalStateException("the learned optimizer is closed");
        }
        Objects.requireNonNull(parameters, "parameters");
        Objects.requireNonNull(gradient, "gradient");
        if (parameters.length != dimension || gradient.length != dimension) {
            throw new IllegalArgumentException("expected arrays of " + dimension + " values, got "
                    + parameters.length + " and " + gradient.length);
        }
        theta.write(parameters);
        grad.write(gradient);
        lstm.step(phi, tensors, state, null, 0, false);
        theta.read(0, parameters, 0, dimension);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            tensors.close();
            for (NativeBuffer b : new NativeBuffer[] {phi, theta, grad, state}) {
                if (b != null) {
                    b.close();
                }
            }
            lstm.close();
        }
    }
}
