package org.l2l4j.meta;

import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The memory that a piece of work will need, estimated from its settings before anything is
 * allocated ({@link MetaTrainer#memoryEstimate} for meta-training,
 * {@link org.l2l4j.eval.Comparison#memoryEstimate} for an evaluation), so that settings too large
 * for the machine can be refused before any work rather than when an allocation fails, possibly
 * minutes into it.
 *
 * <p>Each part is a buffer, or a group of buffers, whose size grows with some of the settings
 * (its {@linkplain Part#drivers() drivers}), so that a refusal can say which settings to lower.
 * Native memory is where the backend computes: host memory for a CPU backend, device memory for a
 * CUDA backend.  Left out: fixed costs of a few megabytes, and what is already allocated when the
 * estimate is made (the data sets in the Java heap).
 *
 * @param parts the parts, in no particular order
 */
public record MemoryEstimate(List<Part> parts) {

    /** Where a part lives. */
    public enum Memory {
        /** Allocated natively, where the backend computes. */
        NATIVE,
        /** Java arrays, in the Java heap. */
        JAVA_HEAP
    }

    /** A setting that a part's size grows with. */
    public enum Driver {
        /** B, optimizees per meta-update. */
        INSTANCES,
        /** T, steps per truncation. */
        UNROLL,
        /** K, steps per trajectory or per evaluation run. */
        STEPS,
        /** n, the optimizee's number of parameters. */
        OPTIMIZEE,
        /** The learned optimizer's LSTM widths (its state per coordinate). */
        OPTIMIZER,
        /** Held-out functions per validation. */
        VALIDATION_FUNCTIONS,
        /** Paired runs of an evaluation. */
        RUNS,
        /** The size of the data set copied to the backend. */
        DATA
    }

    /**
     * One buffer or group of buffers.
     *
     * @param what    what it holds, for messages
     * @param memory  where it lives
     * @param bytes   its size, at least 0
     * @param drivers the settings its size grows with
     */
    public record Part(String what, Memory memory, long bytes, Set<Driver> drivers) {
        /**
         * @throws NullPointerException     if an argument is null
         * @throws IllegalArgumentException if bytes is negative
         */
        public Part {
            Objects.requireNonNull(what, "what");
            Objects.requireNonNull(memory, "memory");
            if (bytes < 0) {
                throw new IllegalArgumentException("bytes must be >= 0, got " + bytes);
            }
            drivers = Set.copyOf(drivers);
        }

        /**
         * A part whose size grows with {@code drivers}.
         *
         * @throws NullPointerException     if what or memory is null
         * @throws IllegalArgumentException if bytes is negative
         */
        public static Part of(String what, Memory memory, long bytes, Driver... drivers) {
            return new Part(what, memory, bytes, drivers.length == 0 ? Set.of() : EnumSet.of(drivers[0], drivers));
        }
    }

    /** @throws NullPointerException if parts or one of them is null */
    public MemoryEstimate {
        parts = List.copyOf(parts);
    }

    /** The total of the parts in {@code memory} (saturating at Long.MAX_VALUE). */
    public long bytes(Memory memory) {
        return sum(parts.stream().filter(p -> p.memory() == memory).mapToLong(Part::bytes).toArray());
    }

    /**
     * The parts in {@code memory}, largest first, as far as needed to make up more than half of
     * its total: those that settings must shrink.
     */
    public List<Part> largest(Memory memory) {
        List<Part> sorted = parts.stream().filter(p -> p.memory() == memory)
                .sorted(Comparator.comparingLong(Part::bytes).reversed()).toList();
        long total = bytes(memory);
        long covered = 0;
        int count = 0;
        while (count < sorted.size() && covered <= total / 2) {
            covered += sorted.get(count++).bytes();
        }
        return sorted.subList(0, count);
    }

    /** The drivers of {@link #largest(Memory)}, in that order, each once. */
    public Set<Driver> drivers(Memory memory) {
        Set<Driver> drivers = new LinkedHashSet<>();
        for (Part p : largest(memory)) {
            p.drivers().stream().sorted().forEach(drivers::add);
        }
        return drivers;
    }

    /**
     * The sum of sizes, saturating at Long.MAX_VALUE.
     *
     * @throws IllegalArgumentException if a size is negative
     */
    public static long sum(long... sizes) {
        long sum = 0;
        for (long s : sizes) {
            if (s < 0) {
                throw new IllegalArgumentException("sizes must be >= 0, got " + s);
            }
            sum = sum > Long.MAX_VALUE - s ? Long.MAX_VALUE : sum + s;
        }
        return sum;
    }

    /**
     * Bytes of an array of {@code bytesEach}-byte values with the product of {@code counts}
     * elements, saturating at Long.MAX_VALUE (settings may ask for more than 64-bit sizes).
     *
     * @throws IllegalArgumentException if a value is negative
     */
    public static long size(long bytesEach, long... counts) {
        if (bytesEach < 0) {
            throw new IllegalArgumentException("bytesEach must be >= 0, got " + bytesEach);
        }
        long product = bytesEach;
        for (long c : counts) {
            if (c < 0) {
                throw new IllegalArgumentException("counts must be >= 0, got " + c);
            }
            if (c != 0 && product > Long.MAX_VALUE / c) {
                return Long.MAX_VALUE;
            }
            product *= c;
        }
        return product;
    }
}
