package org.l2l4j.meta;

/**
 * Derives independent seeds from a base seed and integer keys (SplitMix64 finalizer), so that
 * each random stream (training function of epoch e and instance b, validation function j, ...)
 * depends only on its keys: a resumed run draws exactly what an uninterrupted one would.
 */
public final class Seeds {
    /** Stream kinds. */
    public static final long TRAINING = 1;
    public static final long VALIDATION = 2;
    public static final long EVALUATION = 3;
    public static final long PHI = 4;
    public static final long TUNING = 5;
    public static final long CONFIRMATION = 6;
    /** A worker's own functions, when several meta-train apart and average (keyed by its index). */
    public static final long WORKER = 7;

    private Seeds() {
    }

    /** A seed for {@code base} and {@code keys}. */
    public static long derive(long base, long... keys) {
        long h = mix(base);
        for (long k : keys) {
            h = mix(h ^ mix(k + 0x9E3779B97F4A7C15L));
        }
        return h;
    }

    /** {@code count} seeds for {@code base}, {@code kind} and indices 0..count-1. */
    public static long[] list(long base, long kind, int count) {
        long[] s = new long[count];
        for (int i = 0; i < count; i++) {
            s[i] = derive(base, kind, i);
        }
        return s;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
