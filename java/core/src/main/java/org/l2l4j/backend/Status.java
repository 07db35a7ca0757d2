package org.l2l4j.backend;

/** The status codes of the C API ({@code l2l_status} in native/include/l2l.h). */
public enum Status {
    OK(0),
    NULL_ARGUMENT(1),
    INVALID_ARGUMENT(2),
    NON_FINITE(3),
    OUT_OF_MEMORY(4),
    NO_CUDA(5),
    CUDA(6),
    WRONG_CONTEXT(7),
    /** A defect of the native library: an unexpected C++ exception, caught at the C boundary. */
    INTERNAL(8),
    UNKNOWN(-1);

    private final int code;

    Status(int code) {
        this.code = code;
    }

    /** The C value. */
    public int code() {
        return code;
    }

    /** The status with C value {@code code}, or {@link #UNKNOWN}. */
    public static Status of(int code) {
        for (Status s : values()) {
            if (s.code == code) {
                return s;
            }
        }
        return UNKNOWN;
    }
}
