package org.l2l4j.bench;

import java.util.SplittableRandom;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.lstm.CoordinatewiseLstm;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.PhiInit;
import org.l2l4j.lstm.TensorList;
import org.l2l4j.lstm.UnrollRecord;

/**
 * The inputs every kernel benchmark shares, on a native CPU backend: the paper's MNIST optimizer
 * (LSTM 20-20, log-and-sign, output x 0.1) with PyTorch-initialized phi, gradients spread over
 * 10^-6..10^-2 with random signs, an unroll of {@link #UNROLL} recorded steps from a zero state,
 * and dL/d delta of its meta-loss.  After construction the state is the one after the unroll.
 */
final class KernelInputs implements AutoCloseable {
    /** T, steps of the unroll the backward pass covers. */
    static final int UNROLL = 20;

    final LstmConfig config = LstmConfig.paperMnist();
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

    KernelInputs(int n, int threads) {
        this.n = n;
        double[] p = PhiInit.PYTORCH.initialize(config, 7);
        phi = new float[p.length];
        for (int i = 0; i < p.length; i++) {
            phi[i] = (float) p[i];
        }
        SplittableRandom rnd = new SplittableRandom(1);
        grad = new float[n];
        for (int i = 0; i < n; i++) {
            grad[i] = (float) ((rnd.nextDouble() - 0.5) * Math.pow(10, -6 + 4 * rnd.nextDouble()));
        }
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
        for (int s = 0; s < UNROLL; s++) {
            lstm.step(phiBuffer, tensors, state, record, s, false);
        }
        dloss = backend.allocateFloats((long) UNROLL * n);
        lstm.metaLossGradients(record, UNROLL, gradBuffer, 1.0, dloss);
        dphi = backend.allocateDoubles(lstm.phiSize());
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
