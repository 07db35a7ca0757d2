package org.l2l4j.consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.optimizers.LstmOptimizer;
import org.l2l4j.optimizers.ParameterOptimizer;

/**
 * What an application does with the library alone: a training loop of its own (a linear model
 * Y = X W^T + b fitted by mean squared error, gradients written by the loop) whose two tensors
 * are stepped by the shipped learned optimizer, and its state saved and resumed.
 */
class ShippedOptimizerTest {
    private static final int EXAMPLES = 64;
    private static final int INPUTS = 5;
    private static final int OUTPUTS = 3;

    /** The regression problem: inputs X [EXAMPLES x INPUTS] and targets Y [EXAMPLES x OUTPUTS]. */
    private static final class Regression {
        final double[] x = new double[EXAMPLES * INPUTS];
        final double[] y = new double[EXAMPLES * OUTPUTS];

        Regression(long seed) {
            SplittableRandom random = new SplittableRandom(seed);
            double[] w = new double[OUTPUTS * INPUTS];
            for (int i = 0; i < w.length; i++) {
                w[i] = random.nextGaussian() * 0.5;
            }
            for (int i = 0; i < x.length; i++) {
                x[i] = random.nextGaussian();
            }
            for (int e = 0; e < EXAMPLES; e++) {
                for (int o = 0; o < OUTPUTS; o++) {
                    double s = 0.2 * (o - 1);
                    for (int i = 0; i < INPUTS; i++) {
                        s += w[o * INPUTS + i] * x[e * INPUTS + i];
                    }
                    y[e * OUTPUTS + o] = s + 0.05 * random.nextGaussian();
                }
            }
        }

        /** Mean squared error of (weight, bias); writes its gradients. */
        double lossAndGradients(float[] weight, float[] bias, float[] dWeight, float[] dBias) {
            double[] dw = new double[weight.length];
            double[] db = new double[bias.length];
            double loss = 0;
            for (int e = 0; e < EXAMPLES; e++) {
                for (int o = 0; o < OUTPUTS; o++) {
                    double r = bias[o] - y[e * OUTPUTS + o];
                    for (int i = 0; i < INPUTS; i++) {
                        r += weight[o * INPUTS + i] * x[e * INPUTS + i];
                    }
                    loss += r * r / EXAMPLES;
                    db[o] += 2 * r / EXAMPLES;
                    for (int i = 0; i < INPUTS; i++) {
                        dw[o * INPUTS + i] += 2 * r * x[e * INPUTS + i] / EXAMPLES;
                    }
                }
            }
            for (int i = 0; i < dw.length; i++) {
                dWeight[i] = (float) dw[i];
            }
            for (int o = 0; o < db.length; o++) {
                dBias[o] = (float) db[o];
            }
            return loss;
        }
    }

    @Test
    void theShippedOptimizerTrainsATwoTensorModelAndResumesExactly(@TempDir Path dir) throws IOException {
        Regression problem = new Regression(3);
        float[] weight = new float[OUTPUTS * INPUTS];
        float[] bias = new float[OUTPUTS];
        float[] dWeight = new float[weight.length];
        float[] dBias = new float[bias.length];
        double first;
        double last;
        float[] weightAtSave;
        float[] biasAtSave;
        float[] weightAfter;
        Path state = dir.resolve("optimizer.safetensors");
        try (ParameterOptimizer optimizer = LstmOptimizer.builder(OptimizerCheckpoint.shippedMnist()).build()) {
            optimizer.register("linear.weight", weight, dWeight);
            optimizer.register("linear.bias", bias, dBias);
            assertEquals(List.of("linear.weight", "linear.bias"), optimizer.tensorNames());
            first = problem.lossAndGradients(weight, bias, dWeight, dBias);
            for (int t = 0; t < 50; t++) {
                optimizer.step();
                problem.lossAndGradients(weight, bias, dWeight, dBias);
            }
            optimizer.saveState(state);
            weightAtSave = weight.clone();
            biasAtSave = bias.clone();
            for (int t = 0; t < 50; t++) {
                optimizer.step();
                problem.lossAndGradients(weight, bias, dWeight, dBias);
            }
            last = problem.lossAndGradients(weight, bias, dWeight, dBias);
            weightAfter = weight.clone();
        }
        assertTrue(last < 0.1 * first, "loss " + first + " -> " + last + " after 100 learned steps");

        // A new optimizer resumed from the saved state repeats steps 51..100 bit for bit.
        System.arraycopy(weightAtSave, 0, weight, 0, weight.length);
        System.arraycopy(biasAtSave, 0, bias, 0, bias.length);
        try (ParameterOptimizer resumed = LstmOptimizer.builder(OptimizerCheckpoint.shippedMnist()).build()) {
            resumed.register("linear.weight", weight, dWeight);
            resumed.register("linear.bias", bias, dBias);
            resumed.loadState(state);
            assertEquals(50, resumed.stepCount());
            problem.lossAndGradients(weight, bias, dWeight, dBias);
            for (int t = 0; t < 50; t++) {
                resumed.step();
                problem.lossAndGradients(weight, bias, dWeight, dBias);
            }
        }
        assertArrayEquals(weightAfter, weight);
    }
}
