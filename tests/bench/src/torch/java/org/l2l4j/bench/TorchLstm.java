package org.l2l4j.bench;

import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LSTMCellImpl;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.PhiLayout;
import org.l2l4j.lstm.Preprocessing;

/**
 * The coordinatewise LSTM optimizer written with libtorch as a framework user would write it
 * (paper section 2.1, appendix A): one {@code nn.LSTMCell} per layer over a batch of n
 * coordinates, {@code nn.Linear(H, 1)}, log-and-sign preprocessing and the output scale as
 * tensor operations; the step under no-grad, the backward pass by autograd over an unroll.
 * Tensors are batch-first ([n, H]); phi is loaded by its PyTorch names ({@link PhiLayout}).
 *
 * <p>Every call runs in a {@link PointerScope}, so its temporaries are freed when it returns;
 * the state tensors it keeps are retained past the scope, and the ones they replace closed.
 */
final class TorchLstm implements AutoCloseable {
    private final LstmConfig config;
    private final LSTMCellImpl[] cells;
    private final LinearImpl output;
    private final Scalar invP;
    private final Scalar minusOne;
    private final Scalar one;
    private final Scalar expP;
    private final Scalar tiny;
    private final Scalar scale;

    TorchLstm(LstmConfig config, float[] phi) {
        if (config.preprocessing() != Preprocessing.LOG_AND_SIGN || config.layers() == 0) {
            throw new IllegalArgumentException("the libtorch benchmark implements LSTM layers with log-and-sign input");
        }
        this.config = config;
        PhiLayout layout = config.phiLayout();
        cells = new LSTMCellImpl[config.layers()];
        try (NoGradGuard noGrad = new NoGradGuard()) {
            int in = config.preprocessing().inputs();
            for (int l = 0; l < cells.length; l++) {
                int h = config.width(l);
                cells[l] = new LSTMCellImpl(in, h);
                load(cells[l].weight_ih(), phi, layout.entry("lstm.weight_ih_l" + l));
                load(cells[l].weight_hh(), phi, layout.entry("lstm.weight_hh_l" + l));
                load(cells[l].bias_ih(), phi, layout.entry("lstm.bias_ih_l" + l));
                load(cells[l].bias_hh(), phi, layout.entry("lstm.bias_hh_l" + l));
                in = h;
            }
            output = new LinearImpl(in, 1);
            load(output.weight(), phi, layout.entry("output.weight"));
            load(output.bias(), phi, layout.entry("output.bias"));
        }
        invP = new Scalar((float) (1 / config.p()));
        minusOne = new Scalar(-1f);
        one = new Scalar(1f);
        expP = new Scalar((float) Math.exp(config.p()));
        tiny = new Scalar(Float.MIN_NORMAL);
        scale = new Scalar((float) config.outputScale());
    }

