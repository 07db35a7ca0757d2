package org.l2l4j.bench;

import java.util.Objects;
import org.bytedeco.javacpp.DoublePointer;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.BackendKind;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.backend.NativeCalls;
import org.l2l4j.backend.Status;
import org.l2l4j.presets.L2lProbes;

/**
 * Small native kernels that measure the processor's limits, so that the fused step and
 * backward pass can be stated as fractions of a roofline, min(peak, bandwidth x arithmetic
 * intensity) (l2l_probes.h).  Each runs on a CPU backend's kernel set
 * ({@link Backend#cpuIsa()}) and splits its work over the backend's threads; time the calls
 * from outside (the JMH benchmarks under tests/bench do).
 */
public final class CpuProbes {
    /** Coordinates per tile of {@link #cells}. */
    public static final int CELL_TILE_COORDINATES = 128;
    /** LSTM units per tile of {@link #cells} (the paper's layer width). */
    public static final int CELL_TILE_UNITS = 20;
    /** Transcendental functions per unit of {@link #cells}: 3 sigmoids and 2 tanh. */
    public static final int TRANSCENDENTALS_PER_UNIT = 5;
    /** Operations per round of {@link #amxTilePeak}: 4 tiles x 16 x 16 x 16 words x 2 products x 2. */
    public static final int AMX_ROUND_FLOPS = 65_536;

    /**
     * The most operations per thread a chain probe takes, 2^50 (about three hours at 100 GFLOP/s;
     * l2l_probes.h).
     */
    public static final long MAX_FLOPS_PER_THREAD = 1L << 50;

    private CpuProbes() {
    }

    /**
     * The float32 multiply-add peak: each of the backend's threads runs at least
     * {@code flopsPerThread} floating-point operations of independent multiply-add chains on full
     * vector registers (2 operations per multiply-add per float).
     *
     * @param cpu            a CPU backend
     * @param flopsPerThread operations per thread, in [1, {@link #MAX_FLOPS_PER_THREAD}]; a multiple
     *                       of 1,536 (3 x 2^9) is done exactly on every kernel set
     * @return the operations done by all threads together
     * @throws IllegalArgumentException if flopsPerThread is outside [1, {@link #MAX_FLOPS_PER_THREAD}]
     * @throws NullPointerException     if cpu is null
     * @throws IllegalStateException    if the backend is closed or is not a CPU backend
     */
    public static long fmaPeak(Backend cpu, long flopsPerThread) {
        return chains(cpu, flopsPerThread, L2lProbes::l2l_cpu_probe_fma, "l2l_cpu_probe_fma");
    }

    /**
     * The bfloat16 dot-product peak, the roofline of the {@code BF16_PRODUCTS} kernels' products:
     * chains of bfloat16 pair products added to float32 (4 operations per float32 lane per
     * instruction; vdpbf16ps on the avx512bf16 and amx kernel sets, software arithmetic on the
     * others).
     *
     * @param cpu            a CPU backend
     * @param flopsPerThread operations per thread, in [1, {@link #MAX_FLOPS_PER_THREAD}]; a multiple
     *                       of 3,072 (3 x 2^10) is done exactly on every kernel set
     * @return the operations done by all threads together
     * @throws IllegalArgumentException if flopsPerThread is outside [1, {@link #MAX_FLOPS_PER_THREAD}]
     * @throws NullPointerException     if cpu is null
     * @throws IllegalStateException    if the backend is closed or is not a CPU backend
     */
    public static long bf16DotPeak(Backend cpu, long flopsPerThread) {
        return chains(cpu, flopsPerThread, L2lProbes::l2l_cpu_probe_bf16_dot, "l2l_cpu_probe_bf16_dot");
    }

    /**
     * The AMX tile peak, the roofline of the amx kernel set's gate products: rounds of 4
     * independent TDPBF16PS on 4 accumulator tiles (2 A tiles x 2 B tiles), {@value #AMX_ROUND_FLOPS}
     * operations a round (each of a tile product's 16 x 16 x 32 bfloat16 products a multiply and
     * an add).  Runs on the kernel sets with tiles: amx, and amx-emulated, where it measures the
     * tiles' software model, which is no peak of the machine.
     *
     * @param cpu            a CPU backend whose kernel set has AMX tiles
     * @param flopsPerThread operations per thread, in [1, {@link #MAX_FLOPS_PER_THREAD}]; a multiple
     *                       of {@value #AMX_ROUND_FLOPS} is done exactly, other counts rounded up to
     *                       whole rounds
     * @return the operations done by all threads together
     * @throws IllegalArgumentException if flopsPerThread is outside [1, {@link #MAX_FLOPS_PER_THREAD}]
     * @throws NullPointerException     if cpu is null
     * @throws IllegalStateException    if the backend is closed or is not a CPU backend
     * @throws L2lException             {@link Status#WRONG_CONTEXT} if the backend's kernel set has no
     *                                  AMX tiles (the message names the set)
     */
    public static long amxTilePeak(Backend cpu, long flopsPerThread) {
        return chains(cpu, flopsPerThread, L2lProbes::l2l_cpu_probe_amx, "l2l_cpu_probe_amx");
    }

