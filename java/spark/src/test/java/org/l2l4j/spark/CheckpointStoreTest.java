package org.l2l4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.meta.TrainingState;

/** The driver's checkpoints on the local Hadoop file system: replacement, interrupted replacement, refusals. */
class CheckpointStoreTest {
    private static final ParameterGroups GROUPS = ParameterGroups.single(LstmConfig.paperQuadratic());

    private static TrainingState state(int epochs, double value) {
        int n = GROUPS.phiSize();
        double[] phi = new double[n];
        java.util.Arrays.fill(phi, value);
        return new TrainingState(epochs, phi, new double[n], new double[n], epochs, null, Double.POSITIVE_INFINITY, -1,
                0, List.of(), List.of());
    }

    @Test
    void aSavedStateIsReadBackAndReplacedByTheNextOne(@TempDir Path dir) throws IOException {
        CheckpointStore store = new CheckpointStore(dir.resolve("run").toString(), new Configuration());
        assertNull(store.load(), "an empty folder holds no state");
        store.save(GROUPS, state(2, 0.5), Map.of(), null);
        store.save(GROUPS, state(4, 0.25), Map.of(), null);
        TrainingState read = store.load().state();
        assertEquals(4, read.epochs());
        assertArrayEquals(state(4, 0.25).phi(), read.phi());
        try (var files = Files.list(dir.resolve("run"))) {
            assertEquals(List.of(CheckpointStore.TRAINING), files.map(f -> f.getFileName().toString())
                    .filter(n -> !n.endsWith(".crc")).toList(), "no temporary or previous file is left");
        }
    }

    @Test
    void aReplacementInterruptedBetweenItsRenamesLeavesTheOldStateReadable(@TempDir Path dir) throws IOException {
        CheckpointStore store = new CheckpointStore(dir.resolve("run").toString(), new Configuration());
        store.save(GROUPS, state(2, 0.5), Map.of(), null);
        // the state of a crash after the old file was renamed aside, before the new one came in
        Path folder = dir.resolve("run");
        Files.move(folder.resolve(CheckpointStore.TRAINING), folder.resolve("." + CheckpointStore.TRAINING + ".prev"));
        Files.deleteIfExists(folder.resolve("." + CheckpointStore.TRAINING + ".crc"));
        assertEquals(2, store.load().state().epochs());
    }

    @Test
    void aFolderWithAnEarlierRunsOptimizerButNoStateIsRefused(@TempDir Path dir) throws IOException {
        Path folder = Files.createDirectories(dir.resolve("run"));
        Files.writeString(folder.resolve(CheckpointStore.OPTIMIZER), "an earlier run's");
        CheckpointStore store = new CheckpointStore(folder.toString(), new Configuration());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, store::load);
        assertTrue(e.getMessage().contains("holds optimizer.safetensors of an earlier run"), e.getMessage());
    }

    @Test
    void aCorruptCheckpointIsReportedWithItsFolder(@TempDir Path dir) throws IOException {
        Path folder = Files.createDirectories(dir.resolve("run"));
        Files.write(folder.resolve(CheckpointStore.TRAINING), new byte[] {1, 2, 3});
        IOException e = assertThrows(IOException.class,
                () -> new CheckpointStore(folder.toString(), new Configuration()).load());
        assertTrue(e.getMessage().contains("the training checkpoint in") && e.getMessage().contains("run"),
                e.getMessage());
    }
}
