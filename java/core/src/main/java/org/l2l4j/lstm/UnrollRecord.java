package org.l2l4j.lstm;

import java.util.Objects;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;

/**
 * What the backward pass needs of an unroll of up to {@code steps} steps over n coordinates:
 * for each step s, R = 1 + S rows of n floats (the step's gradient input x_s, then every
 * coordinate's state before the step).  Layout: {@code [steps][R][n]}, coordinate fastest
 * (l2l.h).  Memory: 4 R bytes per coordinate per step (324 bytes for widths 20, 20).  The n
 * coordinates are those of {@code instances} optimizee instances, n / instances each, instance
 * after instance: the segments over which global averaging cells average ({@link LstmConfig}).
 */
public final class UnrollRecord implements AutoCloseable {
    private final LstmConfig config;
    private final long coordinates;
    private final int steps;
    private final int instances;
    private final NativeBuffer buffer;

    /** A record of one optimizee instance's n coordinates. */
    public UnrollRecord(Backend backend, LstmConfig config, long coordinates, int steps) {
        this(backend, config, coordinates, steps, 1);
    }

    /**
     * @param backend     where the record lives
     * @param config      the optimizer's configuration
     * @param coordinates n >= 1
     * @param steps       capacity T >= 1
     * @param instances   the optimizee instances whose coordinates these are, >= 1, dividing n
     * @throws NullPointerException     if backend or config is null
     * @throws IllegalArgumentException if n or T is below 1, T R n floats pass 64-bit sizes, or
     *                                  instances is below 1 or does not divide n
     * @throws IllegalStateException    if the backend is closed
     * @throws org.l2l4j.backend.L2lException OUT_OF_MEMORY if the record cannot be allocated
     */
    public UnrollRecord(Backend backend, LstmConfig config, long coordinates, int steps, int instances) {
        Objects.requireNonNull(backend, "backend");
        this.config = Objects.requireNonNull(config, "config");
        if (coordinates < 1) {
            throw new IllegalArgumentException("coordinates must be >= 1, got " + coordinates);
        }
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        }
        long rows = (long) steps * config.recordRows();
        if (coordinates > Long.MAX_VALUE / 8 / rows) {
            throw new IllegalArgumentException("a record of " + steps + " x " + config.recordRows() + " x "
                    + coordinates + " floats overflows 64-bit sizes");
        }
        Instances.require(instances, coordinates);
        this.coordinates = coordinates;
        this.steps = steps;
        this.instances = instances;
        this.buffer = backend.allocateFloats(rows * coordinates);
    }

    public LstmConfig config() {
        return config;
    }

    /** n. */
    public long coordinates() {
        return coordinates;
    }

    /** The optimizee instances whose coordinates these are (n / instances each). */
    public int instances() {
        return instances;
    }

    /** T, the number of steps it can hold. */
    public int steps() {
        return steps;
    }

    /** The underlying buffer ([steps][R][n] floats). */
    public NativeBuffer buffer() {
        return buffer;
    }

    /** Address of step s's slot. */
    long slotAddress(int s) {
        Objects.checkIndex(s, steps);
        return buffer.address((long) s * config.recordRows() * coordinates);
    }

    /** Bytes per coordinate per step. */
    public static long bytesPerCoordinateStep(LstmConfig config) {
        return 4L * config.recordRows();
    }

    @Override
    public void close() {
        buffer.close();
    }
}
