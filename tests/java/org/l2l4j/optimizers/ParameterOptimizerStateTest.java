package org.l2l4j.optimizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.l2l4j.checkpoint.CheckpointFormatException;
import org.l2l4j.checkpoint.ParameterOptimizerState;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.Preprocessing;

/**
 * Saving and loading an optimizer's whole state: N steps straight equal k steps, save, load into
 * a fresh optimizer, N - k steps, bitwise (parameters and state); files that do not fit (another
 * optimizer, settings, phi or tensors; corrupt; not a state) are rejected with the reason and
 * leave the state unchanged.
 */
class ParameterOptimizerStateTest {
    static final LstmConfig CONFIG = new LstmConfig(new int[] {8, 8}, Preprocessing.LOG_AND_SIGN, 10, 0.1, false);
    static final int[] SIZES = {13, 4, 40, 2, 9, 1};

    /** The two kinds of optimizer behind the interface. */
    enum Kind {
        LSTM(() -> LstmOptimizer.builder(MixedTensors.checkpoint(CONFIG, 1)).threads(1).build()),
        ADAM(() -> HandDesignedRule.ADAM.factory(0.01).parameterOptimizer());

        final Supplier<ParameterOptimizer> factory;

        Kind(Supplier<ParameterOptimizer> factory) {
            this.factory = factory;
        }

        ParameterOptimizer create() {
            return factory.get();
        }
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
        save(kind == Kind.LSTM
                ? () -> LstmOptimizer.builder(MixedTensors.checkpoint(CONFIG.withOutputScale(0.2), 1)).build()
                : () -> HandDesignedRule.ADAM.factory(0.02).parameterOptimizer(), SIZES, otherSettings);
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

    @Test
    void aStateFileNamesItsTensorsAndSizes() throws IOException {
        Path file = dir.resolve("state.safetensors");
        save(Kind.LSTM::create, SIZES, file);
        ParameterOptimizerState state = ParameterOptimizerState.load(file);
        assertEquals(LstmOptimizer.KIND, state.optimizer());
        assertEquals(2, state.steps());
        assertEquals(List.of(13L, 4L, 40L, 2L, 9L, 1L), state.tensors().stream().map(ParameterOptimizerState.Registered::size).toList());
        int n = java.util.Arrays.stream(SIZES).sum();
        state.value(file, "hidden_state", org.l2l4j.checkpoint.DType.F32, CONFIG.stateRows(), n);
        state.value(file, "phi", org.l2l4j.checkpoint.DType.F32, CONFIG.phiLayout().size());
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
