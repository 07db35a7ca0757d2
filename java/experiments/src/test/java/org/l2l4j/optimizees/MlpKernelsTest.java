package org.l2l4j.optimizees;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.backend.Status;
import org.l2l4j.optimizees.MlpSpec.Activation;
import org.l2l4j.presets.L2l;

/**
 * The CPU twins of the MLP optimizee kernels (l2l.h "optimizee kernels") against float64
 * references written here from l2l.h's formulas, on random inputs: error max |a - b| / max |b|
 * at most 1e-6 for float32 outputs (float rounding is about 1e-7) and 1e-12 for the float64
 * loss; copies exact.  Bad arguments raise exceptions and leave the outputs untouched.
 */
class MlpKernelsTest {
    private static Backend backend;

    @BeforeAll
    static void open() {
        backend = Backend.cpu(2);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    private static float[] uniform(int count, double lo, double hi, SplittableRandom rnd) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = (float) (lo + (hi - lo) * rnd.nextDouble());
        }
        return v;
    }

    private static NativeBuffer floats(float[] values) {
        NativeBuffer b = backend.allocateFloats(values.length);
        b.write(values);
        return b;
    }

    private static NativeBuffer ints(int[] values) {
        NativeBuffer b = backend.allocateInts(values.length);
        b.write(0, values, 0, values.length);
        return b;
    }

    private static int[] readInts(NativeBuffer b) {
        int[] out = new int[Math.toIntExact(b.length())];
        b.read(0, out, 0, out.length);
        return out;
    }

    /** The error max |a - b| / max |b|; NaN in a counts as an infinite error. */
    private static double error(float[] a, double[] b) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < b.length; i++) {
            double d = Math.abs(a[i] - b[i]);
            num = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(num, d);
            den = Math.max(den, Math.abs(b[i]));
        }
        assertTrue(den > 0, "an all-zero reference");
        return num / den;
    }

    private static double act(Activation a, double z) {
        if (a == null) {
            return z;
        }
        return a == Activation.SIGMOID ? 1 / (1 + Math.exp(-z)) : Math.max(z, 0);
    }

    @Test
    void gatherCopiesTheIndexedRowsAndLabels() {
        SplittableRandom rnd = new SplittableRandom(1);
        int examples = 41;
        int features = 19;
        int rows = 300;
        float[] images = uniform(examples * features, 0, 1, rnd);
        int[] labels = rnd.ints(examples, 0, 10).toArray();
        int[] indices = rnd.ints(rows + 7, 0, examples).toArray();
        try (NativeBuffer im = floats(images); NativeBuffer lb = ints(labels); NativeBuffer idx = ints(indices);
             NativeBuffer x = backend.allocateFloats((long) rows * features); NativeBuffer y = backend.allocateInts(rows)) {
            MlpKernels.gather(im, lb, features, idx, 7, rows, x, y, true);
            float[] got = x.toFloatArray();
            int[] gotLabels = readInts(y);
            for (int r = 0; r < rows; r++) {
                int e = indices[7 + r];
                assertEquals(labels[e], gotLabels[r]);
                for (int f = 0; f < features; f++) {
                    assertEquals(images[e * features + f], got[r * features + f], 0f);
                }
            }
        }
    }

    @Test
    void anIndexOutOfRangeIsRejectedWithTheCheckAndANanRowWithout() {
        int[] indices = {0, 1, 5, 2};
        try (NativeBuffer im = floats(uniform(5 * 3, 0, 1, new SplittableRandom(2))); NativeBuffer lb = ints(new int[5]);
             NativeBuffer idx = ints(indices); NativeBuffer x = floats(new float[] {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9});
             NativeBuffer y = backend.allocateInts(4)) {
            L2lException e = assertThrows(L2lException.class, () -> MlpKernels.gather(im, lb, 3, idx, 0, 4, x, y, true));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("indices[2]"), e.getMessage());
            assertArrayEquals(new float[] {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}, x.toFloatArray(), 0f);
            MlpKernels.gather(im, lb, 3, idx, 0, 4, x, y, false);
            float[] got = x.toFloatArray();
            assertTrue(Float.isNaN(got[6]) && Float.isNaN(got[8]) && !Float.isNaN(got[5]) && !Float.isNaN(got[9]));
            assertEquals(-1, readInts(y)[2]);
        }
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void biasActivationAndItsDerivativeMatchTheReference(Activation activation) {
        checkLayer(activation);
    }

    @Test
    void theIdentityLayerAddsTheBiasOnly() {
        checkLayer(null);
    }

    private void checkLayer(Activation activation) {
        SplittableRandom rnd = new SplittableRandom(3);
        int batch = 3;
        int rows = 37;
        int cols = 13;
        int stride = 50;
        int offset = 4;
        float[] z0 = uniform(batch * rows * cols, -4, 4, rnd);
        float[] bias = uniform(offset + batch * stride, -1, 1, rnd);
        float[] delta0 = uniform(z0.length, -1, 1, rnd);
        double[] ref = new double[z0.length];
        for (int k = 0; k < z0.length; k++) {
            ref[k] = act(activation, (double) z0[k] + bias[offset + (k / (rows * cols)) * stride + k % cols]);
        }
        try (NativeBuffer z = floats(z0); NativeBuffer b = floats(bias); NativeBuffer delta = floats(delta0)) {
            MlpKernels.biasActivation(batch, rows, cols, z, b, offset, stride, activation);
            float[] a = z.toFloatArray();
            double e = error(a, ref);
            assertTrue(e <= 1e-6, "bias and activation: error " + e);
            if (activation == null) {
                return;
            }
            MlpKernels.activationBackward(z0.length, z, delta, activation);
            double[] dref = new double[z0.length];
            for (int k = 0; k < z0.length; k++) {
                double d = activation == Activation.SIGMOID ? a[k] * (1.0 - a[k]) : a[k] > 0 ? 1 : 0;
                dref[k] = delta0[k] * d;
            }
            e = error(delta.toFloatArray(), dref);
            assertTrue(e <= 1e-6, "activation derivative: error " + e);
        }
    }

    // read at run time, so that neither javac nor the JIT can fold the arithmetic of the test below
    static volatile float floatHalf = 0.5f;
    static volatile float floatMinNormal = Float.MIN_NORMAL;
    static volatile float floatMinValue = Float.MIN_VALUE;
    static volatile float float2pow30 = 0x1p30f;

    /**
     * The CPU kernels compute with flush-to-zero and denormals-are-zero (l2l.h "Floating-point
     * mode") and give the calling thread its own mode back: a saturated sigmoid's derivative
     * a (1 - a) = a = 1.1 x 2^-60 times delta = 1.3 x 2^-70, about 1.43 x 2^-130 and subnormal in
     * Java, which does not flush, becomes 0, on the calling thread (3 elements) and with the pool's
     * workers (2^18 elements); afterwards Java float arithmetic on this thread still produces
     * subnormal results and reads subnormal operands (x86-64 only: elsewhere the library leaves
     * the mode as it is).
     */
    @ParameterizedTest
    @ValueSource(ints = {3, 1 << 18})
    void aSubnormalDerivativeIsFlushedAndTheCallersModeKept(int count) {
        String arch = System.getProperty("os.arch", "");
        assumeTrue(arch.equals("amd64") || arch.equals("x86_64"), "the library sets the mode on x86-64 only");
        float a = Math.scalb(1.1f, -60);
        float d = Math.scalb(1.3f, -70);
        float javaProduct = d * (a * (1f - a));
        assertTrue(javaProduct != 0 && javaProduct < Float.MIN_NORMAL, "Java keeps " + javaProduct);
        float[] as = new float[count];
        float[] deltas = new float[count];
        Arrays.fill(as, a);
        Arrays.fill(deltas, d);
        try (NativeBuffer av = floats(as); NativeBuffer delta = floats(deltas)) {
            MlpKernels.activationBackward(count, av, delta, Activation.SIGMOID);
            float[] out = delta.toFloatArray();
            for (int i = 0; i < count; i++) {
                assertEquals(0, Float.floatToRawIntBits(out[i]), "delta[" + i + "] = " + out[i]);
            }
        }
        assertEquals(Float.intBitsToFloat(0x0040_0000), floatMinNormal * floatHalf, "a float result flushed");
        assertEquals(0x1p-119f, floatMinValue * float2pow30, "a float operand read as zero");
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void nanPropagatesThroughTheActivationAndItsDerivative(Activation activation) {
        try (NativeBuffer z = floats(new float[] {Float.NaN, -1f}); NativeBuffer b = floats(new float[] {0.5f, 0.5f});
             NativeBuffer delta = floats(new float[] {1f, 1f})) {
            MlpKernels.biasActivation(1, 1, 2, z, b, 0, 0, activation);
            assertTrue(Float.isNaN(z.toFloatArray()[0]));
            MlpKernels.activationBackward(2, z, delta, activation);
            assertTrue(Float.isNaN(delta.toFloatArray()[0]));
        }
    }

    @Test
    void biasGradientSumsEachInstancesColumns() {
        SplittableRandom rnd = new SplittableRandom(4);
        int batch = 4;
        int rows = 33;
        int cols = 150;
        int stride = 170;
        float[] delta = uniform(batch * rows * cols, -1, 1, rnd);
        float[] before = new float[3 + batch * stride];
        Arrays.fill(before, 5f);
        try (NativeBuffer d = floats(delta); NativeBuffer db = floats(before)) {
            MlpKernels.biasGradient(batch, rows, cols, d, db, 3, stride);
            float[] got = db.toFloatArray();
            float[] sums = new float[batch * cols];
            double[] ref = new double[batch * cols];
            for (int b = 0; b < batch; b++) {
                for (int j = 0; j < cols; j++) {
                    for (int r = 0; r < rows; r++) {
                        ref[b * cols + j] += delta[(b * rows + r) * cols + j];
                    }
                    sums[b * cols + j] = got[3 + b * stride + j];
                }
                for (int j = cols; j < stride; j++) {
                    assertEquals(5f, got[3 + b * stride + j], 0f, "written between the instances' columns");
                }
            }
            double e = error(sums, ref);
            assertTrue(e <= 1e-6, "bias gradient: error " + e);
        }
    }

    @Test
    void softmaxCrossEntropyMatchesTheReferenceInPlaceToo() {
        SplittableRandom rnd = new SplittableRandom(5);
        int batch = 3;
        int rows = 300;
        int classes = 10;
        double scale = 0.5;
        float[] z = uniform(batch * rows * classes, -6, 6, rnd);
        int[] labels = rnd.ints(batch * rows, 0, classes).toArray();
        double[] lossRef = new double[batch];
        double[] dref = new double[z.length];
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rows; r++) {
                int row = (b * rows + r) * classes;
                double sum = 0;
                for (int j = 0; j < classes; j++) {
                    sum += Math.exp(z[row + j]);
                }
                int y = labels[b * rows + r];
                lossRef[b] += (Math.log(sum) - z[row + y]) / rows;
                for (int j = 0; j < classes; j++) {
                    dref[row + j] = scale * (Math.exp(z[row + j]) / sum - (j == y ? 1 : 0)) / rows;
                }
            }
        }
        try (NativeBuffer logits = floats(z); NativeBuffer y = ints(labels); NativeBuffer d = backend.allocateFloats(z.length);
             NativeBuffer loss = backend.allocateDoubles(batch + 2)) {
            MlpKernels.softmaxCrossEntropy(batch, rows, classes, logits, y, scale, d, loss, 2);
            double[] got = loss.toDoubleArray();
            for (int b = 0; b < batch; b++) {
                assertEquals(lossRef[b], got[2 + b], 1e-12 * lossRef[b], "loss of instance " + b);
            }
            double e = error(d.toFloatArray(), dref);
            assertTrue(e <= 1e-6, "dlogits: error " + e);
            MlpKernels.softmaxCrossEntropy(batch, rows, classes, logits, y, scale, logits, loss, 0);
            assertArrayEquals(d.toFloatArray(), logits.toFloatArray(), 0f, "in place");
            assertArrayEquals(java.util.Arrays.copyOfRange(got, 2, 2 + batch),
                    java.util.Arrays.copyOfRange(loss.toDoubleArray(), 0, batch), 0.0);
        }
    }

    @Test
    void aLabelOutOfRangeMakesItsInstancesLossNan() {
        try (NativeBuffer logits = floats(new float[] {1, 2, 3, 4, 5, 6, 7, 8}); NativeBuffer y = ints(new int[] {0, 1, 2, 0});
             NativeBuffer d = backend.allocateFloats(8); NativeBuffer loss = backend.allocateDoubles(2)) {
            MlpKernels.softmaxCrossEntropy(2, 2, 2, logits, y, 1, d, loss, 0);
            double[] l = loss.toDoubleArray();
            assertTrue(Double.isFinite(l[0]) && Double.isNaN(l[1]), java.util.Arrays.toString(l));
        }
    }

    @Test
    void theCApiReturnsStatusCodes() {
        try (NativeBuffer f = floats(new float[] {1, 2, 3, 4, 5, 6}); NativeBuffer i = ints(new int[] {0, 1, 2, 3});
             NativeBuffer loss = backend.allocateDoubles(2)) {
            long ctx = backend.ctx();
            assertEquals(L2l.L2L_ERR_NULL_ARGUMENT,
                    L2l.l2l_mlp_gather(0, 2, 3, f.address(), i.address(), 2, i.address(), f.address(), i.address(), 0));
            assertTrue(L2l.l2l_last_error().contains("context is NULL"), L2l.l2l_last_error());
            assertEquals(L2l.L2L_ERR_NULL_ARGUMENT,
                    L2l.l2l_mlp_gather(ctx, 2, 3, f.address(), 0, 2, i.address(), f.address(), i.address(), 0));
            assertTrue(L2l.l2l_last_error().contains("labels is NULL"), L2l.l2l_last_error());
            assertEquals(L2l.L2L_ERR_INVALID_ARGUMENT,
                    L2l.l2l_mlp_gather(ctx, 0, 3, f.address(), i.address(), 2, i.address(), f.address(), i.address(), 0));
            assertEquals(L2l.L2L_ERR_INVALID_ARGUMENT,
                    L2l.l2l_mlp_gather(ctx, 2, 3, f.address(), i.address(), 2, i.address(), f.address(), i.address(), 4));
            assertEquals(L2l.L2L_ERR_INVALID_ARGUMENT, L2l.l2l_mlp_gather(ctx, 2, 1, f.address(), i.address(), 3,
                    i.address(), f.address(), i.address(), L2l.L2L_CHECK_INDICES));
            assertTrue(L2l.l2l_last_error().contains("indices[2] is outside [0, 2)"), L2l.l2l_last_error());
            assertEquals(L2l.L2L_ERR_INVALID_ARGUMENT,
                    L2l.l2l_mlp_bias_activation(ctx, 1, 2, 3, f.address(), f.address(), 0, 7));
            assertTrue(L2l.l2l_last_error().contains("unknown activation 7"), L2l.l2l_last_error());
            assertEquals(L2l.L2L_ERR_INVALID_ARGUMENT,
                    L2l.l2l_mlp_bias_activation(ctx, 1, 2, 3, f.address(), f.address(), -1, 0));
            assertEquals(L2l.L2L_ERR_NULL_ARGUMENT, L2l.l2l_mlp_bias_activation(ctx, 1, 2, 3, f.address(), 0, 0, 0));
            assertEquals(L2l.L2L_ERR_INVALID_ARGUMENT,
                    L2l.l2l_mlp_activation_backward(ctx, 0, f.address(), f.address(), L2l.L2L_ACTIVATION_RELU));
            assertTrue(L2l.l2l_last_error().contains("count must be"), L2l.l2l_last_error());
            assertEquals(L2l.L2L_ERR_INVALID_ARGUMENT,
                    L2l.l2l_mlp_bias_gradient(ctx, 2, 1, 3, f.address(), f.address(), 2));
            assertTrue(L2l.l2l_last_error().contains("db_stride"), L2l.l2l_last_error());
            assertEquals(L2l.L2L_ERR_INVALID_ARGUMENT, L2l.l2l_mlp_softmax_cross_entropy(ctx, 2, 1, 3, f.address(),
                    i.address(), Float.NaN, f.address(), loss.address()));
            assertEquals(L2l.L2L_ERR_INVALID_ARGUMENT, L2l.l2l_mlp_softmax_cross_entropy(ctx, 6, 1, 1, f.address(),
                    i.address(), 1, f.address(), loss.address()));
            assertEquals(L2l.L2L_ERR_NULL_ARGUMENT, L2l.l2l_mlp_softmax_cross_entropy(ctx, 2, 1, 3, f.address(),
                    i.address(), 1, f.address(), 0));
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, f.toFloatArray(), 0f, "a rejected call wrote");
        }
    }

    @Test
    void badArgumentsAreRejectedBeforeAnythingIsWritten() {
        try (NativeBuffer z = floats(new float[] {1, 2, 3, 4, 5, 6}); NativeBuffer bias = floats(new float[] {1, 1, 1});
             NativeBuffer labels = ints(new int[] {0, 1}); NativeBuffer loss = backend.allocateDoubles(1);
             NativeBuffer doubles = backend.allocateDoubles(6); Backend other = Backend.cpu(1);
             NativeBuffer foreign = other.allocateFloats(6)) {
            float[] before = z.toFloatArray();
            assertThrows(IllegalArgumentException.class, () -> MlpKernels.biasActivation(1, 2, 3, z, bias, 1, 0, null),
                    "bias past its buffer");
            assertThrows(IllegalArgumentException.class, () -> MlpKernels.biasActivation(1, 3, 3, z, bias, 0, 0, null),
                    "z too short");
            assertThrows(IllegalArgumentException.class, () -> MlpKernels.biasActivation(0, 2, 3, z, bias, 0, 0, null));
            assertThrows(IllegalArgumentException.class, () -> MlpKernels.biasActivation(2, 1, 3, z, bias, 0, -1, null));
            assertThrows(IllegalArgumentException.class,
                    () -> MlpKernels.biasActivation(1, 2, 3, z, foreign, 0, 0, null), "another backend");
            assertThrows(IllegalArgumentException.class,
                    () -> MlpKernels.activationBackward(6, doubles, z, Activation.RELU), "a float64 buffer");
            assertThrows(NullPointerException.class, () -> MlpKernels.activationBackward(6, z, z, null));
            assertThrows(IllegalArgumentException.class,
                    () -> MlpKernels.biasGradient(2, 1, 3, z, bias, 0, 2), "overlapping instance gradients");
            assertThrows(IllegalArgumentException.class,
                    () -> MlpKernels.softmaxCrossEntropy(2, 1, 3, z, labels, Double.NaN, z, loss, 0), "NaN scale");
            assertThrows(IllegalArgumentException.class,
                    () -> MlpKernels.softmaxCrossEntropy(2, 1, 3, z, labels, 1, z, loss, 0), "loss too short");
            assertThrows(IllegalArgumentException.class,
                    () -> MlpKernels.softmaxCrossEntropy(6, 1, 1, z, labels, 1, z, loss, 0), "one class");
            assertArrayEquals(before, z.toFloatArray(), 0f);
            bias.close();
            assertThrows(IllegalStateException.class, () -> MlpKernels.biasActivation(1, 2, 3, z, bias, 0, 0, null));
        }
    }
}
