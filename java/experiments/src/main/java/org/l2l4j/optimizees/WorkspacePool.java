package org.l2l4j.optimizees;

import java.util.ArrayDeque;
import java.util.function.Supplier;
import org.l2l4j.data.Dataset;

/**
 * Reusable work buffers for concurrent evaluations: each evaluation borrows one (made on demand)
 * and gives it back; buffers are kept for the pool's lifetime.  Thread-safe.
 *
 * @param <W> the workspace type
 */
final class WorkspacePool<W extends ClassifierWorkspace> {

    private final ArrayDeque<W> idle = new ArrayDeque<>();
    private final Supplier<W> make;

    WorkspacePool(Supplier<W> make) {
        this.make = make;
    }

    /** An idle workspace, or a new one. */
    W borrow() {
        synchronized (idle) {
            W w = idle.poll();
            if (w != null) {
                return w;
            }
        }
        return make.get();
    }

    /** Returns a workspace borrowed from this pool. */
    void giveBack(W w) {
        synchronized (idle) {
            idle.push(w);
        }
    }

    /**
     * Mean loss over {@code examples[0..count)} of {@code data}, gradient into {@code gradient},
     * on a borrowed workspace.  Arguments are checked by the caller.
     */
    double lossAndGradient(Dataset data, float[] theta, float[] gradient, int[] examples, int count) {
        W ws = borrow();
        try {
            ws.loadParameters(theta);
            ws.gather(data.images(), data.labels(), examples, count);
            double loss = ws.forward(count) / count;
            ws.backward(count, gradient);
            return loss;
        } finally {
            giveBack(ws);
        }
    }
}
