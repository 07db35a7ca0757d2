package org.l2l4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MnistDataTest {

    /** Just enough training examples for a 3-example TRAIN split besides VALIDATION. */
    private static final int TRAIN = MnistData.VALIDATION_SIZE + 3;
    private static final int TEST = 5;

    @TempDir
    Path dir;

    @Test
    void loadsTheThreeSplitsFromRawAndGzippedFiles() throws IOException {
        Map<MnistFile, byte[]> files = TestFiles.mnistLike(TRAIN, TEST);
        TestFiles.write(dir, Map.of(MnistFile.TRAIN_IMAGES, files.get(MnistFile.TRAIN_IMAGES),
                MnistFile.TEST_LABELS, files.get(MnistFile.TEST_LABELS)), false);
        TestFiles.write(dir, Map.of(MnistFile.TRAIN_LABELS, files.get(MnistFile.TRAIN_LABELS),
                MnistFile.TEST_IMAGES, files.get(MnistFile.TEST_IMAGES)), true);

        MnistData data = MnistData.loadUnverified(dir);
        checkSplit(data.split(Split.TRAIN), 0, 0, 3);
        checkSplit(data.split(Split.VALIDATION), 0, 3, MnistData.VALIDATION_SIZE);
        checkSplit(data.split(Split.TEST), 1, 0, TEST);
        assertEquals(new MnistData.Source(dir.toAbsolutePath().normalize(), false), data.source());
    }

    @Test
    void theSourceNamesTheFolderAndWhetherItWasVerified() {
        Path folder = Path.of("/data/fashion");
        MnistData.Source unverified = new MnistData.Source(folder, false);
        assertEquals("IDX data (fashion)", unverified.title());
        assertEquals("IDX files from /data/fashion (checksums not verified: not necessarily MNIST)",
                unverified.description());
        MnistData.Source verified = new MnistData.Source(folder, true);
        assertEquals("MNIST", verified.title());
        assertEquals("MNIST from /data/fashion (SHA-256 of the four files verified)", verified.description());
    }

    /** Split examples {@code [0, size)} are file examples {@code [offset, offset + size)}. */
    private static void checkSplit(Dataset d, int file, int offset, int size) {
        assertEquals(size, d.size());
        assertEquals(784, d.features());
        assertEquals(10, d.classes());
        for (int e = 0; e < size; e++) {
            assertEquals(TestFiles.label(file, offset + e), d.labels()[e]);
            for (int j = 0; j < 784; j++) {
                assertEquals(TestFiles.pixel(file, offset + e, j) / 255f, d.images()[e * 784 + j]);
            }
        }
    }

    @Test
    void prefersTheRawFileWhenBothExist() throws IOException {
        Map<MnistFile, byte[]> files = TestFiles.mnistLike(TRAIN, TEST);
        TestFiles.write(dir, files, false);
        Files.write(dir.resolve(MnistFile.TEST_LABELS.fileName() + ".gz"), new byte[] {1, 2, 3});
        assertEquals(TEST, MnistData.loadUnverified(dir).split(Split.TEST).size());
    }

    @Test
    void verifiesChecksumsOfTheUncompressedContent() throws IOException {
        TestFiles.write(dir, TestFiles.mnistLike(TRAIN, TEST), true);
        DataUnavailableException e = assertThrows(DataUnavailableException.class, () -> MnistData.load(dir));
        Path file = dir.resolve(MnistFile.TRAIN_IMAGES.fileName() + ".gz");
        String actual = TestFiles.sha256(TestFiles.mnistLike(TRAIN, TEST).get(MnistFile.TRAIN_IMAGES));
        assertTrue(e.getMessage().contains("SHA-256 mismatch for " + file + ": expected "
                + MnistFile.TRAIN_IMAGES.sha256() + ", actual " + actual), e.getMessage());
        assertTrue(e.getMessage().endsWith("; not the original MNIST file"), e.getMessage());
    }

    @Test
    void rejectsDifferentImageAndLabelCounts() throws IOException {
        Map<MnistFile, byte[]> files = TestFiles.mnistLike(TRAIN, TEST);
        files.put(MnistFile.TEST_LABELS, TestFiles.labels(1, TEST + 1));
        TestFiles.write(dir, files, false);
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> MnistData.loadUnverified(dir));
        assertTrue(e.getMessage().contains(dir.resolve("t10k-images-idx3-ubyte") + ": holds 5 images, but "
                + dir.resolve("t10k-labels-idx1-ubyte") + " holds 6 labels"), e.getMessage());
    }

    @Test
    void rejectsImagesThatAreNot28By28() throws IOException {
        Map<MnistFile, byte[]> files = TestFiles.mnistLike(TRAIN, TEST);
        files.put(MnistFile.TEST_IMAGES, TestFiles.idx(0x08, new int[] {TEST, 28, 27}, new byte[TEST * 28 * 27]));
        TestFiles.write(dir, files, false);
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> MnistData.loadUnverified(dir));
        assertTrue(e.getMessage().contains("t10k-images-idx3-ubyte: holds IdxArray[UNSIGNED_BYTE [5, 28, 27]],"
                + " expected UNSIGNED_BYTE images of dims Nx28x28"), e.getMessage());
    }

    @Test
    void rejectsLabelsOutsideZeroToNine() throws IOException {
        Map<MnistFile, byte[]> files = TestFiles.mnistLike(TRAIN, TEST);
        files.put(MnistFile.TEST_LABELS, TestFiles.idx(0x08, new int[] {TEST}, new byte[] {0, 1, 10, 3, 4}));
        TestFiles.write(dir, files, false);
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> MnistData.loadUnverified(dir));
        assertTrue(e.getMessage().contains("t10k-labels-idx1-ubyte: in examples [0, 5): label 10 of example 2"),
                e.getMessage());
    }

    @Test
    void rejectsATrainingFileTooSmallForTheValidationSplit() throws IOException {
        TestFiles.write(dir, TestFiles.mnistLike(MnistData.VALIDATION_SIZE, TEST), false);
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> MnistData.loadUnverified(dir));
        assertTrue(e.getMessage().contains("holds 10000 examples"), e.getMessage());
    }

    @Test
    void reportsMissingFolderAndFiles() throws IOException {
        DataUnavailableException e = assertThrows(DataUnavailableException.class,
                () -> MnistData.load(dir.resolve("absent")));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        Map<MnistFile, byte[]> files = TestFiles.mnistLike(TRAIN, TEST);
        files.remove(MnistFile.TRAIN_LABELS);
        TestFiles.write(dir, files, false);
        e = assertThrows(DataUnavailableException.class, () -> MnistData.load(dir));
        assertTrue(e.getMessage().contains("lacks train-labels-idx1-ubyte (raw or .gz)"), e.getMessage());
        assertFalse(e.getMessage().contains("MnistFetcher"), "a command-line user cannot run a class: "
                + e.getMessage());
        assertThrows(NullPointerException.class, () -> MnistData.load(null));
    }

    @Test
    void wrapsSyntheticSplits() {
        Dataset a = new Dataset(new float[4], new int[] {0, 1}, 2, 3);
        MnistData data = new MnistData(a, a, a);
        assertSame(a, data.split(Split.VALIDATION));
        assertEquals("data in memory", data.source().title());
        Dataset other = new Dataset(new float[2], new int[] {0}, 2, 4);
        assertThrows(IllegalArgumentException.class, () -> new MnistData(a, a, other));
        assertThrows(NullPointerException.class, () -> new MnistData(a, null, a));
        assertThrows(NullPointerException.class, () -> data.split(null));
    }
}
