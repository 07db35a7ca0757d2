package org.l2l4j.bench;

import java.util.concurrent.TimeUnit;
import org.bytedeco.pytorch.global.torch;
import org.l2l4j.data.Dataset;
import org.l2l4j.optimizees.ConvNetOptimizee;
import org.l2l4j.optimizees.ConvNetSpec;
import org.l2l4j.optimizees.ParameterTensor;
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
 * The CIFAR-10 optimizee's forward and backward pass in libtorch ({@link TorchConvNet}, libtorch
 * 2.10 for the CPU; profile bench-torch) on the minibatch and parameters of
 * {@link ConvNetEvaluationBench}, with libtorch's intra-op threads set to 1 or 2.  Each trial first
 * checks libtorch's loss (relative error at most 1e-5) and gradient (per tensor, at most 1e-4)
 * against ours and fails if they disagree.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class TorchConvNetBenchmark {
    @Param({"1", "2"})
    public int threads;

    private TorchConvNet net;

    @Setup(Level.Trial)
    public void setUp() {
        torch.set_num_threads(threads);
        ConvNetOptimizee f = ConvNetEvaluationBench.optimizee();
        float[] theta = new float[f.dimension()];
        f.initialParameters(theta);
        int[] batch = ConvNetEvaluationBench.minibatch();
        Dataset data = ConvNetEvaluationBench.data();
        float[] pixels = new float[batch.length * data.features()];
        long[] labels = new long[batch.length];
        for (int e = 0; e < batch.length; e++) {
            System.arraycopy(data.images(), batch[e] * data.features(), pixels, e * data.features(), data.features());
            labels[e] = data.labels()[batch[e]];
        }
        float[] ours = new float[f.dimension()];
        double ourLoss = f.lossAndGradient(theta, ours, batch);
        var tensors = ConvNetSpec.paper().tensors(data.classes());
        net = new TorchConvNet(tensors, theta, pixels, labels, batch.length);
        double loss = net.lossAndGradient();
        Agreement.require("libtorch convnet loss", new double[] {loss}, new double[] {ourLoss}, 1e-5);
        float[] grad = net.gradient(f.dimension());
        for (ParameterTensor t : tensors) {
            Agreement.require("libtorch convnet gradient of " + t.name(),
                    Agreement.toDouble(java.util.Arrays.copyOfRange(grad, t.offset(), t.offset() + t.size())),
                    Agreement.toDouble(java.util.Arrays.copyOfRange(ours, t.offset(), t.offset() + t.size())), 1e-4);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        net.close();
    }

    @Benchmark
    public double torchLossAndGradient() {
        return net.lossAndGradient();
    }
}
