package org.l2l4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.knowm.xchart.XYChart;
import org.l2l4j.backend.Backend;
import org.l2l4j.eval.Comparison;
import org.l2l4j.eval.Progress;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.ntm.NtmBfgs;
import org.l2l4j.ntm.NtmBfgsCheckpoint;
import org.l2l4j.lstm.ParameterGroup;
import org.l2l4j.meta.MemoryEstimate.Driver;
import org.l2l4j.optimizees.MlpSpec;
import org.l2l4j.optimizees.Problem;
import org.l2l4j.optimizees.ProblemSetup;
import org.l2l4j.optimizers.HandDesignedRule;
import org.l2l4j.plots.LossPlot;
import org.l2l4j.report.LossCurves;
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
 *
 * <p>The problem and, for MNIST, the optimizee are those the optimizer was trained on (its
 * checkpoint's metadata, {@link MlpSpec#fromMetadata}) unless options say otherwise; the output
 * says which optimizee is used and where it came from.
 */
@Command(name = "evaluate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Compare a learned optimizer with tuned SGD, momentum, NAG, RMSprop and Adam on held-out "
                + "functions; writes summary.md, curves.csv, runs.csv, loss.png, loss.svg, tuning.csv (the "
                + "learning-rate search) and, for MNIST, full-split.csv (loss and accuracy on all of t10k) into --out.",
            "The problem and the optimizee (MNIST: its hidden layers, activation and minibatch size) are those the "
                + "optimizer was trained on, as its checkpoint records them, unless --problem, --hidden, --layers or "
                + "--activation say otherwise."})
final class EvaluateCommand extends CliCommand {
    /** The files an evaluation writes: {@link Comparison#FILES} and the plot. */
    static final List<String> FILES = Stream.concat(Comparison.FILES.stream(), Stream.of("loss.png", "loss.svg"))
            .toList();

    @Mixin
    OptimizerSource optimizer;

    @Mixin
    PrecisionOption precision;

    /** The name of the paper's optimizer meta-trained on the other labels (Figure 6). */
    static final String LSTM_SUB = "LSTM-sub";

