package org.l2l4j.optimizees;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.CudaTests;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.data.Dataset;

/**
 * The convolutional optimizee evaluated in place on a CUDA device (cuDNN and cuBLAS,
 * {@link ResidentConvNetFamily}): on tiny random shapes, each instance's loss against the
 * independent float64 reference ({@link ConvNetReference}) on the minibatch its host optimizee
 * draws, and its gradient per tensor against the reference's central finite differences; on the
 * paper's network, against the host evaluation of the same seeds; repeated evaluations bitwise
 * identical (cuDNN's deterministic algorithms, no TF32); a gradient scale of 1/2 exactly halves
 * the gradient.  Skipped, saying why, without a CUDA device, cuDNN or cuBLAS (failed with
 * {@code L2L_REQUIRE_CUDA=1}, {@link CudaTests}).
 */
class ResidentConvNetCudaTest {
    /**
     * Per tensor, max |a - b| / max |b| against the finite differences: the host's float32
     * evaluation stays under 2e-6 (its test's bound is 2e-5); cuDNN sums in other orders and
     * keeps batch norm's sums in float32, hence the wider bound.
     */
    static final double GRADIENT_TOLERANCE = 1e-4;
    /** Relative tolerance of the losses (float32 forward against float64). */
    static final double LOSS_TOLERANCE = 2e-5;
    static Backend gpu;

    static List<ConvNetSpec> specs() {
        return List.of(
                new ConvNetSpec(2, 8, List.of(3, 2), 3, 4, 5),
                new ConvNetSpec(3, 4, List.of(2), 5, 3, 4),
                new ConvNetSpec(2, 16, List.of(2, 3, 2), 1, 2, 4));
    }

    @BeforeEach
    void requireDeviceAndCudnn() {
        CudaTests.requireDevice();
        if (gpu == null) {
            gpu = Backend.cuda(0);
        }
        ConvNetSpec spec = specs().get(0);
        try (ResidentConvNetFamily probe = new ResidentConvNetFamily(new ConvNetFamily(RandomData.of(1, 6,
                spec.features(), 3), spec), gpu)) {
            assertEquals(spec.dimension(3), probe.dimension());
        } catch (L2lException e) {
            throw CudaTests.requireLibrary("cuDNN or cuBLAS", e);
        }
    }

    @AfterAll
    static void close() {
        if (gpu != null) {
            gpu.close();
        }
    }

    /** Random parameters (gammas around 1), so that no value sits at a kink of ReLU or pooling. */
    private static float[] randomTheta(ConvNetFamily family, int instances, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int d = family.dimension();
        float[] theta = new float[instances * d];
        for (int b = 0; b < instances; b++) {
            for (ParameterTensor t : family.tensors()) {
                for (int i = t.offset(); i < t.offset() + t.size(); i++) {
                    theta[b * d + i] = t.name().startsWith("bn") && t.name().endsWith(".weight")
                            ? (float) (0.5 + r.nextDouble()) : (float) (r.nextDouble() - 0.5);
                }
            }
        }
        return theta;
    }

    /** Losses [evaluation][instance] and gradients [evaluation][B d] of resident evaluations at a fixed theta. */
    private record Run(double[][] losses, float[][] gradients) {
    }

    private static Run run(ConvNetFamily family, long[] seeds, float[] theta, int evaluations, double scale) {
        int instances = seeds.length;
        int n = theta.length;
        double[][] losses = new double[evaluations][instances];
        float[][] gradients = new float[evaluations][n];
        try (ResidentConvNetFamily resident = new ResidentConvNetFamily(family, gpu);
             ResidentConvNetBatch batch = resident.batch(instances); NativeBuffer t = gpu.allocateFloats(n);
             NativeBuffer g = gpu.allocateFloats(n); NativeBuffer l = gpu.allocateDoubles(instances)) {
            batch.start(seeds, t);
            t.write(theta);
            for (int e = 0; e < evaluations; e++) {
                batch.evaluate(t, g, scale, l, 0);
                l.read(0, losses[e], 0, instances);
                g.read(0, gradients[e], 0, n);
            }
        }
        return new Run(losses, gradients);
    }

