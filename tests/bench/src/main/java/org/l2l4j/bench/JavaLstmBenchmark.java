package org.l2l4j.bench;

import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * The plain single-threaded Java float32 implementation ({@link JavaLstm}) of the step and of
 * the backward pass over T = 20 steps, on the inputs of {@link LstmBenchmark}.  Each trial first
 * checks the Java results against the native kernels (step: delta and state to 1e-5; backward:
 * dphi to 1e-4, the accuracy bounds of the kernel tests) and fails if they disagree.
 *
 * <p>The backward pass stops at n = 10^5: one call at 10^6 would take several minutes (about
 * 20 us per coordinate-step), and a single-threaded coordinate-at-a-time loop's time per
 * coordinate-step does not depend on n.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class JavaLstmBenchmark {

    /** Inputs of the Java step. */
    @State(Scope.Benchmark)
    public static class StepInputs {
        @Param({"1000", "10000", "100000", "1000000"})
        public int n;

        JavaLstm java;
        float[] theta;
        float[] grad;
        float[] state;

        @Setup(Level.Trial)
        public void setUp() {
            try (KernelInputs in = new KernelInputs(n, 1)) {
                java = new JavaLstm(in.config, in.phi);
                grad = in.grad;
                state = in.state.toFloatArray();
                theta = new float[n];
                // one step each from the same state: Java against native
                float[] before = in.theta.toFloatArray();
                in.step();
                float[] nativeTheta = in.theta.toFloatArray();
                java.step(theta, grad, state, n);
                double[] javaDelta = new double[n];
                double[] nativeDelta = new double[n];
                for (int i = 0; i < n; i++) {
                    javaDelta[i] = theta[i];
                    nativeDelta[i] = (double) nativeTheta[i] - before[i];
                }
                Agreement.require("Java step delta", javaDelta, nativeDelta, 1e-5);
                Agreement.require("Java step state", Agreement.toDouble(state),
                        Agreement.toDouble(in.state.toFloatArray()), 1e-5);
            }
        }
    }

    /** Inputs of the Java backward pass. */
    @State(Scope.Benchmark)
    public static class BackwardInputs {
        @Param({"1000", "10000", "100000"})
        public int n;

        JavaLstm java;
        float[] record;
        float[] dloss;
        double[] dphi;

        @Setup(Level.Trial)
        public void setUp() {
            try (KernelInputs in = new KernelInputs(n, 1)) {
                java = new JavaLstm(in.config, in.phi);
                record = in.record.buffer().toFloatArray();
                dloss = in.dloss.toFloatArray();
                dphi = new double[in.phi.length];
                in.backward();
                java.backward(record, KernelInputs.UNROLL, dloss, n, dphi);
                Agreement.require("Java backward dphi", dphi, in.dphi.toDoubleArray(), 1e-4);
            }
        }
    }

    /** The plain Java float32 step, single-threaded. */
    @Benchmark
    public void javaStep(StepInputs s) {
        s.java.step(s.theta, s.grad, s.state, s.n);
    }

    /** The plain Java float32 backward pass over 20 steps, single-threaded. */
    @Benchmark
    public double javaBackward(BackwardInputs b) {
        b.java.backward(b.record, KernelInputs.UNROLL, b.dloss, b.n, b.dphi);
        return b.dphi[0];
    }
}