    /** A native chain probe's C signature: (context, operations per thread, double* operations done). */
    @FunctionalInterface
    private interface ChainProbe {
        int run(long ctx, long flopsPerThread, long flopsDone);
    }

    /** Runs a chain probe after the checks its callers document; returns the operations done. */
    private static long chains(Backend cpu, long flopsPerThread, ChainProbe probe, String function) {
        requireCpu(cpu);
        if (flopsPerThread < 1 || flopsPerThread > MAX_FLOPS_PER_THREAD) {
            throw new IllegalArgumentException("flopsPerThread must be in [1, 2^50], got " + flopsPerThread);
        }
        try (DoublePointer done = new DoublePointer(1)) {
            NativeCalls.check(probe.run(cpu.ctx(), flopsPerThread, done.address()), function);
            return (long) done.get(0);
        }
    }

    /**
     * Memory bandwidth: STREAM's triad {@code a[i] = b[i] + s c[i]} over the backend's threads.
     * STREAM counts 12 bytes per element (two floats read, one written); use arrays much larger
     * than the last-level cache.
     *
     * @param cpu a CPU backend
     * @param a   float32 [n], written
     * @param b   float32 [n]
     * @param c   float32 [n]
     * @param s   the scalar
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if the buffers are not float32 of one length or live on
     *                                  another backend
     * @throws IllegalStateException    if the backend or a buffer is closed, or the backend is not
     *                                  a CPU backend
     */
    public static void triad(Backend cpu, NativeBuffer a, NativeBuffer b, NativeBuffer c, float s) {
        requireCpu(cpu);
        long n = Objects.requireNonNull(a, "a").length();
        for (NativeBuffer x : new NativeBuffer[] {a, Objects.requireNonNull(b, "b"), Objects.requireNonNull(c, "c")}) {
            if (x.isClosed()) {
                throw new IllegalStateException("a buffer of the triad is closed");
            }
            if (x.backend() != cpu) {
                throw new IllegalArgumentException("the triad's buffers must live on the probed backend");
            }
            if (x.type() != NativeBuffer.ElementType.F32 || x.length() != n) {
                throw new IllegalArgumentException("the triad needs three F32 buffers of one length, got " + a + ", "
                        + b + ", " + c);
            }
        }
        NativeCalls.check(L2lProbes.l2l_cpu_probe_triad(cpu.ctx(), a.address(), b.address(), c.address(), s, n),
                "l2l_cpu_probe_triad");
    }

    /**
     * The transcendental part of the step: the LSTM cell update exactly as the fused step runs it
     * (3 sigmoids, 2 tanh and the cell products per unit) on {@code tilesPerThread} tiles of
     * {@value #CELL_TILE_COORDINATES} coordinates x {@value #CELL_TILE_UNITS} units per thread,
     * held in the caches.
     *
     * @throws IllegalArgumentException if tilesPerThread < 1
     * @throws NullPointerException     if cpu is null
     * @throws IllegalStateException    if the backend is closed or is not a CPU backend
     */
    public static void cells(Backend cpu, long tilesPerThread) {
        requireCpu(cpu);
        if (tilesPerThread < 1) {
            throw new IllegalArgumentException("tilesPerThread must be >= 1, got " + tilesPerThread);
        }
        NativeCalls.check(L2lProbes.l2l_cpu_probe_cells(cpu.ctx(), tilesPerThread), "l2l_cpu_probe_cells");
    }

    private static void requireCpu(Backend cpu) {
        Objects.requireNonNull(cpu, "cpu");
        if (cpu.kind() != BackendKind.CPU) {
            throw new IllegalStateException("the machine probes run on a CPU backend, not " + cpu.kind());
        }
        cpu.ctx();
    }
}
