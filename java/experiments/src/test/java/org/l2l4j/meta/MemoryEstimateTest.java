package org.l2l4j.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.l2l4j.data.Dataset;
import org.l2l4j.eval.Comparison;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.ParameterGroup;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.lstm.TensorRule;
import org.l2l4j.meta.MemoryEstimate.Driver;
import org.l2l4j.meta.MemoryEstimate.Memory;
import org.l2l4j.optimizees.MlpFamily;
import org.l2l4j.optimizees.MlpSpec;
import org.l2l4j.optimizees.Problem;
import org.l2l4j.optimizees.ProblemSetup;
import org.l2l4j.optimizees.QuadraticFamily;
import org.l2l4j.optimizees.RandomData;

/** Memory estimates follow the sizes of the buffers, and name the settings that drive the largest. */
class MemoryEstimateTest {
    private static final LstmConfig MNIST = LstmConfig.paperMnist();

    private static Map<String, Long> bytesByPart(MemoryEstimate e) {
        return e.parts().stream().collect(Collectors.toMap(MemoryEstimate.Part::what, MemoryEstimate.Part::bytes));
    }

    @Test
    void metaTrainingOnMlpsCountsTheRecordTheStateAndTheDataCopies() {
        Dataset train = RandomData.of(1, 500, 784, 10);
        Dataset validation = RandomData.of(2, 100, 784, 10);
        MlpFamily training = new MlpFamily(train, MlpSpec.paper());
        int d = training.dimension();
        MetaTrainingOptions o = MetaTrainingOptions.defaults().withInstances(4, InputScaling.PAPER);
        Map<String, Long> parts = bytesByPart(MetaTrainer.memoryEstimate(ParameterGroups.single(MNIST), o, training,
                new MlpFamily(validation, MlpSpec.paper())));
        long n = 4L * d;
        assertEquals(4L * (1 + 80) * 20 * n, parts.get("the backward record"), "4 (1 + S) bytes per coordinate step");
        String state = "the optimizees' parameters, gradients (and with several groups each group's gathered gradients)"
                + " and LSTM state";
        assertEquals(4L * (2 + 80) * n, parts.get(state));
        Map<String, Long> grouped = bytesByPart(MetaTrainer.memoryEstimate(new ParameterGroups(List.of(
                new ParameterGroup("w", TensorRule.parse("*.weight"), MNIST.withWidths(4)),
                new ParameterGroup("b", TensorRule.ALL, MNIST))), o, training, new MlpFamily(validation, MlpSpec.paper())));
        assertEquals(4L * (3 + 80) * n, grouped.get(state), "the largest group's state, and the gathered gradients");
        assertEquals(4L * (1 + 80) * 20 * n, grouped.get("the backward record"), "the largest group's record");
        assertEquals(4L * 785 * 500, parts.get("the training data on the backend"));
        assertEquals(4L * 785 * 100, parts.get("the validation data on the backend"));
        // ResidentMlpBatch: 470 KB per instance of the paper's MLP on MNIST's shape
        assertEquals(4 * 470_528L + 8L * 20 * 4, parts.get("the optimizees' evaluation buffers"));
    }

    @Test
    void theLargestPartsNameTheSettingsThatDriveThem() {
        QuadraticFamily f = new QuadraticFamily();
        MemoryEstimate many = MetaTrainer.memoryEstimate(ParameterGroups.single(LstmConfig.paperQuadratic()),
                MetaTrainingOptions.defaults().withInstances(1_000_000_000, InputScaling.PAPER), f, f);
        assertEquals("the backward record", many.largest(Memory.NATIVE).get(0).what());
        assertTrue(many.drivers(Memory.NATIVE).containsAll(Set.of(Driver.INSTANCES, Driver.UNROLL)),
                many.drivers(Memory.NATIVE).toString());
        assertTrue(many.bytes(Memory.NATIVE) > 6e13, "64-bit sizes: " + many.bytes(Memory.NATIVE));

        MemoryEstimate validation = MetaTrainer.memoryEstimate(ParameterGroups.single(LstmConfig.paperQuadratic()),
                MetaTrainingOptions.defaults().withEvaluation(10, 100_000_000), f, f);
        assertEquals(Set.of(Driver.VALIDATION_FUNCTIONS, Driver.STEPS, Driver.OPTIMIZEE),
                validation.drivers(Memory.JAVA_HEAP));
    }

    @Test
    void anEvaluationCountsItsRunsAndSteps() {
        MemoryEstimate e = Comparison.memoryEstimate(ParameterGroups.single(LstmConfig.paperQuadratic()), ProblemSetup.quadratic(),
                new Comparison.Settings(2, 2_000_000_000, 1, 0, 1));
        assertTrue(e.bytes(Memory.JAVA_HEAP) > 5L * 2 * 2_000_000_000L * 8, e.toString());
        assertEquals(Set.of(Driver.RUNS, Driver.STEPS), Set.copyOf(List.copyOf(e.drivers(Memory.JAVA_HEAP)).subList(0, 2)));
        assertTrue(!e.drivers(Memory.JAVA_HEAP).contains(Driver.INSTANCES));
        Dataset test = RandomData.of(3, 1000, 784, 10);
        MlpFamily mlp = new MlpFamily(test, MlpSpec.paper());
        MemoryEstimate onMlps = Comparison.memoryEstimate(ParameterGroups.single(MNIST), new ProblemSetup(Problem.MNIST, "t", mlp, mlp, mlp),
                new Comparison.Settings(64, 100, 4, 0, 1));
        assertEquals(4L * 785 * 1000, bytesByPart(onMlps).get("the test data on the backend"));
    }

    @Test
    void sizesSaturateInsteadOfOverflowing() {
        assertEquals(Long.MAX_VALUE, MemoryEstimate.size(4, Long.MAX_VALUE / 2, 4));
        assertEquals(Long.MAX_VALUE, MemoryEstimate.sum(Long.MAX_VALUE, 1));
        assertEquals(24, MemoryEstimate.size(4, 2, 3));
        assertThrows(IllegalArgumentException.class, () -> MemoryEstimate.size(4, -1));
    }
}
