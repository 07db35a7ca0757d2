package org.l2l4j.backend;

/**
 * A native call failed: its {@link Status} and the native library's message.  Raised for
 * conditions that only the native side can see (non-finite values found by the value pre-pass,
 * as the subclass {@link NonFiniteInputException}; allocation failures, CUDA errors, a missing
 * CUDA device); argument errors that Java can see
 * are raised earlier as {@link IllegalArgumentException}, {@link NullPointerException} or
 * {@link IllegalStateException}.
 */
public class L2lException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final Status status;

    public L2lException(Status status, String message) {
        super(status + ": " + message);
        this.status = status;
    }

    /** What failed. */
    public Status status() {
        return status;
    }
}
