package org.l2l4j.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;

/**
 * The four original MNIST files, with their standard names and the SHA-256 of their uncompressed
 * content.  In a folder, each may be stored raw under its name or gzipped under
 * its name plus {@code .gz}.
 */
public enum MnistFile {
    /** 60,000 training images, IDX unsigned byte, dims 60000x28x28. */
    TRAIN_IMAGES("train-images-idx3-ubyte",
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    /** 60,000 training labels, IDX unsigned byte, dims 60000, values 0..9. */
    TRAIN_LABELS("train-labels-idx1-ubyte",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    /** 10,000 test images, IDX unsigned byte, dims 10000x28x28. */
    TEST_IMAGES("t10k-images-idx3-ubyte",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    /** 10,000 test labels, IDX unsigned byte, dims 10000, values 0..9. */
    TEST_LABELS("t10k-labels-idx1-ubyte",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2");

    private final String fileName;
    private final String sha256;

    MnistFile(String fileName, String sha256) {
        this.fileName = fileName;
        this.sha256 = sha256;
    }

    /** The standard file name, e.g. {@code train-images-idx3-ubyte} (no {@code .gz}). */
    public String fileName() {
        return fileName;
    }

    /** SHA-256 of the original uncompressed file, 64 lowercase hex digits. */
    public String sha256() {
        return sha256;
    }

    /**
     * This file in {@code folder}: the raw file if it exists, else the gzipped one.
     *
     * @return the path, or empty if neither is a regular file
     */
    Optional<Path> locate(Path folder) {
        Path raw = folder.resolve(fileName);
        Path gzipped = folder.resolve(fileName + ".gz");
        return Files.isRegularFile(raw) ? Optional.of(raw)
                : Files.isRegularFile(gzipped) ? Optional.of(gzipped) : Optional.empty();
    }

    /** A fresh SHA-256 digest. */
    static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform must provide SHA-256", e);
        }
    }

    /** SHA-256 of a file's bytes as stored (no decompression), lowercase hex. */
    static String sha256Of(Path file) throws IOException {
        MessageDigest digest = newSha256();
        try (InputStream in = Files.newInputStream(file);
             OutputStream out = new DigestOutputStream(OutputStream.nullOutputStream(), digest)) {
            in.transferTo(out);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /**
     * Throws unless {@code actual} equals {@code expected}.
     *
     * @param file   the file checked, named in the message
     * @param advice what the user should do, appended to the message
     * @throws DataUnavailableException naming the file, the expected and the actual checksum
     */
    static void checkSha256(Path file, String expected, String actual, String advice)
            throws DataUnavailableException {
        if (!expected.equals(actual)) {
            throw new DataUnavailableException("SHA-256 mismatch for " + file + ": expected "
                    + expected + ", actual " + actual + "; " + advice);
        }
    }
}
