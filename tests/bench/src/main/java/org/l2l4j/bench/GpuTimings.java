package org.l2l4j.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.data.Dataset;
import org.l2l4j.lstm.CoordinatewiseLstm;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.Precision;
import org.l2l4j.lstm.ParameterGroup;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.lstm.PhiInit;
import org.l2l4j.lstm.PhiLayout;
import org.l2l4j.lstm.TensorList;
import org.l2l4j.lstm.UnrollRecord;
import org.l2l4j.meta.MetaTrainer;
import org.l2l4j.meta.MetaTrainingOptions;
import org.l2l4j.optimizees.ConvNetFamily;
import org.l2l4j.optimizees.ConvNetSpec;
import org.l2l4j.optimizees.MlpFamily;
import org.l2l4j.optimizees.MlpSpec;
import org.l2l4j.optimizees.OptimizeeFamily;
import org.l2l4j.optimizees.ResidentConvNetFamily;
import org.l2l4j.optimizees.ResidentMlpFamily;
import org.l2l4j.optimizers.LstmOptimizer;
import org.l2l4j.safetensors.Safetensors;
import org.l2l4j.safetensors.Tensor;

/**
 * The CUDA side of the GPU comparison (tests/gpu/run_all.sh): times the shipped MNIST optimizer's
 * step and backward pass with CUDA events, an MNIST meta-training epoch on the device, and the
 * device's copy bandwidth, and writes the inputs and outputs of a short unroll for the parity
 * check against the PyTorch implementation (tests/gpu/torch_lstm.py).  A timing program, not a
 * test: each result is one line {@code RESULT impl=ours op=... n=... ms=...} on standard output,
 * the format that tests/gpu/summary.py reads.
 *
 * <pre>
 *   GpuTimings step N[,N...] [P]    one step (no record), per call; P: the shipped optimizer's
 *                                   precision (FLOAT32) or BF16_PRODUCTS, reported as impl=ours-bf16
 *   GpuTimings backward N[,N...] [P]  T = 20 recorded steps, then the backward pass over them
 *   GpuTimings epoch E              E meta-training epochs (MNIST-shaped data, resident on the
 *                                   device) after one warm-up epoch, and one on the CPU host path
 *   GpuTimings cifar-epoch E        E meta-training epochs of the paper's CIFAR-10 network (random
 *                                   CIFAR-shaped data, cuDNN, groups conv and fc, resident on the
 *                                   device) after one warm-up epoch
 *   GpuTimings bandwidth            device-to-device copy of 2 GiB (bytes read + written)
 *   GpuTimings parity FILE N T [cpu]  T steps and their backward pass on the same inputs, to FILE
 *                                   (on the CPU backend with "cpu")
 *   GpuTimings gac FILE N T B       the same for LSTM+GAC (two averaging units per layer) over B
 *                                   optimizee instances of N / B coordinates, on the CPU backend
 *   GpuTimings groups OPTIMIZER STEPS  a learned optimizer of two parameter groups (OPTIMIZER, its
 *                                   checkpoint) and T = 3 steps of the training-loop optimizer on
 *                                   named tensors of both groups (STEPS), on the CPU backend: the
 *                                   input of torch_lstm.py groups
 * </pre>
 *
 * Timing protocol: warm-up calls first, then 5 samples, each a run of K back-to-back calls
 * between two CUDA events with K chosen so that a sample lasts at least 2 ms; the median sample
 * divided by K is reported.  Inputs are random (gradients spanning 1e-12 to 1e3), never zeros.
 */
public final class GpuTimings {
    static final int UNROLL = 20;
    static final int SAMPLES = 5;
    /** Exit status when no CUDA device is usable (run_all.sh reports the stage as skipped). */
    static final int NO_DEVICE = 3;

