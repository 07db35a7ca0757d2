package org.l2l4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.meta.MetaBatchShards;
import org.l2l4j.meta.MetaTrainer;
import org.l2l4j.meta.MetaTrainingOptions;
import org.l2l4j.meta.Seeds;
import org.l2l4j.meta.TrainingState;
import org.l2l4j.optimizees.Optimizee;
import org.l2l4j.optimizees.OptimizeeFamily;
import org.l2l4j.optimizees.Problem;
import org.l2l4j.optimizees.ProblemSetup;
import org.l2l4j.optimizees.QuadraticFamily;

/**
 * Distributed meta-training on a local master of 2 task slots ({@code local[2]}: the tasks are
 * threads of the test's JVM, every Spark mechanism but the executors' processes in play; see
 * {@link LocalClusterTest} for those), on the paper's quadratics: each result is compared bit for
 * bit with the same meta-training done here without Spark.
 */
class SparkMetaTrainingTest {
    private static final ParameterGroups GROUPS = ParameterGroups.single(LstmConfig.paperQuadratic());
    private static final PaperProblem QUADRATICS = new PaperProblem(Problem.QUADRATIC, null, null);
    /** 6 epochs of 4 instances, unrolls of 5 over a horizon of 20, validated every 2 epochs on 2 functions. */
    private static final MetaTrainingOptions OPTIONS = MetaTrainingOptions.defaults().withHorizon(20).withUnroll(5)
            .withInstances(4, MetaTrainingOptions.defaults().inputScaling()).withEvaluation(2, 2).withEpochs(6)
            .withSeed(17);
    private static JavaSparkContext sc;

    @BeforeAll
    static void start() {
        // Kryo for the application's data, as many clusters configure it: task results must not depend on it
        sc = new JavaSparkContext(conf("local[2]").set("spark.serializer", "org.apache.spark.serializer.KryoSerializer"));
    }

    @AfterAll
    static void stop() {
        sc.close();
    }

    /** A quiet Spark configuration on the loopback interface. */
    static SparkConf conf(String master) {
        return new SparkConf().setMaster(master).setAppName("l2l4j-test").set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1");
    }

    /** The run of one machine computing the meta-batch in {@code shards} shards. */
    static TrainingState oneMachine(MetaTrainingOptions options, int shards) throws IOException {
        return oneMachine(QUADRATICS, options, shards);
    }

    /** The run of one machine computing the meta-batch of {@code source}'s optimizees in {@code shards} shards. */
    static TrainingState oneMachine(ProblemSource source, MetaTrainingOptions options, int shards) throws IOException {
        ProblemSetup setup = source.load();
        try (Backend backend = Backend.cpu(1);
             MetaTrainer t = new MetaTrainer(backend, GROUPS, setup.training(), setup.validation(), options,
                     MetaBatchShards.all(shards))) {
            return t.train(null);
        }
    }

    static void assertSameState(TrainingState expected, TrainingState actual) {
        assertEquals(expected.epochs(), actual.epochs(), "epochs");
        assertArrayEquals(expected.phi(), actual.phi(), "phi");
        assertArrayEquals(expected.adamFirst(), actual.adamFirst(), "Adam's first moment");
        assertArrayEquals(expected.adamSecond(), actual.adamSecond(), "Adam's second moment");
        assertEquals(expected.adamStep(), actual.adamStep(), "Adam's step");
        assertArrayEquals(expected.bestPhi(), actual.bestPhi(), "best phi");
        assertEquals(expected.history().stream().map(TrainingState.Validation::validationLoss).toList(),
                actual.history().stream().map(TrainingState.Validation::validationLoss).toList(), "validation losses");
        assertEquals(expected.history().stream().map(TrainingState.Validation::trainingMetaLoss).toList(),
                actual.history().stream().map(TrainingState.Validation::trainingMetaLoss).toList(), "meta-losses");
    }

