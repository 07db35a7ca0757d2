package org.l2l4j.optimizees;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.l2l4j.data.Dataset;
import org.l2l4j.optimizees.MlpSpec.Activation;

class MlpFamilyTest {

    private static final Dataset DATA = RandomData.of(7, 50, 12, 4);

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

    /** The error max |a - b| / max |b|. */
    private static double relativeError(float[] a, double[] b) {
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < b.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return diff / scale;
    }

    @Test
    void dimensionOfPaperMnistMlpIs15910() {
        Dataset mnistShaped = new Dataset(new float[2 * 784], new int[] {3, 9}, 784, 10);
        MlpFamily family = new MlpFamily(mnistShaped, MlpSpec.paper());
        assertEquals(15_910, family.dimension());
        assertEquals("mlp-784-20-10-sigmoid", family.name());
        assertEquals(784 * 40 + 40 + 40 * 10 + 10,
                new MlpFamily(mnistShaped, MlpSpec.paper().withHiddenWidths(40)).dimension());
        assertEquals(15_910 + 20 * 20 + 20,
                new MlpFamily(mnistShaped, MlpSpec.paper().withHiddenWidths(20, 20)).dimension());
        assertEquals(784 * 10 + 10, new MlpFamily(mnistShaped, MlpSpec.paper().withHiddenWidths()).dimension());
        assertEquals("mlp-784-20-20-10-relu", new MlpFamily(mnistShaped,
                MlpSpec.paper().withHiddenWidths(20, 20).withActivation(Activation.RELU)).name());
    }

    /**
     * Analytic gradient (float, BLAS) against central differences (h = 1e-5) of the independent
     * double-precision reference on the same fixed minibatch, over every coordinate.  Float
     * rounding bounds the agreement at about 1e-7; tolerance 1e-5 (a 0.1% error in one
     * layer's derivative shows as 1e-4).
     */
    @ParameterizedTest
    @CsvSource({"SIGMOID, 8", "RELU, 8", "SIGMOID, 8;6", "RELU, 8;6"})
    void gradientMatchesFiniteDifferencesOfDoubleReference(Activation activation, String hiddenList) {
        int[] hidden = Arrays.stream(hiddenList.split(";")).mapToInt(Integer::parseInt).toArray();
        MlpSpec spec = small(activation, hidden);
        MlpFamily family = new MlpFamily(DATA, spec);
        ReferenceMlp reference = new ReferenceMlp(12, spec.hiddenWidths(), 4, activation);
        assertEquals(reference.parameterCount(), family.dimension());

        float[] theta = randomTheta(family.dimension(), 11, 0.5);
        int[] batch = new Random(5).ints(16, 0, DATA.size()).toArray();
        float[] gradient = new float[family.dimension()];
        double loss = family.sample(1).lossAndGradient(theta, gradient, batch);

        double[] point = new double[theta.length];
        for (int i = 0; i < theta.length; i++) {
            point[i] = theta[i];
        }
        assertEquals(reference.meanLoss(point, DATA, batch), loss, 1e-5 * loss);

        double h = 1e-5;
        double[] numeric = new double[theta.length];
        for (int i = 0; i < theta.length; i++) {
            double saved = point[i];
            point[i] = saved + h;
            double up = reference.meanLoss(point, DATA, batch);
            point[i] = saved - h;
            double down = reference.meanLoss(point, DATA, batch);
            point[i] = saved;
            numeric[i] = (up - down) / (2 * h);
        }
        double err = relativeError(gradient, numeric);
        assertTrue(err < 1e-5, "relative gradient error " + err);
    }

