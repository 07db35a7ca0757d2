package org.l2l4j.optimizees;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.CudaTests;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.backend.Status;
import org.l2l4j.data.Dataset;
import org.l2l4j.optimizees.MlpSpec.Activation;

/**
 * The resident MLP evaluation on CUDA (cuBLAS + the CUDA MLP kernels) against the same on the
 * CPU backend (OpenBLAS + the CPU twins), on MNIST-shaped random data: losses and gradients
 * agree to 1e-5 (max |a - b| / max |b|), repeated CUDA evaluations are bitwise identical,
 * and bad launches fail cleanly.  Skipped, saying why, without a CUDA device or without cuBLAS
 * (failed with {@code L2L_REQUIRE_CUDA=1}, {@link org.l2l4j.backend.CudaTests}).
 */
class ResidentMlpCudaTest {
    static final double TOLERANCE = 1e-5;
    static final Dataset DATA = RandomData.of(17, 500, 784, 10);
    static Backend gpu;
    static Backend cpu;

    /** Opens the backends once; skips every test, saying why, without a device or cuBLAS. */
    @BeforeEach
    void requireDeviceAndCublas() {
        CudaTests.requireDevice();
        if (gpu == null) {
            gpu = Backend.cuda(0);
            cpu = Backend.cpu(0);
        }
        try (ResidentMlpFamily probe = new ResidentMlpFamily(new MlpFamily(RandomData.of(1, 2, 3, 2),
                MlpSpec.paper()), gpu)) {
            assertEquals(3 * 20 + 20 + 20 * 2 + 2, probe.dimension());
        } catch (L2lException e) {
            throw CudaTests.requireLibrary("cuBLAS", e);
        }
    }

    @AfterAll
    static void close() {
        if (gpu != null) {
            gpu.close();
            cpu.close();
        }
    }

    /** Losses [evaluation][instance] and gradients [evaluation][B d] of a few evaluations. */
    private record Run(double[][] losses, float[][] gradients) {
    }

    private static Run run(Backend backend, MlpSpec spec, int instances, int evaluations, long seed) {
        MlpFamily family = new MlpFamily(DATA, spec);
        int n = instances * family.dimension();
        Random random = new Random(seed);
        float[] theta = new float[n];
        for (int i = 0; i < n; i++) {
            theta[i] = (float) (0.1 * random.nextGaussian());
        }
        long[] seeds = new long[instances];
        Arrays.setAll(seeds, b -> seed + b);
        double[][] losses = new double[evaluations][instances];
        float[][] gradients = new float[evaluations][n];
        try (ResidentMlpFamily resident = new ResidentMlpFamily(family, backend);
             ResidentMlpBatch batch = resident.batch(instances); NativeBuffer t = backend.allocateFloats(n);
             NativeBuffer g = backend.allocateFloats(n); NativeBuffer l = backend.allocateDoubles(instances)) {
            batch.start(seeds, t);
            t.write(theta);
            for (int e = 0; e < evaluations; e++) {
                batch.evaluate(t, g, 1, l, 0);
                l.read(0, losses[e], 0, instances);
                g.read(0, gradients[e], 0, n);
            }
        }
        return new Run(losses, gradients);
    }

    private static double relativeError(float[] a, float[] b) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            num = Math.max(num, Math.abs((double) a[i] - b[i]));
            den = Math.max(den, Math.abs(b[i]));
        }
        return num / den;
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"SIGMOID, 20", "RELU, 20", "SIGMOID, 40", "SIGMOID, 20;20"})
    void cudaMatchesTheCpuBackend(Activation activation, String hiddenList) {
        int[] hidden = Arrays.stream(hiddenList.split(";")).mapToInt(Integer::parseInt).toArray();
        MlpSpec spec = MlpSpec.paper().withActivation(activation).withHiddenWidths(hidden);
        Run onCpu = run(cpu, spec, 3, 3, 9);
        Run onGpu = run(gpu, spec, 3, 3, 9);
        for (int e = 0; e < 3; e++) {
            for (int b = 0; b < 3; b++) {
                double want = onCpu.losses()[e][b];
                assertEquals(want, onGpu.losses()[e][b], TOLERANCE * want, "loss, evaluation " + e + ", instance " + b);
            }
            double err = relativeError(onGpu.gradients()[e], onCpu.gradients()[e]);
            assertTrue(err <= TOLERANCE, "gradient, evaluation " + e + ": CUDA vs CPU error " + err);
        }
    }

    @Test
    void repeatedCudaEvaluationsAreBitwiseIdentical() {
        MlpSpec spec = MlpSpec.paper();
        Run a = run(gpu, spec, 2, 2, 4);
        Run b = run(gpu, spec, 2, 2, 4);
        for (int e = 0; e < 2; e++) {
            assertArrayEquals(a.losses()[e], b.losses()[e], 0.0);
            assertArrayEquals(a.gradients()[e], b.gradients()[e], 0f);
        }
    }

    @Test
    void badLaunchesFailCleanlyAndLeaveTheContextUsable() {
        MlpFamily family = new MlpFamily(DATA, MlpSpec.paper());
        int d = family.dimension();
        try (ResidentMlpFamily resident = new ResidentMlpFamily(family, gpu); ResidentMlpBatch batch = resident.batch(1);
             NativeBuffer t = gpu.allocateFloats(d); NativeBuffer g = gpu.allocateFloats(d);
             NativeBuffer l = gpu.allocateDoubles(1); NativeBuffer hostT = cpu.allocateFloats(d);
             NativeBuffer idx = gpu.allocateInts(4); NativeBuffer x = gpu.allocateFloats(4 * 784);
             NativeBuffer y = gpu.allocateInts(4)) {
            batch.start(new long[] {1}, t);
            assertThrows(IllegalArgumentException.class, () -> batch.evaluate(hostT, g, 1, l, 0), "a CPU buffer");
            idx.write(0, new int[] {0, 1, DATA.size(), 2}, 0, 4);
            L2lException e = assertThrows(L2lException.class,
                    () -> MlpKernels.gather(resident.images(), resident.labels(), 784, idx, 0, 4, x, y, true));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("indices[2]"), e.getMessage());
            assertArrayEquals(new float[4 * 784], x.toFloatArray(), 0f, "written despite the rejected index");
            float[] nan = new float[d];
            nan[5] = Float.NaN;
            t.write(nan);
            batch.evaluate(t, g, 1, l, 0);
            assertTrue(Double.isNaN(l.toDoubleArray()[0]), "a NaN parameter must give a NaN loss");
            t.write(new float[d]);
            batch.evaluate(t, g, 1, l, 0);
            assertEquals(Math.log(10), l.toDoubleArray()[0], 1e-6, "zero parameters: uniform softmax");
        }
    }
}
