package org.l2l4j.bench;

import java.util.Arrays;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.PhiLayout;
import org.l2l4j.lstm.Preprocessing;

/**
 * A straightforward single-threaded float32 Java implementation of the coordinatewise LSTM
 * optimizer (paper section 2.1, appendix A), the baseline the native kernels are measured
 * against: one coordinate at a time, java.lang.Math's exp, tanh and log, the same phi order
 * ({@link PhiLayout}), state layout ([S][n], coordinate fastest) and record layout
 * ([T][R][n]: x, then the state before the step) as the native code.
 *
 * <p>{@link #step} is the fused step; {@link #backward} the backward pass over an unroll with
 * dropped second derivatives (paper section 2): it recomputes each step's forward from the
 * record, as the native kernel does, and accumulates dL/dphi in float64.
 */
final class JavaLstm {
    private final LstmConfig cfg;
    private final float[] phi;
    private final int layers;
    private final int[] width;
    private final int[] in;
    private final int[] wih;
    private final int[] whh;
    private final int[] bih;
    private final int[] row;
    private final int outIn;
    private final int wOut;
    private final int bOut;
    private final float p;
    private final float expP;
    private final float scale;
    // per-layer work arrays of one coordinate: input, h and c before the step, gates, tanh(c'),
    // c'; the carried dL/dh and dL/dc, dL/dz and dL/du of the backward pass
    private final float[][] u;
    private final float[][] hPrev;
    private final float[][] cPrev;
    private final float[][] gates;
    private final float[][] tanhC;
    private final float[][] cNew;
    private final float[] z;
    private final float[][] dh;
    private final float[][] dc;
    private final float[] dz;
    private final float[] du;

    JavaLstm(LstmConfig cfg, float[] phi) {
        this.cfg = cfg;
        this.phi = phi.clone();
        PhiLayout layout = cfg.phiLayout();
        layers = cfg.layers();
        width = cfg.widths();
        in = new int[layers];
        wih = new int[layers];
        whh = new int[layers];
        bih = new int[layers];
        row = new int[layers];
        int input = cfg.preprocessing().inputs();
        int max = input;
        int r = 0;
        for (int l = 0; l < layers; l++) {
            in[l] = input;
            wih[l] = layout.entry("lstm.weight_ih_l" + l).offset();
            whh[l] = layout.entry("lstm.weight_hh_l" + l).offset();
            bih[l] = layout.entry("lstm.bias_ih_l" + l).offset();
            row[l] = r;
            r += 2 * width[l];
            input = width[l];
            max = Math.max(max, input);
        }
        outIn = input;
        wOut = layout.entry("output.weight").offset();
        bOut = layout.entry("output.bias").offset();
        p = (float) cfg.p();
        expP = (float) Math.exp(p);
        scale = (float) cfg.outputScale();
        u = new float[layers + 1][max];
        hPrev = new float[Math.max(1, layers)][max];
        cPrev = new float[Math.max(1, layers)][max];
        gates = new float[Math.max(1, layers)][4 * max];
        tanhC = new float[Math.max(1, layers)][max];
        cNew = new float[Math.max(1, layers)][max];
        z = new float[4 * max];
        dh = new float[Math.max(1, layers)][max];
        dc = new float[Math.max(1, layers)][max];
        dz = new float[4 * max];
        du = new float[max];
    }

    private static float sigmoid(float v) {
        return (float) (1.0 / (1.0 + Math.exp(-v)));
    }

    private int bhh(int l) {
        return bih[l] + 4 * width[l];
    }

    /** u[0] = rho(x); returns the number of inputs. */
    private int preprocess(float x) {
        if (cfg.preprocessing() == Preprocessing.LOG_AND_SIGN) {
            u[0][0] = Math.max((float) Math.log(Math.max(Math.abs(x), Float.MIN_NORMAL)) / p, -1f);
            u[0][1] = Math.max(-1f, Math.min(1f, x * expP));
            return 2;
        }
        u[0][0] = x;
        return 1;
    }

    /**
     * The forward of one coordinate from u[0], hPrev and cPrev (filled by the caller): gates,
     * tanh(c'), c' and u[l + 1] = h' of every layer; returns delta.
     */
    private float forward() {
        for (int l = 0; l < layers; l++) {
            int h = width[l];
            float[] x = u[l];
            for (int r = 0; r < 4 * h; r++) {
                float s = phi[bih[l] + r] + phi[bhh(l) + r];
                for (int k = 0; k < in[l]; k++) {
                    s += phi[wih[l] + r * in[l] + k] * x[k];
                }
                for (int k = 0; k < h; k++) {
                    s += phi[whh[l] + r * h + k] * hPrev[l][k];
                }
                z[r] = s;
            }
            float[] g = gates[l];
            for (int j = 0; j < h; j++) {
                g[j] = sigmoid(z[j]);
                g[h + j] = sigmoid(z[h + j]);
                g[2 * h + j] = (float) Math.tanh(z[2 * h + j]);
                g[3 * h + j] = sigmoid(z[3 * h + j]);
                float c = g[h + j] * cPrev[l][j] + g[j] * g[2 * h + j];
                tanhC[l][j] = (float) Math.tanh(c);
                u[l + 1][j] = g[3 * h + j] * tanhC[l][j];
                cNew[l][j] = c;
            }
        }
        float d = phi[bOut];
        for (int k = 0; k < outIn; k++) {
            d += phi[wOut + k] * u[layers][k];
        }
        return scale * d;
    }

