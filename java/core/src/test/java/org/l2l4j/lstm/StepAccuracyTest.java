package org.l2l4j.lstm;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.reference.ReferenceLstm;

/**
 * The native fused step against the float64 reference: for every coordinate count, layer list
 * and preprocessing of the native-core acceptance list, on random phi, random states and
 * gradients spanning 1e-12..1e3 with exact zeros, delta, h and c agree to 1e-5 (max abs
 * difference over max abs reference, per tensor) in float32 and to 2e-2 with bfloat16 gate
 * products (l2l.h, "Precision"), on every CPU instruction set this machine runs.
 */
class StepAccuracyTest {
    static final double TOLERANCE = 1e-5;
    static Backend backend;

    @BeforeAll
    static void open() {
        backend = Backend.cpu(2);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    static Stream<Arguments> cases() {
        List<Arguments> list = new ArrayList<>();
        int[][] layerLists = {{}, {20}, {20, 20}, {7, 33}};
        for (int n : new int[] {1, 3, 31, 1000, 65537}) {
            for (int[] widths : layerLists) {
                for (Preprocessing pre : Preprocessing.values()) {
                    for (Precision precision : Precision.values()) {
                        list.add(Arguments.of(n, widths, pre, precision));
                    }
                }
            }
        }
        return list.stream();
    }

    @ParameterizedTest(name = "n={0} widths={1} {2} {3}")
    @MethodSource("cases")
    void stepMatchesReference(int n, int[] widths, Preprocessing pre, Precision precision) {
        LstmConfig config = new LstmConfig(widths, pre, 10, 0.1, false, precision);
        SplittableRandom rnd = new SplittableRandom(31L * n + widths.length * 7L + pre.ordinal());
        check(config, LstmFixtures.randomPhi(config, rnd.nextLong()), n, rnd);
    }

    /**
     * With bfloat16 gate products, the same on a phi that saturates most gates (PyTorch's
     * initialization times 4) and on the shipped MNIST optimizer's phi.
     */
    @ParameterizedTest(name = "phi={0}")
    @EnumSource(value = BackwardAccuracyTest.PhiSource.class, names = {"SATURATED", "SHIPPED_MNIST"})
    void bf16StepMatchesReferenceOnTrainedAndSaturatedPhi(BackwardAccuracyTest.PhiSource source) throws IOException {
        LstmConfig config = source.config(LstmConfig.paperMnist().withPrecision(Precision.BF16_PRODUCTS));
        SplittableRandom rnd = new SplittableRandom(77 + source.ordinal());
        check(config, source.phi(config, rnd.nextLong()), 20_000, rnd);
    }

    private static void check(LstmConfig config, float[] phi, int n, SplittableRandom rnd) {
        double tolerance = config.precision() == Precision.FLOAT32 ? TOLERANCE : BackwardAccuracyTest.BF16_TOLERANCE;
        Preprocessing pre = config.preprocessing();
        float[] grad = LstmFixtures.spanningGradients(n, rnd);
        if (pre == Preprocessing.IDENTITY) {
            // identity feeds x itself to the LSTM: keep it in a range where the gates are not
            // saturated for every coordinate, but still spanning 15 orders of magnitude
            for (int i = 0; i < n; i++) {
                grad[i] = (float) (grad[i] * 1e-3);
            }
        }
        float[] theta = LstmFixtures.uniform(n, 1e-3, rnd);
        int rows = config.stateRows();
        float[] state = LstmFixtures.uniform(rows * n, 1.0, rnd);

        // reference, coordinate by coordinate
        ReferenceLstm ref = new ReferenceLstm(config, LstmFixtures.toDouble(phi));
        double[] refDelta = new double[n];
        double[] refState = new double[rows * n];
        for (int i = 0; i < n; i++) {
            double[] s = new double[rows];
            for (int r = 0; r < rows; r++) {
                s[r] = state[r * n + i];
            }
            refDelta[i] = ref.step(grad[i], s);
            for (int r = 0; r < rows; r++) {
                refState[r * n + i] = s[r];
            }
        }

        for (String isa : Backend.supportedCpuIsas()) {
            backend.setCpuIsa(isa);
            try (CoordinatewiseLstm lstm = new CoordinatewiseLstm(config);
                 NativeBuffer phiBuf = backend.allocateFloats(phi.length);
                 NativeBuffer thetaBuf = backend.allocateFloats(n);
                 NativeBuffer gradBuf = backend.allocateFloats(n);
                 NativeBuffer stateBuf = rows > 0 ? backend.allocateFloats((long) rows * n) : null;
                 TensorList tensors = TensorList.of(thetaBuf, gradBuf)) {
                phiBuf.write(phi);
                thetaBuf.write(theta);
                gradBuf.write(grad);
                if (stateBuf != null) {
                    stateBuf.write(state);
                }
                lstm.step(phiBuf, tensors, stateBuf, null, 0, false);
                float[] thetaOut = thetaBuf.toFloatArray();
                double[] delta = new double[n];
                for (int i = 0; i < n; i++) {
                    delta[i] = (double) thetaOut[i] - theta[i];
                }
                double err = LstmFixtures.relativeError(delta, refDelta);
                assertTrue(err <= tolerance, isa + ": delta error " + err);
                if (stateBuf != null) {
                    double errState = LstmFixtures.relativeError(LstmFixtures.toDouble(stateBuf.toFloatArray()), refState);
                    assertTrue(errState <= tolerance, isa + ": state error " + errState);
                }
            }
        }
        backend.setCpuIsa(Backend.supportedCpuIsas()[0]);
    }
}
