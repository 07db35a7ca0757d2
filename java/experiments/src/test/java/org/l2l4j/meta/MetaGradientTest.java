package org.l2l4j.meta;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.lstm.CoordinatewiseLstm;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.PhiInit;
import org.l2l4j.lstm.PhiLayout;
import org.l2l4j.lstm.Preprocessing;
import org.l2l4j.optimizees.Quadratic;
import org.l2l4j.optimizees.QuadraticFamily;
import org.l2l4j.optimizers.HandDesignedRule;
import org.l2l4j.reference.ReferenceLstm;

/**
 * The meta-gradient of whole unrolls as meta-training assembles it ({@link TruncatedBackprop}:
 * the native step and backward pass, the meta-loss gradients with the instance scaling 1/B or
 * the batch-mean input scaling, the imitation term, and a trajectory whose last unroll is
 * shorter) against central finite differences (step 1e-5) of the replayed meta-loss in float64,
 * computed with the test's float64 reference LSTM: for an unroll from theta_start and state
 * s_start with the recorded LSTM inputs x_t held fixed (the dropped second derivatives),
 * <pre>
 *     L~(phi) = (1/B) sum_b sum_{t=1..T} f_b(theta_{b,t}) + lambda (1/B) sum_b sum_s
 *               || delta_{b,s} - delta^teacher_{b,s} ||^2,    theta_{t+1} = theta_t + m(x_t, s_t; phi)
 * </pre>
 * whose true gradient is the estimator's.  The teacher's steps (NAG) are computed here from the
 * raw gradients in float64.  Per tensor of phi, err = max |a - b| / max |b| &lt; 2e-4 (the native
 * forward runs in float32).
 */
class MetaGradientTest {
    static final double STEP = 1e-5;
    static final double TOLERANCE = 2e-4;
    static final int D = 3;
    static final int B = 2;
    static final int T = 3;
    /** The trajectory: an unroll of 3 steps, then a shorter one of 2. */
    static final int[] UNROLLS = {3, 2};

