package org.l2l4j.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.l2l4j.backend.Backend;
import org.l2l4j.data.MnistData;
import org.l2l4j.eval.Comparison;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.meta.MemoryEstimate.Driver;
import org.l2l4j.meta.MetaTrainer;
import org.l2l4j.meta.MetaTrainingOptions;
import org.l2l4j.meta.Recipe;
import org.l2l4j.optimizees.MlpSpec;
import org.l2l4j.optimizees.Problem;
import org.l2l4j.optimizees.ProblemSetup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code l2l4j main}: the paper's MNIST experiment (section 3.2) in one command.  Fetches MNIST,
 * meta-trains the paper's optimizer (LSTM 20-20, log-and-sign, output x 0.1) on the paper's
 * 784-20-10 sigmoid MLPs for a fixed number of epochs with the fast {@link Recipe} (so that its
 * table is reproducible for a seed on a given instruction set; {@code --budget} is an upper bound
 * of the training time), with tuned Adam's validation level for reference ({@link TrainingRun}),
 * then compares it with the tuned baselines on t10k ({@link Comparison}), writing everything into
 * one folder; summary.md says how the optimizer was trained.  The horizon K ({@code --steps},
 * 100) is the same for meta-training and evaluation.
 *
 * <p>Without {@code --out}, every run writes into a new folder
 * {@value #DEFAULT_PARENT}/YYYY-MM-DD_HH-MM-SS (its start time), so that running it again keeps
 * the earlier results; an explicit {@code --out} holding an earlier run's files is refused unless
 * {@code --force} replaces them ({@link OutputFolder}).
 *
 * <p>The defaults fit a two-core machine in under ten minutes including the build:
 * {@value Recipe#FAST_EPOCHS} epochs of meta-training, then an evaluation of
 * {@value ComparisonOptions#RUNS} paired runs with learning rates tuned on
 * {@value ComparisonOptions#TUNING_FUNCTIONS} functions.
 */
@Command(name = "main", mixinStandardHelpOptions = true, sortOptions = false,
        description = "The MNIST experiment: fetch MNIST, meta-train the paper's optimizer with the fast recipe, then "
                + "evaluate it against tuned baselines on t10k; prints the table and the output folder.")
final class MainCommand extends CliCommand {
    static final String DEFAULT_PARENT = "runs/main";
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyy-MM-dd_HH-mm-ss", Locale.ROOT);

    @Option(names = "--epochs", paramLabel = "N",
            description = "Meta-training epochs (default: the recipe's, " + Recipe.FAST_EPOCHS + " for fast).")
    Integer epochs;

    @Option(names = "--budget", paramLabel = "TIME", converter = DurationConverter.class,
            description = "An upper bound of the meta-training time, e.g. 8m: training stops at the first epoch after it "
                    + "(the summary then says so) (default: none).")
    Duration budget;

    @Mixin
    RecipeOptions recipe;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Output folder (default: a new folder " + DEFAULT_PARENT + "/YYYY-MM-DD_HH-MM-SS for each "
                    + "run, so that earlier results are kept). One holding an earlier run's files is refused unless "
                    + "--force replaces them.")
    Path out;

    @Mixin
    OutputFolder output;

    @Mixin
    ComparisonOptions comparison;

    @Mixin
    DataSource data;

    @Mixin
    PrecisionOption precision;

    /** The run in progress, for the interruption report; null before and after meta-training. */
    private volatile TrainingRun training;
    private volatile boolean trained;

    /** The folder of a run started at {@code start} without --out. */
    static Path defaultFolder(LocalDateTime start) {
        return Path.of(DEFAULT_PARENT, STAMP.format(start));
    }

    @Override
    void validate() {
        if (out == null) {
            out = defaultFolder(LocalDateTime.now());
        }
        output.check(this, "--out", out, Stream.concat(TrainingRun.FILES.stream(), EvaluateCommand.FILES.stream())
                .toList(), null, null);
        comparison.validate(this);
        recipe.validate(this);
        if (epochs != null) {
            atLeast("--epochs", epochs, 1);
        }
        if (budget != null && (budget.isZero() || budget.isNegative())) {
            throw invalid("--budget must be positive, got " + DurationConverter.format(budget));
        }
    }

    /**
     * Meta-training's settings: the recipe's (fast by default) on the paper's, with the horizon
     * and unroll of --steps, the epochs, budget and seed.
     */
    private MetaTrainingOptions options() {
        MetaTrainingOptions paper = MetaTrainingOptions.defaults();
        MetaTrainingOptions o = recipe.apply(paper.withHorizon(comparison.steps)
                .withUnroll(Math.min(paper.unroll(), comparison.steps)).withTimeBudget(budget).withSeed(root.seed()),
                Recipe.FAST);
        return epochs == null ? o : o.withEpochs(epochs);
    }

    @Override
    void run() throws Exception {
        output.create();
        out().println("Writing into " + out);
        MnistData mnist = data.load();
        ProblemSetup setup = ProblemSetup.mnist(mnist, MlpSpec.paper());
        printData(setup);
        ParameterGroups groups = Problem.MNIST.groups(precision.apply(Problem.MNIST.optimizer()));
        Comparison.Settings settings = comparison.settings(root);
        MetaTrainingOptions o = options();
        try (Backend backend = root.backend()) {
            requireMemory("meta-training", MetaTrainer.memoryEstimate(groups, o, setup.training(),
                    setup.validation()), backend);
            requireMemory("the evaluation", Comparison.memoryEstimate(groups, setup, settings), backend);
            training = new TrainingRun(new TrainingRun.Request(setup, groups, o, 1, recipe.teacher(Recipe.FAST, o.epochs()),
                    recipe.recipe(Recipe.FAST), null, true, out), out(), bars());
            TrainingRun.Outcome outcome = training.run(backend, root.threads());
            trained = true;
            EvaluateCommand.evaluate(backend, List.of(new Comparison.LearnedLstm(Comparison.LEARNED, outcome.optimizer())),
                    setup, settings, out, out(), bars());
            String trainedHow = training.summary(outcome.state());
            Files.writeString(out.resolve("summary.md"), System.lineSeparator() + trainedHow, StandardCharsets.UTF_8,
                    StandardOpenOption.APPEND);
            out().println();
            out().print(trainedHow);
        }
        out().println("Results: " + out.toAbsolutePath().normalize());
        out().flush();
    }

    @Override
    OutputFolder output() {
        return output;
    }

    @Override
    Map<Driver, String> memoryOptions() {
        Map<Driver, String> options = new EnumMap<>(Driver.class);
        options.put(Driver.STEPS, "fewer --steps");
        options.put(Driver.RUNS, "fewer --runs");
        options.put(Driver.DATA, "a smaller data set (--data)");
        return options;
    }

    /**
     * What was saved and how to go on: during meta-training, the {@code train} command that
     * continues it and the {@code evaluate} command to run after it; during the evaluation, the
     * {@code evaluate} command.
     */
    @Override
    String interruptedReport(List<Path> abandoned, boolean folderRemoved) {
        TrainingRun run = training;
        if (run == null) {
            return super.interruptedReport(abandoned, folderRemoved);
        }
        List<String> global = new ArrayList<>(List.of("--seed", Long.toString(root.seed())));
        if (root.threads > 0) {
            global.addAll(List.of("--threads", Integer.toString(root.threads)));
        }
        List<String> dataOption = data.folder == null ? List.of() : List.of("--data", data.folder.toString());
        List<String> evaluate = new ArrayList<>(global);
        evaluate.addAll(List.of("evaluate", "--optimizer", out.resolve(TrainingRun.OPTIMIZER).toString(), "--steps",
                Integer.toString(comparison.steps), "--runs", Integer.toString(comparison.runs), "--tuning-functions",
                Integer.toString(comparison.tuningFunctions)));
        evaluate.addAll(dataOption);
        evaluate.addAll(List.of("--out", out.toString()));
        String nl = System.lineSeparator();
        if (trained) {
            evaluate.add("--force");
            return prefix() + "interrupted during the evaluation; meta-training had finished and its files are in "
                    + out + abandonedWrites(abandoned) + "." + nl + "To evaluate: " + CommandText.of(evaluate);
        }
        StringBuilder text = new StringBuilder(prefix()).append("interrupted; ").append(run.savedReport())
                .append(abandonedWrites(abandoned));
        if (folderRemoved) {
            text.append(" The empty folder ").append(out).append(" was removed.");
        }
        run.checkpoint().ifPresentOrElse(c -> {
            MetaTrainingOptions o = options();
            List<String> train = new ArrayList<>(global);
            train.addAll(List.of("train", "--problem", "mnist", "--horizon", Integer.toString(o.horizon()), "--unroll",
                    Integer.toString(o.unroll()), "--epochs", Integer.toString(o.epochs()), "--compare-adam"));
            train.addAll(recipe.args(Recipe.FAST));
            if (budget != null) {
                train.addAll(List.of("--budget", DurationConverter.format(budget)));
            }
            train.addAll(dataOption);
            train.addAll(precision.args());
            train.addAll(List.of("--out", out.toString(), "--resume", c.file().toString()));
            text.append(nl).append("To continue: ").append(CommandText.of(train)).append(nl).append("Then: ")
                    .append(CommandText.of(evaluate));
        }, () -> text.append(" To start again, run the same command."));
        return text.toString();
    }
}