    @ParameterizedTest
    @MethodSource("specs")
    void lossAndGradientMatchTheFloat64ReferenceAndItsFiniteDifferences(ConvNetSpec spec) {
        int classes = 3;
        Dataset data = RandomData.of(11, 9, spec.features(), classes);
        ConvNetFamily family = new ConvNetFamily(data, spec);
        long[] seeds = {4, 5};
        float[] theta = randomTheta(family, seeds.length, 12);
        int evaluations = 2;
        Run run = run(family, seeds, theta, evaluations, 1);
        ConvNetReference reference = new ConvNetReference(spec, classes);
        int d = family.dimension();
        for (int b = 0; b < seeds.length; b++) {
            ConvNetOptimizee host = family.sample(seeds[b]);
            double[] point = new double[d];
            for (int i = 0; i < d; i++) {
                point[i] = theta[b * d + i];
            }
            for (int e = 0; e < evaluations; e++) {
                int[] minibatch = new int[spec.batchSize()];
                host.drawMinibatch(minibatch);
                String where = spec + ", instance " + b + ", evaluation " + e;
                double expected = reference.loss(point, data.images(), data.labels(), minibatch);
                assertEquals(expected, run.losses()[e][b], LOSS_TOLERANCE * Math.abs(expected), "loss, " + where);
                double h = 1e-5;
                for (ParameterTensor t : family.tensors()) {
                    double worst = 0;
                    double largest = 0;
                    for (int i = t.offset(); i < t.offset() + t.size(); i++) {
                        double keep = point[i];
                        point[i] = keep + h;
                        double up = reference.loss(point, data.images(), data.labels(), minibatch);
                        point[i] = keep - h;
                        double down = reference.loss(point, data.images(), data.labels(), minibatch);
                        point[i] = keep;
                        double fd = (up - down) / (2 * h);
                        worst = Math.max(worst, Math.abs(run.gradients()[e][b * d + i] - fd));
                        largest = Math.max(largest, Math.abs(fd));
                    }
                    assertTrue(largest > 0, t + ": the finite differences are all zero, so they check nothing");
                    assertTrue(worst / largest <= GRADIENT_TOLERANCE, t + ", " + where + ": gradient error "
                            + worst / largest + " of max |df/dtheta| " + largest);
                }
            }
        }
    }

    @Test
    void thePaperNetworkMatchesTheHostEvaluationOfTheSameSeeds() {
        Dataset data = RandomData.of(17, 300, 3 * 32 * 32, 10);
        ConvNetFamily family = new ConvNetFamily(data, ConvNetSpec.paper());
        long[] seeds = {21, 22, 23};
        int d = family.dimension();
        float[] theta = new float[seeds.length * d];
        float[] theta0 = new float[d];
        for (int b = 0; b < seeds.length; b++) {
            family.sample(seeds[b]).initialParameters(theta0);
            System.arraycopy(theta0, 0, theta, b * d, d);
        }
        Run run = run(family, seeds, theta, 2, 1);
        float[] gradient = new float[d];
        for (int b = 0; b < seeds.length; b++) {
            ConvNetOptimizee host = family.sample(seeds[b]);
            float[] own = Arrays.copyOfRange(theta, b * d, (b + 1) * d);
            for (int e = 0; e < 2; e++) {
                double loss = host.lossAndGradient(own, gradient);
                assertEquals(loss, run.losses()[e][b], LOSS_TOLERANCE * loss, "loss, instance " + b + ", evaluation " + e);
                for (ParameterTensor t : family.tensors()) {
                    double worst = 0;
                    double largest = 0;
                    for (int i = t.offset(); i < t.offset() + t.size(); i++) {
                        worst = Math.max(worst, Math.abs((double) run.gradients()[e][b * d + i] - gradient[i]));
                        largest = Math.max(largest, Math.abs(gradient[i]));
                    }
                    assertTrue(worst <= GRADIENT_TOLERANCE * largest, t + ", instance " + b + ", evaluation " + e
                            + ": CUDA vs host error " + worst / largest);
                }
            }
        }
    }

    @Test
    void evaluationsAreBitwiseRepeatableAndLinearInTheGradientScale() {
        ConvNetSpec spec = new ConvNetSpec(3, 16, List.of(8, 8), 5, 16, 32);
        ConvNetFamily family = new ConvNetFamily(RandomData.of(5, 100, spec.features(), 4), spec);
        long[] seeds = {1, 2};
        float[] theta = randomTheta(family, seeds.length, 3);
        Run a = run(family, seeds, theta, 3, 1);
        Run b = run(family, seeds, theta, 3, 1);
        Run half = run(family, seeds, theta, 3, 0.5);
        for (int e = 0; e < 3; e++) {
            assertArrayEquals(a.losses()[e], b.losses()[e], "losses, evaluation " + e);
            assertArrayEquals(a.gradients()[e], b.gradients()[e], "gradients, evaluation " + e);
            assertArrayEquals(a.losses()[e], half.losses()[e], "the scale leaves the losses alone");
            float[] halved = a.gradients()[e].clone();
            for (int i = 0; i < halved.length; i++) {
                halved[i] *= 0.5f;
            }
            assertArrayEquals(halved, half.gradients()[e], "a power-of-two scale is exact");
        }
    }
}
