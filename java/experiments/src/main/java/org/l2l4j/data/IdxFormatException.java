package org.l2l4j.data;

import java.io.IOException;

/**
 * A file or stream is not well-formed: a malformed IDX file (wrong magic number, unsupported
 * element type, truncated data, trailing bytes, impossible dimensions, corrupt gzip stream), or an
 * IDX data set whose files do not fit together (for example image and label counts that differ).
 * The message starts with the file's name and states the problem.
 */
public class IdxFormatException extends IOException {

    private static final long serialVersionUID = 1L;

    /**
     * @param source  the file (or other source) that is malformed, named first in the message
     * @param problem what is wrong with it
     */
    public IdxFormatException(String source, String problem) {
        super(source + ": " + problem);
    }

    /**
     * @param source  the file (or other source) that is malformed, named first in the message
     * @param problem what is wrong with it
     * @param cause   the underlying exception (for example the gzip decoder's)
     */
    public IdxFormatException(String source, String problem, Throwable cause) {
        super(source + ": " + problem, cause);
    }
}