    @Option(names = "--also", paramLabel = "NAME=FILE",
            description = "Another learned optimizer to run beside it on the same functions, named NAME in the reports "
                    + "(such as LSTM-sub=runs/cifar-sub/optimizer.safetensors, or an NTM-BFGS optimizer written by "
                    + "train-ntm-bfgs, on the quadratics); repeatable. The baselines are tuned and "
                    + "run once for all, and the summary pairs each learned optimizer with every other optimizer. "
                    + "Default: for --problem cifar5 or cifar2 without --optimizer, the shipped LSTM-sub (meta-trained on "
                    + "labels 5-9), as in the paper's Figure 6.")
    Map<String, Path> also = new LinkedHashMap<>();

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Output folder (created if needed). One holding an earlier evaluation's files is refused "
                    + "unless --force replaces them.")
    Path out;

    @Mixin
    OutputFolder output;

    @Mixin
    ProblemOptions problem;

    @Mixin
    ComparisonOptions comparison;

    @Mixin
    DataSource data;

    @Override
    void validate() {
        output.check(this, "--out", out, FILES, null, null);
        comparison.validate(this);
        optimizer.validate(this);
        optimizer.defaultFor(problem.problem);
        for (Map.Entry<String, Path> e : also.entrySet()) {
            if (e.getKey().isBlank() || e.getKey().equals(Comparison.LEARNED)
                    || Arrays.stream(HandDesignedRule.values()).anyMatch(r -> r.displayName().equals(e.getKey()))) {
                throw invalid("--also: '" + e.getKey() + "' cannot name another learned optimizer (empty, or the name"
                        + " of the main one or of a baseline)");
            }
            if (!Files.isRegularFile(e.getValue())) {
                throw invalid("--also " + e.getKey() + ": no such file: " + e.getValue());
            }
        }
        if (problem.problem != null) {
            problem.validate(this, problem.problem);
        }
    }

    @Override
    void run() throws Exception {
        output.create();
        OptimizerCheckpoint learned = optimizer.load();
        Problem resolved = problem.problem != null ? problem.problem : trainedOn(learned);
        problem.validate(this, resolved);
        if (resolved == Problem.QUADRATIC && data.folder != null) {
            throw invalid("--data applies to --problem mnist and the CIFAR problems only");
        }
        Optional<MlpSpec> trained = trainedSpec(learned);
        ProblemSetup setup = problem.setup(this, resolved, data, trained.orElse(MlpSpec.paper()),
                problem.problem == null ? trainedLabels(learned) : null);
        out().println("Learned optimizer: " + optimizer.describe());
        printData(setup);
        out().println("Optimizee: " + setup.optimizee() + (resolved == Problem.MNIST
                ? " (" + optimizeeOrigin(trained.isPresent()) + ")" : ""));
        Comparison.Settings settings = comparison.settings(root);
        List<Comparison.Learned> all = new ArrayList<>(List.of(new Comparison.LearnedLstm(Comparison.LEARNED, learned)));
        for (Map.Entry<String, Path> e : also.entrySet()) {
            if (NtmBfgsCheckpoint.isOne(e.getValue())) {
                NtmBfgsCheckpoint ntm = NtmBfgsCheckpoint.load(e.getValue());
                try {
                    NtmBfgs.requireDimension(setup.test().dimension());
                } catch (IllegalArgumentException tooLarge) {
                    throw invalid("--also " + e.getKey() + ": " + tooLarge.getMessage() + " (the optimizee of --problem "
                            + resolved.key() + (problem.problem == null ? ", the problem of " + optimizer.describe()
                            + "; NTM-BFGS evaluates on --problem quadratic beside an LSTM trained on it" : "") + ")");
                }
                all.add(new Comparison.LearnedNtmBfgs(e.getKey(), ntm));
                out().println(e.getKey() + ": " + ntm.config());
            } else {
                all.add(new Comparison.LearnedLstm(e.getKey(), OptimizerCheckpoint.load(e.getValue())));
            }
        }
        for (Comparison.Learned l : all) {
            if (!(l instanceof Comparison.LearnedLstm lstm)) {
                continue;
            }
            for (ParameterGroup g : lstm.checkpoint().groups().list()) {
                if (g.config().averaging()) {
                    out().println(l.name() + (lstm.checkpoint().groups().isSingle() ? "" : ", group " + g.name())
                            + ": global averaging cells (LSTM+GAC), " + Arrays.toString(g.config().gacUnits())
                            + " units per layer");
                }
            }
        }
        if (also.isEmpty() && optimizer.file == null && (resolved == Problem.CIFAR5 || resolved == Problem.CIFAR2)) {
            all.add(new Comparison.LearnedLstm(LSTM_SUB, OptimizerCheckpoint.shippedCifarSub()));
            out().println("Beside it: " + LSTM_SUB + ", the shipped optimizer meta-trained on labels 5-9 only.");
        }
        try (Backend backend = root.backend()) {
            List<Comparison.Learned> run = new ArrayList<>();
            for (Comparison.Learned l : all) {
                if (l instanceof Comparison.LearnedLstm lstm) {
                    run.add(new Comparison.LearnedLstm(l.name(), precision.apply(lstm.checkpoint())));
                    requireMemory("the evaluation", Comparison.memoryEstimate(lstm.checkpoint().groups(), setup,
                            settings), backend);
                } else {
                    run.add(l);
                }
            }
            evaluate(backend, run, setup, settings, out, out(), bars());
        }
    }

    @Override
    OutputFolder output() {
        return output;
    }

    @Override
    Map<Driver, String> memoryOptions() {
        Map<Driver, String> options = new EnumMap<>(Driver.class);
        options.put(Driver.STEPS, "fewer --steps");
        options.put(Driver.OPTIMIZEE, "a smaller optimizee (--hidden, --layers)");
        options.put(Driver.RUNS, "fewer --runs");
        options.put(Driver.DATA, "a smaller data set (--data)");
        return options;
    }

    /** The CIFAR labels the checkpoint was trained on when they were not its problem's own (LSTM-sub), or null. */
    private int[] trainedLabels(OptimizerCheckpoint learned) throws IOException {
        String listed = learned.description().get(ProblemSetup.LABELS_KEY);
        if (listed == null) {
            return null;
        }
        try {
            return Arrays.stream(listed.split(",", -1)).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new IOException(optimizer.describe() + ": metadata " + ProblemSetup.LABELS_KEY + " is '" + listed
                    + "', not comma-separated labels; give --problem or --labels", e);
        }
    }

    /** The MLP the checkpoint was trained on, from its metadata, if it says. */
    private Optional<MlpSpec> trainedSpec(OptimizerCheckpoint learned) throws IOException {
        try {
            return MlpSpec.fromMetadata(learned.description());
        } catch (IllegalArgumentException e) {
            throw new IOException(optimizer.describe() + ": " + e.getMessage()
                    + "; give the optimizee with --hidden, --layers and --activation", e);
        }
    }

    /** Where the MNIST optimizee's architecture came from, for the output. */
    private String optimizeeOrigin(boolean fromCheckpoint) {
        String base = fromCheckpoint ? "as trained, from the metadata of " + optimizer.describe()
                : "the paper's, since " + optimizer.describe() + " does not record an MLP optimizee";
        String given = problem.optimizeeOptions();
        return given.isEmpty() ? base : given + " over the optimizee " + base;
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
    static Comparison.Result evaluate(Backend backend, List<Comparison.Learned> learned, ProblemSetup setup,
                                      Comparison.Settings settings, Path folder, PrintWriter out, Progress progress)
            throws IOException {
        String title = setup.title() + ", " + settings.steps() + " steps, test functions";
        Comparison.Result result = Comparison.run(backend, learned, setup, settings, title, progress);
        List<String> files = write(result, folder);
        out.println();
        out.print(result.markdown());
        out.println();
        out.println("Wrote " + folder.toAbsolutePath().normalize() + " (" + String.join(", ", files) + ")");
        out.flush();
        return result;
    }
}
