package org.l2l4j.optimizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A hand-designed rule behind the registration interface takes, over tensors of every kind, the
 * same steps as the rule's vector optimizer on the concatenated parameter vector (bitwise): the
 * registered optimizer reuses the rule's update.
 */
class HandDesignedParameterOptimizerTest {

    @ParameterizedTest
    @EnumSource(HandDesignedRule.class)
    void equalsTheVectorOptimizerOnTheConcatenatedVector(HandDesignedRule rule) {
        HandDesignedRule.Factory factory = rule.factory(0.03);
        try (MixedTensors tensors = new MixedTensors(21, 17, 3, 64, 2, 5, 1);
             ParameterOptimizer registered = factory.parameterOptimizer()) {
            HandDesignedOptimizer vector = HandDesignedOptimizer.of(rule, tensors.coordinates(), 0.03);
            tensors.register(registered);
            float[] theta = tensors.parameters();
            for (int t = 0; t < 6; t++) {
                tensors.computeGradients();
                registered.step();
                vector.step(theta, tensors.gradients());
                assertArrayEquals(theta, tensors.parameters(), rule + " step " + t);
            }
            assertEquals(6, registered.stepCount());
        }
    }
}
