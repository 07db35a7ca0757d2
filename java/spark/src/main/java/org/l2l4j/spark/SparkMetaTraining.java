package org.l2l4j.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.apache.spark.api.java.JavaSparkContext;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.meta.EpochRunner;
import org.l2l4j.meta.MetaBatchShards;
import org.l2l4j.meta.MetaTrainer;
import org.l2l4j.meta.MetaTrainingOptions;
import org.l2l4j.meta.TrainingCheckpoint;
import org.l2l4j.meta.TrainingState;
import org.l2l4j.optimizees.ProblemSetup;

/**
 * Meta-training on a Spark cluster: the executors run the epochs, the driver validates, selects
 * the best phi and writes the checkpoints ({@link MetaTrainer#train(MetaTrainer.Listener,
 * EpochRunner)}).  Two modes:
 *
 * <ul>
 *   <li>{@link Mode#SYNCHRONOUS}: each unroll's meta-batch of {@code options.instances()} is cut
 *       into one shard per worker; the shards' meta-gradients are summed in shard order at every
 *       unroll and every worker applies the same update.  Bit for bit the run of one machine with
 *       {@code MetaBatchShards.all(W)}, and W times the optimizee throughput of one worker, less
 *       the exchange's cost per unroll.</li>
 *   <li>{@link Mode#AVERAGING}: every {@code averagingPeriod} epochs, W workers meta-train alone
 *       from the same phi, each on its own functions with a meta-batch of
 *       {@code options.instances()}, and the driver averages their phis and Adam moments, and
 *       applies the averaged change as it is or through an outer Adam
 *       ({@code outerLearningRate}).</li>
 * </ul>
 *
 * <p>The driver writes the checkpoint after every block of epochs, that is at every validation
 * (every {@code options.evaluationPeriod()} epochs), and at the end; a run given a checkpoint
 * folder that holds one continues from it (same architecture, mode, workers, averaging period,
 * seed and meta-batch, which the checkpoint records; the other options are the caller's).  A
 * failed block is run again from the driver's state, up to {@code maxAttempts} times, with the
 * same result.  Progress goes to the driver's log ({@code System.Logger}) and, as job
 * descriptions, to Spark's UI.
 */
public final class SparkMetaTraining {
    private static final System.Logger LOG = System.getLogger(SparkMetaTraining.class.getName());
    /** The metadata a continued run must share with its checkpoint. */
    private static final List<String> CONTINUED_SETTINGS = List.of("distributed_mode", "workers", "averaging_period",
            "outer_learning_rate", "seed", "instances", "horizon", "unroll", "eval_every", "recipe");

    /** How the workers combine their meta-training. */
    public enum Mode {
        /** One meta-batch per unroll, cut into one shard per worker, meta-gradients summed every unroll. */
        SYNCHRONOUS,
        /** Workers meta-train alone for a period of epochs, then their phis are averaged. */
        AVERAGING
    }

