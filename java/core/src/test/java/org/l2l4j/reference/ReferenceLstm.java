package org.l2l4j.reference;

import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.Preprocessing;

/**
 * An independent float64 implementation of the coordinatewise LSTM optimizer's step and of its
 * backward pass over an unroll, written straight from the equations (paper section 2.1 and
 * appendix A) with java.lang.Math's exp, tanh and log, one coordinate at a
 * time.  For tests only.
 *
 * <p>phi is in PyTorch order (l2l.h).  A coordinate's state is {@code double[S]}: for each layer
 * its h then its c.
 */
public final class ReferenceLstm {
    private final LstmConfig cfg;
    private final double[] phi;
    private final int layers;
    private final int[] width;
    private final int[] in;
    private final int[] wih;
    private final int[] whh;
    private final int[] bih;
    private final int[] bhh;
    private final int[] hRow;
    private final int wOut;
    private final int bOut;
    private final int outIn;
    private final int stateRows;

    public ReferenceLstm(LstmConfig cfg, double[] phi) {
        this.cfg = cfg;
        this.phi = phi.clone();
        PhiOffsets o = new PhiOffsets(cfg, phi.length);
        layers = o.layers;
        width = o.width;
        in = o.in;
        wih = o.wih;
        whh = o.whh;
        bih = o.bih;
        bhh = o.bhh;
        hRow = o.hRow;
        outIn = o.outIn;
        wOut = o.wOut;
        bOut = o.bOut;
        stateRows = o.stateRows;
    }

    public int phiSize() {
        return phi.length;
    }

    /** The preprocessed input u^0 of gradient x (appendix A). */
    public double[] preprocess(double x) {
        if (cfg.preprocessing() == Preprocessing.IDENTITY) {
            return new double[] {x};
        }
        double p = cfg.p();
        double a = cfg.logEpsilon() ? Math.abs(x) + 1.1920928955078125e-7 : Math.max(Math.abs(x), Float.MIN_NORMAL);
        return new double[] {Math.max(Math.log(a) / p, -1.0), Math.max(-1.0, Math.min(1.0, x * Math.exp(p)))};
    }

    /** d u^0 / dx; NaN for x = NaN (l2l.h: a NaN in x propagates). */
    public double[] preprocessDerivative(double x) {
        if (cfg.preprocessing() == Preprocessing.IDENTITY) {
            return new double[] {1.0};
        }
        if (Double.isNaN(x)) {
            return new double[] {x, x};
        }
        double p = cfg.p();
        double a = cfg.logEpsilon() ? Math.abs(x) + 1.1920928955078125e-7 : Math.max(Math.abs(x), Float.MIN_NORMAL);
        double d0 = Math.log(a) / p > -1.0 ? Math.signum(x) / (p * a) : 0.0;
        double s = x * Math.exp(p);
        double d1 = Math.abs(s) < 1.0 ? Math.exp(p) : 0.0;
        return new double[] {d0, d1};
    }

    private static double sigmoid(double z) {
        return 1.0 / (1.0 + Math.exp(-z));
    }

    /** Intermediate values of one step of one coordinate, kept for the backward pass. */
    static final class Trace {
        double[][] u;      // u[l] = input of layer l; u[layers] = output-layer input
        double[][] i;
        double[][] f;
        double[][] g;
        double[][] o;
        double[][] cPrev;
        double[][] hPrev;
        double[][] c;
        double delta;
    }

    /**
     * One step of one coordinate: returns delta, and advances {@code state} (S doubles) in place.
     */
    public double step(double x, double[] state) {
        return forward(x, state).delta;
    }

