package org.l2l4j.eval;

/**
 * Receives the progress of long work (the tuning and the runs of a {@link Comparison}), for
 * a progress bar or a log; every method has an empty default.  The work calls {@link #advance}
 * from its worker threads, so an implementation must be thread-safe.
 */
public interface Progress {
    /** Progress that goes nowhere. */
    Progress NONE = new Progress() { };

    /** A task of {@code units} units of work starts, named for display ("tuning", "runs"). */
    default void start(String task, long units) {
    }

    /** What the current task works on now (the rule being tuned, ...). */
    default void status(String message) {
    }

    /** {@code units} more units of the current task are done. */
    default void advance(long units) {
    }

    /** The current task ended. */
    default void finish() {
    }
}
