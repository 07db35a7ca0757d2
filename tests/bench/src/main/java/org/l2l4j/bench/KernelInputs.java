package org.l2l4j.bench;

import java.util.SplittableRandom;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.lstm.CoordinatewiseLstm;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.PhiInit;
import org.l2l4j.lstm.PhiLayout;
import org.l2l4j.lstm.Precision;
import org.l2l4j.lstm.TensorList;
import org.l2l4j.lstm.UnrollRecord;

/**
 * The inputs every kernel benchmark shares, on a native CPU backend: the paper's MNIST optimizer
 * (LSTM 20-20, log-and-sign, output x 0.1) with PyTorch-initialized phi, gradients spread over
 * 10^-6..10^-2 with random signs, an unroll of {@link #UNROLL} recorded steps, and dL/d delta of
 * its meta-loss.  After construction the state is the one after the unroll.  Two kinds of
 * {@link Inputs}: {@link Inputs#RANDOM}, the unroll from a zero state with phi as initialized,
 * and {@link Inputs#SATURATED}, an LSTM saturated as meta-training at a high meta-learning rate
 * leaves it.
 */
final class KernelInputs implements AutoCloseable {
    /** T, steps of the unroll the backward pass covers. */
    static final int UNROLL = 20;

    /** What the LSTM's gates and cells look like over the recorded unroll. */
    enum Inputs {
        /**
         * phi as PyTorch initializes it (U(-1/sqrt(20), 1/sqrt(20))), the unroll from a zero
         * state: pre-activations of order 1, no gate within 1e-3 of 0 or 1, median |c| 0.13, and
         * no subnormal value in the backward pass.
         */
        RANDOM,
        /**
         * The same phi with the forget gates' biases raised by 1 (as the reference code
         * initializes them) and then every LSTM weight and bias multiplied by
         * {@link #SATURATION}, the output layer unchanged; {@link #WARM_UP} steps from a zero state
         * on the same kind of gradients before the recorded unroll.  Pre-activations are then of
         * order 30: over the recorded unroll 83% of the gate activations lie within 1e-3 of 0 or 1
         * (68% within 1e-6), the forget gates mostly near 1, so that the cells integrate and sit
         * far from 0 (median |c| 4, a tenth above 21, up to 39; 0.13, 0.32 and 0.68 with
         * {@link #RANDOM}); without flushing, 0.3% of the backward pass's gate gradients
         * (products of derivatives s (1 - s) of saturated gates with carried gradients) are
         * subnormal, as are 0.07% of its weight-gradient accumulators and carried gradients after
         * each tile: the numbers that motivated flushing them (l2l.h, "Floating-point mode").
         */
        SATURATED
    }

    /** The factor of {@link Inputs#SATURATED}'s LSTM weights and biases. */
    static final double SATURATION = 50;
    /** Steps before the recorded unroll with {@link Inputs#SATURATED}. */
    static final int WARM_UP = 20;

    final LstmConfig config;
    final int n;
    final float[] phi;
    final float[] grad;
    final Backend backend;
    final CoordinatewiseLstm lstm;
    final NativeBuffer phiBuffer;
    final NativeBuffer theta;
    final NativeBuffer gradBuffer;
    final NativeBuffer state;
    final TensorList tensors;
    final UnrollRecord record;
    final NativeBuffer dloss;
    final NativeBuffer dphi;

    /** {@link Inputs#RANDOM} inputs. */
    KernelInputs(int n, int threads) {
        this(n, threads, Inputs.RANDOM);
    }

    KernelInputs(int n, int threads, Inputs inputs) {
        this(n, threads, inputs, Precision.FLOAT32);
    }

    /** The inputs for kernels computing their gate products in {@code precision}. */
    KernelInputs(int n, int threads, Inputs inputs, Precision precision) {
        this(n, threads, inputs, precision, new int[2]);
    }

    /**
     * The inputs for kernels computing their gate products in {@code precision}, with
     * {@code gacUnits} global averaging cells per layer (all zero: the fused kernels), the n
     * coordinates one optimizee instance.
     */
    KernelInputs(int n, int threads, Inputs inputs, Precision precision, int[] gacUnits) {
        this.n = n;
        this.config = LstmConfig.paperMnist().withPrecision(precision).withGacUnits(gacUnits);
        double[] p = PhiInit.PYTORCH.initialize(config, 7);
        if (inputs == Inputs.SATURATED) {
            saturate(p);
        }
        phi = new float[p.length];
        for (int i = 0; i < p.length; i++) {
            phi[i] = (float) p[i];
        }
        SplittableRandom rnd = new SplittableRandom(1);
        grad = gradients(rnd);
        backend = Backend.cpu(threads);
        lstm = new CoordinatewiseLstm(config);
        phiBuffer = backend.allocateFloats(phi.length);
        phiBuffer.write(phi);
        theta = backend.allocateFloats(n);
        gradBuffer = backend.allocateFloats(n);
        gradBuffer.write(grad);
        state = backend.allocateFloats((long) config.stateRows() * n);
        tensors = TensorList.of(theta, gradBuffer);
        record = new UnrollRecord(backend, config, n, UNROLL);
        if (inputs == Inputs.SATURATED) {
            for (int s = 0; s < WARM_UP; s++) {
                gradBuffer.write(gradients(rnd));
                lstm.step(phiBuffer, tensors, state, null, 0, false);
            }
            gradBuffer.write(grad);
        }
        for (int s = 0; s < UNROLL; s++) {
            lstm.step(phiBuffer, tensors, state, record, s, false);
        }
        dloss = backend.allocateFloats((long) UNROLL * n);
        lstm.metaLossGradients(record, UNROLL, gradBuffer, 1.0, dloss);
        dphi = backend.allocateDoubles(lstm.phiSize());
    }

    /** Gradients spread over 10^-6..10^-2 in magnitude, random signs. */
    private float[] gradients(SplittableRandom rnd) {
        float[] g = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = (float) ((rnd.nextDouble() - 0.5) * Math.pow(10, -6 + 4 * rnd.nextDouble()));
        }
        return g;
    }

    /** {@link Inputs#SATURATED}'s phi from the initialized one, in place. */
    private void saturate(double[] p) {
        PhiLayout layout = config.phiLayout();
        for (int l = 0; l < config.layers(); l++) {
            int h = config.width(l);
            int forget = layout.entry("lstm.bias_ih_l" + l).offset() + h; // gate order i, f, g, o
            for (int j = 0; j < h; j++) {
                p[forget + j] += 1;
            }
        }
        for (PhiLayout.Entry e : layout.entries()) {
            if (e.name().startsWith("lstm.")) {
                for (int i = e.offset(); i < e.offset() + e.size(); i++) {
                    p[i] *= SATURATION;
                }
            }
        }
    }

    /** The native step (state advances in place). */
    void step() {
        lstm.step(phiBuffer, tensors, state, null, 0, false);
    }

    /** The native backward pass over the unroll, into {@link #dphi}. */
    void backward() {
        lstm.backward(phiBuffer, record, UNROLL, dloss, null, dphi, null, null, false);
    }

    /** The state before recorded step s, [S][n], from the record. */
    float[] stateBefore(int s) {
        int rows = config.stateRows();
        float[] out = new float[rows * n];
        record.buffer().read(((long) s * config.recordRows() + 1) * n, out, 0, out.length);
        return out;
    }

    @Override
    public void close() {
        tensors.close();
        record.close();
        for (NativeBuffer b : new NativeBuffer[] {phiBuffer, theta, gradBuffer, state, dloss, dphi}) {
            b.close();
        }
        lstm.close();
        backend.close();
    }
}
