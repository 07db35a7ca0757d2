package org.l2l4j.spark;

import static org.l2l4j.report.MarkdownSummary.shortNumber;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.l2l4j.eval.LearningRateTuner;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.meta.Imitation;
import org.l2l4j.meta.MetaTrainingOptions;
import org.l2l4j.meta.Recipe;
import org.l2l4j.meta.Seeds;
import org.l2l4j.optimizees.Problem;
import org.l2l4j.optimizees.ProblemSetup;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The job of {@code spark-submit}: meta-trains one of the paper's problems on the cluster
 * ({@link SparkMetaTraining}) and writes the checkpoints into {@code --out} (any Hadoop file
 * system), continuing from the checkpoint found there.  With the fast recipe, the driver first
 * tunes the imitated teacher's learning rate on the validation functions, as {@code train} does.
 */
@Command(name = "l2l4j-spark", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Meta-train a learned optimizer on a Spark cluster; writes training.safetensors and "
                + "optimizer.safetensors into --out after every validation and continues from them when run again."})
public final class SparkTrain implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--problem", required = true, paramLabel = "PROBLEM",
            description = "mnist, quadratic, cifar10, cifar5 or cifar2.")
    Problem problem;

    @Option(names = "--data", paramLabel = "DIR",
            description = "The data folder, at the same path on the driver and every executor (a shared file system): "
                    + "MNIST's IDX files (as fetch-data writes them) or cifar-10-batches-bin.")
    String data;

    @Option(names = "--labels", split = ",", paramLabel = "L,L,...", description = "CIFAR-10 labels to train on.")
    List<Integer> labels;

    @Option(names = "--out", required = true, paramLabel = "URI",
            description = "Checkpoint folder: a local path or any Hadoop file system URI (hdfs://, s3a://...).")
    String out;

    @Option(names = "--mode", paramLabel = "MODE", description = "synchronous or averaging (default: ${DEFAULT-VALUE}).")
    SparkMetaTraining.Mode mode = SparkMetaTraining.Mode.SYNCHRONOUS;

    @Option(names = "--workers", paramLabel = "W", description = "Tasks per stage (default: ${DEFAULT-VALUE}).")
    int workers = 2;

    @Option(names = "--instances", paramLabel = "B",
            description = "Optimizee instances per worker and meta-update (synchronous: the meta-batch is W B) "
                    + "(default: ${DEFAULT-VALUE}).")
    int instances = 1;

    @Option(names = "--averaging-period", paramLabel = "K",
            description = "Averaging mode: epochs each worker trains alone between averagings (default: ${DEFAULT-VALUE}).")
    int period = 5;

    @Option(names = "--outer-lr", paramLabel = "LR",
            description = "Averaging mode: apply the averaged change through an outer Adam of this rate (its "
                    + "pseudo-gradient: phi before the round minus the average), 0 to apply it as it is (default: "
                    + "${DEFAULT-VALUE}).")
    double outerLearningRate = 0;

    @Option(names = "--recipe", paramLabel = "NAME", description = "paper or fast (default: ${DEFAULT-VALUE}).")
    Recipe recipe = Recipe.PAPER;

    @Option(names = "--epochs", paramLabel = "N", description = "Epochs (default: the recipe's).")
    Integer epochs;

    @Option(names = "--horizon", paramLabel = "K", description = "Steps per trajectory (default: 100).")
    int horizon = MetaTrainingOptions.defaults().horizon();

    @Option(names = "--unroll", paramLabel = "T", description = "Steps per truncation (default: 20).")
    int unroll = MetaTrainingOptions.defaults().unroll();

    @Option(names = "--eval-every", paramLabel = "E",
            description = "Validate (on the driver) and write the checkpoints every E epochs (default: the recipe's: 10 "
                    + "for paper, 25 for fast).")
    Integer evalEvery;

    @Option(names = "--seed", paramLabel = "S", description = "Base seed (default: ${DEFAULT-VALUE}).")
    long seed = 0;

    @Option(names = "--threads", paramLabel = "N",
            description = "CPU threads per task, 0 for spark.task.cpus (default: ${DEFAULT-VALUE}); a task given a GPU "
                    + "by Spark's resource scheduling uses it instead.")
    int threads = 0;

    @Option(names = "--driver-threads", paramLabel = "N", description = "Threads of the driver's validations (default: "
            + "${DEFAULT-VALUE}).")
    int driverThreads = 1;

    @Option(names = "--max-attempts", paramLabel = "N", description = "Attempts per block of epochs (default: "
            + "${DEFAULT-VALUE}).")
    int maxAttempts = 3;

    @Option(names = "--exchange-port", paramLabel = "PORT",
            description = "The driver's port for the synchronous mode's gradient exchange, 0 for any (default: "
                    + "${DEFAULT-VALUE}).")
    int exchangePort = 0;

    @Override
    public Integer call() throws Exception {
        Problem p = problem;
        SparkMetaTraining.Mode m = mode;
        Recipe r = recipe;
        if (workers < 1 || instances < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--workers and --instances must be >= 1");
        }
        if (p != Problem.QUADRATIC && data == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--problem " + p.name().toLowerCase(Locale.ROOT)
                    + " needs --data: a folder at the same path on the driver and every executor");
        }
        PaperProblem source = new PaperProblem(p, data, labels);
        ParameterGroups groups = p.groups(p.optimizer());
        int metaBatch = m == SparkMetaTraining.Mode.SYNCHRONOUS ? workers * instances : instances;
        MetaTrainingOptions o = r.apply(MetaTrainingOptions.defaults().withHorizon(horizon).withUnroll(unroll)
                .withInstances(metaBatch, MetaTrainingOptions.defaults().inputScaling()).withSeed(seed));
        if (epochs != null) {
            o = o.withEpochs(epochs);
        }
        if (evalEvery != null) {
            o = o.withEvaluation(evalEvery, o.validationFunctions());
        }
        SparkMetaTraining.Settings settings;
        try {
            settings = new SparkMetaTraining.Settings(m, workers, period, outerLearningRate, threads, driverThreads,
                    maxAttempts, out, exchangePort, Duration.ofMinutes(30));
            SparkMetaTraining.requireFits(settings, o);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        // the context first: a cluster manager waits for it only so long (YARN: spark.yarn.am.waitTime)
        try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setAppName("l2l4j meta-training "
                + p.name().toLowerCase(Locale.ROOT)))) {
            ProblemSetup setup = source.load();
            Recipe.Teacher teacher = r.teacher(o.epochs()).orElse(null);
            if (teacher != null) {
                double lr = new LearningRateTuner(driverThreads).tune(teacher.rule(), setup.validation(),
                        Seeds.list(o.seed(), Seeds.VALIDATION, o.validationFunctions()), o.horizon())
                        .bestLearningRate();
                o = o.withImitation(new Imitation(teacher.rule(), lr, teacher.weight(), teacher.epochs()));
                System.out.printf(Locale.ROOT, "Imitating tuned %s (lr %s) with weight %s decaying to 0 over %d epochs.%n",
                        teacher.rule().displayName(), shortNumber(lr), shortNumber(teacher.weight()), teacher.epochs());
            }
            Map<String, String> metadata = new LinkedHashMap<>(setup.checkpointMetadata());
            metadata.put("recipe", r.name().toLowerCase(Locale.ROOT));
            SparkMetaTraining.Outcome outcome = SparkMetaTraining.run(sc, source, groups, o, settings, metadata);
            if (outcome.epochsRun() == 0) {
                System.out.printf(Locale.ROOT, "Nothing to run: the checkpoint in %s already holds %d epochs (--epochs: "
                        + "%d).%n", out, outcome.state().epochs(), o.epochs());
                return 0;
            }
            System.out.printf(Locale.ROOT, "Meta-trained %d epochs (%d in this run, %.1f s, of which %.1f s in the "
                            + "epochs' stages: %.0f optimizee steps per second); best validation loss %.5g at epoch %d; "
                            + "%d blocks run again; checkpoints in %s%n", outcome.state().epochs(), outcome.epochsRun(),
                    outcome.seconds(), outcome.epochSeconds(), outcome.throughput(), outcome.state().bestValidation(),
                    outcome.state().bestEpoch(), outcome.retries(), out);
            if (m == SparkMetaTraining.Mode.SYNCHRONOUS) {
                System.out.printf(Locale.ROOT, "Workers meta-training %.1f s; waiting for the gradient exchange %.2f ms "
                        + "per unroll%n", outcome.workerSeconds(), 1e3 * outcome.waitPerUnroll());
            }
        }
        return 0;
    }

    /**
     * A refusal or a failure the message of which says it all (bad settings, data or checkpoints,
     * a block failed in every attempt) as one line; anything else with its stack trace.
     */
    private static int report(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        if (e instanceof IllegalArgumentException || e instanceof IllegalStateException || e instanceof IOException
                || e instanceof UncheckedIOException) {
            cmd.getErr().println("l2l4j-spark: " + e.getMessage());
            return 1;
        }
        e.printStackTrace(cmd.getErr());
        return 1;
    }

    /**
     * Runs the job; on failure exits with picocli's status (on success it returns, so that a
     * cluster manager's shutdown hooks see the application end normally).
     */
    public static void main(String[] args) {
        int status = new CommandLine(new SparkTrain()).setCaseInsensitiveEnumValuesAllowed(true)
                .setExecutionExceptionHandler(SparkTrain::report).execute(args);
        if (status != 0) {
            System.exit(status);
        }
    }
}