    /** theta += delta for every coordinate; state [S][n] advances in place. */
    void step(float[] theta, float[] grad, float[] state, int n) {
        for (int i = 0; i < n; i++) {
            preprocess(grad[i]);
            for (int l = 0; l < layers; l++) {
                for (int j = 0; j < width[l]; j++) {
                    hPrev[l][j] = state[(row[l] + j) * n + i];
                    cPrev[l][j] = state[(row[l] + width[l] + j) * n + i];
                }
            }
            theta[i] += forward();
            for (int l = 0; l < layers; l++) {
                for (int j = 0; j < width[l]; j++) {
                    state[(row[l] + j) * n + i] = u[l + 1][j];
                    state[(row[l] + width[l] + j) * n + i] = cNew[l][j];
                }
            }
        }
    }

    /**
     * dL/dphi of an unroll of {@code steps} recorded steps over n coordinates, with zero
     * gradient on the final state.
     *
     * @param record      [steps][R][n], as the native step writes it
     * @param dlossDdelta [steps][n]
     * @param dphi        [phi size], overwritten
     */
    void backward(float[] record, int steps, float[] dlossDdelta, int n, double[] dphi) {
        Arrays.fill(dphi, 0.0);
        int rows = cfg.recordRows();
        for (int i = 0; i < n; i++) {
            for (int l = 0; l < layers; l++) {
                Arrays.fill(dh[l], 0f);
                Arrays.fill(dc[l], 0f);
            }
            for (int s = steps - 1; s >= 0; s--) {
                int base = s * rows * n;
                preprocess(record[base + i]);
                for (int l = 0; l < layers; l++) {
                    for (int j = 0; j < width[l]; j++) {
                        hPrev[l][j] = record[base + (1 + row[l] + j) * n + i];
                        cPrev[l][j] = record[base + (1 + row[l] + width[l] + j) * n + i];
                    }
                }
                forward();
                float g = scale * dlossDdelta[s * n + i];
                for (int k = 0; k < outIn; k++) {
                    dphi[wOut + k] += g * u[layers][k];
                    du[k] = g * phi[wOut + k];
                }
                dphi[bOut] += g;
                for (int l = layers - 1; l >= 0; l--) {
                    int h = width[l];
                    float[] gt = gates[l];
                    for (int j = 0; j < h; j++) {
                        float dhj = du[j] + dh[l][j];
                        float gi = gt[j];
                        float gf = gt[h + j];
                        float gg = gt[2 * h + j];
                        float go = gt[3 * h + j];
                        float tc = tanhC[l][j];
                        float dcj = dc[l][j] + dhj * go * (1f - tc * tc);
                        dz[3 * h + j] = dhj * tc * go * (1f - go);
                        dz[j] = dcj * gg * gi * (1f - gi);
                        dz[2 * h + j] = dcj * gi * (1f - gg * gg);
                        dz[h + j] = dcj * cPrev[l][j] * gf * (1f - gf);
                        dc[l][j] = dcj * gf;
                    }
                    for (int r = 0; r < 4 * h; r++) {
                        float d = dz[r];
                        for (int k = 0; k < in[l]; k++) {
                            dphi[wih[l] + r * in[l] + k] += d * u[l][k];
                        }
                        for (int k = 0; k < h; k++) {
                            dphi[whh[l] + r * h + k] += d * hPrev[l][k];
                        }
                        dphi[bih[l] + r] += d;
                    }
                    for (int k = 0; k < h; k++) {
                        float sum = 0f;
                        for (int r = 0; r < 4 * h; r++) {
                            sum += phi[whh[l] + r * h + k] * dz[r];
                        }
                        dh[l][k] = sum;
                    }
                    if (l > 0) {
                        for (int k = 0; k < in[l]; k++) {
                            float sum = 0f;
                            for (int r = 0; r < 4 * h; r++) {
                                sum += phi[wih[l] + r * in[l] + k] * dz[r];
                            }
                            du[k] = sum;
                        }
                    }
                }
            }
        }
        for (int l = 0; l < layers; l++) {
            for (int r = 0; r < 4 * width[l]; r++) {
                dphi[bhh(l) + r] = dphi[bih[l] + r];
            }
        }
    }
}
