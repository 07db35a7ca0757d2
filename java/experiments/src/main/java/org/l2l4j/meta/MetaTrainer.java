package org.l2l4j.meta;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.lstm.CoordinatewiseLstm;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.PhiLayout;
import org.l2l4j.lstm.UnrollRecord;
import org.l2l4j.meta.MemoryEstimate.Driver;
import org.l2l4j.meta.MemoryEstimate.Memory;
import org.l2l4j.meta.MemoryEstimate.Part;
import org.l2l4j.optimizees.OptimizeeFamily;

/**
 * Meta-trains phi by truncated backpropagation through time with the optimizee's second
 * derivatives dropped (paper section 2, equations 1-3):
 *
 * <ul>
 *   <li>an epoch is one trajectory of K steps on B freshly sampled optimizees, every coordinate's
 *       state starting at zero;</li>
 *   <li>the trajectory is cut into unrolls of T steps; each unroll runs T fused steps forward,
 *       recording them, then forms dL/d delta_s = (1/B) sum_{t>s} grad f_b(theta_t) and runs the
 *       fused backward pass for dL/dphi of the meta-loss (1/B) sum_b sum_{t=1..T} f_b(theta_t);</li>
 *   <li>one Adam step on phi follows each unroll, unless the meta-loss or its gradient is not
 *       finite (the update is then skipped and counted: phi is never corrupted); theta and the
 *       state carry into the next unroll, detached;</li>
 *   <li>every E epochs phi is validated on held-out functions (mean loss at step K) and the best
 *       phi so far is kept (never chosen by the training meta-loss).</li>
 * </ul>
 *
 * <p>The training and validation families are placed on the backend once, at construction
 * ({@link PlacedFamily}): a family with a resident form there is evaluated in place (MLPs on a CPU
 * or CUDA backend, quadratics on a CPU backend).  On CUDA, theta, the gradients, every
 * coordinate's state and the backward record then stay on the device for the whole epoch, and
 * each unroll reads back only its losses (T B values) and dL/dphi, and writes phi.  Other
 * families are evaluated on the host, theta and the gradients crossing at every step.
 *
 * <p>An epoch is all or nothing: if an optimizee throws, the epoch is not counted and phi,
 * Adam's state and the skip counter are as before it (see {@link #train}).
 *
 * <p>Runs with the same seed and options give bitwise identical phi on the CPU backend.  Not
 * thread-safe.
 */
public final class MetaTrainer implements AutoCloseable {
    private final Backend backend;
    private final LstmConfig config;
    private final OptimizeeFamily training;
    private final OptimizeeFamily validation;
    /** What the constructor allocated, closed in reverse order by {@link #close()}. */
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();
    private final MetaTrainingOptions options;
    private final CoordinatewiseLstm lstm;
    private final MetaAdam adam;
    private final NativeBuffer phiBuffer;
    /** dL/d delta for a full unroll of T steps. */
    private final NativeBuffer dloss;
    /** dL/d delta for the trajectory's last, shorter unroll when T does not divide K; else null. */
    private final NativeBuffer dlossLast;
    private final NativeBuffer dphi;
    private final OptimizeeBatch batch;
    private final long[] validationSeeds;
    private double[] phi;
    private int epochs;
    private double[] bestPhi;
    private double bestValidation = Double.POSITIVE_INFINITY;
    private int bestEpoch = -1;
    private long skipped;
    private final List<TrainingState.Validation> history = new ArrayList<>();
    private double metaLossSum;
    private long metaLossCount;
    private double validationSeconds;
    private long lstmNanos;
    private long optimizeeNanos;

    /** Receives progress; every method has an empty default. */
    public interface Listener {
        /** After each epoch: the epoch count and the mean meta-loss per step of that epoch. */
        default void epochDone(int epochs, double metaLoss) {
        }

        /** After each validation. */
        default void validated(TrainingState.Validation v, boolean best) {
        }
    }

