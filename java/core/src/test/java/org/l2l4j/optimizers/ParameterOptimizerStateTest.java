package org.l2l4j.optimizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.Preprocessing;
import org.l2l4j.ntm.NtmBfgsCheckpoint;
import org.l2l4j.ntm.NtmBfgsConfig;
import org.l2l4j.safetensors.CheckpointFormatException;
import org.l2l4j.safetensors.DType;
import org.l2l4j.safetensors.Safetensors;
import org.l2l4j.safetensors.SafetensorsFile;
import org.l2l4j.safetensors.Tensor;

/**
 * Saving and loading an optimizer's whole state: N steps straight equal k steps, save, load into
 * a fresh optimizer, N - k steps, bitwise (parameters and state); files that do not fit (another
 * optimizer, settings, phi or tensors; corrupt; not a state; NaN, infinite or negative second
 * moment state values; a step count that would overflow) are rejected with the reason and leave
 * the state unchanged; a failed load or save does not fix the layout.
 */
class ParameterOptimizerStateTest {
    static final LstmConfig CONFIG = new LstmConfig(new int[] {8, 8}, Preprocessing.LOG_AND_SIGN, 10, 0.1, false);
    static final int[] SIZES = {13, 4, 40, 2, 9, 1};

    /** The two kinds of optimizer behind the interface. */
    enum Kind {
        LSTM(() -> LstmOptimizer.builder(MixedTensors.checkpoint(CONFIG, 1)).threads(1).build()),
        ADAM(() -> HandDesignedRule.ADAM.factory(0.01).parameterOptimizer()),
        NTM_BFGS(() -> NtmBfgsOptimizer.of(ntmCheckpoint(1)));

        final Supplier<ParameterOptimizer> factory;

        Kind(Supplier<ParameterOptimizer> factory) {
            this.factory = factory;
        }

        ParameterOptimizer create() {
            return factory.get();
        }
    }

    /** A small NTM-BFGS optimizer with random phi, U(-0.3, 0.3) from {@code seed}. */
    static NtmBfgsCheckpoint ntmCheckpoint(long seed) {
        NtmBfgsConfig config = new NtmBfgsConfig(new int[] {8, 8}, new int[] {1, 1}, 2, Preprocessing.LOG_AND_SIGN, 10,
                0.1);
        java.util.Random random = new java.util.Random(seed);
        double[] phi = new double[config.phiSize()];
        for (int i = 0; i < phi.length; i++) {
            phi[i] = 0.6 * random.nextDouble() - 0.3;
        }
        return new NtmBfgsCheckpoint(config, phi, Map.of());
    }

    @TempDir
    Path dir;

