package org.l2l4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.lstm.PhiInit;
import org.l2l4j.lstm.Preprocessing;
import org.l2l4j.meta.InputScaling;
import org.l2l4j.meta.MemoryEstimate.Driver;
import org.l2l4j.meta.MetaTrainer;
import org.l2l4j.meta.MetaTrainingOptions;
import org.l2l4j.meta.Recipe;
import org.l2l4j.meta.SecondDerivatives;
import org.l2l4j.optimizees.MlpSpec;
import org.l2l4j.optimizees.Problem;
import org.l2l4j.optimizees.ProblemSetup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code l2l4j train}: meta-trains a coordinatewise LSTM optimizer (paper section 2) on MNIST
 * MLPs or on quadratics, by truncated BPTT with Adam on phi, keeping the phi with the lowest
 * loss on held-out validation functions (paper sections 2 and 3; MNIST: training functions on
 * train[0:50000], validation functions on train[50000:60000]; quadratics: the paper's Gaussian
 * family, validation functions drawn with their own seeds).  Writes the optimizer, a resumable
 * training checkpoint and the learning curve ({@link TrainingRun}).  Every default is the
 * paper's setting ({@link MetaTrainingOptions#defaults()}).
 *
 * <p>An output folder holding an earlier run's files is refused unless {@code --force} replaces
 * them or {@code --resume} continues that run from its folder ({@link OutputFolder}).  Settings
 * whose memory exceeds the machine are refused before any work.  When stopped with Ctrl-C, it
 * prints what was saved and the command that continues it ({@link #interruptedReport}).
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Meta-train a learned optimizer; writes optimizer.safetensors, training.safetensors and "
                + "the learning curve (CSV, PNG, SVG) into --out.",
            "A checkpoint is written at each validation (every --eval-every epochs). When stopped with Ctrl-C, it "
                + "says which epoch was saved and prints the command that continues the run (--resume)."})
final class TrainCommand extends CliCommand {
    private static final MetaTrainingOptions DEFAULTS = MetaTrainingOptions.defaults();
    /**
     * Largest --output-scale, a sanity bound (LstmConfig accepts any finite scale): the paper uses
     * 0.1 and 1, the reference code 0.01, and scales far larger make the optimizer's steps
     * overflow float32, so that every meta-update would be skipped as non-finite.
     */
    static final double MAX_OUTPUT_SCALE = 1e3;
    private static final String MAX_OUTPUT_SCALE_TEXT = "1e3";

