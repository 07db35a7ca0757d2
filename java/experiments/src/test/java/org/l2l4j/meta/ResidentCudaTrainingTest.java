package org.l2l4j.meta;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.CudaTests;
import org.l2l4j.backend.L2lException;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.optimizees.ConvNetFamily;
import org.l2l4j.optimizees.ConvNetSpec;
import org.l2l4j.optimizees.MlpFamily;
import org.l2l4j.optimizees.MlpSpec;
import org.l2l4j.optimizees.OptimizeeFamily;
import org.l2l4j.optimizees.RandomData;
import org.l2l4j.optimizees.ResidentConvNetFamily;
import org.l2l4j.optimizees.ResidentMlpFamily;

/**
 * Meta-training epochs with everything resident on a CUDA device against the same epochs on the
 * CPU backend: the paper's MNIST setup (784-20-10 sigmoid MLP, LSTM 20-20, unroll 20, on
 * MNIST-shaped random data; both resident), where the meta-losses agree to 1e-4 relative, and a
 * small convolutional network with batch norm and the two parameter groups conv and fc (cuDNN on
 * the device, the host evaluation with the CPU backend), to 1e-3.  Skipped, saying why, without
 * a CUDA device or without cuBLAS or cuDNN (failed with {@code L2L_REQUIRE_CUDA=1},
 * {@link org.l2l4j.backend.CudaTests}).
 */
class ResidentCudaTrainingTest {

    @Test
    void cudaEpochsMatchCpuEpochs() {
        CudaTests.requireDevice();
        MlpFamily family = new MlpFamily(RandomData.of(5, 2000, 784, 10), MlpSpec.paper());
        MetaTrainingOptions options = MetaTrainingOptions.defaults().withHorizon(40).withInstances(2,
                InputScaling.PAPER).withSeed(3);
        double[] onCpu = epochs(Backend.cpu(0), family, options);
        double[] onGpu;
        try {
            onGpu = epochs(Backend.cuda(0), family, options);
        } catch (L2lException e) {
            throw CudaTests.requireLibrary("cuBLAS", e);
        }
        for (int e = 0; e < onCpu.length; e++) {
            double err = Math.abs(onGpu[e] - onCpu[e]) / Math.abs(onCpu[e]);
            assertTrue(Double.isFinite(onGpu[e]) && err < 1e-4, "epoch " + e + ": CUDA meta-loss " + onGpu[e]
                    + " vs CPU " + onCpu[e]);
        }
    }

    @Test
    void cudnnEpochsOfAConvolutionalNetworkMatchHostEpochs() {
        CudaTests.requireDevice();
        ConvNetSpec spec = new ConvNetSpec(3, 16, List.of(8, 8), 5, 16, 32);
        ConvNetFamily family = new ConvNetFamily(RandomData.of(6, 400, spec.features(), 4), spec);
        ParameterGroups groups = ParameterGroups.parse("conv,fc", LstmConfig.paperMnist());
        MetaTrainingOptions options = MetaTrainingOptions.defaults().withHorizon(40).withInstances(2,
                InputScaling.PAPER).withSeed(3);
        double[] onCpu;
        try (Backend cpu = Backend.cpu(0)) {
            onCpu = epochs(cpu, groups, family, options);
        }
        double[] onGpu;
        try (Backend cuda = Backend.cuda(0); ResidentConvNetFamily resident = new ResidentConvNetFamily(family, cuda)) {
            onGpu = epochs(cuda, groups, resident, options);
        } catch (L2lException e) {
            throw CudaTests.requireLibrary("cuDNN or cuBLAS", e);
        }
        for (int e = 0; e < onCpu.length; e++) {
            double err = Math.abs(onGpu[e] - onCpu[e]) / Math.abs(onCpu[e]);
            assertTrue(Double.isFinite(onGpu[e]) && err < 1e-3, "epoch " + e + ": CUDA meta-loss " + onGpu[e]
                    + " vs host " + onCpu[e]);
        }
    }

    private static double[] epochs(Backend backend, ParameterGroups groups, OptimizeeFamily family,
                                   MetaTrainingOptions options) {
        try (MetaTrainer trainer = new MetaTrainer(backend, groups, family, family, options)) {
            return new double[] {trainer.runEpoch(), trainer.runEpoch()};
        }
    }

    private static double[] epochs(Backend backend, MlpFamily family, MetaTrainingOptions options) {
        try (backend; ResidentMlpFamily resident = new ResidentMlpFamily(family, backend);
             MetaTrainer trainer = new MetaTrainer(backend, LstmConfig.paperMnist(), resident, resident, options)) {
            return new double[] {trainer.runEpoch(), trainer.runEpoch()};
        }
    }
}
