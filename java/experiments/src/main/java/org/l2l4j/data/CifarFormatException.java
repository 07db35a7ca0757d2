package org.l2l4j.data;

import java.io.IOException;

/**
 * A CIFAR-10 file in the binary layout is not well-formed: its length is not a whole number of
 * {@value Cifar10Data#RECORD_BYTES}-byte records (a truncated or padded file) or is empty, a
 * record's label byte is not a class index 0..9 (a garbled file, or another layout such as
 * CIFAR-100's two label bytes), or {@code batches.meta.txt} does not name the 10 classes.  The
 * message starts with the file's name and states the problem.
 */
public class CifarFormatException extends IOException {

    private static final long serialVersionUID = 1L;

    /**
     * @param source  the file that is malformed (an archive entry as {@code ARCHIVE!ENTRY}),
     *                named first in the message
     * @param problem what is wrong with it
     */
    public CifarFormatException(String source, String problem) {
        super(source + ": " + problem);
    }
}