    /**
     * The distributed settings.
     *
     * @param mode            synchronous meta-batches or periodic averaging
     * @param workers         W, tasks per stage (synchronous: W divides the meta-batch)
     * @param averagingPeriod k, epochs between averagings (averaging mode)
     * @param outerLearningRate averaging mode: the outer Adam's rate on the pseudo-gradient (phi
     *                        before a round minus the workers' average), 0 to apply the average as
     *                        it is
     * @param threads         CPU threads per task, 0 for {@code spark.task.cpus} (a task given a
     *                        GPU by Spark uses it instead)
     * @param driverThreads   CPU threads of the driver's validations
     * @param maxAttempts     attempts per block of epochs
     * @param checkpoint      the checkpoint folder (any Hadoop file system URI), null for none
     * @param exchangePort    the driver's port for the synchronous mode's exchange, 0 for any
     * @param exchangeTimeout how long a task's meta-gradient may be awaited
     */
    public record Settings(Mode mode, int workers, int averagingPeriod, double outerLearningRate, int threads,
                           int driverThreads, int maxAttempts, String checkpoint, int exchangePort,
                           Duration exchangeTimeout) {
        public Settings {
            Objects.requireNonNull(mode, "mode");
            Objects.requireNonNull(exchangeTimeout, "exchangeTimeout");
            if (workers < 1 || averagingPeriod < 1 || threads < 0 || driverThreads < 1 || maxAttempts < 1
                    || exchangePort < 0 || exchangePort > 65535) {
                throw new IllegalArgumentException("invalid settings: workers (" + workers + "), averagingPeriod ("
                        + averagingPeriod + "), driverThreads (" + driverThreads + ") and maxAttempts (" + maxAttempts
                        + ") must be >= 1, threads (" + threads + ") >= 0 and the exchange port (" + exchangePort
                        + ") in [0, 65535]");
            }
            if (exchangeTimeout.isNegative() || exchangeTimeout.isZero()) {
                throw new IllegalArgumentException("the exchange timeout must be positive, got " + exchangeTimeout);
            }
            if (!(outerLearningRate >= 0) || !Double.isFinite(outerLearningRate)) {
                throw new IllegalArgumentException("the outer learning rate must be finite and >= 0 (0: plain "
                        + "averaging), got " + outerLearningRate);
            }
        }

        /** {@code workers} synchronous workers, 1 thread each, 3 attempts, no checkpoint. */
        public static Settings synchronous(int workers) {
            return new Settings(Mode.SYNCHRONOUS, workers, 1, 0, 1, 1, 3, null, 0, Duration.ofMinutes(30));
        }

        /**
         * {@code workers} averaging every {@code period} epochs (plain averaging), 1 thread each, 3
         * attempts, no checkpoint.
         */
        public static Settings averaging(int workers, int period) {
            return new Settings(Mode.AVERAGING, workers, period, 0, 1, 1, 3, null, 0, Duration.ofMinutes(30));
        }

        /** These settings with an outer Adam of rate {@code lr} on the averaged change (0: plain averaging). */
        public Settings withOuterLearningRate(double lr) {
            return new Settings(mode, workers, averagingPeriod, lr, threads, driverThreads, maxAttempts, checkpoint,
                    exchangePort, exchangeTimeout);
        }

        /** These settings with a checkpoint folder. */
        public Settings withCheckpoint(String folder) {
            return new Settings(mode, workers, averagingPeriod, outerLearningRate, threads, driverThreads, maxAttempts,
                    folder, exchangePort, exchangeTimeout);
        }

        /** These settings with {@code t} threads per task. */
        public Settings withThreads(int t) {
            return new Settings(mode, workers, averagingPeriod, outerLearningRate, t, driverThreads, maxAttempts,
                    checkpoint, exchangePort, exchangeTimeout);
        }

        /** These settings with {@code n} attempts per block. */
        public Settings withMaxAttempts(int n) {
            return new Settings(mode, workers, averagingPeriod, outerLearningRate, threads, driverThreads, n,
                    checkpoint, exchangePort, exchangeTimeout);
        }
    }

    /**
     * A run's outcome: the final state (its bestPhi is the optimizer to use) and its costs.
     *
     * @param state           the final training state
     * @param seconds         the run's wall time on the driver
     * @param epochSeconds    the wall time of the epochs' stages (Spark's scheduling, the tasks'
     *                        setup and meta-training, retries), without the driver's validations
     * @param workerSeconds   synchronous mode: the workers' meta-training time (the slowest task
     *                        of each stage)
     * @param waitPerUnroll   synchronous mode: a task's mean wait per unroll for the exchange's sum
     * @param retries         blocks run again after a failure
     * @param optimizeeSteps  optimizee steps the workers took (instances x steps, every worker)
     * @param epochsRun       epochs run by this call (the state's epochs less those it continued from)
     */
    public record Outcome(TrainingState state, double seconds, double epochSeconds, double workerSeconds,
                          double waitPerUnroll, int retries, long optimizeeSteps, int epochsRun) {

        /** Optimizee steps per second of the epochs' stages (NaN when no epoch was run). */
        public double throughput() {
            return epochSeconds > 0 ? optimizeeSteps / epochSeconds : Double.NaN;
        }
    }

    private SparkMetaTraining() {
    }

