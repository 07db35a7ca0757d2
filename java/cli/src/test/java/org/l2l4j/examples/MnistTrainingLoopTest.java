package org.l2l4j.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.l2l4j.backend.Backend;
import org.l2l4j.eval.Trajectory;
import org.l2l4j.lstm.GroupedLstm;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.meta.LearnedRollouts;
import org.l2l4j.optimizees.MlpFamily;
import org.l2l4j.optimizees.MlpSpec;
import org.l2l4j.optimizees.RandomData;
import org.l2l4j.optimizers.HandDesignedRule;
import org.l2l4j.optimizers.LstmOptimizer;
import org.l2l4j.optimizers.ParameterOptimizer;
import picocli.CommandLine;

/**
 * The example's training loop, which registers the MLP's four tensors, takes exactly the
 * trajectory of the evaluation code on the same optimizee (bitwise): with Adam that of
 * {@link Trajectory} (one registered vector), with the shipped learned optimizer that of
 * {@link LearnedRollouts}; on random data of MNIST's shape.  Bad options
 * fail with a one-line message before any training, and the usage shows the real defaults.
 */
class MnistTrainingLoopTest {
    static final int STEPS = 8;

    @Test
    void theLoopMatchesTheVectorTrajectoryForBothOptimizers() throws IOException {
        MlpFamily family = new MlpFamily(RandomData.of(3, 300, 784, 10), MlpSpec.paper());
        try (ParameterOptimizer adam = HandDesignedRule.ADAM.factory(MnistTrainingLoop.ADAM_LEARNING_RATE)
                .parameterOptimizer();
             ParameterOptimizer reference = HandDesignedRule.ADAM.factory(MnistTrainingLoop.ADAM_LEARNING_RATE)
                     .parameterOptimizer()) {
            MnistTrainingLoop.Run run = MnistTrainingLoop.train(family.sample(5), adam, STEPS);
            assertEquals(List.of("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"), adam.tensorNames());
            assertEquals(family.dimension(), adam.coordinates());
            float[] theta = new float[family.dimension()];
            assertArrayEquals(Trajectory.run(family.sample(5), reference, STEPS, theta), run.losses());
            assertArrayEquals(theta, run.theta());
        }
        OptimizerCheckpoint shipped = OptimizerCheckpoint.shippedMnist();
        try (ParameterOptimizer learned = LstmOptimizer.builder(shipped).build();
             Backend backend = Backend.cpu(0);
             GroupedLstm lstm = new GroupedLstm(shipped.groups(), backend)) {
            lstm.write(shipped.phi());
            MnistTrainingLoop.Run run = MnistTrainingLoop.train(family.sample(5), learned, STEPS);
            LearnedRollouts.Result reference = LearnedRollouts.run(backend, lstm, family, new long[] {5}, STEPS);
            assertArrayEquals(reference.losses()[0], run.losses());
            assertArrayEquals(reference.finalParameters()[0], run.theta());
        }
    }

    /** Runs the example's command line; returns exit code and standard error. */
    private static Object[] execute(String... args) {
        StringWriter err = new StringWriter();
        CommandLine cli = MnistTrainingLoop.commandLine();
        cli.setErr(new PrintWriter(err));
        int code = cli.execute(args);
        return new Object[] {code, err.toString()};
    }

    @Test
    void badOptionsFailInOneLineBeforeAnyTraining(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("a-file"), "not a folder");
        Object[] result = execute("--out", file.toString(), "--steps", "1", "--runs", "2");
        assertEquals(2, result[0]);
        assertEquals("mnist-training-loop: error: --out must name a folder, got the file " + file,
                result[1].toString().lines().findFirst().orElseThrow());
        assertEquals(2, result[1].toString().lines().count(), result[1].toString());
        for (String[] args : new String[][] {{"--steps", "0"}, {"--runs", "1"}, {"--out", ""}}) {
            Object[] r = execute(args);
            assertEquals(2, r[0], String.join(" ", args));
            assertTrue(r[1].toString().startsWith("mnist-training-loop: error: " + args[0] + " must"),
                    r[1].toString());
        }
    }

    @Test
    void theUsageShowsTheDefaultsWhateverWasParsed() {
        CommandLine cli = MnistTrainingLoop.commandLine();
        cli.parseArgs("--steps", "0", "--runs", "3");
        String usage = cli.getUsageMessage().replaceAll("\\s+", " ");
        assertTrue(usage.contains("Steps per run, at least 1 (default: 100)"), usage);
        assertTrue(usage.contains("(default: 8)"), usage);
        assertTrue(usage.contains("(default: runs/example)"), usage);
    }
}
