package org.l2l4j.optimizees;

import java.util.Optional;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.ParameterGroups;

/** The meta-training problems of the paper (sections 3.1 to 3.3), each with the paper's optimizer for it. */
public enum Problem {
    /**
     * The MNIST MLP classifier (paper section 3.2): optimizees on MNIST splits, the LSTM with
     * log-and-sign preprocessing and output scale 0.1.
     */
    MNIST(LstmConfig.paperMnist(), "single", null),
    /**
     * Quadratics ||W theta - y||^2, W 10x10 Gaussian (paper section 3.1): the LSTM without
     * preprocessing or output scaling.
     */
    QUADRATIC(LstmConfig.paperQuadratic(), "single", null),
    /**
     * The CIFAR-10 convolutional classifier (paper section 3.3; {@link ConvNetSpec#paper()}):
     * optimizees on CIFAR-10 splits, two LSTMs configured as for MNIST: one for the convolution
     * kernels and one for the other parameters ({@link ParameterGroups#convolutionAndRest}).
     */
    CIFAR10(LstmConfig.paperMnist(), "conv,fc", new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}),
    /**
     * CIFAR-5 (paper section 3.3): the CIFAR-10 network on the data of labels 0-4 (airplane,
     * automobile, bird, cat, deer) only, with 5 outputs.
     */
    CIFAR5(LstmConfig.paperMnist(), "conv,fc", new int[] {0, 1, 2, 3, 4}),
    /** CIFAR-2 (paper section 3.3): labels 0 and 1 (airplane, automobile) only, 2 outputs. */
    CIFAR2(LstmConfig.paperMnist(), "conv,fc", new int[] {0, 1});

    private final LstmConfig optimizer;
    private final String groups;
    private final int[] labels;

    Problem(LstmConfig optimizer, String groups, int[] labels) {
        this.optimizer = optimizer;
        this.groups = groups;
        this.labels = labels;
    }

    /** Whether the problem's optimizees are CIFAR-10 convolutional networks (of every label or a subset). */
    public boolean isCifar() {
        return labels != null;
    }

    /** The CIFAR-10 labels of the problem's data (a copy), or null for a problem without labels. */
    public int[] labels() {
        return labels == null ? null : labels.clone();
    }

    /**
     * The paper's parameter groups for this problem, each with {@code config} (the problem's
     * {@link #optimizer()} or a variant of it): one group for MNIST and the quadratics, the
     * convolution kernels and the rest ({@code conv,fc}, {@link ParameterGroups#parse}) for CIFAR.
     */
    public ParameterGroups groups(LstmConfig config) {
        return ParameterGroups.parse(groups, config);
    }

    /** The paper's learned-optimizer architecture for this problem (of each group). */
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
