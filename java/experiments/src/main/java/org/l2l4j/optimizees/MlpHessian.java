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
 * act'' = 0.  About four times the cost of a gradient; allocates its work arrays per call.
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
        ra[0] = new double[m * features];
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
            for (int r = 0; r < m; r++) {
                for (int o = 0; o < outW; o++) {
                    double sum = theta[b + o];
                    double rsum = v[b + o];
                    for (int i = 0; i < in; i++) {
                        double x = a[l][r * in + i];
                        sum += x * theta[w + o * in + i];
                        rsum += ra[l][r * in + i] * theta[w + o * in + i] + x * v[w + o * in + i];
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
            for (int o = 0; o < outW; o++) {
                double db = 0;
                for (int r = 0; r < m; r++) {
                    db += rdz[r * outW + o];
                }
                out[b + o] = (float) db;
                for (int i = 0; i < in; i++) {
                    double dw = 0;
                    for (int r = 0; r < m; r++) {
                        dw += rdz[r * outW + o] * a[l][r * in + i] + dz[r * outW + o] * ra[l][r * in + i];
                    }
                    out[w + o * in + i] = (float) dw;
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
