package org.l2l4j.optimizees;

import java.util.Optional;
import org.l2l4j.lstm.LstmConfig;

/** The meta-training problems of the paper (sections 3.1 to 3.3), each with the paper's optimizer for it. */
public enum Problem {
    /**
     * The MNIST MLP classifier (paper section 3.2): optimizees on MNIST splits, the LSTM with
     * log-and-sign preprocessing and output scale 0.1.
     */
    MNIST(LstmConfig.paperMnist()),
    /**
     * Quadratics ||W theta - y||^2, W 10x10 Gaussian (paper section 3.1): the LSTM without
     * preprocessing or output scaling.
     */
    QUADRATIC(LstmConfig.paperQuadratic()),
    /**
     * The CIFAR-10 convolutional classifier (paper section 3.3; {@link ConvNetSpec#paper()}):
     * optimizees on CIFAR-10 splits, the LSTM configured as for MNIST.  One LSTM serves every
     * parameter; the paper's second LSTM for the fully connected layers needs parameter groups.
     */
    CIFAR10(LstmConfig.paperMnist());

    private final LstmConfig optimizer;

    Problem(LstmConfig optimizer) {
        this.optimizer = optimizer;
    }

    /** The paper's learned-optimizer architecture for this problem. */
    public LstmConfig optimizer() {
        return optimizer;
    }

    /** The problem whose {@link #key()} is {@code key}, if any. */
    public static Optional<Problem> ofKey(String key) {
        for (Problem p : values()) {
            if (p.key().equals(key)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** The name used in option values and checkpoint metadata. */
    public String key() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
