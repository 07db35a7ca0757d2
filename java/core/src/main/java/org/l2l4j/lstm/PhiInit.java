package org.l2l4j.lstm;

import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Initial values of phi, which the paper does not state.  Returned as float64, the precision in
 * which the meta-optimizer keeps phi.  The default zeroes the output layer: on the paper's MNIST
 * setup an untrained LSTM with a random output layer (U(-0.1, 0.1)) moves every coordinate by
 * about 3e-3 per step, ten times the gradients' scale, and meta-training from there stayed at
 * chance level.
 */
public enum PhiInit {
    /**
     * The default: PyTorch's U(-1/sqrt(H), 1/sqrt(H)) for every LSTM tensor of a layer of width H,
     * and zeros for the output layer, so that an untrained optimizer leaves theta unchanged while
     * the output layer's gradient is informative from the first unroll.
     */
    PYTORCH_ZERO_OUTPUT,
    /** PyTorch's defaults everywhere: the output layer also U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
    PYTORCH,
    /**
     * The reference code's (Sonnet): weights ~ truncated normal (|z| < 2 sigma) with
     * sigma = 1/sqrt(fan_in) (fan_in = in + H for an LSTM layer, H_last for the output), biases
     * zero but the forget gate's +1 (in bias_ih).
     */
    SONNET,
    /** All zeros: allowed only without LSTM layers (with layers, h would stay 0 forever). */
    ZEROS;

    /**
     * phi for {@code config}, drawn from {@code seed}.
     *
     * @throws IllegalArgumentException for {@link #ZEROS} with LSTM layers
     */
    public double[] initialize(LstmConfig config, long seed) {
        Objects.requireNonNull(config, "config");
        PhiLayout layout = config.phiLayout();
        double[] phi = new double[layout.size()];
        if (this == ZEROS) {
            if (config.layers() > 0) {
                throw new IllegalArgumentException("all-zero phi is allowed only without LSTM layers: "
                        + "with layers the hidden state would stay 0 and only the output bias would learn");
            }
            return phi;
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        int in = config.preprocessing().inputs();
        for (int l = 0; l < config.layers(); l++) {
            int h = config.width(l);
            double bound = 1 / Math.sqrt(h);
            double sigma = 1 / Math.sqrt(in + h);
            for (String name : new String[] {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) {
                PhiLayout.Entry e = layout.entry("lstm." + name + "_l" + l);
                boolean bias = name.startsWith("bias");
                for (int i = 0; i < e.size(); i++) {
                    phi[e.offset() + i] = this == SONNET
                            ? (bias ? (name.equals("bias_ih") && i / h == 1 ? 1.0 : 0.0) : truncatedNormal(rnd, sigma))
                            : uniform(rnd, bound);
                }
            }
            in = h;
        }
        double bound = 1 / Math.sqrt(in);
        for (String name : new String[] {"output.weight", "output.bias"}) {
            PhiLayout.Entry e = layout.entry(name);
            for (int i = 0; i < e.size(); i++) {
                phi[e.offset() + i] = switch (this) {
                    case PYTORCH_ZERO_OUTPUT -> 0.0;
                    case PYTORCH -> uniform(rnd, bound);
                    case SONNET -> name.endsWith("bias") ? 0.0 : truncatedNormal(rnd, bound);
                    case ZEROS -> throw new AssertionError(this);
                };
            }
        }
        return phi;
    }

    private static double uniform(SplittableRandom rnd, double bound) {
        return (2 * rnd.nextDouble() - 1) * bound;
    }

    private static double truncatedNormal(SplittableRandom rnd, double sigma) {
        for (;;) {
            double z = gaussian(rnd);
            if (Math.abs(z) < 2) {
                return z * sigma;
            }
        }
    }

    /** A standard normal draw (Box-Muller), reproducible from the stream. */
    static double gaussian(SplittableRandom rnd) {
        double u1 = 1.0 - rnd.nextDouble();
        double u2 = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
}
