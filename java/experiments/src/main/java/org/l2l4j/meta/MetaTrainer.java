package org.l2l4j.meta;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.GroupedLstm;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.lstm.UnrollRecord;
import org.l2l4j.meta.MemoryEstimate.Driver;
import org.l2l4j.meta.MemoryEstimate.Memory;
import org.l2l4j.meta.MemoryEstimate.Part;
import org.l2l4j.optimizees.OptimizeeFamily;
import org.l2l4j.optimizees.ScaledFamily;

/**
 * Meta-trains phi by truncated backpropagation through time with the optimizee's second
 * derivatives dropped (paper section 2, equations 1-3), composed of the parts that
 * learned-optimizer libraries separate:
 *
 * <ul>
 *   <li>the <b>truncation schedule</b>: an epoch is one trajectory on B freshly sampled
 *       optimizees, every coordinate's state starting at zero, of K steps (the paper) or of the
 *       length a {@link Curriculum} gives its epoch, cut into unrolls of T steps whose theta and
 *       state carry into the next unroll, detached;</li>
 *   <li>the <b>gradient estimator</b> ({@link GradientEstimator}; {@link TruncatedBackprop}):
 *       each unroll runs T fused steps forward, recording them, then the fused backward pass for
 *       dL/dphi of the meta-loss (1/B) sum_b sum_{t=1..T} f_b(theta_t), plus an
 *       {@link Imitation} term in the first epochs when asked for, the optimizee's second
 *       derivatives dropped as in the paper; or, with {@link SecondDerivatives#EXACT}, the exact
 *       dL/dphi with them kept ({@link ExactBackprop});</li>
 *   <li>the <b>meta-optimizer</b> ({@link MetaOptimizer}): one Adam step on phi per unroll, at a
 *       rate that follows a {@link LearningRateSchedule} (and grows with B by
 *       {@link MetaBatchScaling}), unless the meta-loss or its gradient is not finite (the update
 *       is then skipped and counted: phi is never corrupted);</li>
 *   <li>the <b>selection</b> ({@link SelectionPolicy}): phi is validated before the first epoch
 *       and every E epochs on held-out functions (mean loss at step K), the best kept (never
 *       chosen by the training meta-loss), optionally confirmed on more functions at the end.</li>
 * </ul>
 *
 * <p>The training and validation families are placed on the backend once, at construction
 * ({@link PlacedFamily}): a family with a resident form there is evaluated in place (MLPs on a CPU
 * or CUDA backend, quadratics on a CPU backend).  On CUDA, theta, the gradients, every
 * coordinate's state and the backward record then stay on the device for the whole epoch, and
 * each unroll reads back only its losses (T B values) and dL/dphi, and writes phi.  Other
 * families are evaluated on the host, theta and the gradients crossing at every step.  With
 * random parameter scaling ({@link MetaTrainingOptions#parameterScaling()}) the training
 * optimizees are {@link ScaledFamily}'s, evaluated on the host; validation is never scaled.
 *
 * <p><b>Parameter groups</b> (paper section 3.3; DESIGN 3b): phi is the concatenation of every
 * group's phi, each group stepping and backpropagating over its own coordinates
 * ({@link GroupLayout}) and giving its part of the meta-gradient, and the one meta-optimizer
 * updating the whole vector.  Group 0's phi is initialized from the seed's phi stream as a
 * single-group run's is, group g's from its own stream, so that one group of every tensor trains
 * exactly as the plain optimizer does.
 *
 * <p><b>Shards</b> ({@link MetaBatchShards}): the meta-batch may be cut into S shards of B / S
 * instances, each with its own optimizee batch and record, their parts of each unroll's
 * meta-gradient added in shard order; a process may compute some of the shards and have the
 * others' parts added by a {@link MetaGradientReduction}, which is how a cluster meta-trains one
 * phi bit for bit as one machine would.  Whole epochs may also run elsewhere, the meta-trainer
 * only validating and selecting ({@link #train(Listener, EpochRunner)}).
 *
 * <p>An epoch is all or nothing: if an optimizee throws, the epoch is not counted and phi,
 * Adam's state and the skip counter are as before it (see {@link #train}).
 *
 * <p>Runs with the same seed and options give bitwise identical phi on the CPU backend, and a
 * run resumed from a saved {@link TrainingState} continues exactly as the uninterrupted one (every
 * schedule is a function of the epoch count).  Not thread-safe.
 */
