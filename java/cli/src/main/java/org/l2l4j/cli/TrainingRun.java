package org.l2l4j.cli;

import org.l2l4j.optimizees.ProblemSetup;
import static org.l2l4j.report.MarkdownSummary.shortNumber;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import me.tongfei.progressbar.ProgressBar;
import org.knowm.xchart.XYChart;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.BackendKind;
import org.l2l4j.backend.L2lException;
import org.l2l4j.eval.LearningRateTuner;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.PhiLayout;
import org.l2l4j.meta.MetaTrainer;
import org.l2l4j.meta.MetaTrainingOptions;
import org.l2l4j.meta.Seeds;
import org.l2l4j.meta.TrainingCheckpoint;
import org.l2l4j.meta.TrainingState;
import org.l2l4j.optimizees.MlpFamily;
import org.l2l4j.optimizees.OptimizeeFamily;
import org.l2l4j.optimizees.ResidentMlpFamily;
import org.l2l4j.optimizers.HandDesignedRule;
import org.l2l4j.plots.LossPlot;

/**
 * One meta-training run and its files, shared by {@code train} and {@code main}: meta-trains
 * with {@link MetaTrainer} (truncated BPTT, Adam on phi, best phi by validation loss; paper
 * sections 2 and 3), showing a progress bar over epochs, and writes into the output
 * folder:
 *
 * <ul>
 *   <li>{@value #OPTIMIZER}: the best phi ({@link OptimizerCheckpoint}) with the problem, epochs,
 *       best epoch, validation loss, seed and date as metadata;</li>
 *   <li>{@value #TRAINING}: the whole training state ({@link TrainingCheckpoint}), to continue
 *       with {@code --resume};</li>
 *   <li>{@value #CURVE_CSV} and {@code learning-curve.png}/{@code .svg}: the validation loss
 *       against epochs ({@link LearningCurve}).</li>
 * </ul>
 *
 * <p>Both checkpoints are rewritten after every validation, so an interrupted run leaves usable
 * files.  With {@code compareAdam}, Adam's learning rate is first tuned on the validation
 * functions and its mean final loss drawn as a level in the plot.
 */
final class TrainingRun {
    static final String OPTIMIZER = "optimizer.safetensors";
    static final String TRAINING = "training.safetensors";
    static final String CURVE_CSV = "learning-curve.csv";

    /**
     * The metadata keys that a resumed run must share with its checkpoint, and the options that
     * set them.  A checkpoint without a key (written before it was stored) is not checked on it.
     */
    static final List<Map.Entry<String, String>> RESUMED_SETTINGS = List.of(
            Map.entry("problem", "--problem"), Map.entry("optimizee", "the optimizee (--hidden, --layers, --activation)"),
            Map.entry("seed", "--seed"), Map.entry("horizon", "--horizon"), Map.entry("unroll", "--unroll"),
            Map.entry("instances", "--instances"), Map.entry("input_scaling", "--input-scaling"),
            Map.entry("eval_every", "--eval-every"), Map.entry("validation_functions", "--validation-functions"));

    /**
     * What to train.
     *
     * @param setup       the problem's families
     * @param config      the learned optimizer's architecture
     * @param options     the meta-training settings (seed included)
     * @param resume      a training checkpoint to continue from, or null
     * @param compareAdam tune Adam on the validation functions and draw its level
     * @param folder      the output folder
     */
    record Request(ProblemSetup setup, LstmConfig config, MetaTrainingOptions options, Path resume,
                   boolean compareAdam, Path folder) {
    }

    /** The trained optimizer (best phi) and the final state. */
    record Outcome(OptimizerCheckpoint optimizer, TrainingState state) {
    }

    private final Request request;
    private final PrintWriter out;
    private final Map<String, String> metadata = new LinkedHashMap<>();

    private TrainingRun(Request request, PrintWriter out) {
        this.request = request;
        this.out = out;
        MetaTrainingOptions o = request.options();
        metadata.put("problem", request.setup().problem().key());
        metadata.put("optimizee", request.setup().optimizee());
        metadata.put("seed", Long.toString(o.seed()));
        metadata.put("horizon", Integer.toString(o.horizon()));
        metadata.put("unroll", Integer.toString(o.unroll()));
        metadata.put("meta_learning_rate", Double.toString(o.metaLearningRate()));
        metadata.put("instances", Integer.toString(o.instances()));
        metadata.put("input_scaling", o.inputScaling().name());
        metadata.put("clip_norm", Double.toString(o.clipNorm()));
        metadata.put("phi_init", o.phiInit().name());
        metadata.put("eval_every", Integer.toString(o.evaluationPeriod()));
        metadata.put("validation_functions", Integer.toString(o.validationFunctions()));
    }

    /**
     * Trains and writes the files; prints a summary with the time split to {@code out}.
     *
     * @throws IOException              if a file cannot be read or written, or the checkpoint to
     *                                  resume is corrupt
     * @throws IllegalArgumentException if the checkpoint to resume is of another problem,
     *                                  optimizee, optimizer architecture or seed, or has other
     *                                  trajectory or validation settings ({@link #RESUMED_SETTINGS})
     */
    static Outcome run(Backend backend, int threads, Request request, PrintWriter out) throws IOException {
        return new TrainingRun(request, out).run(backend, threads);
    }

