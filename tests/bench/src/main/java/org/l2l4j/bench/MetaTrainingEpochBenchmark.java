package org.l2l4j.bench;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.l2l4j.backend.Backend;
import org.l2l4j.data.DataUnavailableException;
import org.l2l4j.data.MnistData;
import org.l2l4j.data.MnistFetcher;
import org.l2l4j.data.Split;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.Precision;
import org.l2l4j.meta.MetaTrainer;
import org.l2l4j.meta.MetaTrainingOptions;
import org.l2l4j.meta.TrainingState;
import org.l2l4j.optimizees.MlpFamily;
import org.l2l4j.optimizees.MlpSpec;
import org.l2l4j.optimizees.RandomData;
import org.openjdk.jmh.annotations.AuxCounters;
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
 * One meta-training epoch on the paper's MNIST setup ({@link MetaTrainer#trainEpoch}): a
 * trajectory of 100 steps on a fresh 784-20-10 sigmoid MLP (15,910 coordinates, minibatches of
 * 128), five unrolls of 20 steps each followed by the backward pass and an Adam step on phi;
 * 1 or 2 threads for the LSTM kernels (the optimizee runs on one).  MNIST comes from the cache
 * ({@link MnistFetcher#defaultCacheFolder()}) when it is there, else from MNIST-shaped random
 * data (pixels U[0, 1), uniform labels): the work per epoch is the same.
 *
 * <p>phi starts {@code untrained} (as meta-training starts: {@link MetaTrainingOptions#defaults()}'s
 * initialization) or from the {@code shipped} MNIST optimizer
 * ({@link OptimizerCheckpoint#shippedMnist()}, meta-trained for 1,750 epochs): a trained phi, whose
 * backward pass meets subnormal numbers where an untrained one's meets none (on MNIST, without
 * flushing, about 2 in 10^5 of its gate gradients over the first epochs: far fewer than a phi
 * trained at a high meta-learning rate, see {@link KernelInputs.Inputs#SATURATED}).  Meta-training
 * continues from it ({@link MetaTrainer#restore}, Adam's moments at zero), a few epochs per
 * iteration, which move phi little.
 *
 * <p>{@code precision} chooses the LSTM's gate products: {@code FLOAT32} or {@code BF16_PRODUCTS}
 * (bfloat16 operands, {@link Precision#BF16_PRODUCTS}), as {@code train --precision} does.
 *
 * <p>The auxiliary counters ({@link TimeSplit}) give the time spent in the LSTM kernels and in the
 * optimizee per iteration, and the epochs run; {@link BenchReport} divides them.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@State(Scope.Benchmark)
public class MetaTrainingEpochBenchmark {

    @Param({"1", "2"})
    public int threads;

    /** Where phi starts: {@code untrained} or {@code shipped} (the shipped MNIST optimizer). */
    @Param({"untrained", "shipped"})
    public String phi;

    /** The gate products' precision: a {@link Precision} name. */
    @Param({"FLOAT32", "BF16_PRODUCTS"})
    public String precision;

    private Backend backend;
    private MetaTrainer trainer;

    /** Where an iteration's epochs spent their time (sums over the iteration). */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class TimeSplit {
        /** Nanoseconds in the LSTM kernels (steps, meta-loss gradients, backward passes). */
        public long lstmNanos;
        /** Nanoseconds evaluating the optimizee and copying its parameters. */
        public long optimizeeNanos;
        /** Epochs run. */
        public long epochs;

        @Setup(Level.Iteration)
        public void reset() {
            lstmNanos = 0;
            optimizeeNanos = 0;
            epochs = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        MnistData data = mnistOrSynthetic();
        backend = Backend.cpu(threads);
        MlpSpec spec = MlpSpec.paper();
        LstmConfig config = LstmConfig.paperMnist().withPrecision(Precision.valueOf(precision));
        trainer = new MetaTrainer(backend, config, new MlpFamily(data.split(Split.TRAIN), spec),
                new MlpFamily(data.split(Split.VALIDATION), spec), MetaTrainingOptions.defaults());
        switch (phi) {
            case "untrained" -> {
            }
            case "shipped" -> trainer.restore(startingFrom(OptimizerCheckpoint.shippedMnist(), config));
            default -> throw new IllegalArgumentException("phi must be untrained or shipped, got " + phi);
        }
    }

    /** A training state at epoch 0 whose phi is the checkpoint's, Adam's moments zero. */
    private static TrainingState startingFrom(OptimizerCheckpoint checkpoint, LstmConfig config) {
        LstmConfig c = checkpoint.config();
        if (!Arrays.equals(c.widths(), config.widths()) || c.preprocessing() != config.preprocessing() || c.p() != config.p()
                || c.outputScale() != config.outputScale() || c.logEpsilon() != config.logEpsilon()) {
            throw new IllegalStateException("the shipped optimizer is not the paper's MNIST configuration: " + c);
        }
        float[] f = checkpoint.phi();
        double[] p = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            p[i] = f[i];
        }
        return new TrainingState(0, p, new double[p.length], new double[p.length], 0, null, Double.POSITIVE_INFINITY,
                -1, 0, List.of(), List.of());
    }

    private static MnistData mnistOrSynthetic() throws IOException {
        try {
            MnistData mnist = MnistData.load(MnistFetcher.defaultCacheFolder());
            System.out.println("MNIST from " + MnistFetcher.defaultCacheFolder());
            return mnist;
        } catch (DataUnavailableException e) {
            System.out.println("MNIST-shaped random data (" + e.getMessage() + ")");
            return new MnistData(RandomData.of(1, 50_000, MnistData.FEATURES, MnistData.CLASSES),
                    RandomData.of(2, 10_000, MnistData.FEATURES, MnistData.CLASSES),
                    RandomData.of(3, 10_000, MnistData.FEATURES, MnistData.CLASSES));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        trainer.close();
        backend.close();
    }

    /** One epoch of meta-training (no validation). */
    @Benchmark
    public double epoch(TimeSplit split) {
        double lstm = trainer.lstmSeconds();
        double optimizee = trainer.optimizeeSeconds();
        double loss = trainer.trainEpoch();
        split.lstmNanos += Math.round((trainer.lstmSeconds() - lstm) * 1e9);
        split.optimizeeNanos += Math.round((trainer.optimizeeSeconds() - optimizee) * 1e9);
        split.epochs++;
        return loss;
    }
}