public final class MetaTrainer implements AutoCloseable {
    private final Backend backend;
    private final ParameterGroups groups;
    private final OptimizeeFamily training;
    private final OptimizeeFamily validation;
    /** What the constructor allocated, closed in reverse order by {@link #close()}. */
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();
    private final MetaTrainingOptions options;
    private final GroupedLstm lstm;
    private final MetaBatchShards sharding;
    /** The shards computed here, in shard order. */
    private final List<Shard> shards = new ArrayList<>();
    private final MetaOptimizer meta;
    private final SelectionPolicy selection;
    private final long[] validationSeeds;
    private double[] phi;
    private int epochs;
    private long skipped;
    private final List<TrainingState.Validation> history = new ArrayList<>();
    private double metaLossSum;
    private long metaLossCount;
    private double validationSeconds;
    /** Nanoseconds spent starting trajectories (sampling the optimizees, their first evaluation). */
    private long startNanos;

    /** A shard computed here: its first instance's index in the meta-batch, its optimizees and estimator. */
    private record Shard(int firstInstance, OptimizeeBatch batch, GradientEstimator estimator) {
    }

    /** The listener that hears nothing. */
    private static final Listener QUIET = new Listener() { };

    /** Receives progress; every method has an empty default. */
    public interface Listener {
        /** After each unroll (and its meta-update), with the unroll's view of the optimizees. */
        default void unrollDone(Unroll unroll) {
        }

        /** After each epoch: the epoch count and the mean meta-loss per step of that epoch. */
        default void epochDone(int epochs, double metaLoss) {
        }

        /** After each validation (the first before any epoch, at epoch 0). */
        default void validated(TrainingState.Validation v, boolean best) {
        }
    }

    /**
     * An unroll just done, seen by {@link Listener#unrollDone}: valid during the call only.
     */
    public final class Unroll {
        private final int epoch;
        private final int firstStep;
        private final int steps;
        private final double metaLoss;
        private final double learningRate;
        private final double metaGradientNorm;

        private Unroll(int epoch, int firstStep, int steps, double metaLoss, double learningRate,
                       double metaGradientNorm) {
            this.epoch = epoch;
            this.firstStep = firstStep;
            this.steps = steps;
            this.metaLoss = metaLoss;
            this.learningRate = learningRate;
            this.metaGradientNorm = metaGradientNorm;
        }

        /** The epoch being trained, 1-based. */
        public int epoch() {
            return epoch;
        }

        /** The trajectory step the unroll started from (0 for the first unroll). */
        public int firstStep() {
            return firstStep;
        }

        /** Its number of steps. */
        public int steps() {
            return steps;
        }

        /** Its optimizee meta-loss, (1/B) sum_b sum_t f_b(theta_t) over its steps. */
        public double metaLoss() {
            return metaLoss;
        }

        /** The meta-learning rate of its update. */
        public double learningRate() {
            return learningRate;
        }

        /**
         * The global L2 norm of its meta-gradient dL/dphi, before any clipping; NaN when the
         * update was skipped as non-finite.
         */
        public double metaGradientNorm() {
            return metaGradientNorm;
        }

        /** The optimizee instances computed here: B, or B / S for each of the local shards. */
        public int instances() {
            return shards.size() * shards.get(0).batch().instances();
        }

        /** Local instance b's parameters theta at the end of the unroll (a copy). */
        public float[] parameters(int b) {
            int perShard = shards.get(0).batch().instances();
            return shards.get(b / perShard).batch().parameters(b % perShard);
        }
    }

    /**
     * A trainer of the plain optimizer: one group of every tensor.
     *
     * @param backend    where the LSTM runs
     * @param config     the optimizer's architecture
     * @param training   the distribution of training optimizees
     * @param validation the distribution of held-out optimizees (same dimension)
     * @param options    the settings
     */
    public MetaTrainer(Backend backend, LstmConfig config, OptimizeeFamily training, OptimizeeFamily validation,
                       MetaTrainingOptions options) {
        this(backend, ParameterGroups.single(Objects.requireNonNull(config, "config")), training, validation, options);
    }

    /**
     * @param backend    where the LSTM runs
     * @param groups     the optimizer's parameter groups, which select the families' tensors
     *                   ({@link OptimizeeFamily#tensors()})
     * @param training   the distribution of training optimizees
     * @param validation the distribution of held-out optimizees (same dimension and tensors)
     * @param options    the settings
     * @throws IllegalArgumentException if the families differ in dimension or tensors, a tensor
     *                                  matches no group, or a group owns no tensor
     */
    public MetaTrainer(Backend backend, ParameterGroups groups, OptimizeeFamily training, OptimizeeFamily validation,
                       MetaTrainingOptions options) {
        this(backend, groups, training, validation, options, MetaBatchShards.single());
    }

