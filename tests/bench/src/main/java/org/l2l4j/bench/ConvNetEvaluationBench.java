package org.l2l4j.bench;

import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.l2l4j.data.Cifar10Data;
import org.l2l4j.data.Dataset;
import org.l2l4j.optimizees.ConvNetFamily;
import org.l2l4j.optimizees.ConvNetOptimizee;
import org.l2l4j.optimizees.ConvNetSpec;
import org.l2l4j.optimizees.RandomData;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One evaluation (forward and backward: loss and gradient) of the paper's CIFAR-10 optimizee,
 * {@link ConvNetSpec#paper()} (22,682 parameters), on a fixed minibatch of 128 CIFAR-shaped random
 * images, single-threaded (OpenBLAS on one thread, im2col and batch norm in Java), at the
 * network's initial parameters.  {@code TorchConvNetBenchmark} (profile bench-torch) times the
 * same network in libtorch on the same minibatch after checking that both agree.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class ConvNetEvaluationBench {
    /** Examples per minibatch (the paper's). */
    static final int BATCH = 128;

    private ConvNetOptimizee f;
    private float[] theta;
    private float[] gradient;
    private int[] batch;

    /** 512 CIFAR-shaped random images (pixels in [0, 1)) of 10 classes. */
    static Dataset data() {
        return RandomData.of(3, 512, Cifar10Data.FEATURES, Cifar10Data.CLASSES);
    }

    /** The optimizee of seed 1 and the minibatch of examples 0..127. */
    static ConvNetOptimizee optimizee() {
        return new ConvNetFamily(data(), ConvNetSpec.paper()).sample(1);
    }

    static int[] minibatch() {
        return IntStream.range(0, BATCH).toArray();
    }

    @Setup
    public void setUp() {
        f = optimizee();
        theta = new float[f.dimension()];
        gradient = new float[f.dimension()];
        f.initialParameters(theta);
        batch = minibatch();
    }

    @Benchmark
    public double lossAndGradient() {
        return f.lossAndGradient(theta, gradient, batch);
    }
}
