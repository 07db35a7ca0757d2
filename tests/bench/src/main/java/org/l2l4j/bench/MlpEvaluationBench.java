package org.l2l4j.bench;

import java.util.SplittableRandom;
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
 * are gathered from memory as in a real run), single-threaded; and one exact Hessian-vector
 * product of it (float64, forward-over-reverse), which meta-training with exact second
 * derivatives takes once per step.
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
    private float[] direction;
    private float[] product;

    @Setup
    public void setUp() {
        f = new MlpFamily(RandomData.of(1, 10_000, 784, 10), MlpSpec.paper()).sample(1);
        theta = new float[f.dimension()];
        gradient = new float[f.dimension()];
        f.initialParameters(theta);
        SplittableRandom random = new SplittableRandom(2);
        direction = new float[f.dimension()];
        for (int i = 0; i < direction.length; i++) {
            direction[i] = (float) random.nextDouble(-1, 1);
        }
        product = new float[f.dimension()];
    }

    @Benchmark
    public double lossAndGradient() {
        return f.lossAndGradient(theta, gradient);
    }

    /** H v on the minibatch of the optimizee's first evaluation. */
    @Benchmark
    public float[] hessianVectorProduct() {
        f.hessianVectorProduct(0, theta, direction, product);
        return product;
    }
}
