package org.l2l4j.optimizees;

import java.util.Objects;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.backend.NativeCalls;
import org.l2l4j.optimizees.MlpSpec.Activation;
import org.l2l4j.presets.L2l;

/**
 * The element-wise parts of an MLP optimizee's loss and gradient as native kernels where a
 * backend computes (l2l.h, "optimizee kernels": the CPU twins on a CPU backend, CUDA kernels
 * queued on the stream of a CUDA backend), for {@link ResidentMlpBatch}.  Layouts, formulas and
 * NaN behaviour are those of l2l.h: activation matrices are float32 [batch][rows][cols]; a
 * per-instance vector of instance b starts at {@code offset + b * stride}.
 *
 * <p>Every argument is checked here before the native call (nulls, closed buffers, element types,
 * one backend, every element inside its buffer), raising {@link NullPointerException},
 * {@link IllegalStateException} or {@link IllegalArgumentException}; native failures raise
 * {@link org.l2l4j.backend.L2lException}.
 */
final class MlpKernels {

    private MlpKernels() {
    }

    /**
     * x[r] = images[indices[from + r]], y[r] = labels[indices[from + r]] for r < rows.
     *
     * @param images       float32 [examples x features]
     * @param labels       int32 [examples]
     * @param indices      int32, read at [from, from + rows)
     * @param checkIndices reject an index outside [0, examples) before writing anything
     *                     (synchronizes a CUDA backend); without it such a row becomes NaN
     */
    static void gather(NativeBuffer images, NativeBuffer labels, int features, NativeBuffer indices, long from,
                       long rows, NativeBuffer x, NativeBuffer y, boolean checkIndices) {
        Backend backend = backendOf(x);
        if (features < 1 || rows < 1) {
            throw new IllegalArgumentException("features and rows must be >= 1, got " + features + ", " + rows);
        }
        long examples = require("labels", labels, backend, NativeBuffer.ElementType.I32, 0, 1);
        require("images", images, backend, NativeBuffer.ElementType.F32, 0, examples * features);
        if (images.length() != examples * features) {
            throw new IllegalArgumentException("images hold " + images.length() + " values, " + examples
                    + " labels x " + features + " features need " + examples * features);
        }
        require("indices", indices, backend, NativeBuffer.ElementType.I32, from, rows);
        require("x", x, backend, NativeBuffer.ElementType.F32, 0, rows * features);
        require("y", y, backend, NativeBuffer.ElementType.I32, 0, rows);
        NativeCalls.check(L2l.l2l_mlp_gather(backend.ctx(), examples, features, images.address(), labels.address(),
                rows, indices.address(from), x.address(), y.address(), checkIndices ? L2l.L2L_CHECK_INDICES : 0),
                "l2l_mlp_gather");
    }

    /**
     * z[b][r][j] = act(z[b][r][j] + bias[biasOffset + b * biasStride + j]), in place.
     *
     * @param activation the hidden layers' activation, or null for none (the output layer)
     */
    static void biasActivation(int batch, long rows, int cols, NativeBuffer z, NativeBuffer bias, long biasOffset,
                               long biasStride, Activation activation) {
        Backend backend = backendOf(z);
        requireMatrix(batch, rows, cols);
        if (biasStride < 0) {
            throw new IllegalArgumentException("biasStride must be >= 0, got " + biasStride);
        }
        require("z", z, backend, NativeBuffer.ElementType.F32, 0, batch * rows * cols);
        require("bias", bias, backend, NativeBuffer.ElementType.F32, biasOffset, (batch - 1) * biasStride + cols);
        NativeCalls.check(L2l.l2l_mlp_bias_activation(backend.ctx(), batch, rows, cols, z.address(),
                bias.address(biasOffset), biasStride, code(activation)), "l2l_mlp_bias_activation");
    }

    /** delta[k] *= act'(z_k), written through a[k] = act(z_k), for k < count, in place. */
    static void activationBackward(long count, NativeBuffer a, NativeBuffer delta, Activation activation) {
        Backend backend = backendOf(delta);
        Objects.requireNonNull(activation, "activation");
        requireMatrix(1, count, 1);
        require("a", a, backend, NativeBuffer.ElementType.F32, 0, count);
        require("delta", delta, backend, NativeBuffer.ElementType.F32, 0, count);
        NativeCalls.check(L2l.l2l_mlp_activation_backward(backend.ctx(), count, a.address(), delta.address(),
                code(activation)), "l2l_mlp_activation_backward");
    }

