package org.l2l4j.bench;

import java.util.concurrent.TimeUnit;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.Precision;
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
 * The fused native kernels of the CPU backend on the paper's optimizer (LSTM 20-20,
 * log-and-sign; {@link KernelInputs}) at n coordinates and 1 or 2 threads: the step, the step
 * writing its backward record, and the backward pass over an unroll of T = 20 steps, on random
 * or saturated inputs ({@link KernelInputs.Inputs}: the gates of a saturated LSTM are near 0 and
 * 1, its cells far from 0, and its backward pass meets subnormal numbers, which the kernels
 * flush), with float32 or bfloat16 gate products ({@link Precision}), and without or with global
 * averaging cells (two per layer, one instance: the layer passes of LSTM+GAC instead of the
 * fused kernels), on the default kernel set or a named one ({@code isa}).  Time per call; {@link BenchReport} divides by n (and T) and states the figures against
 * the roofline of {@link RooflineBenchmark} with the counts of {@link CostModel}, and the
 * saturated inputs' times against the random ones'.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class LstmBenchmark {

    @Param({"1000", "10000", "100000", "1000000"})
    public int n;

    @Param({"1", "2"})
    public int threads;

    /** {@link KernelInputs.Inputs}, in lower case: random or saturated. */
    @Param({"random", "saturated"})
    public String inputs;

    /** The gate products' {@link Precision}: FLOAT32 or BF16_PRODUCTS. */
    @Param({"FLOAT32", "BF16_PRODUCTS"})
    public String precision;

    /** Global averaging cells per layer: "none", or counts such as "2-2". */
    @Param({"none", "2-2"})
    public String gac;

    /**
     * The CPU kernel set: "default" (the best the processor runs) or one of
     * {@code Backend.supportedCpuIsas()}, such as avx512bf16 beside the default amx, so that the
     * sets compare in one run.
     */
    @Param({"default"})
    public String isa;

    private KernelInputs in;

    @Setup(Level.Trial)
    public void setUp() {
        in = new KernelInputs(n, threads, KernelInputs.Inputs.valueOf(inputs.toUpperCase(java.util.Locale.ROOT)),
                Precision.valueOf(precision), gac.equals("none") ? new int[2]
                        : java.util.Arrays.stream(gac.split("-")).mapToInt(Integer::parseInt).toArray());
        if (!isa.equals("default")) {
            if (!java.util.Arrays.asList(Backend.supportedCpuIsas()).contains(isa)) {
                in.close();
                throw new IllegalStateException("kernel set " + isa + " is not one this processor runs: "
                        + String.join(", ", Backend.supportedCpuIsas()));
            }
            in.backend.setCpuIsa(isa);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        in.close();
    }

    /** The fused native step (one call for all n coordinates). */
    @Benchmark
    public void nativeStep() {
        in.step();
    }

    /** The fused native step writing its backward record. */
    @Benchmark
    public void nativeStepRecorded() {
        in.lstm.step(in.phiBuffer, in.tensors, in.state, in.record, 0, false);
    }

    /** The fused native backward pass over an unroll of 20 steps. */
    @Benchmark
    public void nativeBackward() {
        in.backward();
    }
}
