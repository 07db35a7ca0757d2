package org.l2l4j.meta;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.l2l4j.ntm.NtmBfgs;
import org.l2l4j.ntm.NtmBfgsConfig;
import org.l2l4j.optimizees.OptimizeeFamily;

/**
 * Meta-trains an {@link NtmBfgs} optimizer by truncated backpropagation through time, with the
 * optimizee's second derivatives dropped, by the {@link MetaTrainer}'s schedule and with its
 * parts: an epoch is one trajectory of K steps on B freshly sampled optimizees (the same seeds as
 * the LSTM's meta-training of the same seed, so both see the same functions), the state and
 * memory starting at zero, cut into unrolls of T steps, each followed by one Adam update of phi
 * ({@link MetaOptimizer}) on the meta-loss (1/B) sum_b sum_{t in unroll} f_b(theta_t); phi is
 * validated before the first epoch and every E epochs on held-out functions, the best kept
 * ({@link SelectionPolicy}, with the confirmation when asked for).
 *
 * <p>Everything runs on the host in float64, one thread: NTM-BFGS is for small problems
 * ({@link NtmBfgsConfig#MAX_DIMENSION}).  The options it does not take (imitation, exact second
 * derivatives, batch-mean input scaling, random parameter scaling, a curriculum) are refused.  A
 * trajectory whose optimizee's gradient stops being finite ends there, the unroll's update skipped
 * and counted.  The same seed and options give bitwise identical phi.  Not thread-safe.
 */
public final class NtmBfgsTrainer {
    private final NtmBfgsConfig config;
    private final OptimizeeFamily training;
    private final OptimizeeFamily validation;
    private final MetaTrainingOptions options;
    private final MetaOptimizer meta;
    private final SelectionPolicy selection;
    private final NtmBfgs model;
    private final double[] phi;
    /** dL/dtheta after each step of an unroll, [T][B d]. */
    private final double[][] dTheta;
    private final List<TrainingState.Validation> history = new ArrayList<>();
    private int epochs;
    private long skipped;
    private double metaLossSum;
    private long metaLossCount;
    private double validationSeconds;
    private double trainingSeconds;

    /**
     * What training produced.
     *
     * @param bestPhi         the kept phi (possibly the initial one: bestEpoch 0)
     * @param bestEpoch       the epoch it was validated after
     * @param bestLoss        its validation (or confirmation) loss
     * @param epochs          epochs run
     * @param skipped         updates skipped (non-finite meta-loss or gradient, or a diverged
     *                        optimizee)
     * @param history         every validation
     * @param trainingSeconds wall time of the epochs
     * @param validationSeconds wall time of the validations and the confirmation
     */
    public record Result(double[] bestPhi, int bestEpoch, double bestLoss, int epochs, long skipped,
                         List<TrainingState.Validation> history, double trainingSeconds, double validationSeconds) {
    }

    /**
     * @param training   the distribution of training optimizees
     * @param validation held-out optimizees of the same dimension
     * @throws IllegalArgumentException if the dimensions differ or exceed
     *                                  {@link NtmBfgsConfig#MAX_DIMENSION}, or an option is one it
     *                                  does not take
     */
    public NtmBfgsTrainer(NtmBfgsConfig config, OptimizeeFamily training, OptimizeeFamily validation,
                          MetaTrainingOptions options) {
        this.config = Objects.requireNonNull(config, "config");
        this.training = Objects.requireNonNull(training, "training");
        this.validation = Objects.requireNonNull(validation, "validation");
        this.options = Objects.requireNonNull(options, "options");
        if (training.dimension() != validation.dimension()) {
            throw new IllegalArgumentException("training and validation optimizees differ in dimension: "
                    + training.dimension() + " vs " + validation.dimension());
        }
        NtmBfgs.requireDimension(training.dimension());
        List<String> refused = new ArrayList<>();
        if (options.imitation().active()) {
            refused.add("imitation");
        }
        if (options.secondDerivatives() != SecondDerivatives.DROPPED) {
            refused.add("exact second derivatives");
        }
        if (options.inputScaling() != InputScaling.PAPER) {
            refused.add("input scaling " + options.inputScaling());
        }
        if (options.parameterScaling() > 0) {
            refused.add("random parameter scaling");
        }
        if (!options.curriculum().equals(Curriculum.NONE)) {
            refused.add("a curriculum");
        }
        if (!refused.isEmpty()) {
            throw new IllegalArgumentException("NTM-BFGS meta-training does not take " + String.join(", ", refused));
        }
        this.model = new NtmBfgs(config, options.instances(), training.dimension(),
                Math.min(options.unroll(), options.horizon()));
        this.phi = NtmBfgs.initialPhi(config, Seeds.derive(options.seed(), Seeds.PHI));
        this.dTheta = new double[Math.min(options.unroll(), options.horizon())][options.instances()
                * training.dimension()];
        this.meta = new MetaOptimizer(phi.length, options.scaledMetaLearningRate(), options.schedule(),
                options.clipNorm());
        long[] validationSeeds = Seeds.list(options.seed(), Seeds.VALIDATION, options.validationFunctions());
        long[] confirmationSeeds = Seeds.list(options.seed(), Seeds.CONFIRMATION, options.confirmationFunctions());
        this.selection = new SelectionPolicy(options.evaluationPeriod(),
                p -> NtmBfgsRollouts.meanFinalLoss(config, p, validation, validationSeeds, options.horizon()),
                options.confirmationFunctions() > 0
                        ? p -> NtmBfgsRollouts.meanFinalLoss(config, p, validation, confirmationSeeds, options.horizon())
                        : null);
    }

