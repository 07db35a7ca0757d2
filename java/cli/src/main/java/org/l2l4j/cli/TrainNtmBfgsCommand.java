package org.l2l4j.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import me.tongfei.progressbar.ProgressBar;
import org.knowm.xchart.XYChart;
import org.l2l4j.meta.MemoryEstimate.Driver;
import org.l2l4j.meta.MetaTrainer;
import org.l2l4j.meta.MetaTrainingOptions;
import org.l2l4j.meta.NtmBfgsTrainer;
import org.l2l4j.meta.LearningRateSchedule;
import org.l2l4j.meta.TrainingState;
import org.l2l4j.ntm.NtmBfgsCheckpoint;
import org.l2l4j.ntm.NtmBfgsConfig;
import org.l2l4j.optimizees.ProblemSetup;
import org.l2l4j.plots.LossPlot;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code l2l4j train-ntm-bfgs}: meta-trains an NTM-BFGS optimizer (paper appendix B;
 * {@link org.l2l4j.ntm.NtmBfgs}) on the paper's 10-dimensional quadratics by truncated BPTT
 * ({@link NtmBfgsTrainer}), with the settings and option names of {@code train}, and writes the
 * kept optimizer ({@link NtmBfgsCheckpoint}) and the learning curve.  Its memory is d x d per
 * optimizee, so it meta-trains on the quadratics only; {@code evaluate --also NAME=FILE}
 * compares the result with an LSTM and the tuned baselines.
 */
@Command(name = "train-ntm-bfgs", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Meta-train an NTM-BFGS optimizer (an LSTM controller writing a d x d memory per optimizee by "
                + "outer products and reading it by a key) on the paper's quadratics; writes optimizer.safetensors and "
                + "the learning curve (CSV, PNG, SVG) into --out.",
            "Compare it with 'l2l4j evaluate --optimizer LSTM.safetensors --also NTM-BFGS=DIR/optimizer.safetensors'."})
