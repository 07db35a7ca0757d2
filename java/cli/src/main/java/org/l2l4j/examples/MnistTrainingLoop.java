package org.l2l4j.examples;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.l2l4j.data.Dataset;
import org.l2l4j.data.MnistData;
import org.l2l4j.data.MnistFetcher;
import org.l2l4j.data.Split;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.optimizees.MlpFamily;
import org.l2l4j.optimizees.MlpOptimizee;
import org.l2l4j.optimizees.MlpSpec;
import org.l2l4j.optimizers.HandDesignedRule;
import org.l2l4j.optimizers.LstmOptimizer;
import org.l2l4j.optimizers.ParameterOptimizer;
import org.l2l4j.plots.LossPlot;
import org.l2l4j.report.LossCurves;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/**
 * A JVM training loop that switches from Adam to the learned optimizer by changing one line:
 * MLPs 784-20-10 with sigmoid hidden units ({@link MlpSpec#paper()}) trained on MNIST minibatches
 * of 128 from the training split, each parameter tensor registered with a
 * {@link ParameterOptimizer}, once with Adam and once with the LSTM optimizer shipped in the jar
 * ({@link OptimizerCheckpoint#shippedMnist()}), on the same initial parameters and minibatches.
 * Prints the mean minibatch loss every 10 steps and the test-split loss and accuracy of the
 * final parameters, and writes the loss curves to {@code OUT/loss.png}.  The options are
 * checked, and the output folder created, before any training: a bad option exits with code 2
 * and a one-line message.
 *
 * <pre>
 * java -cp target/l2l4j.jar org.l2l4j.examples.MnistTrainingLoop [--steps 100] [--runs 8] [--out runs/example]
 * </pre>
 */
@Command(name = "mnist-training-loop", mixinStandardHelpOptions = true,
        description = "Trains MNIST MLPs with Adam, then with the shipped learned optimizer, in one training loop.")
public final class MnistTrainingLoop implements Callable<Integer> {
    /** Adam's learning rate: the best of a half-decade grid for this problem (README, Results). */
    static final double ADAM_LEARNING_RATE = 0.0316;

    @Spec
    CommandSpec spec;

    @Option(names = "--steps", paramLabel = "T", defaultValue = "100",
            description = "Steps per run, at least 1 (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--runs", paramLabel = "R", defaultValue = "8",
            description = "Runs per optimizer, at least 2 (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "runs/example",
            description = "Folder for loss.png, created if missing (default: ${DEFAULT-VALUE}).")
    Path out;

    /** The losses of one training run and its final parameters. */
    public record Run(double[] losses, float[] theta) {
    }

    /**
     * The training loop: registers the MLP's tensors ({@code fc1.weight} [20 x 784],
     * {@code fc1.bias} [20], {@code fc2.weight} [10 x 20], {@code fc2.bias} [10] for the paper's
     * MLP: slices of one parameter vector in {@link MlpFamily}'s layout) with {@code optimizer},
     * then for t = 0..steps evaluates the loss and gradient on the next minibatch and, for
     * t &lt; steps, steps the optimizer.
     *
     * @return the minibatch losses f(theta_0..theta_steps) and theta_steps
     */
    public static Run train(MlpOptimizee mlp, ParameterOptimizer optimizer, int steps) {
        float[] theta = new float[mlp.dimension()];
        float[] gradient = new float[mlp.dimension()];
        mlp.initialParameters(theta);
        List<Integer> widths = layerWidths(mlp.family());
        int at = 0;
        for (int layer = 0; layer + 1 < widths.size(); layer++) {
            int weights = widths.get(layer) * widths.get(layer + 1);
            int biases = widths.get(layer + 1);
            optimizer.register("fc" + (layer + 1) + ".weight", FloatBuffer.wrap(theta, at, weights),
                    FloatBuffer.wrap(gradient, at, weights));
            at += weights;
            optimizer.register("fc" + (layer + 1) + ".bias", FloatBuffer.wrap(theta, at, biases),
                    FloatBuffer.wrap(gradient, at, biases));
            at += biases;
        }
        double[] losses = new double[steps + 1];
        for (int t = 0; t <= steps; t++) {
            losses[t] = mlp.lossAndGradient(theta, gradient);   // forward and backward pass
            if (t < steps) {
                optimizer.step();                                // updates every tensor in place
            }
        }
        return new Run(losses, theta);
    }

