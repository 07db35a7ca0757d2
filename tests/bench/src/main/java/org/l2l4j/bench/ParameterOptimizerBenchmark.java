package org.l2l4j.bench;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.lstm.CoordinatewiseLstm;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.PhiInit;
import org.l2l4j.lstm.TensorList;
import org.l2l4j.optimizers.HandDesignedRule;
import org.l2l4j.optimizers.LstmOptimizer;
import org.l2l4j.optimizers.ParameterOptimizer;
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
 * The cost of the drop-in optimizer's conveniences at n coordinates split over four tensors of
 * different sizes (60%, 30%, 9%, 1%), one CPU thread, finite check on everywhere, for the
 * paper's LSTM 20-20 ({@code architecture=lstm-20-20}) and for a learned linear rule without LSTM layers
 * ({@code architecture=linear}), whose kernel takes so little time that the overhead stands out of the
 * noise of a shared machine: the raw fused step on preallocated native buffers ({@link #rawStep}), the
 * {@link LstmOptimizer} on {@code float[]} tensors (copied through native staging,
 * {@link #lstmOptimizerArrays}) and on direct buffers (in place, {@link #lstmOptimizerDirect}),
 * beside plain-Java Adam on the same arrays, as a vector optimizer ({@link #javaAdam}) and
 * behind the registration interface ({@link #adamParameterOptimizer}).  The drop-in's overhead
 * is its time minus {@link #rawStep}.
 *
 * <p>Each benchmark runs in two modes: sample time, whose median (p0.50) is the time to compare,
 * since on a shared machine other processes inflate a mean by far more than the overhead; and
 * average time, whose {@code gc.alloc.rate.norm} under {@code -prof gc} is the bytes allocated
 * per step (the sample mode's own bookkeeping allocates).  Run with
 * {@code mvn -B -Pbench verify -DskipTests -Djmh.args="ParameterOptimizerBenchmark -prof gc"}.
 */
@BenchmarkMode({Mode.SampleTime, Mode.AverageTime})
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 10, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Fork(1)
@State(Scope.Benchmark)
public class ParameterOptimizerBenchmark {

    @Param({"1000"})
    public int n;

    @Param({"lstm-20-20", "linear"})
    public String architecture;

    private int[] sizes;
    private Backend backend;
    private CoordinatewiseLstm lstm;
    private NativeBuffer phi;
    private NativeBuffer theta;
    private NativeBuffer grad;
    private NativeBuffer state;
    private TensorList raw;
    private LstmOptimizer arrays;
    private LstmOptimizer direct;
    private ParameterOptimizer registeredAdam;
    private float[] adamTheta;
    private float[] adamGrad;
    private double[] adamFirst;
    private double[] adamSecond;
    private long adamSteps;

    @Setup(Level.Trial)
    public void setUp() {
        sizes = new int[] {n * 6 / 10, n * 3 / 10, n * 9 / 100, 0};
        sizes[3] = n - sizes[0] - sizes[1] - sizes[2];
        LstmConfig config = architecture.equals("lstm-20-20") ? LstmConfig.paperMnist() : LstmConfig.paperMnist().withWidths();
        double[] p = PhiInit.PYTORCH.initialize(config, 7);
        float[] pf = new float[p.length];
        for (int i = 0; i < p.length; i++) {
            pf[i] = (float) p[i];
        }
        OptimizerCheckpoint checkpoint = new OptimizerCheckpoint(config, pf, Map.of());
        SplittableRandom rnd = new SplittableRandom(1);
        float[] gradient = new float[n];
        for (int i = 0; i < n; i++) {
            gradient[i] = (float) ((rnd.nextDouble() - 0.5) * Math.pow(10, -6 + 4 * rnd.nextDouble()));
        }

        backend = Backend.cpu(1);
        lstm = new CoordinatewiseLstm(config);
        phi = backend.allocateFloats(pf.length);
        phi.write(pf);
        theta = backend.allocateFloats(n);
        grad = backend.allocateFloats(n);
        grad.write(gradient);
        state = config.stateRows() == 0 ? null : backend.allocateFloats((long) config.stateRows() * n);
        TensorList.Builder b = TensorList.builder();
        long at = 0;
        for (int size : sizes) {
            b.add(theta, at, grad, at, size);
            at += size;
        }
        raw = b.build();

        arrays = LstmOptimizer.builder(checkpoint).threads(1).build();
        direct = LstmOptimizer.builder(checkpoint).threads(1).build();
        registeredAdam = HandDesignedRule.ADAM.factory(1e-3).parameterOptimizer();
        at = 0;
        for (int k = 0; k < sizes.length; k++) {
            float[] g = java.util.Arrays.copyOfRange(gradient, (int) at, (int) at + sizes[k]);
            arrays.register("t" + k, new float[sizes[k]], g.clone());
            registeredAdam.register("t" + k, new float[sizes[k]], g.clone());
            FloatBuffer dp = ByteBuffer.allocateDirect(4 * sizes[k]).order(ByteOrder.nativeOrder()).asFloatBuffer();
            FloatBuffer dg = ByteBuffer.allocateDirect(4 * sizes[k]).order(ByteOrder.nativeOrder()).asFloatBuffer();
            dg.put(0, g);
            direct.register("t" + k, dp, dg);
            at += sizes[k];
        }
        adamTheta = new float[n];
        adamFirst = new double[n];
        adamSecond = new double[n];
        adamGrad = gradient.clone();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arrays.close();
        direct.close();
        registeredAdam.close();
        raw.close();
        for (NativeBuffer buffer : new NativeBuffer[] {phi, theta, grad, state}) {
            if (buffer != null) {
                buffer.close();
            }
        }
        lstm.close();
        backend.close();
    }

    /** The fused native step on preallocated native buffers (the kernel time). */
    @Benchmark
    public void rawStep() {
        lstm.step(phi, raw, state, null, 0, true);
    }

    /** The drop-in optimizer on float[] tensors, staged through native memory. */
    @Benchmark
    public void lstmOptimizerArrays() {
        arrays.step();
    }

    /** The drop-in optimizer on direct buffers, used in place. */
    @Benchmark
    public void lstmOptimizerDirect() {
        direct.step();
    }

    /**
     * Plain-Java Adam on one float[] vector of n, as a training loop would write it inline:
     * PyTorch's update with the constants of {@link HandDesignedRule#ADAM}, double-precision state.
     */
    @Benchmark
    public void javaAdam() {
        long t = ++adamSteps;
        double stepSize = 1e-3 / (1 - Math.pow(HandDesignedRule.ADAM_BETA1, t));
        double secondCorrection = Math.sqrt(1 - Math.pow(HandDesignedRule.ADAM_BETA2, t));
        for (int i = 0; i < n; i++) {
            double g = adamGrad[i];
            adamFirst[i] = HandDesignedRule.ADAM_BETA1 * adamFirst[i] + (1 - HandDesignedRule.ADAM_BETA1) * g;
            adamSecond[i] = HandDesignedRule.ADAM_BETA2 * adamSecond[i] + (1 - HandDesignedRule.ADAM_BETA2) * g * g;
            adamTheta[i] = (float) (adamTheta[i] - stepSize * adamFirst[i]
                    / (Math.sqrt(adamSecond[i]) / secondCorrection + HandDesignedRule.EPSILON));
        }
    }

    /** The same Adam behind the registration interface, on the four float[] tensors. */
    @Benchmark
    public void adamParameterOptimizer() {
        registeredAdam.step();
    }
}
