package org.l2l4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CIFAR-10 binary reader on small synthetic files of the official layout (folder and
 * archive; every kind of bad file), and on the full data set where the project's shared data
 * folder holds a copy.
 */
class Cifar10DataTest {

    private static final List<String> CLASSES = List.of("airplane", "automobile", "bird", "cat", "deer",
            "dog", "frog", "horse", "ship", "truck");
    /** Records per synthetic file: data_batch_1..5, test_batch. */
    private static final int[] RECORDS = {3, 2, 1, 2, 2, 3};
    private static final String[] BATCHES = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
        "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};

    @TempDir
    Path dir;

    private static int label(int file, int r) {
        return (file * 3 + r * 7) % 10;
    }

    private static int pixel(int file, int r, int j) {
        return (file * 41 + r * 17 + j * 5) & 0xFF;
    }

    /** One synthetic batch file: label byte, then 3,072 image bytes per record. */
    private static byte[] batch(int file, int records) {
        byte[] b = new byte[records * 3073];
        for (int r = 0; r < records; r++) {
            b[r * 3073] = (byte) label(file, r);
            for (int j = 0; j < 3072; j++) {
                b[r * 3073 + 1 + j] = (byte) pixel(file, r, j);
            }
        }
        return b;
    }

    private static Map<String, byte[]> files() {
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (int f = 0; f < BATCHES.length; f++) {
            files.put(BATCHES[f], batch(f, RECORDS[f]));
        }
        files.put("batches.meta.txt", (String.join("\n", CLASSES) + "\n\n").getBytes(StandardCharsets.UTF_8));
        return files;
    }

