package org.l2l4j.cli;

import org.l2l4j.optimizees.Problem;
import org.l2l4j.optimizees.ProblemSetup;
import java.nio.file.Path;
import java.time.Duration;
import org.l2l4j.backend.Backend;
import org.l2l4j.data.MnistData;
import org.l2l4j.meta.MetaTrainingOptions;
import org.l2l4j.optimizees.MlpSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code l2l4j main}: the paper's MNIST experiment (section 3.2) in one command.  Fetches MNIST,
 * meta-trains the paper's optimizer (LSTM 20-20, log-and-sign, output x 0.1) on the paper's
 * 784-20-10 sigmoid MLPs for a wall-time budget with every other setting at the paper's value,
 * with tuned Adam's validation level for reference ({@link TrainingRun}), then compares it with
 * the tuned baselines on t10k ({@link Comparison}), writing everything into one folder.  The
 * horizon K ({@code --steps}, 100) is the same for meta-training and evaluation.
 *
 * <p>The defaults fit a two-core machine in well under a quarter of an hour including the
 * build: {@value #DEFAULT_BUDGET} of meta-training, then an evaluation of
 * {@value ComparisonOptions#RUNS} paired runs with learning rates tuned on
 * {@value ComparisonOptions#TUNING_FUNCTIONS} functions.
 */
@Command(name = "main", mixinStandardHelpOptions = true, sortOptions = false,
        description = "The MNIST experiment: fetch MNIST, meta-train the paper's optimizer for --budget, then "
                + "evaluate it against tuned baselines on t10k; prints the table and the output folder.")
final class MainCommand extends CliCommand {
    static final String DEFAULT_BUDGET = "8m";

    @Option(names = "--budget", paramLabel = "TIME", converter = DurationConverter.class, defaultValue = DEFAULT_BUDGET,
            description = "Meta-training wall time, e.g. 8m or 1h (default: ${DEFAULT-VALUE}).")
    Duration budget;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "runs/main",
            description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out;

    @Mixin
    ComparisonOptions comparison;

    @Mixin
    MnistSource data;

    @Override
    void validate() {
        requireFolder("--out", out);
        comparison.validate(this);
        if (budget.isZero() || budget.isNegative()) {
            throw invalid("--budget must be positive, got " + budget.toString().substring(2).toLowerCase(java.util.Locale.ROOT));
        }
    }

    @Override
    void run() throws Exception {
        createFolder("--out", out);
        MnistData mnist = data.load();
        out().println("MNIST: " + data.describe());
        ProblemSetup setup = ProblemSetup.mnist(mnist, MlpSpec.paper());
        MetaTrainingOptions options = MetaTrainingOptions.defaults().withHorizon(comparison.steps).withTimeBudget(budget)
                .withSeed(root.seed());
        try (Backend backend = root.backend()) {
            TrainingRun.Outcome trained = TrainingRun.run(backend, root.threads(),
                    new TrainingRun.Request(setup, Problem.MNIST.optimizer(), options, null, true, out), out());
            EvaluateCommand.evaluate(backend, trained.optimizer(), setup, comparison.settings(root), out, out());
        }
        out().println("Results: " + out.toAbsolutePath().normalize());
        out().flush();
    }
}
