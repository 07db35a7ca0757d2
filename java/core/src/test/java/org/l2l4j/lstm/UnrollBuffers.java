package org.l2l4j.lstm;

import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;

/**
 * Every native buffer of one unroll of {@code steps} steps over n coordinates on one backend,
 * for the tests: phi, theta, the gradient, the state, the record, dL/d delta, dphi, dL/d(initial
 * state) and dL/dx, with the tensor list of (theta, gradient).  State buffers are null when the
 * configuration has no LSTM layers.
 */
final class UnrollBuffers implements AutoCloseable {
    final CoordinatewiseLstm lstm;
    final NativeBuffer phi;
    final NativeBuffer theta;
    final NativeBuffer grad;
    final NativeBuffer state;
    final UnrollRecord record;
    final NativeBuffer dloss;
    final NativeBuffer dphi;
    final NativeBuffer dstate;
    final NativeBuffer dx;
    final TensorList tensors;

    UnrollBuffers(Backend backend, LstmConfig config, int n, int steps) {
        this(backend, config, n, steps, 1);
    }

    /** The buffers of {@code instances} optimizee instances of n / instances coordinates each. */
    UnrollBuffers(Backend backend, LstmConfig config, int n, int steps, int instances) {
        int rows = config.stateRows();
        lstm = new CoordinatewiseLstm(config);
        phi = backend.allocateFloats(lstm.phiSize());
        theta = backend.allocateFloats(n);
        grad = backend.allocateFloats(n);
        state = rows > 0 ? backend.allocateFloats((long) rows * n) : null;
        record = new UnrollRecord(backend, config, n, steps, instances);
        dloss = backend.allocateFloats((long) steps * n);
        dphi = backend.allocateDoubles(lstm.phiSize());
        dstate = rows > 0 ? backend.allocateFloats((long) rows * n) : null;
        dx = backend.allocateFloats((long) steps * n);
        tensors = TensorList.builder().add(theta, 0, grad, 0, n).instances(instances).build();
    }

    @Override
    public void close() {
        tensors.close();
        record.close();
        for (NativeBuffer b : new NativeBuffer[] {phi, theta, grad, state, dloss, dphi, dstate, dx}) {
            if (b != null) {
                b.close();
            }
        }
        lstm.close();
    }
}