    /** Layer widths: features, hidden widths, classes. */
    private static List<Integer> layerWidths(MlpFamily family) {
        Dataset data = family.data();
        List<Integer> widths = new java.util.ArrayList<>();
        widths.add(data.features());
        widths.addAll(family.spec().hiddenWidths());
        widths.add(data.classes());
        return widths;
    }

    @Override
    public Integer call() throws IOException {
        if (steps < 1) {
            throw invalid("--steps must be >= 1, got " + steps);
        }
        if (runs < 2) {
            throw invalid("--runs must be >= 2, got " + runs);
        }
        if (out.toString().isBlank() || Files.exists(out) && !Files.isDirectory(out)) {
            throw invalid("--out must name a folder, got " + (out.toString().isBlank() ? "an empty path"
                    : "the file " + out));
        }
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw invalid("--out: cannot create the folder " + out + " (" + e + ")");
        }
        MnistData mnist = new MnistFetcher().load();
        MlpFamily family = new MlpFamily(mnist.split(Split.TRAIN), MlpSpec.paper());
        OptimizerCheckpoint shipped = OptimizerCheckpoint.shippedMnist();
        double[][] adamLosses = new double[runs][];
        double[][] learnedLosses = new double[runs][];
        double[][] test = new double[4][runs];
        for (int r = 0; r < runs; r++) {
            long seed = 1000 + r;
            try (ParameterOptimizer optimizer = HandDesignedRule.ADAM.factory(ADAM_LEARNING_RATE).parameterOptimizer()) {
                Run run = train(family.sample(seed), optimizer, steps);
                adamLosses[r] = run.losses();
                MlpFamily.Metrics m = family.fullMetrics(run.theta(), mnist.split(Split.TEST));
                test[0][r] = m.loss();
                test[1][r] = m.accuracy();
            }
            try (ParameterOptimizer optimizer = LstmOptimizer.builder(shipped).build()) {
                Run run = train(family.sample(seed), optimizer, steps);
                learnedLosses[r] = run.losses();
                MlpFamily.Metrics m = family.fullMetrics(run.theta(), mnist.split(Split.TEST));
                test[2][r] = m.loss();
                test[3][r] = m.accuracy();
            }
        }
        String adamName = "Adam (lr " + ADAM_LEARNING_RATE + ")";
        String learnedName = "LSTM (shipped)";
        LossCurves curves = LossCurves.builder().add(adamName, adamLosses).add(learnedName, learnedLosses).build();
        System.out.printf(Locale.ROOT, "Mean minibatch loss over %d runs (MLP 784-20-10, sigmoid, minibatches of 128)%n",
                runs);
        System.out.printf(Locale.ROOT, "| step | %s | %s |%n|---:|---:|---:|%n", adamName, learnedName);
        for (int t = 0; t <= steps; t++) {
            if (t % 10 == 0 || t == steps) {
                System.out.printf(Locale.ROOT, "| %d | %.3f ± %.3f | %.3f ± %.3f |%n", t,
                        curves.curve(adamName).get(t).mean(), curves.curve(adamName).get(t).stderr(),
                        curves.curve(learnedName).get(t).mean(), curves.curve(learnedName).get(t).stderr());
            }
        }
        System.out.printf(Locale.ROOT, "t10k after %d steps: Adam loss %.3f, accuracy %.3f; LSTM loss %.3f, accuracy %.3f%n",
                steps, mean(test[0]), mean(test[1]), mean(test[2]), mean(test[3]));
        Path png = out.resolve("loss.png");
        LossPlot.writePng(LossPlot.chart(curves, "MNIST MLP, one training loop: Adam vs the learned optimizer"), png);
        System.out.println("wrote " + png);
        return 0;
    }

    private static double mean(double[] values) {
        return java.util.Arrays.stream(values).average().orElseThrow();
    }

    private CommandLine.ParameterException invalid(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    /** The command line, printing invalid arguments as one line and a pointer to the help. */
    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new MnistTrainingLoop());
        cli.setParameterExceptionHandler((e, args) -> {
            PrintWriter err = e.getCommandLine().getErr();
            err.println("mnist-training-loop: error: " + e.getMessage());
            err.println("Run 'mnist-training-loop --help' for the options.");
            return e.getCommandLine().getCommandSpec().exitCodeOnInvalidInput();
        });
        return cli;
    }

    /** Runs the example; exit code 0 on success, 2 for invalid arguments. */
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }
}
