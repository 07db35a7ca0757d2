package org.l2l4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.meta.MetaTrainingOptions;
import org.l2l4j.meta.Recipe;
import org.l2l4j.meta.TrainingCheckpoint;
import org.l2l4j.meta.TrainingState;
import org.l2l4j.optimizees.Optimizee;
import org.l2l4j.optimizees.OptimizeeFamily;
import org.l2l4j.optimizees.Problem;
import org.l2l4j.optimizees.ProblemSetup;
import org.l2l4j.optimizees.QuadraticFamily;

/**
 * A meta-training run whose checkpoint write after its second validation is interrupted fails
 * with the IOException, and leaves the checkpoints of the first validation intact, loadable and
 * free of temporary files; resuming from them ends bitwise where an uninterrupted run ends.
 */
class TrainingRunFaultTest {
    @TempDir
    Path dir;

    static final LstmConfig CONFIG = LstmConfig.paperQuadratic().withWidths(5);
    static final MetaTrainingOptions OPTIONS = MetaTrainingOptions.defaults().withHorizon(20).withUnroll(5)
            .withEpochs(2).withEvaluation(1, 4).withSeed(3);

    @AfterEach
    void clearInterrupt() {
        Thread.interrupted();
    }

    /** Quadratics that interrupt the calling thread when the {@code at}-th function is sampled. */
    private static final class Interrupting implements OptimizeeFamily {
        final QuadraticFamily base = new QuadraticFamily();
        final AtomicInteger sampled = new AtomicInteger();
        final int at;

        Interrupting(int at) {
            this.at = at;
        }

        @Override
        public String name() {
            return base.name();
        }

        @Override
        public int dimension() {
            return base.dimension();
        }

        @Override
        public Optimizee sample(long seed) {
            if (sampled.getAndIncrement() == at) {
                Thread.currentThread().interrupt();
            }
            return base.sample(seed);
        }
    }

    private static TrainingRun.Outcome train(ProblemSetup setup, MetaTrainingOptions options, Path resume, Path folder)
            throws IOException {
        Files.createDirectories(folder);
        PrintWriter sink = new PrintWriter(new StringWriter());
        try (Backend backend = Backend.cpu(1)) {
            return new TrainingRun(new TrainingRun.Request(setup, ParameterGroups.single(CONFIG), options, 1, Optional.empty(), Recipe.PAPER, resume, false, folder), sink,
                    new ProgressBars(sink, false)).run(backend, 1);
        }
    }

    private static ProblemSetup setup(OptimizeeFamily validation) {
        QuadraticFamily f = new QuadraticFamily();
        return new ProblemSetup(Problem.QUADRATIC, f.name(), f, validation, f);
    }

    @Test
    void anInterruptedCheckpointWriteLeavesTheLastCheckpointsAndTrainingResumes() throws IOException {
        Path clean1 = dir.resolve("clean-1");
        TrainingState afterOne = train(setup(new QuadraticFamily()), OPTIONS.withEpochs(1), null, clean1).state();
        TrainingState afterTwo = train(setup(new QuadraticFamily()), OPTIONS, null, dir.resolve("clean-2")).state();

        Path run = dir.resolve("interrupted");
        // 4 validation functions per validation: the 9th sample is the third validation's first (the
        // first validates the initial phi, the second follows epoch 1)
        Interrupting validation = new Interrupting(2 * OPTIONS.validationFunctions());
        assertThrows(ClosedByInterruptException.class, () -> train(setup(validation), OPTIONS, null, run));
        Thread.interrupted(); // the flag may or may not survive the progress bar's closing

        try (Stream<Path> files = Files.list(run)) {
            assertEquals(List.of(TrainingRun.CURVE_CSV, TrainingRun.OPTIMIZER, TrainingRun.TRAINING),
                    files.map(p -> p.getFileName().toString()).sorted().toList(), "no temporary file is left");
        }
        TrainingState kept = TrainingCheckpoint.load(run.resolve(TrainingRun.TRAINING)).state();
        assertEquals(1, kept.epochs());
        assertArrayEquals(afterOne.phi(), kept.phi());
        assertArrayEquals(afterOne.adamSecond(), kept.adamSecond());
        assertArrayEquals(afterOne.bestPhi(), kept.bestPhi());
        float[] best = OptimizerCheckpoint.load(run.resolve(TrainingRun.OPTIMIZER)).phi();
        for (int i = 0; i < best.length; i++) {
            assertEquals((float) afterOne.bestPhi()[i], best[i]);
        }

        TrainingState resumed = train(setup(new QuadraticFamily()), OPTIONS, run.resolve(TrainingRun.TRAINING), run).state();
        assertArrayEquals(afterTwo.phi(), resumed.phi());
        assertArrayEquals(afterTwo.bestPhi(), resumed.bestPhi());
        assertEquals(afterTwo.bestValidation(), resumed.bestValidation());
    }
}