    private Path folder(Map<String, byte[]> files) throws IOException {
        Path folder = Files.createDirectories(dir.resolve("cifar-10-batches-bin"));
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            Files.write(folder.resolve(f.getKey()), f.getValue());
        }
        return folder;
    }

    private Path archive(Map<String, byte[]> files) throws IOException {
        TestFiles.Tar tar = new TestFiles.Tar().directory("cifar-10-batches-bin/");
        files.forEach((name, bytes) -> tar.file("cifar-10-batches-bin/" + name, bytes));
        return Files.write(dir.resolve("cifar-10-binary.tar.gz"), tar.toTgz());
    }

    private static String md5(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(Files.readAllBytes(file)));
    }

    /** Checks every split against the generating functions: labels, CHW pixel order, /255. */
    private static void assertSynthetic(Cifar10Data data) {
        int[][] filesOf = {{0, 1, 2, 3}, {4}, {5}};
        Split[] splits = {Split.TRAIN, Split.VALIDATION, Split.TEST};
        for (int s = 0; s < 3; s++) {
            Dataset d = data.split(splits[s]);
            assertEquals(3072, d.features());
            assertEquals(10, d.classes());
            int e = 0;
            for (int f : filesOf[s]) {
                for (int r = 0; r < RECORDS[f]; r++, e++) {
                    assertEquals(label(f, r), d.labels()[e], splits[s] + " example " + e);
                    for (int j = 0; j < 3072; j++) {
                        assertEquals(pixel(f, r, j) / 255f, d.images()[e * 3072 + j], splits[s] + " example " + e);
                    }
                }
            }
            assertEquals(e, d.size(), splits[s] + " size");
        }
        assertEquals(CLASSES, data.classNames());
    }

    @Test
    void readsTheFolderIntoThreeSplitsInChannelMajorOrder() throws IOException {
        Path folder = folder(files());
        Cifar10Data data = Cifar10Data.load(folder);
        assertSynthetic(data);
        assertFalse(data.source().verified());
        assertEquals(folder.toAbsolutePath(), data.source().path());
        assertTrue(data.source().description().contains("not verified"));
    }

    @Test
    void readsTheArchiveWithoutUnpackingItAndChecksItsMd5() throws Exception {
        Path archive = archive(files());
        Cifar10Data data = Cifar10Data.load(archive, md5(archive));
        assertSynthetic(data);
        assertTrue(data.source().verified());
        try (var listing = Files.list(dir)) {
            assertEquals(1, listing.count(), "nothing is unpacked beside the archive");
        }
    }

    @Test
    void anArchiveThatIsNotTheOfficialOneIsRefusedByItsMd5() throws Exception {
        Path archive = archive(files());
        DataUnavailableException e = assertThrows(DataUnavailableException.class, () -> Cifar10Data.load(archive));
        assertTrue(e.getMessage().contains(md5(archive)) && e.getMessage().contains(Cifar10Data.ARCHIVE_MD5),
                e.getMessage());
    }

    @Test
    void aMissingBatchIsNamed() throws Exception {
        for (String missing : List.of("data_batch_3.bin", "test_batch.bin", "batches.meta.txt")) {
            Map<String, byte[]> files = files();
            files.remove(missing);
            Path folder = folder(files);
            Files.deleteIfExists(folder.resolve(missing));
            DataUnavailableException e = assertThrows(DataUnavailableException.class, () -> Cifar10Data.load(folder));
            assertTrue(e.getMessage().contains("lacks " + missing), e.getMessage());
            Path archive = archive(files);
            e = assertThrows(DataUnavailableException.class, () -> Cifar10Data.load(archive, md5(archive)));
            assertTrue(e.getMessage().contains("lacks cifar-10-batches-bin/" + missing), e.getMessage());
        }
    }

    @Test
    void nothingAtThePathSaysWhatToGive() {
        DataUnavailableException e = assertThrows(DataUnavailableException.class,
                () -> Cifar10Data.load(dir.resolve("absent")));
        assertTrue(e.getMessage().contains("cifar-10-binary.tar.gz"), e.getMessage());
        assertThrows(NullPointerException.class, () -> Cifar10Data.load(null));
    }

    @Test
    void aTruncatedOrEmptyBatchIsAFormatErrorNamingTheFile() throws Exception {
        for (int length : new int[] {3 * 3073 - 1, 3073 + 100, 0}) {
            Map<String, byte[]> files = files();
            files.put("data_batch_1.bin", Arrays.copyOf(files.get("data_batch_1.bin"), length));
            Path folder = folder(files);
            CifarFormatException e = assertThrows(CifarFormatException.class, () -> Cifar10Data.load(folder));
            assertTrue(e.getMessage().startsWith(folder.resolve("data_batch_1.bin").toString())
                    && e.getMessage().contains(length + " bytes"), e.getMessage());
            Path archive = archive(files);
            e = assertThrows(CifarFormatException.class, () -> Cifar10Data.load(archive, md5(archive)));
            assertTrue(e.getMessage().startsWith(archive + "!cifar-10-batches-bin/data_batch_1.bin"), e.getMessage());
        }
    }

    @Test
    void aLabelByteOutsideTheClassesIsAFormatErrorNamingTheRecord() throws IOException {
        for (int bad : new int[] {10, 255}) {
            Map<String, byte[]> files = files();
            files.get("test_batch.bin")[2 * 3073] = (byte) bad;
            Path folder = folder(files);
            CifarFormatException e = assertThrows(CifarFormatException.class, () -> Cifar10Data.load(folder));
            assertTrue(e.getMessage().contains("test_batch.bin") && e.getMessage().contains("record 2")
                    && e.getMessage().contains("label " + bad), e.getMessage());
        }
    }

    @Test
    void classNamesMustBeTen() throws IOException {
        Map<String, byte[]> files = files();
        files.put("batches.meta.txt", String.join("\n", CLASSES.subList(0, 9)).getBytes(StandardCharsets.UTF_8));
        Path folder = folder(files);
        CifarFormatException e = assertThrows(CifarFormatException.class, () -> Cifar10Data.load(folder));
        assertTrue(e.getMessage().contains("batches.meta.txt") && e.getMessage().contains("9 classes"), e.getMessage());
    }

    @Test
    void aTruncatedArchiveIsAnError() throws Exception {
        Path archive = archive(files());
        byte[] bytes = Files.readAllBytes(archive);
        Files.write(archive, Arrays.copyOf(bytes, bytes.length / 2));
        IOException e = assertThrows(IOException.class, () -> Cifar10Data.load(archive, md5(archive)));
        assertTrue(e.getMessage().startsWith(archive.toString()) && e.getMessage().contains("truncated"),
                e.getMessage());
    }

    /**
     * The full data set in the project's shared data folder (a copy in the official layout made
     * from a JPEG mirror), if present: split sizes, the official balanced labels, class names and
     * plausible channel means.
     */
    @Test
    void readsTheSharedCopyOfTheFullDataSet() throws IOException {
        Path folder = SharedData.folder(Cifar10Data.FOLDER);
        assumeTrue(Files.isDirectory(folder), "CIFAR-10 is not in the shared data folder " + folder
                + " (not part of the repository); the reader is tested on synthetic files above");
        Cifar10Data data = Cifar10Data.load(folder);
        assertEquals(CLASSES, data.classNames());
        int[] perClassTrain = new int[10];
        int[] sizes = {40_000, 10_000, 10_000};
        Split[] splits = {Split.TRAIN, Split.VALIDATION, Split.TEST};
        for (int s = 0; s < 3; s++) {
            Dataset d = data.split(splits[s]);
            assertEquals(sizes[s], d.size(), splits[s].toString());
            int[] perClass = new int[10];
            for (int y : d.labels()) {
                perClass[y]++;
            }
            if (splits[s] == Split.TEST) {
                int[] thousand = new int[10];
                Arrays.fill(thousand, 1000);
                assertArrayEquals(thousand, perClass, "test_batch holds 1,000 images of each class");
            } else {
                for (int c = 0; c < 10; c++) {
                    perClassTrain[c] += perClass[c];
                }
            }
        }
        int[] fiveThousand = new int[10];
        Arrays.fill(fiveThousand, 5000);
        assertArrayEquals(fiveThousand, perClassTrain, "the five training batches hold 5,000 images of each class");
        float[] x = data.split(Split.TEST).images();
        double[] mean = new double[3];
        for (int e = 0; e < 10_000; e++) {
            for (int c = 0; c < 3; c++) {
                for (int j = 0; j < 1024; j++) {
                    mean[c] += x[e * 3072 + c * 1024 + j];
                }
            }
        }
        // CIFAR-10's channel means are about 0.49, 0.48 and 0.45 (red, green, blue).
        double[] expected = {0.49, 0.48, 0.45};
        for (int c = 0; c < 3; c++) {
            assertEquals(expected[c], mean[c] / 10_000 / 1024, 0.02, "mean of channel " + c);
        }
    }
}