    private Trace forward(double x, double[] state) {
        Trace t = new Trace();
        t.u = new double[layers + 1][];
        t.i = new double[layers][];
        t.f = new double[layers][];
        t.g = new double[layers][];
        t.o = new double[layers][];
        t.cPrev = new double[layers][];
        t.hPrev = new double[layers][];
        t.c = new double[layers][];
        double[] u = preprocess(x);
        for (int l = 0; l < layers; l++) {
            int h = width[l];
            t.u[l] = u;
            double[] hp = new double[h];
            double[] cp = new double[h];
            for (int j = 0; j < h; j++) {
                hp[j] = state[hRow[l] + j];
                cp[j] = state[hRow[l] + h + j];
            }
            double[] z = new double[4 * h];
            for (int r = 0; r < 4 * h; r++) {
                double s = phi[bih[l] + r] + phi[bhh[l] + r];
                for (int k = 0; k < in[l]; k++) {
                    s += phi[wih[l] + r * in[l] + k] * u[k];
                }
                for (int k = 0; k < h; k++) {
                    s += phi[whh[l] + r * h + k] * hp[k];
                }
                z[r] = s;
            }
            double[] gi = new double[h];
            double[] gf = new double[h];
            double[] gg = new double[h];
            double[] go = new double[h];
            double[] c = new double[h];
            double[] hn = new double[h];
            for (int j = 0; j < h; j++) {
                gi[j] = sigmoid(z[j]);
                gf[j] = sigmoid(z[h + j]);
                gg[j] = Math.tanh(z[2 * h + j]);
                go[j] = sigmoid(z[3 * h + j]);
                c[j] = gf[j] * cp[j] + gi[j] * gg[j];
                hn[j] = go[j] * Math.tanh(c[j]);
                state[hRow[l] + j] = hn[j];
                state[hRow[l] + h + j] = c[j];
            }
            t.i[l] = gi;
            t.f[l] = gf;
            t.g[l] = gg;
            t.o[l] = go;
            t.cPrev[l] = cp;
            t.hPrev[l] = hp;
            t.c[l] = c;
            u = hn;
        }
        t.u[layers] = u;
        double d = phi[bOut];
        for (int k = 0; k < outIn; k++) {
            d += phi[wOut + k] * u[k];
        }
        t.delta = cfg.outputScale() * d;
        return t;
    }

    /** Results of {@link #backward}. */
    public static final class Gradients {
        public double[] dphi;
        /** [S][n] */
        public double[][] dstateInitial;
        /** [T][n] */
        public double[][] dx;
        /**
         * The scale of each value's float32 error: the same backward pass with every input,
         * weight and upstream gradient taken by its magnitude and every activation and activation
         * derivative (all bounded by 1, and computed to an absolute, not relative, precision in
         * float32) by 1, so that terms cannot cancel and tiny activations do not hide the
         * absolute error of a sigmoid or tanh.
         */
        public Gradients magnitudes;
    }

    /**
     * Backpropagation through an unroll of T steps of n coordinates, from the initial state
     * {@code state0[S][n]}, the gradient inputs {@code x[T][n]} and dL/d delta_s
     * {@code dDelta[T][n]}; dL/d(final state) is zero.  The states before steps 1..T-1 are
     * recomputed from state0.
     */
    public Gradients backward(double[][] state0, double[][] x, double[][] dDelta) {
        return backward(state0, null, x, dDelta, null);
    }

    /**
     * Backpropagation through an unroll of T steps of n coordinates.
     *
     * @param state0       the state before step 0, [S][n]
     * @param statesBefore null to recompute the state before each step from state0, or the
     *                     state before each step as a backward record holds it, [T][S][n]
     *                     (statesBefore[0] is then used instead of state0)
     * @param x            the gradient inputs, [T][n]
     * @param dDelta       dL/d delta_s, [T][n]
     * @param dstateFinal  dL/d(state after the last step), [S][n], or null for zero
     */
    public Gradients backward(double[][] state0, double[][][] statesBefore, double[][] x, double[][] dDelta,
                              double[][] dstateFinal) {
        Gradients out = backprop(state0, statesBefore, x, dDelta, dstateFinal, false);
        out.magnitudes = backprop(state0, statesBefore, x, dDelta, dstateFinal, true);
        return out;
    }

    /** v, or |v| when {@code magnitude}. */
    private static double m(double v, boolean magnitude) {
        return magnitude ? Math.abs(v) : v;
    }

    /** An activation or activation derivative v (|v| <= 1), or its bound 1 when {@code magnitude}. */
    private static double a(double v, boolean magnitude) {
        return magnitude ? 1 : v;
    }

