package org.l2l4j.ntm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.l2l4j.lstm.Preprocessing;
import org.l2l4j.reference.ReferenceNtmBfgs;
import org.l2l4j.safetensors.CheckpointFormatException;

/**
 * NTM-BFGS against an independent float64 reference (forward) and central finite differences
 * (backward), on tiny problems with random phi and random gradients.
 */
class NtmBfgsTest {
    private static final int B = 2;
    private static final int D = 3;
    private static final int[] WIDTHS = {3, 2};
    private static final int HEADS = 2;

    /** The configurations checked: each preprocessing, with and without averaging units. */
    enum Case {
        IDENTITY(Preprocessing.IDENTITY, new int[] {0, 0}),
        LOG_AND_SIGN(Preprocessing.LOG_AND_SIGN, new int[] {0, 0}),
        IDENTITY_GAC(Preprocessing.IDENTITY, new int[] {1, 2}),
        LOG_AND_SIGN_GAC(Preprocessing.LOG_AND_SIGN, new int[] {2, 1});

        final Preprocessing pre;
        final int[] gac;

        Case(Preprocessing pre, int[] gac) {
            this.pre = pre;
            this.gac = gac;
        }

        NtmBfgsConfig config() {
            return new NtmBfgsConfig(WIDTHS, gac, HEADS, pre, 2.0, 0.7);
        }
    }

    private static double[] randomPhi(NtmBfgsConfig c, long seed) {
        Random r = new Random(seed);
        double[] phi = new double[c.phiSize()];
        for (int i = 0; i < phi.length; i++) {
            phi[i] = r.nextDouble() - 0.5;
        }
        return phi;
    }

    /** x[t][b][k] ~ N(0, 1), never zero. */
    private static double[][][] randomGradients(int steps, long seed) {
        Random r = new Random(seed);
        double[][][] x = new double[steps][B][D];
        for (double[][] t : x) {
            for (double[] b : t) {
                for (int k = 0; k < D; k++) {
                    b[k] = r.nextGaussian();
                }
            }
        }
        return x;
    }

    private static double[] flat(double[][] a) {
        double[] out = new double[B * D];
        for (int b = 0; b < B; b++) {
            System.arraycopy(a[b], 0, out, b * D, D);
        }
        return out;
    }

    /** Tolerance of the forward comparison: 1e-12 of the largest reference update. */
    @ParameterizedTest
    @EnumSource(Case.class)
    void stepsMatchTheIndependentReference(Case k) {
        NtmBfgsConfig c = k.config();
        double[] phi = randomPhi(c, 1);
        double[][][] x = randomGradients(6, 2);
        double[][][] want = new ReferenceNtmBfgs(WIDTHS, k.gac, HEADS, k.pre == Preprocessing.LOG_AND_SIGN, 2.0, 0.7)
                .run(phi, x);
        NtmBfgs model = new NtmBfgs(c, B, D, 0);
        model.write(phi);
        double[] delta = new double[B * D];
        double largest = 0;
        double worst = 0;
        for (int t = 0; t < x.length; t++) {
            model.step(flat(x[t]), delta);
            double[] expected = flat(want[t]);
            for (int i = 0; i < delta.length; i++) {
                largest = Math.max(largest, Math.abs(expected[i]));
                worst = Math.max(worst, Math.abs(delta[i] - expected[i]));
            }
        }
        assertTrue(largest > 0.03, "the updates are not trivially small: " + largest);
        assertTrue(worst <= 1e-12 * largest, "largest difference " + worst + " of " + largest);
    }

    /**
     * The replayed meta-loss L(phi) = sum_t <w_t, theta_t> of a trajectory whose step t reads the
     * fixed gradients x[t] (so dropping their dependence on theta is exact), theta_0 = 0; the
     * steps before {@code from} run with {@code phi0} (the previous unroll's, a constant of the
     * truncated meta-loss) and count in no term.
     */
    private static double replayedLoss(NtmBfgsConfig c, double[] phi0, double[] phi, double[][][] x,
                                       double[][] w, int from) {
        NtmBfgs model = new NtmBfgs(c, B, D, 0);
        double[] theta = new double[B * D];
        double[] delta = new double[B * D];
        double loss = 0;
        model.write(phi0);
        for (int t = 0; t < x.length; t++) {
            if (t == from) {
                model.write(phi);
            }
            model.step(flat(x[t]), delta);
            for (int i = 0; i < theta.length; i++) {
                theta[i] += delta[i];
                if (t >= from) {
                    loss += w[t - from][i] * theta[i];
                }
            }
        }
        return loss;
    }

