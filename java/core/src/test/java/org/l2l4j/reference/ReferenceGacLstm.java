package org.l2l4j.reference;

import org.l2l4j.lstm.LstmConfig;

/**
 * An independent float64 implementation of LSTM+GAC (paper appendix, "global averaging cells";
 * l2l.h): the coordinatewise LSTM whose first G_l units of layer l pass on, at every step, the
 * mean of their h' over the coordinates of each segment (one optimizee instance) instead of their
 * own.  Written from the equations over all n coordinates at once, with java.lang.Math; the
 * preprocessing is {@link ReferenceLstm}'s.  For tests only.
 *
 * <p>phi is in PyTorch order (l2l.h); a state is {@code double[S][n]} (per layer its h rows,
 * then its c rows).
 */
public final class ReferenceGacLstm {
    private final LstmConfig cfg;
    private final double[] phi;
    private final ReferenceLstm preprocessing;
    private final int segment;
    private final int[] gac;
    private final PhiOffsets o;

    /**
     * @param segment the coordinates of one optimizee instance: each average covers
     *                [k segment, (k + 1) segment)
     */
    public ReferenceGacLstm(LstmConfig cfg, double[] phi, int segment) {
        this.cfg = cfg;
        this.phi = phi.clone();
        this.preprocessing = new ReferenceLstm(cfg, phi);
        this.segment = segment;
        gac = cfg.gacUnits();
        o = new PhiOffsets(cfg, phi.length);
    }

    private static double sigmoid(double z) {
        return 1.0 / (1.0 + Math.exp(-z));
    }

    /** v[j][i] for j < count replaced by its mean over each segment of i. */
    private void average(double[][] v, int count) {
        int n = v[0].length;
        for (int j = 0; j < count; j++) {
            for (int lo = 0; lo < n; lo += segment) {
                double sum = 0;
                for (int i = lo; i < lo + segment; i++) {
                    sum += v[j][i];
                }
                for (int i = lo; i < lo + segment; i++) {
                    v[j][i] = sum / segment;
                }
            }
        }
    }

    /** What one step keeps for the backward pass, per layer [l][unit][coordinate]. */
    private static final class Tape {
        double[][][] u;     // layer inputs; u[o.layers] is the output layer's
        double[][][] hPrev;
        double[][][] cPrev;
        double[][][] i;
        double[][][] f;
        double[][][] g;
        double[][][] o;
        double[][][] c;
        double[] delta;
    }

    /** One step of every coordinate: returns delta [n] and advances {@code state} [S][n] in place. */
    public double[] step(double[] x, double[][] state) {
        return forward(x, state).delta;
    }

