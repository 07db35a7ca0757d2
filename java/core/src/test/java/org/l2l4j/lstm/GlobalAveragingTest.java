package org.l2l4j.lstm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.presets.L2l;
import org.l2l4j.reference.ReferenceGacLstm;
import org.l2l4j.reference.ReferenceLstm;

/**
 * LSTM+GAC (paper appendix, global averaging cells; l2l.h): the float64 reference's backward
 * pass against central finite differences of its meta-loss (1e-6), the native step and backward
 * pass against that reference on every CPU instruction set (per output tensor, max abs error
 * over max abs reference: 1e-5 for each step's delta and state, 1e-4 for the backward pass, 2e-2
 * with bfloat16 gate products, given the recorded states as {@link BackwardAccuracyTest} does),
 * whole unrolls and one step at a time; bitwise identical results across thread counts; a
 * segment of one coordinate reproducing the plain LSTM; and the errors of bad arguments.
 */
class GlobalAveragingTest {
    static final double STEP_TOLERANCE = 1e-5;
    static final double FD_TOLERANCE = 1e-6;
    static Backend backend;

    @BeforeAll
    static void open() {
        backend = Backend.cpu(2);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    private static int[] list(String v) {
        return v.isEmpty() ? new int[0] : Arrays.stream(v.split("-")).mapToInt(Integer::parseInt).toArray();
    }

    private static double[][] uniform(int rows, int n, double a, SplittableRandom rnd) {
        double[][] m = new double[rows][n];
        for (double[] row : m) {
            for (int i = 0; i < n; i++) {
                row[i] = (2 * rnd.nextDouble() - 1) * a;
            }
        }
        return m;
    }

    /**
     * The reference's dphi, dL/d(initial state) and dL/dx against central differences (h = 1e-6)
     * of its own meta-loss sum_t dDelta_t . delta_t + dstateFinal . state_T, on a tiny model of two
     * layers with averaging units (one layer all averaged), two instances of three coordinates.
     */
    @ParameterizedTest(name = "gac={0}")
    @CsvSource({"1-2", "3-0", "0-1"})
    void referenceBackwardMatchesFiniteDifferences(String gac) {
        LstmConfig config = new LstmConfig(new int[] {3, 2}, Preprocessing.IDENTITY, 10, 0.7, false)
                .withGacUnits(list(gac));
        int n = 6;
        int steps = 3;
        SplittableRandom rnd = new SplittableRandom(7);
        double[] phi = PhiInit.PYTORCH.initialize(config, 11);
        for (int k = 0; k < phi.length; k++) {
            phi[k] *= 2; // larger gates, so that every unit's averaging matters
        }
        double[][] state0 = uniform(config.stateRows(), n, 0.5, rnd);
        double[][] x = uniform(steps, n, 1, rnd);
        double[][] dDelta = uniform(steps, n, 1, rnd);
        double[][] dFinal = uniform(config.stateRows(), n, 1, rnd);
        ReferenceGacLstm ref = new ReferenceGacLstm(config, phi, 3);
        ReferenceGacLstm.Gradients g = ref.backward(state0, null, x, dDelta, dFinal);
        double h = 1e-6;
        double[] fd = new double[phi.length];
        for (int k = 0; k < phi.length; k++) {
            double[] p = phi.clone();
            p[k] += h;
            double up = new ReferenceGacLstm(config, p, 3).metaLoss(state0, x, dDelta, dFinal);
            p[k] -= 2 * h;
            double down = new ReferenceGacLstm(config, p, 3).metaLoss(state0, x, dDelta, dFinal);
            fd[k] = (up - down) / (2 * h);
        }
        assertFiniteDifferences("dphi", g.dphi, fd);
        assertFiniteDifferences("dstate_initial", BackwardAccuracyTest.flatten(g.dstateInitial),
                differences(state0, h, s -> ref.metaLoss(s, x, dDelta, dFinal)));
        assertFiniteDifferences("dx", BackwardAccuracyTest.flatten(g.dx),
                differences(x, h, xs -> ref.metaLoss(state0, xs, dDelta, dFinal)));
    }

    /** Central differences of loss with respect to every element of m, flattened row by row. */
    private static double[] differences(double[][] m, double h, java.util.function.ToDoubleFunction<double[][]> loss) {
        int cols = m[0].length;
        double[] out = new double[m.length * cols];
        for (int r = 0; r < m.length; r++) {
            for (int c = 0; c < cols; c++) {
                double[][] p = Arrays.stream(m).map(double[]::clone).toArray(double[][]::new);
                p[r][c] += h;
                double up = loss.applyAsDouble(p);
                p[r][c] -= 2 * h;
                out[r * cols + c] = (up - loss.applyAsDouble(p)) / (2 * h);
            }
        }
        return out;
    }

    private static void assertFiniteDifferences(String what, double[] analytic, double[] fd) {
        double scale = 1;
        double err = 0;
        for (int i = 0; i < fd.length; i++) {
            scale = Math.max(scale, Math.abs(fd[i]));
            err = Math.max(err, Math.abs(analytic[i] - fd[i]));
        }
        assertTrue(err <= FD_TOLERANCE * scale, what + ": |analytic - finite differences| = " + err);
    }

    /** Without averaging units, or with segments of one coordinate, the reference is ReferenceLstm's LSTM. */
    @ParameterizedTest(name = "gac={0} segment={1}")
    @CsvSource({"0-0, 4", "2-3, 1"})
    void referenceReducesToTheCoordinatewiseLstm(String gac, int segment) {
        LstmConfig config = new LstmConfig(new int[] {4, 3}, Preprocessing.LOG_AND_SIGN, 5, 0.1, false)
                .withGacUnits(list(gac));
        int n = 8;
        SplittableRandom rnd = new SplittableRandom(3);
        double[] phi = PhiInit.PYTORCH.initialize(config, 5);
        double[][] state0 = uniform(config.stateRows(), n, 0.5, rnd);
        double[][] x = uniform(4, n, 1, rnd);
        double[][] dDelta = uniform(4, n, 1, rnd);
        ReferenceGacLstm.Gradients gac0 = new ReferenceGacLstm(config, phi, segment).backward(state0, null, x, dDelta,
                null);
        ReferenceLstm.Gradients plain = new ReferenceLstm(config, phi).backward(state0, x, dDelta);
        BackwardAccuracyTest.assertClose("dphi", gac0.dphi, plain.dphi, 1e-12);
        BackwardAccuracyTest.assertClose("dstate_initial", BackwardAccuracyTest.flatten(gac0.dstateInitial),
                BackwardAccuracyTest.flatten(plain.dstateInitial), 1e-12);
        BackwardAccuracyTest.assertClose("dx", BackwardAccuracyTest.flatten(gac0.dx),
                BackwardAccuracyTest.flatten(plain.dx), 1e-12);
    }

    /**
     * The native step and backward pass of an unroll against the reference: after every step,
     * delta (theta's change) and the state against one reference step from the recorded state
     * before it; then dphi per tensor, dL/d(initial state) and dL/dx of the whole unroll and one
     * step at a time.  Segments of 150 and 700 coordinates do not align with the kernels' tiles
     * (128) or reduction chunks (2048).
     */
    @ParameterizedTest(name = "T={0} n={1} instances={2} widths={3} gac={4} {5} {6}")
    @CsvSource({
        "1, 300, 2, 20-20, 2-2, LOG_AND_SIGN, FLOAT32",
        "5, 300, 2, 20-20, 2-2, LOG_AND_SIGN, FLOAT32",
        "20, 300, 2, 20-20, 5-20, LOG_AND_SIGN, FLOAT32",
        "20, 2100, 3, 20-20, 2-2, LOG_AND_SIGN, FLOAT32",
        "5, 97, 1, 7-33, 7-0, IDENTITY, FLOAT32",
        "20, 97, 1, 7-33, 0-4, IDENTITY, FLOAT32",
        "5, 96, 4, 20, 3, IDENTITY, FLOAT32",
        "20, 300, 2, 20-20, 2-2, LOG_AND_SIGN, BF16_PRODUCTS",
        "5, 97, 1, 7-33, 7-4, IDENTITY, BF16_PRODUCTS"})
    void nativeMatchesReference(int steps, int n, int instances, String widths, String gac, Preprocessing pre,
                                Precision precision) {
        LstmConfig config = new LstmConfig(list(widths), pre, 10, 0.1, false, precision).withGacUnits(list(gac));
        double tolerance = precision == Precision.FLOAT32 ? BackwardAccuracyTest.TOLERANCE
                : BackwardAccuracyTest.BF16_TOLERANCE;
        double stepTolerance = precision == Precision.FLOAT32 ? STEP_TOLERANCE : BackwardAccuracyTest.BF16_TOLERANCE;
        SplittableRandom rnd = new SplittableRandom(100L * steps + n);
        float[] phi = LstmFixtures.randomPhi(config, rnd.nextLong());
        int rows = config.stateRows();
        float[] state0 = LstmFixtures.uniform(rows * n, 0.5, rnd);
        float[] theta0 = LstmFixtures.uniform(n, 1.0, rnd);
        UnrollFixture f = new UnrollFixture(n, rnd);
        ReferenceGacLstm ref = new ReferenceGacLstm(config, LstmFixtures.toDouble(phi), n / instances);
        for (String isa : Backend.supportedCpuIsas()) {
            backend.setCpuIsa(isa);
            try (UnrollBuffers u = new UnrollBuffers(backend, config, n, steps, instances)) {
                u.phi.write(phi);
                u.theta.write(theta0);
                u.state.write(state0);
                double[][] x = new double[steps][];
                double[][] dDelta = new double[steps][n];
                double[][] xs = new double[steps + 1][];
                for (int t = 0; t <= steps; t++) {
                    float[] th = u.theta.toFloatArray();
                    float[] g = LstmFixtures.toFloat(f.gradient(LstmFixtures.toDouble(th)));
                    xs[t] = LstmFixtures.toDouble(g);
                    u.grad.write(g);
                    if (t < steps) {
                        x[t] = xs[t];
                        double[][] before = rowsOf(u.state.toFloatArray(), rows, n);
                        u.lstm.step(u.phi, u.tensors, u.state, u.record, t, true);
                        double[] delta = ref.step(x[t], before);
                        float[] after = u.theta.toFloatArray();
                        double[] got = new double[n];
                        for (int i = 0; i < n; i++) {
                            got[i] = (double) after[i] - th[i];
                        }
                        BackwardAccuracyTest.assertClose(isa + " delta of step " + t, got, delta, stepTolerance);
                        BackwardAccuracyTest.assertClose(isa + " state after step " + t,
                                LstmFixtures.toDouble(u.state.toFloatArray()), BackwardAccuracyTest.flatten(before),
                                stepTolerance);
                    }
                }
                for (int s = steps - 1; s >= 0; s--) {
                    for (int i = 0; i < n; i++) {
                        dDelta[s][i] = xs[s + 1][i] + (s + 1 < steps ? dDelta[s + 1][i] : 0.0);
                    }
                }
                u.lstm.metaLossGradients(u.record, steps, u.grad, 1.0, u.dloss);
                u.lstm.backward(u.phi, u.record, steps, u.dloss, null, u.dphi, u.dstate, u.dx, true);
                // float32: the reference's own trajectory from state0; bfloat16 products: the
                // recorded states (the contract is per call, l2l.h "Precision")
                ReferenceGacLstm.Gradients expected = ref.backward(rowsOf(state0, rows, n),
                        precision == Precision.FLOAT32 ? null : recordedStates(u.record, steps, rows, n), x, dDelta,
                        null);
                for (PhiLayout.Entry e : config.phiLayout().entries()) {
                    double[] got = Arrays.copyOfRange(u.dphi.toDoubleArray(), e.offset(), e.offset() + e.size());
                    double[] want = Arrays.copyOfRange(expected.dphi, e.offset(), e.offset() + e.size());
                    BackwardAccuracyTest.assertClose(isa + " d" + e.name(), got, want, tolerance);
                }
                BackwardAccuracyTest.assertClose(isa + " dstate_initial", LstmFixtures.toDouble(u.dstate.toFloatArray()),
                        BackwardAccuracyTest.flatten(expected.dstateInitial), tolerance);
                BackwardAccuracyTest.assertClose(isa + " dx", LstmFixtures.toDouble(u.dx.toFloatArray()),
                        BackwardAccuracyTest.flatten(expected.dx), tolerance);
                oneStepAtATimeGivesTheUnroll(isa, u, n, steps, rows);
            }
        }
        backend.setCpuIsa(Backend.supportedCpuIsas()[0]);
    }

    /**
     * The unroll's backward pass one step at a time (each call's state gradient the next one's)
     * gives the whole unroll's dL/d(initial state) and dx bit for bit, and its dphi (summed in
     * another order) to 1e-6.
     */
    private static void oneStepAtATimeGivesTheUnroll(String isa, UnrollBuffers u, int n, int steps, int rows) {
        float[] dloss = u.dloss.toFloatArray();
        double[] dphi = new double[u.lstm.phiSize()];
        float[] dx = new float[steps * n];
        NativeBuffer[] dstate = {backend.allocateFloats((long) rows * n), backend.allocateFloats((long) rows * n)};
        try (NativeBuffer ddelta = backend.allocateFloats(n); NativeBuffer dxStep = backend.allocateFloats(n);
             NativeBuffer dphiStep = backend.allocateDoubles(dphi.length)) {
            for (int s = steps - 1; s >= 0; s--) {
                ddelta.write(0, dloss, s * n, n);
                u.lstm.backwardStep(u.phi, u.record, s, ddelta, s == steps - 1 ? null : dstate[(s + 1) % 2], dphiStep,
                        dstate[s % 2], dxStep, true);
                double[] part = dphiStep.toDoubleArray();
                for (int k = 0; k < dphi.length; k++) {
                    dphi[k] += part[k];
                }
                dxStep.read(0, dx, s * n, n);
            }
            BackwardAccuracyTest.assertClose(isa + " dphi, step by step", dphi, u.dphi.toDoubleArray(), 1e-6);
            assertArrayEquals(u.dstate.toFloatArray(), dstate[0].toFloatArray(), isa + " dstate_initial, step by step");
            assertArrayEquals(u.dx.toFloatArray(), dx, isa + " dx, step by step");
        } finally {
            dstate[0].close();
            dstate[1].close();
        }
    }

    private static double[][] rowsOf(float[] flat, int rows, int n) {
        double[][] m = new double[rows][n];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < n; i++) {
                m[r][i] = flat[r * n + i];
            }
        }
        return m;
    }

    /** The states before each step as the record holds them, [T][S][n]. */
    private static double[][][] recordedStates(UnrollRecord record, int steps, int rows, int n) {
        float[] rec = record.buffer().toFloatArray();
        double[][][] before = new double[steps][][];
        for (int t = 0; t < steps; t++) {
            before[t] = rowsOf(Arrays.copyOfRange(rec, (t * (rows + 1) + 1) * n, (t + 1) * (rows + 1) * n), rows, n);
        }
        return before;
    }

    private record Outputs(float[] theta, float[] state, double[] dphi, float[] dstate, float[] dx) {
    }

    private static Outputs run(LstmConfig config, int threads, int n, int instances, int steps) {
        SplittableRandom rnd = new SplittableRandom(2026);
        float[] phi = LstmFixtures.randomPhi(config, 3);
        try (Backend b = Backend.cpu(threads); UnrollBuffers u = new UnrollBuffers(b, config, n, steps, instances)) {
            u.phi.write(phi);
            u.theta.write(LstmFixtures.uniform(n, 1, rnd));
            u.state.write(LstmFixtures.uniform(config.stateRows() * n, 0.5, rnd));
            for (int s = 0; s < steps; s++) {
                u.grad.write(LstmFixtures.spanningGradients(n, rnd));
                u.lstm.step(u.phi, u.tensors, u.state, u.record, s, false);
            }
            u.grad.write(LstmFixtures.spanningGradients(n, rnd));
            u.lstm.metaLossGradients(u.record, steps, u.grad, 0.5, u.dloss);
            u.lstm.backward(u.phi, u.record, steps, u.dloss, null, u.dphi, u.dstate, u.dx, false);
            return new Outputs(u.theta.toFloatArray(), u.state.toFloatArray(), u.dphi.toDoubleArray(),
                    u.dstate.toFloatArray(), u.dx.toFloatArray());
        }
    }

    /** Bitwise identical across thread counts 1, 2 and 4 and across runs, in both precisions. */
    @ParameterizedTest
    @EnumSource(Precision.class)
    void identicalAcrossThreadCounts(Precision precision) {
        LstmConfig config = LstmConfig.paperMnist().withPrecision(precision).withGacUnits(2, 2);
        int n = 50_000; // 4 instances of 12,500; 25 reduction chunks
        Outputs one = run(config, 1, n, 4, 3);
        for (int threads : new int[] {1, 2, 4}) {
            Outputs other = run(config, threads, n, 4, 3);
            assertArrayEquals(one.theta(), other.theta(), "theta, threads=" + threads);
            assertArrayEquals(one.state(), other.state(), "state, threads=" + threads);
            assertArrayEquals(one.dphi(), other.dphi(), "dphi, threads=" + threads);
            assertArrayEquals(one.dstate(), other.dstate(), "dstate, threads=" + threads);
            assertArrayEquals(one.dx(), other.dx(), "dx, threads=" + threads);
        }
    }

    /**
     * With one coordinate per segment every mean is the value itself: the averaging passes give
     * the fused kernels' step and state gradients bit for bit, and their dphi (accumulated in
     * another order) to 1e-6.
     */
    @Test
    void segmentsOfOneCoordinateGiveThePlainLstm() {
        LstmConfig plain = LstmConfig.paperMnist();
        int n = 3_000;
        Outputs fused = run(plain, 2, n, 1, 4);
        Outputs averaging = run(plain.withGacUnits(20, 3), 2, n, n, 4);
        assertArrayEquals(fused.theta(), averaging.theta(), "theta");
        assertArrayEquals(fused.state(), averaging.state(), "state");
        assertArrayEquals(fused.dstate(), averaging.dstate(), "dstate_initial");
        assertArrayEquals(fused.dx(), averaging.dx(), "dx");
        BackwardAccuracyTest.assertClose("dphi", averaging.dphi(), fused.dphi(), 1e-6);
    }

    @Test
    void badArgumentsAreRejected() {
        LstmConfig config = LstmConfig.paperMnist();
        assertThrows(IllegalArgumentException.class, () -> config.withGacUnits(21, 0), "more than the width");
        assertThrows(IllegalArgumentException.class, () -> config.withGacUnits(-1, 0), "negative");
        assertThrows(IllegalArgumentException.class, () -> config.withGacUnits(2), "one count for two layers");
        assertEquals(config, config.withGacUnits(0, 0));
        assertTrue(config.withGacUnits(0, 1).averaging());
        try (NativeBuffer theta = backend.allocateFloats(10); NativeBuffer grad = backend.allocateFloats(10)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TensorList.builder().add(theta, 0, grad, 0, 10).instances(3).build());
            assertTrue(e.getMessage().contains("divide the 10 coordinates"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new UnrollRecord(backend, config, 10, 2, 4));
            assertThrows(IllegalArgumentException.class, () -> TensorList.builder().instances(0));
        }
        try (UnrollBuffers u = new UnrollBuffers(backend, config.withGacUnits(1, 1), 12, 2, 3);
             TensorList one = TensorList.of(u.theta, u.grad)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> u.lstm.step(u.phi, one, u.state, u.record, 0, false));
            assertTrue(e.getMessage().contains("3 instances, the tensors 1"), e.getMessage());
        }
    }

    /**
     * The C API's checks: counts beyond a layer's width, and a segment that does not divide n
     * (nothing written).
     */
    @Test
    void theCApiRejectsBadCountsAndSegments() {
        LstmConfig config = LstmConfig.paperMnist().withGacUnits(1, 1);
        try (IntPointer widths = new IntPointer(20, 20); IntPointer gac = new IntPointer(1, 21);
             LongPointer out = new LongPointer(1)) {
            assertEquals(L2l.L2L_ERR_INVALID_ARGUMENT, L2l.l2l_model_create(widths.address(), gac.address(), 2,
                    L2l.L2L_PREPROCESS_LOG_AND_SIGN, 10, 0.1f, 0, out.address()));
            assertTrue(L2l.l2l_last_error().contains("layer 1's global averaging cells must be in [0, 20]"),
                    L2l.l2l_last_error());
            gac.put(1, 1);
            assertEquals(L2l.L2L_OK, L2l.l2l_model_create(widths.address(), gac.address(), 2,
                    L2l.L2L_PREPROCESS_LOG_AND_SIGN, 10, 0.1f, 0, out.address()));
            long model = out.get(0);
            try (UnrollBuffers u = new UnrollBuffers(backend, config, 12, 1)) {
                assertEquals(1, L2l.l2l_model_gac_units(model, 0));
                assertEquals(-1, L2l.l2l_model_gac_units(model, 2));
                u.dphi.write(new double[u.lstm.phiSize()]);
                assertEquals(L2l.L2L_ERR_INVALID_ARGUMENT, L2l.l2l_backward(backend.ctx(), model, u.phi.address(), 12, 1,
                        u.record.buffer().address(), u.dloss.address(), 0, u.dphi.address(), 0, 0, 5, 0));
                assertTrue(L2l.l2l_last_error().contains("segment must be 0 or divide n = 12, got 5"),
                        L2l.l2l_last_error());
                assertArrayEquals(new double[u.lstm.phiSize()], u.dphi.toDoubleArray());
            } finally {
                L2l.l2l_model_destroy(model);
            }
        }
    }

    /** A checkpoint records the averaging units and loads them back. */
    @Test
    void checkpointsRecordTheAveragingUnits(@TempDir Path dir) throws java.io.IOException {
        LstmConfig config = LstmConfig.paperMnist().withGacUnits(3, 1);
        float[] phi = LstmFixtures.randomPhi(config, 1);
        Path file = dir.resolve("gac.safetensors");
        new OptimizerCheckpoint(config, phi, Map.of()).save(file);
        assertTrue(Files.size(file) > 0);
        OptimizerCheckpoint loaded = OptimizerCheckpoint.load(file);
        assertEquals(config, loaded.config());
        assertEquals("3,1", OptimizerCheckpoint.configMetadata(config).get("gac_units"));
        assertArrayEquals(phi, loaded.phi());
    }
}