    private static void load(Tensor parameter, float[] phi, PhiLayout.Entry e) {
        float[] values = Arrays.copyOfRange(phi, e.offset(), e.offset() + e.size());
        long[] shape = new long[e.shape().length];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = e.shape()[i];
        }
        parameter.copy_(Tensor.create(values, shape));
    }

    /** A batch-first tensor [n, rows] from rows of n floats (the native [rows][n] layout). */
    static Tensor batchFirst(float[] rowsByN, int rows, int n) {
        return Tensor.create(rowsByN, rows, n).t().contiguous();
    }

    /** The rows [rows][n] of a batch-first tensor [n, rows]. */
    static float[] rowsOf(Tensor batchFirst) {
        Tensor t = batchFirst.t().contiguous();
        float[] out = new float[Math.toIntExact(t.numel())];
        FloatPointer data = t.data_ptr_float();
        data.get(out);
        return out;
    }

    /** u^0 = (max(log(max(|x|, FLT_MIN)) / p, -1), clamp(x e^p, -1, 1)), x [n, 1] -> [n, 2]. */
    private Tensor preprocess(Tensor x) {
        Tensor logPart = x.abs().clamp_min(tiny).log().mul(invP).clamp_min(minusOne);
        Tensor signPart = x.mul(expP).clamp(new ScalarOptional(minusOne), new ScalarOptional(one));
        return torch.cat(new TensorVector(logPart, signPart), 1);
    }

    /**
     * The optimizer on one step: delta [n, 1] for gradients x [n, 1]; h[l], c[l] ([n, H_l]) are
     * replaced by the new states (the caller owns the old ones).
     */
    Tensor delta(Tensor x, Tensor[] h, Tensor[] c) {
        Tensor u = preprocess(x);
        for (int l = 0; l < cells.length; l++) {
            T_TensorTensor_T hc = cells[l].forward(u, new T_TensorTensor_T(h[l], c[l]));
            h[l] = new Tensor(hc.get0()); // get0, get1 refer into hc: keep owned handles
            c[l] = new Tensor(hc.get1());
            u = h[l];
        }
        return output.forward(u).mul(scale);
    }

    /** One optimizer step under no-grad: theta [n] += delta; the states advance. */
    void step(Tensor theta, Tensor x, Tensor[] h, Tensor[] c) {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            Tensor[] oldH = h.clone();
            Tensor[] oldC = c.clone();
            Tensor d = delta(x, h, c);
            theta.add_(d.view(theta.numel()));
            for (int l = 0; l < h.length; l++) {
                h[l].retainReference(); // kept past the scope
                c[l].retainReference();
                oldH[l].close();
                oldC[l].close();
            }
        }
    }

    /**
     * The backward pass over an unroll by autograd: from the initial states h0, c0 (not
     * modified), runs the steps with gradient inputs xs[s] ([n, 1]) and back-propagates
     * L = sum_s sum_i dloss[s][i] delta_s[i] into the parameters' gradients.
     */
    void backward(Tensor[] xs, Tensor[] h0, Tensor[] c0, Tensor[] dloss) {
        try (PointerScope scope = new PointerScope()) {
            for (Module m : modules()) {
                m.zero_grad(true);
            }
            Tensor[] h = h0.clone();
            Tensor[] c = c0.clone();
            Tensor loss = null;
            for (int s = 0; s < xs.length; s++) {
                Tensor term = delta(xs[s], h, c).mul(dloss[s]).sum();
                loss = loss == null ? term : loss.add(term);
            }
            loss.backward();
        }
    }

    /** The parameters' gradients after {@link #backward}, in the order of phi. */
    double[] gradient() {
        PhiLayout layout = config.phiLayout();
        double[] g = new double[layout.size()];
        for (int l = 0; l < cells.length; l++) {
            copy(cells[l].weight_ih().grad(), g, layout.entry("lstm.weight_ih_l" + l));
            copy(cells[l].weight_hh().grad(), g, layout.entry("lstm.weight_hh_l" + l));
            copy(cells[l].bias_ih().grad(), g, layout.entry("lstm.bias_ih_l" + l));
            copy(cells[l].bias_hh().grad(), g, layout.entry("lstm.bias_hh_l" + l));
        }
        copy(output.weight().grad(), g, layout.entry("output.weight"));
        copy(output.bias().grad(), g, layout.entry("output.bias"));
        return g;
    }

    private static void copy(Tensor grad, double[] g, PhiLayout.Entry e) {
        float[] values = new float[e.size()];
        grad.contiguous().data_ptr_float().get(values);
        for (int i = 0; i < values.length; i++) {
            g[e.offset() + i] = values[i];
        }
    }

    private Module[] modules() {
        Module[] m = new Module[cells.length + 1];
        System.arraycopy(cells, 0, m, 0, cells.length);
        m[cells.length] = output;
        return m;
    }

    @Override
    public void close() {
        for (LSTMCellImpl cell : cells) {
            cell.close();
        }
        output.close();
    }
}