    @ParameterizedTest(name = "{0} inputs, imitation weight {1}")
    @CsvSource({"PAPER, 0", "PAPER, 0.7", "BATCH_MEAN, 0", "BATCH_MEAN, 0.7"})
    void theAssembledMetaGradientMatchesFiniteDifferences(InputScaling scaling, double lambda) {
        LstmConfig config = new LstmConfig(new int[] {3}, Preprocessing.IDENTITY, 1, 0.3, false);
        double[] phi64 = PhiInit.PYTORCH.initialize(config, 5);
        float[] phi32 = PhiLayout.toFloat32(phi64);
        double[] phi = new double[phi32.length];
        for (int i = 0; i < phi.length; i++) {
            phi[i] = phi32[i];
        }
        QuadraticFamily family = new QuadraticFamily(D, QuadraticFamily.Distribution.GAUSSIAN);
        long[] seeds = {11, 12};
        Quadratic[] f = {family.sample(seeds[0]), family.sample(seeds[1])};
        boolean batchMean = scaling == InputScaling.BATCH_MEAN;
        double inputScale = batchMean ? 1.0 / B : 1.0;
        double teacherRate = 0.05;
        Imitation imitation = lambda > 0 ? new Imitation(HandDesignedRule.NAG, teacherRate, lambda, 10) : Imitation.NONE;
        int rows = config.stateRows();
        try (Backend backend = Backend.cpu(1);
             CoordinatewiseLstm lstm = new CoordinatewiseLstm(config);
             NativeBuffer phiBuffer = backend.allocateFloats(phi32.length);
             OptimizeeBatch batch = new OptimizeeBatch(backend, lstm, phiBuffer, family, B, T, T);
             TruncatedBackprop estimator = new TruncatedBackprop(backend, lstm, phiBuffer, batch,
                     List.of(3, 2), batchMean ? 1.0 : 1.0 / B, inputScale, imitation)) {
            phiBuffer.write(phi32);
            batch.start(seeds, inputScale);
            estimator.startTrajectory(0);
            double[] teacherMomentum = new double[B * D];
            for (int steps : UNROLLS) {
                // the point the unroll starts from: theta and every coordinate's state
                double[][] theta0 = new double[B][];
                for (int b = 0; b < B; b++) {
                    float[] p = batch.parameters(b);
                    theta0[b] = new double[D];
                    for (int i = 0; i < D; i++) {
                        theta0[b][i] = p[i];
                    }
                }
                double[] dphi = new double[phi.length];
                estimator.unroll(steps, dphi);
                // the recorded LSTM inputs x_t and the state before the unroll, from the record
                long n = (long) B * D;
                int recordRows = 1 + rows;
                float[] record = new float[(int) (steps * recordRows * n)];
                batch.record().buffer().read(0, record, 0, record.length);
                double[][] x = new double[steps][(int) n];
                double[][] state0 = new double[(int) n][rows];
                for (int s = 0; s < steps; s++) {
                    for (int i = 0; i < n; i++) {
                        x[s][i] = record[(int) ((s * recordRows) * n + i)];
                    }
                }
                for (int r = 0; r < rows; r++) {
                    for (int i = 0; i < n; i++) {
                        state0[i][r] = record[(int) ((1 + r) * n + i)];
                    }
                }
                // the teacher's steps from the raw gradients x_t / inputScale (NAG, float64)
                double[][] teacher = new double[steps][(int) n];
                for (int s = 0; s < steps; s++) {
                    for (int i = 0; i < n; i++) {
                        double g = x[s][i] / inputScale;
                        teacherMomentum[i] = HandDesignedRule.MOMENTUM_COEFFICIENT * teacherMomentum[i] + g;
                        teacher[s][i] = -teacherRate * (g + HandDesignedRule.MOMENTUM_COEFFICIENT * teacherMomentum[i]);
                    }
                }
                Replay replay = new Replay(config, f, theta0, state0, x, teacher, lambda);
                double[] fd = new double[phi.length];
                for (int k = 0; k < phi.length; k++) {
                    double[] plus = phi.clone();
                    double[] minus = phi.clone();
                    plus[k] += STEP;
                    minus[k] -= STEP;
                    fd[k] = (replay.loss(plus) - replay.loss(minus)) / (2 * STEP);
                }
                for (PhiLayout.Entry e : config.phiLayout().entries()) {
                    double num = 0;
                    double den = 0;
                    for (int k = e.offset(); k < e.offset() + e.size(); k++) {
                        num = Math.max(num, Math.abs(dphi[k] - fd[k]));
                        den = Math.max(den, Math.abs(fd[k]));
                    }
                    assertTrue(den > 0, e.name() + " has a zero gradient: the test would not see an error");
                    assertTrue(num / den < TOLERANCE, scaling + ", lambda " + lambda + ", unroll of " + steps
                            + " steps, " + e.name() + ": err " + num / den);
                }
            }
        }
    }

    /** The replayed meta-loss of one unroll, in float64. */
    private record Replay(LstmConfig config, Quadratic[] f, double[][] theta0, double[][] state0, double[][] x,
                          double[][] teacher, double lambda) {
        double loss(double[] phi) {
            ReferenceLstm m = new ReferenceLstm(config, phi);
            double loss = 0;
            for (int b = 0; b < B; b++) {
                double[] theta = theta0[b].clone();
                double[][] state = new double[D][];
                for (int i = 0; i < D; i++) {
                    state[i] = state0[b * D + i].clone();
                }
                for (int s = 0; s < x.length; s++) {
                    for (int i = 0; i < D; i++) {
                        double delta = m.step(x[s][b * D + i], state[i]);
                        theta[i] += delta;
                        double off = delta - teacher[s][b * D + i];
                        loss += lambda * off * off / B;
                    }
                    loss += quadratic(f[b], theta) / B;
                }
            }
            return loss;
        }

        private static double quadratic(Quadratic q, double[] theta) {
            double[] w = q.matrix();
            double[] y = q.target();
            double sum = 0;
            for (int i = 0; i < D; i++) {
                double r = -y[i];
                for (int j = 0; j < D; j++) {
                    r += w[i * D + j] * theta[j];
                }
                sum += r * r;
            }
            return sum;
        }
    }
}
