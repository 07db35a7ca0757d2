package org.l2l4j.optimizers;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Objects;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * Where one registered operand (a parameter tensor or its gradient) lives: float32 values on the
 * Java heap, in native host memory, or in CUDA device memory.  Heap and host regions are reached
 * through a {@link FloatBuffer} view fixed at registration, so that copies into and out of them
 * allocate nothing; host regions in native byte order and 4-byte aligned also have an address
 * through which native code may read and write them in place.
 *
 * <p>The region keeps the caller's array, buffer or pointer reachable, so that its memory
 * outlives the registration.
 *
 * <p>Whether two regions share memory is decided per {@linkplain #domain() domain}: the values'
 * {@code float[]} for heap regions (which must expose it, {@link #aliasingKnown()}), all of host
 * memory, all of device memory; within a domain by the {@linkplain #start() start} and
 * {@linkplain #end() end} of the range, in array elements or in bytes.
 */
final class FloatRegion {

    /** Where the values live. */
    enum Kind { HEAP, HOST, DEVICE }

    /** The address spaces of host and device regions (heap regions have their array). */
    private static final Object HOST_MEMORY = new Object();
    private static final Object DEVICE_MEMORY = new Object();

    private final Kind kind;
    private final long length;
    private final FloatBuffer view;
    private final long address;
    private final float[] array;
    private final int arrayOffset;
    private final FloatPointer pointer;
    private final long pointerAddress;

    private FloatRegion(Kind kind, long length, FloatBuffer view, long address, float[] array, int arrayOffset,
                        FloatPointer pointer) {
        this.kind = kind;
        this.length = length;
        this.view = view;
        this.address = address;
        this.array = array;
        this.arrayOffset = arrayOffset;
        this.pointer = pointer;
        this.pointerAddress = pointer == null ? 0 : pointer.address();
    }

    /** All of {@code values}. */
    static FloatRegion of(float[] values, String what) {
        Objects.requireNonNull(values, what);
        return new FloatRegion(Kind.HEAP, values.length, FloatBuffer.wrap(values), 0, values, 0, null);
    }

    /** The buffer's remaining values, {@code [position, limit)} as they are now. */
    static FloatRegion of(FloatBuffer values, String what) {
        Objects.requireNonNull(values, what);
        FloatBuffer slice = values.slice();
        if (!slice.isDirect()) {
            return new FloatRegion(Kind.HEAP, slice.remaining(), slice, 0, slice.hasArray() ? slice.array() : null,
                    slice.hasArray() ? slice.arrayOffset() : 0, null);
        }
        return new FloatRegion(Kind.HOST, slice.remaining(), slice, new Pointer(slice).address(), null, 0, null);
    }

    /**
     * The pointer's values {@code [position, limit)} as they are now.  A pointer that JavaCPP
     * allocated knows its capacity, and the range must lie within it; for a pointer to foreign
     * memory (capacity 0, unknown) the caller guarantees that the range is allocated.
     */
    static FloatRegion of(FloatPointer values, String what) {
        Objects.requireNonNull(values, what);
        if (values.isNull()) {
            throw new IllegalArgumentException(what + " is a NULL FloatPointer");
        }
        if (values.position() < 0 || values.limit() < values.position()
                || values.capacity() > 0 && values.limit() > values.capacity()) {
            throw new IllegalArgumentException(what + " spans [position " + values.position() + ", limit "
                    + values.limit() + ") outside its allocation of capacity " + values.capacity()
                    + " values; need 0 <= position <= limit <= capacity");
        }
        long count = values.limit() - values.position();
        if (count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(what + " spans " + count + " values [position, limit); a host tensor"
                    + " holds 0 to 2^31 - 1");
        }
        FloatBuffer view = values.asBuffer();
        return new FloatRegion(Kind.HOST, count, view, values.address() + values.position() * Float.BYTES, null, 0,
                values);
    }

    /** {@code length} floats of CUDA device memory at {@code address}. */
    static FloatRegion device(long address, long length, String what) {
        if (address == 0 || (address & 3) != 0) {
            throw new IllegalArgumentException(what + " must be a non-zero, 4-byte aligned device address, got 0x"
                    + Long.toHexString(address));
        }
        return new FloatRegion(Kind.DEVICE, length, null, address, null, 0, null);
    }

    Kind kind() {
        return kind;
    }

    /** Number of values. */
    long length() {
        return length;
    }

    /** Whether the values may be written (false for a read-only buffer). */
    boolean writable() {
        return view == null || !view.isReadOnly();
    }

    /**
     * Whether native code may use the values in place: device memory, or host memory in native
     * byte order at a 4-byte aligned address.
     */
    boolean nativeInPlace() {
        return kind == Kind.DEVICE
                || kind == Kind.HOST && view.order() == ByteOrder.nativeOrder() && (address & 3) == 0;
    }

    /** Address of the first value (host or device); 0 for heap memory. */
    long address() {
        return address;
    }

    /**
     * @throws IllegalStateException if the values are a JavaCPP pointer that has since been
     *                               deallocated or moved
     */
    void requireUsable(String tensor, String role) {
        if (pointer != null && pointer.address() != pointerAddress) {
            throw new IllegalStateException("the " + role + " of '" + tensor + "' is a FloatPointer that has been"
                    + " deallocated or moved since it was registered");
        }
    }

    /**
     * Whether sharing memory with other regions can be decided: false for heap buffers that do
     * not expose their array (read-only heap buffers, views of heap {@link java.nio.ByteBuffer}s).
     */
    boolean aliasingKnown() {
        return kind != Kind.HEAP || array != null;
    }

    /** The address space the range lies in: the array (heap), host memory or device memory. */
    Object domain() {
        return switch (kind) {
            case HEAP -> array;
            case HOST -> HOST_MEMORY;
            case DEVICE -> DEVICE_MEMORY;
        };
    }

    /** The first array index (heap) or byte address (host, device) of the values. */
    long start() {
        return kind == Kind.HEAP ? arrayOffset : address;
    }

    /** One past the last array index (heap) or byte address (host, device) of the values. */
    long end() {
        return kind == Kind.HEAP ? arrayOffset + length : address + length * Float.BYTES;
    }

    /** Whether the two regions share a value (requires {@link #aliasingKnown()} of both). */
    boolean overlaps(FloatRegion other) {
        return domain() == other.domain() && start() < other.end() && other.start() < end();
    }

    /** Copies the values into {@code dst[at, at + length)} (heap or host regions). */
    void copyTo(FloatBuffer dst, int at) {
        dst.put(at, view, 0, (int) length);
    }

    /** Copies {@code src[at, at + length)} into the values (heap or host regions). */
    void copyFrom(FloatBuffer src, int at) {
        view.put(0, src, at, (int) length);
    }
}
