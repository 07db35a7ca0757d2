package org.l2l4j.safetensors;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A checkpoint file that is not a well-formed safetensors file, or whose content fails its
 * integrity check (a SHA-256 digest that does not match). The message names the file and the
 * problem.
 */
public class CheckpointFormatException extends IOException {

    private static final long serialVersionUID = 1L;

    /**
     * @param file    the file that was read
     * @param problem what is wrong with it, as a sentence fragment
     */
    public CheckpointFormatException(Path file, String problem) {
        super(file + ": " + problem);
    }

    /**
     * @param file    the file that was read
     * @param problem what is wrong with it, as a sentence fragment
     * @param cause   the underlying error (a JSON or UTF-8 decoding error)
     */
    public CheckpointFormatException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
