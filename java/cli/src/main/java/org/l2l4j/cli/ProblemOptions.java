package org.l2l4j.cli;

import org.l2l4j.optimizees.Problem;
import org.l2l4j.optimizees.ProblemSetup;
import java.io.IOException;
import java.util.Arrays;
import org.l2l4j.optimizees.MlpSpec;
import picocli.CommandLine.Option;

/**
 * The problem and, for MNIST, the optimizee's architecture: {@code --hidden} units in each of
 * {@code --layers} hidden layers with {@code --activation} (default: the paper's 784-20-10
 * sigmoid MLP, minibatches of 128).
 */
final class ProblemOptions {
    @Option(names = "--problem", paramLabel = "PROBLEM",
            description = "mnist or quadratic (required by train; evaluate defaults to the problem the optimizer "
                    + "was trained on).")
    Problem problem;

    @Option(names = "--hidden", paramLabel = "UNITS",
            description = "MNIST only: units per hidden layer of the optimizee (default: 20).")
    Integer hidden;

    @Option(names = "--layers", paramLabel = "L",
            description = "MNIST only: hidden layers of the optimizee (default: 1).")
    Integer layers;

    @Option(names = "--activation", paramLabel = "FN",
            description = "MNIST only: hidden activation, sigmoid or relu (default: sigmoid).")
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

    /** The optimizee architecture: the paper's, changed by the options given. */
    MlpSpec mlpSpec() {
        MlpSpec spec = MlpSpec.paper();
        int width = hidden != null ? hidden : spec.hiddenWidths().get(0);
        int count = layers != null ? layers : spec.hiddenWidths().size();
        int[] widths = new int[count];
        Arrays.fill(widths, width);
        return spec.withHiddenWidths(widths).withActivation(activation != null ? activation : spec.activation());
    }

    /** The families of {@code resolved}, loading MNIST from {@code data} if needed. */
    ProblemSetup setup(Problem resolved, MnistSource data) throws IOException {
        return resolved == Problem.MNIST ? ProblemSetup.mnist(data.load(), mlpSpec()) : ProblemSetup.quadratic();
    }
}
