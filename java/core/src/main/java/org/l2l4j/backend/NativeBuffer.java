package org.l2l4j.backend;

import java.lang.ref.Cleaner;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Objects;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.l2l4j.presets.L2l;

/**
 * A block of float32, float64 or int32 values where a {@link Backend} computes (host memory for the
 * CPU, device memory for CUDA), 64-byte aligned, zeroed at allocation.  Indices and lengths are
 * in elements ({@code long}: buffers may exceed 2^31 elements).
 *
 * <p>{@link #close()} frees the memory (idempotent); a buffer that becomes unreachable unclosed
 * is freed by a cleaner and logged.
 *
 * <p>Errors, for every method that reads or writes: {@link IllegalStateException} when the buffer
 * is closed, {@link IllegalArgumentException} for the accessor of the other element type,
 * {@link NullPointerException} for a null array, {@link IndexOutOfBoundsException} for a range
 * outside the buffer or the array; a rejected call changes neither the buffer nor the array.
 * The type, length, backend and {@link #isClosed()} stay readable after closing.
 */
public final class NativeBuffer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(NativeBuffer.class.getName());

    /** The element type. */
    public enum ElementType {
        F32(4), F64(8), I32(4);

        private final int bytes;

        ElementType(int bytes) {
            this.bytes = bytes;
        }

        /** Bytes per element. */
        public int bytes() {
            return bytes;
        }
    }

    private final Backend backend;
    private final ElementType type;
    private final long length;
    private final Memory memory;
    private final Cleaner.Cleanable cleanable;
    /** For CPU float buffers of at most 2^31 - 1 elements: a view of the memory, for copies. */
    private final FloatBuffer hostView;

    /**
     * Frees the memory, then releases the backend's context; logs when it runs because the
     * buffer was forgotten.
     */
    private static final class Memory implements Runnable {
        private final Backend.Handle owner;
        private final long bytes;
        private volatile long address;
        private volatile boolean closedExplicitly;

        Memory(Backend.Handle owner, long address, long bytes) {
            this.owner = owner;
            this.address = address;
            this.bytes = bytes;
        }

        @Override
        public void run() {
            long a = address;
            address = 0;
            if (a != 0) {
                if (!closedExplicitly) {
                    LOG.log(System.Logger.Level.WARNING,
                            "a NativeBuffer of {0} bytes was not closed; freed by the cleaner", bytes);
                }
                L2l.l2l_free(owner.rawCtx(), a);
                owner.releaseBuffer();
            }
        }
    }

    NativeBuffer(Backend backend, ElementType type, long length) {
        Objects.requireNonNull(backend, "backend");
        if (length < 1) {
            throw new IllegalArgumentException("length must be >= 1, got " + length);
        }
        if (length > Long.MAX_VALUE / 16) {
            throw new IllegalArgumentException("length " + length + " is too large");
        }
        long ctx = backend.ctx();
        long bytes = length * type.bytes;
        NativeCalls.check(L2l.l2l_malloc(ctx, bytes, NativeCalls.outCell()), "l2l_malloc");
        long address = NativeCalls.outValue();
        int zeroed = L2l.l2l_memset_zero(ctx, address, bytes);
        if (zeroed != L2l.L2L_OK) {
            L2l.l2l_free(ctx, address);
            NativeCalls.check(zeroed, "l2l_memset_zero");
        }
        this.backend = backend;
        this.type = type;
        this.length = length;
        backend.handle().retainBuffer();
        this.memory = new Memory(backend.handle(), address, bytes);
        this.cleanable = NativeCalls.cleaner().register(this, memory);
        this.hostView = backend.kind() == BackendKind.CPU && type == ElementType.F32 && length <= Integer.MAX_VALUE / 4
                ? hostFloats() : null;
    }

    /** The backend whose memory this is. */
    public Backend backend() {
        return backend;
    }

    public ElementType type() {
        return type;
    }

    /** Number of elements. */
    public long length() {
        return length;
    }

    /** Address of element 0 (host or device). @throws IllegalStateException when closed */
    public long address() {
        long a = memory.address;
        if (a == 0) {
            throw new IllegalStateException("the native buffer is closed");
        }
        return a;
    }

    /** Address of element {@code index}. */
    public long address(long index) {
        Objects.checkIndex(index, length);
        return address() + index * type.bytes;
    }

    public boolean isClosed() {
        return memory.address == 0;
    }

    /** Copies {@code src[srcOffset, srcOffset + count)} to elements {@code [offset, offset + count)}. */
    public void write(long offset, float[] src, int srcOffset, int count) {
        requireType(ElementType.F32);
        Objects.checkFromIndexSize(srcOffset, count, Objects.requireNonNull(src, "src").length);
        Objects.checkFromIndexSize(offset, count, length);
        if (count == 0) {
            return;
        }
        if (hostView != null) {
            hostView.put((int) offset, src, srcOffset, count);
            return;
        }
        try (FloatPointer staging = new FloatPointer(src.length == count && srcOffset == 0 ? src
                : java.util.Arrays.copyOfRange(src, srcOffset, srcOffset + count))) {
            copy(address(offset), staging.address(), (long) count * 4, L2l.L2L_COPY_HOST_TO_CONTEXT);
        }
    }

    /** Copies all of {@code src} to elements {@code [0, src.length)}. */
    public void write(float[] src) {
        write(0, src, 0, Objects.requireNonNull(src, "src").length);
    }

    /** Copies {@code src} to elements {@code [0, src.length)}. */
    public void write(double[] src) {
        requireType(ElementType.F64);
        Objects.checkFromIndexSize(0, Objects.requireNonNull(src, "src").length, length);
        if (src.length == 0) {
            return;
        }
        try (DoublePointer staging = new DoublePointer(src)) {
            copy(address(), staging.address(), (long) src.length * 8, L2l.L2L_COPY_HOST_TO_CONTEXT);
        }
    }

    /** Copies {@code src[srcOffset, srcOffset + count)} to elements {@code [offset, offset + count)} of an int32 buffer. */
    public void write(long offset, int[] src, int srcOffset, int count) {
        requireType(ElementType.I32);
        Objects.checkFromIndexSize(srcOffset, count, Objects.requireNonNull(src, "src").length);
        Objects.checkFromIndexSize(offset, count, length);
        if (count == 0) {
            return;
        }
        try (IntPointer staging = new IntPointer(count)) {
            staging.put(src, srcOffset, count);
            copy(address(offset), staging.address(), (long) count * 4, L2l.L2L_COPY_HOST_TO_CONTEXT);
        }
    }

    /** Copies elements {@code [offset, offset + count)} of an int32 buffer into {@code dst[dstOffset, ...)}. */
    public void read(long offset, int[] dst, int dstOffset, int count) {
        requireType(ElementType.I32);
        Objects.checkFromIndexSize(dstOffset, count, Objects.requireNonNull(dst, "dst").length);
        Objects.checkFromIndexSize(offset, count, length);
        if (count == 0) {
            return;
        }
        try (IntPointer staging = new IntPointer(count)) {
            copy(staging.address(), address(offset), (long) count * 4, L2l.L2L_COPY_CONTEXT_TO_HOST);
            staging.get(dst, dstOffset, count);
        }
    }

    /** Copies elements {@code [offset, offset + count)} into {@code dst[dstOffset, ...)}. */
    public void read(long offset, float[] dst, int dstOffset, int count) {
        requireType(ElementType.F32);
        Objects.checkFromIndexSize(dstOffset, count, Objects.requireNonNull(dst, "dst").length);
        Objects.checkFromIndexSize(offset, count, length);
        if (count == 0) {
            return;
        }
        if (hostView != null) {
            hostView.get((int) offset, dst, dstOffset, count);
            return;
        }
        try (FloatPointer staging = new FloatPointer(count)) {
            copy(staging.address(), address(offset), (long) count * 4, L2l.L2L_COPY_CONTEXT_TO_HOST);
            staging.get(dst, dstOffset, count);
        }
    }

    /**
     * All elements as a new array.
     *
     * @throws IllegalStateException if the buffer has more elements than a Java array can hold
     *                               (read it in parts with {@link #read})
     */
    public float[] toFloatArray() {
        float[] out = new float[arrayLength()];
        read(0, out, 0, out.length);
        return out;
    }

    /** All elements as a new array; throws as {@link #toFloatArray()}. */
    public double[] toDoubleArray() {
        requireType(ElementType.F64);
        double[] out = new double[arrayLength()];
        read(0, out, 0, out.length);
        return out;
    }

    /** Copies elements {@code [offset, offset + count)} of a float64 buffer into {@code dst[dstOffset, ...)}. */
    public void read(long offset, double[] dst, int dstOffset, int count) {
        requireType(ElementType.F64);
        Objects.checkFromIndexSize(dstOffset, count, Objects.requireNonNull(dst, "dst").length);
        Objects.checkFromIndexSize(offset, count, length);
        if (count == 0) {
            return;
        }
        try (DoublePointer staging = new DoublePointer(count)) {
            copy(staging.address(), address(offset), (long) count * 8, L2l.L2L_COPY_CONTEXT_TO_HOST);
            staging.get(dst, dstOffset, count);
        }
    }

    /**
     * Copies elements {@code src[srcOffset, srcOffset + count)} to {@code [offset, offset + count)}:
     * within one backend's memory, between two CPU backends, or between host memory (a CPU
     * buffer) and a CUDA buffer in either direction.  Completes before returning.
     *
     * @throws IllegalArgumentException if the element types differ or both buffers are CUDA
     *                                  buffers of different backends
     * @throws IndexOutOfBoundsException if a range is outside its buffer
     */
    public void copyFrom(NativeBuffer src, long srcOffset, long offset, long count) {
        Objects.requireNonNull(src, "src");
        src.address();
        address();
        if (src.type != type) {
            throw new IllegalArgumentException("cannot copy " + src.type + " values into a " + type + " buffer");
        }
        Objects.checkFromIndexSize(srcOffset, count, src.length);
        Objects.checkFromIndexSize(offset, count, length);
        long bytes = count * type.bytes;
        if (count == 0) {
            return;
        }
        if (src.backend == backend || src.backend.kind() == BackendKind.CPU && backend.kind() == BackendKind.CPU) {
            copy(address(offset), src.address(srcOffset), bytes, L2l.L2L_COPY_CONTEXT_TO_CONTEXT);
        } else if (src.backend.kind() == BackendKind.CPU) {
            copy(address(offset), src.address(srcOffset), bytes, L2l.L2L_COPY_HOST_TO_CONTEXT);
        } else if (backend.kind() == BackendKind.CPU) {
            src.copy(address(offset), src.address(srcOffset), bytes, L2l.L2L_COPY_CONTEXT_TO_HOST);
        } else {
            throw new IllegalArgumentException("cannot copy between two CUDA backends' buffers");
        }
    }

    /** Sets every element to 0. */
    public void zero() {
        NativeCalls.check(L2l.l2l_memset_zero(backend.ctx(), address(), length * type.bytes), "l2l_memset_zero");
    }

    /**
     * A view of a CPU buffer's host memory (no copy), little-endian native order; valid until
     * the buffer is closed.
     *
     * @throws IllegalStateException for a CUDA buffer, a closed buffer or more than 2^31 - 1 elements
     */
    public FloatBuffer hostFloats() {
        requireType(ElementType.F32);
        requireHostView();
        return new FloatPointer() {
            {
                address = NativeBuffer.this.address();
                limit = length;
                capacity = length;
            }
        }.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /** As {@link #hostFloats()}, for a float64 buffer. */
    public DoubleBuffer hostDoubles() {
        requireType(ElementType.F64);
        requireHostView();
        return new DoublePointer() {
            {
                address = NativeBuffer.this.address();
                limit = length;
                capacity = length;
            }
        }.asByteBuffer().order(ByteOrder.nativeOrder()).asDoubleBuffer();
    }

    /** Frees the memory; idempotent. */
    @Override
    public void close() {
        if (memory.address == 0) {
            return;
        }
        memory.closedExplicitly = true;
        cleanable.clean();
    }

    /** The length as a Java array length. */
    private int arrayLength() {
        if (length > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("a buffer of " + length
                    + " elements does not fit a Java array; read it in parts");
        }
        return (int) length;
    }

    private void requireHostView() {
        address();
        if (backend.kind() != BackendKind.CPU) {
            throw new IllegalStateException("a CUDA buffer has no host view; copy it with read()");
        }
        if (length > Integer.MAX_VALUE / type.bytes) {
            throw new IllegalStateException("a buffer of " + length + " elements is too large for a NIO view");
        }
    }

    private void requireType(ElementType expected) {
        address();
        if (type != expected) {
            throw new IllegalArgumentException("this is a " + type + " buffer, not " + expected);
        }
    }

    private void copy(long dst, long src, long bytes, int kind) {
        NativeCalls.check(L2l.l2l_memcpy(backend.ctx(), dst, src, bytes, kind), "l2l_memcpy");
    }

    @Override
    public String toString() {
        return "NativeBuffer[" + type + " x " + length + " on " + backend.kind() + (isClosed() ? ", closed]" : "]");
    }
}
