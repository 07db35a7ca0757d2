package org.l2l4j.optimizers;

import java.util.Map;
import java.util.Objects;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;

/**
 * The learned optimizer behind the {@link Optimizer} interface, for evaluation: an
 * {@link LstmOptimizer} with one registered parameter vector of fixed length (paper eq. 1 and
 * 3), every coordinate's hidden state kept between steps (zero at creation), and no value check
 * (a NaN gradient propagates to the losses, which evaluation records as they come).  Each
 * {@link #step} copies the caller's arrays into the registered vector and back.
 *
 * <p>Not thread-safe.  {@link #close()} releases the native memory; afterwards {@link #step}
 * throws {@link IllegalStateException}.
 */
public final class LearnedOptimizer implements Optimizer {
    private final LstmOptimizer optimizer;
    private final float[] theta;
    private final float[] gradient;

    /**
     * @param backend   where the LSTM runs
     * @param config    the architecture
     * @param phi       its parameters (PyTorch order, {@link org.l2l4j.lstm.PhiLayout})
     * @param dimension the length of the parameter vectors it will step (>= 1)
     */
    public LearnedOptimizer(Backend backend, LstmConfig config, float[] phi, int dimension) {
        Objects.requireNonNull(backend, "backend");
        if (dimension < 1) {
            throw new IllegalArgumentException("dimension must be >= 1, got " + dimension);
        }
        OptimizerCheckpoint checkpoint = new OptimizerCheckpoint(config, phi, Map.of());
        this.theta = new float[dimension];
        this.gradient = new float[dimension];
        this.optimizer = LstmOptimizer.builder(checkpoint).backend(backend).checkFinite(false).build();
        optimizer.register("theta", theta, gradient);
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
        Objects.requireNonNull(parameters, "parameters");
        Objects.requireNonNull(gradient, "gradient");
        if (parameters.length != theta.length || gradient.length != theta.length) {
            throw new IllegalArgumentException("expected arrays of " + theta.length + " values, got "
                    + parameters.length + " and " + gradient.length);
        }
        System.arraycopy(parameters, 0, theta, 0, theta.length);
        System.arraycopy(gradient, 0, this.gradient, 0, theta.length);
        optimizer.step();
        System.arraycopy(theta, 0, parameters, 0, theta.length);
    }

    @Override
    public void close() {
        optimizer.close();
    }
}
