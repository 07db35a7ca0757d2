package org.l2l4j.bench;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * This machine's limits, measured by the native probes ({@link CpuProbes}) on the kernel set the
 * CPU backend chose, with 1 or 2 threads: the float32 multiply-add peak and the bfloat16
 * dot-product peak ({@value #FMA_FLOPS_PER_THREAD} operations per thread per call each); where
 * the set has AMX tiles, the AMX tile peak ({@value #AMX_FLOPS_PER_THREAD} operations per thread
 * per call; elsewhere {@link #amxTilePeak} fails its setup with a message saying so, which JMH
 * reports and moves past, and the report shows that peak as not measured); the memory bandwidth
 * of STREAM's triad over three arrays of {@value #TRIAD_FLOATS} floats (12 bytes per element
 * counted; 384 MB in all, far beyond the last-level cache); and the cell update alone
 * ({@value #CELL_TILES_PER_THREAD} tiles of {@value CpuProbes#CELL_TILE_COORDINATES} coordinates x
 * {@value CpuProbes#CELL_TILE_UNITS} units per thread per call), the transcendental part of the
 * step.  {@link BenchReport} turns the times into GFLOP/s, GB/s and ns per coordinate-unit.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class RooflineBenchmark {
    /** Operations per thread per call of {@link #fmaPeak} and {@link #bf16DotPeak}: 3 x 2^30, exact on every kernel set. */
    public static final long FMA_FLOPS_PER_THREAD = 3L << 30;
    /**
     * Operations per thread per call of {@link #amxTilePeak}: 2^35, a whole number of rounds, and
     * milliseconds a call even at the tiles' peak, so that a call's overhead (the pool's pieces,
     * each configuring and loading the tiles) stays negligible.
     */
    public static final long AMX_FLOPS_PER_THREAD = 1L << 35;
    /** Floats per array of {@link #triad}. */
    public static final int TRIAD_FLOATS = 1 << 25;
    /** Bytes STREAM counts per element of the triad: b and c read, a written. */
    public static final int TRIAD_BYTES_PER_ELEMENT = 12;
    /** Tiles per thread per call of {@link #cells}. */
    public static final long CELL_TILES_PER_THREAD = 20_000;

    @Param({"1", "2"})
    public int threads;

    private Backend backend;
    private NativeBuffer a;
    private NativeBuffer b;
    private NativeBuffer c;

    @Setup(Level.Trial)
    public void setUp() {
        backend = Backend.cpu(threads);
        long done = CpuProbes.fmaPeak(backend, FMA_FLOPS_PER_THREAD);
        if (done != threads * FMA_FLOPS_PER_THREAD) {
            throw new IllegalStateException("the multiply-add probe did " + done + " operations, expected "
                    + threads * FMA_FLOPS_PER_THREAD);
        }
        System.out.println("CPU kernels: " + backend.cpuIsa());
        a = backend.allocateFloats(TRIAD_FLOATS);
        b = backend.allocateFloats(TRIAD_FLOATS);
        c = backend.allocateFloats(TRIAD_FLOATS);
        float[] ones = new float[TRIAD_FLOATS];
        Arrays.fill(ones, 1f);
        b.write(ones);
        c.write(ones);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        a.close();
        b.close();
        c.close();
        backend.close();
    }

    /** Independent multiply-add chains on full vector registers. */
    @Benchmark
    public long fmaPeak() {
        return CpuProbes.fmaPeak(backend, FMA_FLOPS_PER_THREAD);
    }

    /**
     * The state of {@link #bf16DotPeak}: its setup checks that the backend's kernel set runs
     * vdpbf16ps (avx512bf16, or amx, which has it too), and otherwise fails with a message saying
     * that the benchmark does not run here, as {@link Tiles} does: elsewhere the probe times the
     * software arithmetic, no peak of the machine, which the report would take for the bfloat16
     * roofline.
     */
    @State(Scope.Benchmark)
    public static class DotProducts {
        @Setup(Level.Trial)
        public void setUp(RooflineBenchmark roofline) {
            requireKernelSet(roofline.backend, "bf16DotPeak", "whose bfloat16 dot products are software arithmetic,"
                    + " no peak of the machine (vdpbf16ps runs on avx512bf16 and amx)", "avx512bf16", "amx");
        }
    }

    /** Independent chains of bfloat16 dot products (the BF16_PRODUCTS kernels' products). */
    @Benchmark
    public long bf16DotPeak(DotProducts units) {
        return CpuProbes.bf16DotPeak(backend, FMA_FLOPS_PER_THREAD);
    }

    /**
     * The state of {@link #amxTilePeak}: its setup checks that the backend runs the amx kernel set
     * (the processor's tiles) and counts one round per thread, and otherwise fails with a message
     * saying that the benchmark does not run here: JMH has no way to skip a benchmark, and a
     * failed setup leaves the benchmark out of the results while the run goes on (unless JMH runs
     * with -foe true).  The amx-emulated set's software model of the tiles is refused too: the
     * JSON does not record the kernel set, so its figure would pass for the machine's peak in the
     * report.
     */
    @State(Scope.Benchmark)
    public static class Tiles {
        @Setup(Level.Trial)
        public void setUp(RooflineBenchmark roofline) {
            Backend backend = roofline.backend;
            requireKernelSet(backend, "amxTilePeak", "not amx (the processor's AMX tiles; amx-emulated's software"
                    + " model is no peak of the machine)", "amx");
            long done = CpuProbes.amxTilePeak(backend, 1);
            if (done != roofline.threads * (long) CpuProbes.AMX_ROUND_FLOPS) {
                throw new IllegalStateException("the AMX tile probe did " + done + " operations in one round per"
                        + " thread, expected " + roofline.threads * (long) CpuProbes.AMX_ROUND_FLOPS);
            }
        }
    }

    /**
     * Fails the setup of a benchmark that measures the machine only on the kernel sets {@code sets}
     * (JMH cannot skip one): "{@code benchmark} does not run here: the CPU kernels are ISA, {@code why}".
     */
    private static void requireKernelSet(Backend backend, String benchmark, String why, String... sets) {
        String isa = backend.cpuIsa();
        if (!Arrays.asList(sets).contains(isa)) {
            throw new IllegalStateException(benchmark + " does not run here: the CPU kernels are " + isa + ", " + why);
        }
    }

    /** Independent TDPBF16PS on 4 accumulator tiles (the amx kernel set's gate products). */
    @Benchmark
    public long amxTilePeak(Tiles tiles) {
        return CpuProbes.amxTilePeak(backend, AMX_FLOPS_PER_THREAD);
    }

    /** a = b + s c over arrays far larger than the last-level cache. */
    @Benchmark
    public void triad() {
        CpuProbes.triad(backend, a, b, c, 0.5f);
    }

    /** The step's cell update alone (3 sigmoids, 2 tanh and the products per unit). */
    @Benchmark
    public void cells() {
        CpuProbes.cells(backend, CELL_TILES_PER_THREAD);
    }
}