    private Tape forward(double[] x, double[][] state) {
        int n = x.length;
        Tape t = new Tape();
        t.u = new double[o.layers + 1][][];
        t.hPrev = new double[o.layers][][];
        t.cPrev = new double[o.layers][][];
        t.i = new double[o.layers][][];
        t.f = new double[o.layers][][];
        t.g = new double[o.layers][][];
        t.o = new double[o.layers][][];
        t.c = new double[o.layers][][];
        double[][] u = new double[cfg.preprocessing().inputs()][n];
        for (int k = 0; k < n; k++) {
            double[] p = preprocessing.preprocess(x[k]);
            for (int r = 0; r < p.length; r++) {
                u[r][k] = p[r];
            }
        }
        for (int l = 0; l < o.layers; l++) {
            int h = o.width[l];
            t.u[l] = u;
            double[][] hp = new double[h][];
            double[][] cp = new double[h][];
            for (int j = 0; j < h; j++) {
                hp[j] = state[o.hRow[l] + j].clone();
                cp[j] = state[o.hRow[l] + h + j].clone();
            }
            double[][] gi = new double[h][n];
            double[][] gf = new double[h][n];
            double[][] gg = new double[h][n];
            double[][] go = new double[h][n];
            double[][] c = new double[h][n];
            double[][] hn = new double[h][n];
            for (int k = 0; k < n; k++) {
                double[] z = new double[4 * h];
                for (int r = 0; r < 4 * h; r++) {
                    double s = phi[o.bih[l] + r] + phi[o.bhh[l] + r];
                    for (int q = 0; q < o.in[l]; q++) {
                        s += phi[o.wih[l] + r * o.in[l] + q] * u[q][k];
                    }
                    for (int q = 0; q < h; q++) {
                        s += phi[o.whh[l] + r * h + q] * hp[q][k];
                    }
                    z[r] = s;
                }
                for (int j = 0; j < h; j++) {
                    gi[j][k] = sigmoid(z[j]);
                    gf[j][k] = sigmoid(z[h + j]);
                    gg[j][k] = Math.tanh(z[2 * h + j]);
                    go[j][k] = sigmoid(z[3 * h + j]);
                    c[j][k] = gf[j][k] * cp[j][k] + gi[j][k] * gg[j][k];
                    hn[j][k] = go[j][k] * Math.tanh(c[j][k]);
                }
            }
            average(hn, gac[l]);
            for (int j = 0; j < h; j++) {
                state[o.hRow[l] + j] = hn[j].clone();
                state[o.hRow[l] + h + j] = c[j].clone();
            }
            t.hPrev[l] = hp;
            t.cPrev[l] = cp;
            t.i[l] = gi;
            t.f[l] = gf;
            t.g[l] = gg;
            t.o[l] = go;
            t.c[l] = c;
            u = hn;
        }
        t.u[o.layers] = u;
        t.delta = new double[n];
        for (int k = 0; k < n; k++) {
            double d = phi[o.bOut];
            for (int q = 0; q < o.outIn; q++) {
                d += phi[o.wOut + q] * u[q][k];
            }
            t.delta[k] = cfg.outputScale() * d;
        }
        return t;
    }

    /** Results of {@link #backward}. */
    public static final class Gradients {
        public double[] dphi;
        /** [S][n] */
        public double[][] dstateInitial;
        /** [T][n] */
        public double[][] dx;
    }

