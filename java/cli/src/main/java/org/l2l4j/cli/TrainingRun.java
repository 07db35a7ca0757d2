package org.l2l4j.cli;

import static org.l2l4j.report.MarkdownSummary.shortNumber;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import org.knowm.xchart.XYChart;
import org.l2l4j.backend.Backend;
import org.l2l4j.eval.Comparison;
import org.l2l4j.eval.LearningRateTuner;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.lstm.PhiLayout;
import org.l2l4j.meta.Imitation;
import org.l2l4j.meta.SecondDerivatives;
import org.l2l4j.meta.MetaBatchShards;
import org.l2l4j.meta.MetaTrainer;
import org.l2l4j.meta.MetaTrainingOptions;
import org.l2l4j.meta.Recipe;
import org.l2l4j.meta.Seeds;
import org.l2l4j.meta.TrainingCheckpoint;
import org.l2l4j.meta.TrainingState;
import org.l2l4j.optimizees.ProblemSetup;
import org.l2l4j.optimizers.HandDesignedRule;
import org.l2l4j.plots.LossPlot;

/**
 * One meta-training run and its files, shared by {@code train} and {@code main}: meta-trains
 * with {@link MetaTrainer} (truncated BPTT, Adam on phi, best phi by validation loss; paper
 * sections 2 and 3), showing a progress bar, and writes into the output folder:
 *
 * <ul>
 *   <li>{@value #OPTIMIZER}: the best phi ({@link OptimizerCheckpoint}) with the problem, the
 *       optimizee ({@link ProblemSetup#checkpointMetadata()}), epochs, best epoch, validation loss,
 *       seed and date as metadata;</li>
 *   <li>{@value #TRAINING}: the whole training state ({@link TrainingCheckpoint}), to continue
 *       with {@code --resume};</li>
 *   <li>{@value #CURVE_CSV} and {@code learning-curve.png}/{@code .svg}: the validation loss
 *       against epochs ({@link LearningCurve}).</li>
 * </ul>
 *
 * <p>The checkpoints and the CSV are rewritten atomically after every validation, so an
 * interrupted run leaves usable files; {@link #savedReport()} says which.  The progress bar
 * counts epochs, or, when a time budget is set, the budget's seconds (the epoch in its message),
 * so that it shows how far the run is whichever limit ends it.  With {@code compareAdam}, Adam's
 * learning rate is first tuned on the validation functions and its mean final loss drawn as a
 * level in the plot.
 */
final class TrainingRun {
    private static final System.Logger LOG = System.getLogger(TrainingRun.class.getName());
    static final String OPTIMIZER = "optimizer.safetensors";
    static final String TRAINING = "training.safetensors";
    static final String CURVE_CSV = "learning-curve.csv";

    /**
     * Glob patterns of every file a run writes into its folder, with the temporary files that
     * a killed process may leave.
     */
    static final List<String> FILES = List.of(OPTIMIZER, TRAINING, "learning-curve.{csv,png,svg}",
            ".{" + OPTIMIZER + "," + TRAINING + "," + CURVE_CSV + "}.*.tmp");

    /**
     * The metadata keys that a resumed run must share with its checkpoint, and the options that
     * set them.  A checkpoint without a key (written before it was stored) is not checked on it.
     */
    static final List<Map.Entry<String, String>> RESUMED_SETTINGS = List.of(
            Map.entry("problem", "--problem"), Map.entry("optimizee", "the optimizee (--hidden, --layers, --activation)"),
            Map.entry("seed", "--seed"), Map.entry("horizon", "--horizon"), Map.entry("unroll", "--unroll"),
            Map.entry("instances", "--instances"), Map.entry("shards", "--shards"),
            Map.entry("input_scaling", "--input-scaling"),
            Map.entry("eval_every", "--eval-every"), Map.entry("validation_functions", "--validation-functions"),
            Map.entry("curriculum", "--curriculum"), Map.entry("imitation", "the imitation (--imitate, --imitation-weight,"
                    + " --imitation-epochs)"), Map.entry("batch_scaling", "--meta-lr-scaling"),
            Map.entry("parameter_scaling", "--parameter-scaling"),
            Map.entry("confirmation_functions", "--confirmation-functions"),
            Map.entry("second_derivatives", "--second-derivatives"));