    /** db[dbOffset + b * dbStride + j] = sum_r delta[b][r][j], summed in float64 in row order. */
    static void biasGradient(int batch, long rows, int cols, NativeBuffer delta, NativeBuffer db, long dbOffset,
                             long dbStride) {
        Backend backend = backendOf(delta);
        requireMatrix(batch, rows, cols);
        if (batch > 1 && dbStride < cols) {
            throw new IllegalArgumentException("dbStride " + dbStride + " < cols " + cols
                    + ": the instances' gradients would overlap");
        }
        require("delta", delta, backend, NativeBuffer.ElementType.F32, 0, batch * rows * cols);
        require("db", db, backend, NativeBuffer.ElementType.F32, dbOffset, (batch - 1) * dbStride + cols);
        NativeCalls.check(L2l.l2l_mlp_bias_gradient(backend.ctx(), batch, rows, cols, delta.address(),
                db.address(dbOffset), dbStride), "l2l_mlp_bias_gradient");
    }

    /**
     * Softmax cross-entropy of each instance's rows: loss[lossOffset + b] = mean over the rows
     * (float64), dlogits = scale (softmax - onehot) / rows (may be the logits buffer itself).
     *
     * @param labels int32 [batch x rows]
     * @param loss   float64, written at [lossOffset, lossOffset + batch)
     */
    static void softmaxCrossEntropy(int batch, long rows, int classes, NativeBuffer logits, NativeBuffer labels,
                                    double scale, NativeBuffer dlogits, NativeBuffer loss, long lossOffset) {
        Backend backend = backendOf(logits);
        requireMatrix(batch, rows, classes);
        if (classes < 2) {
            throw new IllegalArgumentException("classes must be >= 2, got " + classes);
        }
        if (!Float.isFinite((float) scale)) {
            throw new IllegalArgumentException("scale must be finite, got " + scale);
        }
        long count = batch * rows * classes;
        require("logits", logits, backend, NativeBuffer.ElementType.F32, 0, count);
        require("labels", labels, backend, NativeBuffer.ElementType.I32, 0, batch * rows);
        require("dlogits", dlogits, backend, NativeBuffer.ElementType.F32, 0, count);
        require("loss", loss, backend, NativeBuffer.ElementType.F64, lossOffset, batch);
        NativeCalls.check(L2l.l2l_mlp_softmax_cross_entropy(backend.ctx(), batch, rows, classes, logits.address(),
                labels.address(), (float) scale, dlogits.address(), loss.address(lossOffset)),
                "l2l_mlp_softmax_cross_entropy");
    }

    /** The l2l_activation code; null is the identity. */
    private static int code(Activation activation) {
        if (activation == null) {
            return L2l.L2L_ACTIVATION_IDENTITY;
        }
        return switch (activation) {
            case SIGMOID -> L2l.L2L_ACTIVATION_SIGMOID;
            case RELU -> L2l.L2L_ACTIVATION_RELU;
        };
    }

    private static Backend backendOf(NativeBuffer b) {
        Objects.requireNonNull(b, "buffer");
        if (b.isClosed()) {
            throw new IllegalStateException("the buffer is closed");
        }
        return b.backend();
    }

    private static void requireMatrix(long batch, long rows, long cols) {
        if (batch < 1 || rows < 1 || cols < 1) {
            throw new IllegalArgumentException("batch, rows and cols must be >= 1, got " + batch + ", " + rows
                    + ", " + cols);
        }
        if (rows > Long.MAX_VALUE / 8 / cols / batch) {
            throw new IllegalArgumentException("a " + batch + " x " + rows + " x " + cols + " matrix is too large");
        }
    }

    /**
     * Checks that {@code b} is an open buffer of {@code type} on {@code backend} holding elements
     * [from, from + count); returns its length.
     */
    private static long require(String name, NativeBuffer b, Backend backend, NativeBuffer.ElementType type,
                                long from, long count) {
        Objects.requireNonNull(b, name);
        if (b.isClosed()) {
            throw new IllegalStateException(name + " is closed");
        }
        if (b.backend() != backend) {
            throw new IllegalArgumentException(name + " lives on another backend");
        }
        if (b.type() != type) {
            throw new IllegalArgumentException(name + " must be a " + type + " buffer, got " + b);
        }
        if (from < 0 || count < 0 || from > b.length() - count) {
            throw new IllegalArgumentException(name + ": elements [" + from + ", " + (from + count)
                    + ") are outside its " + b.length());
        }
        return b.length();
    }
}