    @Test
    void synchronousWorkersEqualOneMachineWithAShardPerWorker() throws IOException {
        SparkMetaTraining.Outcome run = SparkMetaTraining.run(sc, QUADRATICS, GROUPS, OPTIONS,
                SparkMetaTraining.Settings.synchronous(2), Map.of());
        TrainingState expected = oneMachine(OPTIONS, 2);
        assertSameState(expected, run.state());
        assertEquals(0, run.retries());
        assertEquals(6L * 4 * 20, run.optimizeeSteps());
        assertTrue(run.waitPerUnroll() >= 0);
        // phi moved: the comparison is not one of two untrained optimizers
        assertFalse(java.util.Arrays.equals(expected.phi(), startingPhi()), "phi did not change in 6 epochs");
    }

    private static double[] startingPhi() throws IOException {
        ProblemSetup setup = QUADRATICS.load();
        try (Backend backend = Backend.cpu(1);
             MetaTrainer t = new MetaTrainer(backend, GROUPS, setup.training(), setup.validation(), OPTIONS)) {
            return t.state().phi();
        }
    }

    @Test
    void aTaskThatFailsInItsFirstAttemptLeavesTheResultUnchanged(@TempDir Path dir) throws IOException {
        ProblemSource failing = new FailingOnce(QUADRATICS, dir.resolve("failed-once").toString());
        SparkMetaTraining.Outcome run = SparkMetaTraining.run(sc, failing, GROUPS, OPTIONS,
                SparkMetaTraining.Settings.synchronous(2), Map.of());
        assertTrue(Files.exists(dir.resolve("failed-once")), "the injected failure did not happen");
        assertEquals(1, run.retries());
        assertSameState(oneMachine(OPTIONS, 2), run.state());
    }

    @Test
    void aTaskThatFailsAfterJoiningTheExchangeEndsItsPeersAttemptAndTheRetryGivesTheSameResult(@TempDir Path dir)
            throws IOException {
        ProblemSource failing = new FailingSample(dir.resolve("failed-once").toString());
        SparkMetaTraining.Outcome run = SparkMetaTraining.run(sc, failing, GROUPS, OPTIONS,
                SparkMetaTraining.Settings.synchronous(2), Map.of());
        assertTrue(Files.exists(dir.resolve("failed-once")), "the injected failure did not happen");
        assertEquals(1, run.retries());
        assertSameState(oneMachine(failing, OPTIONS, 2), run.state());
    }