    /**
     * Trains for {@code options.epochs()} epochs or until the time budget is spent (checked
     * between epochs), validating before the first epoch, every E epochs and after the last.
     *
     * @param listener hears each epoch's mean meta-loss per step and each validation (its
     *                 {@code unrollDone} is not called); null for none
     */
    public Result train(MetaTrainer.Listener listener) {
        MetaTrainer.Listener l = listener == null ? new MetaTrainer.Listener() { } : listener;
        long start = System.nanoTime();
        long budget = options.timeBudget() == null ? Long.MAX_VALUE : options.timeBudget().toNanos();
        validate(l);
        boolean validatedLast = true;
        while (epochs < options.epochs() && System.nanoTime() - start < budget) {
            long t0 = System.nanoTime();
            double metaLoss = trajectory();
            trainingSeconds += (System.nanoTime() - t0) / 1e9;
            epochs++;
            metaLossSum += metaLoss;
            metaLossCount++;
            l.epochDone(epochs, metaLoss);
            validatedLast = selection.due(epochs);
            if (validatedLast) {
                validate(l);
            }
        }
        if (!validatedLast) {
            validate(l);
        }
        long t0 = System.nanoTime();
        selection.confirm();
        validationSeconds += (System.nanoTime() - t0) / 1e9;
        return new Result(selection.bestPhi() == null ? phi.clone() : selection.bestPhi().clone(),
                Math.max(0, selection.bestEpoch()), selection.bestLoss(), epochs, skipped, List.copyOf(history),
                trainingSeconds, validationSeconds);
    }

    /** One epoch's trajectory; returns its mean meta-loss per step (over instances and the steps run). */
    private double trajectory() {
        int b = options.instances();
        int d = training.dimension();
        long[] seeds = new long[b];
        for (int i = 0; i < b; i++) {
            seeds[i] = Seeds.derive(options.seed(), Seeds.TRAINING, epochs, i);
        }
        NtmBfgsRollouts.Batch batch = new NtmBfgsRollouts.Batch(training, seeds);
        model.write(phi);
        model.reset();
        double[] delta = new double[b * d];
        double[] g = new double[phi.length];
        double epochLoss = 0;
        int stepsRun = 0;
        for (int begin = 0; begin < options.horizon() && !batch.anyDiverged(); begin += options.unroll()) {
            int steps = Math.min(options.unroll(), options.horizon() - begin);
            model.truncate();
            double[][] dTheta = Arrays.copyOf(this.dTheta, steps);
            double unrollLoss = 0;
            for (int s = 0; s < steps && !batch.anyDiverged(); s++) {
                model.step(batch.gradient, delta);
                batch.advance(delta);
                for (int i = 0; i < b * d; i++) {
                    dTheta[s][i] = batch.gradient[i] / b;
                }
                for (double f : batch.loss) {
                    unrollLoss += f / b;
                }
                stepsRun++;
            }
            epochLoss += unrollLoss;
            if (batch.anyDiverged() || !Double.isFinite(unrollLoss)) {
                skipped++;
                break;
            }
            model.backward(dTheta, g);
            if (MetaOptimizer.allFinite(g)) {
                meta.update(phi, g, epochs, options.epochs());
                model.write(phi);
            } else {
                skipped++;
            }
        }
        return epochLoss / Math.max(1, stepsRun);
    }

    private void validate(MetaTrainer.Listener l) {
        long t0 = System.nanoTime();
        double loss = selection.validate(epochs, phi);
        double seconds = (System.nanoTime() - t0) / 1e9;
        validationSeconds += seconds;
        TrainingState.Validation v = new TrainingState.Validation(epochs, loss,
                metaLossCount == 0 ? Double.NaN : metaLossSum / metaLossCount, seconds);
        metaLossSum = 0;
        metaLossCount = 0;
        history.add(v);
        l.validated(v, selection.bestEpoch() == epochs && selection.bestLoss() == loss);
    }
}
