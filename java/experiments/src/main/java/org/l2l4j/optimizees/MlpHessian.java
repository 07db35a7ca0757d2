package org.l2l4j.optimizees;

import org.l2l4j.data.Dataset;
import org.l2l4j.optimizees.MlpSpec.Activation;

/**
 * Exact Hessian-vector products of an {@link MlpFamily} network's mean softmax cross-entropy over
 * a minibatch, by forward-over-reverse differentiation (Pearlmutter 1994, the R-operator): the
 * backward pass that gives grad f, differentiated once more along the direction v, in float64.
 * With v = (V_l, vb_l) over the layers, Z_l = A_{l-1} W_l^T + b_l, A_l = act(Z_l) (the identity
 * for the logits), p = softmax(Z_L) per example and m examples:
 * <pre>
 *   R{Z_l}  = R{A_{l-1}} W_l^T + A_{l-1} V_l^T + vb_l,        R{A_l} = act'(Z_l) R{Z_l}, R{A_0} = 0
 *   dZ_L    = (p - onehot) / m,                                R{dZ_L} = p * (R{Z_L} - p . R{Z_L}) / m
 *   dW_l    = dZ_l^T A_{l-1},                                  R{dW_l} = R{dZ_l}^T A_{l-1} + dZ_l^T R{A_{l-1}}
 *   db_l    = sum over rows of dZ_l,                           R{db_l} = sum over rows of R{dZ_l}
 *   dA_{l-1} = dZ_l W_l,                                       R{dA_{l-1}} = R{dZ_l} W_l + dZ_l V_l
 *   dZ_{l-1} = dA_{l-1} act'(Z_{l-1}),    R{dZ_{l-1}} = R{dA_{l-1}} act'(Z_{l-1}) + dA_{l-1} act''(Z_{l-1}) R{Z_{l-1}}
 * </pre>
 * and H v = (R{dW_l}, R{db_l}) (products elementwise where not written as matrix products).
 * Sigmoid: act' = a (1 - a), act'' = a (1 - a)(1 - 2a) with a = act(z); ReLU: act' = [z &gt; 0],
 * act'' = 0.  R{A_0} = 0 (the data do not depend on theta), so the first layer's terms in it are
 * skipped.  Allocates its work arrays per call.
 */
final class MlpHessian {
    private final MlpFamily.Shape shape;
    private final Activation activation;
    private final Dataset data;

    MlpHessian(MlpFamily.Shape shape, Activation activation, Dataset data) {
        this.shape = shape;
        this.activation = activation;
        this.data = data;
    }