    /**
     * Meta-trains on the cluster of {@code sc}.
     *
     * @param problem  the optimizees, loaded by the driver (validation) and every executor
     * @param groups   the optimizer's parameter groups
     * @param options  the meta-training options; synchronous mode: {@code instances()} is the
     *                 whole meta-batch, which the workers divide
     * @param metadata descriptive metadata for the checkpoints
     * @throws IOException              if the problem or the checkpoint folder cannot be read or
     *                                  written
     * @throws IllegalArgumentException if the settings do not fit the options, or a checkpoint in
     *                                  the folder is of another architecture
     * @throws IllegalStateException    if a block of epochs failed in every attempt (the
     *                                  checkpoint holds the state before it)
     */
    public static Outcome run(JavaSparkContext sc, ProblemSource problem, ParameterGroups groups,
                              MetaTrainingOptions options, Settings settings, Map<String, String> metadata)
            throws IOException {
        Objects.requireNonNull(sc, "sc");
        Objects.requireNonNull(problem, "problem");
        Objects.requireNonNull(groups, "groups");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(metadata, "metadata");
        requireFits(settings, options);
        if (settings.mode() == Mode.SYNCHRONOUS && settings.workers() > sc.defaultParallelism()
                && sc.master().startsWith("local")) {
            throw new IllegalArgumentException("the synchronous mode runs its " + settings.workers() + " tasks at once, "
                    + "and the local master " + sc.master() + " has " + sc.defaultParallelism() + " task slots");
        }
        if (settings.mode() == Mode.SYNCHRONOUS && settings.workers() > sc.defaultParallelism()) {
            LOG.log(System.Logger.Level.WARNING, "the synchronous mode runs its " + settings.workers() + " tasks at once, "
                    + "and the application has " + sc.defaultParallelism() + " task slots now: the barrier stage waits "
                    + "for executors and fails after spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures "
                    + "checks (40, every 15 s by default)");
        }
        Map<String, String> meta = new LinkedHashMap<>(metadata);
        meta.put("distributed_mode", settings.mode().name().toLowerCase(Locale.ROOT));
        meta.put("workers", Integer.toString(settings.workers()));
        if (settings.mode() == Mode.AVERAGING) {
            meta.put("averaging_period", Integer.toString(settings.averagingPeriod()));
            meta.put("outer_learning_rate", Double.toString(settings.outerLearningRate()));
        }
        meta.put("seed", Long.toString(options.seed()));
        meta.put("instances", Integer.toString(options.instances()));
        meta.put("horizon", Integer.toString(options.horizon()));
        meta.put("unroll", Integer.toString(options.unroll()));
        meta.put("eval_every", Integer.toString(options.evaluationPeriod()));
        CheckpointStore store = settings.checkpoint() == null ? null
                : new CheckpointStore(settings.checkpoint(), sc.hadoopConfiguration());
        TrainingCheckpoint.Saved saved = store == null ? null : store.load();
        if (saved != null && !saved.groups().equals(groups)) {
            throw new IllegalArgumentException("the checkpoint in " + settings.checkpoint() + " is of another optimizer: "
                    + saved.groups() + ", not " + groups);
        }
        if (saved != null) {
            for (String key : CONTINUED_SETTINGS) {
                String was = saved.metadata().get(key);
                if (!Objects.equals(was, meta.get(key))) {
                    throw new IllegalArgumentException("the checkpoint in " + settings.checkpoint() + " was written by a "
                            + "run with " + key + " = " + was + ", this run has " + meta.get(key) + ": a run continues "
                            + "only with the settings it started with");
                }
            }
        }
        ProblemSetup setup = problem.load();
        WorkerJob job = new WorkerJob(problem, groups, options, settings.threads());
        long t0 = System.nanoTime();
        try (Backend backend = Backend.cpu(settings.driverThreads());
             MetaTrainer trainer = new MetaTrainer(backend, groups, setup.training(), setup.validation(), options,
                     MetaBatchShards.none());
             GradientExchange exchange = settings.mode() == Mode.SYNCHRONOUS
                     ? new GradientExchange(sc.getConf().get("spark.driver.bindAddress",
                             sc.getConf().get("spark.driver.host")), settings.exchangePort(),
                             settings.exchangeTimeout()) : null) {
            if (saved != null) {
                trainer.restore(saved.state());
                LOG.log(System.Logger.Level.INFO, "continuing from the checkpoint in " + settings.checkpoint() + " at epoch "
                        + saved.state().epochs());
            }
            int startEpochs = saved == null ? 0 : saved.state().epochs();
            SynchronousEpochs synchronous = exchange == null ? null : new SynchronousEpochs(sc, job, settings.workers(),
                    exchange, sc.getConf().get("spark.driver.host"), settings.exchangeTimeout());
            AveragingEpochs averaging = synchronous != null ? null : new AveragingEpochs(sc, job, settings.workers(),
                    settings.averagingPeriod(), settings.outerLearningRate(), groups.phiSize());
            if (averaging != null && saved != null && settings.outerLearningRate() > 0) {
                AveragingEpochs.OuterState outer = store.loadOuter(saved.state().epochs(), groups.phiSize());
                if (outer == null) {
                    throw new IllegalArgumentException("the checkpoint in " + settings.checkpoint() + " holds no outer "
                            + "Adam state for its epoch " + saved.state().epochs());
                }
                averaging.restoreOuter(outer);
            }
            EpochRunner epochs = synchronous != null ? synchronous : averaging;
            Attempts attempts = new Attempts(epochs, settings.maxAttempts());
            int total = options.epochs();
            TrainingState state = trainer.train(new MetaTrainer.Listener() {
                @Override
                public void epochDone(int done, double metaLoss) {
                    LOG.log(System.Logger.Level.DEBUG, String.format(Locale.ROOT, "epoch %d: meta-loss %.5g", done,
                            metaLoss));
                    // the end of an averaging round that no validation follows: a synchronization
                    if (averaging != null && done % settings.averagingPeriod() == 0
                            && done % options.evaluationPeriod() != 0 && done < total) {
                        save(store, groups, trainer.state(), meta, averaging);
                    }
                }

                @Override
                public void validated(TrainingState.Validation v, boolean best) {
                    LOG.log(System.Logger.Level.INFO, String.format(Locale.ROOT,
                            "epoch %d: validation loss %.5g%s (%.1f s since the start)", v.epoch(), v.validationLoss(),
                            best ? ", the best so far" : "", (System.nanoTime() - t0) / 1e9));
                    save(store, groups, trainer.state(), meta, averaging);
                }
            }, attempts);
            save(store, groups, state, meta, averaging);
            long steps = 0;
            for (int e = startEpochs; e < state.epochs(); e++) {
                steps += (long) options.instances() * options.curriculum().horizon(e, options.horizon())
                        * (settings.mode() == Mode.AVERAGING ? settings.workers() : 1);
            }
            return new Outcome(state, (System.nanoTime() - t0) / 1e9, attempts.seconds(),
                    synchronous != null ? synchronous.taskSeconds() : Double.NaN,
                    synchronous != null ? synchronous.waitPerUnroll() : Double.NaN, attempts.retries(), steps,
                    state.epochs() - startEpochs);
        }
    }

