package org.l2l4j.lstm;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.bytedeco.javacpp.LongPointer;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;

/**
 * The parameter tensors one {@link CoordinatewiseLstm#step} updates: K pairs (theta_k,
 * gradient_k) of n_k coordinates each, slices of float32 {@link NativeBuffer}s of one backend or
 * float32 memory at raw addresses where that backend computes.  They share one state buffer over
 * n = sum_k n_k coordinates, tensor 0's first.  The native pointer arrays are built once here, so
 * a step allocates nothing.  The n coordinates are those of {@link #instances()} optimizee
 * instances (1 unless the builder says otherwise), n / instances each, instance after instance:
 * the segments over which global averaging cells average ({@link LstmConfig}).
 *
 * <p>Immutable once built; {@link #close()} frees the pointer arrays (not the tensors).
 */
public final class TensorList implements AutoCloseable {
    private final Backend backend;
    private final List<NativeBuffer> buffers;
    private final int count;
    private final long n;
    private final int instances;
    private final LongPointer thetas;
    private final LongPointer grads;
    private final LongPointer sizes;
    private boolean closed;

    private TensorList(Builder b) {
        this.backend = b.backend;
        this.buffers = List.copyOf(b.buffers);
        this.count = b.sizes.size();
        long total = 0;
        thetas = new LongPointer(count);
        grads = new LongPointer(count);
        sizes = new LongPointer(count);
        for (int k = 0; k < count; k++) {
            thetas.put(k, b.thetaAddresses.get(k));
            grads.put(k, b.gradAddresses.get(k));
            sizes.put(k, b.sizes.get(k));
            total += b.sizes.get(k);
        }
        this.n = total;
        this.instances = b.instances;
    }

    /**
     * A list of one tensor: all of {@code theta} with all of {@code gradient}.
     *
     * @throws NullPointerException      if a buffer is null
     * @throws IllegalArgumentException  if a buffer is not float32, or they live on different
     *                                   backends
     * @throws IndexOutOfBoundsException if the gradient is shorter than theta
     * @throws IllegalStateException     if a buffer is closed
     */
    public static TensorList of(NativeBuffer theta, NativeBuffer gradient) {
        return builder().add(theta, 0, gradient, 0, Objects.requireNonNull(theta, "theta").length()).build();
    }

    /** A builder whose backend is that of the first buffer added. */
    public static Builder builder() {
        return new Builder(null);
    }

    /** A builder for tensors on {@code backend}, which {@link Builder#addAddresses} needs. */
    public static Builder builder(Backend backend) {
        return new Builder(Objects.requireNonNull(backend, "backend"));
    }

    /** Collects tensors; every buffer must be float32 and on the same backend. */
    public static final class Builder {
        private Backend backend;
        private final List<NativeBuffer> buffers = new ArrayList<>();
        private final List<Long> thetaAddresses = new ArrayList<>();
        private final List<Long> gradAddresses = new ArrayList<>();
        private final List<Long> sizes = new ArrayList<>();
        private int instances = 1;

        private Builder(Backend backend) {
            this.backend = backend;
        }

        /**
         * Adds the tensor {@code theta[thetaOffset, thetaOffset + length)} with gradients
         * {@code gradient[gradientOffset, gradientOffset + length)}.  The theta slices must not
         * overlap each other or a gradient slice (not checked: a step then writes unspecified
         * values).  A rejected call leaves the builder as it was.
         *
         * @throws NullPointerException      if a buffer is null
         * @throws IllegalArgumentException  for length < 1, a non-float32 buffer, or a buffer on
         *                                   another backend than the others
         * @throws IndexOutOfBoundsException if a slice is not within its buffer
         * @throws IllegalStateException     if a buffer is closed
         */
        public Builder add(NativeBuffer theta, long thetaOffset, NativeBuffer gradient, long gradientOffset,
                           long length) {
            Objects.requireNonNull(theta, "theta");
            Objects.requireNonNull(gradient, "gradient");
            if (length < 1) {
                throw new IllegalArgumentException("a tensor needs >= 1 coordinate, got " + length);
            }
            Backend common = backend != null ? backend : theta.backend();
            for (NativeBuffer buf : new NativeBuffer[] {theta, gradient}) {
                if (buf.type() != NativeBuffer.ElementType.F32) {
                    throw new IllegalArgumentException("tensors must be float32 buffers, got " + buf);
                }
                if (buf.backend() != common) {
                    throw new IllegalArgumentException("all tensors must live on one backend");
                }
            }
            Objects.checkFromIndexSize(thetaOffset, length, theta.length());
            Objects.checkFromIndexSize(gradientOffset, length, gradient.length());
            long thetaAddress = theta.address(thetaOffset);
            long gradAddress = gradient.address(gradientOffset);
            backend = common;
            buffers.add(theta);
            buffers.add(gradient);
            thetaAddresses.add(thetaAddress);
            gradAddresses.add(gradAddress);
            sizes.add(length);
            return this;
        }

