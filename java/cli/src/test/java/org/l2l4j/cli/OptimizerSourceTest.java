package org.l2l4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.optimizees.Problem;

class OptimizerSourceTest {
    @Test
    void withoutAFileTheShippedOptimizerOfTheProblemIsUsed() throws IOException {
        OptimizerSource source = new OptimizerSource();
        source.defaultFor(null);
        assertEquals("the shipped MNIST optimizer", source.describe());
        assertEquals(OptimizerCheckpoint.shippedMnist().groups(), source.load().groups());
        for (Problem cifar : List.of(Problem.CIFAR10, Problem.CIFAR5, Problem.CIFAR2)) {
            source.defaultFor(cifar);
            assertEquals("the shipped CIFAR-10 optimizer", source.describe(), cifar.toString());
            assertEquals(List.of("conv", "fc"), source.load().groups().names(), cifar.toString());
        }
        source.defaultFor(Problem.QUADRATIC);
        assertEquals("the shipped MNIST optimizer", source.describe());
    }
}
