package org.l2l4j.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.ParameterGroup;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.lstm.Preprocessing;
import org.l2l4j.lstm.TensorRule;
import org.l2l4j.safetensors.CheckpointFormatException;
import org.l2l4j.safetensors.Safetensors;
import org.l2l4j.safetensors.SafetensorsFile;
import org.l2l4j.safetensors.Tensor;

/**
 * Damaged optimizer and training checkpoints are rejected with a {@link CheckpointFormatException}
 * naming the file, never read as something else: every truncation, and a change of every byte
 * (at least 1,000 random single-byte changes) of each kind of checkpoint.  A change in the tensor data must be caught by the SHA-256 digest
 * of that tensor (the message says so); a change in the header is caught by the header's digest
 * or the parser, and may pass only where it changes nothing the reader sees (the spaces that pad
 * the header).  Files whose digests are intact but whose metadata are wrong (missing, malformed,
 * out of range) are rejected too.  {@link SafetensorsTest} does the same for the format alone.
 */
class CheckpointCorruptionTest {
    static final int FLIPS = 1000;

    @TempDir
    Path dir;

    static final LstmConfig CONFIG = new LstmConfig(new int[] {1}, Preprocessing.LOG_AND_SIGN, 10, 0.1, false);
    static final ParameterGroups SINGLE = ParameterGroups.single(CONFIG);
    /** Two groups of different architectures, the second taking every tensor the first leaves. */
    static final ParameterGroups GROUPED = new ParameterGroups(List.of(
            new ParameterGroup("conv", TensorRule.parse("conv*.weight"), CONFIG),
            new ParameterGroup("fc", TensorRule.ALL, CONFIG.withWidths(2))));

    private static double[] vector(SplittableRandom rnd, ParameterGroups groups) {
        return rnd.doubles(groups.phiSize(), -0.5, 0.5).toArray();
    }

    private Path optimizerFile() throws IOException {
        return optimizerFile(SINGLE);
    }

    private Path optimizerFile(ParameterGroups groups) throws IOException {
        SplittableRandom rnd = new SplittableRandom(1);
        float[] phi = new float[groups.phiSize()];
        for (int i = 0; i < phi.length; i++) {
            phi[i] = (float) (rnd.nextDouble() - 0.5);
        }
        Path file = dir.resolve("optimizer.safetensors");
        new OptimizerCheckpoint(groups, phi, Map.of("problem", "quadratic", "epochs", "12")).save(file);
        return file;
    }

    private static TrainingState state(ParameterGroups groups) {
        SplittableRandom rnd = new SplittableRandom(2);
        return new TrainingState(12, vector(rnd, groups), vector(rnd, groups), vector(rnd, groups), 48,
                vector(rnd, groups), 0.25, 10, 2, List.of(new TrainingState.Validation(10, 0.25, 0.5, 1.5),
                        new TrainingState.Validation(12, 0.3, 0.4, 1.4)), List.of());
    }

    private Path trainingFile() throws IOException {
        return trainingFile(SINGLE);
    }

    private Path trainingFile(ParameterGroups groups) throws IOException {
        Path file = dir.resolve("training.safetensors");
        TrainingCheckpoint.save(file, groups, state(groups), Map.of("problem", "quadratic", "seed", "7"));
        return file;
    }

    /** What a loaded checkpoint means, for comparing two loads. */
    private static String optimizerContent(OptimizerCheckpoint c) {
        return c.groups() + " " + Arrays.toString(c.phi()) + " " + new java.util.TreeMap<>(c.description());
    }

    private static String trainingContent(TrainingCheckpoint.Saved s) {
        TrainingState t = s.state();
        return s.groups() + " " + t.epochs() + " " + Arrays.toString(t.phi()) + Arrays.toString(t.adamFirst())
                + Arrays.toString(t.adamSecond()) + t.adamStep() + Arrays.toString(t.bestPhi()) + t.bestValidation()
                + t.bestEpoch() + t.skippedUpdates() + t.history() + new java.util.TreeMap<>(s.metadata());
    }