        /**
         * Adds a tensor of {@code length} float32 values at raw addresses: memory that no
         * {@link NativeBuffer} owns (a JavaCPP pointer, a direct NIO buffer, a CUDA allocation
         * made by another library).  It must lie where the builder's backend computes (host
         * memory for a CPU backend, that device's memory for CUDA), be 4-byte aligned and stay
         * allocated while the list is used: the list cannot check either.
         *
         * @throws IllegalStateException    if the builder was made without a backend
         * @throws IllegalArgumentException if an address is 0 or not 4-byte aligned, or length < 1
         */
        public Builder addAddresses(long thetaAddress, long gradientAddress, long length) {
            if (backend == null) {
                throw new IllegalStateException("raw addresses need a builder made with builder(Backend)");
            }
            if (length < 1) {
                throw new IllegalArgumentException("a tensor needs >= 1 coordinate, got " + length);
            }
            for (long address : new long[] {thetaAddress, gradientAddress}) {
                if (address == 0 || (address & 3) != 0) {
                    throw new IllegalArgumentException("a tensor address must be non-zero and 4-byte aligned, got 0x"
                            + Long.toHexString(address));
                }
            }
            thetaAddresses.add(thetaAddress);
            gradAddresses.add(gradientAddress);
            sizes.add(length);
            return this;
        }

        /**
         * The coordinates added are those of {@code count} optimizee instances, an equal share
         * each, instance after instance (1 by default).
         *
         * @throws IllegalArgumentException if count is below 1
         */
        public Builder instances(int count) {
            if (count < 1) {
                throw new IllegalArgumentException("instances must be >= 1, got " + count);
            }
            instances = count;
            return this;
        }

        /**
         * @throws IllegalStateException    if no tensor was added
         * @throws IllegalArgumentException if the instances do not divide the coordinates
         */
        public TensorList build() {
            if (sizes.isEmpty()) {
                throw new IllegalStateException("a tensor list needs at least one tensor (n = 0)");
            }
            Instances.require(instances, sizes.stream().mapToLong(Long::longValue).sum());
            return new TensorList(this);
        }
    }

    /** The backend of every tensor. */
    public Backend backend() {
        return backend;
    }

    /** K, the number of tensors. */
    public int count() {
        return count;
    }

    /** n = sum_k n_k. */
    public long coordinates() {
        return n;
    }

    /** The optimizee instances whose coordinates these are (n / instances each). */
    public int instances() {
        return instances;
    }

    long thetaArray() {
        requireOpen();
        return thetas.address();
    }

    long gradArray() {
        requireOpen();
        return grads.address();
    }

    long sizeArray() {
        requireOpen();
        return sizes.address();
    }

    /** @throws IllegalStateException if this list or one of its buffers is closed */
    void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the tensor list is closed");
        }
        for (int i = 0; i < buffers.size(); i++) {
            NativeBuffer b = buffers.get(i);
            if (b.isClosed()) {
                throw new IllegalStateException("a tensor of the list was closed: " + b);
            }
        }
    }

    /** Frees the pointer arrays; idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            thetas.close();
            grads.close();
            sizes.close();
        }
    }
}