    private static void run(MixedTensors tensors, ParameterOptimizer optimizer, int steps) {
        for (int t = 0; t < steps; t++) {
            tensors.computeGradients();
            optimizer.step();
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void resumesBitForBit(Kind kind) throws IOException {
        int total = 12;
        int first = 5;
        float[] straight;
        Path straightState = dir.resolve("straight.safetensors");
        try (MixedTensors tensors = new MixedTensors(7, SIZES); ParameterOptimizer optimizer = kind.create()) {
            tensors.register(optimizer);
            run(tensors, optimizer, total);
            straight = tensors.parameters();
            optimizer.saveState(straightState);
        }
        Path saved = dir.resolve("after-k.safetensors");
        float[] thetaK;
        try (MixedTensors tensors = new MixedTensors(7, SIZES); ParameterOptimizer optimizer = kind.create()) {
            tensors.register(optimizer);
            run(tensors, optimizer, first);
            optimizer.saveState(saved);
            thetaK = tensors.parameters();
        }
        Path resumedState = dir.resolve("resumed.safetensors");
        try (MixedTensors tensors = new MixedTensors(7, SIZES); ParameterOptimizer optimizer = kind.create()) {
            tensors.setParameters(thetaK);
            tensors.register(optimizer);
            optimizer.loadState(saved);
            assertEquals(first, optimizer.stepCount());
            run(tensors, optimizer, total - first);
            assertArrayEquals(straight, tensors.parameters(), "resumed parameters differ from the straight run");
            assertEquals(total, optimizer.stepCount());
            optimizer.saveState(resumedState);
        }
        ParameterOptimizerState a = ParameterOptimizerState.load(straightState);
        ParameterOptimizerState b = ParameterOptimizerState.load(resumedState);
        assertEquals(a, b, "the resumed optimizer's state differs from the straight run's");
        assertTrue(a.values().size() >= 2, "the state holds its tensors");
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void mismatchedStateFilesAreRejectedAndChangeNothing(Kind kind) throws IOException {
        Path own = dir.resolve("own.safetensors");
        Path otherTensors = dir.resolve("other-tensors.safetensors");
        Path otherKind = dir.resolve("other-kind.safetensors");
        Path otherSettings = dir.resolve("other-settings.safetensors");
        save(kind::create, SIZES, own);
        save(kind::create, new int[] {13, 4, 40, 2, 9, 2}, otherTensors);
        save(kind == Kind.LSTM ? Kind.ADAM::create : Kind.LSTM::create, SIZES, otherKind);
        save(switch (kind) {
            case LSTM -> () -> LstmOptimizer.builder(MixedTensors.checkpoint(CONFIG.withOutputScale(0.2), 1)).build();
            case ADAM -> () -> HandDesignedRule.ADAM.factory(0.02).parameterOptimizer();
            case NTM_BFGS -> () -> NtmBfgsOptimizer.of(ntmCheckpoint(2));
        }, SIZES, otherSettings);
        Path corrupt = dir.resolve("corrupt.safetensors");
        byte[] bytes = Files.readAllBytes(own);
        bytes[bytes.length - 3] ^= 1;
        Files.write(corrupt, bytes);
        Path notAState = dir.resolve("checkpoint.safetensors");
        MixedTensors.checkpoint(CONFIG, 1).save(notAState);

        try (MixedTensors control = new MixedTensors(9, SIZES); ParameterOptimizer reference = kind.create();
             MixedTensors tensors = new MixedTensors(9, SIZES); ParameterOptimizer victim = kind.create()) {
            control.register(reference);
            tensors.register(victim);
            run(control, reference, 3);
            run(tensors, victim, 3);
            assertRejected(IllegalArgumentException.class, "this optimizer registered", () -> victim.loadState(otherTensors));
            assertRejected(IllegalArgumentException.class, "optimizer, this one is", () -> victim.loadState(otherKind));
            assertRejected(IllegalArgumentException.class, "settings", () -> victim.loadState(otherSettings));
            assertRejected(CheckpointFormatException.class, "SHA-256", () -> victim.loadState(corrupt));
            assertRejected(CheckpointFormatException.class, "not an optimizer state", () -> victim.loadState(notAState));
            assertRejected(java.nio.file.NoSuchFileException.class, "missing",
                    () -> victim.loadState(dir.resolve("missing.safetensors")));
            if (kind == Kind.LSTM) {
                Path otherPhi = dir.resolve("other-phi.safetensors");
                save(() -> LstmOptimizer.builder(MixedTensors.checkpoint(CONFIG, 2)).build(), SIZES, otherPhi);
                assertRejected(IllegalArgumentException.class, "another phi", () -> victim.loadState(otherPhi));
            }
            assertEquals(3, victim.stepCount());
            run(control, reference, 2);
            run(tensors, victim, 2);
            assertArrayEquals(control.parameters(), tensors.parameters(), "a rejected load changed the state");
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void invalidStateValuesAreRejectedAndChangeNothing(Kind kind) throws IOException {
        Path own = dir.resolve("own.safetensors");
        save(kind::create, SIZES, own);
        SafetensorsFile file = Safetensors.read(own);
        List<Path> bad = new ArrayList<>();
        List<String> fragments = new ArrayList<>();
        if (kind == Kind.LSTM) {
            bad.add(withValue(file, "hidden_state", 5, Float.NaN, dir.resolve("nan-hidden.safetensors")));
            fragments.add("state tensor 'hidden_state' holds NaN at index 5");
            bad.add(withValue(file, "phi", 3, Float.POSITIVE_INFINITY, dir.resolve("inf-phi.safetensors")));
            fragments.add("state tensor 'phi' holds Infinity at index 3");
        } else if (kind == Kind.NTM_BFGS) {
            bad.add(withValue(file, "memory", 5, Double.NaN, dir.resolve("nan-memory.safetensors")));
            fragments.add("state tensor 'memory' holds NaN at index 5");
            bad.add(withValue(file, "lstm.c_l1", 3, Double.NEGATIVE_INFINITY, dir.resolve("inf-cell.safetensors")));
            fragments.add("state tensor 'lstm.c_l1' holds -Infinity at index 3");
        } else {
            bad.add(withValue(file, "exp_avg_sq", 7, -1e-3, dir.resolve("negative-v.safetensors")));
            fragments.add("state tensor 'exp_avg_sq' holds -0.001 at index 7, expected a finite value >= 0");
            bad.add(withValue(file, "exp_avg", 2, Double.NaN, dir.resolve("nan-m.safetensors")));
            fragments.add("state tensor 'exp_avg' holds NaN at index 2");
        }
        Map<String, String> meta = new LinkedHashMap<>(file.metadata());
        meta.put("steps", Long.toString(Long.MAX_VALUE));
        Path steps = dir.resolve("steps.safetensors");
        Safetensors.write(steps, file.tensors(), meta);
        bad.add(steps);
        fragments.add("steps must be in [0, 2^53], got " + Long.MAX_VALUE);

        try (MixedTensors control = new MixedTensors(9, SIZES); ParameterOptimizer reference = kind.create();
             MixedTensors tensors = new MixedTensors(9, SIZES); ParameterOptimizer victim = kind.create()) {
            control.register(reference);
            tensors.register(victim);
            run(control, reference, 3);
            run(tensors, victim, 3);
            for (int i = 0; i < bad.size(); i++) {
                Path path = bad.get(i);
                assertRejected(CheckpointFormatException.class, fragments.get(i), () -> victim.loadState(path));
            }
            assertEquals(3, victim.stepCount());
            run(control, reference, 2);
            run(tensors, victim, 2);
            assertArrayEquals(control.parameters(), tensors.parameters(), "a rejected load changed the state");
        }
    }

    @Test
    void theStepCountIsBounded() {
        Map<String, Tensor> none = Map.of();
        new ParameterOptimizerState("Adam", ParameterOptimizerState.MAX_STEPS, List.of(), Map.of(), none);
        assertRejected(IllegalArgumentException.class, "steps must be in [0, 2^53]", () -> new ParameterOptimizerState(
                "Adam", ParameterOptimizerState.MAX_STEPS + 1, List.of(), Map.of(), none));
    }

    /** The saved state with {@code tensor[index] = value}, written to {@code out}. */
    private static Path withValue(SafetensorsFile file, String tensor, int index, double value, Path out)
            throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>(file.tensors());
        Tensor t = tensors.get(tensor);
        if (t.dtype() == DType.F32) {
            float[] v = t.toFloatArray();
            v[index] = (float) value;
            tensors.put(tensor, Tensor.ofFloats(t.shape(), v));
        } else {
            double[] v = t.toDoubleArray();
            v[index] = value;
            tensors.put(tensor, Tensor.ofDoubles(t.shape(), v));
        }
        Safetensors.write(out, tensors, file.metadata());
        return out;
    }

    @Test
    void anotherPhiIsNamedByTheDigestsOfBoth() throws Exception {
        Path otherPhi = dir.resolve("other-phi.safetensors");
        save(() -> LstmOptimizer.builder(MixedTensors.checkpoint(CONFIG, 2)).threads(1).build(), SIZES, otherPhi);
        try (MixedTensors tensors = new MixedTensors(9, SIZES); ParameterOptimizer victim = Kind.LSTM.create()) {
            tensors.register(victim);
            String message = assertRejected(IllegalArgumentException.class, "another phi",
                    () -> victim.loadState(otherPhi)).getMessage();
            for (int seed : new int[] {1, 2}) {
                float[] phi = MixedTensors.checkpoint(CONFIG, seed).phi();
                ByteBuffer bytes = ByteBuffer.allocate(phi.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                bytes.asFloatBuffer().put(phi);
                String digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes.array()));
                assertTrue(message.contains(digest.substring(0, 12)), "phi " + seed + " (" + digest + "): " + message);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void aFailedLoadOrSaveLeavesTheLayoutOpen(Kind kind) throws IOException {
        Path notAFolder = Files.createFile(dir.resolve("plain-file"));
        Path otherTensors = dir.resolve("other-tensors.safetensors");
        save(kind::create, new int[] {3}, otherTensors);
        try (ParameterOptimizer optimizer = kind.create()) {
            float[] first = {0.5f, -1.5f};
            optimizer.register("first", first, new float[] {0.25f, -0.75f});
            assertThrows(java.nio.file.NoSuchFileException.class, () -> optimizer.loadState(dir.resolve("missing")));
            assertThrows(IOException.class, () -> optimizer.saveState(notAFolder.resolve("state.safetensors")));
            assertRejected(IOException.class, dir.toString(), () -> optimizer.loadState(dir));
            assertRejected(IllegalArgumentException.class, "this optimizer registered",
                    () -> optimizer.loadState(otherTensors));
            float[] second = {2f, 3f, -4f};
            optimizer.register("second", second, new float[] {0.1f, 0.2f, 0.3f});
            assertEquals(List.of("first", "second"), optimizer.tensorNames());
            Path fresh = dir.resolve("fresh.safetensors");
            optimizer.saveState(fresh);
            assertRejected(IllegalStateException.class, "before the first step",
                    () -> optimizer.register("third", new float[1], new float[1]));
            optimizer.loadState(fresh);
            optimizer.step();
            assertEquals(1, optimizer.stepCount());
        }
    }

    @Test
    void aStateFileNamesItsTensorsAndSizes() throws IOException {
        Path file = dir.resolve("state.safetensors");
        save(Kind.LSTM::create, SIZES, file);
        ParameterOptimizerState state = ParameterOptimizerState.load(file);
        assertEquals(LstmOptimizer.KIND, state.optimizer());
        assertEquals(2, state.steps());
        assertEquals(List.of(13L, 4L, 40L, 2L, 9L, 1L), state.tensors().stream().map(ParameterOptimizerState.Registered::size).toList());
        int n = java.util.Arrays.stream(SIZES).sum();
        state.value(file, "hidden_state", org.l2l4j.safetensors.DType.F32, CONFIG.stateRows(), n);
        state.value(file, "phi", org.l2l4j.safetensors.DType.F32, CONFIG.phiLayout().size());
    }

    /** Two steps of a fresh optimizer on fresh tensors of these sizes, then its state saved. */
    private static void save(Supplier<ParameterOptimizer> create, int[] sizes, Path file) throws IOException {
        try (MixedTensors tensors = new MixedTensors(9, sizes); ParameterOptimizer optimizer = create.get()) {
            tensors.register(optimizer);
            run(tensors, optimizer, 2);
            optimizer.saveState(file);
        }
    }

    interface Call {
        void run() throws Exception;
    }

    static <T extends Throwable> T assertRejected(Class<T> type, String fragment, Call call) {
        T e = assertThrows(type, call::run);
        assertTrue(e.getMessage() != null && e.getMessage().contains(fragment),
                "message should mention '" + fragment + "': " + e.getMessage());
        return e;
    }
}
