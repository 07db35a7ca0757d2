package org.l2l4j.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.l2l4j.backend.Backend;
import org.l2l4j.checkpoint.OptimizerCheckpoint;
import org.l2l4j.eval.Trajectory;
import org.l2l4j.optimizees.MlpFamily;
import org.l2l4j.optimizees.MlpSpec;
import org.l2l4j.optimizees.RandomData;
import org.l2l4j.optimizers.HandDesignedRule;
import org.l2l4j.optimizers.LearnedOptimizer;
import org.l2l4j.optimizers.LstmOptimizer;
import org.l2l4j.optimizers.Optimizer;
import org.l2l4j.optimizers.ParameterOptimizer;

/**
 * The example's training loop, which registers the MLP's four tensors, takes exactly the
 * trajectory of the evaluation code's vector optimizers on the same optimizee (bitwise), with
 * Adam and with the shipped learned optimizer; on random data of MNIST's shape.
 */
class MnistTrainingLoopTest {
    static final int STEPS = 8;

    @Test
    void theLoopMatchesTheVectorTrajectoryForBothOptimizers() throws IOException {
        MlpFamily family = new MlpFamily(RandomData.of(3, 300, 784, 10), MlpSpec.paper());
        try (ParameterOptimizer adam = HandDesignedRule.ADAM.factory(MnistTrainingLoop.ADAM_LEARNING_RATE)
                .parameterOptimizer();
             Optimizer reference = HandDesignedRule.ADAM.factory(MnistTrainingLoop.ADAM_LEARNING_RATE)
                     .create(family.dimension())) {
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
             Optimizer reference = new LearnedOptimizer(backend, shipped.config(), shipped.phi(), family.dimension())) {
            MnistTrainingLoop.Run run = MnistTrainingLoop.train(family.sample(5), learned, STEPS);
            float[] theta = new float[family.dimension()];
            assertArrayEquals(Trajectory.run(family.sample(5), reference, STEPS, theta), run.losses());
            assertArrayEquals(theta, run.theta());
        }
    }
}