    private Gradients backprop(double[][] state0, double[][][] statesBefore, double[][] x, double[][] dDelta,
                               double[][] dstateFinal, boolean mag) {
        int steps = x.length;
        int n = x[0].length;
        Gradients out = new Gradients();
        out.dphi = new double[phi.length];
        out.dstateInitial = new double[stateRows][n];
        out.dx = new double[steps][n];
        for (int i = 0; i < n; i++) {
            double[] s = new double[stateRows];
            Trace[] traces = new Trace[steps];
            for (int t = 0; t < steps; t++) {
                double[][] before = statesBefore != null ? statesBefore[t] : t == 0 ? state0 : null;
                if (before != null) {
                    for (int r = 0; r < stateRows; r++) {
                        s[r] = before[r][i];
                    }
                }
                traces[t] = forward(x[t][i], s);
            }
            double[][] dh = new double[layers][];
            double[][] dc = new double[layers][];
            for (int l = 0; l < layers; l++) {
                dh[l] = new double[width[l]];
                dc[l] = new double[width[l]];
                if (dstateFinal != null) {
                    for (int j = 0; j < width[l]; j++) {
                        dh[l][j] = m(dstateFinal[hRow[l] + j][i], mag);
                        dc[l][j] = m(dstateFinal[hRow[l] + width[l] + j][i], mag);
                    }
                }
            }
            for (int t = steps - 1; t >= 0; t--) {
                Trace tr = traces[t];
                double gOut = m(dDelta[t][i], mag) * m(cfg.outputScale(), mag);
                double[] du = new double[outIn];
                for (int k = 0; k < outIn; k++) {
                    out.dphi[wOut + k] += gOut * (layers > 0 ? a(tr.u[layers][k], mag) : m(tr.u[layers][k], mag));
                    du[k] = gOut * m(phi[wOut + k], mag);
                }
                out.dphi[bOut] += gOut;
                for (int l = layers - 1; l >= 0; l--) {
                    int h = width[l];
                    double[] dz = new double[4 * h];
                    for (int j = 0; j < h; j++) {
                        double dhj = du[j] + dh[l][j];
                        double tc = Math.tanh(tr.c[l][j]);
                        double dcj = dc[l][j] + dhj * a(tr.o[l][j], mag) * a(1 - tc * tc, mag);
                        dz[3 * h + j] = dhj * a(tc, mag) * a(tr.o[l][j] * (1 - tr.o[l][j]), mag);
                        dz[j] = dcj * a(tr.g[l][j], mag) * a(tr.i[l][j] * (1 - tr.i[l][j]), mag);
                        dz[2 * h + j] = dcj * a(tr.i[l][j], mag) * a(1 - tr.g[l][j] * tr.g[l][j], mag);
                        dz[h + j] = dcj * m(tr.cPrev[l][j], mag) * a(tr.f[l][j] * (1 - tr.f[l][j]), mag);
                        dc[l][j] = dcj * a(tr.f[l][j], mag);
                    }
                    double[] duBelow = new double[in[l]];
                    double[] dhPrev = new double[h];
                    for (int r = 0; r < 4 * h; r++) {
                        out.dphi[bih[l] + r] += dz[r];
                        out.dphi[bhh[l] + r] += dz[r];
                        for (int k = 0; k < in[l]; k++) {
                            out.dphi[wih[l] + r * in[l] + k] += dz[r] * (l == 0 ? m(tr.u[l][k], mag) : a(tr.u[l][k], mag));
                            duBelow[k] += m(phi[wih[l] + r * in[l] + k], mag) * dz[r];
                        }
                        for (int k = 0; k < h; k++) {
                            out.dphi[whh[l] + r * h + k] += dz[r] * m(tr.hPrev[l][k], mag);
                            dhPrev[k] += m(phi[whh[l] + r * h + k], mag) * dz[r];
                        }
                    }
                    dh[l] = dhPrev;
                    du = duBelow;
                }
                double[] dp = preprocessDerivative(x[t][i]);
                double dxi = 0;
                for (int k = 0; k < dp.length; k++) {
                    dxi += m(dp[k], mag) * du[k];
                }
                out.dx[t][i] = dxi;
            }
            for (int l = 0; l < layers; l++) {
                for (int j = 0; j < width[l]; j++) {
                    out.dstateInitial[hRow[l] + j][i] = dh[l][j];
                    out.dstateInitial[hRow[l] + width[l] + j][i] = dc[l][j];
                }
            }
        }
        return out;
    }
}
