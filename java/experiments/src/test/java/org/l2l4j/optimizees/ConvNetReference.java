package org.l2l4j.optimizees;

import java.util.List;

/**
 * An independent float64 implementation of the {@link ConvNetSpec} network's loss, written
 * directly from the definitions (direct convolution over each example in NCHW, batch norm over
 * the minibatch, ReLU, 2x2 max-pooling, fully connected layers, softmax cross-entropy), for the
 * tests: its loss checks the workspace's forward pass and its central finite differences check
 * the backward pass.
 */
final class ConvNetReference {

    private final ConvNetSpec spec;
    private final int classes;

    ConvNetReference(ConvNetSpec spec, int classes) {
        this.spec = spec;
        this.classes = classes;
    }

    /** Mean cross-entropy of theta over the examples (images channel-major per example). */
    double loss(double[] theta, float[] images, int[] labels, int[] batch) {
        List<ParameterTensor> t = spec.tensors(classes);
        int m = batch.length;
        int channels = spec.imageChannels();
        int side = spec.imageSide();
        double[][][][] a = new double[m][channels][side][side];
        for (int e = 0; e < m; e++) {
            for (int c = 0; c < channels; c++) {
                for (int y = 0; y < side; y++) {
                    for (int x = 0; x < side; x++) {
                        a[e][c][y][x] = images[batch[e] * spec.features() + (c * side + y) * side + x];
                    }
                }
            }
        }
        for (int l = 0; l < spec.convolutions(); l++) {
            int out = spec.convChannels().get(l);
            double[][][][] z = convolve(a, theta, t.get(3 * l).offset(), out, spec.kernel());
            normalizeAndRectify(z, theta, t.get(3 * l + 1).offset(), t.get(3 * l + 2).offset());
            a = pool(z);
        }
        int f = spec.flatFeatures();
        double[][] flat = new double[m][f];
        for (int e = 0; e < m; e++) {
            int i = 0;
            for (double[][] plane : a[e]) {
                for (double[] row : plane) {
                    for (double v : row) {
                        flat[e][i++] = v;
                    }
                }
            }
        }
        int w = spec.fcWidth();
        double[][][][] hidden = new double[m][w][1][1];
        int fc = t.get(3 * spec.convolutions()).offset();
        for (int e = 0; e < m; e++) {
            for (int u = 0; u < w; u++) {
                double s = 0;
                for (int i = 0; i < f; i++) {
                    s += theta[fc + u * f + i] * flat[e][i];
                }
                hidden[e][u][0][0] = s;
            }
        }
        normalizeAndRectify(hidden, theta, t.get(3 * spec.convolutions() + 1).offset(),
                t.get(3 * spec.convolutions() + 2).offset());
        int ow = t.get(3 * spec.convolutions() + 3).offset();
        int ob = t.get(3 * spec.convolutions() + 4).offset();
        double total = 0;
        for (int e = 0; e < m; e++) {
            double[] logit = new double[classes];
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < classes; k++) {
                logit[k] = theta[ob + k];
                for (int u = 0; u < w; u++) {
                    logit[k] += theta[ow + k * w + u] * hidden[e][u][0][0];
                }
                max = Math.max(max, logit[k]);
            }
            double sum = 0;
            for (double v : logit) {
                sum += Math.exp(v - max);
            }
            total += max + Math.log(sum) - logit[labels[batch[e]]];
        }
        return total / m;
    }

    /** Zero-padded "same" convolution without bias; weights [out][in][k][k] at offset. */
    private static double[][][][] convolve(double[][][][] a, double[] theta, int offset, int out, int k) {
        int m = a.length;
        int in = a[0].length;
        int side = a[0][0].length;
        double[][][][] z = new double[m][out][side][side];
        for (int e = 0; e < m; e++) {
            for (int o = 0; o < out; o++) {
                for (int y = 0; y < side; y++) {
                    for (int x = 0; x < side; x++) {
                        double s = 0;
                        for (int c = 0; c < in; c++) {
                            for (int dy = 0; dy < k; dy++) {
                                for (int dx = 0; dx < k; dx++) {
                                    int sy = y + dy - k / 2;
                                    int sx = x + dx - k / 2;
                                    if (sy >= 0 && sy < side && sx >= 0 && sx < side) {
                                        s += theta[offset + ((o * in + c) * k + dy) * k + dx] * a[e][c][sy][sx];
                                    }
                                }
                            }
                        }
                        z[e][o][y][x] = s;
                    }
                }
            }
        }
        return z;
    }

    /** Training-mode batch norm per channel over examples and positions, then ReLU, in place. */
    private static void normalizeAndRectify(double[][][][] z, double[] theta, int gamma, int beta) {
        int m = z.length;
        int channels = z[0].length;
        int h = z[0][0].length;
        int w = z[0][0][0].length;
        double count = (double) m * h * w;
        for (int c = 0; c < channels; c++) {
            double mean = 0;
            for (double[][][] ex : z) {
                for (double[] row : ex[c]) {
                    for (double v : row) {
                        mean += v / count;
                    }
                }
            }
            double var = 0;
            for (double[][][] ex : z) {
                for (double[] row : ex[c]) {
                    for (double v : row) {
                        var += (v - mean) * (v - mean) / count;
                    }
                }
            }
            for (double[][][] ex : z) {
                for (double[] row : ex[c]) {
                    for (int x = 0; x < w; x++) {
                        double y = theta[gamma + c] * (row[x] - mean) / Math.sqrt(var + ConvNetSpec.BN_EPSILON)
                                + theta[beta + c];
                        row[x] = Math.max(y, 0);
                    }
                }
            }
        }
    }

    private static double[][][][] pool(double[][][][] a) {
        int m = a.length;
        int channels = a[0].length;
        int half = a[0][0].length / 2;
        double[][][][] p = new double[m][channels][half][half];
        for (int e = 0; e < m; e++) {
            for (int c = 0; c < channels; c++) {
                for (int y = 0; y < half; y++) {
                    for (int x = 0; x < half; x++) {
                        p[e][c][y][x] = Math.max(Math.max(a[e][c][2 * y][2 * x], a[e][c][2 * y][2 * x + 1]),
                                Math.max(a[e][c][2 * y + 1][2 * x], a[e][c][2 * y + 1][2 * x + 1]));
                    }
                }
            }
        }
        return p;
    }
}
