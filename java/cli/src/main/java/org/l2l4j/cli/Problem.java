package org.l2l4j.cli;

import org.l2l4j.lstm.LstmConfig;

/** The meta-training problems of the paper that the command line offers (sections 3.1 and 3.2). */
enum Problem {
    /**
     * The MNIST MLP classifier (paper section 3.2): optimizees on MNIST splits, the LSTM with
     * log-and-sign preprocessing and output scale 0.1.
     */
    MNIST(LstmConfig.paperMnist()),
    /**
     * Quadratics ||W theta - y||^2, W 10x10 Gaussian (paper section 3.1): the LSTM without
     * preprocessing or output scaling.
     */
    QUADRATIC(LstmConfig.paperQuadratic());

    private final LstmConfig optimizer;

    Problem(LstmConfig optimizer) {
        this.optimizer = optimizer;
    }

    /** The paper's learned-optimizer architecture for this problem. */
    LstmConfig optimizer() {
        return optimizer;
    }

    /** The name used in option values and checkpoint metadata. */
    String key() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
