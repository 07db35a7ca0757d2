package org.l2l4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TarGzTest {

    @TempDir
    Path dir;

    private Path archive(byte[] tgz) throws IOException {
        return Files.write(dir.resolve("a.tgz"), tgz);
    }

    private List<String> extracted(Path out) throws IOException {
        try (Stream<Path> files = Files.walk(out)) {
            return files.filter(Files::isRegularFile).map(p -> out.relativize(p).toString())
                    .sorted().collect(Collectors.toList());
        }
    }

    @Test
    void extractsSelectedRegularFiles() throws IOException {
        String longName = "package/" + "d".repeat(80) + "/" + "f".repeat(60);
        byte[] big = new byte[1500];
        Arrays.fill(big, (byte) 7);
        Path tgz = archive(new TestFiles.Tar()
                .directory("package/")
                .file("package/a.txt", "A".getBytes(StandardCharsets.UTF_8))
                .file("package/big.bin", big)
                .file("package/skipped.txt", "S".getBytes(StandardCharsets.UTF_8))
                .entry("package/link", '2', new byte[0])
                .file(longName, new byte[] {1, 2})
                .paxPath("package/pax/" + "p".repeat(120))
                .file("package/ignored-name", new byte[] {3})
                .toTgz());
        Path out = dir.resolve("out");
        TarGz.extract(tgz, out, name -> !name.endsWith("skipped.txt"));
        assertEquals(List.of("package/a.txt", "package/big.bin", longName, "package/pax/" + "p".repeat(120)),
                extracted(out));
        assertArrayEquals(big, Files.readAllBytes(out.resolve("package/big.bin")));
        assertArrayEquals(new byte[] {3}, Files.readAllBytes(out.resolve("package/pax/" + "p".repeat(120))));
    }

    @Test
    void refusesUnsafeNamesEvenIfNotSelected() throws IOException {
        for (String name : List.of("../evil", "package/../../evil", "/etc/evil", "a\\..\\evil")) {
            Path tgz = archive(new TestFiles.Tar().file("package/ok", new byte[1]).file(name, new byte[1]).toTgz());
            Path out = Files.createTempDirectory(dir, "out");
            IOException e = assertThrows(IOException.class, () -> TarGz.extract(tgz, out, n -> n.equals("package/ok")));
            assertTrue(e.getMessage().contains("refusing unsafe entry name '" + name + "'"), e.getMessage());
            assertFalse(Files.exists(dir.resolve("evil")));
            assertFalse(Files.exists(out.resolve("evil")));
        }
    }

    @Test
    void rejectsTruncatedAndCorruptArchives() throws IOException {
        byte[] tgz = new TestFiles.Tar().file("package/a", new byte[700]).toTgz();
        byte[] tar = new GZIPInputStream(new ByteArrayInputStream(tgz)).readAllBytes();
        for (int length : new int[] {0, 100, 512, 1000, 1536}) {
            Path cut = archive(TestFiles.gzip(Arrays.copyOf(tar, length)));
            IOException e = assertThrows(IOException.class, () -> TarGz.extract(cut, dir.resolve("o" + length), n -> true));
            assertTrue(e.getMessage().contains("truncated tar archive"), length + ": " + e.getMessage());
        }
        Path cutGzip = archive(Arrays.copyOf(tgz, tgz.length / 2));
        IOException e = assertThrows(IOException.class, () -> TarGz.extract(cutGzip, dir.resolve("g"), n -> true));
        assertTrue(e.getMessage().contains("corrupt or truncated gzip stream"), e.getMessage());
        tar[10] ^= 1;
        Path corrupt = archive(TestFiles.gzip(tar));
        e = assertThrows(IOException.class, () -> TarGz.extract(corrupt, dir.resolve("c"), n -> true));
        assertTrue(e.getMessage().contains("corrupt tar header"), e.getMessage());
    }
}