    /**
     * What to train.
     *
     * @param setup       the problem's families
     * @param groups      the learned optimizer's parameter groups and their architectures
     * @param options     the meta-training settings (seed included), without the imitation
     * @param shards      S, the shards the meta-batch is computed in ({@link MetaBatchShards#all})
     * @param teacher     the hand-designed rule to imitate, whose learning rate the run tunes on the
     *                    validation functions first, if any
     * @param recipe      the recipe the settings come from, for the reports
     * @param resume      a training checkpoint to continue from, or null
     * @param compareAdam tune Adam on the validation functions and draw its level
     * @param folder      the output folder, which exists
     */
    record Request(ProblemSetup setup, ParameterGroups groups, MetaTrainingOptions options, int shards,
                   Optional<Recipe.Teacher> teacher, Recipe recipe, Path resume, boolean compareAdam, Path folder) {
    }

    /** The trained optimizer (best phi) and the final state. */
    record Outcome(OptimizerCheckpoint optimizer, TrainingState state) {
    }

    /** A training checkpoint on disk and the epochs it holds. */
    record Checkpoint(Path file, int epochs) {
    }

    /** The best phi as last written to {@value #OPTIMIZER}. */
    private record Best(int epoch, double validationLoss) {
    }

    private final Request request;
    /** The settings, with the imitation once the teacher is tuned. */
    private MetaTrainingOptions options;
    private final PrintWriter out;
    private final ProgressBars bars;
    private final Map<String, String> metadata = new LinkedHashMap<>();
    /** Epochs done so far, this run's and those resumed. */
    private volatile int epochs;
    /** The training checkpoint to continue from: the last one written, else the one resumed. */
    private volatile Checkpoint checkpoint;
    /** Whether this run wrote {@link #checkpoint} (else it is the resumed file, or null). */
    private volatile boolean wroteCheckpoint;
    private volatile Best best;

    /**
     * A run of {@code request}, printing its summary to {@code out} and its progress on
     * {@code bars}.
     */
    TrainingRun(Request request, PrintWriter out, ProgressBars bars) {
        this.request = request;
        this.out = out;
        this.bars = bars;
        this.options = request.options();
        MetaTrainingOptions o = request.options();
        metadata.putAll(request.setup().checkpointMetadata());
        metadata.put("seed", Long.toString(o.seed()));
        metadata.put("horizon", Integer.toString(o.horizon()));
        metadata.put("unroll", Integer.toString(o.unroll()));
        metadata.put("meta_learning_rate", Double.toString(o.metaLearningRate()));
        metadata.put("instances", Integer.toString(o.instances()));
        metadata.put("shards", Integer.toString(request.shards()));
        metadata.put("input_scaling", o.inputScaling().name());
        metadata.put("clip_norm", Double.toString(o.clipNorm()));
        metadata.put("phi_init", o.phiInit().name());
        metadata.put("eval_every", Integer.toString(o.evaluationPeriod()));
        metadata.put("validation_functions", Integer.toString(o.validationFunctions()));
        metadata.put("recipe", request.recipe().name().toLowerCase(Locale.ROOT));
        metadata.put("schedule", o.schedule().toString());
        metadata.put("batch_scaling", o.batchScaling().name());
        metadata.put("curriculum", o.curriculum().toString());
        metadata.put("imitation", o.imitation().toString());
        metadata.put("parameter_scaling", Double.toString(o.parameterScaling()));
        metadata.put("confirmation_functions", Integer.toString(o.confirmationFunctions()));
        metadata.put("second_derivatives", o.secondDerivatives().name().toLowerCase(Locale.ROOT));
    }