    /**
     * A trainer whose meta-batch of {@code options.instances()} is cut into shards, of which it
     * computes {@code shards.local()} from {@code shards.first()} (see {@link MetaBatchShards}).
     *
     * @param shards the meta-batch's shards and the reduction that adds those computed elsewhere
     * @throws IllegalArgumentException as the other constructor, and if the shard count does not
     *                                  divide the instances
     */
    public MetaTrainer(Backend backend, ParameterGroups groups, OptimizeeFamily training, OptimizeeFamily validation,
                       MetaTrainingOptions options, MetaBatchShards shards) {
        this.sharding = Objects.requireNonNull(shards, "shards");
        this.backend = Objects.requireNonNull(backend, "backend");
        this.groups = Objects.requireNonNull(groups, "groups");
        Objects.requireNonNull(training, "training");
        Objects.requireNonNull(validation, "validation");
        this.options = Objects.requireNonNull(options, "options");
        if (training.dimension() != validation.dimension()) {
            throw new IllegalArgumentException("training and validation optimizees differ in dimension: "
                    + training.dimension() + " vs " + validation.dimension());
        }
        if (!training.tensors().equals(validation.tensors())) {
            throw new IllegalArgumentException("training and validation optimizees differ in their tensors: "
                    + training.tensors() + " vs " + validation.tensors());
        }
        GroupLayout.requireEveryGroupOwns(groups, training);
        int b = options.instances();
        int perShard = shards.instancesPerShard(b);
        boolean batchMean = options.inputScaling() == InputScaling.BATCH_MEAN;
        try {
            this.lstm = own(new GroupedLstm(groups, backend));
            OptimizeeFamily trained = options.parameterScaling() > 0
                    ? new ScaledFamily(training, options.parameterScaling()) : training;
            this.training = own(PlacedFamily.on(backend, trained)).family();
            this.validation = own(PlacedFamily.on(backend, validation)).family();
            int recordSteps = unrollLengths(options).stream().mapToInt(Integer::intValue).max().orElseThrow();
            for (int s = shards.first(); s < shards.first() + shards.local(); s++) {
                OptimizeeBatch batch = own(new OptimizeeBatch(backend, lstm, this.training, perShard, recordSteps,
                        recordSteps));
                // (1/B) sum_b: the meta-loss gradient scale; with batch-mean inputs the recorded
                // inputs already carry the 1/B.
                double gradScale = batchMean ? 1.0 : 1.0 / b;
                double inputScale = batchMean ? 1.0 / b : 1.0;
                GradientEstimator estimator = own(options.secondDerivatives() == SecondDerivatives.EXACT
                        ? new ExactBackprop(backend, lstm, batch, this.training, b, recordSteps, gradScale, inputScale)
                        : new TruncatedBackprop(backend, lstm, batch, b, unrollLengths(options), gradScale, inputScale,
                                options.imitation()));
                this.shards.add(new Shard(s * perShard, batch, estimator));
            }
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
        this.phi = initialPhi(groups, options);
        this.meta = new MetaOptimizer(phi.length, options.scaledMetaLearningRate(), options.schedule(),
                options.clipNorm());
        this.validationSeeds = Seeds.list(options.seed(), Seeds.VALIDATION, options.validationFunctions());
        long[] confirmationSeeds = Seeds.list(options.seed(), Seeds.CONFIRMATION, options.confirmationFunctions());
        this.selection = new SelectionPolicy(options.evaluationPeriod(), p -> meanFinalLoss(p, validationSeeds),
                options.confirmationFunctions() > 0 ? p -> meanFinalLoss(p, confirmationSeeds) : null);
        uploadPhi(phi);
    }

    /**
     * The concatenation of every group's initial phi: group 0 from the seed's phi stream (as the
     * plain optimizer's), group g >= 1 from the stream (PHI, g).
     */
    private static double[] initialPhi(ParameterGroups groups, MetaTrainingOptions options) {
        double[] all = new double[groups.phiSize()];
        for (int g = 0; g < groups.count(); g++) {
            long seed = g == 0 ? Seeds.derive(options.seed(), Seeds.PHI) : Seeds.derive(options.seed(), Seeds.PHI, g);
            double[] own = options.phiInit().initialize(groups.get(g).config(), seed);
            System.arraycopy(own, 0, all, groups.phiOffset(g), own.length);
        }
        return all;
    }

    /** Every unroll length a run of these options uses: T, and the last unroll of each trajectory length. */
    private static Set<Integer> unrollLengths(MetaTrainingOptions options) {
        Set<Integer> lengths = new TreeSet<>();
        for (int k : options.curriculum().horizons(options.horizon())) {
            lengths.add(Math.min(options.unroll(), k));
            if (k % options.unroll() != 0) {
                lengths.add(k % options.unroll());
            }
        }
        return lengths;
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
     * on a CPU backend.  With several parameter groups, S is the largest group's (an upper bound).
     *
     * @throws NullPointerException if an argument is null
     */
    public static MemoryEstimate memoryEstimate(ParameterGroups groups, MetaTrainingOptions options,
                                                OptimizeeFamily training, OptimizeeFamily validation) {
        Objects.requireNonNull(groups, "groups");
        Objects.requireNonNull(options, "options");
        int steps = unrollLengths(options).stream().mapToInt(Integer::intValue).max().orElseThrow();
        long b = options.instances();
        long n = MemoryEstimate.size(1, training.dimension(), b);
        long last = unrollLengths(options).stream().mapToLong(Integer::longValue).sum() - steps;
        List<Part> parts = new ArrayList<>(List.of(
                Part.of("the backward record", Memory.NATIVE,
                        MemoryEstimate.size(groups.list().stream().mapToLong(g -> UnrollRecord
                                .bytesPerCoordinateStep(g.config())).max().orElseThrow(), steps, n),
                        Driver.INSTANCES, Driver.UNROLL, Driver.OPTIMIZEE, Driver.OPTIMIZER),
                Part.of("the meta-loss gradients of an unroll", Memory.NATIVE,
                        MemoryEstimate.size(4, steps + last, n), Driver.INSTANCES, Driver.UNROLL,
                        Driver.OPTIMIZEE),
                Part.of("the optimizees' parameters, gradients (and with several groups each group's gathered"
                        + " gradients) and LSTM state", Memory.NATIVE, MemoryEstimate.size(4L * ((groups.count() > 1
                        ? 3 : 2) + LearnedRollouts.maxStateRows(groups)), n), Driver.INSTANCES, Driver.OPTIMIZEE,
                        Driver.OPTIMIZER),
                Part.of("the optimizees' evaluation buffers", Memory.NATIVE,
                        MemoryEstimate.sum(training.residentBatchBytes(options.instances()),
                                MemoryEstimate.size(8, steps, b)), Driver.INSTANCES, Driver.OPTIMIZEE),
                Part.of("the training data on the backend", Memory.NATIVE, training.residentBytes(), Driver.DATA),
                Part.of("the validation data on the backend", Memory.NATIVE, validation.residentBytes(), Driver.DATA),
                Part.of("the optimizer's parameters and meta-gradient", Memory.NATIVE,
                        MemoryEstimate.size(12, groups.phiSize()), Driver.OPTIMIZER)));
        parts.addAll(LearnedRollouts.memory(groups, validation, options.validationFunctions(), options.horizon(),
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
        meta.restore(s.adamFirst(), s.adamSecond(), s.adamStep());
        epochs = s.epochs();
        selection.restore(s);
        skipped = s.skippedUpdates();
        history.clear();
        history.addAll(s.history());
        uploadPhi(phi);
    }

    /** A snapshot of the whole training state. */
    public TrainingState state() {
        double[] best = selection.bestPhi();
        return new TrainingState(epochs, phi.clone(), meta.firstMoment(), meta.secondMoment(), meta.step(),
                best == null ? null : best.clone(), selection.bestLoss(), selection.bestEpoch(), skipped, history,
                selection.candidates());
    }

    /**
     * Trains until {@code options.epochs()} epochs are done in all or the time budget is spent
     * (checked at epoch boundaries): validates the initial phi first (unless the run is resumed),
     * then every E epochs and once at the end, and finally confirms the best candidates when a
     * confirmation is asked for.
     *
     * @return the final state; its bestPhi is the phi to use (possibly the initial phi, when
     *         training made no validated phi better: bestEpoch is then 0)
     * @throws IllegalStateException if a training optimizee throws: the message names the epoch
     *                               and the trajectory step, the cause is the optimizee's
     *                               exception, and the epoch is not counted (phi, Adam's state
     *                               and the skip counter are as before it), so that the state can
     *                               be saved or training called again
     */
    public TrainingState train(Listener listener) {
        return train(listener, null);
    }

    /**
     * {@link #train(Listener)} with the epochs run by {@code runner} (null: here), in blocks that
     * end at each validation and each multiple of the runner's period: this meta-trainer validates, selects and confirms, and takes from
     * the runner the state after each block (phi, Adam's state, epochs, skipped updates).  The
     * listener hears no unrolls of the runner's epochs; it hears every epoch's meta-loss, the last
     * one of a block once the state ({@link #state()}) is the block's end.
     *
     * @throws RuntimeException what the runner throws: the state is then as before the block
     */
    public TrainingState train(Listener listener, EpochRunner runner) {
        Listener l = listener == null ? QUIET : listener;
        long start = System.nanoTime();
        long budget = options.timeBudget() == null ? Long.MAX_VALUE : options.timeBudget().toNanos();
        if (epochs == 0 && history.isEmpty()) {
            validate(l);
        }
        boolean validatedLast = true;
        while (epochs < options.epochs() && System.nanoTime() - start < budget) {
            if (runner == null) {
                double metaLoss = trainEpoch(l);
                l.epochDone(epochs, metaLoss);
            } else {
                runElsewhere(runner, l);
            }
            validatedLast = false;
            if (selection.due(epochs)) {
                validate(l);
                validatedLast = true;
            }
        }
        if (!validatedLast) {
            validate(l);
        }
        long t0 = System.nanoTime();
        selection.confirm();
        validationSeconds += (System.nanoTime() - t0) / 1e9;
        return state();
    }

    /**
     * Runs the epochs up to the next validation, the runner's next period or the last epoch, with
     * {@code runner}, and takes its state.
     */
    private void runElsewhere(EpochRunner runner, Listener l) {
        int until = Math.min(options.epochs(), (epochs / options.evaluationPeriod() + 1) * options.evaluationPeriod());
        int period = runner.period();
        if (period < 1) {
            throw new IllegalArgumentException("the epoch runner's period must be >= 1, got " + period);
        }
        until = (int) Math.min(until, ((long) epochs / period + 1) * period);
        EpochRunner.Epochs done = runner.run(state(), until);
        TrainingState s = done.state();
        if (s.epochs() != until || s.phi().length != phi.length || done.metaLosses().length != until - epochs) {
            throw new IllegalStateException("the epoch runner returned " + s.epochs() + " epochs, "
                    + done.metaLosses().length + " meta-losses and " + s.phi().length + " phi values; asked for "
                    + until + " epochs from " + epochs + " with " + phi.length + " phi values");
        }
        phi = s.phi().clone();
        meta.restore(s.adamFirst(), s.adamSecond(), s.adamStep());
        skipped = s.skippedUpdates();
        uploadPhi(phi);
        for (double metaLoss : done.metaLosses()) {
            epochs++;
            metaLossSum += metaLoss;
            metaLossCount++;
            l.epochDone(epochs, metaLoss);
        }
    }

    /**
     * One epoch without validation: a trajectory on B freshly sampled optimizees, with one
     * meta-update per unroll ({@link #train} runs these and validates every E epochs).
     *
     * @return the mean meta-loss per step (over instances and steps)
     */
    public double trainEpoch() {
        return trainEpoch(QUIET);
    }

    private double trainEpoch(Listener l) {
        double metaLoss = runEpoch(l);
        epochs++;
        return metaLoss;
    }

    /** {@link #runEpoch(Listener)} without a listener. */
    double runEpoch() {
        return runEpoch(QUIET);
    }

    /**
     * One trajectory; returns the mean meta-loss per step (over instances and steps).  If it
     * throws, phi, Adam's state and the skip counter are restored to what they were before it.
     */
    double runEpoch(Listener l) {
        double[] phiBefore = phi.clone();
        double[] firstBefore = meta.firstMoment();
        double[] secondBefore = meta.secondMoment();
        long stepBefore = meta.step();
        long skippedBefore = skipped;
        try {
            return trajectory(l);
        } catch (RuntimeException | Error e) {
            phi = phiBefore;
            meta.restore(firstBefore, secondBefore, stepBefore);
            skipped = skippedBefore;
            uploadPhi(phi);
            if (e instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException("meta-training epoch " + (epochs + 1) + " failed at trajectory step "
                    + (shards.isEmpty() ? 0 : shards.get(0).batch().trajectoryStep()) + " of " + horizon() + " on " + training.name()
                    + "; the epoch is not counted (phi and the meta-optimizer's state are as before it): " + e, e);
        }
    }

    /** The trajectory length of the epoch being trained. */
    private int horizon() {
        return options.curriculum().horizon(epochs, options.horizon());
    }

    /** The body of {@link #runEpoch}. */
    private double trajectory(Listener l) {
        if (shards.isEmpty()) {
            throw new IllegalStateException("this meta-trainer computes no shard of the meta-batch "
                    + "(MetaBatchShards.none()): its epochs run elsewhere, with train(listener, runner)");
        }
        int b = options.instances();
        for (Shard shard : shards) {
            long[] seeds = new long[shard.batch().instances()];
            for (int i = 0; i < seeds.length; i++) {
                seeds[i] = Seeds.derive(options.seed(), Seeds.TRAINING, epochs, shard.firstInstance() + i);
            }
            long t0 = System.nanoTime();
            shard.batch().start(seeds, options.inputScaling() == InputScaling.BATCH_MEAN ? 1.0 / b : 1.0);
            startNanos += System.nanoTime() - t0;
            shard.estimator().startTrajectory(epochs);
        }
        int horizon = horizon();
        double[] g = new double[phi.length];
        double[] part = shards.size() > 1 ? new double[phi.length] : null;
        double rate = meta.learningRate(epochs, options.epochs());
        double epochLoss = 0;
        for (int begin = 0; begin < horizon; begin += options.unroll()) {
            int steps = Math.min(options.unroll(), horizon - begin);
            double unrollLoss = shards.get(0).estimator().unroll(steps, g);
            for (int s = 1; s < shards.size(); s++) {
                unrollLoss += shards.get(s).estimator().unroll(steps, part);
                for (int i = 0; i < g.length; i++) {
                    g[i] += part[i];
                }
            }
            unrollLoss = sharding.reduction().reduce(unrollLoss, g);
            epochLoss += unrollLoss;
            double norm = Double.NaN;
            if (Double.isFinite(unrollLoss) && MetaOptimizer.allFinite(g)) {
                norm = meta.update(phi, g, epochs, options.epochs());
                uploadPhi(phi);
            } else {
                skipped++;
            }
            l.unrollDone(new Unroll(epochs + 1, begin, steps, unrollLoss, rate, norm));
        }
        double mean = epochLoss / horizon;
        metaLossSum += mean;
        metaLossCount++;
        return mean;
    }

    /** Validates the current phi after {@code epochs} epochs; the selection keeps it if it is the best. */
    private void validate(Listener l) {
        long t0 = System.nanoTime();
        double loss = selection.validate(epochs, phi);
        double seconds = (System.nanoTime() - t0) / 1e9;
        validationSeconds += seconds;
        double trainLoss = metaLossCount == 0 ? Double.NaN : metaLossSum / metaLossCount;
        metaLossSum = 0;
        metaLossCount = 0;
        TrainingState.Validation v = new TrainingState.Validation(epochs, loss, trainLoss, seconds);
        history.add(v);
        l.validated(v, selection.bestEpoch() == epochs && selection.bestLoss() == loss);
    }

    /** The mean over {@code seeds} of the loss at step K of phi's trajectories (+infinity if one is not finite). */
    private double meanFinalLoss(double[] p, long[] seeds) {
        uploadPhi(p);
        try {
            return LearnedRollouts.meanFinalLoss(backend, lstm, validation, seeds, options.horizon());
        } finally {
            uploadPhi(phi);
        }
    }

    private void uploadPhi(double[] p) {
        lstm.write(p);
    }

    /** Seconds spent in the LSTM kernels (steps, meta-loss gradients, backward) while training. */
    public double lstmSeconds() {
        return shards.stream().mapToLong(s -> s.estimator().kernelNanos()).sum() / 1e9;
    }

    /** Seconds spent evaluating the optimizees (and copying their parameters) while training. */
    public double optimizeeSeconds() {
        return (shards.stream().mapToLong(s -> s.estimator().optimizeeNanos()).sum() + startNanos) / 1e9;
    }

    /** Seconds spent validating. */
    public double validationSeconds() {
        return validationSeconds;
    }

    /** The learned optimizer's parameter groups. */
    public ParameterGroups groups() {
        return groups;
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
