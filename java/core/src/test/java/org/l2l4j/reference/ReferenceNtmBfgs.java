package org.l2l4j.reference;

import java.util.ArrayList;
import java.util.List;

/**
 * An independent float64 implementation of NTM-BFGS's trajectory (Andrychowicz et al. 2016,
 * appendix B, as org.l2l4j.ntm.NtmBfgs documents it), written one instance, one layer and one
 * coordinate at a time with nested arrays, its averaging cells as explicit means, its memory
 * recomputed at every step as the sum of all the outer products written so far rather than
 * updated in place.  For tests only.
 *
 * <p>phi in the order of NtmBfgsConfig.phiLayout(): per layer weight_ih [4H x in],
 * weight_hh [4H x H], bias_ih, bias_hh (gates i, f, g, o), then heads.weight [(2 + 2W) x H_last]
 * and heads.bias.
 */
public final class ReferenceNtmBfgs {
    private final int[] widths;
    private final int[] gacUnits;
    private final int heads;
    private final boolean logAndSign;
    private final double p;
    private final double scale;

    /**
     * @param widths     the controller's widths
     * @param gacUnits   its averaging units per layer
     * @param heads      W, write heads
     * @param logAndSign log-and-sign preprocessing with this p, or the identity
     * @param scale      the update's output scale
     */
    public ReferenceNtmBfgs(int[] widths, int[] gacUnits, int heads, boolean logAndSign, double p, double scale) {
        this.widths = widths.clone();
        this.gacUnits = gacUnits.clone();
        this.heads = heads;
        this.logAndSign = logAndSign;
        this.p = p;
        this.scale = scale;
    }

    /**
     * The updates of a trajectory from the zero state whose step t reads the gradients
     * {@code x[t]} (fixed, not functions of theta).
     *
     * @param x x[t][b][k], T steps of B instances of d coordinates
     * @return Delta[t][b][k]
     */
    public double[][][] run(double[] phi, double[][][] x) {
        int steps = x.length;
        int instances = x[0].length;
        int d = x[0][0].length;
        int layers = widths.length;
        int outputs = 2 + 2 * heads;
        double[][][][] h = new double[layers][instances][d][];
        double[][][][] c = new double[layers][instances][d][];
        for (int l = 0; l < layers; l++) {
            for (int b = 0; b < instances; b++) {
                for (int k = 0; k < d; k++) {
                    h[l][b][k] = new double[widths[l]];
                    c[l][b][k] = new double[widths[l]];
                }
            }
        }
        double[][] read = new double[instances][d];
        List<List<double[][]>> written = new ArrayList<>();
        for (int b = 0; b < instances; b++) {
            written.add(new ArrayList<>());
        }
        double[][][] delta = new double[steps][instances][d];
        for (int t = 0; t < steps; t++) {
            for (int b = 0; b < instances; b++) {
                double[][] u = new double[d][];
                for (int k = 0; k < d; k++) {
                    double g = x[t][b][k];
                    u[k] = logAndSign
                            ? new double[] {Math.max(Math.log(Math.max(Math.abs(g), Float.MIN_NORMAL)) / p, -1),
                                Math.max(-1, Math.min(1, g * Math.exp(p))), read[b][k]}
                            : new double[] {g, read[b][k]};
                }
                int at = 0;
                for (int l = 0; l < layers; l++) {
                    int hl = widths[l];
                    int in = u[0].length;
                    double[][] hn = new double[d][hl];
                    for (int k = 0; k < d; k++) {
                        double[] z = new double[4 * hl];
                        for (int r = 0; r < 4 * hl; r++) {
                            double sum = 0;
                            for (int j = 0; j < in; j++) {
                                sum += phi[at + r * in + j] * u[k][j];
                            }
                            for (int j = 0; j < hl; j++) {
                                sum += phi[at + 4 * hl * in + r * hl + j] * h[l][b][k][j];
                            }
                            sum += phi[at + 4 * hl * in + 4 * hl * hl + r];
                            sum += phi[at + 4 * hl * in + 4 * hl * hl + 4 * hl + r];
                            z[r] = sum;
                        }
                        for (int j = 0; j < hl; j++) {
                            double ig = 1 / (1 + Math.exp(-z[j]));
                            double fg = 1 / (1 + Math.exp(-z[hl + j]));
                            double gg = Math.tanh(z[2 * hl + j]);
                            double og = 1 / (1 + Math.exp(-z[3 * hl + j]));
                            c[l][b][k][j] = fg * c[l][b][k][j] + ig * gg;
                            hn[k][j] = og * Math.tanh(c[l][b][k][j]);
                        }
                    }
                    for (int j = 0; j < gacUnits[l]; j++) {
                        double mean = 0;
                        for (int k = 0; k < d; k++) {
                            mean += hn[k][j] / d;
                        }
                        for (int k = 0; k < d; k++) {
                            hn[k][j] = mean;
                        }
                    }
                    at += 4 * hl * in + 4 * hl * hl + 8 * hl;
                    h[l][b] = hn;
                    u = hn;
                }
                double[][] o = new double[d][outputs];
                for (int k = 0; k < d; k++) {
                    for (int r = 0; r < outputs; r++) {
                        double sum = phi[at + outputs * u[k].length + r];
                        for (int j = 0; j < u[k].length; j++) {
                            sum += phi[at + r * u[k].length + j] * u[k][j];
                        }
                        o[k][r] = sum;
                    }
                }
                for (int j = 0; j < heads; j++) {
                    double[] a = new double[d];
                    double[] bv = new double[d];
                    for (int k = 0; k < d; k++) {
                        a[k] = o[k][2 + j];
                        bv[k] = o[k][2 + heads + j];
                    }
                    written.get(b).add(new double[][] {a, bv});
                }
                double[][] m = new double[d][d];
                for (double[][] pair : written.get(b)) {
                    for (int i = 0; i < d; i++) {
                        for (int k = 0; k < d; k++) {
                            m[i][k] += pair[0][i] * pair[1][k] / d;
                        }
                    }
                }
                for (int i = 0; i < d; i++) {
                    double sum = 0;
                    for (int k = 0; k < d; k++) {
                        sum += m[i][k] * o[k][1];
                    }
                    read[b][i] = sum;
                    delta[t][b][i] = scale * o[i][0] + sum;
                }
            }
        }
        return delta;
    }
}