    /** out = H v of the mean loss over {@code examples}, at theta; arguments checked by the caller. */
    void product(float[] theta, float[] v, float[] out, int[] examples) {
        int layers = shape.layers();
        int m = examples.length;
        double[][] a = new double[layers + 1][];
        double[][] ra = new double[layers + 1][];
        // R{Z_l} of the hidden layers, before the activation
        double[][] rPre = new double[layers + 1][];
        int features = shape.width(0);
        a[0] = new double[m * features];
        float[] images = data.images();
        for (int r = 0; r < m; r++) {
            for (int j = 0; j < features; j++) {
                a[0][r * features + j] = images[examples[r] * features + j];
            }
        }
        for (int l = 0; l < layers; l++) {
            int in = shape.width(l);
            int outW = shape.width(l + 1);
            double[] z = new double[m * outW];
            double[] rz = new double[m * outW];
            int w = shape.weightOffset(l);
            int b = shape.biasOffset(l);
            int r = 0;
            if (l == 0) {
                // R{A_0} = 0: the data do not move with theta; four rows at a time, so that eight
                // sums run side by side, each still over i in order
                for (; r + 4 <= m; r += 4) {
                    firstLayerRows(a[0], r, in, theta, v, w, b, outW, z, rz);
                }
            }
            for (; r < m; r++) {
                for (int o = 0; o < outW; o++) {
                    double sum = theta[b + o];
                    double rsum = v[b + o];
                    if (l == 0) {
                        for (int i = 0; i < in; i++) {
                            double x = a[0][r * in + i];
                            sum += x * theta[w + o * in + i];
                            rsum += x * v[w + o * in + i];
                        }
                    } else {
                        for (int i = 0; i < in; i++) {
                            double x = a[l][r * in + i];
                            sum += x * theta[w + o * in + i];
                            rsum += ra[l][r * in + i] * theta[w + o * in + i] + x * v[w + o * in + i];
                        }
                    }
                    z[r * outW + o] = sum;
                    rz[r * outW + o] = rsum;
                }
            }
            if (l < layers - 1) {
                rPre[l + 1] = rz.clone();
                for (int k = 0; k < z.length; k++) {
                    double act = activate(z[k]);
                    rz[k] *= slope(z[k], act);
                    z[k] = act;
                }
            }
            a[l + 1] = z;
            ra[l + 1] = rz;
        }
        int classes = shape.width(layers);
        double[] dz = new double[m * classes];
        double[] rdz = new double[m * classes];
        for (int r = 0; r < m; r++) {
            int row = r * classes;
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                max = Math.max(max, a[layers][row + c]);
            }
            double sum = 0;
            for (int c = 0; c < classes; c++) {
                sum += Math.exp(a[layers][row + c] - max);
            }
            double pr = 0;
            for (int c = 0; c < classes; c++) {
                double p = Math.exp(a[layers][row + c] - max) / sum;
                dz[row + c] = p;
                pr += p * ra[layers][row + c];
            }
            int label = data.labels()[examples[r]];
            for (int c = 0; c < classes; c++) {
                double p = dz[row + c];
                rdz[row + c] = p * (ra[layers][row + c] - pr) / m;
                dz[row + c] = (p - (c == label ? 1 : 0)) / m;
            }
        }
        for (int l = layers - 1; l >= 0; l--) {
            int in = shape.width(l);
            int outW = shape.width(l + 1);
            int w = shape.weightOffset(l);
            int b = shape.biasOffset(l);
            // R{dW_l} and R{db_l}: each element summed over the rows in order, the rows outermost
            // so that A_{l-1} and R{A_{l-1}} are read along their rows
            double[] dw = new double[outW * in];
            double[] db = new double[outW];
            for (int r = 0; r < m; r++) {
                for (int o = 0; o < outW; o++) {
                    double g = rdz[r * outW + o];
                    double h = dz[r * outW + o];
                    db[o] += g;
                    if (l == 0) {
                        for (int i = 0; i < in; i++) {
                            dw[o * in + i] += g * a[0][r * in + i];
                        }
                    } else {
                        for (int i = 0; i < in; i++) {
                            dw[o * in + i] += g * a[l][r * in + i] + h * ra[l][r * in + i];
                        }
                    }
                }
            }
            for (int o = 0; o < outW; o++) {
                out[b + o] = (float) db[o];
                for (int i = 0; i < in; i++) {
                    out[w + o * in + i] = (float) dw[o * in + i];
                }
            }
            if (l == 0) {
                break;
            }
            double[] da = new double[m * in];
            double[] rda = new double[m * in];
            for (int r = 0; r < m; r++) {
                for (int i = 0; i < in; i++) {
                    double s = 0;
                    double rs = 0;
                    for (int o = 0; o < outW; o++) {
                        s += dz[r * outW + o] * theta[w + o * in + i];
                        rs += rdz[r * outW + o] * theta[w + o * in + i] + dz[r * outW + o] * v[w + o * in + i];
                    }
                    da[r * in + i] = s;
                    rda[r * in + i] = rs;
                }
            }
            double[] below = a[l];
            double[] rBelow = rPre[l];
            for (int k = 0; k < da.length; k++) {
                double act = below[k];
                double slope = derivative(act);
                rda[k] = rda[k] * slope + da[k] * curvature(act) * rBelow[k];
                da[k] *= slope;
            }
            dz = da;
            rdz = rda;
        }
    }

    /**
     * Z and R{Z} of the first layer for rows r0 .. r0 + 3 of the input x (width in): Z = x W^T + b,
     * R{Z} = x V^T + vb, with W, b at offsets w, b of theta and V, vb at the same offsets of v.
     */
    private static void firstLayerRows(double[] x, int r0, int in, float[] theta, float[] v, int w, int b,
                                       int outW, double[] z, double[] rz) {
        int p0 = r0 * in;
        int p1 = p0 + in;
        int p2 = p1 + in;
        int p3 = p2 + in;
        for (int o = 0; o < outW; o++) {
            double s0 = theta[b + o];
            double s1 = s0;
            double s2 = s0;
            double s3 = s0;
            double q0 = v[b + o];
            double q1 = q0;
            double q2 = q0;
            double q3 = q0;
            int wo = w + o * in;
            for (int i = 0; i < in; i++) {
                double t = theta[wo + i];
                double u = v[wo + i];
                double x0 = x[p0 + i];
                double x1 = x[p1 + i];
                double x2 = x[p2 + i];
                double x3 = x[p3 + i];
                s0 += x0 * t;
                s1 += x1 * t;
                s2 += x2 * t;
                s3 += x3 * t;
                q0 += x0 * u;
                q1 += x1 * u;
                q2 += x2 * u;
                q3 += x3 * u;
            }
            z[r0 * outW + o] = s0;
            z[(r0 + 1) * outW + o] = s1;
            z[(r0 + 2) * outW + o] = s2;
            z[(r0 + 3) * outW + o] = s3;
            rz[r0 * outW + o] = q0;
            rz[(r0 + 1) * outW + o] = q1;
            rz[(r0 + 2) * outW + o] = q2;
            rz[(r0 + 3) * outW + o] = q3;
        }
    }

    /** act(z) of the hidden layers. */
    private double activate(double z) {
        return activation == Activation.SIGMOID ? 1 / (1 + Math.exp(-z)) : Math.max(z, 0);
    }

    /** act'(z), from z and a = act(z). */
    private double slope(double z, double act) {
        return activation == Activation.SIGMOID ? act * (1 - act) : z > 0 ? 1 : 0;
    }

    /** act'(z) from a = act(z) alone (ReLU: a &gt; 0 exactly when z &gt; 0). */
    private double derivative(double act) {
        return activation == Activation.SIGMOID ? act * (1 - act) : act > 0 ? 1 : 0;
    }

    /** act''(z) from a = act(z). */
    private double curvature(double act) {
        return activation == Activation.SIGMOID ? act * (1 - act) * (1 - 2 * act) : 0;
    }
}
