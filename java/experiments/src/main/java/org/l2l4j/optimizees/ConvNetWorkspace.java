package org.l2l4j.optimizees;

import static org.bytedeco.openblas.global.openblas.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas.CblasTrans;
import static org.bytedeco.openblas.global.openblas.cblas_sgemm;

import java.nio.FloatBuffer;
import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Work buffers and the forward and backward passes of one {@link ConvNetSpec} network, for
 * minibatches of up to {@code capacity} examples.  Convolutions are matrix products on im2col
 * columns (OpenBLAS {@code cblas_sgemm} on native memory allocated once here; each convolution's
 * columns are kept from the forward pass for its weight gradient); batch norm, ReLU, pooling and
 * the softmax run in Java on heap arrays, copied in bulk to and from the native buffers that the
 * products read and write.
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
    private final float[][] x;
    /**
     * cols[l]: im2col columns of convolution l's input, from the forward pass until its weight
     * gradient; then those of its output gradient, for its input gradient.
     */
    private final FloatPointer[] cols;
    /** One convolution's weights flipped for its input gradient ({@link #flipWeights}). */
    private final FloatPointer flipped;
    /** xhat[l]: convolution l's output, normalized in place by batch norm, [out_l][m * side_l^2]. */
    private final FloatPointer[] xhat;
    /** r[l]: ReLU(gamma * xhat + beta) of convolution l. */
    private final float[][] r;
    private final double[][] invStd;
    /** argmax[l]: index into r[l] of each pooled value's maximum. */
    private final int[][] argmax;
    /** The flattened last pooling output, [flatFeatures][m] (PyTorch's flattening order per example). */
    private final FloatPointer flat;
    private final FloatPointer fcHat;
    /** ReLU(batch norm) of the fully connected layer, native for the products and on the heap. */
    private final FloatPointer fcOut;
    private final float[] fcOutHeap;
    private final double[] fcInvStd;
    /** Logits, then softmax probabilities, then their gradient, [classes][m]. */
    private final FloatPointer logits;
    private final int[] labels;
    /** A convolution's output gradient, then its input gradient. */
    private final FloatPointer delta;
    private final FloatPointer fcDelta;
    private final FloatPointer flatDelta;

    /** Heap copies: an activation gradient, a pooled gradient and one row of im2col columns. */
    private final float[] stage;
    private final float[] pooledDelta;
    private final float[] colsRow;
    /** Heap copies of {@link #LANES} batch-norm rows (channels' values over the minibatch). */
    private final float[] rowsA;
    private final float[] rowsB;
    /** Per-lane sums of the batch-norm reductions. */
    private final double[] laneA = new double[LANES];
    private final double[] laneB = new double[LANES];

    /**
     * Batch-norm channels reduced together: their sums run as independent dependency chains, each
     * in its own channel's order, so that the results are those of one channel at a time.
     */
    private static final int LANES = 4;

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
        x = new float[layers + 1][];
        cols = new FloatPointer[layers];
        xhat = new FloatPointer[layers];
        r = new float[layers][];
        invStd = new double[layers][];
        argmax = new int[layers][];
        int kk = spec.kernel() * spec.kernel();
        long weights = 0;
        int widest = 0;
        int widestPooled = 0;
        for (int l = 0; l < layers; l++) {
            int positions = Math.multiplyExact(capacity, spec.side(l) * spec.side(l));
            int in = spec.inputChannels(l);
            int out = spec.convChannels().get(l);
            x[l] = new float[Math.multiplyExact(in, positions)];
            // the first convolution's input gradient is not computed: its columns hold its input only
            cols[l] = new FloatPointer((long) (l == 0 ? in : Math.max(in, out)) * kk * positions);
            weights = Math.max(weights, (long) out * in * kk);
            xhat[l] = new FloatPointer((long) out * positions);
            r[l] = new float[Math.multiplyExact(out, positions)];
            invStd[l] = new double[out];
            argmax[l] = new int[out * positions / 4];
            widest = Math.max(widest, Math.max(in, out) * positions);
            widestPooled = Math.max(widestPooled, out * positions / 4);
        }
        x[layers] = new float[Math.multiplyExact(spec.flatFeatures(), capacity)];
        flipped = new FloatPointer(weights);
        flat = new FloatPointer((long) spec.flatFeatures() * capacity);
        fcHat = new FloatPointer((long) spec.fcWidth() * capacity);
        fcOut = new FloatPointer((long) spec.fcWidth() * capacity);
        fcOutHeap = new float[spec.fcWidth() * capacity];
        fcInvStd = new double[spec.fcWidth()];
        logits = new FloatPointer((long) classes * capacity);
        labels = new int[capacity];
        delta = new FloatPointer(widest);
        fcDelta = new FloatPointer((long) spec.fcWidth() * capacity);
        int longestRow = Math.max(capacity, capacity * spec.side(0) * spec.side(0));
        stage = new float[widest];
        pooledDelta = new float[widestPooled];
        colsRow = new float[longestRow];
        rowsA = new float[LANES * longestRow];
        rowsB = new float[LANES * longestRow];
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
        float[] in = x[0];
        int channels = spec.imageChannels();
        int plane = spec.side(0) * spec.side(0);
        for (int e = 0; e < count; e++) {
            int from = examples[e] * channels * plane;
            for (int c = 0; c < channels; c++) {
                System.arraycopy(images, from + c * plane, in, (c * count + e) * plane, plane);
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
            im2col(x[l], cols[l].asBuffer(), in, m, side, k);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, out, positions, in * k * k,
                    1f, params.getPointer(layout.conv()[l]), in * k * k, cols[l], positions, 0f, xhat[l], positions);
            batchNormForward(xhat[l].asBuffer(), r[l], out, positions, layout.gamma()[l], layout.beta()[l],
                    invStd[l]);
            maxPool(r[l], x[l + 1], argmax[l], out, m, side);
        }
        flatten(x[spec.convolutions()], flat.asBuffer(), m);
        int f = spec.flatFeatures();
        int w = spec.fcWidth();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, w, m, f,
                1f, params.getPointer(layout.fc()), f, flat, m, 0f, fcHat, m);
        batchNormForward(fcHat.asBuffer(), fcOutHeap, w, m, layout.fcGamma(), layout.fcBeta(), fcInvStd);
        fcOut.asBuffer().put(0, fcOutHeap, 0, w * m);
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
        batchNormBackward(fcDelta.asBuffer(), fcHat.asBuffer(), fcOutHeap, w, m, layout.fcGamma(),
                layout.fcBeta(), fcInvStd);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, w, f, m,
                1f, fcDelta, m, flat, m, 0f, grad.getPointer(layout.fc()), f);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, f, m, w,
                1f, params.getPointer(layout.fc()), f, fcDelta, m, 0f, flatDelta, m);
        unflatten(flatDelta.asBuffer(), pooledDelta, m);
        int k = spec.kernel();
        for (int l = spec.convolutions() - 1; l >= 0; l--) {
            int in = spec.inputChannels(l);
            int out = spec.convChannels().get(l);
            int side = spec.side(l);
            int positions = m * side * side;
            FloatBuffer dz = delta.asBuffer();
            unpool(pooledDelta, dz, argmax[l], out * positions / 4);
            batchNormBackward(dz, xhat[l].asBuffer(), r[l], out, positions, layout.gamma()[l],
                    layout.beta()[l], invStd[l]);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, out, in * k * k, positions,
                    1f, delta, positions, cols[l], positions, 0f, grad.getPointer(layout.conv()[l]), in * k * k);
            if (l > 0) {
                dz.get(0, stage, 0, out * positions);
                im2col(stage, cols[l].asBuffer(), out, m, side, k);
                flipWeights(layout.conv()[l], in, out, k);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, in, positions, out * k * k,
                        1f, flipped, out * k * k, cols[l], positions, 0f, delta, positions);
                dz.get(0, pooledDelta, 0, in * positions);
            }
        }
        g.get(0, gradient);
    }

    /**
     * cols[(c * k + dy) * k + dx][(e * side + y) * side + x] = in[c][e][y + dy - k/2][x + dx - k/2],
     * 0 outside the image.  Each row is built on the heap ({@link #colsRow}): per image one copy of
     * the span from its first to its last valid element, then zeros written over the rows and
     * columns that fall outside the image; then copied out in bulk.
     */
    private void im2col(float[] in, FloatBuffer cols, int channels, int m, int side, int k) {
        int half = k / 2;
        int plane = side * side;
        int positions = m * plane;
        float[] row = colsRow;
        for (int c = 0; c < channels; c++) {
            for (int dy = 0; dy < k; dy++) {
                int top = Math.max(0, half - dy);
                int bottom = Math.min(side, side + half - dy);
                for (int dx = 0; dx < k; dx++) {
                    int shift = dx - half;
                    int from = Math.max(0, -shift);
                    int to = Math.min(side, side - shift);
                    for (int e = 0; e < m; e++) {
                        int at = e * plane;
                        int image = (c * m + e) * plane;
                        if (top >= bottom || from >= to) {
                            Arrays.fill(row, at, at + plane, 0f);
                            continue;
                        }
                        int first = top * side + from;
                        int last = (bottom - 1) * side + to;
                        System.arraycopy(in, image + first + (dy - half) * side + shift, row, at + first, last - first);
                        Arrays.fill(row, at, at + first, 0f);
                        Arrays.fill(row, at + last, at + plane, 0f);
                        if (from > 0 || to < side) {
                            for (int y = top; y < bottom; y++) {
                                Arrays.fill(row, at + y * side, at + y * side + from, 0f);
                                Arrays.fill(row, at + y * side + to, at + (y + 1) * side, 0f);
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
     * {@code z} (which then holds xhat), then out = ReLU(gamma * xhat + beta).  {@link #LANES}
     * rows at a time are computed on heap copies ({@link #rowsA}).
     */
    private void batchNormForward(FloatBuffer z, float[] out, int channels, int count, int gammaAt, int betaAt,
            double[] inv) {
        float[] v = rowsA;
        double[] mean = laneA;
        double[] squares = laneB;
        for (int c0 = 0; c0 < channels; c0 += LANES) {
            int lanes = Math.min(LANES, channels - c0);
            z.get(c0 * count, v, 0, lanes * count);
            rowSums(v, count, lanes, mean);
            for (int j = 0; j < lanes; j++) {
                mean[j] /= count;
            }
            rowSquares(v, count, lanes, mean, squares);
            for (int j = 0; j < lanes; j++) {
                int c = c0 + j;
                inv[c] = 1 / Math.sqrt(squares[j] / count + ConvNetSpec.BN_EPSILON);
                float gamma = paramsView.get(gammaAt + c);
                float beta = paramsView.get(betaAt + c);
                double mu = mean[j];
                double s = inv[c];
                int row = j * count;
                int to = c * count;
                for (int i = 0; i < count; i++) {
                    float h = (float) ((v[row + i] - mu) * s);
                    v[row + i] = h;
                    out[to + i] = Math.max(gamma * h + beta, 0f);
                }
            }
            z.put(c0 * count, v, 0, lanes * count);
        }
    }

    /**
     * Backward through ReLU and batch norm: {@code d} holds dL/d(out) on entry and dL/dz on exit;
     * writes dgamma and dbeta into the gradient.
     */
    private void batchNormBackward(FloatBuffer d, FloatBuffer hat, float[] out, int channels, int count,
            int gammaAt, int betaAt, double[] inv) {
        float[] dy = rowsA;
        float[] h = rowsB;
        double[] dBeta = laneA;
        double[] dGamma = laneB;
        for (int c0 = 0; c0 < channels; c0 += LANES) {
            int lanes = Math.min(LANES, channels - c0);
            d.get(c0 * count, dy, 0, lanes * count);
            hat.get(c0 * count, h, 0, lanes * count);
            int from = c0 * count;
            for (int i = 0; i < lanes * count; i++) {
                dy[i] = out[from + i] > 0 ? dy[i] : 0f;
            }
            rowSums(dy, count, lanes, dBeta);
            rowProducts(dy, h, count, lanes, dGamma);
            for (int j = 0; j < lanes; j++) {
                int c = c0 + j;
                gradView.put(gammaAt + c, (float) dGamma[j]);
                gradView.put(betaAt + c, (float) dBeta[j]);
                double scale = paramsView.get(gammaAt + c) * inv[c] / count;
                double db = dBeta[j];
                double dg = dGamma[j];
                int row = j * count;
                for (int i = row; i < row + count; i++) {
                    dy[i] = (float) (scale * (count * (double) dy[i] - db - h[i] * dg));
                }
            }
            d.put(c0 * count, dy, 0, lanes * count);
        }
    }

    /**
     * The offsets of {@link #LANES} rows of {@code count} values in a heap copy of
     * {@code lanes} rows; a missing row repeats row 0 (its sums are computed and not used).
     */
    private static int lane(int j, int lanes, int count) {
        return j < lanes ? j * count : 0;
    }

    /** sum[j] = v[row j][0] + v[row j][1] + ... in this order, for each of the {@code lanes} rows. */
    private static void rowSums(float[] v, int count, int lanes, double[] sum) {
        int a = lane(0, lanes, count);
        int b = lane(1, lanes, count);
        int c = lane(2, lanes, count);
        int d = lane(3, lanes, count);
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        for (int i = 0; i < count; i++) {
            s0 += v[a + i];
            s1 += v[b + i];
            s2 += v[c + i];
            s3 += v[d + i];
        }
        sum[0] = s0;
        sum[1] = s1;
        sum[2] = s2;
        sum[3] = s3;
    }

    /** squares[j] = the sum in order of (v[row j][i] - mean[j])^2. */
    private static void rowSquares(float[] v, int count, int lanes, double[] mean, double[] squares) {
        int a = lane(0, lanes, count);
        int b = lane(1, lanes, count);
        int c = lane(2, lanes, count);
        int d = lane(3, lanes, count);
        double m0 = mean[0];
        double m1 = mean[lanes > 1 ? 1 : 0];
        double m2 = mean[lanes > 2 ? 2 : 0];
        double m3 = mean[lanes > 3 ? 3 : 0];
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        for (int i = 0; i < count; i++) {
            double d0 = v[a + i] - m0;
            double d1 = v[b + i] - m1;
            double d2 = v[c + i] - m2;
            double d3 = v[d + i] - m3;
            s0 += d0 * d0;
            s1 += d1 * d1;
            s2 += d2 * d2;
            s3 += d3 * d3;
        }
        squares[0] = s0;
        squares[1] = s1;
        squares[2] = s2;
        squares[3] = s3;
    }

    /** dot[j] = the sum in order of dy[row j][i] * (double) h[row j][i]. */
    private static void rowProducts(float[] dy, float[] h, int count, int lanes, double[] dot) {
        int a = lane(0, lanes, count);
        int b = lane(1, lanes, count);
        int c = lane(2, lanes, count);
        int d = lane(3, lanes, count);
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        for (int i = 0; i < count; i++) {
            s0 += dy[a + i] * (double) h[a + i];
            s1 += dy[b + i] * (double) h[b + i];
            s2 += dy[c + i] * (double) h[c + i];
            s3 += dy[d + i] * (double) h[d + i];
        }
        dot[0] = s0;
        dot[1] = s1;
        dot[2] = s2;
        dot[3] = s3;
    }

    /** 2x2 max-pooling, stride 2, of [channels][m][side^2] into [channels][m][(side/2)^2]. */
    private static void maxPool(float[] in, float[] out, int[] argmax, int channels, int m, int side) {
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
                        best = in[at] > in[best] ? at : best;
                    }
                    argmax[o] = best;
                    out[o++] = in[best];
                }
            }
        }
    }

    /** The adjoint of {@link #maxPool}: each pooled gradient to its maximum, 0 elsewhere. */
    private void unpool(float[] dPooled, FloatBuffer dIn, int[] argmax, int pooled) {
        float[] d = stage;
        Arrays.fill(d, 0, 4 * pooled, 0f);
        for (int o = 0; o < pooled; o++) {
            d[argmax[o]] += dPooled[o];
        }
        dIn.put(0, d, 0, 4 * pooled);
    }

    /** [channels][m][p] to [channels * p][m]: example e's feature c * p + q (PyTorch's flattening) in column e. */
    private void flatten(float[] pooled, FloatBuffer out, int m) {
        int channels = spec.convChannels().get(spec.convolutions() - 1);
        int plane = spec.flatFeatures() / channels;
        float[] t = stage;
        for (int c = 0; c < channels; c++) {
            for (int e = 0; e < m; e++) {
                for (int q = 0; q < plane; q++) {
                    t[(c * plane + q) * m + e] = pooled[(c * m + e) * plane + q];
                }
            }
        }
        out.put(0, t, 0, spec.flatFeatures() * m);
    }

    /** The inverse of {@link #flatten}. */
    private void unflatten(FloatBuffer flatIn, float[] pooled, int m) {
        int channels = spec.convChannels().get(spec.convolutions() - 1);
        int plane = spec.flatFeatures() / channels;
        float[] t = stage;
        flatIn.get(0, t, 0, spec.flatFeatures() * m);
        for (int c = 0; c < channels; c++) {
            for (int e = 0; e < m; e++) {
                for (int q = 0; q < plane; q++) {
                    pooled[(c * m + e) * plane + q] = t[(c * plane + q) * m + e];
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