    /**
     * Backpropagation through an unroll of T steps of the meta-loss
     * L = sum_t sum_i dDelta[t][i] delta_t[i] + sum dstateFinal * state_T.
     *
     * @param state0       the state before step 0, [S][n]
     * @param statesBefore null to recompute the state before each step from state0, or the
     *                     state before each step as a backward record holds it, [T][S][n]
     * @param x            the gradient inputs, [T][n]
     * @param dDelta       dL/d delta_t, [T][n]
     * @param dstateFinal  [S][n], or null for zero
     */
    public Gradients backward(double[][] state0, double[][][] statesBefore, double[][] x, double[][] dDelta,
                              double[][] dstateFinal) {
        int steps = x.length;
        int n = x[0].length;
        double[][] state = copy(state0);
        Tape[] tapes = new Tape[steps];
        for (int t = 0; t < steps; t++) {
            if (statesBefore != null) {
                state = copy(statesBefore[t]);
            }
            tapes[t] = forward(x[t], state);
        }
        Gradients out = new Gradients();
        out.dphi = new double[phi.length];
        out.dx = new double[steps][n];
        double[][][] dh = new double[o.layers][][];
        double[][][] dc = new double[o.layers][][];
        for (int l = 0; l < o.layers; l++) {
            dh[l] = new double[o.width[l]][n];
            dc[l] = new double[o.width[l]][n];
            for (int j = 0; j < o.width[l] && dstateFinal != null; j++) {
                dh[l][j] = dstateFinal[o.hRow[l] + j].clone();
                dc[l][j] = dstateFinal[o.hRow[l] + o.width[l] + j].clone();
            }
        }
        for (int t = steps - 1; t >= 0; t--) {
            Tape tp = tapes[t];
            double[][] du = new double[o.outIn][n];
            for (int k = 0; k < n; k++) {
                double gOut = dDelta[t][k] * cfg.outputScale();
                for (int q = 0; q < o.outIn; q++) {
                    out.dphi[o.wOut + q] += gOut * tp.u[o.layers][q][k];
                    du[q][k] = gOut * phi[o.wOut + q];
                }
                out.dphi[o.bOut] += gOut;
            }
            for (int l = o.layers - 1; l >= 0; l--) {
                int h = o.width[l];
                // dL/dh' of each unit: from above and from the next step; an averaging unit's
                // h' at coordinate k is the segment mean, so each of its raw values receives the
                // mean of these gradients over the segment
                double[][] total = new double[h][n];
                for (int j = 0; j < h; j++) {
                    for (int k = 0; k < n; k++) {
                        total[j][k] = du[j][k] + dh[l][j][k];
                    }
                }
                average(total, gac[l]);
                double[][] duBelow = new double[o.in[l]][n];
                double[][] dhPrev = new double[h][n];
                for (int k = 0; k < n; k++) {
                    double[] dz = new double[4 * h];
                    for (int j = 0; j < h; j++) {
                        double dhj = total[j][k];
                        double o = tp.o[l][j][k];
                        double gi = tp.i[l][j][k];
                        double gf = tp.f[l][j][k];
                        double gg = tp.g[l][j][k];
                        double tc = Math.tanh(tp.c[l][j][k]);
                        double dcj = dc[l][j][k] + dhj * o * (1 - tc * tc);
                        dz[3 * h + j] = dhj * tc * o * (1 - o);
                        dz[j] = dcj * gg * gi * (1 - gi);
                        dz[2 * h + j] = dcj * gi * (1 - gg * gg);
                        dz[h + j] = dcj * tp.cPrev[l][j][k] * gf * (1 - gf);
                        dc[l][j][k] = dcj * gf;
                    }
                    for (int r = 0; r < 4 * h; r++) {
                        out.dphi[o.bih[l] + r] += dz[r];
                        out.dphi[o.bhh[l] + r] += dz[r];
                        for (int q = 0; q < o.in[l]; q++) {
                            out.dphi[o.wih[l] + r * o.in[l] + q] += dz[r] * tp.u[l][q][k];
                            duBelow[q][k] += phi[o.wih[l] + r * o.in[l] + q] * dz[r];
                        }
                        for (int q = 0; q < h; q++) {
                            out.dphi[o.whh[l] + r * h + q] += dz[r] * tp.hPrev[l][q][k];
                            dhPrev[q][k] += phi[o.whh[l] + r * h + q] * dz[r];
                        }
                    }
                }
                dh[l] = dhPrev;
                du = duBelow;
            }
            for (int k = 0; k < n; k++) {
                double[] dp = preprocessing.preprocessDerivative(x[t][k]);
                double d = 0;
                for (int q = 0; q < dp.length; q++) {
                    d += dp[q] * du[q][k];
                }
                out.dx[t][k] = d;
            }
        }
        out.dstateInitial = new double[o.stateRows][];
        for (int l = 0; l < o.layers; l++) {
            for (int j = 0; j < o.width[l]; j++) {
                out.dstateInitial[o.hRow[l] + j] = dh[l][j];
                out.dstateInitial[o.hRow[l] + o.width[l] + j] = dc[l][j];
            }
        }
        return out;
    }

    /** The meta-loss of {@link #backward} itself, for finite differences. */
    public double metaLoss(double[][] state0, double[][] x, double[][] dDelta, double[][] dstateFinal) {
        int n = x[0].length;
        double[][] state = copy(state0);
        double loss = 0;
        for (int t = 0; t < x.length; t++) {
            double[] delta = step(x[t], state);
            for (int k = 0; k < n; k++) {
                loss += dDelta[t][k] * delta[k];
            }
        }
        for (int r = 0; r < o.stateRows && dstateFinal != null; r++) {
            for (int k = 0; k < n; k++) {
                loss += dstateFinal[r][k] * state[r][k];
            }
        }
        return loss;
    }

    private double[][] copy(double[][] s) {
        double[][] out = new double[o.stateRows][];
        for (int r = 0; r < o.stateRows; r++) {
            out[r] = s[r].clone();
        }
        return out;
    }
}
