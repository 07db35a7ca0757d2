package org.l2l4j.lstm;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.CudaTests;
import org.l2l4j.reference.ReferenceLstm;

/**
 * 64-bit offsets: an unroll of 20 steps over 1.4 million coordinates, whose record holds
 * 2.27e9 floats (element offsets past 2^31, 9 GB).  Coordinate i repeats the inputs of
 * coordinate i mod 1000, so the float64 reference needs only the 1000 distinct coordinates:
 * dphi is their gradients weighted by multiplicity, and the last coordinates' outputs must equal
 * their representatives'.  Needs about 10 GB of memory (host memory for the CPU backend, device
 * memory for CUDA): run with -Pheavy; the packed GPU run selects the CUDA case.
 */
@Tag("large")
class LargeOffsetsTest {
    static final int N = 1_400_000;
    static final int DISTINCT = 1000;
    static final int T = 20;

    @Test
    void unrollPastTwoToTheThirtyFirstFloats() {
        try (Backend backend = Backend.cpu(0)) {
            unroll(backend);
        }
    }

    @Test
    void cudaUnrollPastTwoToTheThirtyFirstFloats() {
        CudaTests.requireDevice();
        try (Backend backend = Backend.cuda(0)) {
            unroll(backend);
        }
    }

    private static void unroll(Backend backend) {
        LstmConfig config = LstmConfig.paperMnist();
        int rows = config.stateRows();
        assertTrue((long) T * config.recordRows() * N > Integer.MAX_VALUE);
        SplittableRandom rnd = new SplittableRandom(64);
        float[] phi = LstmFixtures.randomPhi(config, 4);
        float[][] x = new float[T][];
        float[][] dDelta = new float[T][];
        for (int t = 0; t < T; t++) {
            x[t] = LstmFixtures.spanningGradients(DISTINCT, rnd);
            dDelta[t] = LstmFixtures.uniform(DISTINCT, 1, rnd);
        }
        try (UnrollBuffers u = new UnrollBuffers(backend, config, N, T)) {
            u.phi.write(phi);
            float[] row = new float[N];
            for (int t = 0; t < T; t++) {
                for (int i = 0; i < N; i++) {
                    row[i] = x[t][i % DISTINCT];
                }
                u.grad.write(row);
                u.lstm.step(u.phi, u.tensors, u.state, u.record, t, false);
                for (int i = 0; i < N; i++) {
                    row[i] = dDelta[t][i % DISTINCT];
                }
                u.dloss.write((long) t * N, row, 0, N);
            }
            u.lstm.backward(u.phi, u.record, T, u.dloss, null, u.dphi, u.dstate, null, false);

            double[][] xd = new double[T][DISTINCT];
            double[][] dd = new double[T][DISTINCT];
            for (int t = 0; t < T; t++) {
                for (int i = 0; i < DISTINCT; i++) {
                    xd[t][i] = x[t][i];
                    dd[t][i] = dDelta[t][i];
                }
            }
            ReferenceLstm ref = new ReferenceLstm(config, LstmFixtures.toDouble(phi));
            ReferenceLstm.Gradients g = ref.backward(new double[rows][DISTINCT], xd, dd);
            // multiplicity of each distinct coordinate among the N
            double[] expected = new double[phi.length];
            for (int j = 0; j < DISTINCT; j++) {
                double[][] one = new double[T][1];
                double[][] oneD = new double[T][1];
                for (int t = 0; t < T; t++) {
                    one[t][0] = xd[t][j];
                    oneD[t][0] = dd[t][j];
                }
                int count = N / DISTINCT + (j < N % DISTINCT ? 1 : 0);
                double[] gj = ref.backward(new double[rows][1], one, oneD).dphi;
                for (int k = 0; k < gj.length; k++) {
                    expected[k] += count * gj[k];
                }
            }
            double err = LstmFixtures.relativeError(u.dphi.toDoubleArray(), expected);
            assertTrue(err <= 1e-4, "dphi error " + err);
            // the last coordinates, at the largest offsets, against their representatives
            float[] tail = new float[DISTINCT];
            float[] thetaTail = new float[DISTINCT];
            u.theta.read(N - DISTINCT, thetaTail, 0, DISTINCT);
            for (int r = 0; r < rows; r += 13) {
                u.dstate.read((long) r * N + N - DISTINCT, tail, 0, DISTINCT);
                double[] got = new double[DISTINCT];
                double[] want = new double[DISTINCT];
                for (int k = 0; k < DISTINCT; k++) {
                    int i = N - DISTINCT + k;
                    got[k] = tail[k];
                    want[k] = g.dstateInitial[r][i % DISTINCT];
                }
                double e = LstmFixtures.relativeError(got, want);
                assertTrue(e <= 1e-4, "dstate_initial row " + r + " error " + e);
            }
            double[] thetaWant = new double[DISTINCT];
            double[] thetaGot = new double[DISTINCT];
            for (int k = 0; k < DISTINCT; k++) {
                int j = (N - DISTINCT + k) % DISTINCT;
                double[] s = new double[rows];
                double sum = 0;
                for (int t = 0; t < T; t++) {
                    sum += ref.step(xd[t][j], s);
                }
                thetaWant[k] = sum;
                thetaGot[k] = thetaTail[k];
            }
            double e = LstmFixtures.relativeError(thetaGot, thetaWant);
            assertTrue(e <= 1e-4, "theta error at the largest offsets " + e);
        }
    }
}
