package org.l2l4j.optimizees;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;
import org.l2l4j.data.Dataset;

/**
 * The convolutional optimizee against an independent float64 reference ({@link ConvNetReference}):
 * its loss, and its gradient per tensor against central finite differences of the reference
 * (which checks every layer's backward pass: convolution with padding, batch norm of both
 * kinds, ReLU, max-pooling, the fully connected layers), on tiny random shapes.
 */
class ConvNetFamilyTest {

    /**
     * Tolerance of the float32 gradient against the float64 finite differences, per tensor:
     * max |a - b| / max |b|.  Finite differences with step 1e-5 are exact to about 1e-9 here; the
     * rest is float32 rounding (at most 2e-6 measured over the three shapes).
     */
    private static final double GRADIENT_TOLERANCE = 2e-5;
    /** Relative tolerance of the float32 loss against the float64 reference. */
    private static final double LOSS_TOLERANCE = 1e-5;

    static List<ConvNetSpec> specs() {
        return List.of(
                new ConvNetSpec(2, 8, List.of(3, 2), 3, 4, 5),
                new ConvNetSpec(3, 4, List.of(2), 5, 3, 4),
                new ConvNetSpec(2, 16, List.of(2, 3, 2), 1, 2, 4));
    }

    private static Dataset randomImages(ConvNetSpec spec, int size, int classes, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[size * spec.features()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextDouble();
        }
        int[] y = new int[size];
        for (int i = 0; i < size; i++) {
            y[i] = r.nextInt(classes);
        }
        return new Dataset(x, y, spec.features(), classes);
    }

