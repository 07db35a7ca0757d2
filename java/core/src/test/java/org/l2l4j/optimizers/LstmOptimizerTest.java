package org.l2l4j.optimizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.lstm.CoordinatewiseLstm;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.Precision;
import org.l2l4j.lstm.Preprocessing;
import org.l2l4j.lstm.TensorList;
import org.l2l4j.reference.ReferenceLstm;

/**
 * The drop-in LSTM optimizer computes the paper's update over many tensors of every kind in
 * one step: against the float64 reference (eq. 1 and 3, per coordinate, its hidden state carried
 * across steps) to 1e-5, and bitwise equal to the raw fused step over one concatenated vector
 * (the same state layout, tensor 0 first), in float32 and with bfloat16 gate products (a
 * checkpoint's {@code withPrecision}).
 */
class LstmOptimizerTest {
    static final double TOLERANCE = 1e-5;
    /** One tensor per holder kind, of different sizes, 1 to 257 coordinates. */
    static final int[] SIZES = {37, 5, 257, 3, 11, 1};

    @Test
    void stepsOfManyTensorsMatchTheFloat64Reference() {
        LstmConfig config = new LstmConfig(new int[] {20, 20}, Preprocessing.LOG_AND_SIGN, 10, 0.1, false);
        OptimizerCheckpoint checkpoint = MixedTensors.checkpoint(config, 5);
        double[] phi = new double[checkpoint.phi().length];
        for (int i = 0; i < phi.length; i++) {
            phi[i] = checkpoint.phi()[i];
        }
        ReferenceLstm reference = new ReferenceLstm(config, phi);
        SplittableRandom rnd = new SplittableRandom(11);
        try (MixedTensors tensors = new MixedTensors(3, SIZES);
             LstmOptimizer optimizer = LstmOptimizer.builder(checkpoint).threads(1).build()) {
            tensors.register(optimizer);
            int n = tensors.coordinates();
            double[][] states = new double[n][config.stateRows()];
            for (int t = 0; t < 4; t++) {
                float[] gradient = spanningGradients(n, rnd);
                tensors.setGradients(gradient);
                float[] before = tensors.parameters();
                optimizer.step();
                float[] after = tensors.parameters();
                assertArrayEquals(gradient, tensors.gradients(), "a step must not write the gradients");
                double[] delta = new double[n];
                double[] expected = new double[n];
                for (int i = 0; i < n; i++) {
                    delta[i] = (double) after[i] - before[i];
                    expected[i] = reference.step(gradient[i], states[i]);
                }
                double err = relativeError(delta, expected);
                assertTrue(err < TOLERANCE, "step " + t + ": delta differs from the float64 reference by " + err);
            }
            assertEquals(4, optimizer.stepCount());
        }
    }

    @ParameterizedTest
    @EnumSource(Precision.class)
    void equalsTheRawFusedStepOverOneVectorBitwise(Precision precision) {
        LstmConfig config = LstmConfig.paperMnist().withPrecision(precision);
        OptimizerCheckpoint checkpoint = MixedTensors.checkpoint(LstmConfig.paperMnist(), 8).withPrecision(precision);
        try (MixedTensors tensors = new MixedTensors(4, SIZES);
             Backend backend = Backend.cpu(1);
             CoordinatewiseLstm lstm = new CoordinatewiseLstm(config);
             NativeBuffer phi = backend.allocateFloats(lstm.phiSize());
             NativeBuffer theta = backend.allocateFloats(tensors.coordinates());
             NativeBuffer grad = backend.allocateFloats(tensors.coordinates());
             NativeBuffer state = backend.allocateFloats((long) config.stateRows() * tensors.coordinates());
             TensorList raw = TensorList.of(theta, grad);
             LstmOptimizer optimizer = LstmOptimizer.builder(checkpoint).build()) {
            phi.write(checkpoint.phi());
            theta.write(tensors.parameters());
            tensors.register(optimizer);
            for (int t = 0; t < 5; t++) {
                tensors.computeGradients();
                grad.write(tensors.gradients());
                optimizer.step();
                lstm.step(phi, raw, state, null, 0, true);
                assertArrayEquals(theta.toFloatArray(), tensors.parameters(), "step " + t);
            }
            assertEquals(precision == Precision.FLOAT32 ? null : precision.name(), optimizer.settings().get("precision"));
        }
    }

    @Test
    void identityPreprocessingAndNoLstmLayers() {
        LstmConfig linear = new LstmConfig(new int[0], Preprocessing.IDENTITY, 10, 1.0, false);
        OptimizerCheckpoint checkpoint = MixedTensors.checkpoint(linear, 2);
        float w = checkpoint.phi()[0];
        float bias = checkpoint.phi()[1];
        try (MixedTensors tensors = new MixedTensors(6, SIZES);
             LstmOptimizer optimizer = LstmOptimizer.builder(checkpoint).build()) {
            tensors.register(optimizer);
            tensors.computeGradients();
            float[] before = tensors.parameters();
            float[] g = tensors.gradients();
            optimizer.step();
            float[] after = tensors.parameters();
            double[] delta = new double[g.length];
            double[] expected = new double[g.length];
            for (int i = 0; i < g.length; i++) {
                delta[i] = (double) after[i] - before[i];
                expected[i] = (double) w * g[i] + bias;
            }
            assertTrue(relativeError(delta, expected) < TOLERANCE);
        }
    }

    static double relativeError(double[] a, double[] b) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            num = Math.max(num, Math.abs(a[i] - b[i]));
            den = Math.max(den, Math.abs(b[i]));
        }
        assertTrue(den > 0, "the reference is all zeros");
        return num / den;
    }

    /** Gradients log-uniform in magnitude over 1e-9..1e2, both signs. */
    static float[] spanningGradients(int n, SplittableRandom rnd) {
        float[] g = new float[n];
        for (int i = 0; i < n; i++) {
            double mag = Math.pow(10, -9 + 11 * rnd.nextDouble());
            g[i] = (float) (rnd.nextBoolean() ? mag : -mag);
        }
        return g;
    }
}
