package org.l2l4j.safetensors;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * An immutable dense tensor as stored in a safetensors file: an element type, a shape (row-major,
 * last index fastest; {@code []} for a scalar, which holds one element) and the elements'
 * little-endian bytes.
 *
 * <p>Factories and accessors copy their arrays. A tensor holds at most
 * {@value #MAX_BYTES} bytes (one Java array).
 */
public final class Tensor {

    /** Largest data size in bytes a tensor may have. */
    public static final int MAX_BYTES = Integer.MAX_VALUE - 8;

    private final DType dtype;
    private final long[] shape;
    private final byte[] data;

    /** Takes ownership of the arrays; the caller has checked that they agree. */
    Tensor(DType dtype, long[] shape, byte[] data) {
        this.dtype = dtype;
        this.shape = shape;
        this.data = data;
    }

    /**
     * A {@link DType#F32} tensor.
     *
     * @throws IllegalArgumentException if a dimension is negative or the shape's element count
     *                                  differs from {@code values.length}
     */
    public static Tensor ofFloats(long[] shape, float[] values) {
        ByteBuffer bytes = allocate(DType.F32, shape, values.length);
        bytes.asFloatBuffer().put(values);
        return new Tensor(DType.F32, shape.clone(), bytes.array());
    }

    /**
     * A {@link DType#F64} tensor.
     *
     * @throws IllegalArgumentException if a dimension is negative or the shape's element count
     *                                  differs from {@code values.length}
     */
    public static Tensor ofDoubles(long[] shape, double[] values) {
        ByteBuffer bytes = allocate(DType.F64, shape, values.length);
        bytes.asDoubleBuffer().put(values);
        return new Tensor(DType.F64, shape.clone(), bytes.array());
    }

    /**
     * An {@link DType#I64} tensor.
     *
     * @throws IllegalArgumentException if a dimension is negative or the shape's element count
     *                                  differs from {@code values.length}
     */
    public static Tensor ofLongs(long[] shape, long[] values) {
        ByteBuffer bytes = allocate(DType.I64, shape, values.length);
        bytes.asLongBuffer().put(values);
        return new Tensor(DType.I64, shape.clone(), bytes.array());
    }

    /**
     * An {@link DType#I32} tensor.
     *
     * @throws IllegalArgumentException if a dimension is negative or the shape's element count
     *                                  differs from {@code values.length}
     */
    public static Tensor ofInts(long[] shape, int[] values) {
        ByteBuffer bytes = allocate(DType.I32, shape, values.length);
        bytes.asIntBuffer().put(values);
        return new Tensor(DType.I32, shape.clone(), bytes.array());
    }

    /**
     * A tensor of any type from its little-endian bytes.
     *
     * @param littleEndian the elements' bytes, {@code byteSizeOf(dtype, shape)} of them
     * @throws IllegalArgumentException if a dimension is negative or the byte count does not match
     *                                  the shape
     */
    public static Tensor ofBytes(DType dtype, long[] shape, byte[] littleEndian) {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(littleEndian, "littleEndian");
        long expected = byteSizeOf(dtype, shape);
        if (expected != littleEndian.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " of " + dtype
                    + " needs " + expected + " bytes, got " + littleEndian.length);
        }
        return new Tensor(dtype, shape.clone(), littleEndian.clone());
    }

    /**
     * Number of elements of a shape: the product of its dimensions, 1 for {@code []}.
     *
     * @throws IllegalArgumentException if a dimension is negative or the product overflows a long
     */
    public static long elementCountOf(long[] shape) {
        Objects.requireNonNull(shape, "shape");
        long count = 1;
        for (long dim : shape) {
            if (dim < 0) {
                throw new IllegalArgumentException("negative dimension in shape "
                        + Arrays.toString(shape));
            }
            try {
                count = Math.multiplyExact(count, dim);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("element count of shape "
                        + Arrays.toString(shape) + " overflows a long", e);
            }
        }
        return count;
    }

    /**
     * Data size in bytes of a tensor of this type and shape.
     *
     * @throws IllegalArgumentException if a dimension is negative or the size overflows a long
     */
    public static long byteSizeOf(DType dtype, long[] shape) {
        try {
            return Math.multiplyExact(elementCountOf(shape), (long) dtype.size());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("byte size of shape " + Arrays.toString(shape)
                    + " of " + dtype + " overflows a long", e);
        }
    }

    private static ByteBuffer allocate(DType dtype, long[] shape, int count) {
        long elements = elementCountOf(shape);
        if (elements != count) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds "
                    + elements + " elements, got " + count + " values");
        }
        if (elements > MAX_BYTES / dtype.size()) {
            throw new IllegalArgumentException(count + " elements of " + dtype
                    + " exceed the tensor size limit of " + MAX_BYTES + " bytes");
        }
        return ByteBuffer.allocate(count * dtype.size()).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Element type. */
    public DType dtype() {
        return dtype;
    }

    /** Shape (a copy); {@code []} for a scalar. */
    public long[] shape() {
        return shape.clone();
    }

    /** Number of elements. */
    public int elementCount() {
        return data.length / dtype.size();
    }

    /** Data size in bytes. */
    public int byteSize() {
        return data.length;
    }

    /**
     * The lowercase hex SHA-256 of the elements' little-endian bytes, as in a safetensors file's
     * digest ({@link Safetensors}).
     */
    public String sha256() {
        return Safetensors.sha256(ByteBuffer.wrap(data));
    }

    /** The elements' little-endian bytes (a copy). */
    public byte[] toByteArray() {
        return data.clone();
    }

    /**
     * The elements as floats.
     *
     * @throws IllegalStateException if the type is not {@link DType#F32}
     */
    public float[] toFloatArray() {
        float[] out = new float[elementCount()];
        view(DType.F32).asFloatBuffer().get(out);
        return out;
    }

    /**
     * The elements as doubles.
     *
     * @throws IllegalStateException if the type is not {@link DType#F64}
     */
    public double[] toDoubleArray() {
        double[] out = new double[elementCount()];
        view(DType.F64).asDoubleBuffer().get(out);
        return out;
    }

    /**
     * The elements as longs.
     *
     * @throws IllegalStateException if the type is not {@link DType#I64}
     */
    public long[] toLongArray() {
        long[] out = new long[elementCount()];
        view(DType.I64).asLongBuffer().get(out);
        return out;
    }

    /**
     * The elements as ints.
     *
     * @throws IllegalStateException if the type is not {@link DType#I32}
     */
    public int[] toIntArray() {
        int[] out = new int[elementCount()];
        view(DType.I32).asIntBuffer().get(out);
        return out;
    }

    /** Read-only little-endian view of the data, for writers and digests. */
    ByteBuffer buffer() {
        return ByteBuffer.wrap(data).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    private ByteBuffer view(DType wanted) {
        if (dtype != wanted) {
            throw new IllegalStateException("tensor is " + dtype + ", not " + wanted);
        }
        return buffer();
    }

    /** Equal when type, shape and bytes are equal (so NaNs compare by bit pattern). */
    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && Arrays.equals(data, t.data);
    }

    @Override
    public int hashCode() {
        return Objects.hash(dtype, Arrays.hashCode(shape), Arrays.hashCode(data));
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype + " " + Arrays.toString(shape) + "]";
    }
}
