package org.l2l4j.optimizees;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
    /** Metadata key of the hidden widths, comma-separated ("none" for no hidden layer). */
    public static final String HIDDEN_KEY = "optimizee_hidden";
    /** Metadata key of the activation ("sigmoid" or "relu"). */
    public static final String ACTIVATION_KEY = "optimizee_activation";
    /** Metadata key of the minibatch size. */
    public static final String BATCH_SIZE_KEY = "optimizee_batch_size";
    /** Metadata key of the initial standard deviation. */
    public static final String INIT_STD_KEY = "optimizee_init_std";
    /** The metadata key of an {@link MlpFamily#name()}, as older checkpoints record the optimizee. */
    public static final String NAME_KEY = "optimizee";

    /** An {@link MlpFamily#name()}: "mlp", the layer widths (features first, classes last), the activation. */
    private static final Pattern NAME = Pattern.compile("mlp((?:-\\d+){2,})-(sigmoid|relu)");

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

    /**
     * This spec as checkpoint metadata, which {@link #fromMetadata} reads back: the keys
     * {@value #HIDDEN_KEY}, {@value #ACTIVATION_KEY}, {@value #BATCH_SIZE_KEY} and
     * {@value #INIT_STD_KEY}.
     */
    public Map<String, String> metadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(HIDDEN_KEY, hiddenWidths.isEmpty() ? "none"
                : String.join(",", hiddenWidths.stream().map(String::valueOf).toList()));
        m.put(ACTIVATION_KEY, activation.name().toLowerCase(Locale.ROOT));
        m.put(BATCH_SIZE_KEY, Integer.toString(batchSize));
        m.put(INIT_STD_KEY, Double.toString(initStd));
        return m;
    }

    /**
     * The spec that checkpoint metadata describe: the keys of {@link #metadata()} when present
     * (a missing batch size or initial standard deviation is the paper's); else, as in
     * checkpoints written before those keys, the hidden widths and activation parsed from the
     * family name under {@value #NAME_KEY} (such as {@code mlp-784-40-10-sigmoid}), with the
     * paper's batch size and initial standard deviation.
     *
     * @return the spec, or empty when the metadata describe no MLP (another problem's optimizee)
     * @throws IllegalArgumentException if a key of {@link #metadata()} holds a malformed value, or
     *                                  the name a hidden width of 0
     * @throws NullPointerException     if metadata is null
     */
    public static Optional<MlpSpec> fromMetadata(Map<String, String> metadata) {
        MlpSpec paper = paper();
        String hidden = metadata.get(HIDDEN_KEY);
        if (hidden != null) {
            try {
                List<Integer> widths = hidden.equals("none") ? List.of()
                        : Arrays.stream(hidden.split(",")).map(w -> Integer.valueOf(w.strip())).toList();
                Activation activation = Activation.valueOf(metadata.getOrDefault(ACTIVATION_KEY, "")
                        .toUpperCase(Locale.ROOT));
                String batch = metadata.get(BATCH_SIZE_KEY);
                String std = metadata.get(INIT_STD_KEY);
                return Optional.of(new MlpSpec(widths, activation,
                        batch == null ? paper.batchSize() : Integer.parseInt(batch),
                        std == null ? paper.initStd() : Double.parseDouble(std)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("malformed optimizee metadata " + HIDDEN_KEY + "=" + hidden + ", "
                        + ACTIVATION_KEY + "=" + metadata.get(ACTIVATION_KEY) + ", " + BATCH_SIZE_KEY + "="
                        + metadata.get(BATCH_SIZE_KEY) + ", " + INIT_STD_KEY + "=" + metadata.get(INIT_STD_KEY)
                        + ": " + e.getMessage(), e);
            }
        }
        Matcher name = NAME.matcher(metadata.getOrDefault(NAME_KEY, ""));
        if (!name.matches()) {
            return Optional.empty();
        }
        String[] layers = name.group(1).substring(1).split("-");
        int[] widths = Arrays.stream(layers, 1, layers.length - 1).mapToInt(Integer::parseInt).toArray();
        return Optional.of(paper.withHiddenWidths(widths)
                .withActivation(Activation.valueOf(name.group(2).toUpperCase(Locale.ROOT))));
    }
}