    /**
     * Trains and writes the files; prints a summary with the time split.
     *
     * @throws IOException              if a file cannot be read or written, or the checkpoint to
     *                                  resume is corrupt
     * @throws IllegalArgumentException if the checkpoint to resume is of another problem,
     *                                  optimizee, optimizer architecture or seed, or has other
     *                                  trajectory or validation settings ({@link #RESUMED_SETTINGS})
     */
    Outcome run(Backend backend, int threads) throws IOException {
        if (request.teacher().isPresent()) {
            Recipe.Teacher t = request.teacher().get();
            LearningRateTuner.Result tuned = tune(t.rule(), threads);
            options = options.withImitation(new Imitation(t.rule(), tuned.bestLearningRate(), t.weight(), t.epochs()));
            metadata.put("imitation", options.imitation().toString());
            out.println("Imitating " + describe(options.imitation()) + ".");
            out.flush();
        }
        MetaTrainingOptions o = options;
        if (o.secondDerivatives() == SecondDerivatives.EXACT) {
            out.println("Meta-gradient: exact, the optimizee's second derivatives kept (a backward step and a "
                    + "Hessian-vector product per step).");
            out.flush();
        }
        TrainingState resumed = request.resume() == null ? null : loadResumable(request.resume());
        if (resumed != null) {
            epochs = resumed.epochs();
            checkpoint = new Checkpoint(request.resume(), resumed.epochs());
        }
        Double adamLevel = null;
        if (request.compareAdam()) {
            LearningRateTuner.Result adam = tune(HandDesignedRule.ADAM, threads);
            adamLevel = adam.bestMeanFinalLoss();
            out.printf(Locale.ROOT, "Tuned Adam (lr %s): mean loss %.4g at step %d on the %d validation functions.%n",
                    shortNumber(adam.bestLearningRate()), adamLevel, o.horizon(), o.validationFunctions());
            out.flush();
        }
        TrainingState state;
        double[] seconds;
        double wall;
        try (MetaTrainer trainer = new MetaTrainer(backend, request.groups(), request.setup().training(),
                request.setup().validation(), o, MetaBatchShards.all(request.shards()))) {
            if (resumed != null) {
                trainer.restore(resumed);
            }
            int first = epochs;
            long start = System.nanoTime();
            ProgressBar bar = bars.open(progressBar(first, start));
            try {
                state = trainer.train(new MetaTrainer.Listener() {
                    private double validation = Double.NaN;
                    private double largestNorm = Double.NaN;

                    @Override
                    public void unrollDone(MetaTrainer.Unroll unroll) {
                        double norm = unroll.metaGradientNorm();
                        if (!Double.isNaN(norm)) {
                            largestNorm = Double.isNaN(largestNorm) ? norm : Math.max(largestNorm, norm);
                        }
                    }

                    @Override
                    public void epochDone(int done, double metaLoss) {
                        epochs = done;
                        show(bar, metaLoss, validation, start);
                        double norm = largestNorm;
                        LOG.log(System.Logger.Level.DEBUG, () -> String.format(Locale.ROOT,
                                "epoch %d: meta-loss %.4g, largest meta-gradient norm %.4g (before clipping)", done,
                                metaLoss, norm));
                        largestNorm = Double.NaN;
                    }

                    @Override
                    public void validated(TrainingState.Validation v, boolean best) {
                        validation = v.validationLoss();
                        show(bar, v.trainingMetaLoss(), validation, start);
                        try {
                            save(trainer.state());
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }
                });
                wall = (System.nanoTime() - start) / 1e9;
                bar.stepTo(bar.getMax());
            } catch (UncheckedIOException e) {
                throw e.getCause();
            } finally {
                bars.finish();
            }
            seconds = new double[] {trainer.lstmSeconds(), trainer.optimizeeSeconds(), trainer.validationSeconds()};
        }
        OptimizerCheckpoint optimizer = save(state).orElseThrow(() -> new IllegalArgumentException(
                "no validation loss was finite (the learned optimizer diverged), so there is no optimizer to save;"
                        + " try a lower --meta-lr or --clip-norm"));
        XYChart chart = LearningCurve.chart(state.history(), adamLevel,
                "Meta-training: " + request.setup().title() + ", " + o.horizon() + " steps", Comparison.LEARNED);
        if (chart != null) {
            LossPlot.writePng(chart, request.folder().resolve("learning-curve.png"));
            LossPlot.writeSvg(chart, request.folder().resolve("learning-curve.svg"));
        }
        out.printf(Locale.ROOT, "Meta-trained %d epoch%s (%d in this run, %.1f s)%s; %s validation loss %.4g at epoch %d.%n",
                state.epochs(), state.epochs() == 1 ? "" : "s", state.epochs() - (resumed == null ? 0 : resumed.epochs()),
                wall,
                state.epochs() < o.epochs() ? String.format(Locale.ROOT, ", stopped by the --budget before the %d planned",
                        o.epochs()) : "", o.confirmationFunctions() > 0 ? "kept the phi of the best confirmed"
                        : "best", state.bestValidation(), state.bestEpoch());
        if (state.bestEpoch() == 0 && state.epochs() > 0) {
            out.println("Warning: meta-training made the optimizer worse: the untrained phi (epoch 0) validates best"
                    + " and is the one kept; try a lower --meta-lr, a --meta-lr-schedule or --clip-norm.");
        }
        if (state.skippedUpdates() > 0) {
            out.printf("Skipped %d meta-updates with a non-finite meta-loss or gradient.%n", state.skippedUpdates());
        }
        out.printf(Locale.ROOT, "Time: LSTM kernels %.1f s, optimizee %.1f s, validation %.1f s, other %.1f s (of meta-training).%n",
                seconds[0], seconds[1], seconds[2], Math.max(0, wall - seconds[0] - seconds[1] - seconds[2]));
        out.println("Wrote " + request.folder().resolve(OPTIMIZER) + " (and " + TRAINING + ", " + CURVE_CSV
                + ", learning-curve.png/.svg)");
        out.flush();
        return new Outcome(optimizer, state);
    }

    /**
     * How the optimizer of {@code state} was trained, as a Markdown section: the recipe and its
     * settings, the epochs trained (and whether the budget stopped them early), the phi kept.
     */
    String summary(TrainingState state) {
        MetaTrainingOptions o = options;
        String nl = System.lineSeparator();
        StringBuilder md = new StringBuilder("## Meta-training").append(nl).append(nl);
        md.append(String.format(Locale.ROOT, "Recipe %s: Adam on phi at %s (%s schedule), trajectories of %d steps in "
                + "unrolls of %d, %d optimizee%s per meta-update", request.recipe().name().toLowerCase(Locale.ROOT),
                shortNumber(o.scaledMetaLearningRate()), o.schedule(), o.horizon(), o.unroll(), o.instances(),
                o.instances() == 1 ? "" : "s"));
        if (!o.curriculum().stages().isEmpty()) {
            md.append(", curriculum ").append(o.curriculum());
        }
        if (o.imitation().active()) {
            md.append(", imitation of ").append(describe(o.imitation()));
        }
        if (o.parameterScaling() > 0) {
            md.append(", parameter scaling kappa ").append(shortNumber(o.parameterScaling()));
        }
        if (o.secondDerivatives() == SecondDerivatives.EXACT) {
            md.append(", exact second derivatives (Hessian-vector products in the meta-gradient)");
        }
        md.append(String.format(Locale.ROOT, "; validation every %d epochs on %d functions", o.evaluationPeriod(),
                o.validationFunctions()));
        if (o.confirmationFunctions() > 0) {
            md.append(String.format(Locale.ROOT, ", the best %d confirmed on %d more", MetaTrainingOptions.CONFIRMED_CANDIDATES,
                    o.confirmationFunctions()));
        }
        md.append('.').append(nl).append(nl);
        md.append(String.format(Locale.ROOT, "Trained %d epochs%s; kept the phi of epoch %d (loss %.4g at step %d on the "
                + "%s functions).%n", state.epochs(), state.epochs() < o.epochs()
                        ? String.format(Locale.ROOT, " of the %d planned: the --budget stopped training early", o.epochs())
                        : "", state.bestEpoch(), state.bestValidation(), o.horizon(),
                o.confirmationFunctions() > 0 ? o.confirmationFunctions() + " confirmation"
                        : o.validationFunctions() + " validation"));
        return md.toString();
    }

    /** "tuned NAG (lr 1) with weight 1 decaying to 0 over 500 epochs": the imitation, for the reports. */
    private static String describe(Imitation i) {
        return String.format(Locale.ROOT, "tuned %s (lr %s) with weight %s decaying to 0 over %d epochs",
                i.rule().displayName(), shortNumber(i.learningRate()), shortNumber(i.weight()), i.epochs());
    }

    /** {@code rule}'s learning rate tuned on the run's validation functions over its horizon. */
    private LearningRateTuner.Result tune(HandDesignedRule rule, int threads) {
        MetaTrainingOptions o = request.options();
        return new LearningRateTuner(threads).tune(rule, request.setup().validation(),
                Seeds.list(o.seed(), Seeds.VALIDATION, o.validationFunctions()), o.horizon());
    }

    /**
     * The bar: over the epochs from {@code first} to the limit, or, with a time budget, over its
     * seconds from {@code start}; the time left is whichever limit comes first at the rate so far.
     */
    private ProgressBarBuilder progressBar(int first, long start) {
        MetaTrainingOptions o = options;
        Duration budget = o.timeBudget();
        if (budget == null) {
            return bars.builder("meta-training", o.epochs()).startsFrom(first, Duration.ZERO)
                    .setEtaFunction(p -> eta(epochs - first, o.epochs() - epochs, p.getElapsedAfterStart(), null));
        }
        return bars.builder("meta-training", Math.max(1, budget.toSeconds())).setUnit(" s", 1)
                .setEtaFunction(p -> eta(epochs - first, o.epochs() - epochs, Duration.ofNanos(System.nanoTime() - start),
                        budget));
    }

    /** Moves the bar to the epochs done, or to the seconds spent of the budget, with the losses. */
    private void show(ProgressBar bar, double metaLoss, double validation, long start) {
        MetaTrainingOptions o = options;
        String losses = Double.isNaN(validation) ? String.format(Locale.ROOT, "meta-loss %.4g", metaLoss)
                : String.format(Locale.ROOT, "meta-loss %.4g, last validation %.4g", metaLoss, validation);
        if (o.timeBudget() == null) {
            bar.stepTo(epochs);
            bar.setExtraMessage(losses);
        } else {
            bar.stepTo(Math.min(bar.getMax(), (System.nanoTime() - start) / 1_000_000_000L));
            bar.setExtraMessage(String.format(Locale.ROOT, "epoch %d of at most %d, %s", epochs, o.epochs(), losses));
        }
    }

    /** The training state of {@code file}, checked against this run. */
    private TrainingState loadResumable(Path file) throws IOException {
        TrainingCheckpoint.Saved saved = TrainingCheckpoint.load(file);
        if (!saved.groups().equals(request.groups())) {
            throw new IllegalArgumentException(file + " holds an optimizer " + saved.groups() + ", this run trains "
                    + request.groups() + "; resume with the same --groups, --lstm-widths, --p, --output-scale,"
                    + " --log-epsilon, --precision and --gac-units");
        }
        for (Map.Entry<String, String> setting : RESUMED_SETTINGS) {
            String key = setting.getKey();
            String was = saved.metadata().get(key);
            if (was != null && !was.equals(metadata.get(key))) {
                throw new IllegalArgumentException(setting.getValue() + ": " + file + " was trained with " + was
                        + ", this run has " + metadata.get(key) + "; resume with the same value (only --epochs, "
                        + "--budget, --meta-lr, --meta-lr-schedule and --clip-norm may change)");
            }
        }
        if (saved.state().epochs() >= request.options().epochs()) {
            throw new IllegalArgumentException(file + " has already trained " + saved.state().epochs()
                    + " epochs; to continue, --epochs must be larger than that (it is " + request.options().epochs()
                    + ")");
        }
        return saved.state();
    }

    /**
     * Writes the training checkpoint, the learning-curve CSV and, once a validation loss was
     * finite, the best optimizer so far; records what was written for {@link #savedReport()}.
     * Synchronized with the report, so that a report asked for while files are being written
     * (Ctrl-C) waits for this save to end, written or refused, and names what it left.
     */
    private synchronized Optional<OptimizerCheckpoint> save(TrainingState state) throws IOException {
        Path folder = request.folder();
        TrainingCheckpoint.save(folder.resolve(TRAINING), request.groups(), state, metadata);
        checkpoint = new Checkpoint(folder.resolve(TRAINING), state.epochs());
        wroteCheckpoint = true;
        LearningCurve.writeCsv(state.history(), folder.resolve(CURVE_CSV));
        if (state.bestPhi() == null) {
            return Optional.empty();
        }
        Map<String, String> description = new LinkedHashMap<>(metadata);
        description.put("epochs", Integer.toString(state.epochs()));
        description.put("best_epoch", Integer.toString(state.bestEpoch()));
        description.put("validation_loss", Double.toString(state.bestValidation()));
        description.put("date", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        OptimizerCheckpoint optimizer = new OptimizerCheckpoint(request.groups(), PhiLayout.toFloat32(state.bestPhi()),
                description);
        optimizer.save(folder.resolve(OPTIMIZER));
        best = new Best(state.bestEpoch(), state.bestValidation());
        return Optional.of(optimizer);
    }

    /** The training checkpoint to continue from, if this run wrote one or resumed one. */
    Optional<Checkpoint> checkpoint() {
        return Optional.ofNullable(checkpoint);
    }

    /**
     * What an interrupted run leaves, in sentences: the epoch it reached, the files saved and
     * the epochs lost since the last checkpoint.
     */
    synchronized String savedReport() {
        int done = epochs;
        Checkpoint c = checkpoint;
        Best b = best;
        StringBuilder text = new StringBuilder(String.format(Locale.ROOT, "meta-training stopped after epoch %d.", done));
        if (c == null) {
            return text.append(String.format(Locale.ROOT, " Nothing was saved: a checkpoint is written at each "
                    + "validation (every %d epochs), and none was reached.", request.options().evaluationPeriod()))
                    .toString();
        }
        if (!wroteCheckpoint) {
            text.append(" Nothing new was saved; ").append(c.file()).append(" still holds epoch ").append(c.epochs())
                    .append('.');
        } else {
            text.append(" Saved in ").append(request.folder()).append(": ").append(TRAINING).append(" (epoch ")
                    .append(c.epochs()).append("), ").append(CURVE_CSV);
            if (b != null) {
                text.append(String.format(Locale.ROOT, ", %s (the best phi so far: validation loss %.4g at epoch %d)",
                        OPTIMIZER, b.validationLoss(), b.epoch()));
            }
            text.append('.');
        }
        if (done > c.epochs()) {
            text.append(String.format(Locale.ROOT, " The %d epochs since epoch %d are lost.", done - c.epochs(),
                    c.epochs()));
        }
        return text.toString();
    }

    /**
     * Time left: the remaining epochs at the rate so far, or the rest of the time budget if that
     * ends sooner.
     */
    private static Optional<Duration> eta(long done, long remaining, Duration elapsed, Duration budget) {
        if (done <= 0) {
            return budget == null ? Optional.empty() : Optional.of(budget.minus(elapsed));
        }
        Duration byEpochs = elapsed.multipliedBy(remaining).dividedBy(done);
        if (budget != null && budget.minus(elapsed).compareTo(byEpochs) < 0) {
            byEpochs = budget.minus(elapsed);
        }
        return Optional.of(byEpochs.isNegative() ? Duration.ZERO : byEpochs);
    }
}
