package org.l2l4j.optimizees;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.data.Dataset;
import org.l2l4j.optimizees.MlpSpec.Activation;

/**
 * The resident MLP evaluation (native kernels + OpenBLAS on a CPU backend's buffers, B instances
 * at once) against the independent float64 {@link ReferenceMlp}: loss to 1e-5 relative, gradient
 * against central differences of the reference to 1e-5 (max |a - b| / max |b|), on the very
 * minibatch the instance's stream draws; and the same sequence of losses as the host
 * {@link MlpOptimizee} of each seed across the boundary of an index chunk.
 */
class ResidentMlpFamilyTest {
    private static final Dataset DATA = RandomData.of(7, 50, 12, 4);
    private static Backend backend;

    @BeforeAll
    static void open() {
        backend = Backend.cpu(1);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    private static MlpSpec small(Activation activation, int... hidden) {
        return MlpSpec.paper().withActivation(activation).withHiddenWidths(hidden).withBatchSize(16);
    }

    private static float[] randomTheta(int n, long seed, double std) {
        Random random = new Random(seed);
        float[] theta = new float[n];
        for (int i = 0; i < n; i++) {
            theta[i] = (float) (std * random.nextGaussian());
        }
        return theta;
    }

    @ParameterizedTest
    @CsvSource({"SIGMOID, 8", "RELU, 8", "SIGMOID, 8;6", "RELU, ''"})
    void lossAndGradientMatchTheFloat64Reference(Activation activation, String hiddenList) {
        int[] hidden = hiddenList.isEmpty() ? new int[0]
                : Arrays.stream(hiddenList.split(";")).mapToInt(Integer::parseInt).toArray();
        MlpSpec spec = small(activation, hidden);
        MlpFamily family = new MlpFamily(DATA, spec);
        ReferenceMlp reference = new ReferenceMlp(12, spec.hiddenWidths(), 4, activation);
        int d = family.dimension();
        int instances = 3;
        long[] seeds = {21, 22, 23};
        float[] theta = randomTheta(instances * d, 11, 0.5);
        float[] gradient = new float[instances * d];
        double[] losses = new double[instances];
        double scale = 0.5;
        try (ResidentMlpFamily resident = new ResidentMlpFamily(family, backend);
             ResidentMlpBatch batch = resident.batch(instances);
             NativeBuffer t = backend.allocateFloats(instances * d); NativeBuffer g = backend.allocateFloats(instances * d);
             NativeBuffer l = backend.allocateDoubles(instances)) {
            batch.start(seeds, t);
            t.write(theta);
            batch.evaluate(t, g, scale, l, 0);
            g.read(0, gradient, 0, gradient.length);
            l.read(0, losses, 0, instances);
        }
        for (int b = 0; b < instances; b++) {
            int[] minibatch = new int[spec.batchSize()];
            family.sample(seeds[b]).drawMinibatch(minibatch);
            double[] point = new double[d];
            for (int i = 0; i < d; i++) {
                point[i] = theta[b * d + i];
            }
            double loss = reference.meanLoss(point, DATA, minibatch);
            assertEquals(loss, losses[b], 1e-5 * loss, "loss of instance " + b);
            double h = 1e-5;
            double[] numeric = new double[d];
            float[] analytic = Arrays.copyOfRange(gradient, b * d, (b + 1) * d);
            for (int i = 0; i < d; i++) {
                double saved = point[i];
                point[i] = saved + h;
                double up = reference.meanLoss(point, DATA, minibatch);
                point[i] = saved - h;
                double down = reference.meanLoss(point, DATA, minibatch);
                point[i] = saved;
                numeric[i] = scale * (up - down) / (2 * h);
            }
            double num = 0;
            double den = 0;
            for (int i = 0; i < d; i++) {
                num = Math.max(num, Math.abs(analytic[i] - numeric[i]));
                den = Math.max(den, Math.abs(numeric[i]));
            }
            assertTrue(num / den < 1e-5, "instance " + b + ": relative gradient error " + num / den);
        }
    }

    /** 70 evaluations: past the first chunk of 64 drawn minibatches. */
    @Test
    void minibatchStreamsAreThoseOfTheHostOptimizees() {
        MlpFamily family = new MlpFamily(DATA, small(Activation.SIGMOID, 8));
        int d = family.dimension();
        long[] seeds = {5, 6};
        int evaluations = MinibatchIndices.CHUNK + 6;
        float[] theta = randomTheta(2 * d, 3, 0.3);
        double[] resident = new double[2 * evaluations];
        try (ResidentMlpFamily r = new ResidentMlpFamily(family, backend); ResidentMlpBatch batch = r.batch(2);
             NativeBuffer t = backend.allocateFloats(2 * d); NativeBuffer g = backend.allocateFloats(2 * d);
             NativeBuffer l = backend.allocateDoubles(2L * evaluations)) {
            batch.start(seeds, t);
            t.write(theta);
            for (int e = 0; e < evaluations; e++) {
                batch.evaluate(t, g, 1, l, 2L * e);
            }
            l.read(0, resident, 0, resident.length);
        }
        for (int b = 0; b < 2; b++) {
            MlpOptimizee host = family.sample(seeds[b]);
            float[] point = Arrays.copyOfRange(theta, b * d, (b + 1) * d);
            float[] gradient = new float[d];
            for (int e = 0; e < evaluations; e++) {
                double expected = host.lossAndGradient(point, gradient);
                assertEquals(expected, resident[2 * e + b], 1e-5 * expected, "instance " + b + ", evaluation " + e);
            }
        }
    }

    @Test
    void startWritesTheHostOptimizeesInitialParameters() {
        MlpFamily family = new MlpFamily(DATA, small(Activation.RELU, 8));
        int d = family.dimension();
        try (ResidentMlpFamily r = new ResidentMlpFamily(family, backend); ResidentMlpBatch batch = r.batch(2);
             NativeBuffer t = backend.allocateFloats(2 * d)) {
            batch.start(new long[] {8, 9}, t);
            float[] expected = new float[d];
            float[] got = new float[d];
            for (int b = 0; b < 2; b++) {
                r.sample(8 + b).initialParameters(expected);
                t.read((long) b * d, got, 0, d);
                assertEquals(Arrays.toString(expected), Arrays.toString(got));
            }
            assertEquals(family.name(), r.name());
            assertEquals(d, r.dimension());
        }
    }

    @Test
    void rejectsBadArguments() {
        MlpFamily family = new MlpFamily(DATA, small(Activation.SIGMOID, 8));
        int d = family.dimension();
        try (ResidentMlpFamily r = new ResidentMlpFamily(family, backend); ResidentMlpBatch batch = r.batch(2);
             NativeBuffer t = backend.allocateFloats(2 * d); NativeBuffer g = backend.allocateFloats(2 * d);
             NativeBuffer shortBuffer = backend.allocateFloats(d); NativeBuffer l = backend.allocateDoubles(2);
             Backend other = Backend.cpu(1); NativeBuffer foreign = other.allocateFloats(2 * d)) {
            assertThrows(IllegalStateException.class, () -> batch.evaluate(t, g, 1, l, 0), "before start");
            assertThrows(IllegalArgumentException.class, () -> batch.start(new long[] {1}, t));
            assertThrows(IllegalArgumentException.class, () -> batch.start(new long[] {1, 2}, shortBuffer));
            batch.start(new long[] {1, 2}, t);
            assertThrows(IllegalArgumentException.class, () -> batch.evaluate(t, shortBuffer, 1, l, 0));
            assertThrows(IllegalArgumentException.class, () -> batch.evaluate(t, t, 1, l, 0));
            assertThrows(IllegalArgumentException.class, () -> batch.evaluate(foreign, g, 1, l, 0));
            assertThrows(IllegalArgumentException.class, () -> batch.evaluate(t, g, 1, l, 1), "losses too short");
            assertThrows(IllegalArgumentException.class, () -> batch.evaluate(t, g, Double.POSITIVE_INFINITY, l, 0));
            assertThrows(IllegalArgumentException.class, () -> r.batch(0));
        }
        assertThrows(NullPointerException.class, () -> new ResidentMlpFamily(null, backend));
    }
}
