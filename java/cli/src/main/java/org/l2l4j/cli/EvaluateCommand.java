package org.l2l4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.knowm.xchart.XYChart;
import org.l2l4j.eval.Comparison;
import org.l2l4j.optimizees.Problem;
import org.l2l4j.optimizees.ProblemSetup;
import org.l2l4j.plots.LossPlot;
import org.l2l4j.report.LossCurves;
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

    /**
     * Writes a comparison's files ({@link Comparison.Result#write}) and its plot, loss.png and
     * loss.svg (unless every optimizer diverged).
     *
     * @return the names of the files written
     */
    static List<String> write(Comparison.Result result, Path folder) throws IOException {
        List<String> files = new ArrayList<>(result.write(folder));
        Optional<LossCurves> curves = result.curves();
        if (curves.isPresent()) {
            XYChart chart = LossPlot.chart(curves.get(), result.title());
            LossPlot.writePng(chart, folder.resolve("loss.png"));
            LossPlot.writeSvg(chart, folder.resolve("loss.svg"));
            files.addAll(List.of("loss.png", "loss.svg"));
        }
        return files;
    }

    /** The problem the checkpoint was trained on, from its metadata. */
    private Problem trainedOn(OptimizerCheckpoint learned) {
        String key = learned.description().get("problem");
        return Problem.ofKey(key).orElseThrow(() -> invalid("--problem is needed: " + optimizer.describe() + " does not say which problem it was trained on"));
    }

    /**
     * Runs a {@link Comparison} of {@code setup}'s test functions, writes its files into
     * {@code folder} and prints its summary; shared with {@code main}.
     */
    static Comparison.Result evaluate(Backend backend, OptimizerCheckpoint learned, ProblemSetup setup,
                                      Comparison.Settings settings, Path folder, PrintWriter out) throws IOException {
        String title = setup.title() + ", " + settings.steps() + " steps, test functions";
        Comparison.Result result = Comparison.run(backend, learned, setup, settings, title, new ProgressBars());
        List<String> files = write(result, folder);
        out.println();
        out.print(result.markdown());
        out.println();
        out.println("Wrote " + folder.toAbsolutePath().normalize() + " (" + String.join(", ", files) + ")");
        out.flush();
        return result;
    }
}
