package org.l2l4j.safetensors;

/**
 * Element types of the safetensors format, named exactly as in a file's header ({@code "F32"},
 * {@code "I64"}, ...), each with its size in bytes. Values are stored little-endian.
 *
 * <p>{@link Tensor} offers typed accessors for {@link #F32}, {@link #F64}, {@link #I32} and
 * {@link #I64}; tensors of the other types are read and written as raw bytes.
 */
public enum DType {
    /** Boolean, one byte (0 or 1). */
    BOOL(1),
    /** Unsigned 8-bit integer. */
    U8(1),
    /** Signed 8-bit integer. */
    I8(1),
    /** Signed 16-bit integer. */
    I16(2),
    /** Unsigned 16-bit integer. */
    U16(2),
    /** IEEE 754 half precision. */
    F16(2),
    /** bfloat16: the upper 16 bits of an IEEE 754 single. */
    BF16(2),
    /** Signed 32-bit integer. */
    I32(4),
    /** Unsigned 32-bit integer. */
    U32(4),
    /** IEEE 754 single precision. */
    F32(4),
    /** Signed 64-bit integer. */
    I64(8),
    /** Unsigned 64-bit integer. */
    U64(8),
    /** IEEE 754 double precision. */
    F64(8);

    private final int size;

    DType(int size) {
        this.size = size;
    }

    /** Size of one element in bytes. */
    public int size() {
        return size;
    }
}