    /**
     * The exact Hessian-vector product (forward-over-reverse, {@link MlpHessian}) against mixed
     * central second differences of the double-precision reference,
     * (H v)_i = [f(t + h e_i + h v) - f(t + h e_i - h v) - f(t - h e_i + h v) + f(t - h e_i - h v)] / 4h^2,
     * over every coordinate, on the minibatch of the evaluation asked for (replayed from the seed:
     * the third minibatch the optimizee's stream draws).  h = 1e-4: the differences are good to
     * about 1e-8; the product is float64 rounded to float32 (6e-8); tolerance 1e-5 of max |H v|.
     */
    @ParameterizedTest
    @CsvSource({"SIGMOID, 8", "RELU, 8", "SIGMOID, 8;6", "RELU, 8;6"})
    void hessianVectorProductsMatchSecondDifferencesOfDoubleReference(Activation activation, String hiddenList) {
        int[] hidden = Arrays.stream(hiddenList.split(";")).mapToInt(Integer::parseInt).toArray();
        MlpSpec spec = small(activation, hidden);
        MlpFamily family = new MlpFamily(DATA, spec);
        ReferenceMlp reference = new ReferenceMlp(12, spec.hiddenWidths(), 4, activation);
        int n = family.dimension();
        float[] theta = randomTheta(n, 21, 0.5);
        float[] v = randomTheta(n, 22, 1.0);
        MlpOptimizee stream = family.sample(3);
        int[] batch = new int[spec.batchSize()];
        for (int e = 0; e <= 2; e++) {
            stream.drawMinibatch(batch);
        }
        float[] product = new float[n];
        MlpOptimizee f = family.sample(3);
        assertTrue(f.hasHessianVectorProducts() && family.hasHessianVectorProducts());
        f.hessianVectorProduct(2, theta, v, product);

        double h = 1e-4;
        double[] point = new double[n];
        double[] numeric = new double[n];
        for (int i = 0; i < n; i++) {
            double[] sum = new double[4];
            for (int k = 0; k < 4; k++) {
                double si = k < 2 ? h : -h;
                double sv = k % 2 == 0 ? h : -h;
                for (int j = 0; j < n; j++) {
                    point[j] = theta[j] + sv * v[j] + (j == i ? si : 0);
                }
                sum[k] = reference.meanLoss(point, DATA, batch);
            }
            numeric[i] = (sum[0] - sum[1] - sum[2] + sum[3]) / (4 * h * h);
        }
        double err = relativeError(product, numeric);
        assertTrue(err < 1e-5, activation + " " + hiddenList + ": relative Hessian-vector error " + err);
        float[] again = new float[n];
        family.sample(3).hessianVectorProduct(0, theta, v, again);
        assertTrue(relativeError(again, numeric) > 1e-3, "another evaluation's minibatch gives another product");
    }

    @Test
    void minibatchesAreDrawnFromTheSeedsStreamWithReplacement() {
        MlpFamily family = new MlpFamily(DATA, small(Activation.SIGMOID, 8));
        MlpOptimizee f = family.sample(42);
        MlpOptimizee twin = family.sample(42);
        float[] theta = randomTheta(family.dimension(), 3, 0.3);
        float[] gradient = new float[theta.length];
        float[] expectedGradient = new float[theta.length];
        int[] batch = new int[16];
        boolean repeats = false;
        for (int t = 0; t < 5; t++) {
            twin.drawMinibatch(batch);
            repeats |= Arrays.stream(batch).distinct().count() < batch.length;
            double expected = twin.lossAndGradient(theta, expectedGradient, batch);
            assertEquals(expected, f.lossAndGradient(theta, gradient), 0.0);
            assertArrayEquals(expectedGradient, gradient, 0f);
        }
        // 16 draws out of 50 with replacement repeat an index with probability about 0.93 each.
        assertTrue(repeats, "no repeated index in 5 minibatches");
    }

    @Test
    void sameSeedReplaysInitialParametersAndMinibatches() {
        MlpFamily family = new MlpFamily(DATA, small(Activation.RELU, 8));
        float[][] run1 = losses(family.sample(9));
        float[][] run2 = losses(family.sample(9));
        float[][] other = losses(family.sample(10));
        for (int i = 0; i < run1.length; i++) {
            assertArrayEquals(run1[i], run2[i], 0f);
        }
        assertFalse(Arrays.equals(run1[0], other[0]), "theta_0 of seeds 9 and 10 are equal");
        assertFalse(Arrays.equals(run1[1], other[1]), "losses of seeds 9 and 10 are equal");
    }

    /** theta_0 and the losses of 4 evaluations at a fixed theta. */
    private static float[][] losses(MlpOptimizee f) {
        float[] theta0 = new float[f.dimension()];
        f.initialParameters(theta0);
        float[] theta = randomTheta(f.dimension(), 1, 0.3);
        float[] gradient = new float[theta.length];
        float[] losses = new float[4];
        for (int t = 0; t < losses.length; t++) {
            losses[t] = (float) f.lossAndGradient(theta, gradient);
        }
        return new float[][] {theta0, losses};
    }

    /** Paper init: every weight and bias ~ N(0, 0.01^2); 15,910 draws pin the std to ~1%. */
    @Test
    void initialParametersHaveTheSpecsStandardDeviation() {
        Dataset mnistShaped = RandomData.of(1, 3, 784, 10);
        MlpOptimizee f = new MlpFamily(mnistShaped, MlpSpec.paper()).sample(123);
        float[] theta = new float[f.dimension()];
        f.initialParameters(theta);
        double sum = 0;
        double squares = 0;
        for (float v : theta) {
            sum += v;
            squares += (double) v * v;
        }
        double mean = sum / theta.length;
        double std = Math.sqrt(squares / theta.length - mean * mean);
        assertEquals(0, mean, 4 * 0.01 / Math.sqrt(theta.length));
        assertEquals(0.01, std, 0.01 * 0.03);
    }