    private GpuTimings() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            throw new IllegalArgumentException("usage: GpuTimings step|backward|epoch|bandwidth|parity ...");
        }
        if (args[0].equals("groups")) {
            groups(Path.of(args[1]), Path.of(args[2]));
            return;
        }
        if (args[0].equals("parity") && args.length > 4 && args[4].equals("cpu")) {
            try (Backend cpu = Backend.cpu(0)) {
                parity(cpu, shipped().config(), 1, Path.of(args[1]), Integer.parseInt(args[2]),
                        Integer.parseInt(args[3]));
            }
            return;
        }
        if (args[0].equals("gac")) {
            try (Backend cpu = Backend.cpu(0)) {
                parity(cpu, shipped().config().withGacUnits(2, 2), Integer.parseInt(args[4]), Path.of(args[1]),
                        Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            }
            return;
        }
        if (Backend.cudaDeviceCount() == 0) {
            System.out.println("SKIP no CUDA device: " + Backend.cudaUnavailableReason());
            System.exit(NO_DEVICE);
        }
        try (Backend gpu = Backend.cuda(0)) {
            switch (args[0]) {
                case "step" -> forEachSize(args[1], n -> timeStep(gpu, n, precision(args)));
                case "backward" -> forEachSize(args[1], n -> timeBackward(gpu, n, precision(args)));
                case "epoch" -> timeEpochs(gpu, Integer.parseInt(args[1]));
                case "cifar-epoch" -> timeCifarEpochs(gpu, Integer.parseInt(args[1]));
                case "bandwidth" -> timeCopy(gpu);
                case "parity" -> parity(gpu, shipped().config(), 1, Path.of(args[1]), Integer.parseInt(args[2]),
                        Integer.parseInt(args[3]));
                default -> throw new IllegalArgumentException("unknown mode " + args[0]);
            }
        }
    }

    private interface Size {
        void run(int n) throws IOException;
    }

    /** Runs each size; one that does not fit in device memory is reported and skipped. */
    private static void forEachSize(String list, Size body) throws IOException {
        for (String s : list.split(",")) {
            int n = (int) Double.parseDouble(s);
            try {
                body.run(n);
            } catch (L2lException e) {
                System.out.println("SKIP n=" + n + ": " + e.getMessage());
            }
        }
    }

    static OptimizerCheckpoint shipped() throws IOException {
        return OptimizerCheckpoint.shippedMnist();
    }

    static float[] spanningGradients(int n, SplittableRandom rnd) {
        float[] g = new float[n];
        for (int i = 0; i < n; i++) {
            double mag = Math.pow(10, -12 + 15 * rnd.nextDouble());
            g[i] = (float) (rnd.nextBoolean() ? mag : -mag);
        }
        return g;
    }

    static float[] uniform(int n, double a, SplittableRandom rnd) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((2 * rnd.nextDouble() - 1) * a);
        }
        return v;
    }

    /** Median milliseconds per call of {@code call}, by the protocol of the class comment. */
    static double time(Backend gpu, Runnable call, int warmup) {
        for (int i = 0; i < warmup; i++) {
            call.run();
        }
        try (CudaEvents events = CudaEvents.open(gpu)) {
            double single = sample(gpu, events, call, 1);
            int k = (int) Math.max(1, Math.min(1000, Math.ceil(2.0 / Math.max(single, 1e-3))));
            double[] samples = new double[SAMPLES];
            for (int s = 0; s < SAMPLES; s++) {
                samples[s] = sample(gpu, events, call, k) / k;
            }
            Arrays.sort(samples);
            return samples[SAMPLES / 2];
        }
    }

    private static double sample(Backend gpu, CudaEvents events, Runnable call, int k) {
        gpu.synchronize();
        if (events != null) {
            events.start();
            for (int i = 0; i < k; i++) {
                call.run();
            }
            return events.stopMillis();
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < k; i++) {
            call.run();
        }
        gpu.synchronize();
        return (System.nanoTime() - t0) / 1e6;
    }

    static void result(String op, long n, double ms, String extra) {
        result("ours", op, n, ms, extra);
    }

    static void result(String impl, String op, long n, double ms, String extra) {
        System.out.printf(Locale.ROOT, "RESULT impl=%s op=%s n=%d ms=%.6g%s%n", impl, op, n, ms,
                extra.isEmpty() ? "" : " " + extra);
    }

    /** The precision of a step or backward timing: args[2] if given, else float32. */
    private static Precision precision(String[] args) {
        return args.length > 2 ? Precision.valueOf(args[2]) : Precision.FLOAT32;
    }

    /** The impl name of a timing in this precision: ours, or ours-bf16. */
    private static String impl(Precision precision) {
        return precision == Precision.FLOAT32 ? "ours" : "ours-bf16";
    }

    private static void timeStep(Backend gpu, int n, Precision precision) throws IOException {
        OptimizerCheckpoint ckpt = shipped();
        LstmConfig config = ckpt.config().withPrecision(precision);
        SplittableRandom rnd = new SplittableRandom(n);
        try (CoordinatewiseLstm lstm = new CoordinatewiseLstm(config);
             NativeBuffer phi = gpu.allocateFloats(lstm.phiSize()); NativeBuffer theta = gpu.allocateFloats(n);
             NativeBuffer grad = gpu.allocateFloats(n);
             NativeBuffer state = gpu.allocateFloats((long) config.stateRows() * n);
             TensorList tensors = TensorList.of(theta, grad)) {
            phi.write(ckpt.phi());
            theta.write(uniform(n, 1, rnd));
            grad.write(spanningGradients(n, rnd));
            double ms = time(gpu, () -> lstm.step(phi, tensors, state, null, 0, false), 5);
            result(impl(precision), "step", n, ms, "");
        }
    }

    private static void timeBackward(Backend gpu, int n, Precision precision) throws IOException {
        OptimizerCheckpoint ckpt = shipped();
        LstmConfig config = ckpt.config().withPrecision(precision);
        SplittableRandom rnd = new SplittableRandom(n);
        try (CoordinatewiseLstm lstm = new CoordinatewiseLstm(config);
             NativeBuffer phi = gpu.allocateFloats(lstm.phiSize()); NativeBuffer theta = gpu.allocateFloats(n);
             NativeBuffer grad = gpu.allocateFloats(n);
             NativeBuffer state = gpu.allocateFloats((long) config.stateRows() * n);
             TensorList tensors = TensorList.of(theta, grad);
             UnrollRecord record = new UnrollRecord(gpu, config, n, UNROLL);
             NativeBuffer dloss = gpu.allocateFloats((long) UNROLL * n);
             NativeBuffer dphi = gpu.allocateDoubles(lstm.phiSize())) {
            phi.write(ckpt.phi());
            theta.write(uniform(n, 1, rnd));
            grad.write(spanningGradients(n, rnd));
            float[] d = uniform(n, 1e-3, rnd);
            for (int s = 0; s < UNROLL; s++) {
                dloss.write((long) s * n, d, 0, n);
            }
            Runnable unroll = () -> {
                for (int s = 0; s < UNROLL; s++) {
                    lstm.step(phi, tensors, state, record, s, false);
                }
            };
            double steps = time(gpu, unroll, 1);
            result(impl(precision), "recorded_unroll", n, steps, "steps=" + UNROLL);
            double ms = time(gpu, () -> lstm.backward(phi, record, UNROLL, dloss, null, dphi, null, null, false), 2);
            result(impl(precision), "backward", n, ms, "steps=" + UNROLL);
        }
    }

    private static void timeCopy(Backend gpu) {
        long floats = 1L << 29;  // 2 GiB
        try (NativeBuffer a = gpu.allocateFloats(floats); NativeBuffer b = gpu.allocateFloats(floats)) {
            a.write(0, uniform(1 << 20, 1, new SplittableRandom(1)), 0, 1 << 20);
            double ms = time(gpu, () -> b.copyFrom(a, 0, 0, floats), 3);
            double bytes = 2.0 * 4 * floats;
            System.out.printf(Locale.ROOT, "RESULT impl=ours op=copy n=%d ms=%.6g gbps=%.1f%n", floats, ms,
                    bytes / ms / 1e6);
        }
    }

    /** MNIST-shaped random data (50,000 x 784, 10 classes): the same work as MNIST's training split. */
    static Dataset mnistShaped() {
        SplittableRandom rnd = new SplittableRandom(7);
        int size = 50_000;
        float[] images = new float[size * 784];
        for (int i = 0; i < images.length; i++) {
            images[i] = (float) rnd.nextDouble();
        }
        int[] labels = new int[size];
        for (int i = 0; i < size; i++) {
            labels[i] = rnd.nextInt(10);
        }
        return new Dataset(images, labels, 784, 10);
    }

    private static void timeEpochs(Backend gpu, int epochs) {
        MlpFamily family = new MlpFamily(mnistShaped(), MlpSpec.paper());
        MetaTrainingOptions options = MetaTrainingOptions.defaults().withEpochs(epochs + 1)
                .withEvaluation(Integer.MAX_VALUE, 1);
        double gpuMs;
        try (ResidentMlpFamily resident = new ResidentMlpFamily(family, gpu)) {
            gpuMs = medianEpochMillis(gpu, resident, options);
        }
        result("epoch", family.dimension(), gpuMs, "where=cuda-resident steps=" + options.horizon());
        try (Backend cpu = Backend.cpu(0)) {
            double cpuMs = medianEpochMillis(cpu, family, options.withEpochs(3));
            System.out.printf(Locale.ROOT, "RESULT impl=cpu op=epoch n=%d ms=%.6g where=cpu-host threads=%d%n",
                    family.dimension(), cpuMs, cpu.threads());
        }
    }

    /** The paper's CIFAR-10 network on 2,000 random CIFAR-shaped images: epochs on cuDNN, everything resident. */
    private static void timeCifarEpochs(Backend gpu, int epochs) {
        SplittableRandom rnd = new SplittableRandom(11);
        int size = 2000;
        float[] images = new float[size * 3072];
        int[] labels = new int[size];
        for (int i = 0; i < images.length; i++) {
            images[i] = (float) rnd.nextDouble();
        }
        for (int i = 0; i < size; i++) {
            labels[i] = rnd.nextInt(10);
        }
        ConvNetFamily family = new ConvNetFamily(new Dataset(images, labels, 3072, 10), ConvNetSpec.paper());
        MetaTrainingOptions options = MetaTrainingOptions.defaults().withEpochs(epochs + 1)
                .withEvaluation(Integer.MAX_VALUE, 1);
        try (ResidentConvNetFamily resident = new ResidentConvNetFamily(family, gpu)) {
            double ms = medianEpochMillis(gpu, ParameterGroups.parse("conv,fc", LstmConfig.paperMnist()), resident,
                    options);
            result("cifar-epoch", family.dimension(), ms, "where=cuda-resident-cudnn steps=" + options.horizon());
        }
    }

    /** Wall time per epoch (each ends with a read of dphi, so the device work is done), warm-up excluded. */
    private static double medianEpochMillis(Backend backend, OptimizeeFamily family, MetaTrainingOptions options) {
        return medianEpochMillis(backend, ParameterGroups.single(LstmConfig.paperMnist()), family, options);
    }

    private static double medianEpochMillis(Backend backend, ParameterGroups groups, OptimizeeFamily family,
                                            MetaTrainingOptions options) {
        List<Long> marks = new ArrayList<>();
        try (MetaTrainer trainer = new MetaTrainer(backend, groups, family, family, options)) {
            marks.add(System.nanoTime());
            trainer.train(new MetaTrainer.Listener() {
                @Override
                public void epochDone(int done, double metaLoss) {
                    marks.add(System.nanoTime());
                    System.out.printf(Locale.ROOT, "# %s epoch %d: meta-loss %.4f%n", backend.kind(), done, metaLoss);
                }
            });
        }
        double[] ms = new double[marks.size() - 2];
        for (int i = 2; i < marks.size(); i++) {
            ms[i - 2] = (marks.get(i) - marks.get(i - 1)) / 1e6;
        }
        Arrays.sort(ms);
        return ms[ms.length / 2];
    }

    /**
     * The parameter-group check's files: a checkpoint of two groups ({@code conv}: the convolution
     * kernels, LSTM 20-20 as the paper's; {@code fc}: every other tensor, LSTM 8-8 with output scale
     * 0.3; phi random in every tensor), and, for tensors of a small convolutional network's names,
     * the gradient inputs {@code x.NAME} [T][size] and the parameters {@code theta.NAME} [T][size]
     * after each of T = 3 steps of {@link LstmOptimizer} from theta_0 = 0 and zero state.
     */
    private static void groups(Path optimizerFile, Path stepsFile) throws IOException {
        LstmConfig fc = LstmConfig.paperMnist().withWidths(8, 8).withOutputScale(0.3);
        ParameterGroups groups = ParameterGroups.convolutionAndRest(LstmConfig.paperMnist());
        groups = new ParameterGroups(List.of(groups.get(0), new ParameterGroup("fc", groups.get(1).rule(), fc)));
        float[] phi = new float[groups.phiSize()];
        for (int g = 0; g < groups.count(); g++) {
            float[] own = PhiLayout.toFloat32(PhiInit.PYTORCH.initialize(groups.get(g).config(), 7 + g));
            System.arraycopy(own, 0, phi, groups.phiOffset(g), own.length);
        }
        OptimizerCheckpoint checkpoint = new OptimizerCheckpoint(groups, phi, Map.of("source", "GpuTimings groups"));
        checkpoint.save(optimizerFile);
        String[] names = {"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "fc.weight", "out.bias"};
        int[] sizes = {1200, 16, 16, 6400, 512, 10};
        int steps = 3;
        SplittableRandom rnd = new SplittableRandom(99);
        float[][] theta = new float[names.length][];
        float[][] grad = new float[names.length][];
        float[][] xs = new float[names.length][];
        float[][] thetas = new float[names.length][];
        try (LstmOptimizer optimizer = LstmOptimizer.builder(checkpoint).threads(1).build()) {
            for (int k = 0; k < names.length; k++) {
                theta[k] = new float[sizes[k]];
                grad[k] = new float[sizes[k]];
                xs[k] = new float[steps * sizes[k]];
                thetas[k] = new float[steps * sizes[k]];
                optimizer.register(names[k], theta[k], grad[k]);
            }
            for (int s = 0; s < steps; s++) {
                for (int k = 0; k < names.length; k++) {
                    System.arraycopy(spanningGradients(sizes[k], rnd), 0, grad[k], 0, sizes[k]);
                    System.arraycopy(grad[k], 0, xs[k], s * sizes[k], sizes[k]);
                }
                optimizer.step();
                for (int k = 0; k < names.length; k++) {
                    System.arraycopy(theta[k], 0, thetas[k], s * sizes[k], sizes[k]);
                }
            }
        }
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (int k = 0; k < names.length; k++) {
            t.put("x." + names[k], Tensor.ofFloats(new long[] {steps, sizes[k]}, xs[k]));
            t.put("theta." + names[k], Tensor.ofFloats(new long[] {steps, sizes[k]}, thetas[k]));
        }
        Safetensors.write(stepsFile, t, Map.of("tensors", String.join(",", names)));
        System.out.println("# wrote " + optimizerFile + " and " + stepsFile + " (groups " + groups.names() + ")");
    }

    /**
     * The parity file: phi (the shipped optimizer's, run as {@code config}), the inputs theta_0 = 0
     * (so that theta_t is the sum of the updates), the state before step 0, the gradient inputs x
     * [T][n] and the weights dL/d delta [T][n]; and our outputs theta [T][n] after each step, the
     * final state, and dphi (float64) of L = sum_t sum_i dloss[t][i] delta_t[i].  The metadata:
     * the configuration's entries (OptimizerCheckpoint.configMetadata) and {@code instances}.
     */
    private static void parity(Backend backend, LstmConfig config, int instances, Path file, int n, int steps)
            throws IOException {
        OptimizerCheckpoint ckpt = shipped();
        int rows = config.stateRows();
        SplittableRandom rnd = new SplittableRandom(2024);
        float[] state0 = uniform(rows * n, 0.5, rnd);
        float[] xs = new float[steps * n];
        float[] dl = new float[steps * n];
        float[] thetas = new float[steps * n];
        for (int s = 0; s < steps; s++) {
            System.arraycopy(spanningGradients(n, rnd), 0, xs, s * n, n);
            System.arraycopy(uniform(n, 1, rnd), 0, dl, s * n, n);
        }
        float[] finalState;
        double[] dphiOut;
        try (CoordinatewiseLstm lstm = new CoordinatewiseLstm(config);
             NativeBuffer phi = backend.allocateFloats(lstm.phiSize()); NativeBuffer theta = backend.allocateFloats(n);
             NativeBuffer grad = backend.allocateFloats(n); NativeBuffer state = backend.allocateFloats((long) rows * n);
             TensorList tensors = TensorList.builder().add(theta, 0, grad, 0, n).instances(instances).build();
             UnrollRecord record = new UnrollRecord(backend, config, n, steps, instances);
             NativeBuffer dloss = backend.allocateFloats((long) steps * n);
             NativeBuffer dphi = backend.allocateDoubles(lstm.phiSize())) {
            phi.write(ckpt.phi());
            state.write(state0);
            dloss.write(dl);
            for (int s = 0; s < steps; s++) {
                grad.write(0, xs, s * n, n);
                lstm.step(phi, tensors, state, record, s, true);
                theta.read(0, thetas, s * n, n);
            }
            finalState = state.toFloatArray();
            lstm.backward(phi, record, steps, dloss, null, dphi, null, null, true);
            dphiOut = dphi.toDoubleArray();
        }
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("phi", Tensor.ofFloats(new long[] {ckpt.phi().length}, ckpt.phi()));
        t.put("state0", Tensor.ofFloats(new long[] {rows, n}, state0));
        t.put("x", Tensor.ofFloats(new long[] {steps, n}, xs));
        t.put("dloss", Tensor.ofFloats(new long[] {steps, n}, dl));
        t.put("theta", Tensor.ofFloats(new long[] {steps, n}, thetas));
        t.put("state", Tensor.ofFloats(new long[] {rows, n}, finalState));
        t.put("dphi", Tensor.ofDoubles(new long[] {dphiOut.length}, dphiOut));
        Map<String, String> meta = new LinkedHashMap<>(OptimizerCheckpoint.configMetadata(config));
        meta.put("instances", Integer.toString(instances));
        Safetensors.write(file, t, meta);
        System.out.println("# wrote " + file + " (n = " + n + ", T = " + steps + ", " + config + ", " + instances
                + " instances)");
    }
}
