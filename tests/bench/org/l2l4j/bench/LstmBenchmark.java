package org.l2l4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.lstm.CoordinatewiseLstm;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.PhiInit;
import org.l2l4j.lstm.TensorList;
import org.l2l4j.lstm.UnrollRecord;
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
 * The paper's optimizer (LSTM 20-20, log-and-sign) at n coordinates: the native CPU step with 1
 * and 2 threads, the plain single-threaded Java float32 step ({@link JavaLstmStep}), and the
 * native backward pass over an unroll of T = 20 steps.  Time per call; divide by n (and by T for
 * the backward pass) for the time per coordinate-step.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class LstmBenchmark {
    static final int UNROLL = 20;

    @Param({"10000", "100000", "1000000"})
    public int n;

    @Param({"1", "2"})
    public int threads;

    private Backend backend;
    private CoordinatewiseLstm lstm;
    private NativeBuffer phi;
    private NativeBuffer theta;
    private NativeBuffer grad;
    private NativeBuffer state;
    private NativeBuffer dloss;
    private NativeBuffer dphi;
    private UnrollRecord record;
    private TensorList tensors;
    private JavaLstmStep javaStep;
    private float[] jTheta;
    private float[] jGrad;
    private float[] jState;

    @Setup(Level.Trial)
    public void setUp() {
        LstmConfig config = LstmConfig.paperMnist();
        SplittableRandom rnd = new SplittableRandom(1);
        double[] p = PhiInit.PYTORCH.initialize(config, 7);
        float[] pf = new float[p.length];
        for (int i = 0; i < p.length; i++) {
            pf[i] = (float) p[i];
        }
        jGrad = new float[n];
        for (int i = 0; i < n; i++) {
            jGrad[i] = (float) ((rnd.nextDouble() - 0.5) * Math.pow(10, -6 + 4 * rnd.nextDouble()));
        }
        jTheta = new float[n];
        jState = new float[config.stateRows() * n];
        javaStep = new JavaLstmStep(config, pf);

        backend = Backend.cpu(threads);
        lstm = new CoordinatewiseLstm(config);
        phi = backend.allocateFloats(pf.length);
        phi.write(pf);
        theta = backend.allocateFloats(n);
        grad = backend.allocateFloats(n);
        grad.write(jGrad);
        state = backend.allocateFloats((long) config.stateRows() * n);
        tensors = TensorList.of(theta, grad);
        record = new UnrollRecord(backend, config, n, UNROLL);
        for (int s = 0; s < UNROLL; s++) {
            lstm.step(phi, tensors, state, record, s, false);
        }
        dloss = backend.allocateFloats((long) UNROLL * n);
        lstm.metaLossGradients(record, UNROLL, grad, 1.0, dloss);
        dphi = backend.allocateDoubles(lstm.phiSize());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        tensors.close();
        record.close();
        for (NativeBuffer b : new NativeBuffer[] {phi, theta, grad, state, dloss, dphi}) {
            b.close();
        }
        lstm.close();
        backend.close();
    }

    /** The fused native step (one call for all n coordinates). */
    @Benchmark
    public void nativeStep() {
        lstm.step(phi, tensors, state, null, 0, false);
    }

    /** The fused native step writing its backward record. */
    @Benchmark
    public void nativeStepRecorded() {
        lstm.step(phi, tensors, state, record, 0, false);
    }

    /** The fused native backward pass over an unroll of 20 steps. */
    @Benchmark
    public void nativeBackward() {
        lstm.backward(phi, record, UNROLL, dloss, null, dphi, null, null, false);
    }

    /** The plain Java float32 step, single-threaded (runs once per thread value). */
    @Benchmark
    public void javaStep() {
        javaStep.step(jTheta, jGrad, jState, n);
    }
}
