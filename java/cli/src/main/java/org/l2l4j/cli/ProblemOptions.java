package org.l2l4j.cli;

import java.io.IOException;
import java.util.Arrays;
import java.util.Locale;
import java.util.StringJoiner;
import org.l2l4j.data.Cifar10Data;
import org.l2l4j.data.Dataset;
import org.l2l4j.optimizees.ConvNetSpec;
import org.l2l4j.optimizees.MlpSpec;
import org.l2l4j.optimizees.Problem;
import org.l2l4j.optimizees.ProblemSetup;
import picocli.CommandLine.Option;

/**
 * The problem and, for MNIST, the optimizee's architecture: {@code --hidden} units in each of
 * {@code --layers} hidden layers with {@code --activation}, each changing a base architecture
 * (for {@code train} the paper's 784-20-10 sigmoid MLP with minibatches of 128; for
 * {@code evaluate} the one the optimizer was trained on).
 */
final class ProblemOptions {
    @Option(names = "--problem", paramLabel = "PROBLEM",
            description = "mnist, quadratic, cifar10, cifar5 (CIFAR-10 labels 0-4) or cifar2 (labels 0, 1) (required by "
                    + "train; evaluate defaults to the problem the optimizer was trained on).")
    Problem problem;

    @Option(names = "--labels", paramLabel = "L,L,...",
            description = "CIFAR only: the labels whose images the optimizees classify (2 to 10 of 0-9, one output "
                    + "each), replacing the problem's own (default: cifar10 0-9, cifar5 0-4, cifar2 0,1; evaluate: as the "
                    + "optimizer was trained when --problem is not given).")
    String labels;

    @Option(names = "--hidden", paramLabel = "UNITS",
            description = "MNIST only: units per hidden layer of the optimizee (default: train 20; evaluate as the "
                    + "optimizer was trained).")
    Integer hidden;

    @Option(names = "--layers", paramLabel = "L",
            description = "MNIST only: hidden layers of the optimizee (default: train 1; evaluate as the optimizer "
                    + "was trained).")
    Integer layers;

    @Option(names = "--activation", paramLabel = "FN",
            description = "MNIST only: hidden activation, sigmoid or relu (default: train sigmoid; evaluate as the "
                    + "optimizer was trained).")
    MlpSpec.Activation activation;

    /** Checks the options for {@code resolved}, the problem in use. */
    void validate(CliCommand command, Problem resolved) {
        if (resolved != Problem.MNIST && (hidden != null || layers != null || activation != null)) {
            throw command.invalid("--hidden, --layers and --activation apply to --problem mnist only");
        }
        if (labels != null) {
            if (!resolved.isCifar()) {
                throw command.invalid("--labels applies to the CIFAR problems (cifar10, cifar5, cifar2) only");
            }
            labels(command);
        }
        if (hidden != null) {
            command.atLeast("--hidden", hidden, 1);
        }
        if (layers != null) {
            command.atLeast("--layers", layers, 0);
        }
    }

    /**
     * The optimizee architecture: {@code base} changed by the options given.  {@code --hidden}
     * sets the width of every hidden layer, {@code --layers} their number (each as wide as
     * {@code base}'s first, or the paper's 20 when {@code base} has none).
     */
    MlpSpec mlpSpec(MlpSpec base) {
        MlpSpec spec = base;
        if (hidden != null || layers != null) {
            int width = hidden != null ? hidden
                    : base.hiddenWidths().isEmpty() ? MlpSpec.paper().hiddenWidths().get(0) : base.hiddenWidths().get(0);
            int[] widths = new int[layers != null ? layers : base.hiddenWidths().size()];
            Arrays.fill(widths, width);
            spec = spec.withHiddenWidths(widths);
        }
        return activation != null ? spec.withActivation(activation) : spec;
    }

    /** The optimizee options given, as on the command line ("--hidden 40"), or "" if none. */
    String optimizeeOptions() {
        StringJoiner given = new StringJoiner(" ");
        if (hidden != null) {
            given.add("--hidden " + hidden);
        }
        if (layers != null) {
            given.add("--layers " + layers);
        }
        if (activation != null) {
            given.add("--activation " + activation.name().toLowerCase(Locale.ROOT));
        }
        return given.toString();
    }

    /** --labels as label numbers. */
    int[] labels(CliCommand command) {
        try {
            int[] parsed = Arrays.stream(labels.split(",", -1)).map(String::strip).mapToInt(Integer::parseInt).toArray();
            Dataset.labelPositions(parsed, Cifar10Data.CLASSES);
            return parsed;
        } catch (IllegalArgumentException e) {
            throw command.invalid("--labels must be 2 to 10 distinct labels in 0-9, comma-separated, got '" + labels
                    + "'" + (e instanceof NumberFormatException ? "" : ": " + e.getMessage()));
        }
    }

    /**
     * The families of {@code resolved}: MLPs of {@link #mlpSpec}(base) on MNIST, quadratics, or
     * the paper's convolutional network on CIFAR-10 images of --labels, else of
     * {@code baseLabels}, else of the problem's labels, the data loaded from {@code data}.
     */
    ProblemSetup setup(CliCommand command, Problem resolved, DataSource data, MlpSpec base, int[] baseLabels)
            throws IOException {
        return switch (resolved) {
            case MNIST -> ProblemSetup.mnist(data.load(), mlpSpec(base));
            case QUADRATIC -> ProblemSetup.quadratic();
            case CIFAR10, CIFAR5, CIFAR2 -> ProblemSetup.cifar(resolved, data.loadCifar10(), ConvNetSpec.paper(),
                    labels != null ? labels(command) : baseLabels != null ? baseLabels : resolved.labels());
        };
    }
}
