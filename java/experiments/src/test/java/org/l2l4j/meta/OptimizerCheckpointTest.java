package org.l2l4j.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.ParameterGroup;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.lstm.PhiInit;
import org.l2l4j.lstm.Preprocessing;
import org.l2l4j.lstm.TensorRule;
import org.l2l4j.safetensors.CheckpointFormatException;
import org.l2l4j.safetensors.Safetensors;
import org.l2l4j.safetensors.SafetensorsFile;
import org.l2l4j.safetensors.Tensor;

/** Optimizer and training checkpoints: exact round trips, PyTorch names, clear rejections. */
class OptimizerCheckpointTest {
    @TempDir
    Path dir;

    private static float[] phi(LstmConfig c) {
        double[] d = PhiInit.PYTORCH.initialize(c, 3);
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    @Test
    void optimizerRoundTripKeepsPhiConfigAndDescription() throws IOException {
        for (LstmConfig c : new LstmConfig[] {LstmConfig.paperMnist(),
            new LstmConfig(new int[] {7, 33}, Preprocessing.IDENTITY, 10, 1.0, false),
            new LstmConfig(new int[0], Preprocessing.LOG_AND_SIGN, 5, 0.01, true)}) {
            Path file = dir.resolve("opt.safetensors");
            OptimizerCheckpoint saved = new OptimizerCheckpoint(c, phi(c), Map.of("problem", "mnist"));
            saved.save(file);
            OptimizerCheckpoint loaded = OptimizerCheckpoint.load(file);
            assertEquals(c, loaded.config());
            assertArrayEquals(saved.phi(), loaded.phi());
            assertEquals("mnist", loaded.description().get("problem"));
        }
    }

    @Test
    void groupsAreStoredUnderTheirPrefixesWithTheirRules() throws IOException {
        LstmConfig small = new LstmConfig(new int[] {7}, Preprocessing.IDENTITY, 10, 1.0, false);
        ParameterGroups groups = new ParameterGroups(List.of(
                new ParameterGroup("conv", TensorRule.parse("conv*.weight"), LstmConfig.paperMnist()),
                new ParameterGroup("fc", TensorRule.parse("fc.*|out.*|*"), small)));
        float[] phi = new float[groups.phiSize()];
        System.arraycopy(phi(LstmConfig.paperMnist()), 0, phi, 0, groups.phiOffset(1));
        System.arraycopy(phi(small), 0, phi, groups.phiOffset(1), small.phiLayout().size());
        Path file = dir.resolve("grouped.safetensors");
        new OptimizerCheckpoint(groups, phi, Map.of("problem", "cifar10")).save(file);
        SafetensorsFile f = Safetensors.read(file);
        assertEquals(OptimizerCheckpoint.FORMAT_GROUPED, f.metadata().get("l2l4j.format"));
        assertEquals("conv,fc", f.metadata().get("groups"));
        assertEquals("conv*.weight", f.metadata().get("conv.rule"));
        assertEquals("fc.*|out.*|*", f.metadata().get("fc.rule"));
        assertEquals("7", f.metadata().get("fc.widths"));
        assertArrayEquals(new long[] {80, 2}, f.tensor("conv.lstm.weight_ih_l0").shape());
        assertArrayEquals(new long[] {28, 7}, f.tensor("fc.lstm.weight_hh_l0").shape());
        assertArrayEquals(new long[] {1, 7}, f.tensor("fc.output.weight").shape());
        assertEquals(LstmConfig.paperMnist().phiLayout().entries().size() + small.phiLayout().entries().size(),
                f.tensors().size());
        OptimizerCheckpoint loaded = OptimizerCheckpoint.load(file);
        assertEquals(groups, loaded.groups());
        assertArrayEquals(phi, loaded.phi());
        assertArrayEquals(phi(small), loaded.phi(1));
        assertEquals(Map.of("problem", "cifar10"), loaded.description());
        assertThrows(IllegalStateException.class, loaded::config, "two groups have no single configuration");
    }

    @Test
    void theShippedOptimizerIsOneGroupInTheFirstFormat() throws IOException {
        OptimizerCheckpoint shipped = OptimizerCheckpoint.shippedMnist();
        assertTrue(shipped.groups().isSingle());
        Path file = dir.resolve("again.safetensors");
        shipped.save(file);
        SafetensorsFile f = Safetensors.read(file);
        assertEquals(OptimizerCheckpoint.FORMAT, f.metadata().get("l2l4j.format"));
        assertTrue(f.tensors().containsKey("lstm.weight_ih_l0") && !f.metadata().containsKey("groups"));
        assertArrayEquals(shipped.phi(), OptimizerCheckpoint.load(file).phi());
    }

    @Test
    void theShippedCifar10OptimizerHasTheTwoGroupsOfThePaper() throws IOException {
        OptimizerCheckpoint shipped = OptimizerCheckpoint.shippedCifar10();
        assertEquals(List.of("conv", "fc"), shipped.groups().names());
        assertEquals("conv*.weight", shipped.groups().get(0).rule().toString());
        assertEquals("*", shipped.groups().get(1).rule().toString());
        for (int g = 0; g < 2; g++) {
            assertEquals(LstmConfig.paperMnist().phiLayout().size(), shipped.phi(g).length, "LSTM 20-20 in group " + g);
        }
        assertEquals("cifar10", shipped.description().get("problem"));
        assertEquals("200", shipped.description().get("epochs"));
        assertFalse(shipped.description().containsKey("labels"), "trained on every label");
    }

    @Test
    void theShippedLstmSubWasTrainedOnLabelsFiveToNine() throws IOException {
        OptimizerCheckpoint shipped = OptimizerCheckpoint.shippedCifarSub();
        assertEquals(List.of("conv", "fc"), shipped.groups().names());
        assertEquals("cifar10", shipped.description().get("problem"));
        assertEquals("5,6,7,8,9", shipped.description().get("labels"));
        assertEquals("200", shipped.description().get("epochs"));
        for (int g = 0; g < 2; g++) {
            assertEquals(LstmConfig.paperMnist().phiLayout().size(), shipped.phi(g).length, "LSTM 20-20 in group " + g);
        }
    }

    @Test
    void tensorsCarryPyTorchNamesAndShapes() throws IOException {
        LstmConfig c = LstmConfig.paperMnist();
        Path file = dir.resolve("opt.safetensors");
        new OptimizerCheckpoint(c, phi(c), Map.of()).save(file);
        SafetensorsFile f = Safetensors.read(file);
        assertArrayEquals(new long[] {80, 2}, f.tensor("lstm.weight_ih_l0").shape());
        assertArrayEquals(new long[] {80, 20}, f.tensor("lstm.weight_hh_l1").shape());
        assertArrayEquals(new long[] {1, 20}, f.tensor("output.weight").shape());
        assertArrayEquals(new long[] {1}, f.tensor("output.bias").shape());
        assertEquals("20,20", f.metadata().get("widths"));
    }

    @Test
    void mismatchedOrForeignFilesAreRejected() throws IOException {
        LstmConfig c = LstmConfig.paperMnist();
        Path file = dir.resolve("x.safetensors");
        Safetensors.write(file, Map.of("w", Tensor.ofFloats(new long[] {2}, new float[] {1, 2})), Map.of());
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> OptimizerCheckpoint.load(file));
        assertTrue(e.getMessage().contains("not a learned-optimizer checkpoint"), e.getMessage());

        // a checkpoint whose metadata claims other widths than its tensors have
        Path good = dir.resolve("good.safetensors");
        new OptimizerCheckpoint(c, phi(c), Map.of()).save(good);
        SafetensorsFile f = Safetensors.read(good);
        java.util.Map<String, String> meta = new java.util.LinkedHashMap<>(f.metadata());
        meta.put("widths", "20,21");
        Safetensors.write(file, f.tensors(), meta);
        e = assertThrows(CheckpointFormatException.class, () -> OptimizerCheckpoint.load(file));
        assertTrue(e.getMessage().contains("lstm.weight_hh_l1") || e.getMessage().contains("tensors"), e.getMessage());

        // a truncated file
        byte[] bytes = Files.readAllBytes(good);
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 5));
        assertThrows(CheckpointFormatException.class, () -> OptimizerCheckpoint.load(file));
    }

    @Test
    void trainingStateRoundTripIsExact() throws IOException {
        LstmConfig c = LstmConfig.paperQuadratic().withWidths(4);
        int p = c.phiLayout().size();
        java.util.SplittableRandom r = new java.util.SplittableRandom(1);
        double[][] v = new double[4][p];
        for (double[] a : v) {
            for (int i = 0; i < p; i++) {
                a[i] = r.nextDouble() - 0.5;
            }
        }
        TrainingState s = new TrainingState(42, v[0], v[1], v[2], 210, v[3], 0.125, 40, 3,
                List.of(new TrainingState.Validation(40, 0.125, 0.5, 1.5)), List.of());
        Path file = dir.resolve("run.safetensors");
        TrainingCheckpoint.save(file, ParameterGroups.single(c), s, Map.of("problem", "quadratic"));
        TrainingCheckpoint.Saved back = TrainingCheckpoint.load(file);
        assertEquals(ParameterGroups.single(c), back.groups());
        TrainingState b = back.state();
        assertEquals(42, b.epochs());
        assertArrayEquals(s.phi(), b.phi());
        assertArrayEquals(s.adamFirst(), b.adamFirst());
        assertArrayEquals(s.adamSecond(), b.adamSecond());
        assertArrayEquals(s.bestPhi(), b.bestPhi());
        assertEquals(210, b.adamStep());
        assertEquals(s.history(), b.history());
        assertEquals(3, b.skippedUpdates());
    }
}