    @Test
    void anAveragingPeriodThatDoesNotDivideTheValidationPeriodIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SparkMetaTraining.run(sc,
                QUADRATICS, GROUPS, OPTIONS, SparkMetaTraining.Settings.averaging(2, 3), Map.of()));
        assertTrue(e.getMessage().contains("averaging period (3 epochs) must divide the validation period (2)"),
                e.getMessage());
    }

    @Test
    void aBlockThatFailsInEveryAttemptIsReportedAndTheCheckpointKeepsTheStateBeforeIt(@TempDir Path dir)
            throws IOException {
        ProblemSource broken = new FailingOnce(QUADRATICS, null);
        String folder = dir.resolve("checkpoint").toString();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> SparkMetaTraining.run(sc, broken,
                GROUPS, OPTIONS, SparkMetaTraining.Settings.synchronous(2).withMaxAttempts(2).withCheckpoint(folder),
                Map.of()));
        assertTrue(e.getMessage().contains("epochs 1-2 failed in 2 attempts"), e.getMessage());
        assertTrue(e.getMessage().contains("injected failure of task 1"), e.getMessage());
        TrainingState kept = new CheckpointStore(folder, sc.hadoopConfiguration()).load().state();
        assertEquals(0, kept.epochs(), "the checkpoint holds the validated initial state");
    }

    @Test
    void averagingIsTheMeanOfTheWorkersMetaTrainingAlone() throws IOException {
        MetaTrainingOptions options = OPTIONS.withEpochs(2);
        SparkMetaTraining.Outcome run = SparkMetaTraining.run(sc, QUADRATICS, GROUPS, options,
                SparkMetaTraining.Settings.averaging(2, 2), Map.of());
        // by hand: each worker trains 2 epochs alone from the initial state with its own seed
        ProblemSetup setup = QUADRATICS.load();
        TrainingState initial;
        double[][] alone = new double[2][];
        try (Backend backend = Backend.cpu(1);
             MetaTrainer t = new MetaTrainer(backend, GROUPS, setup.training(), setup.validation(), options)) {
            initial = t.state();
        }
        for (int w = 0; w < 2; w++) {
            try (Backend backend = Backend.cpu(1);
                 MetaTrainer t = new MetaTrainer(backend, GROUPS, setup.training(), setup.validation(),
                         options.withSeed(Seeds.derive(options.seed(), Seeds.WORKER, w)))) {
                t.restore(initial);
                t.trainEpoch();
                t.trainEpoch();
                alone[w] = t.state().phi();
            }
        }
        double[] mean = new double[alone[0].length];
        for (int i = 0; i < mean.length; i++) {
            mean[i] = (alone[0][i] + alone[1][i]) / 2;
        }
        assertArrayEquals(mean, run.state().phi());
        assertEquals(2L * 2 * 4 * 20, run.optimizeeSteps(), "2 epochs of 2 workers with 4 instances over 20 steps");
    }

    @Test
    void anOuterAdamStepsAlongTheAveragedChange() throws IOException {
        MetaTrainingOptions options = OPTIONS.withEpochs(2);
        double lr = 0.01;
        SparkMetaTraining.Outcome plain = SparkMetaTraining.run(sc, QUADRATICS, GROUPS, options,
                SparkMetaTraining.Settings.averaging(2, 2), Map.of());
        SparkMetaTraining.Outcome outer = SparkMetaTraining.run(sc, QUADRATICS, GROUPS, options,
                SparkMetaTraining.Settings.averaging(2, 2).withOuterLearningRate(lr), Map.of());
        // Adam's first step from zero moments: m^ = g, v^ = g^2, so the step is lr g / (|g| + 1e-8)
        double[] start = startingPhi();
        double[] average = plain.state().phi();
        double[] phi = outer.state().phi();
        int moved = 0;
        for (int i = 0; i < start.length; i++) {
            double g = start[i] - average[i];
            double expected = start[i] - lr * g / (Math.abs(g) + 1e-8);
            assertEquals(expected, phi[i], 1e-12, "phi[" + i + "]");
            moved += g != 0 ? 1 : 0;
        }
        assertTrue(moved > start.length / 2, "only " + moved + " of " + start.length + " values changed in the round");
    }

    @Test
    void anAveragingRunWithAnOuterAdamContinuesFromItsCheckpointAsIfUninterrupted(@TempDir Path dir)
            throws IOException {
        String folder = dir.resolve("checkpoint").toString();
        SparkMetaTraining.Settings settings = SparkMetaTraining.Settings.averaging(2, 1).withOuterLearningRate(0.003)
                .withCheckpoint(folder);
        SparkMetaTraining.run(sc, QUADRATICS, GROUPS, OPTIONS.withEpochs(4), settings, Map.of());
        SparkMetaTraining.Outcome resumed = SparkMetaTraining.run(sc, QUADRATICS, GROUPS, OPTIONS, settings, Map.of());
        SparkMetaTraining.Outcome whole = SparkMetaTraining.run(sc, QUADRATICS, GROUPS, OPTIONS,
                settings.withCheckpoint(null), Map.of());
        assertSameState(whole.state(), resumed.state());
        try (var files = Files.list(dir.resolve("checkpoint"))) {
            assertEquals(List.of("outer-adam-6.safetensors"), files.map(f -> f.getFileName().toString())
                    .filter(n -> n.startsWith("outer-adam")).toList(), "the outer Adam's state of the last checkpoint only");
        }
    }

    @Test
    void aRunContinuesFromItsCheckpointAsIfUninterrupted(@TempDir Path dir) throws IOException {
        String folder = dir.resolve("checkpoint").toString();
        SparkMetaTraining.Settings settings = SparkMetaTraining.Settings.synchronous(2).withCheckpoint(folder);
        SparkMetaTraining.run(sc, QUADRATICS, GROUPS, OPTIONS.withEpochs(4), settings, Map.of("problem", "quadratic"));
        assertEquals(4, new CheckpointStore(folder, sc.hadoopConfiguration()).load().state().epochs());
        assertTrue(Files.isRegularFile(dir.resolve("checkpoint").resolve(CheckpointStore.OPTIMIZER)));
        SparkMetaTraining.Outcome resumed = SparkMetaTraining.run(sc, QUADRATICS, GROUPS, OPTIONS, settings,
                Map.of("problem", "quadratic"));
        assertSameState(oneMachine(OPTIONS, 2), resumed.state());
        assertEquals(6L * 4 * 20 - 4L * 4 * 20, resumed.optimizeeSteps(), "only the last 2 epochs were run");
    }

    @Test
    void aCheckpointOfOtherSettingsIsNotContinued(@TempDir Path dir) throws IOException {
        String folder = dir.resolve("checkpoint").toString();
        SparkMetaTraining.run(sc, QUADRATICS, GROUPS, OPTIONS.withEpochs(2),
                SparkMetaTraining.Settings.synchronous(2).withCheckpoint(folder), Map.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SparkMetaTraining.run(sc,
                QUADRATICS, GROUPS, OPTIONS.withSeed(18), SparkMetaTraining.Settings.synchronous(2)
                        .withCheckpoint(folder), Map.of()));
        assertTrue(e.getMessage().contains("seed = 17, this run has 18"), e.getMessage());
    }

    @Test
    void workersThatDoNotDivideTheMetaBatchAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SparkMetaTraining.run(sc,
                QUADRATICS, GROUPS, OPTIONS, SparkMetaTraining.Settings.synchronous(3), Map.of()));
        assertTrue(e.getMessage().contains("3 workers do not divide it"), e.getMessage());
    }

    /**
     * The quadratics, evaluated on the host, except that task 1's first training function throws
     * when it is drawn, after the task has joined the gradient exchange, in the first stage
     * attempt that reaches it (a marker file says it did).
     */
    record FailingSample(String marker) implements ProblemSource {
        @Override
        public ProblemSetup load() {
            OptimizeeFamily quadratics = new QuadraticFamily();
            OptimizeeFamily family = new OptimizeeFamily() {
                @Override
                public String name() {
                    return quadratics.name();
                }

                @Override
                public int dimension() {
                    return quadratics.dimension();
                }

                @Override
                public Optimizee sample(long seed) {
                    TaskContext task = TaskContext.get();
                    if (task != null && task.partitionId() == 1 && !Files.exists(Path.of(marker))) {
                        try {
                            Files.createFile(Path.of(marker));
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                        throw new IllegalStateException("injected failure of task 1 after it joined the exchange");
                    }
                    return quadratics.sample(seed);
                }
            };
            return new ProblemSetup(Problem.QUADRATIC, "quadratics failing once", family, family, family);
        }
    }

    /**
     * The quadratics, except that task 1 throws on loading them in the first stage attempt that
     * reaches it (a marker file says it did), or always when no marker is given.
     */
    record FailingOnce(PaperProblem inner, String marker) implements ProblemSource {
        @Override
        public ProblemSetup load() throws IOException {
            TaskContext task = TaskContext.get();
            if (task != null && task.partitionId() == 1
                    && (marker == null || !Files.exists(Path.of(marker)))) {
                if (marker != null) {
                    Files.createFile(Path.of(marker));
                }
                throw new IOException("injected failure of task 1");
            }
            return inner.load();
        }
    }

}
