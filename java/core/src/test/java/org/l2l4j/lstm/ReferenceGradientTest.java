package org.l2l4j.lstm;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.l2l4j.reference.ReferenceLstm;

/**
 * The float64 reference backward pass against central finite differences (step 1e-5) of the
 * replayed meta-loss L~(phi) = sum_{t=1..T} f(theta_t(phi)), theta_{t+1} = theta_t +
 * m(x_t, s_t; phi), with the recorded inputs x_t held fixed and f re-evaluated at the perturbed
 * theta_t: its true gradient is the dropped-second-derivative gradient, so the
 * two agree to 1e-6 for dphi, dL/d(initial state) and dL/dx.  One coordinate's inputs lie below
 * e^-p (around 1e-6), so that both branches of the log-and-sign preprocessing and its clamps
 * are differentiated.
 */
class ReferenceGradientTest {
    static final double TOLERANCE = 1e-6;
    static final double STEP = 1e-5;
    static final int N = 4;
    static final int T = 6;

    private record Problem(LstmConfig config, double[] phi, double[][] state0, double[][] x, double[] theta0,
                           UnrollFixture f) {
        /** L~ for phi, initial state and inputs as given. */
        double metaLoss(double[] p, double[][] s0, double[][] inputs) {
            ReferenceLstm m = new ReferenceLstm(config, p);
            int rows = config.stateRows();
            double[] theta = theta0.clone();
            double[][] s = new double[N][rows];
            for (int i = 0; i < N; i++) {
                for (int r = 0; r < rows; r++) {
                    s[i][r] = s0[r][i];
                }
            }
            double loss = 0;
            for (int t = 0; t < T; t++) {
                for (int i = 0; i < N; i++) {
                    theta[i] += m.step(inputs[t][i], s[i]);
                }
                loss += f.loss(theta);
            }
            return loss;
        }
    }

    @ParameterizedTest
    @EnumSource(Preprocessing.class)
    void referenceBackwardMatchesFiniteDifferences(Preprocessing pre) {
        LstmConfig config = new LstmConfig(new int[] {5, 4}, pre, 10, 0.5, false);
        SplittableRandom rnd = new SplittableRandom(7 + pre.ordinal());
        double[] phi = PhiInit.PYTORCH.initialize(config, 99);
        int rows = config.stateRows();
        double[][] state0 = new double[rows][N];
        for (double[] row : state0) {
            for (int i = 0; i < N; i++) {
                row[i] = rnd.nextDouble() - 0.5;
            }
        }
        double[] theta0 = new double[N];
        for (int i = 0; i < N; i++) {
            theta0[i] = 2 * rnd.nextDouble() - 1;
        }
        UnrollFixture f = new UnrollFixture(N, rnd);
        // the recorded trajectory: x_t = grad f(theta_t) at the unperturbed phi
        ReferenceLstm m = new ReferenceLstm(config, phi);
        double[][] x = new double[T][];
        double[][] grads = new double[T + 1][];
        double[] theta = theta0.clone();
        double[][] s = new double[N][rows];
        for (int i = 0; i < N; i++) {
            for (int r = 0; r < rows; r++) {
                s[i][r] = state0[r][i];
            }
        }
        for (int t = 0; t <= T; t++) {
            grads[t] = f.gradient(theta);
            if (t < T) {
                // coordinate 0 sees gradients below e^-p (4.5e-5 at p = 10): the log-and-sign
                // branch where log|x| / p is clamped to -1 and the sign part is linear, x e^p
                x[t] = grads[t].clone();
                x[t][0] = (t % 2 == 0 ? 1e-6 : -2e-6) * (1 + t);
                for (int i = 0; i < N; i++) {
                    theta[i] += m.step(x[t][i], s[i]);
                }
            }
        }
        double[][] dDelta = new double[T][N];
        for (int t = T - 1; t >= 0; t--) {
            for (int i = 0; i < N; i++) {
                dDelta[t][i] = grads[t + 1][i] + (t + 1 < T ? dDelta[t + 1][i] : 0);
            }
        }
        ReferenceLstm.Gradients g = m.backward(state0, x, dDelta);
        Problem p = new Problem(config, phi, state0, x, theta0, f);

        double[] fdPhi = new double[phi.length];
        for (int k = 0; k < phi.length; k++) {
            double[] plus = phi.clone();
            double[] minus = phi.clone();
            plus[k] += STEP;
            minus[k] -= STEP;
            fdPhi[k] = (p.metaLoss(plus, state0, x) - p.metaLoss(minus, state0, x)) / (2 * STEP);
        }
        assertClose("dphi", g.dphi, fdPhi);

        double[] fdState = new double[rows * N];
        double[] anState = new double[rows * N];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < N; i++) {
                double[][] plus = deepCopy(state0);
                double[][] minus = deepCopy(state0);
                plus[r][i] += STEP;
                minus[r][i] -= STEP;
                fdState[r * N + i] = (p.metaLoss(phi, plus, x) - p.metaLoss(phi, minus, x)) / (2 * STEP);
                anState[r * N + i] = g.dstateInitial[r][i];
            }
        }
        assertClose("dstate_initial", anState, fdState);

        double[] fdX = new double[T * N];
        double[] anX = new double[T * N];
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < N; i++) {
                // relative step: x spans several magnitudes
                double h = STEP * Math.max(1e-3, Math.abs(x[t][i]));
                double[][] plus = deepCopy(x);
                double[][] minus = deepCopy(x);
                plus[t][i] += h;
                minus[t][i] -= h;
                fdX[t * N + i] = (p.metaLoss(phi, state0, plus) - p.metaLoss(phi, state0, minus)) / (2 * h);
                anX[t * N + i] = g.dx[t][i];
            }
        }
        assertClose("dx", anX, fdX);
    }

    private static double[][] deepCopy(double[][] m) {
        double[][] c = new double[m.length][];
        for (int i = 0; i < m.length; i++) {
            c[i] = m[i].clone();
        }
        return c;
    }

    private static void assertClose(String what, double[] analytic, double[] fd) {
        double err = LstmFixtures.relativeError(analytic, fd);
        assertTrue(err <= TOLERANCE, what + ": error " + err + " > " + TOLERANCE);
    }
}
