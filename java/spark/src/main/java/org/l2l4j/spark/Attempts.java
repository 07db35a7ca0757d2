package org.l2l4j.spark;

import java.util.Locale;
import java.util.Objects;
import org.l2l4j.meta.EpochRunner;
import org.l2l4j.meta.TrainingState;

/**
 * Runs a block of epochs again when its stage fails (a task threw, an executor was lost), from the
 * same state: since a task's result depends only on that state, its index and the seed, the retry
 * gives what the failed attempt would have.  Spark itself does not retry a barrier stage whose
 * results go to the driver.
 */
final class Attempts implements EpochRunner {
    private static final System.Logger LOG = System.getLogger(Attempts.class.getName());
    private final EpochRunner runner;
    private final int maxAttempts;
    private int retries;
    private long nanos;

    /** @param maxAttempts attempts per block, >= 1 */
    Attempts(EpochRunner runner, int maxAttempts) {
        this.runner = Objects.requireNonNull(runner, "runner");
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be >= 1, got " + maxAttempts);
        }
        this.maxAttempts = maxAttempts;
    }

    @Override
    public int period() {
        return runner.period();
    }

    @Override
    public Epochs run(TrainingState from, int until) {
        long start = System.nanoTime();
        try {
            return attempt(from, until);
        } finally {
            nanos += System.nanoTime() - start;
        }
    }

    private Epochs attempt(TrainingState from, int until) {
        Exception last = null;
        for (int attempt = 1; attempt <= maxAttempts; attempt++) {
            try {
                return runner.run(from, until);
            } catch (Exception e) {
                // SparkException is checked in Java's terms but thrown undeclared by Scala code
                last = e;
                LOG.log(System.Logger.Level.WARNING, String.format(Locale.ROOT,
                        "epochs %d-%d, attempt %d of %d failed%s: %s", from.epochs() + 1, until, attempt, maxAttempts,
                        attempt < maxAttempts ? " (running them again from the same state)" : "", rootMessage(e)));
                if (attempt < maxAttempts) {
                    retries++;
                }
            }
        }
        throw new IllegalStateException("meta-training epochs " + (from.epochs() + 1) + "-" + until + " failed in "
                + maxAttempts + " attempts; the last: " + rootMessage(last), last);
    }

    /** Seconds spent running blocks, every attempt included. */
    double seconds() {
        return nanos / 1e9;
    }

    /** Blocks run again so far. */
    int retries() {
        return retries;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e ? String.valueOf(e) : e.getClass().getSimpleName() + " caused by " + t;
    }
}
