package org.l2l4j.optimizees;

import java.util.List;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;

/**
 * The minibatch indices of B {@link MinibatchOptimizee}s evaluated together on a backend
 * ({@link ResidentMlpBatch}, {@link ResidentConvNetBatch}): each instance draws from its own
 * stream exactly as its host-side optimizee does, {@value #CHUNK} evaluations ahead, and the
 * indices are copied to the backend in one transfer (one synchronization every {@value #CHUNK}
 * evaluations on CUDA).  Layout on the backend: int32 [CHUNK][B][rows].
 *
 * <p>Not thread-safe.  {@link #close()} frees the native buffer.
 */
final class MinibatchIndices implements AutoCloseable {
    /** Evaluations whose minibatch indices are drawn and uploaded at once. */
    static final int CHUNK = 64;

    private final int instances;
    private final int rows;
    private final NativeBuffer indices;
    private final int[] host;
    private final int[] draw;
    private MinibatchOptimizee[] optimizees;
    private int used = CHUNK;

    /** Bytes on the backend for {@code instances} minibatches of {@code rows}. */
    static long bytes(int instances, int rows) {
        return 4L * CHUNK * instances * rows;
    }

    MinibatchIndices(Backend backend, int instances, int rows) {
        this.instances = instances;
        this.rows = rows;
        this.indices = backend.allocateInts((long) CHUNK * instances * rows);
        this.host = new int[Math.toIntExact((long) CHUNK * instances * rows)];
        this.draw = new int[rows];
    }

    /** Starts the streams of {@code optimizees} (one per instance), drawing afresh. */
    void start(List<? extends MinibatchOptimizee> optimizees) {
        this.optimizees = optimizees.toArray(MinibatchOptimizee[]::new);
        used = CHUNK;
    }

    /**
     * The offset in {@link #buffer()} of the next evaluation's indices ([B][rows] from there),
     * drawing and uploading the next {@value #CHUNK} when the last ones are used.
     */
    long next() {
        if (used == CHUNK) {
            for (int e = 0; e < CHUNK; e++) {
                for (int b = 0; b < instances; b++) {
                    optimizees[b].drawMinibatch(draw);
                    System.arraycopy(draw, 0, host, (e * instances + b) * rows, rows);
                }
            }
            indices.write(0, host, 0, host.length);
            used = 0;
        }
        return (long) used++ * instances * rows;
    }

    /** The indices on the backend. */
    NativeBuffer buffer() {
        return indices;
    }

    @Override
    public void close() {
        indices.close();
    }
}