    /** Loads a file as one kind of checkpoint and describes its content. */
    @FunctionalInterface
    interface Loader {
        String load(Path file) throws IOException;
    }

    private static final Loader OPTIMIZER = f -> optimizerContent(OptimizerCheckpoint.load(f));
    private static final Loader TRAINING = f -> trainingContent(TrainingCheckpoint.load(f));

    private static CheckpointFormatException rejected(Loader loader, Path file, String what) {
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> loader.load(file), what);
        assertTrue(e.getMessage().startsWith(file + ": "), what + ": " + e.getMessage());
        return e;
    }

    private void everyTruncationIsRejected(Path file, Loader loader) throws IOException {
        byte[] full = Files.readAllBytes(file);
        Path cut = dir.resolve("cut.safetensors");
        for (int length = 0; length < full.length; length++) {
            Files.write(cut, Arrays.copyOf(full, length));
            rejected(loader, cut, "a file cut to " + length + " of " + full.length + " bytes");
        }
    }

    @Test
    void everyTruncationOfAnOptimizerCheckpointIsRejected() throws IOException {
        everyTruncationIsRejected(optimizerFile(), OPTIMIZER);
    }

    @Test
    void everyTruncationOfGroupedCheckpointsIsRejected() throws IOException {
        everyTruncationIsRejected(optimizerFile(GROUPED), OPTIMIZER);
        everyTruncationIsRejected(trainingFile(GROUPED), TRAINING);
    }

    @Test
    void everyTruncationOfATrainingCheckpointIsRejected() throws IOException {
        everyTruncationIsRejected(trainingFile(), TRAINING);
    }

    /**
     * Random single-byte changes (every position once, then random ones): each is rejected;
     * changes in the data section by the tensor's digest; a change accepted must lie in the
     * header and leave the content as it was.
     */
    private void byteFlipsAreRejectedOrHarmless(Path file, Loader loader) throws IOException {
        byte[] original = Files.readAllBytes(file);
        String expected = loader.load(file);
        long dataStart = 8 + ByteBuffer.wrap(original, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        Path flipped = dir.resolve("flipped.safetensors");
        SplittableRandom rnd = new SplittableRandom(3);
        int byDigest = 0;
        int inHeader = 0;
        int harmless = 0;
        for (int trial = 0; trial < Math.max(FLIPS, original.length); trial++) {
            int pos = trial < original.length ? trial : rnd.nextInt(original.length);
            byte[] bytes = original.clone();
            bytes[pos] ^= (byte) (1 + rnd.nextInt(255));
            Files.write(flipped, bytes);
            String where = "byte " + pos + ": " + original[pos] + " -> " + bytes[pos];
            String content;
            try {
                content = loader.load(flipped);
            } catch (CheckpointFormatException e) {
                assertTrue(e.getMessage().startsWith(flipped + ": "), where + ": " + e.getMessage());
                if (pos >= dataStart) {
                    assertTrue(e.getMessage().contains("do not match their SHA-256 digest"), where + ": " + e.getMessage());
                    byDigest++;
                } else {
                    inHeader++;
                }
                continue;
            }
            assertTrue(pos >= 8 && pos < dataStart, where + " was accepted outside the header");
            assertEquals(expected, content, where + " was accepted and changed the checkpoint");
            harmless++;
        }
        assertTrue(byDigest >= original.length - dataStart && inHeader > 100,
                byDigest + " caught by a tensor digest, " + inHeader + " in the header");
        assertEquals(Math.max(FLIPS, original.length), byDigest + inHeader + harmless);
    }

    @Test
    void byteFlipsOfAnOptimizerCheckpointAreRejectedOrHarmless() throws IOException {
        byteFlipsAreRejectedOrHarmless(optimizerFile(), OPTIMIZER);
    }

    @Test
    void byteFlipsOfGroupedCheckpointsAreRejectedOrHarmless() throws IOException {
        byteFlipsAreRejectedOrHarmless(optimizerFile(GROUPED), OPTIMIZER);
        byteFlipsAreRejectedOrHarmless(trainingFile(GROUPED), TRAINING);
    }

    @Test
    void byteFlipsOfATrainingCheckpointAreRejectedOrHarmless() throws IOException {
        byteFlipsAreRejectedOrHarmless(trainingFile(), TRAINING);
    }

    /** The file's tensors with changed metadata, written with valid digests. */
    private Path withMetadata(Path file, String key, String value) throws IOException {
        SafetensorsFile f = Safetensors.read(file);
        Map<String, String> meta = new LinkedHashMap<>(f.metadata());
        if (value == null) {
            meta.remove(key);
        } else {
            meta.put(key, value);
        }
        Path out = dir.resolve("edited.safetensors");
        Safetensors.write(out, f.tensors(), meta);
        return out;
    }

    @Test
    void wrongMetadataBehindValidDigestsIsRejected() throws IOException {
        Path optimizer = optimizerFile();
        String[][] optimizerCases = {
            {"l2l4j.format", null}, {"l2l4j.format", "l2l4j-learned-optimizer-v0"}, {"widths", null},
            {"widths", "1,"}, {"widths", "x"}, {"widths", "3"}, {"widths", "0"}, {"preprocessing", "LOG"},
            {"p", "NaN"}, {"p", "1e-50"}, {"p", "0"}, {"p", "81"}, {"output_scale", "Infinity"}, {"output_scale", "1e39"},
            {"log_epsilon", "maybe"}, {"log_epsilon", ""}, {"log_epsilon", "TRUE"}, {"log_epsilon", null},
            {"precision", "BF16"}, {"precision", ""}, {"precision", "float32"},
        };
        for (String[] c : optimizerCases) {
            rejected(OPTIMIZER, withMetadata(optimizer, c[0], c[1]), "optimizer with " + c[0] + " = " + c[1]);
        }
        Path training = trainingFile();
        String[][] trainingCases = {
            {"l2l4j.format", "l2l4j-learned-optimizer-v1"}, {"epochs", null}, {"epochs", "-1"}, {"epochs", "9"},
            {"epochs", "x"}, {"adam_step", "-1"}, {"adam_step", "1.5"}, {"best_validation", "NaN"},
            {"best_validation", null}, {"best_epoch", "-2"}, {"best_epoch", "13"}, {"best_epoch", "-1"},
            {"skipped_updates", "-1"}, {"skipped_updates", ""}, {"history", null}, {"history", "null"},
            {"history", "[null]"}, {"history", "{}"}, {"history", "[{\"epoch\": \"x\"}]"}, {"history", "["},
            {"log_epsilon", "maybe"}, {"widths", "3,3"},
        };
        for (String[] c : trainingCases) {
            rejected(TRAINING, withMetadata(training, c[0], c[1]), "training checkpoint with " + c[0] + " = " + c[1]);
        }
    }

    @Test
    void wrongGroupMetadataBehindValidDigestsIsRejected() throws IOException {
        Path optimizer = optimizerFile(GROUPED);
        String[][] optimizerCases = {
            {"groups", null}, {"groups", ""}, {"groups", "conv"}, {"groups", "conv,conv"}, {"groups", "conv,fc,"},
            {"groups", "conv,x"}, {"groups", "fc,conv"}, {"groups", "conv fc"}, {"conv.rule", null}, {"conv.rule", ""},
            {"conv.rule", "a||b"}, {"fc.widths", "3"}, {"fc.widths", null}, {"conv.p", "NaN"},
            {"fc.log_epsilon", "yes"}, {"conv.precision", "HALF"}, {"l2l4j.format", OptimizerCheckpoint.FORMAT},
        };
        for (String[] c : optimizerCases) {
            rejected(OPTIMIZER, withMetadata(optimizer, c[0], c[1]), "grouped optimizer with " + c[0] + " = " + c[1]);
        }
        Path single = withMetadata(optimizerFile(SINGLE), "l2l4j.format", OptimizerCheckpoint.FORMAT_GROUPED);
        rejected(OPTIMIZER, single, "a single-group file labelled with the grouped format");
        Path training = trainingFile(GROUPED);
        String[][] trainingCases = {{"groups", null}, {"groups", "conv"}, {"fc.widths", "3"}, {"conv.rule", null}};
        for (String[] c : trainingCases) {
            rejected(TRAINING, withMetadata(training, c[0], c[1]), "grouped training checkpoint with " + c[0] + " = "
                    + c[1]);
        }
    }

    @Test
    void groupedCheckpointsRoundTrip() throws IOException {
        OptimizerCheckpoint loaded = OptimizerCheckpoint.load(optimizerFile(GROUPED));
        assertEquals(GROUPED, loaded.groups());
        assertEquals("12", loaded.description().get("epochs"));
        TrainingCheckpoint.Saved s = TrainingCheckpoint.load(trainingFile(GROUPED));
        assertEquals(GROUPED, s.groups());
        assertArrayEquals(state(GROUPED).adamSecond(), s.state().adamSecond());
    }

    @Test
    void nonFiniteOrMismatchedTensorsBehindValidDigestsAreRejected() throws IOException {
        Path training = trainingFile();
        SafetensorsFile f = Safetensors.read(training);
        for (String name : f.tensors().keySet()) {
            double[] v = f.tensor(name).toDoubleArray();
            for (double bad : new double[] {Double.NaN, Double.NEGATIVE_INFINITY}) {
                double[] changed = v.clone();
                changed[3] = bad;
                Map<String, Tensor> tensors = new LinkedHashMap<>(f.tensors());
                tensors.put(name, Tensor.ofDoubles(new long[] {changed.length}, changed));
                Path out = dir.resolve("edited.safetensors");
                Safetensors.write(out, tensors, f.metadata());
                rejected(TRAINING, out, name + "[3] = " + bad);
            }
            Map<String, Tensor> tensors = new LinkedHashMap<>(f.tensors());
            tensors.put(name, Tensor.ofDoubles(new long[] {v.length - 1}, Arrays.copyOf(v, v.length - 1)));
            Path out = dir.resolve("edited.safetensors");
            Safetensors.write(out, tensors, f.metadata());
            rejected(TRAINING, out, name + " one value short");
        }
        Map<String, Tensor> noBest = new LinkedHashMap<>(f.tensors());
        noBest.remove("best_phi");
        Path out = dir.resolve("edited.safetensors");
        Safetensors.write(out, noBest, f.metadata());
        rejected(TRAINING, out, "best_phi missing while best_epoch is 10");

        Path optimizer = optimizerFile();
        SafetensorsFile o = Safetensors.read(optimizer);
        Map<String, Tensor> tensors = new LinkedHashMap<>(o.tensors());
        float[] bias = tensors.get("output.bias").toFloatArray();
        bias[0] = Float.POSITIVE_INFINITY;
        tensors.put("output.bias", Tensor.ofFloats(new long[] {1}, bias));
        Safetensors.write(out, tensors, o.metadata());
        assertTrue(rejected(OPTIMIZER, out, "infinite output bias").getMessage().contains("non-finite"));
    }

    @Test
    void anIntactCheckpointStillLoads() throws IOException {
        TrainingCheckpoint.Saved s = TrainingCheckpoint.load(trainingFile());
        assertArrayEquals(state(SINGLE).phi(), s.state().phi());
        assertEquals(state(SINGLE).history(), s.state().history());
        assertEquals(CONFIG, OptimizerCheckpoint.load(optimizerFile()).config());
    }
}