    /**
     * dL/dphi of the backward pass against central differences of the replayed meta-loss
     * (step 1e-5); tolerance 1e-6 of the largest derivative, per phi tensor.  With {@code from}
     * steps before the unroll, the unroll starts from a carried state, as after a truncation.
     */
    @ParameterizedTest
    @EnumSource(Case.class)
    void backwardMatchesFiniteDifferences(Case k) {
        for (int from : new int[] {0, 3}) {
            NtmBfgsConfig c = k.config();
            double[] phi0 = randomPhi(c, 3);
            double[] phi = randomPhi(c, 4);
            int steps = 5;
            double[][][] x = randomGradients(from + steps, 5);
            Random r = new Random(6);
            double[][] w = new double[steps][B * D];
            for (double[] row : w) {
                for (int i = 0; i < row.length; i++) {
                    row[i] = r.nextGaussian();
                }
            }
            NtmBfgs model = new NtmBfgs(c, B, D, steps);
            double[] delta = new double[B * D];
            model.write(phi0);
            for (int t = 0; t < x.length; t++) {
                if (t == from) {
                    model.write(phi);
                    model.truncate();
                }
                model.step(flat(x[t]), delta);
            }
            double[] dphi = new double[phi.length];
            model.backward(w, dphi);
            double eps = 1e-5;
            for (org.l2l4j.lstm.PhiLayout.Entry e : c.phiLayout()) {
                double largest = 0;
                double worst = 0;
                for (int i = e.offset(); i < e.offset() + e.size(); i++) {
                    double[] plus = phi.clone();
                    double[] minus = phi.clone();
                    plus[i] += eps;
                    minus[i] -= eps;
                    double fd = (replayedLoss(c, phi0, plus, x, w, from) - replayedLoss(c, phi0, minus, x, w, from))
                            / (2 * eps);
                    largest = Math.max(largest, Math.abs(fd));
                    worst = Math.max(worst, Math.abs(fd - dphi[i]));
                }
                assertTrue(largest > 1e-3, e.name() + ": derivatives are not trivially small: " + largest);
                assertTrue(worst <= 1e-6 * Math.max(1, largest), e.name() + " (from step " + from + "): largest"
                        + " difference " + worst + " of " + largest);
            }
        }
    }

    @Test
    void initialPhiLeavesThetaUnchangedButCanLearnToWrite() {
        NtmBfgsConfig c = NtmBfgsConfig.paperQuadratic();
        double[] phi = NtmBfgs.initialPhi(c, 7);
        NtmBfgs model = new NtmBfgs(c, 1, 10, 2);
        model.write(phi);
        double[] delta = new double[10];
        double[] g = new double[10];
        java.util.Arrays.fill(g, 0.5);
        model.step(g, delta);
        model.step(g, delta);
        assertTrue(java.util.Arrays.stream(delta).allMatch(v -> Math.abs(v) < 1e-2), "updates start near zero");
        double[] dphi = new double[phi.length];
        model.backward(new double[][] {g, g}, dphi);
        org.l2l4j.lstm.PhiLayout.Entry heads = c.phiLayout().get(c.phiLayout().size() - 2);
        double writeGradient = 0;
        for (int i = heads.offset() + 2 * c.width(1); i < heads.offset() + heads.size(); i++) {
            writeGradient += Math.abs(dphi[i]);
        }
        assertTrue(writeGradient > 0, "the key and write rows get a gradient from the start");
    }

    @Test
    void instancesShareNothingButPhi() {
        NtmBfgsConfig c = Case.IDENTITY_GAC.config();
        double[] phi = randomPhi(c, 11);
        double[][][] x = randomGradients(4, 12);
        NtmBfgs together = new NtmBfgs(c, B, D, 0);
        together.write(phi);
        NtmBfgs[] alone = {new NtmBfgs(c, 1, D, 0), new NtmBfgs(c, 1, D, 0)};
        for (NtmBfgs a : alone) {
            a.write(phi);
        }
        double[] delta = new double[B * D];
        double[] lone = new double[D];
        for (double[][] step : x) {
            together.step(flat(step), delta);
            for (int b = 0; b < B; b++) {
                alone[b].step(step[b].clone(), lone);
                assertArrayEquals(lone, java.util.Arrays.copyOfRange(delta, b * D, (b + 1) * D));
            }
        }
    }

