package org.l2l4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TarGzTest {

    @TempDir
    Path dir;

    private Path archive(byte[] tgz) throws IOException {
        return Files.write(dir.resolve("a.tgz"), tgz);
    }

    /** Everything under {@code out} that is not a folder (so links too), relative and sorted. */
    private List<String> extracted(Path out) throws IOException {
        try (Stream<Path> files = Files.walk(out)) {
            return files.filter(p -> !Files.isDirectory(p)).map(p -> out.relativize(p).toString())
                    .sorted().collect(Collectors.toList());
        }
    }

    private IOException failure(byte[] tgz, Predicate<String> select) throws IOException {
        Path archive = archive(tgz);
        Path out = Files.createTempDirectory(dir, "out");
        IOException e = assertThrows(IOException.class, () -> TarGz.extract(archive, out, select));
        assertTrue(e.getMessage().startsWith(archive.toString()), e.getMessage());
        return e;
    }

    @ParameterizedTest(name = "GNU long names: {0}")
    @ValueSource(booleans = {false, true})
    void extractsSelectedRegularFiles(boolean gnuLongNames) throws IOException {
        String longName = "package/" + "d".repeat(80) + "/" + "f".repeat(60);
        String unicode = "package/données/ü.txt";
        byte[] big = new byte[1500];
        Arrays.fill(big, (byte) 7);
        Path tgz = archive(new TestFiles.Tar(gnuLongNames)
                .directory("package/")
                .file("package/a.txt", "A".getBytes(StandardCharsets.UTF_8))
                .file("package/big.bin", big)
                .file("package/skipped.txt", "S".getBytes(StandardCharsets.UTF_8))
                .symlink("package/link", "/etc/passwd")
                .hardLink("package/hard", "package/a.txt")
                .file(longName, new byte[] {1, 2})
                .file(unicode, new byte[] {3})
                .toTgz());
        Path out = dir.resolve("out");
        TarGz.extract(tgz, out, name -> !name.endsWith("skipped.txt"));
        assertEquals(List.of("package/a.txt", "package/big.bin", longName, unicode).stream().sorted()
                .collect(Collectors.toList()), extracted(out));
        assertArrayEquals(big, Files.readAllBytes(out.resolve("package/big.bin")));
        assertArrayEquals(new byte[] {1, 2}, Files.readAllBytes(out.resolve(longName)));
        assertArrayEquals(new byte[] {3}, Files.readAllBytes(out.resolve(unicode)));
    }

    @Test
    void refusesUnsafeNamesEvenIfNotSelected() throws IOException {
        String longUnsafe = "package/" + "x".repeat(100) + "/../../../evil";
        for (String name : List.of("../evil", "package/../../evil", "/etc/evil", "a\\..\\evil", "..", longUnsafe)) {
            byte[] tgz = new TestFiles.Tar().file("package/ok", new byte[1]).file(name, new byte[1]).toTgz();
            IOException e = failure(tgz, n -> n.equals("package/ok"));
            assertTrue(e.getMessage().contains("refusing unsafe entry name '" + name + "'"), e.getMessage());
            assertFalse(Files.exists(dir.resolve("evil")));
        }
        IOException e = failure(new TestFiles.Tar().symlink("../evil", "x").toTgz(), n -> false);
        assertTrue(e.getMessage().contains("refusing unsafe entry name '../evil'"), e.getMessage());
    }

    @Test
    void rejectsTruncatedAndCorruptArchives() throws IOException {
        byte[] tar = new TestFiles.Tar().file("package/a", new byte[700]).file("package/b", new byte[1]).toTar();
        for (int length : new int[] {512, 1000, 2048}) {
            for (boolean selected : new boolean[] {true, false}) {
                IOException e = failure(TestFiles.gzip(Arrays.copyOf(tar, length)), n -> selected);
                assertTrue(e.getMessage().toLowerCase(Locale.ROOT).contains("truncated tar archive"),
                        length + ": " + e.getMessage());
            }
        }
        byte[] tgz = TestFiles.gzip(tar);
        IOException e = failure(Arrays.copyOf(tgz, tgz.length / 2), n -> true);
        assertTrue(e.getMessage().contains("corrupt or truncated gzip stream"), e.getMessage());
        e = failure(tar, n -> true);
        assertTrue(e.getMessage().contains("corrupt or truncated gzip stream"), e.getMessage());
        byte[] corrupt = tar.clone();
        corrupt[3] ^= 1;
        e = failure(TestFiles.gzip(corrupt), n -> true);
        assertTrue(e.getMessage().contains("corrupt tar header"), e.getMessage());
    }

    @Test
    void refusesToOverwriteAFile() throws IOException {
        byte[] tgz = new TestFiles.Tar().file("package/a", new byte[] {1}).file("package/a", new byte[] {2}).toTgz();
        IOException e = failure(tgz, n -> true);
        assertTrue(e.getMessage().contains("entry 'package/a' would overwrite"), e.getMessage());
    }
}
