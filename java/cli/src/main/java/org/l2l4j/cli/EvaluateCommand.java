package org.l2l4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.OptimizerCheckpoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code l2l4j evaluate}: compares a trained optimizer with the hand-designed baselines, each
 * with its learning rate tuned on validation functions, on the same held-out test functions
 * (paired runs; MNIST: minibatches from t10k), by the protocol of {@link Comparison}.  Writes
 * {@code curves.csv}, {@code runs.csv}, {@code loss.png}, {@code loss.svg},
 * {@code full-split.csv} (MNIST), {@code tuning.csv} and {@code summary.md}, and prints the
 * summary's table.
 */
@Command(name = "evaluate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Compare a learned optimizer with tuned SGD, momentum, NAG, RMSprop and Adam on held-out "
                + "functions; writes summary.md, curves.csv, runs.csv, loss.png, loss.svg, tuning.csv (the "
                + "learning-rate search) and, for MNIST, full-split.csv (loss and accuracy on all of t10k) into --out.")
final class EvaluateCommand extends CliCommand {
    @Mixin
    OptimizerSource optimizer;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder (created if needed).")
    Path out;

    @Mixin
    ProblemOptions problem;

    @Mixin
    ComparisonOptions comparison;

    @Mixin
    MnistSource data;

    @Override
    void validate() {
        requireFolder("--out", out);
        comparison.validate(this);
        optimizer.validate(this);
        if (problem.problem != null) {
            problem.validate(this, problem.problem);
        }
    }

    @Override
    void run() throws Exception {
        createFolder("--out", out);
        OptimizerCheckpoint learned = optimizer.load();
        Problem resolved = problem.problem != null ? problem.problem : trainedOn(learned);
        problem.validate(this, resolved);
        if (resolved != Problem.MNIST && data.folder != null) {
            throw invalid("--data applies to --problem mnist only");
        }
        ProblemSetup setup = problem.setup(resolved, data);
        try (Backend backend = root.backend()) {
            evaluate(backend, learned, setup, comparison.settings(root), out, out());
        }
    }

    /** The problem the checkpoint was trained on, from its metadata. */
    private Problem trainedOn(OptimizerCheckpoint learned) {
        String key = learned.description().get("problem");
        for (Problem p : Problem.values()) {
            if (p.key().equals(key)) {
                return p;
            }
        }
        throw invalid("--problem is needed: " + optimizer.describe() + " does not say which problem it was trained on");
    }

    /**
     * Runs a {@link Comparison} of {@code setup}'s test functions, writes its files into
     * {@code folder} and prints its summary; shared with {@code main}.
     */
    static Comparison.Result evaluate(Backend backend, OptimizerCheckpoint learned, ProblemSetup setup,
                                      Comparison.Settings settings, Path folder, PrintWriter out) throws IOException {
        String title = setup.title() + ", " + settings.steps() + " steps, test functions";
        Comparison.Result result = Comparison.run(backend, learned, setup, settings, title);
        List<String> files = result.write(folder);
        out.println();
        out.print(result.markdown());
        out.println();
        out.println("Wrote " + folder.toAbsolutePath().normalize() + " (" + String.join(", ", files) + ")");
        out.flush();
        return result;
    }
}
