package org.l2l4j.fuzz;

import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import org.opentest4j.AssertionFailedError;

/**
 * Seeded random inputs for the API fuzz tests, biased towards the edges where bugs live: sizes
 * 0, 1, -1 and the extremes of int and long, NaN, infinities, signed zeros, subnormals.
 *
 * <p>A fuzz test runs numbered cases; case {@code i} draws everything from
 * {@code new SplittableRandom(seed + i)}, so a failure names the seed and the case, and
 * {@code -Dl2l.fuzz.seed=S} replays a run (the default seed is fixed, so CI runs are
 * reproducible).  Each case counts the API calls it makes.
 */
public final class Fuzz {
    /** The seed of a run: system property {@code l2l.fuzz.seed}, else a fixed value. */
    public static final long SEED = Long.getLong("l2l.fuzz.seed", 20160614L);

    private final SplittableRandom rnd;
    private long calls;

    public Fuzz(SplittableRandom rnd) {
        this.rnd = rnd;
    }

    /** One fuzz case. */
    @FunctionalInterface
    public interface Case {
        void run(Fuzz fuzz) throws Exception;
    }

    /**
     * Runs cases {@code 0..cases-1} and returns the number of API calls they made; a failing
     * case is reported with its seed and number.
     */
    public static long run(String what, int cases, Case body) {
        long calls = 0;
        for (int i = 0; i < cases; i++) {
            Fuzz fuzz = new Fuzz(new SplittableRandom(SEED + i));
            try {
                body.run(fuzz);
            } catch (Throwable t) {
                throw new AssertionFailedError(what + ": case " + i + " failed (replay with -Dl2l.fuzz.seed="
                        + SEED + "): " + t, t);
            }
            calls += fuzz.calls;
        }
        return calls;
    }

    /** Counts one call of the API under test. */
    public void count() {
        calls++;
    }

    public SplittableRandom random() {
        return rnd;
    }

    /** True with probability 1/n. */
    public boolean oneIn(int n) {
        return rnd.nextInt(n) == 0;
    }

    /** An integer in [lo, hi]. */
    public int between(int lo, int hi) {
        return rnd.nextInt(lo, hi + 1);
    }

    public <T> T pick(List<T> options) {
        return options.get(rnd.nextInt(options.size()));
    }

    @SafeVarargs
    public final <T> T pick(T... options) {
        return options[rnd.nextInt(options.length)];
    }

    /** A finite float of moderate magnitude: both signs, magnitudes 1e-3..1e2, sometimes zero. */
    public float moderate() {
        if (oneIn(25)) {
            return rnd.nextBoolean() ? 0f : -0f;
        }
        double magnitude = Math.pow(10, -3 + 5 * rnd.nextDouble());
        return (float) (rnd.nextBoolean() ? magnitude : -magnitude);
    }

    /** A finite edge value: signed zeros, subnormals, the smallest normal, large magnitudes. */
    public float finiteEdge() {
        return pick(0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, 1e-40f, -3e-39f, Float.MIN_NORMAL,
                -Float.MIN_NORMAL, 1e6f, -1e6f, 1f, -1f);
    }

    /** NaN, +Inf or -Inf. */
    public float nonFinite() {
        return pick(Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY);
    }

    /** A float that is mostly moderate, sometimes an edge value, and non-finite about once in nonFiniteOneIn. */
    public float value(int nonFiniteOneIn) {
        if (nonFiniteOneIn > 0 && oneIn(nonFiniteOneIn)) {
            return nonFinite();
        }
        return oneIn(8) ? finiteEdge() : moderate();
    }

    /** {@code length} values from {@link #value(int)}. */
    public float[] values(int length, int nonFiniteOneIn) {
        float[] v = new float[length];
        for (int i = 0; i < length; i++) {
            v[i] = value(nonFiniteOneIn);
        }
        return v;
    }

    /** A long near the edges: 0, +-1, the extremes, and values around {@code valid}. */
    public long edgeLong(long valid) {
        return pick(0L, -1L, 1L, Long.MIN_VALUE, Long.MAX_VALUE, (long) Integer.MAX_VALUE, (long) Integer.MIN_VALUE,
                (long) Integer.MAX_VALUE + 1, valid - 1, valid, valid + 1, -valid);
    }

    /** An int near the edges: 0, +-1, the extremes, and values around {@code valid}. */
    public int edgeInt(int valid) {
        return pick(0, -1, 1, Integer.MIN_VALUE, Integer.MAX_VALUE, valid - 1, valid, valid + 1, -valid);
    }

    /** A valid index in [0, bound] most of the time, else an edge value. */
    public long offset(long bound) {
        return oneIn(6) ? edgeLong(bound) : rnd.nextLong(bound + 1);
    }

    /** !(0 <= from <= from + size <= length), the condition of Objects.checkFromIndexSize. */
    public static boolean outOfRange(long from, long size, long length) {
        return from < 0 || size < 0 || size > length - from;
    }

    /** Asserts that {@code call} throws one of {@code allowed} with a message, and returns it. */
    public static Throwable assertThrowsOneOf(Set<Class<? extends Throwable>> allowed, String what, ThrowingCall call) {
        Objects.requireNonNull(allowed);
        try {
            call.run();
        } catch (Throwable t) {
            if (allowed.stream().noneMatch(c -> c.isInstance(t))) {
                throw new AssertionFailedError(what + ": threw " + t + ", expected one of " + allowed, t);
            }
            if (t.getMessage() == null || t.getMessage().isBlank()) {
                throw new AssertionFailedError(what + ": " + t.getClass().getName() + " without a message", t);
            }
            return t;
        }
        throw new AssertionFailedError(what + ": succeeded, expected one of " + allowed);
    }

    /** A call that may throw anything. */
    @FunctionalInterface
    public interface ThrowingCall {
        void run() throws Exception;
    }
}
