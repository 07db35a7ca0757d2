package org.l2l4j.optimizees;

import java.util.ArrayDeque;
import java.util.function.Supplier;

/**
 * Reusable work buffers for concurrent evaluations: each evaluation borrows one (made on demand)
 * and gives it back; buffers are kept for the pool's lifetime.  Thread-safe.
 *
 * @param <W> the workspace type
 */
final class WorkspacePool<W> {

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
}