    /** Random parameters (gammas around 1), so that no value sits at a kink of ReLU or pooling. */
    private static float[] randomTheta(ConvNetFamily family, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] theta = new float[family.dimension()];
        for (ParameterTensor t : family.tensors()) {
            for (int i = t.offset(); i < t.offset() + t.size(); i++) {
                theta[i] = t.name().startsWith("bn") && t.name().endsWith(".weight")
                        ? (float) (0.5 + r.nextDouble()) : (float) (r.nextDouble() - 0.5);
            }
        }
        return theta;
    }

    @ParameterizedTest
    @MethodSource("specs")
    void lossAndGradientMatchTheFloat64ReferenceAndItsFiniteDifferences(ConvNetSpec spec) {
        int classes = 3;
        Dataset data = randomImages(spec, 7, classes, 11);
        ConvNetFamily family = new ConvNetFamily(data, spec);
        float[] theta = randomTheta(family, 12);
        int[] batch = new int[spec.batchSize()];
        for (int i = 0; i < batch.length; i++) {
            batch[i] = (i * 3 + 1) % data.size();
        }
        float[] gradient = new float[family.dimension()];
        double loss = family.sample(1).lossAndGradient(theta, gradient, batch);

        ConvNetReference reference = new ConvNetReference(spec, classes);
        double[] point = new double[theta.length];
        for (int i = 0; i < theta.length; i++) {
            point[i] = theta[i];
        }
        double expected = reference.loss(point, data.images(), data.labels(), batch);
        assertEquals(expected, loss, LOSS_TOLERANCE * Math.abs(expected), "loss");

        double h = 1e-5;
        for (ParameterTensor t : family.tensors()) {
            double worst = 0;
            double scale = 0;
            for (int i = t.offset(); i < t.offset() + t.size(); i++) {
                double keep = point[i];
                point[i] = keep + h;
                double up = reference.loss(point, data.images(), data.labels(), batch);
                point[i] = keep - h;
                double down = reference.loss(point, data.images(), data.labels(), batch);
                point[i] = keep;
                double fd = (up - down) / (2 * h);
                worst = Math.max(worst, Math.abs(gradient[i] - fd));
                scale = Math.max(scale, Math.abs(fd));
            }
            assertTrue(scale > 0, t + ": the finite differences are all zero, so they check nothing");
            assertTrue(worst / scale < GRADIENT_TOLERANCE, t + ": gradient error " + worst / scale + " of max |df/dtheta| "
                    + scale);
        }
    }

    @Test
    void thePaperNetworkHas22682ParametersInPyTorchOrder() {
        ConvNetSpec spec = ConvNetSpec.paper();
        assertEquals(22_682, spec.dimension(10));
        assertEquals(List.of("conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight", "bn2.bias",
                "conv3.weight", "bn3.weight", "bn3.bias", "fc.weight", "bn_fc.weight", "bn_fc.bias", "out.weight",
                "out.bias"), spec.tensors(10).stream().map(ParameterTensor::name).toList());
        assertArrayEquals(new int[] {16, 3, 5, 5}, spec.tensors(10).get(0).shape());
        assertArrayEquals(new int[] {32, 256}, spec.tensors(10).get(9).shape());
        assertEquals(22_682 - 8 * 32 - 8, spec.dimension(2), "two classes: 8 fewer output rows and biases");
    }

    @Test
    void initialParametersFollowPyTorchsDefaultsAndTheSeed() {
        ConvNetSpec spec = new ConvNetSpec(2, 8, List.of(3, 2), 3, 4, 5);
        ConvNetFamily family = new ConvNetFamily(randomImages(spec, 7, 3, 1), spec);
        float[] a = new float[family.dimension()];
        float[] b = new float[family.dimension()];
        family.sample(5).initialParameters(a);
        family.sample(5).initialParameters(b);
        assertArrayEquals(a, b, "same seed, same theta_0");
        family.sample(6).initialParameters(b);
        assertTrue(!java.util.Arrays.equals(a, b), "another seed, another theta_0");
        for (ParameterTensor t : family.tensors()) {
            double bound = t.name().equals("out.bias") ? 1 / Math.sqrt(4) : 1 / Math.sqrt(t.size() / t.shape()[0]);
            for (int i = t.offset(); i < t.offset() + t.size(); i++) {
                if (t.name().startsWith("bn")) {
                    assertEquals(t.name().endsWith(".weight") ? 1f : 0f, a[i], t.name());
                } else {
                    assertTrue(Math.abs(a[i]) <= bound && a[i] != 0, t.name() + " value " + a[i] + " bound " + bound);
                }
            }
        }
    }

    @Test
    void evaluationsAreReproducibleAndBadArgumentsAreRefused() {
        ConvNetSpec spec = new ConvNetSpec(2, 8, List.of(3, 2), 3, 4, 5);
        Dataset data = randomImages(spec, 9, 3, 2);
        ConvNetFamily family = new ConvNetFamily(data, spec);
        float[] theta = new float[family.dimension()];
        family.sample(3).initialParameters(theta);
        float[] g1 = new float[theta.length];
        float[] g2 = new float[theta.length];
        double l1 = family.sample(3).lossAndGradient(theta, g1);
        double l2 = family.sample(3).lossAndGradient(theta, g2);
        assertEquals(l1, l2);
        assertArrayEquals(g1, g2, "the same seed draws the same minibatch");
        ConvNetOptimizee o = family.sample(3);
        assertThrows(IllegalArgumentException.class, () -> o.lossAndGradient(new float[3], g1));
        assertThrows(NullPointerException.class, () -> o.lossAndGradient(theta, null));
        assertThrows(IllegalArgumentException.class, () -> o.lossAndGradient(theta, g1, new int[] {0}),
                "batch norm needs two examples");
        assertThrows(IllegalArgumentException.class, () -> o.lossAndGradient(theta, g1, new int[] {0, 9}));
        assertThrows(IllegalArgumentException.class, () -> new ConvNetFamily(
                new Dataset(new float[10], new int[] {0, 1}, 5, 2), spec), "features must match the images");
        assertThrows(IllegalArgumentException.class, () -> new ConvNetSpec(3, 12, List.of(4, 4, 4), 5, 8, 16),
                "12 is not divisible by 2^3");
        assertThrows(IllegalArgumentException.class, () -> new ConvNetSpec(3, 32, List.of(16), 4, 8, 16),
                "even kernels have no centre");
        assertThrows(IllegalArgumentException.class, () -> new ConvNetSpec(3, 32, List.of(16), 5, 8, 1));
    }
}