    /**
     * @param backend    where the LSTM runs
     * @param config     the optimizer's architecture
     * @param training   the distribution of training optimizees
     * @param validation the distribution of held-out optimizees (same dimension)
     * @param options    the settings
     */
    public MetaTrainer(Backend backend, LstmConfig config, OptimizeeFamily training, OptimizeeFamily validation,
                       MetaTrainingOptions options) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.config = Objects.requireNonNull(config, "config");
        Objects.requireNonNull(training, "training");
        Objects.requireNonNull(validation, "validation");
        this.options = Objects.requireNonNull(options, "options");
        if (training.dimension() != validation.dimension()) {
            throw new IllegalArgumentException("training and validation optimizees differ in dimension: "
                    + training.dimension() + " vs " + validation.dimension());
        }
        int steps = Math.min(options.unroll(), options.horizon());
        long coordinates = (long) training.dimension() * options.instances();
        int last = options.horizon() % steps;
        try {
            this.lstm = own(new CoordinatewiseLstm(config));
            this.phiBuffer = own(backend.allocateFloats(config.phiLayout().size()));
            this.dphi = own(backend.allocateDoubles(config.phiLayout().size()));
            this.dloss = own(backend.allocateFloats(steps * coordinates));
            this.dlossLast = last == 0 ? null : own(backend.allocateFloats(last * coordinates));
            this.training = own(PlacedFamily.on(backend, training)).family();
            this.validation = own(PlacedFamily.on(backend, validation)).family();
            this.batch = own(new OptimizeeBatch(backend, lstm, phiBuffer, this.training, options.instances(), steps,
                    steps));
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
        this.phi = options.phiInit().initialize(config, Seeds.derive(options.seed(), Seeds.PHI));
        this.adam = new MetaAdam(phi.length, options.metaLearningRate(), options.clipNorm());
        this.validationSeeds = Seeds.list(options.seed(), Seeds.VALIDATION, options.validationFunctions());
        uploadPhi(phi);
    }

