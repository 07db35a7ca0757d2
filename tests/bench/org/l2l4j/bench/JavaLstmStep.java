package org.l2l4j.bench;

import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.Preprocessing;

/**
 * A straightforward single-threaded float32 Java implementation of the coordinatewise LSTM
 * step (paper section 2.1, appendix A), the baseline the native kernels are measured against:
 * one coordinate at a time, java.lang.Math's exp, tanh and log, the same state layout
 * ([S][n], coordinate fastest) and phi order as the native code.
 */
final class JavaLstmStep {
    private final LstmConfig cfg;
    private final float[] phi;
    private final int[] width;
    private final int[] in;
    private final int[] offsets;
    private final int outIn;
    private final int wOut;
    private final float[] u;
    private final float[] z;
    private final float[] hNew;

    JavaLstmStep(LstmConfig cfg, float[] phi) {
        this.cfg = cfg;
        this.phi = phi.clone();
        int layers = cfg.layers();
        width = cfg.widths();
        in = new int[layers];
        offsets = new int[layers];
        int off = 0;
        int input = cfg.preprocessing().inputs();
        int max = input;
        for (int l = 0; l < layers; l++) {
            in[l] = input;
            offsets[l] = off;
            off += 4 * width[l] * (input + width[l] + 2);
            input = width[l];
            max = Math.max(max, input);
        }
        outIn = input;
        wOut = off;
        u = new float[max];
        z = new float[4 * max];
        hNew = new float[max];
    }

    private static float sigmoid(float v) {
        return (float) (1.0 / (1.0 + Math.exp(-v)));
    }

    /** theta += delta for every coordinate; state [S][n] advances in place. */
    void step(float[] theta, float[] grad, float[] state, int n) {
        float p = (float) cfg.p();
        float expP = (float) Math.exp(p);
        for (int i = 0; i < n; i++) {
            float x = grad[i];
            int inputs;
            if (cfg.preprocessing() == Preprocessing.LOG_AND_SIGN) {
                u[0] = Math.max((float) Math.log(Math.max(Math.abs(x), Float.MIN_NORMAL)) / p, -1f);
                u[1] = Math.max(-1f, Math.min(1f, x * expP));
                inputs = 2;
            } else {
                u[0] = x;
                inputs = 1;
            }
            int row = 0;
            for (int l = 0; l < width.length; l++) {
                int h = width[l];
                int wih = offsets[l];
                int whh = wih + 4 * h * in[l];
                int bih = whh + 4 * h * h;
                int bhh = bih + 4 * h;
                for (int r = 0; r < 4 * h; r++) {
                    float s = phi[bih + r] + phi[bhh + r];
                    for (int k = 0; k < inputs; k++) {
                        s += phi[wih + r * inputs + k] * u[k];
                    }
                    for (int k = 0; k < h; k++) {
                        s += phi[whh + r * h + k] * state[(row + k) * n + i];
                    }
                    z[r] = s;
                }
                for (int j = 0; j < h; j++) {
                    float gi = sigmoid(z[j]);
                    float gf = sigmoid(z[h + j]);
                    float gg = (float) Math.tanh(z[2 * h + j]);
                    float go = sigmoid(z[3 * h + j]);
                    int ci = (row + h + j) * n + i;
                    float c = gf * state[ci] + gi * gg;
                    state[ci] = c;
                    hNew[j] = go * (float) Math.tanh(c);
                }
                for (int j = 0; j < h; j++) {
                    state[(row + j) * n + i] = hNew[j];
                    u[j] = hNew[j];
                }
                inputs = h;
                row += 2 * h;
            }
            float d = phi[wOut + outIn];
            for (int k = 0; k < outIn; k++) {
                d += phi[wOut + k] * u[k];
            }
            theta[i] += (float) cfg.outputScale() * d;
        }
    }
}