    @Test
    void rejectsInstancesLargerThanItsMemoryLimit() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new NtmBfgs(NtmBfgsConfig.paperQuadratic(), 1, 15_910, 0));
        assertTrue(e.getMessage().contains("1 to " + NtmBfgsConfig.MAX_DIMENSION) && e.getMessage().contains("15910")
                && e.getMessage().contains("2025 MB"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new NtmBfgs(NtmBfgsConfig.paperQuadratic(), 1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new NtmBfgs(NtmBfgsConfig.paperQuadratic(), 0, 10, 0));
        assertThrows(IllegalArgumentException.class, () -> new NtmBfgs(NtmBfgsConfig.paperQuadratic(), 1, 10, -1));
    }

    @Test
    void badInputLeavesTheStateAndOutputsUntouched() {
        NtmBfgsConfig c = Case.IDENTITY_GAC.config();
        double[] phi = randomPhi(c, 8);
        double[][][] x = randomGradients(2, 9);
        NtmBfgs a = new NtmBfgs(c, B, D, 2);
        NtmBfgs b = new NtmBfgs(c, B, D, 2);
        a.write(phi);
        b.write(phi);
        double[] da = new double[B * D];
        double[] db = new double[B * D];
        a.step(flat(x[0]), da);
        b.step(flat(x[0]), db);
        double[] bad = flat(x[1]);
        bad[4] = Double.NaN;
        double[] before = da.clone();
        IllegalArgumentException nan = assertThrows(IllegalArgumentException.class, () -> a.step(bad, da));
        assertTrue(nan.getMessage().contains("gradient holds NaN at index 4"), nan.getMessage());
        assertArrayEquals(before, da);
        assertThrows(IllegalArgumentException.class, () -> a.step(new double[B * D + 1], da));
        assertThrows(IllegalArgumentException.class, () -> a.step(flat(x[1]), new double[1]));
        double[] badPhi = phi.clone();
        badPhi[0] = Double.POSITIVE_INFINITY;
        assertThrows(IllegalArgumentException.class, () -> a.write(badPhi));
        assertThrows(IllegalArgumentException.class, () -> a.write(new double[3]));
        a.step(flat(x[1]), da);
        b.step(flat(x[1]), db);
        assertArrayEquals(db, da, "the rejected calls changed nothing");
        assertEquals(2, a.recorded());
        IllegalStateException full = assertThrows(IllegalStateException.class, () -> a.step(flat(x[1]), da));
        assertTrue(full.getMessage().contains("holds 2 steps"), full.getMessage());
        assertThrows(IllegalArgumentException.class, () -> a.backward(new double[1][B * D], new double[phi.length]));
        assertThrows(IllegalArgumentException.class, () -> a.backward(new double[2][B * D], new double[1]));
        IllegalStateException none = assertThrows(IllegalStateException.class,
                () -> new NtmBfgs(c, B, D, 0).backward(new double[0][], new double[phi.length]));
        assertTrue(none.getMessage().contains("recordSteps 0"), none.getMessage());
    }

    @Test
    void configurationIsValidated() {
        int[] one = {0};
        Preprocessing id = Preprocessing.IDENTITY;
        assertThrows(IllegalArgumentException.class, () -> new NtmBfgsConfig(new int[0], new int[0], 3, id, 10, 1));
        assertThrows(IllegalArgumentException.class, () -> new NtmBfgsConfig(new int[] {20}, one, 0, id, 10, 1));
        assertThrows(IllegalArgumentException.class, () -> new NtmBfgsConfig(new int[] {0}, one, 3, id, 10, 1));
        assertThrows(IllegalArgumentException.class, () -> new NtmBfgsConfig(new int[] {20}, one, 3, id, 10, Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> new NtmBfgsConfig(new int[] {20}, one, 3,
                Preprocessing.LOG_AND_SIGN, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new NtmBfgsConfig(new int[] {20}, new int[] {21}, 3, id, 10, 1));
        assertThrows(IllegalArgumentException.class, () -> new NtmBfgsConfig(new int[] {20}, new int[] {1, 1}, 3, id, 10,
                1));
        // 20-20 controller with 3 write heads: the quadratic LSTM's 5,221 values, one more input
        // column (80) and 7 more output rows of 21 (147).
        assertEquals(5221 + 80 + 7 * 21, NtmBfgsConfig.paperQuadratic().phiSize());
    }

    @Test
    void checkpointsRoundTripAndRejectOtherFiles(@TempDir Path dir) throws IOException {
        NtmBfgsConfig c = Case.LOG_AND_SIGN_GAC.config();
        NtmBfgsCheckpoint saved = new NtmBfgsCheckpoint(c, randomPhi(c, 10), Map.of("epochs", "3"));
        Path file = dir.resolve("ntm.safetensors");
        saved.save(file);
        assertTrue(NtmBfgsCheckpoint.isOne(file));
        NtmBfgsCheckpoint loaded = NtmBfgsCheckpoint.load(file);
        assertEquals(c, loaded.config());
        assertArrayEquals(saved.phi(), loaded.phi());
        assertEquals(Map.of("epochs", "3"), loaded.description());
        Path other = dir.resolve("other.safetensors");
        Files.write(other, new byte[] {1, 2, 3});
        assertTrue(!NtmBfgsCheckpoint.isOne(other));
        assertThrows(IOException.class, () -> NtmBfgsCheckpoint.load(other));
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 1] ^= 1;
        Files.write(other, bytes);
        assertThrows(CheckpointFormatException.class, () -> NtmBfgsCheckpoint.load(other));
    }
}