    private Outcome run(Backend backend, int threads) throws IOException {
        MetaTrainingOptions o = request.options();
        Files.createDirectories(request.folder());
        TrainingState resumed = request.resume() == null ? null : loadResumable(request.resume());
        Double adamLevel = null;
        if (request.compareAdam()) {
            LearningRateTuner.Result adam = new LearningRateTuner(threads).tune(HandDesignedRule.ADAM,
                    request.setup().validation(), Seeds.list(o.seed(), Seeds.VALIDATION, o.validationFunctions()),
                    o.horizon());
            adamLevel = adam.bestMeanFinalLoss();
            out.printf(Locale.ROOT, "Tuned Adam (lr %s): mean loss %.4g at step %d on the %d validation functions.%n",
                    shortNumber(adam.bestLearningRate()), adamLevel, o.horizon(), o.validationFunctions());
        }
        TrainingState state;
        double[] seconds;
        double wall;
        try (MetaTrainer trainer = new MetaTrainer(backend, request.config(), request.setup().training(),
                request.setup().validation(), o)) {
            if (resumed != null) {
                trainer.restore(resumed);
            }
            int first = resumed == null ? 0 : resumed.epochs();
            try (ProgressBar bar = ProgressBars.builder("meta-training", o.epochs())
                    .startsFrom(first, Duration.ZERO)
                    .setEtaFunction(p -> eta(p.getCurrent() - first, o.epochs() - p.getCurrent(),
                            p.getElapsedAfterStart(), o.timeBudget()))
                    .build()) {
                long start = System.nanoTime();
                state = trainer.train(new MetaTrainer.Listener() {
                    private double validation = Double.NaN;

                    @Override
                    public void epochDone(int epochs, double metaLoss) {
                        bar.stepTo(epochs);
                        show(metaLoss);
                    }

                    @Override
                    public void validated(TrainingState.Validation v, boolean best) {
                        validation = v.validationLoss();
                        show(v.trainingMetaLoss());
                        try {
                            save(trainer.state());
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }

                    private void show(double metaLoss) {
                        bar.setExtraMessage(Double.isNaN(validation)
                                ? String.format(Locale.ROOT, "meta-loss %.4g", metaLoss)
                                : String.format(Locale.ROOT, "meta-loss %.4g, last validation %.4g", metaLoss,
                                        validation));
                    }
                });
                wall = (System.nanoTime() - start) / 1e9;
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
            seconds = new double[] {trainer.lstmSeconds(), trainer.optimizeeSeconds(), trainer.validationSeconds()};
        }
        OptimizerCheckpoint optimizer = save(state).orElseThrow(() -> new IllegalArgumentException(
                "no validation loss was finite (the learned optimizer diverged), so there is no optimizer to save;"
                        + " try a lower --meta-lr or --clip-norm"));
        XYChart chart = LearningCurve.chart(state.history(), adamLevel,
                "Meta-training: " + request.setup().title() + ", " + o.horizon() + " steps");
        if (chart != null) {
            LossPlot.writePng(chart, request.folder().resolve("learning-curve.png"));
            LossPlot.writeSvg(chart, request.folder().resolve("learning-curve.svg"));
        }
        out.printf(Locale.ROOT, "Meta-trained %d epochs (%d in this run, %.1f s); best validation loss %.4g at epoch %d.%n",
                state.epochs(), state.epochs() - (resumed == null ? 0 : resumed.epochs()), wall,
                state.bestValidation(), state.bestEpoch());
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

    /** The training state of {@code file}, checked against this run. */
    private TrainingState loadResumable(Path file) throws IOException {
        TrainingCheckpoint.Saved saved = TrainingCheckpoint.load(file);
        if (!saved.config().equals(request.config())) {
            throw new IllegalArgumentException(file + " holds an optimizer " + saved.config() + ", this run trains "
                    + request.config() + "; resume with the same --lstm-widths, --p, --output-scale and --log-epsilon");
        }
        for (Map.Entry<String, String> setting : RESUMED_SETTINGS) {
            String key = setting.getKey();
            String was = saved.metadata().get(key);
            if (was != null && !was.equals(metadata.get(key))) {
                throw new IllegalArgumentException(setting.getValue() + ": " + file + " was trained with " + was
                        + ", this run has " + metadata.get(key) + "; resume with the same value (only --epochs, "
                        + "--budget, --meta-lr and --clip-norm may change)");
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
     * finite, the best optimizer so far.
     */
    private Optional<OptimizerCheckpoint> save(TrainingState state) throws IOException {
        Path folder = request.folder();
        TrainingCheckpoint.save(folder.resolve(TRAINING), request.config(), state, metadata);
        LearningCurve.writeCsv(state.history(), folder.resolve(CURVE_CSV));
        if (state.bestPhi() == null) {
            return Optional.empty();
        }
        Map<String, String> description = new LinkedHashMap<>(metadata);
        description.put("epochs", Integer.toString(state.epochs()));
        description.put("best_epoch", Integer.toString(state.bestEpoch()));
        description.put("validation_loss", Double.toString(state.bestValidation()));
        description.put("date", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        OptimizerCheckpoint optimizer = new OptimizerCheckpoint(request.config(), PhiLayout.toFloat32(state.bestPhi()),
                description);
        optimizer.save(folder.resolve(OPTIMIZER));
        return Optional.of(optimizer);
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
