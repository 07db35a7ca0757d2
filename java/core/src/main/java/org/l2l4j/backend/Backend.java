package org.l2l4j.backend;

import java.lang.ref.Cleaner;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.bytedeco.javacpp.IntPointer;
import org.l2l4j.presets.L2l;

/**
 * A place where the coordinatewise LSTM computes: a CPU context (host memory, a share of the
 * process-wide native worker pool) or a CUDA context (one device's memory and its own stream).
 * Owns native memory allocated through it ({@link #allocateFloats}, {@link #allocateDoubles}).
 *
 * <p>Thread safety: one thread at a time may use a backend; use one backend per thread to run
 * optimizers concurrently (CPU backends share the worker pool).  {@link #close()} releases the
 * native context; buffers allocated from it must be closed first.
 */
public final class Backend implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Backend.class.getName());

    private final BackendKind kind;
    private final int device;
    private final Handle handle;
    private final Cleaner.Cleanable cleanable;

    /**
     * Owns the native context.  The context is destroyed once the backend is released (closed,
     * or unreachable) and every buffer allocated from it has been freed, whatever the order in
     * which their cleaners run.
     */
    static final class Handle implements Runnable {
        private final long ctx;
        private int buffers;
        private int holds;
        private boolean released;
        private boolean destroyed;

        Handle(long ctx) {
            this.ctx = ctx;
        }

        /** The context, or 0 once the backend is released. */
        synchronized long ctx() {
            return released ? 0 : ctx;
        }

        /** The context for freeing a buffer: valid until the last buffer is released. */
        long rawCtx() {
            return ctx;
        }

        synchronized void retainBuffer() {
            buffers++;
        }

        synchronized void releaseBuffer() {
            buffers--;
            destroyIfUnused();
        }

        synchronized int buffers() {
            return buffers;
        }

        synchronized void retainHold() {
            if (released) {
                throw new IllegalStateException("the backend is closed");
            }
            holds++;
        }

        synchronized void releaseHold() {
            holds--;
            destroyIfUnused();
        }

        synchronized int holds() {
            return holds;
        }

        synchronized boolean released() {
            return released;
        }

        /** Releases the backend (its close or its cleaner). */
        @Override
        public synchronized void run() {
            released = true;
            destroyIfUnused();
        }

        private void destroyIfUnused() {
            if (released && buffers == 0 && holds == 0 && !destroyed) {
                destroyed = true;
                L2l.l2l_context_destroy(ctx);
            }
        }
    }

    private Backend(BackendKind kind, int device, long ctx) {
        this.kind = kind;
        this.device = device;
        this.handle = new Handle(ctx);
        this.cleanable = NativeCalls.cleaner().register(this, handle);
    }

    /**
     * A CPU backend.
     *
     * @param threads threads one call may use (>= 1), or 0 for all hardware threads
     * @throws IllegalArgumentException if threads is negative
     */
    public static Backend cpu(int threads) {
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0, got " + threads);
        }
        NativeCalls.check(L2l.l2l_context_create_cpu(threads, NativeCalls.outCell()), "l2l_context_create_cpu");
        Backend cpu = new Backend(BackendKind.CPU, -1, NativeCalls.outValue());
        warnIfIsaOverrideIgnored();
        return cpu;
    }

    private static final AtomicBoolean ISA_OVERRIDE_CHECKED = new AtomicBoolean();
    /** Set once the CUDA versions were logged: at the first CUDA backend of the process. */
    private static final AtomicBoolean CUDA_VERSIONS_LOGGED = new AtomicBoolean();

    /**
     * Warns once, at the first CPU backend, when a kernel set the processor has is left out (the
     * amx set, when Linux refuses the process the tiles' state: {@code l2l_cpu_isa_note}), and
     * when the environment variable {@code L2L_CPU_ISA} names no kernel set this processor runs:
     * the native library then ignores it and runs the best one.
     */
    private static void warnIfIsaOverrideIgnored() {
        if (!ISA_OVERRIDE_CHECKED.compareAndSet(false, true)) {
            return;
        }
        String note = L2l.l2l_cpu_isa_note();
        if (note != null && !note.isEmpty()) {
            LOG.log(System.Logger.Level.WARNING, "CPU kernels: {0}", note);
        }
        String forced = System.getenv("L2L_CPU_ISA");
        if (forced == null) {
            return;
        }
        List<String> supported = List.of(supportedCpuIsas());
        if (!supported.contains(forced)) {
            LOG.log(System.Logger.Level.WARNING, "L2L_CPU_ISA={0} is not one of the kernel sets this processor runs "
                    + "({1}); it is ignored and the {2} kernels run", forced, String.join(", ", supported),
                    supported.get(0));
        }
    }

    /**
     * A CUDA backend on {@code device}; the first one of the process logs (at INFO) the versions
     * of libl2l's CUDA runtime and of the driver ({@link #cudaVersions()}).
     *
     * @throws L2lException with {@link Status#NO_CUDA} when no CUDA device is usable or the
     *                      driver is older than libl2l's runtime (the message says why), or
     *                      {@link Status#CUDA}
     */
    public static Backend cuda(int device) {
        if (device < 0) {
            throw new IllegalArgumentException("device must be >= 0, got " + device);
        }
        NativeCalls.check(L2l.l2l_context_create_cuda(device, NativeCalls.outCell()), "l2l_context_create_cuda");
        Backend backend = new Backend(BackendKind.CUDA, device, NativeCalls.outValue());
        if (CUDA_VERSIONS_LOGGED.compareAndSet(false, true)) {
            int[] v = cudaVersions();
            LOG.log(System.Logger.Level.INFO, "L2L4J CUDA backend on device {0}: libl2l''s CUDA runtime {1} (linked "
                    + "statically), driver {2}", device, cudaVersionName(v[0]), cudaVersionName(v[1]));
        }
        return backend;
    }

    /**
     * The versions of the CUDA runtime linked into libl2l and of the installed driver, as CUDA
     * encodes them (1000 major + 10 minor: 13000 is 13.0); {0, 0} without CUDA support, 0 for
     * what cannot be read.  CUDA libraries loaded besides libl2l (cuBLAS through the JavaCPP
     * presets) bring a runtime of their own, which they check against the driver likewise.
     */
    public static int[] cudaVersions() {
        try (IntPointer versions = new IntPointer(2)) {
            L2l.l2l_cuda_versions(versions.address(), versions.address() + Integer.BYTES);
            return new int[] {versions.get(0), versions.get(1)};
        }
    }

    /** A CUDA version number as "major.minor" (13000: "13.0"; 0: "unknown"). */
    public static String cudaVersionName(int version) {
        return version <= 0 ? "unknown" : version / 1000 + "." + version % 1000 / 10;
    }

    /** Number of usable CUDA devices (0 when there is no driver, device or CUDA build). */
    public static int cudaDeviceCount() {
        try (IntPointer count = new IntPointer(1)) {
            L2l.l2l_cuda_device_count(count.address());
            return count.get(0);
        }
    }

    /** Why no CUDA device is usable, or empty if one is. */
    public static String cudaUnavailableReason() {
        try (IntPointer count = new IntPointer(1)) {
            int status = L2l.l2l_cuda_device_count(count.address());
            return status == L2l.L2L_OK && count.get(0) > 0 ? "" : L2l.l2l_last_error();
        }
    }

    /**
     * CUDA device 0 when one is usable, else a CPU backend with all hardware threads; logs the
     * choice as {@link #best(int)} does.
     */
    public static Backend best() {
        return best(0);
    }

    /**
     * CUDA device 0 when one is usable, else a CPU backend with {@code cpuThreads} threads (0:
     * all hardware threads).  Logs the choice: a CUDA device at level INFO; the CPU, with the
     * reason no CUDA device is usable (such as a missing driver), at level DEBUG, since that is
     * the ordinary case on a machine without a GPU.
     *
     * @throws IllegalArgumentException if {@code cpuThreads} is negative
     */
    public static Backend best(int cpuThreads) {
        if (cpuThreads < 0) {
            throw new IllegalArgumentException("cpuThreads must be >= 0 (0: all), got " + cpuThreads);
        }
        String reason = cudaUnavailableReason();
        if (reason.isEmpty()) {
            LOG.log(System.Logger.Level.INFO, "L2L4J backend: CUDA device 0");
            return cuda(0);
        }
        Backend cpu = cpu(cpuThreads);
        LOG.log(System.Logger.Level.DEBUG, "L2L4J backend: CPU ({0} threads, {1} kernels), since {2}",
                cpu.threads(), cpu.cpuIsa(), reason);
        return cpu;
    }

    /** CPU or CUDA. */
    public BackendKind kind() {
        return kind;
    }

    /** The CUDA device of a CUDA backend; -1 for a CPU backend. */
    public int device() {
        return device;
    }

    /**
     * Whether this backend's kernels can read memory allocated through {@code other}: any two
     * CPU backends (host memory), or two CUDA backends on the same device (one address space).
     * Read-only data such as phi may then be shared between them.
     */
    public boolean sharesMemoryWith(Backend other) {
        Objects.requireNonNull(other, "other");
        return kind == other.kind && device == other.device;
    }

    /** Number of buffers allocated through this backend and not yet freed (closed or cleaned). */
    public int liveBuffers() {
        return handle.buffers();
    }

    /** Threads a CPU call may use. @throws IllegalStateException for CUDA or when closed */
    public int threads() {
        requireCpu();
        return L2l.l2l_context_threads(ctx());
    }

    /**
     * Sets the threads a CPU call may use (0: all hardware threads).
     *
     * @throws IllegalArgumentException if threads is negative
     * @throws IllegalStateException    for CUDA or when closed
     */
    public void setThreads(int threads) {
        requireCpu();
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0, got " + threads);
        }
        NativeCalls.check(L2l.l2l_context_set_threads(ctx(), threads), "l2l_context_set_threads");
    }

    /**
     * The CPU instruction set whose kernels this backend runs ("amx", "avx512bf16", "avx512",
     * "avx2", "baseline", or "amx-emulated" when named; l2l.h).
     */
    public String cpuIsa() {
        requireCpu();
        return L2l.l2l_context_cpu_isa(ctx());
    }

    /**
     * Runs the kernels compiled for {@code isa} (one of {@link #supportedCpuIsas()}).
     *
     * @throws L2lException         {@link Status#INVALID_ARGUMENT} if the name is unknown or
     *                               this processor cannot run it (the kernels stay as they were)
     * @throws NullPointerException  if isa is null
     * @throws IllegalStateException for CUDA or when closed
     */
    public void setCpuIsa(String isa) {
        requireCpu();
        Objects.requireNonNull(isa, "isa");
        NativeCalls.check(L2l.l2l_context_set_cpu_isa(ctx(), isa), "l2l_context_set_cpu_isa");
    }

    /**
     * The CPU instruction sets this processor can run, best first; the last, "amx-emulated" (the
     * amx kernels with a software model of the tiles, for tests), runs only when named.
     */
    public static String[] supportedCpuIsas() {
        return L2l.l2l_cpu_isas().split(",");
    }

    /** The raw {@code cudaStream_t} of a CUDA backend (0 for CPU), for cuBLAS or cuDNN. */
    public long cudaStream() {
        return L2l.l2l_context_stream(ctx());
    }

    /**
     * Keeps this backend's native context (and a CUDA backend's stream) alive for an object bound
     * to them outside this library's buffers, such as a cuBLAS handle on {@link #cudaStream()},
     * until {@link Hold#release()}: {@link #close()} refuses while a hold is open, and a backend
     * released by its cleaner destroys its context only after the last hold is released.
     *
     * @throws IllegalStateException if the backend is closed
     */
    public Hold hold() {
        handle.retainHold();
        return new Hold(handle);
    }

    /** A hold on a backend's context ({@link #hold()}). */
    public static final class Hold {
        private final Handle handle;
        private final AtomicBoolean released = new AtomicBoolean();

        private Hold(Handle handle) {
            this.handle = handle;
        }

        /** Releases the hold; idempotent, callable from any thread (a cleaner's too). */
        public void release() {
            if (released.compareAndSet(false, true)) {
                handle.releaseHold();
            }
        }
    }

    /** Waits until all queued work is done (no-op on the CPU). */
    public void synchronize() {
        NativeCalls.check(L2l.l2l_synchronize(ctx()), "l2l_synchronize");
    }

    /**
     * A zeroed buffer of {@code length} floats where this backend computes.
     *
     * @throws IllegalArgumentException if length is below 1 or above Long.MAX_VALUE / 16
     * @throws IllegalStateException    if the backend is closed
     * @throws L2lException             with {@link Status#OUT_OF_MEMORY} if the memory cannot be
     *                                  allocated
     */
    public NativeBuffer allocateFloats(long length) {
        return new NativeBuffer(this, NativeBuffer.ElementType.F32, length);
    }

    /** A zeroed buffer of {@code length} doubles where this backend computes; throws as {@link #allocateFloats}. */
    public NativeBuffer allocateDoubles(long length) {
        return new NativeBuffer(this, NativeBuffer.ElementType.F64, length);
    }

    /** A zeroed buffer of {@code length} int32 values where this backend computes. */
    public NativeBuffer allocateInts(long length) {
        return new NativeBuffer(this, NativeBuffer.ElementType.I32, length);
    }

    /** The native context; @throws IllegalStateException when closed. */
    public long ctx() {
        long c = handle.ctx();
        if (c == 0) {
            throw new IllegalStateException("the " + kind + " backend is closed");
        }
        return c;
    }

    /** True once {@link #close()} ran. */
    public boolean isClosed() {
        return handle.released();
    }

    /** The context's owner, which buffers keep alive until they are freed. */
    Handle handle() {
        return handle;
    }

    /**
     * Releases the native context; idempotent.
     *
     * @throws IllegalStateException if buffers allocated from it, or objects holding it
     *                               ({@link #hold()}, such as the matrix products of a CUDA
     *                               backend), are still open
     */
    @Override
    public void close() {
        synchronized (handle) {
            if (handle.released()) {
                return;
            }
            if (handle.buffers() > 0) {
                throw new IllegalStateException("close the " + handle.buffers()
                        + " native buffers allocated from this backend first");
            }
            if (handle.holds() > 0) {
                throw new IllegalStateException("close the " + handle.holds()
                        + " objects bound to this backend's context (such as its matrix products) first");
            }
        }
        cleanable.clean();
    }

    private void requireCpu() {
        ctx();
        if (kind != BackendKind.CPU) {
            throw new IllegalStateException("only a CPU backend has threads and CPU kernels");
        }
    }

    @Override
    public String toString() {
        return isClosed() ? "Backend[" + kind + ", closed]"
                : kind == BackendKind.CPU ? "Backend[CPU, " + threads() + " threads, " + cpuIsa() + "]"
                : "Backend[CUDA]";
    }
}
