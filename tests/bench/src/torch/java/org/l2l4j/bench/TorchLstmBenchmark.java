package org.l2l4j.bench;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.l2l4j.lstm.LstmConfig;
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
 * The libtorch implementation ({@link TorchLstm}, libtorch 2.10 for the CPU through the JavaCPP
 * presets; profile bench-torch) of the step and of the backward pass over T = 20 steps, on the
 * inputs of {@link LstmBenchmark}, with libtorch's intra-op threads set to 1 or 2.  Each trial
 * first checks libtorch's results against the native kernels (step: delta, h and c; backward:
 * dphi; relative error at most 1e-5) and fails if they disagree.
 *
 * <p>The backward pass stops at n = 10^5: autograd keeps every step's activations (about 2 KB
 * per coordinate-step), which at 10^6 coordinates and 20 steps would pass this machine's memory.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class TorchLstmBenchmark {
    static final double BOUND = 1e-5;

    /** What both benchmarks share: libtorch's threads, the model, the native inputs. */
    abstract static class Inputs {
        TorchLstm torchLstm;
        LstmConfig config;
        int coordinates;

        KernelInputs open(int n, int threads) {
            torch.set_num_threads(threads);
            KernelInputs in = new KernelInputs(n, threads);
            config = in.config;
            coordinates = n;
            torchLstm = new TorchLstm(config, in.phi);
            return in;
        }

        Tensor[] states(float[] rows, boolean cells) {
            int n = coordinates;
            Tensor[] t = new Tensor[config.layers()];
            int row = 0;
            for (int l = 0; l < t.length; l++) {
                int h = config.width(l);
                int first = row + (cells ? h : 0);
                float[] part = Arrays.copyOfRange(rows, first * n, (first + h) * n);
                t[l] = TorchLstm.batchFirst(part, h, n);
                row += 2 * h;
            }
            return t;
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            torchLstm.close();
        }
    }

    /** Inputs of the step. */
    @State(Scope.Benchmark)
    public static class StepInputs extends Inputs {
        @Param({"1000", "10000", "100000", "1000000"})
        public int n;

        @Param({"1", "2"})
        public int threads;

        Tensor theta;
        Tensor x;
        Tensor[] h;
        Tensor[] c;

        @Setup(Level.Trial)
        public void setUp() {
            try (KernelInputs in = open(n, threads)) {
                float[] state = in.state.toFloatArray();
                h = states(state, false);
                c = states(state, true);
                x = Tensor.create(in.grad, n, 1);
                theta = Tensor.create(new float[n], n);
                // one step each from the same state: libtorch against native
                float[] before = in.theta.toFloatArray();
                in.step();
                float[] nativeTheta = in.theta.toFloatArray();
                torchLstm.step(theta, x, h, c);
                float[] torchDelta = new float[n];
                theta.contiguous().data_ptr_float().get(torchDelta);
                double[] nativeDelta = new double[n];
                for (int i = 0; i < n; i++) {
                    nativeDelta[i] = (double) nativeTheta[i] - before[i];
                }
                Agreement.require("libtorch step delta", Agreement.toDouble(torchDelta), nativeDelta, BOUND);
                float[] nativeState = in.state.toFloatArray();
                Agreement.require("libtorch step h", Agreement.toDouble(concat(h)),
                        Agreement.toDouble(rows(nativeState, false)), BOUND);
                Agreement.require("libtorch step c", Agreement.toDouble(concat(c)),
                        Agreement.toDouble(rows(nativeState, true)), BOUND);
            }
        }

        private float[] concat(Tensor[] t) {
            float[][] parts = new float[t.length][];
            int total = 0;
            for (int l = 0; l < t.length; l++) {
                parts[l] = TorchLstm.rowsOf(t[l]);
                total += parts[l].length;
            }
            float[] out = new float[total];
            int at = 0;
            for (float[] p : parts) {
                System.arraycopy(p, 0, out, at, p.length);
                at += p.length;
            }
            return out;
        }

        /** The h (or c) rows of every layer of a native state, layers in order. */
        private float[] rows(float[] state, boolean cells) {
            int n = coordinates;
            float[] out = new float[state.length / 2];
            int row = 0;
            int at = 0;
            for (int l = 0; l < config.layers(); l++) {
                int w = config.width(l);
                int first = row + (cells ? w : 0);
                System.arraycopy(state, first * n, out, at, w * n);
                at += w * n;
                row += 2 * w;
            }
            return out;
        }
    }

    /** Inputs of the backward pass. */
    @State(Scope.Benchmark)
    public static class BackwardInputs extends Inputs {
        @Param({"1000", "10000", "100000"})
        public int n;

        @Param({"1", "2"})
        public int threads;

        Tensor[] xs;
        Tensor[] h0;
        Tensor[] c0;
        Tensor[] dloss;

        @Setup(Level.Trial)
        public void setUp() {
            try (KernelInputs in = open(n, threads)) {
                int steps = KernelInputs.UNROLL;
                float[] initial = in.stateBefore(0);
                h0 = states(initial, false);
                c0 = states(initial, true);
                xs = new Tensor[steps];
                dloss = new Tensor[steps];
                float[] record = new float[n];
                float[] d = new float[n];
                for (int s = 0; s < steps; s++) {
                    in.record.buffer().read((long) s * config.recordRows() * n, record, 0, n);
                    xs[s] = Tensor.create(record.clone(), n, 1);
                    in.dloss.read((long) s * n, d, 0, n);
                    dloss[s] = Tensor.create(d.clone(), n, 1);
                }
                in.backward();
                torchLstm.backward(xs, h0, c0, dloss);
                Agreement.require("libtorch backward dphi", torchLstm.gradient(), in.dphi.toDoubleArray(), BOUND);
            }
        }
    }

    /** One libtorch step (no-grad) for all n coordinates. */
    @Benchmark
    public void torchStep(StepInputs s) {
        s.torchLstm.step(s.theta, s.x, s.h, s.c);
    }

    /** The libtorch forward over 20 steps with autograd, and its backward pass. */
    @Benchmark
    public void torchBackward(BackwardInputs b) {
        b.torchLstm.backward(b.xs, b.h0, b.c0, b.dloss);
    }
}
