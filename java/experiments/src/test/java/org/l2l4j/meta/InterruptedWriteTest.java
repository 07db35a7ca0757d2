package org.l2l4j.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.ParameterGroups;

/**
 * A checkpoint write that fails halfway through the file, or whose thread is interrupted,
 * leaves the previous checkpoint bitwise intact and no temporary file behind; a temporary file
 * left by a writer that was killed is ignored.
 */
class InterruptedWriteTest {
    @TempDir
    Path dir;

    static final LstmConfig CONFIG = LstmConfig.paperQuadratic().withWidths(3);

    @AfterEach
    void clearInterrupt() {
        Thread.interrupted();
    }

    private static TrainingState state(long seed, int epochs) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int p = CONFIG.phiLayout().size();
        double[][] v = new double[4][];
        for (int i = 0; i < v.length; i++) {
            v[i] = rnd.doubles(p, -1, 1).toArray();
        }
        return new TrainingState(epochs, v[0], v[1], v[2], 4L * epochs, v[3], 0.5, epochs, 0,
                List.of(new TrainingState.Validation(epochs, 0.5, 0.75, 0.1)), List.of());
    }

    private List<Path> files() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    @Test
    void anInterruptedTrainingCheckpointWriteLeavesThePreviousCheckpoint() throws IOException {
        Path target = dir.resolve("training.safetensors");
        TrainingState first = state(1, 10);
        TrainingCheckpoint.save(target, ParameterGroups.single(CONFIG), first, Map.of("seed", "1"));
        byte[] before = Files.readAllBytes(target);
        Thread.currentThread().interrupt();
        assertThrows(ClosedByInterruptException.class,
                () -> TrainingCheckpoint.save(target, ParameterGroups.single(CONFIG), state(2, 20), Map.of("seed", "1")));
        assertTrue(Thread.interrupted(), "the interrupt stays visible to the caller");
        assertArrayEquals(before, Files.readAllBytes(target));
        assertEquals(List.of(target), files());
        TrainingState back = TrainingCheckpoint.load(target).state();
        assertArrayEquals(first.phi(), back.phi());
        assertArrayEquals(first.bestPhi(), back.bestPhi());
    }

    @Test
    void anInterruptedOptimizerCheckpointWriteLeavesThePreviousCheckpoint() throws IOException {
        Path target = dir.resolve("optimizer.safetensors");
        float[] phi = new float[CONFIG.phiLayout().size()];
        java.util.Arrays.fill(phi, 0.25f);
        new OptimizerCheckpoint(CONFIG, phi, Map.of("epochs", "10")).save(target);
        byte[] before = Files.readAllBytes(target);
        Thread.currentThread().interrupt();
        float[] other = phi.clone();
        other[0] = -1;
        assertThrows(ClosedByInterruptException.class,
                () -> new OptimizerCheckpoint(CONFIG, other, Map.of("epochs", "20")).save(target));
        Thread.interrupted();
        assertArrayEquals(before, Files.readAllBytes(target));
        assertEquals(List.of(target), files());
        assertArrayEquals(phi, OptimizerCheckpoint.load(target).phi());
    }

    /** What a writer killed before its rename leaves: a hidden temporary file beside the target. */
    @Test
    void aTemporaryFileLeftByAKilledWriterIsIgnored() throws IOException {
        Path target = dir.resolve("training.safetensors");
        TrainingCheckpoint.save(target, ParameterGroups.single(CONFIG), state(1, 10), Map.of());
        byte[] half = Files.readAllBytes(target);
        Path leftover = dir.resolve(".training.safetensors.5eed5eed5eed5eed.tmp");
        Files.write(leftover, java.util.Arrays.copyOf(half, half.length / 2));
        assertEquals(10, TrainingCheckpoint.load(target).state().epochs());
        TrainingCheckpoint.save(target, ParameterGroups.single(CONFIG), state(2, 20), Map.of());
        assertEquals(20, TrainingCheckpoint.load(target).state().epochs());
        assertEquals(List.of(leftover, target), files(), "the leftover is not touched: it may be another writer's");
    }
}
