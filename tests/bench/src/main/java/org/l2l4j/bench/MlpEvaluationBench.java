package org.l2l4j.bench;

import java.util.concurrent.TimeUnit;
import org.l2l4j.optimizees.MlpFamily;
import org.l2l4j.optimizees.MlpOptimizee;
import org.l2l4j.optimizees.MlpSpec;
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
 * One evaluation (loss and gradient on a fresh minibatch of 128) of the paper's MNIST optimizee,
 * 784-20-10 sigmoid, on MNIST-shaped random data of 10,000 examples (the size of t10k, so rows
 * are gathered from memory as in a real run), single-threaded.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class MlpEvaluationBench {

    private MlpOptimizee f;
    private float[] theta;
    private float[] gradient;

    @Setup
    public void setUp() {
        f = new MlpFamily(RandomData.of(1, 10_000, 784, 10), MlpSpec.paper()).sample(1);
        theta = new float[f.dimension()];
        gradient = new float[f.dimension()];
        f.initialParameters(theta);
    }

    @Benchmark
    public double lossAndGradient() {
        return f.lossAndGradient(theta, gradient);
    }
}
