package org.l2l4j.data;

import java.util.Arrays;
import java.util.Optional;

/**
 * Element types of the IDX format (the format of the MNIST files): the third byte of an IDX
 * file's magic number.  Multi-byte values are stored big-endian.
 */
public enum IdxType {
    /** Type byte 0x08: unsigned byte, 0..255 (MNIST pixels and labels). */
    UNSIGNED_BYTE(0x08, 1, true),
    /** Type byte 0x09: signed byte, -128..127. */
    SIGNED_BYTE(0x09, 1, true),
    /** Type byte 0x0B: signed 16-bit integer. */
    SHORT(0x0B, 2, true),
    /** Type byte 0x0C: signed 32-bit integer. */
    INT(0x0C, 4, true),
    /** Type byte 0x0D: IEEE 754 32-bit float. */
    FLOAT(0x0D, 4, false),
    /** Type byte 0x0E: IEEE 754 64-bit double. */
    DOUBLE(0x0E, 8, false);

    private final int code;
    private final int bytes;
    private final boolean integer;

    IdxType(int code, int bytes, boolean integer) {
        this.code = code;
        this.bytes = bytes;
        this.integer = integer;
    }

    /** The type byte in the magic number, e.g. 0x08 for {@link #UNSIGNED_BYTE}. */
    public int code() {
        return code;
    }

    /** Size of one element in bytes (1, 2, 4 or 8). */
    public int bytes() {
        return bytes;
    }

    /** Whether the elements are integers (all types but {@link #FLOAT} and {@link #DOUBLE}). */
    public boolean isInteger() {
        return integer;
    }

    /**
     * The type with the given type byte.
     *
     * @param code the third byte of an IDX magic number, 0..255
     * @return the type, or empty if the IDX format defines no type with that code
     */
    public static Optional<IdxType> fromCode(int code) {
        return Arrays.stream(values()).filter(t -> t.code == code).findFirst();
    }
}
