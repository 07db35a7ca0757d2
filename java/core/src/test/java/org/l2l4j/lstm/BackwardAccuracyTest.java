package org.l2l4j.lstm;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.reference.ReferenceLstm;

/**
 * The native backward pass against the float64 reference on an unroll of T steps of a real
 * trajectory (gradients from a random quadratic re-evaluated at every theta_t): dL/d delta from
 * the record (meta-loss helper), dphi, dL/d(initial state) and dL/dx all agree to 1e-4 (max abs
 * difference over max abs reference, per tensor), for T = 1, 5, 20, on every CPU instruction set;
 * so do the same computed one step at a time ({@link CoordinatewiseLstm#backwardStep}).
 */
class BackwardAccuracyTest {
    static final double TOLERANCE = 1e-4;
    static Backend backend;

    @BeforeAll
    static void open() {
        backend = Backend.cpu(2);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    @ParameterizedTest(name = "T={0} n={1} widths={2} {3}")
    @CsvSource({
        "1, 300, 20-20, LOG_AND_SIGN",
        "5, 300, 20-20, LOG_AND_SIGN",
        "20, 300, 20-20, LOG_AND_SIGN",
        "20, 2100, 20-20, LOG_AND_SIGN",
        "5, 97, 7-33, IDENTITY",
        "20, 97, 7-33, LOG_AND_SIGN",
        "5, 97, 20, IDENTITY",
        "5, 97, '', LOG_AND_SIGN"})
    void backwardMatchesReference(int steps, int n, String widthList, Preprocessing pre) {
        int[] widths = widthList.isEmpty() ? new int[0]
                : java.util.Arrays.stream(widthList.split("-")).mapToInt(Integer::parseInt).toArray();
        LstmConfig config = new LstmConfig(widths, pre, 10, 0.1, false);
        SplittableRandom rnd = new SplittableRandom(1000L * steps + n + widths.length);
        float[] phi = LstmFixtures.randomPhi(config, rnd.nextLong());
        int rows = config.stateRows();
        float[] state0 = LstmFixtures.uniform(rows * n, 0.5, rnd);
        float[] theta0 = LstmFixtures.uniform(n, 1.0, rnd);
        UnrollFixture f = new UnrollFixture(n, rnd);

        for (String isa : Backend.supportedCpuIsas()) {
            backend.setCpuIsa(isa);
            try (UnrollBuffers u = new UnrollBuffers(backend, config, n, steps)) {
                u.phi.write(phi);
                u.theta.write(theta0);
                if (u.state != null) {
                    u.state.write(state0);
                }
                // forward: x_t = u.grad f(theta_t), recorded by the step
                double[][] x = new double[steps][];
                double[][] xs = new double[steps + 1][];
                for (int t = 0; t <= steps; t++) {
                    float[] th = u.theta.toFloatArray();
                    float[] g = LstmFixtures.toFloat(f.gradient(LstmFixtures.toDouble(th)));
                    xs[t] = LstmFixtures.toDouble(g);
                    u.grad.write(g);
                    if (t < steps) {
                        x[t] = xs[t];
                        u.lstm.step(u.phi, u.tensors, u.state, u.record, t, true);
                    }
                }
                // dL/d delta_s = sum_{t=s+1..T} x_t
                u.lstm.metaLossGradients(u.record, steps, u.grad, 1.0, u.dloss);
                double[][] dDelta = new double[steps][n];
                double[] dDeltaFlat = new double[steps * n];
                for (int s = steps - 1; s >= 0; s--) {
                    for (int i = 0; i < n; i++) {
                        dDelta[s][i] = xs[s + 1][i] + (s + 1 < steps ? dDelta[s + 1][i] : 0.0);
                        dDeltaFlat[s * n + i] = dDelta[s][i];
                    }
                }
                assertClose(isa + " dloss_ddelta", LstmFixtures.toDouble(u.dloss.toFloatArray()), dDeltaFlat);

                u.lstm.backward(u.phi, u.record, steps, u.dloss, null, u.dphi, u.dstate, u.dx, true);

                double[][] s0 = new double[rows][n];
                for (int r = 0; r < rows; r++) {
                    for (int i = 0; i < n; i++) {
                        s0[r][i] = state0[r * n + i];
                    }
                }
                ReferenceLstm ref = new ReferenceLstm(config, LstmFixtures.toDouble(phi));
                ReferenceLstm.Gradients expected = ref.backward(s0, x, dDelta);
                assertClose(isa + " u.dphi", u.dphi.toDoubleArray(), expected.dphi);
                for (PhiLayout.Entry e : config.phiLayout().entries()) {
                    double[] got = java.util.Arrays.copyOfRange(u.dphi.toDoubleArray(), e.offset(), e.offset() + e.size());
                    double[] want = java.util.Arrays.copyOfRange(expected.dphi, e.offset(), e.offset() + e.size());
                    assertClose(isa + " d" + e.name(), got, want);
                }
                if (rows > 0) {
                    assertClose(isa + " dstate_initial", LstmFixtures.toDouble(u.dstate.toFloatArray()), flatten(expected.dstateInitial));
                }
                assertClose(isa + " dx", LstmFixtures.toDouble(u.dx.toFloatArray()), flatten(expected.dx));
                backwardOneStepAtATime(isa, u, n, steps, rows, expected);
            }
        }
        backend.setCpuIsa(Backend.supportedCpuIsas()[0]);
    }

    /**
     * The same unroll's backward pass one step at a time ({@link CoordinatewiseLstm#backwardStep},
     * l2l_backward on the record of step s), from the last step down, each call's state gradient
     * feeding the next: dphi summed over the steps, the state gradient before step 0 and dx_s
     * against the same float64 reference.
     */
    private static void backwardOneStepAtATime(String isa, UnrollBuffers u, int n, int steps, int rows,
                                               ReferenceLstm.Gradients expected) {
        float[] dloss = u.dloss.toFloatArray();
        double[] dphi = new double[expected.dphi.length];
        double[] dx = new double[steps * n];
        float[] hostDx = new float[n];
        NativeBuffer[] dstate = new NativeBuffer[2];
        try (NativeBuffer ddelta = backend.allocateFloats(n); NativeBuffer dxStep = backend.allocateFloats(n);
             NativeBuffer dphiStep = backend.allocateDoubles(dphi.length)) {
            for (int i = 0; i < 2 && rows > 0; i++) {
                dstate[i] = backend.allocateFloats((long) rows * n);
            }
            for (int s = steps - 1; s >= 0; s--) {
                ddelta.write(0, dloss, s * n, n);
                u.lstm.backwardStep(u.phi, u.record, s, ddelta, s == steps - 1 ? null : dstate[(s + 1) % 2], dphiStep,
                        dstate[s % 2], dxStep, true);
                double[] part = dphiStep.toDoubleArray();
                for (int k = 0; k < dphi.length; k++) {
                    dphi[k] += part[k];
                }
                dxStep.read(0, hostDx, 0, n);
                for (int i = 0; i < n; i++) {
                    dx[s * n + i] = hostDx[i];
                }
            }
            assertClose(isa + " dphi, step by step", dphi, expected.dphi);
            if (rows > 0) {
                assertClose(isa + " dstate_initial, step by step", LstmFixtures.toDouble(dstate[0].toFloatArray()),
                        flatten(expected.dstateInitial));
            }
            assertClose(isa + " dx, step by step", dx, flatten(expected.dx));
        } finally {
            for (NativeBuffer b : dstate) {
                if (b != null) {
                    b.close();
                }
            }
        }
    }

    static double[] flatten(double[][] m) {
        int cols = m[0].length;
        double[] out = new double[m.length * cols];
        for (int r = 0; r < m.length; r++) {
            System.arraycopy(m[r], 0, out, r * cols, cols);
        }
        return out;
    }

    static void assertClose(String what, double[] got, double[] want) {
        double err = LstmFixtures.relativeError(got, want);
        assertTrue(err <= TOLERANCE, what + ": error " + err + " > " + TOLERANCE);
    }
}
