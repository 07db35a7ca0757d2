package org.l2l4j.cli;

import org.l2l4j.optimizees.Problem;
import org.l2l4j.optimizees.ProblemSetup;
import java.io.IOException;
import java.util.Arrays;
import java.util.Locale;
import java.util.StringJoiner;
import org.l2l4j.optimizees.ConvNetSpec;
import org.l2l4j.optimizees.MlpSpec;
import picocli.CommandLine.Option;

/**
 * The problem and, for MNIST, the optimizee's architecture: {@code --hidden} units in each of
 * {@code --layers} hidden layers with {@code --activation}, each changing a base architecture
 * (for {@code train} the paper's 784-20-10 sigmoid MLP with minibatches of 128; for
 * {@code evaluate} the one the optimizer was trained on).
 */
final class ProblemOptions {
    @Option(names = "--problem", paramLabel = "PROBLEM",
            description = "mnist, quadratic or cifar10 (required by train; evaluate defaults to the problem the "
                    + "optimizer was trained on).")
    Problem problem;

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

    /**
     * The families of {@code resolved}: MLPs of {@link #mlpSpec}(base) on MNIST, quadratics, or
     * the paper's convolutional network on CIFAR-10, the data loaded from {@code data}.
     */
    ProblemSetup setup(Problem resolved, DataSource data, MlpSpec base) throws IOException {
        return switch (resolved) {
            case MNIST -> ProblemSetup.mnist(data.load(), mlpSpec(base));
            case QUADRATIC -> ProblemSetup.quadratic();
            case CIFAR10 -> ProblemSetup.cifar10(data.loadCifar10(), ConvNetSpec.paper());
        };
    }
}