    /**
     * The memory a trainer of these arguments (those of the constructor) allocates and uses while
     * it trains, estimated without allocating anything: with n = B d coordinates (B instances of
     * dimension d) and T = min(unroll, horizon) steps per unroll, the backward record
     * ({@link UnrollRecord}: 4 (1 + S) bytes per coordinate per step, S the LSTM's state rows, so
     * 4 (1 + S) T n bytes), the meta-loss gradients (4 T n), the parameters, gradients and LSTM
     * state (4 (2 + S) n), the evaluation buffers of the B optimizees, the data sets that the
     * families copy to the backend to be evaluated in place ({@link OptimizeeFamily#residentBytes}:
     * 157 MB for MNIST's training split), and a validation's rollouts
     * ({@link LearnedRollouts#memory}).  The families are assumed evaluated in place, as they are
     * on a CPU backend.
     *
     * @throws NullPointerException if an argument is null
     */
    public static MemoryEstimate memoryEstimate(LstmConfig config, MetaTrainingOptions options,
                                                OptimizeeFamily training, OptimizeeFamily validation) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(options, "options");
        int steps = Math.min(options.unroll(), options.horizon());
        long b = options.instances();
        long n = MemoryEstimate.size(1, training.dimension(), b);
        int last = options.horizon() % steps;
        List<Part> parts = new ArrayList<>(List.of(
                Part.of("the backward record", Memory.NATIVE,
                        MemoryEstimate.size(UnrollRecord.bytesPerCoordinateStep(config), steps, n),
                        Driver.INSTANCES, Driver.UNROLL, Driver.OPTIMIZEE, Driver.OPTIMIZER),
                Part.of("the meta-loss gradients of an unroll", Memory.NATIVE,
                        MemoryEstimate.size(4, steps + (long) last, n), Driver.INSTANCES, Driver.UNROLL,
                        Driver.OPTIMIZEE),
                Part.of("the optimizees' parameters, gradients and LSTM state", Memory.NATIVE,
                        MemoryEstimate.size(4L * (2 + config.stateRows()), n), Driver.INSTANCES, Driver.OPTIMIZEE,
                        Driver.OPTIMIZER),
                Part.of("the optimizees' evaluation buffers", Memory.NATIVE,
                        MemoryEstimate.sum(training.residentBatchBytes(options.instances()),
                                MemoryEstimate.size(8, steps, b)), Driver.INSTANCES, Driver.OPTIMIZEE),
                Part.of("the training data on the backend", Memory.NATIVE, training.residentBytes(), Driver.DATA),
                Part.of("the validation data on the backend", Memory.NATIVE, validation.residentBytes(), Driver.DATA),
                Part.of("the optimizer's parameters and meta-gradient", Memory.NATIVE,
                        MemoryEstimate.size(12, config.phiLayout().size()), Driver.OPTIMIZER)));
        parts.addAll(LearnedRollouts.memory(config, validation, options.validationFunctions(), options.horizon(),
                Driver.VALIDATION_FUNCTIONS));
        return new MemoryEstimate(parts);
    }

    private <T extends AutoCloseable> T own(T resource) {
        owned.push(resource);
        return resource;
    }

    /** Continues from a saved state (same options and architecture). */
    public void restore(TrainingState s) {
        Objects.requireNonNull(s, "state");
        if (s.phi().length != phi.length) {
            throw new IllegalArgumentException("the saved phi has " + s.phi().length + " values, this optimizer "
                    + phi.length);
        }
        phi = s.phi().clone();
        adam.restore(s.adamFirst(), s.adamSecond(), s.adamStep());
        epochs = s.epochs();
        bestPhi = s.bestPhi() == null ? null : s.bestPhi().clone();
        bestValidation = s.bestValidation();
        bestEpoch = s.bestEpoch();
        skipped = s.skippedUpdates();
        history.clear();
        history.addAll(s.history());
        uploadPhi(phi);
    }

    /** A snapshot of the whole training state. */
    public TrainingState state() {
        return new TrainingState(epochs, phi.clone(), adam.firstMoment(), adam.secondMoment(), adam.step(),
                bestPhi == null ? null : bestPhi.clone(), bestValidation, bestEpoch, skipped, history);
    }

    /**
     * Trains until {@code options.epochs()} epochs are done in all or the time budget is spent
     * (checked at epoch boundaries), validating every E epochs and once at the end.
     *
     * @return the final state; its bestPhi is the phi to use
     * @throws IllegalStateException if a training optimizee throws: the message names the epoch
     *                               and the trajectory step, the cause is the optimizee's
     *                               exception, and the epoch is not counted (phi, Adam's state
     *                               and the skip counter are as before it), so that the state can
     *                               be saved or training called again
     */
    public TrainingState train(Listener listener) {
        Listener l = listener == null ? new Listener() { } : listener;
        long start = System.nanoTime();
        long budget = options.timeBudget() == null ? Long.MAX_VALUE : options.timeBudget().toNanos();
        boolean validatedLast = false;
        while (epochs < options.epochs() && System.nanoTime() - start < budget) {
            double metaLoss = trainEpoch();
            l.epochDone(epochs, metaLoss);
            validatedLast = false;
            if (epochs % options.evaluationPeriod() == 0) {
                validate(l);
                validatedLast = true;
            }
        }
        if (!validatedLast && epochs > 0) {
            validate(l);
        }
        return state();
    }

    /**
     * One epoch without validation: a trajectory of K steps on B freshly sampled optimizees, with
     * one meta-update per unroll ({@link #train} runs these and validates every E epochs).
     *
     * @return the mean meta-loss per step (over instances and steps)
     */
    public double trainEpoch() {
        double metaLoss = runEpoch();
        epochs++;
        return metaLoss;
    }

    /**
     * One trajectory; returns the mean meta-loss per step (over instances and steps).  If it
     * throws, phi, Adam's state and the skip counter are restored to what they were before it.
     */
    double runEpoch() {
        double[] phiBefore = phi.clone();
        double[] firstBefore = adam.firstMoment();
        double[] secondBefore = adam.secondMoment();
        long stepBefore = adam.step();
        long skippedBefore = skipped;
        int[] step = {0};
        try {
            return trajectory(step);
        } catch (RuntimeException | Error e) {
            phi = phiBefore;
            adam.restore(firstBefore, secondBefore, stepBefore);
            skipped = skippedBefore;
            uploadPhi(phi);
            if (e instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException("meta-training epoch " + (epochs + 1) + " failed at trajectory step "
                    + step[0] + " of " + options.horizon() + " on " + training.name()
                    + "; the epoch is not counted (phi and the meta-optimizer's state are as before it): " + e, e);
        }
    }

    /** The body of {@link #runEpoch}; {@code step[0]} follows the trajectory step for messages. */
    private double trajectory(int[] step) {
        int b = options.instances();
        long[] seeds = new long[b];
        for (int i = 0; i < b; i++) {
            seeds[i] = Seeds.derive(options.seed(), Seeds.TRAINING, epochs, i);
        }
        double inputScale = options.inputScaling() == InputScaling.BATCH_MEAN ? 1.0 / b : 1.0;
        // (1/B) sum_b: the meta-loss gradient scale; with batch-mean inputs the recorded inputs
        // already carry the 1/B.
        double gradScale = options.inputScaling() == InputScaling.BATCH_MEAN ? 1.0 : 1.0 / b;
        long t0 = System.nanoTime();
        batch.start(seeds, inputScale);
        optimizeeNanos += System.nanoTime() - t0;
        double epochLoss = 0;
        int epochSteps = 0;
        for (int begin = 0; begin < options.horizon(); begin += options.unroll()) {
            int steps = Math.min(options.unroll(), options.horizon() - begin);
            for (int s = 0; s < steps; s++) {
                step[0] = begin + s + 1;
                advanceTimed(s);
            }
            double unrollLoss = 0;
            for (double[] losses : batch.losses(steps)) {
                for (double f : losses) {
                    unrollLoss += f / b;
                }
            }
            epochLoss += unrollLoss;
            epochSteps += steps;
            long t1 = System.nanoTime();
            NativeBuffer d = dlossLast != null && steps < options.unroll() ? dlossLast : dloss;
            lstm.metaLossGradients(batch.record(), steps, batch.gradient(), gradScale, d);
            lstm.backward(phiBuffer, batch.record(), steps, d, null, dphi, null, null, false);
            double[] g = dphi.toDoubleArray();
            lstmNanos += System.nanoTime() - t1;
            if (Double.isFinite(unrollLoss) && MetaAdam.allFinite(g)) {
                adam.update(phi, g);
                uploadPhi(phi);
            } else {
                skipped++;
            }
        }
        double mean = epochLoss / epochSteps;
        metaLossSum += mean;
        metaLossCount++;
        return mean;
    }

    private void advanceTimed(int slot) {
        long t0 = System.nanoTime();
        batch.advance(slot, slot);
        long t1 = System.nanoTime();
        lstmNanos += batch.lastStepNanos();
        optimizeeNanos += (t1 - t0) - batch.lastStepNanos();
    }

    /** Validates the current phi and keeps it if it is the best so far. */
    private void validate(Listener l) {
        long t0 = System.nanoTime();
        double loss = LearnedRollouts.meanFinalLoss(backend, lstm, phiBuffer, validation, validationSeeds,
                options.horizon());
        double seconds = (System.nanoTime() - t0) / 1e9;
        validationSeconds += seconds;
        double trainLoss = metaLossCount == 0 ? Double.NaN : metaLossSum / metaLossCount;
        metaLossSum = 0;
        metaLossCount = 0;
        TrainingState.Validation v = new TrainingState.Validation(epochs, loss, trainLoss, seconds);
        history.add(v);
        boolean best = loss < bestValidation;
        if (best) {
            bestValidation = loss;
            bestPhi = phi.clone();
            bestEpoch = epochs;
        }
        l.validated(v, best);
    }

    private void uploadPhi(double[] p) {
        phiBuffer.write(PhiLayout.toFloat32(p));
    }

    /** Seconds spent in the LSTM kernels (steps, meta-loss gradients, backward) while training. */
    public double lstmSeconds() {
        return lstmNanos / 1e9;
    }

    /** Seconds spent evaluating the optimizees (and copying their parameters) while training. */
    public double optimizeeSeconds() {
        return optimizeeNanos / 1e9;
    }

    /** Seconds spent validating. */
    public double validationSeconds() {
        return validationSeconds;
    }

    public LstmConfig config() {
        return config;
    }

    public MetaTrainingOptions options() {
        return options;
    }

    /** Frees the native memory and the placed families; idempotent. */
    @Override
    public void close() {
        while (!owned.isEmpty()) {
            try {
                owned.pop().close();
            } catch (Exception e) {
                throw new IllegalStateException("closing the meta-trainer's resources failed", e);
            }
        }
    }
}