    @Mixin
    ProblemOptions problem;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Output folder (created if needed). One holding an earlier run's files is refused unless "
                    + "--force replaces them or --resume continues from its training.safetensors.")
    Path out;

    @Mixin
    OutputFolder output;

    @Option(names = "--epochs", paramLabel = "N",
            description = "Epochs to train (one trajectory each); the meta-learning rate's schedule spans them (default: "
                    + "the recipe's: 10000 for paper, " + Recipe.FAST_EPOCHS + " for fast).")
    Integer epochs;

    @Option(names = "--budget", paramLabel = "TIME", converter = DurationConverter.class,
            description = "Stop at the first epoch boundary after this wall time, e.g. 10m or 1h30m; the progress "
                    + "bar then follows the budget (default: none).")
    Duration budget;

    @Option(names = "--unroll", paramLabel = "T", description = "Steps per truncation (default: ${DEFAULT-VALUE}).")
    int unroll = DEFAULTS.unroll();

    @Option(names = "--horizon", paramLabel = "K", description = "Steps per trajectory (default: ${DEFAULT-VALUE}).")
    int horizon = DEFAULTS.horizon();

    @Option(names = "--instances", paramLabel = "B", description = "Optimizees per meta-update (default: ${DEFAULT-VALUE}).")
    int instances = DEFAULTS.instances();

    @Option(names = "--shards", paramLabel = "S",
            description = "Compute the meta-batch in S shards of B/S instances, their meta-gradients added in shard order: "
                    + "the sum l2l4j-spark's synchronous mode forms with S workers, so that this run equals such a run "
                    + "bit for bit (default: ${DEFAULT-VALUE}).")
    int shards = 1;

    @Option(names = "--second-derivatives", paramLabel = "MODE",
            defaultValue = "dropped",
            description = "The optimizee's second derivatives in the meta-gradient: dropped (the paper's: one fused "
                    + "backward pass per unroll) or exact (kept: a backward step and a Hessian-vector product per step; "
                    + "--problem quadratic or mnist, without imitation) (default: ${DEFAULT-VALUE}).")
    SecondDerivatives secondDerivatives;

    @Option(names = "--input-scaling", paramLabel = "MODE",
            description = "LSTM input with several instances: PAPER (each one's gradient) or BATCH_MEAN "
                    + "(gradient of the batch mean, as the reference code) (default: ${DEFAULT-VALUE}).")
    InputScaling inputScaling = DEFAULTS.inputScaling();

    @Option(names = "--clip-norm", paramLabel = "C", description = "Clip the meta-gradient's L2 norm, 0 for none (default: ${DEFAULT-VALUE}).")
    double clipNorm = DEFAULTS.clipNorm();

    @Option(names = "--phi-init", paramLabel = "INIT",
            description = "Initialization of phi: PYTORCH_ZERO_OUTPUT (zero output layer), PYTORCH, SONNET "
                    + "(the reference code's), or ZEROS (only with --lstm-widths none) (default: ${DEFAULT-VALUE}).")
    PhiInit phiInit = DEFAULTS.phiInit();

    @Mixin
    RecipeOptions recipe;

    @Option(names = "--lstm-widths", paramLabel = "H,H,...",
            description = "The optimizer's LSTM layer widths, comma-separated, or 'none' for a learned "
                    + "coordinatewise linear rule (default: 20,20).")
    String lstmWidths;

    @Option(names = "--gac-units", paramLabel = "G,G,...",
            description = "Global averaging cells per LSTM layer (LSTM+GAC, the paper's appendix): the first G units "
                    + "of a layer pass on, at every step, their mean over the coordinates of each optimizee instance "
                    + "(default: none).")
    String gacUnits;

    @Option(names = "--p", paramLabel = "P",
            description = "Log-and-sign preprocessing's p (paper appendix A; default: 10, the reference code "
                    + "uses 5 for MNIST).")
    Double preprocessingP;

    @Option(names = "--output-scale", paramLabel = "S",
            description = "Factor on the optimizer's output, in (0, " + MAX_OUTPUT_SCALE_TEXT + "] (default: 0.1 "
                    + "for MNIST, 1 for quadratics; the reference code uses 0.01 for MNIST).")
    Double outputScale;

    @Option(names = "--groups", paramLabel = "GROUPS",
            description = "The optimizer's parameter groups, each an LSTM with its own phi: 'single' (one for every "
                    + "tensor), 'conv,fc' (the paper's CIFAR-10 optimizer: one for the convolution kernels conv*.weight, "
                    + "one for the rest) or NAME=RULE,... (a tensor joins the first group whose rule matches its name; "
                    + "a rule is glob patterns separated by '|') (default: conv,fc for the CIFAR problems, single otherwise).")
    String groups;

    @Option(names = "--log-epsilon", description = "Log-and-sign takes log(|x| + 2^-23), as the reference code.")
    boolean logEpsilon;

    @Mixin
    PrecisionOption precision;

    @Option(names = "--compare-adam", description = "Tune Adam on the validation functions and draw its level in the plot.")
    boolean compareAdam;

    @Option(names = "--resume", paramLabel = "FILE",
            description = "Continue from a training.safetensors written by train, with its problem, optimizee, "
                    + "--seed, architecture, --horizon, --unroll, --instances, --shards, --input-scaling, --eval-every, "
                    + "--validation-functions, --second-derivatives and recipe (curriculum, imitation, scalings, "
                    + "confirmation) (a change is "
                    + "an error); --epochs (the new total), --budget, --meta-lr, --meta-lr-schedule and --clip-norm may "
                    + "change. --out may be the checkpoint's own folder.")
    Path resume;

    @Mixin
    DataSource data;

    /** The run in progress, for the interruption report; null before it starts. */
    private volatile TrainingRun current;

    @Override
    void validate() {
        Path earlier = out.resolve(TrainingRun.TRAINING);
        output.check(this, "--out", out, TrainingRun.FILES, resume,
                Files.isRegularFile(earlier) ? "--resume " + earlier + " to continue its training" : null);
        if (problem.problem == null) {
            throw invalid("Missing required option: '--problem=PROBLEM' (mnist, quadratic, cifar10, cifar5 or cifar2)");
        }
        problem.validate(this, problem.problem);
        if (problem.problem == Problem.QUADRATIC && data.folder != null) {
            throw invalid("--data applies to --problem mnist and the CIFAR problems only");
        }
        if (epochs != null) {
            atLeast("--epochs", epochs, 1);
        }
        recipe.validate(this);
        checkMetaTraining(unroll, horizon, instances, clipNorm, budget);
        if (secondDerivatives == SecondDerivatives.EXACT) {
            if (problem.problem.isCifar()) {
                throw invalid("--second-derivatives exact needs the optimizees' Hessian-vector products, which the CIFAR "
                        + "network does not offer (its batch norm's second derivatives are not implemented): use --problem "
                        + "quadratic or mnist, or leave out --second-derivatives exact");
            }
            if (recipe.teacher(Recipe.PAPER, epochs == null ? DEFAULTS.epochs() : epochs).isPresent()) {
                throw invalid("--second-derivatives exact cannot be combined with imitation (the recipe's or "
                        + "--imitate's): give --imitate none, or leave out --second-derivatives exact");
            }
        }
        atLeast("--shards", shards, 1);
        if (instances % shards != 0) {
            throw invalid("--shards (" + shards + ") must divide --instances (" + instances + ")");
        }
        if (outputScale != null) {
            positive("--output-scale", outputScale);
            if (outputScale > MAX_OUTPUT_SCALE) {
                throw invalid("--output-scale must be <= " + MAX_OUTPUT_SCALE_TEXT + ", got " + outputScale);
            }
        }
        if (resume != null && !Files.isRegularFile(resume)) {
            throw invalid("--resume: no such file: " + resume);
        }
        if (problem.problem.optimizer().preprocessing() != Preprocessing.LOG_AND_SIGN
                && (preprocessingP != null || logEpsilon)) {
            throw invalid((preprocessingP != null ? "--p" : "--log-epsilon")
                    + " applies to log-and-sign preprocessing, which --problem " + problem.problem.name()
                            .toLowerCase(java.util.Locale.ROOT) + " does not use (its input is the raw gradient)");
        }
        LstmConfig config;
        try {
            config = config();
        } catch (IllegalArgumentException e) {
            throw invalid("optimizer architecture: " + e.getMessage());
        }
        if (phiInit == PhiInit.ZEROS && config.layers() > 0) {
            throw invalid("--phi-init ZEROS is allowed only without LSTM layers (--lstm-widths none)");
        }
        try {
            groups();
        } catch (IllegalArgumentException e) {
            throw invalid("--groups: " + e.getMessage());
        }
    }

    /** The optimizer's architecture: the problem's paper setting with the options applied. */
    LstmConfig config() {
        LstmConfig c = problem.problem.optimizer();
        LstmConfig chosen = precision.apply(new LstmConfig(lstmWidths == null ? c.widths()
                : counts("--lstm-widths", lstmWidths), c.preprocessing(), preprocessingP == null ? c.p()
                : preprocessingP, outputScale == null ? c.outputScale() : outputScale, logEpsilon || c.logEpsilon()));
        if (gacUnits == null) {
            return chosen;
        }
        int[] counts = counts("--gac-units", gacUnits);
        if (counts.length == 0) {
            return chosen; /* none */
        }
        if (counts.length != chosen.layers()) {
            throw invalid("--gac-units needs one count per LSTM layer (" + chosen.layers() + "), got " + counts.length);
        }
        return chosen.withGacUnits(counts);
    }

    /** The optimizer's parameter groups, each of {@link #config()}: --groups, or the problem's paper groups. */
    ParameterGroups groups() {
        return groups == null ? problem.problem.groups(config()) : ParameterGroups.parse(groups, config());
    }

    /** The meta-training settings of the options: the recipe's, then those given explicitly. */
    MetaTrainingOptions options() {
        MetaTrainingOptions o = recipe.apply(DEFAULTS.withTimeBudget(budget).withUnroll(unroll).withHorizon(horizon)
                .withInstances(instances, inputScaling).withClipNorm(clipNorm).withPhiInit(phiInit)
                .withSeed(root.seed()), Recipe.PAPER).withSecondDerivatives(secondDerivatives);
        return epochs == null ? o : o.withEpochs(epochs);
    }

    @Override
    void run() throws Exception {
        output.create();
        ProblemSetup setup = problem.setup(this, problem.problem, data, MlpSpec.paper(), null);
        printData(setup);
        MetaTrainingOptions o = options();
        try (Backend backend = root.backend()) {
            requireMemory("meta-training", MetaTrainer.memoryEstimate(groups(), o, setup.training(),
                    setup.validation()), backend);
            current = new TrainingRun(new TrainingRun.Request(setup, groups(), o, shards,
                    recipe.teacher(Recipe.PAPER, o.epochs()), recipe.recipe(Recipe.PAPER), resume, compareAdam, out), out(), bars());
            current.run(backend, root.threads());
        }
    }

    @Override
    OutputFolder output() {
        return output;
    }

    @Override
    Map<Driver, String> memoryOptions() {
        Map<Driver, String> options = new EnumMap<>(Driver.class);
        options.put(Driver.INSTANCES, "fewer --instances");
        options.put(Driver.UNROLL, "a shorter --unroll");
        options.put(Driver.STEPS, "a shorter --horizon");
        if (problem.problem == Problem.MNIST) {
            options.put(Driver.OPTIMIZEE, "a smaller optimizee (--hidden, --layers)");
            options.put(Driver.DATA, "a smaller data set (--data)");
        }
        options.put(Driver.OPTIMIZER, "smaller --lstm-widths");
        options.put(Driver.VALIDATION_FUNCTIONS, "fewer --validation-functions");
        return options;
    }

    /** What was saved, and the command that continues the run (these arguments, resuming). */
    @Override
    String interruptedReport(List<Path> abandoned, boolean folderRemoved) {
        TrainingRun run = current;
        if (run == null) {
            return super.interruptedReport(abandoned, folderRemoved);
        }
        StringBuilder text = new StringBuilder(prefix()).append("interrupted; ").append(run.savedReport())
                .append(abandonedWrites(abandoned));
        if (folderRemoved) {
            text.append(" The empty folder ").append(out).append(" was removed.");
        }
        run.checkpoint().ifPresentOrElse(c -> {
            List<String> args = new ArrayList<>(CommandText.without(CommandText.without(originalArgs(), "--resume", true),
                    "--force", false));
            args.addAll(List.of("--resume", c.file().toString()));
            text.append(System.lineSeparator()).append("To continue: ").append(CommandText.of(args));
        }, () -> text.append(" To start again, run the same command."));
        return text.toString();
    }
}