    /** Whole-set metrics in chunks of 16 (50 = 3 x 16 + 2) against the reference. */
    @Test
    void fullMetricsMatchTheReferenceOverTheWholeDataSet() {
        MlpSpec spec = small(Activation.SIGMOID, 8, 6);
        MlpFamily family = new MlpFamily(DATA, spec);
        ReferenceMlp reference = new ReferenceMlp(12, spec.hiddenWidths(), 4, Activation.SIGMOID);
        float[] theta = randomTheta(family.dimension(), 17, 1.0);
        double[] point = new double[theta.length];
        for (int i = 0; i < theta.length; i++) {
            point[i] = theta[i];
        }
        double loss = 0;
        int correct = 0;
        for (int e = 0; e < DATA.size(); e++) {
            loss += reference.loss(point, DATA, e);
            double[] z = reference.logits(point, DATA, e);
            int argmax = 0;
            for (int j = 1; j < z.length; j++) {
                argmax = z[j] > z[argmax] ? j : argmax;
            }
            correct += argmax == DATA.labels()[e] ? 1 : 0;
        }
        MlpFamily.Metrics metrics = family.fullMetrics(theta);
        assertEquals(loss / DATA.size(), metrics.loss(), 1e-5 * metrics.loss());
        assertEquals((double) correct / DATA.size(), metrics.accuracy(), 0.0);
        assertEquals(metrics.loss(), family.fullLoss(theta), 0.0);
        Dataset other = RandomData.of(8, 30, 12, 4);
        assertEquals(reference.meanLoss(point, other, java.util.stream.IntStream.range(0, 30).toArray()),
                family.fullMetrics(theta, other).loss(), 1e-5);
    }

    /** Concurrent evaluations share the family's pooled buffers without interfering. */
    @Test
    void concurrentEvaluationsMatchSequentialOnes() throws Exception {
        MlpFamily family = new MlpFamily(DATA, small(Activation.SIGMOID, 8));
        int runs = 8;
        double[] sequential = new double[runs];
        for (int s = 0; s < runs; s++) {
            sequential[s] = sumOfLosses(family.sample(s));
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Double>> parallel = new java.util.ArrayList<>();
            for (int s = 0; s < runs; s++) {
                MlpOptimizee f = family.sample(s);
                parallel.add(pool.submit(() -> sumOfLosses(f)));
            }
            for (int s = 0; s < runs; s++) {
                assertEquals(sequential[s], parallel.get(s).get(), 0.0);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static double sumOfLosses(MlpOptimizee f) {
        float[] theta = randomTheta(f.dimension(), 2, 0.3);
        float[] gradient = new float[theta.length];
        double sum = 0;
        for (int t = 0; t < 50; t++) {
            sum += f.lossAndGradient(theta, gradient);
            theta[t % theta.length] -= gradient[t % theta.length];
        }
        return sum;
    }

    @Test
    void rejectsBadArguments() {
        MlpFamily family = new MlpFamily(DATA, small(Activation.SIGMOID, 8));
        MlpOptimizee f = family.sample(0);
        int n = family.dimension();
        assertThrows(IllegalArgumentException.class, () -> f.lossAndGradient(new float[n - 1], new float[n]));
        assertThrows(IllegalArgumentException.class, () -> f.lossAndGradient(new float[n], new float[n + 1]));
        assertThrows(NullPointerException.class, () -> f.lossAndGradient(null, new float[n]));
        assertThrows(IllegalArgumentException.class, () -> f.initialParameters(new float[3]));
        assertThrows(IllegalArgumentException.class, () -> f.lossAndGradient(new float[n], new float[n], new int[0]));
        assertThrows(IllegalArgumentException.class, () -> f.lossAndGradient(new float[n], new float[n], new int[17]));
        assertThrows(IllegalArgumentException.class, () -> f.lossAndGradient(new float[n], new float[n], new int[] {50}));
        assertThrows(IllegalArgumentException.class, () -> family.fullMetrics(new float[n], RandomData.of(1, 5, 11, 4)));
        assertThrows(IllegalArgumentException.class, () -> new MlpFamily(RandomData.of(1, 0, 12, 4), MlpSpec.paper()));
        assertThrows(NullPointerException.class, () -> new MlpFamily(DATA, null));
        assertThrows(IllegalArgumentException.class, () -> MlpSpec.paper().withHiddenWidths(5, 0));
        assertThrows(IllegalArgumentException.class, () -> MlpSpec.paper().withBatchSize(0));
        assertThrows(IllegalArgumentException.class, () -> MlpSpec.paper().withInitStd(Double.NaN));
    }
}