final class TrainNtmBfgsCommand extends CliCommand {
    private static final MetaTrainingOptions DEFAULTS = MetaTrainingOptions.defaults();
    private static final NtmBfgsConfig PAPER = NtmBfgsConfig.paperQuadratic();
    /** The files it writes. */
    static final List<String> FILES = List.of(TrainingRun.OPTIMIZER, "learning-curve.{csv,png,svg}");

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Output folder (created if needed). One holding an earlier run's files is refused unless "
                    + "--force replaces them.")
    Path out;

    @Mixin
    OutputFolder output;

    @Option(names = "--epochs", paramLabel = "N", description = "Epochs (trajectories) (default: ${DEFAULT-VALUE}).")
    int epochs = 400;

    @Option(names = "--budget", paramLabel = "TIME", converter = DurationConverter.class,
            description = "Stop at the first epoch boundary after this wall time, e.g. 10m (default: none).")
    Duration budget;

    @Option(names = "--unroll", paramLabel = "T", description = "Steps per truncation (default: ${DEFAULT-VALUE}).")
    int unroll = DEFAULTS.unroll();

    @Option(names = "--horizon", paramLabel = "K", description = "Steps per trajectory (default: ${DEFAULT-VALUE}).")
    int horizon = DEFAULTS.horizon();

    @Option(names = "--instances", paramLabel = "B", description = "Optimizees per meta-update (default: ${DEFAULT-VALUE}).")
    int instances = 32;

    @Option(names = "--clip-norm", paramLabel = "C", description = "Clip the meta-gradient's L2 norm, 0 for none (default: ${DEFAULT-VALUE}).")
    double clipNorm;

    @Option(names = "--meta-lr", paramLabel = "LR", description = "Adam's learning rate on phi (default: ${DEFAULT-VALUE}).")
    double metaLearningRate = DEFAULTS.metaLearningRate();

    @Option(names = "--meta-lr-schedule", paramLabel = "SCHEDULE",
            description = "The meta-learning rate over the epochs: constant, cosine or step, with ',warmup=EPOCHS' and "
                    + "for cosine ',floor=FRACTION' of the rate at the end (default: constant).")
    String schedule;

    @Option(names = "--eval-every", paramLabel = "E", description = "Validate every E epochs (default: ${DEFAULT-VALUE}).")
    int evaluationPeriod = DEFAULTS.evaluationPeriod();

    @Option(names = "--validation-functions", paramLabel = "V",
            description = "Held-out functions per validation (default: ${DEFAULT-VALUE}).")
    int validationFunctions = DEFAULTS.validationFunctions();

    @Option(names = "--confirmation-functions", paramLabel = "C",
            description = "Evaluate the best few validated phis on C more held-out functions at the end and keep the "
                    + "best of those, 0 for none (default: ${DEFAULT-VALUE}).")
    int confirmationFunctions;

    @Option(names = "--lstm-widths", paramLabel = "H,H,...",
            description = "The controller's LSTM widths (default: 20,20; other widths have no averaging units unless "
                    + "--gac-units gives them).")
    String lstmWidths;

    @Option(names = "--gac-units", paramLabel = "G,G,...",
            description = "Global averaging cells per controller layer, or none (default: 2,2: the appendix's "
                    + "controller is an LSTM+GAC).")
    String gacUnits;

    @Option(names = "--write-heads", paramLabel = "W",
            description = "Write heads, each writing one outer product per step (default: 3, enough to simulate BFGS).")
    int writeHeads = PAPER.writeHeads();

    @Option(names = "--output-scale", paramLabel = "S",
            description = "The factor on the controller's direct update (default: 1, as the LSTM's on quadratics).")
    double outputScale = PAPER.outputScale();

    @Override
    void validate() {
        output.check(this, "--out", out, FILES, null, null);
        atLeast("--epochs", epochs, 1);
        checkMetaTraining(unroll, horizon, instances, clipNorm, budget);
        positive("--meta-lr", metaLearningRate);
        if (schedule != null) {
            try {
                LearningRateSchedule.parse(schedule);
            } catch (IllegalArgumentException e) {
                throw invalid("--meta-lr-schedule: " + e.getMessage());
            }
        }
        atLeast("--eval-every", evaluationPeriod, 1);
        atLeast("--validation-functions", validationFunctions, 1);
        atLeast("--confirmation-functions", confirmationFunctions, 0);
        try {
            config();
        } catch (IllegalArgumentException e) {
            throw invalid("optimizer architecture: " + e.getMessage());
        }
        try {
            options();
        } catch (IllegalArgumentException e) {
            throw invalid(e.getMessage());
        }
    }

    /** The architecture: the quadratic setting with the options applied. */
    NtmBfgsConfig config() {
        int[] widths = lstmWidths == null ? PAPER.widths() : counts("--lstm-widths", lstmWidths);
        int[] gac = gacUnits == null ? (lstmWidths == null ? PAPER.gacUnits() : new int[widths.length])
                : counts("--gac-units", gacUnits);
        if (gac.length == 0) {
            gac = new int[widths.length]; /* none */
        } else if (gac.length != widths.length) {
            throw invalid("--gac-units needs one count per LSTM layer (" + widths.length + "), got " + gac.length);
        }
        return new NtmBfgsConfig(widths, gac, writeHeads, PAPER.preprocessing(), PAPER.p(), outputScale);
    }

    /** The paper's meta-training settings with the options applied. */
    MetaTrainingOptions options() {
        MetaTrainingOptions o = DEFAULTS.withTimeBudget(budget).withUnroll(unroll).withHorizon(horizon)
                .withInstances(instances, DEFAULTS.inputScaling()).withClipNorm(clipNorm).withSeed(root.seed())
                .withEpochs(epochs).withMetaLearningRate(metaLearningRate)
                .withEvaluation(evaluationPeriod, validationFunctions).withConfirmation(confirmationFunctions);
        return schedule == null ? o : o.withSchedule(LearningRateSchedule.parse(schedule));
    }

    @Override
    void run() throws Exception {
        output.create();
        ProblemSetup setup = ProblemSetup.quadratic();
        NtmBfgsConfig config = config();
        MetaTrainingOptions o = options();
        out().println("Optimizer: " + config + ", phi " + config.phiSize() + " values");
        out().println("Optimizee: " + setup.optimizee());
        out().flush();
        NtmBfgsTrainer trainer = new NtmBfgsTrainer(config, setup.training(), setup.validation(), o);
        long start = System.nanoTime();
        NtmBfgsTrainer.Result result;
        ProgressBar bar = bars().open(bars().builder("meta-training", o.epochs()));
        try {
            result = trainer.train(new MetaTrainer.Listener() {
                private double validation = Double.NaN;

                @Override
                public void epochDone(int done, double metaLoss) {
                    bar.stepTo(done);
                    bar.setExtraMessage(String.format(Locale.ROOT, "meta-loss %.4g, last validation %.4g", metaLoss,
                            validation));
                }

                @Override
                public void validated(TrainingState.Validation v, boolean best) {
                    validation = v.validationLoss();
                    bar.setExtraMessage(String.format(Locale.ROOT, "meta-loss %.4g, last validation %.4g",
                            v.trainingMetaLoss(), validation));
                }
            });
            bar.stepTo(bar.getMax());
        } finally {
            bars().finish();
        }
        double wall = (System.nanoTime() - start) / 1e9;
        if (!Double.isFinite(result.bestLoss())) {
            throw new IllegalArgumentException("no validation loss was finite (the optimizer diverged), so there is no"
                    + " optimizer to save; try a lower --meta-lr or --clip-norm");
        }
        Map<String, String> description = new LinkedHashMap<>();
        description.put("problem", "quadratic");
        description.put("optimizee", setup.optimizee());
        description.put("horizon", Integer.toString(o.horizon()));
        description.put("unroll", Integer.toString(o.unroll()));
        description.put("instances", Integer.toString(o.instances()));
        description.put("epochs", Integer.toString(result.epochs()));
        description.put("best_epoch", Integer.toString(result.bestEpoch()));
        description.put(o.confirmationFunctions() > 0 ? "confirmation_loss" : "validation_loss",
                Double.toString(result.bestLoss()));
        if (o.confirmationFunctions() > 0) {
            description.put("confirmation_functions", Integer.toString(o.confirmationFunctions()));
        }
        description.put("seed", Long.toString(o.seed()));
        Path file = out.resolve(TrainingRun.OPTIMIZER);
        new NtmBfgsCheckpoint(config, result.bestPhi(), description).save(file);
        LearningCurve.writeCsv(result.history(), out.resolve(TrainingRun.CURVE_CSV));
        XYChart chart = LearningCurve.chart(result.history(), null, "Meta-training NTM-BFGS: " + setup.title() + ", "
                + o.horizon() + " steps", "NTM-BFGS");
        if (chart != null) {
            LossPlot.writePng(chart, out.resolve("learning-curve.png"));
            LossPlot.writeSvg(chart, out.resolve("learning-curve.svg"));
        }
        out().printf(Locale.ROOT, "Meta-trained %d epochs (%.1f s: epochs %.1f s, validation %.1f s)%s; %s %.4g at epoch"
                + " %d.%n", result.epochs(), wall, result.trainingSeconds(), result.validationSeconds(),
                result.epochs() < o.epochs() ? String.format(Locale.ROOT, ", stopped by the --budget before the %d "
                        + "planned", o.epochs()) : "", o.confirmationFunctions() > 0 ? "kept the phi of the best loss "
                        + "on the " + o.confirmationFunctions() + " confirmation functions," : "best validation loss",
                result.bestLoss(), result.bestEpoch());
        if (result.bestEpoch() == 0 && result.epochs() > 0) {
            out().println("Warning: meta-training made the optimizer worse: the untrained phi (epoch 0) validates best"
                    + " and is the one kept; try a lower --meta-lr or --clip-norm.");
        }
        if (result.skipped() > 0) {
            out().printf("Skipped %d meta-updates (a non-finite meta-loss or gradient, or a diverged optimizee).%n",
                    result.skipped());
        }
        out().println("Wrote " + file + " (and " + TrainingRun.CURVE_CSV + ", learning-curve.png/.svg)");
        out().flush();
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
        return options;
    }
}