    /**
     * Refuses settings that do not fit the options (checked by {@link #run} before anything is
     * loaded; callers may check earlier).
     *
     * @throws IllegalArgumentException naming the misfit
     */
    static void requireFits(Settings settings, MetaTrainingOptions options) {
        if (settings.mode() == Mode.SYNCHRONOUS) {
            if (options.instances() % settings.workers() != 0) {
                throw new IllegalArgumentException("the synchronous mode cuts the meta-batch of " + options.instances()
                        + " instances into one equal shard per worker: " + settings.workers()
                        + " workers do not divide it");
            }
            if (settings.outerLearningRate() != 0) {
                throw new IllegalArgumentException("an outer learning rate applies to the averaging mode only");
            }
        } else if (options.evaluationPeriod() % settings.averagingPeriod() != 0) {
            throw new IllegalArgumentException("the averaging period (" + settings.averagingPeriod() + " epochs) must "
                    + "divide the validation period (" + options.evaluationPeriod() + "), so that every validation "
                    + "sees an averaged phi");
        }
    }

    private static void save(CheckpointStore store, ParameterGroups groups, TrainingState state,
                             Map<String, String> meta, AveragingEpochs averaging) {
        if (store == null) {
            return;
        }
        try {
            store.save(groups, state, meta, averaging == null ? null : averaging.outerState());
        } catch (IOException e) {
            throw new UncheckedIOException("writing the checkpoint failed: " + e.getMessage(), e);
        }
    }
}
