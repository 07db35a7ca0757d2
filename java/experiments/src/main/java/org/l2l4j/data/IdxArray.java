package org.l2l4j.data;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * The content of one IDX file: an element type, a shape (dimensions, outermost first) and the
 * elements in row-major order (the last dimension varies fastest), as {@link IdxReader} read them.
 * Elements are addressed by their flat row-major index in {@code [0, length())}.
 *
 * <p>Immutable; the elements are kept in the file's big-endian encoding and converted on access.
 */
public final class IdxArray {

    private final IdxType type;
    private final int[] dims;
    private final int length;
    private final ByteBuffer data;

    /**
     * @param type element type
     * @param dims dimensions, outermost first, each {@code >= 0}
     * @param data the elements, big-endian, exactly {@code product(dims) * type.bytes()} bytes;
     *             kept, not copied
     * @throws IllegalArgumentException if the sizes do not agree
     */
    IdxArray(IdxType type, int[] dims, byte[] data) {
        this.type = Objects.requireNonNull(type, "type");
        this.dims = Objects.requireNonNull(dims, "dims").clone();
        Objects.requireNonNull(data, "data");
        long count = 1;
        for (int d : this.dims) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(dims));
            }
            count *= d;
        }
        if (count * type.bytes() != data.length) {
            throw new IllegalArgumentException(data.length + " data bytes do not hold dims "
                    + Arrays.toString(dims) + " of " + type);
        }
        this.length = (int) count;
        this.data = ByteBuffer.wrap(data).asReadOnlyBuffer();
    }

    /** The element type. */
    public IdxType type() {
        return type;
    }

    /** Number of dimensions (1 for MNIST labels, 3 for MNIST images). */
    public int rank() {
        return dims.length;
    }

    /**
     * One dimension.
     *
     * @param axis 0 for the outermost dimension (the number of examples in MNIST files)
     * @throws IndexOutOfBoundsException if {@code axis} is not in {@code [0, rank())}
     */
    public int dim(int axis) {
        Objects.checkIndex(axis, dims.length);
        return dims[axis];
    }

    /** The dimensions, outermost first (a copy), e.g. {@code [60000, 28, 28]}. */
    public int[] dims() {
        return dims.clone();
    }

    /** Total number of elements, the product of the dimensions. */
    public int length() {
        return length;
    }

    /**
     * One element as a double (exact for every IDX type).
     *
     * @param index flat row-major index in {@code [0, length())}
     * @throws IndexOutOfBoundsException if {@code index} is out of range
     */
    public double get(int index) {
        Objects.checkIndex(index, length);
        switch (type) {
            case UNSIGNED_BYTE:
                return data.get(index) & 0xFF;
            case SIGNED_BYTE:
                return data.get(index);
            case SHORT:
                return data.getShort(index * 2);
            case INT:
                return data.getInt(index * 4);
            case FLOAT:
                return data.getFloat(index * 4);
            case DOUBLE:
                return data.getDouble(index * 8);
            default:
                throw new AssertionError(type);
        }
    }

    /**
     * One element of an integer-typed array.
     *
     * @param index flat row-major index in {@code [0, length())}
     * @throws IndexOutOfBoundsException     if {@code index} is out of range
     * @throws UnsupportedOperationException if the type is {@link IdxType#FLOAT} or
     *                                       {@link IdxType#DOUBLE}
     */
    public int getInt(int index) {
        requireIntegerType();
        return (int) get(index);
    }

    /**
     * Elements {@code [from, to)} as floats (exact for the integer types; doubles are rounded).
     *
     * @throws IndexOutOfBoundsException if the range is not within {@code [0, length()]}
     */
    public float[] toFloats(int from, int to) {
        Objects.checkFromToIndex(from, to, length);
        float[] values = new float[to - from];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) get(from + i);
        }
        return values;
    }

    /**
     * Elements {@code [from, to)} of an integer-typed array as ints.
     *
     * @throws IndexOutOfBoundsException     if the range is not within {@code [0, length()]}
     * @throws UnsupportedOperationException if the type is {@link IdxType#FLOAT} or
     *                                       {@link IdxType#DOUBLE}
     */
    public int[] toInts(int from, int to) {
        requireIntegerType();
        Objects.checkFromToIndex(from, to, length);
        int[] values = new int[to - from];
        for (int i = 0; i < values.length; i++) {
            values[i] = (int) get(from + i);
        }
        return values;
    }

    private void requireIntegerType() {
        if (!type.isInteger()) {
            throw new UnsupportedOperationException("elements are " + type + ", not integers; use get");
        }
    }

    @Override
    public String toString() {
        return "IdxArray[" + type + " " + Arrays.toString(dims) + "]";
    }
}
