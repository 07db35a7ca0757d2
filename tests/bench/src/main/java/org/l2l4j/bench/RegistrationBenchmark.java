package org.l2l4j.bench;

import java.util.concurrent.TimeUnit;
import org.l2l4j.optimizers.HandDesignedRule;
import org.l2l4j.optimizers.ParameterOptimizer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of registering k tensors with a {@link ParameterOptimizer} (Adam; the checks for
 * names and shared memory are those of every optimizer): O(k log k), so the time per tensor
 * should grow only slowly from k = 1,000 to k = 20,000.  Run with
 * {@code mvn -B -Pbench verify -DskipTests -Djmh.args="RegistrationBenchmark"}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class RegistrationBenchmark {

    @Param({"1000", "20000"})
    public int tensors;

    private float[][] parameters;
    private float[][] gradients;
    private String[] names;

    @Setup
    public void setUp() {
        parameters = new float[tensors][3];
        gradients = new float[tensors][3];
        names = new String[tensors];
        for (int k = 0; k < tensors; k++) {
            names[k] = "layer" + k + ".weight";
        }
    }

    /** Registers every tensor with a fresh optimizer. */
    @Benchmark
    public long register() {
        try (ParameterOptimizer optimizer = HandDesignedRule.ADAM.factory(1e-3).parameterOptimizer()) {
            for (int k = 0; k < tensors; k++) {
                optimizer.register(names[k], parameters[k], gradients[k]);
            }
            return optimizer.coordinates();
        }
    }
}
