package org.l2l4j.optimizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.CudaTests;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;

/**
 * The LSTM optimizer on a CUDA backend: host tensors of every kind (copied to the device and
 * back) and raw device pointers (updated in place) take the CPU optimizer's steps to 1e-5 (max
 * abs difference of the parameter changes over max abs of the CPU's), and a saved state resumes
 * bitwise.  Skipped, saying why, where no CUDA device is usable (failed with
 * {@code L2L_REQUIRE_CUDA=1}, {@link org.l2l4j.backend.CudaTests}).
 */
class LstmOptimizerCudaTest {
    static final double TOLERANCE = 1e-5;
    static final int[] SIZES = {1000, 37, 4097, 3, 250};
    static final int STEPS = 6;

    @TempDir
    Path dir;

    @BeforeEach
    void requireDevice() {
        CudaTests.requireDevice();
    }

    private static final OptimizerCheckpoint CHECKPOINT = MixedTensors.checkpoint(LstmConfig.paperMnist(), 12);

    /** The parameter changes after each of STEPS steps on the CPU, for the tensors of seed 5. */
    private static float[][] cpuRun() {
        try (MixedTensors tensors = new MixedTensors(5, SIZES);
             LstmOptimizer optimizer = LstmOptimizer.builder(CHECKPOINT).build()) {
            tensors.register(optimizer);
            float[][] thetas = new float[STEPS + 1][];
            thetas[0] = tensors.parameters();
            for (int t = 0; t < STEPS; t++) {
                tensors.computeGradients();
                optimizer.step();
                thetas[t + 1] = tensors.parameters();
            }
            return thetas;
        }
    }

    private static void assertClose(float[][] expected, float[][] actual) {
        for (int t = 1; t <= STEPS; t++) {
            double[] a = new double[expected[t].length];
            double[] b = new double[a.length];
            for (int i = 0; i < a.length; i++) {
                a[i] = (double) actual[t][i] - actual[t - 1][i];
                b[i] = (double) expected[t][i] - expected[t - 1][i];
            }
            double err = LstmOptimizerTest.relativeError(a, b);
            assertTrue(err < TOLERANCE, "step " + t + ": CUDA differs from the CPU by " + err);
        }
    }

    @Test
    void hostTensorsOnCudaMatchTheCpu() {
        try (Backend gpu = Backend.cuda(0); MixedTensors tensors = new MixedTensors(5, SIZES);
             LstmOptimizer optimizer = LstmOptimizer.builder(CHECKPOINT).backend(gpu).build()) {
            tensors.register(optimizer);
            float[][] thetas = new float[STEPS + 1][];
            thetas[0] = tensors.parameters();
            for (int t = 0; t < STEPS; t++) {
                tensors.computeGradients();
                optimizer.step();
                thetas[t + 1] = tensors.parameters();
            }
            assertClose(cpuRun(), thetas);
        }
    }

    @Test
    void devicePointersMatchTheCpuAndResumeBitwise() throws IOException {
        float[][] cpu = cpuRun();
        try (Backend gpu = Backend.cuda(0); MixedTensors host = new MixedTensors(5, SIZES)) {
            int n = host.coordinates();
            float[][] thetas = new float[STEPS + 1][];
            thetas[0] = host.parameters();
            Path saved = dir.resolve("cuda.safetensors");
            float[] straight;
            try (NativeBuffer theta = gpu.allocateFloats(n); NativeBuffer grad = gpu.allocateFloats(n)) {
                try (LstmOptimizer optimizer = LstmOptimizer.builder(CHECKPOINT).backend(gpu).build()) {
                    registerSlices(optimizer, theta, grad);
                    theta.write(thetas[0]);
                    for (int t = 0; t < STEPS; t++) {
                        host.setParameters(theta.toFloatArray());
                        host.computeGradients();
                        grad.write(host.gradients());
                        optimizer.step();
                        thetas[t + 1] = theta.toFloatArray();
                        if (t == 2) {
                            optimizer.saveState(saved);
                        }
                    }
                    straight = thetas[STEPS];
                }
                try (LstmOptimizer resumed = LstmOptimizer.builder(CHECKPOINT).backend(gpu).build()) {
                    registerSlices(resumed, theta, grad);
                    resumed.loadState(saved);
                    theta.write(thetas[3]);
                    for (int t = 3; t < STEPS; t++) {
                        host.setParameters(theta.toFloatArray());
                        host.computeGradients();
                        grad.write(host.gradients());
                        resumed.step();
                    }
                    assertArrayEquals(straight, theta.toFloatArray(), "the resumed CUDA run differs");
                }
            }
            assertClose(cpu, thetas);
        }
    }

    /** Registers the device buffers as tensors of SIZES, by raw device address. */
    private static void registerSlices(LstmOptimizer optimizer, NativeBuffer theta, NativeBuffer grad) {
        long at = 0;
        for (int k = 0; k < SIZES.length; k++) {
            optimizer.registerDevice("t" + k, theta.address(at), grad.address(at), SIZES[k]);
            at += SIZES[k];
        }
    }
}
