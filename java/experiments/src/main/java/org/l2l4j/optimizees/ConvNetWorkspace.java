package org.l2l4j.optimizees;

import static org.bytedeco.openblas.global.openblas.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas.CblasTrans;
import static org.bytedeco.openblas.global.openblas.cblas_sgemm;

import java.nio.FloatBuffer;
import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Native work buffers and the forward and backward passes of one {@link ConvNetSpec} network,
 * for minibatches of up to {@code capacity} examples.  Convolutions are matrix products on
 * im2col columns (OpenBLAS {@code cblas_sgemm} on native memory allocated once here); batch
 * norm, ReLU, pooling and the softmax run in Java on direct-buffer views.
 *
 * <p>Activations are channel-major over the minibatch ("CNHW": channel c, example e, position p
 * at {@code (c * m + e) * side^2 + p}), so that a convolution is one product
 * Z [out x m*side^2] = W [out x in*k*k] . cols [in*k*k x m*side^2] and batch norm reduces
 * contiguous rows; the fully connected layers hold [units x m].  Loss: the mean over the m
 * examples of softmax cross-entropy.  Sums for batch norm and the loss accumulate in double.
 *
 * <p>Backward, for a layer's output gradient dY: convolution dW = dZ . cols^T, and the input
 * gradient as a "same" convolution of dZ with the flipped weights (see {@link #flipWeights});
 * batch norm with xhat = (z - mean) * invstd over M values:
 * dbeta = sum dY, dgamma = sum dY * xhat, dz = gamma * invstd / M * (M dY - dbeta - xhat dgamma);
 * max-pooling routes each gradient to its window's first maximum; ReLU passes it where its
 * output is positive.
 *
 * <p>One workspace serves one evaluation at a time; {@link ConvNetFamily} pools them.
 */
final class ConvNetWorkspace implements ClassifierWorkspace {

    private final ConvNetSpec spec;
    private final int classes;
    private final Layout layout;

    private final FloatPointer params;
    private final FloatPointer grad;
    private final FloatBuffer paramsView;
    private final FloatBuffer gradView;
    /** x[l]: input of convolution l, [in_l][m][side_l^2]; x[L]: the last pooling's output. */
    private final FloatPointer[] x;
    /** im2col columns of one convolution's input, or of its output gradient in the backward pass. */
    private final FloatPointer cols;
    /** One convolution's weights flipped for its input gradient ({@link #flipWeights}). */
    private final FloatPointer flipped;
    /** xhat[l]: convolution l's output, normalized in place by batch norm, [out_l][m * side_l^2]. */
    private final FloatPointer[] xhat;
    /** r[l]: ReLU(gamma * xhat + beta) of convolution l. */
    private final FloatPointer[] r;
    private final double[][] invStd;
    /** argmax[l]: index into r[l] of each pooled value's maximum. */
    private final int[][] argmax;
    /** The flattened last pooling output, [flatFeatures][m] (PyTorch's flattening order per example). */
    private final FloatPointer flat;
    private final FloatPointer fcHat;
    private final FloatPointer fcOut;
    private final double[] fcInvStd;
    /** Logits, then softmax probabilities, then their gradient, [classes][m]. */
    private final FloatPointer logits;
    private final int[] labels;
    /** Gradient buffers: two for activations (ping-pong) and one for the fully connected layers. */
    private final FloatPointer[] delta;
    private final FloatPointer fcDelta;
    private final FloatPointer flatDelta;

    /** Heap copies of an im2col input and of one row of its columns. */
    private final float[] source;
    private final float[] colsRow;
    /** Heap copies of one batch-norm row (one channel's values over the minibatch). */
    private final float[] rowA;
    private final float[] rowB;
    private final float[] rowC;

    private int correct;

    /** Offsets of the tensors in theta, by role. */
    private record Layout(int[] conv, int[] gamma, int[] beta, int fc, int fcGamma, int fcBeta, int out, int outBias,
            int dimension) {
        static Layout of(ConvNetSpec spec, int classes) {
            var t = spec.tensors(classes);
            int l = spec.convolutions();
            int[] conv = new int[l];
            int[] gamma = new int[l];
            int[] beta = new int[l];
            for (int i = 0; i < l; i++) {
                conv[i] = t.get(3 * i).offset();
                gamma[i] = t.get(3 * i + 1).offset();
                beta[i] = t.get(3 * i + 2).offset();
            }
            ParameterTensor last = t.get(3 * l + 4);
            return new Layout(conv, gamma, beta, t.get(3 * l).offset(), t.get(3 * l + 1).offset(),
                    t.get(3 * l + 2).offset(), t.get(3 * l + 3).offset(), last.offset(), last.offset() + last.size());
        }
    }

    ConvNetWorkspace(ConvNetSpec spec, int classes, int capacity) {
        this.spec = spec;
        this.classes = classes;
        this.layout = Layout.of(spec, classes);
        int n = layout.dimension();
        params = new FloatPointer(n);
        grad = new FloatPointer(n);
        paramsView = params.asBuffer();
        gradView = grad.asBuffer();
        int layers = spec.convolutions();
        x = new FloatPointer[layers + 1];
        xhat = new FloatPointer[layers];
        r = new FloatPointer[layers];
        invStd = new double[layers][];
        argmax = new int[layers][];
        long colsSize = 0;
        long weights = 0;
        long widest = 0;
        for (int l = 0; l < layers; l++) {
            long positions = (long) capacity * spec.side(l) * spec.side(l);
            int out = spec.convChannels().get(l);
            x[l] = new FloatPointer(spec.inputChannels(l) * positions);
            colsSize = Math.max(colsSize, (long) Math.max(out, spec.inputChannels(l)) * spec.kernel() * spec.kernel() * positions);
            weights = Math.max(weights, (long) out * spec.inputChannels(l) * spec.kernel() * spec.kernel());
            xhat[l] = new FloatPointer(out * positions);
            r[l] = new FloatPointer(out * positions);
            invStd[l] = new double[out];
            argmax[l] = new int[Math.toIntExact(out * positions / 4)];
            widest = Math.max(widest, Math.max(out, spec.inputChannels(l)) * positions);
        }
        x[layers] = new FloatPointer((long) spec.flatFeatures() * capacity);
        cols = new FloatPointer(colsSize);
        flipped = new FloatPointer(weights);
        flat = new FloatPointer((long) spec.flatFeatures() * capacity);
        fcHat = new FloatPointer((long) spec.fcWidth() * capacity);
        fcOut = new FloatPointer((long) spec.fcWidth() * capacity);
        fcInvStd = new double[spec.fcWidth()];
        logits = new FloatPointer((long) classes * capacity);
        labels = new int[capacity];
        delta = new FloatPointer[] {new FloatPointer(widest), new FloatPointer(widest)};
        fcDelta = new FloatPointer((long) spec.fcWidth() * capacity);
        int longestRow = Math.max(capacity, capacity * spec.side(0) * spec.side(0));
        source = new float[Math.toIntExact(widest)];
        colsRow = new float[capacity * spec.side(0) * spec.side(0)];
        rowA = new float[longestRow];
        rowB = new float[longestRow];
        rowC = new float[longestRow];
        flatDelta = new FloatPointer((long) spec.flatFeatures() * capacity);
    }

    @Override
    public void loadParameters(float[] theta) {
        paramsView.put(0, theta);
    }

    /**
     * Gathers examples {@code examples[0..count)} of a data set (features channel-major per
     * example) into the first convolution's input, transposed to channel-major over the batch.
     */
    @Override
    public void gather(float[] images, int[] dataLabels, int[] examples, int count) {
        FloatBuffer in = x[0].asBuffer();
        int channels = spec.imageChannels();
        int plane = spec.side(0) * spec.side(0);
        for (int e = 0; e < count; e++) {
            int from = examples[e] * channels * plane;
            for (int c = 0; c < channels; c++) {
                in.put((c * count + e) * plane, images, from + c * plane, plane);
            }
            labels[e] = dataLabels[examples[e]];
        }
    }

    /**
     * Forward pass over the first {@code m} gathered examples with the loaded parameters.  Leaves
     * (softmax - onehot) / m in the logits buffer for {@link #backward} and the number of correct
     * argmax predictions in {@link #correct()}.
     *
     * @return the sum over the m examples of the cross-entropy (not the mean)
     */
    @Override
    public double forward(int m) {
        int k = spec.kernel();
        for (int l = 0; l < spec.convolutions(); l++) {
            int in = spec.inputChannels(l);
            int out = spec.convChannels().get(l);
            int side = spec.side(l);
            int positions = m * side * side;
            im2col(x[l].asBuffer(), cols.asBuffer(), in, m, side, k);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, out, positions, in * k * k,
                    1f, params.getPointer(layout.conv()[l]), in * k * k, cols, positions, 0f, xhat[l], positions);
            batchNormForward(xhat[l].asBuffer(), r[l].asBuffer(), out, positions, layout.gamma()[l], layout.beta()[l],
                    invStd[l]);
            maxPool(r[l].asBuffer(), x[l + 1].asBuffer(), argmax[l], out, m, side);
        }
        flatten(x[spec.convolutions()].asBuffer(), flat.asBuffer(), m);
        int f = spec.flatFeatures();
        int w = spec.fcWidth();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, w, m, f,
                1f, params.getPointer(layout.fc()), f, flat, m, 0f, fcHat, m);
        batchNormForward(fcHat.asBuffer(), fcOut.asBuffer(), w, m, layout.fcGamma(), layout.fcBeta(), fcInvStd);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, classes, m, w,
                1f, params.getPointer(layout.out()), w, fcOut, m, 0f, logits, m);
        return softmaxCrossEntropy(m);
    }

    @Override
    public int correct() {
        return correct;
    }

    @Override
    public void backward(int m, float[] gradient) {
        int f = spec.flatFeatures();
        int w = spec.fcWidth();
        FloatBuffer g = gradView;
        FloatBuffer dLogits = logits.asBuffer();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, classes, w, m,
                1f, logits, m, fcOut, m, 0f, grad.getPointer(layout.out()), w);
        for (int c = 0; c < classes; c++) {
            double sum = 0;
            for (int e = 0; e < m; e++) {
                sum += dLogits.get(c * m + e);
            }
            g.put(layout.outBias() + c, (float) sum);
        }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, w, m, classes,
                1f, params.getPointer(layout.out()), w, logits, m, 0f, fcDelta, m);
        batchNormBackward(fcDelta.asBuffer(), fcHat.asBuffer(), fcOut.asBuffer(), w, m, layout.fcGamma(),
                layout.fcBeta(), fcInvStd);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, w, f, m,
                1f, fcDelta, m, flat, m, 0f, grad.getPointer(layout.fc()), f);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, f, m, w,
                1f, params.getPointer(layout.fc()), f, fcDelta, m, 0f, flatDelta, m);
        int current = 0;
        unflatten(flatDelta.asBuffer(), delta[current].asBuffer(), m);
        int k = spec.kernel();
        for (int l = spec.convolutions() - 1; l >= 0; l--) {
            int in = spec.inputChannels(l);
            int out = spec.convChannels().get(l);
            int side = spec.side(l);
            int positions = m * side * side;
            FloatBuffer dr = delta[1 - current].asBuffer();
            unpool(delta[current].asBuffer(), dr, argmax[l], out * positions / 4);
            current = 1 - current;
            batchNormBackward(dr, xhat[l].asBuffer(), r[l].asBuffer(), out, positions, layout.gamma()[l],
                    layout.beta()[l], invStd[l]);
            im2col(x[l].asBuffer(), cols.asBuffer(), in, m, side, k);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, out, in * k * k, positions,
                    1f, delta[current], positions, cols, positions, 0f, grad.getPointer(layout.conv()[l]), in * k * k);
            if (l > 0) {
                im2col(delta[current].asBuffer(), cols.asBuffer(), out, m, side, k);
                flipWeights(layout.conv()[l], in, out, k);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, in, positions, out * k * k,
                        1f, flipped, out * k * k, cols, positions, 0f, delta[1 - current], positions);
                current = 1 - current;
            }
        }
        g.get(0, gradient);
    }

    /**
     * cols[(c * k + dy) * k + dx][(e * side + y) * side + x] = in[c][e][y + dy - k/2][x + dx - k/2],
     * 0 outside the image.  Built row by row on the heap ({@link #source}, {@link #colsRow}) and
     * copied out in bulk.
     */
    private void im2col(FloatBuffer in, FloatBuffer cols, int channels, int m, int side, int k) {
        int half = k / 2;
        int plane = side * side;
        int positions = m * plane;
        float[] src = source;
        float[] row = colsRow;
        in.get(0, src, 0, channels * positions);
        for (int c = 0; c < channels; c++) {
            for (int dy = 0; dy < k; dy++) {
                for (int dx = 0; dx < k; dx++) {
                    int shift = dx - half;
                    int from = Math.max(0, -shift);
                    int to = Math.min(side, side - shift);
                    for (int e = 0; e < m; e++) {
                        int image = (c * m + e) * plane;
                        for (int y = 0; y < side; y++) {
                            int sy = y + dy - half;
                            int at = e * plane + y * side;
                            if (sy < 0 || sy >= side) {
                                Arrays.fill(row, at, at + side, 0f);
                                continue;
                            }
                            for (int x = 0; x < from; x++) {
                                row[at + x] = 0f;
                            }
                            System.arraycopy(src, image + sy * side + from + shift, row, at + from, to - from);
                            for (int x = to; x < side; x++) {
                                row[at + x] = 0f;
                            }
                        }
                    }
                    cols.put(((c * k + dy) * k + dx) * positions, row, 0, positions);
                }
            }
        }
    }

    /**
     * The convolution's weights for its input gradient: flipped[c][(o * k + dy) * k + dx] =
     * w[o][c][k-1-dy][k-1-dx], so that dx = flipped . im2col(dz) (a "same" convolution of dz).
     */
    private void flipWeights(int at, int in, int out, int k) {
        FloatBuffer f = flipped.asBuffer();
        for (int c = 0; c < in; c++) {
            for (int o = 0; o < out; o++) {
                for (int dy = 0; dy < k; dy++) {
                    for (int dx = 0; dx < k; dx++) {
                        f.put((c * out + o) * k * k + dy * k + dx,
                                paramsView.get(at + ((o * in + c) * k + (k - 1 - dy)) * k + (k - 1 - dx)));
                    }
                }
            }
        }
    }

    /**
     * Batch norm of each of {@code channels} rows of {@code count} values, in place in
     * {@code z} (which then holds xhat), then out = ReLU(gamma * xhat + beta).  Each row is
     * computed on heap copies ({@link #rowA}, {@link #rowB}).
     */
    private void batchNormForward(FloatBuffer z, FloatBuffer out, int channels, int count, int gammaAt, int betaAt,
            double[] inv) {
        float[] v = rowA;
        float[] y = rowB;
        for (int c = 0; c < channels; c++) {
            int row = c * count;
            z.get(row, v, 0, count);
            double sum = 0;
            for (int i = 0; i < count; i++) {
                sum += v[i];
            }
            double mean = sum / count;
            double squares = 0;
            for (int i = 0; i < count; i++) {
                double d = v[i] - mean;
                squares += d * d;
            }
            inv[c] = 1 / Math.sqrt(squares / count + ConvNetSpec.BN_EPSILON);
            float gamma = paramsView.get(gammaAt + c);
            float beta = paramsView.get(betaAt + c);
            for (int i = 0; i < count; i++) {
                float h = (float) ((v[i] - mean) * inv[c]);
                v[i] = h;
                y[i] = Math.max(gamma * h + beta, 0f);
            }
            z.put(row, v, 0, count);
            out.put(row, y, 0, count);
        }
    }

    /**
     * Backward through ReLU and batch norm: {@code d} holds dL/d(out) on entry and dL/dz on exit;
     * writes dgamma and dbeta into the gradient.
     */
    private void batchNormBackward(FloatBuffer d, FloatBuffer hat, FloatBuffer out, int channels, int count,
            int gammaAt, int betaAt, double[] inv) {
        float[] dy = rowA;
        float[] h = rowB;
        float[] o = rowC;
        for (int c = 0; c < channels; c++) {
            int row = c * count;
            d.get(row, dy, 0, count);
            hat.get(row, h, 0, count);
            out.get(row, o, 0, count);
            double dBeta = 0;
            double dGamma = 0;
            for (int i = 0; i < count; i++) {
                if (!(o[i] > 0)) {
                    dy[i] = 0f;
                }
                dBeta += dy[i];
                dGamma += dy[i] * (double) h[i];
            }
            gradView.put(gammaAt + c, (float) dGamma);
            gradView.put(betaAt + c, (float) dBeta);
            double scale = paramsView.get(gammaAt + c) * inv[c] / count;
            for (int i = 0; i < count; i++) {
                dy[i] = (float) (scale * (count * (double) dy[i] - dBeta - h[i] * dGamma));
            }
            d.put(row, dy, 0, count);
        }
    }

    /** 2x2 max-pooling, stride 2, of [channels][m][side^2] into [channels][m][(side/2)^2]. */
    private static void maxPool(FloatBuffer in, FloatBuffer out, int[] argmax, int channels, int m, int side) {
        int half = side / 2;
        int o = 0;
        for (int ce = 0; ce < channels * m; ce++) {
            int base = ce * side * side;
            for (int y = 0; y < half; y++) {
                for (int xx = 0; xx < half; xx++) {
                    int corner = base + 2 * y * side + 2 * xx;
                    int best = corner;
                    for (int i = 1; i < 4; i++) {
                        int at = corner + (i >> 1) * side + (i & 1);
                        if (in.get(at) > in.get(best)) {
                            best = at;
                        }
                    }
                    argmax[o] = best;
                    out.put(o++, in.get(best));
                }
            }
        }
    }

    /** The adjoint of {@link #maxPool}: each pooled gradient to its maximum, 0 elsewhere. */
    private static void unpool(FloatBuffer dPooled, FloatBuffer dIn, int[] argmax, int pooled) {
        for (int i = 0; i < 4 * pooled; i++) {
            dIn.put(i, 0f);
        }
        for (int o = 0; o < pooled; o++) {
            dIn.put(argmax[o], dIn.get(argmax[o]) + dPooled.get(o));
        }
    }

    /** [channels][m][p] to [channels * p][m]: example e's feature c * p + q (PyTorch's flattening) in column e. */
    private void flatten(FloatBuffer pooled, FloatBuffer out, int m) {
        int channels = spec.convChannels().get(spec.convolutions() - 1);
        int plane = spec.flatFeatures() / channels;
        for (int c = 0; c < channels; c++) {
            for (int e = 0; e < m; e++) {
                for (int q = 0; q < plane; q++) {
                    out.put((c * plane + q) * m + e, pooled.get((c * m + e) * plane + q));
                }
            }
        }
    }

    /** The inverse of {@link #flatten}. */
    private void unflatten(FloatBuffer flatIn, FloatBuffer pooled, int m) {
        int channels = spec.convChannels().get(spec.convolutions() - 1);
        int plane = spec.flatFeatures() / channels;
        for (int c = 0; c < channels; c++) {
            for (int e = 0; e < m; e++) {
                for (int q = 0; q < plane; q++) {
                    pooled.put((c * m + e) * plane + q, flatIn.get((c * plane + q) * m + e));
                }
            }
        }
    }

    /**
     * Adds the output bias, then per example: loss log sum exp(z) - z_label, probabilities
     * replaced by (softmax - onehot) / m, and the argmax counted.
     */
    private double softmaxCrossEntropy(int m) {
        FloatBuffer z = logits.asBuffer();
        double total = 0;
        correct = 0;
        for (int e = 0; e < m; e++) {
            double max = Double.NEGATIVE_INFINITY;
            int best = 0;
            for (int c = 0; c < classes; c++) {
                float v = z.get(c * m + e) + paramsView.get(layout.outBias() + c);
                z.put(c * m + e, v);
                if (v > max) {
                    max = v;
                    best = c;
                }
            }
            double sum = 0;
            for (int c = 0; c < classes; c++) {
                sum += Math.exp(z.get(c * m + e) - max);
            }
            total += max + Math.log(sum) - z.get(labels[e] * m + e);
            if (best == labels[e]) {
                correct++;
            }
            for (int c = 0; c < classes; c++) {
                double prob = Math.exp(z.get(c * m + e) - max) / sum;
                z.put(c * m + e, (float) ((prob - (c == labels[e] ? 1 : 0)) / m));
            }
        }
        return total;
    }
}
