package org.l2l4j.optimizees;

import java.util.Arrays;
import java.util.List;

/**
 * The architecture and training protocol of an {@link MlpFamily}: a multilayer perceptron
 * classifier with {@code hiddenWidths.size()} hidden layers, trained with softmax cross-entropy
 * on minibatches drawn with replacement.
 *
 * <p>{@link #paper()} is the paper's MNIST optimizee (Andrychowicz et al. 2016, section 3.2):
 * one hidden layer of 20 sigmoid units, minibatches of 128, and every weight
 * and bias ~ N(0, 0.01^2) (the authors' reference code).  The generalization variants of
 * section 3.2 are {@code paper().withHiddenWidths(40)}, {@code paper().withHiddenWidths(20, 20)}
 * and {@code paper().withActivation(Activation.RELU)}.
 *
 * @param hiddenWidths widths of the hidden layers, input side first; may be empty (a linear
 *                     softmax classifier); each at least 1; stored as an unmodifiable copy
 * @param activation   the nonlinearity of every hidden layer
 * @param batchSize    examples per minibatch, at least 1
 * @param initStd      standard deviation of every initial weight and bias (mean 0); finite,
 *                     at least 0
 */
public record MlpSpec(List<Integer> hiddenWidths, Activation activation, int batchSize, double initStd) {

    /** Hidden-layer nonlinearity. */
    public enum Activation {
        /** sigma(z) = 1 / (1 + e^{-z}); derivative sigma (1 - sigma). */
        SIGMOID,
        /** max(z, 0); derivative 1 where z > 0, else 0. */
        RELU
    }

    /**
     * @throws NullPointerException     if {@code hiddenWidths}, one of its elements, or
     *                                  {@code activation} is null
     * @throws IllegalArgumentException if a width or {@code batchSize} is below 1, or
     *                                  {@code initStd} is negative or not finite
     */
    public MlpSpec {
        if (hiddenWidths == null) {
            throw new NullPointerException("hiddenWidths");
        }
        for (int i = 0; i < hiddenWidths.size(); i++) {
            if (hiddenWidths.get(i) == null) {
                throw new NullPointerException("hidden width " + i);
            }
            if (hiddenWidths.get(i) < 1) {
                throw new IllegalArgumentException("hidden width " + i + " must be >= 1, got "
                        + hiddenWidths.get(i));
            }
        }
        hiddenWidths = List.copyOf(hiddenWidths);
        if (activation == null) {
            throw new NullPointerException("activation");
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
        }
        if (!(initStd >= 0) || Double.isInfinite(initStd)) {
            throw new IllegalArgumentException("initStd must be finite and >= 0, got " + initStd);
        }
    }

    /** The paper's MNIST optimizee: hidden [20], sigmoid, minibatch 128, init std 0.01. */
    public static MlpSpec paper() {
        return new MlpSpec(List.of(20), Activation.SIGMOID, 128, 0.01);
    }

    /** This spec with other hidden widths. */
    public MlpSpec withHiddenWidths(int... widths) {
        return new MlpSpec(Arrays.stream(widths).boxed().toList(), activation, batchSize, initStd);
    }

    /** This spec with another hidden activation. */
    public MlpSpec withActivation(Activation newActivation) {
        return new MlpSpec(hiddenWidths, newActivation, batchSize, initStd);
    }

    /** This spec with another minibatch size. */
    public MlpSpec withBatchSize(int newBatchSize) {
        return new MlpSpec(hiddenWidths, activation, newBatchSize, initStd);
    }

    /** This spec with another initial standard deviation. */
    public MlpSpec withInitStd(double newInitStd) {
        return new MlpSpec(hiddenWidths, activation, batchSize, newInitStd);
    }
}
