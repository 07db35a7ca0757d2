package org.l2l4j.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Objects;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads IDX files, the format of the MNIST files (http://yann.lecun.com/exdb/mnist/):
 *
 * <pre>
 *   magic   4 bytes: 0x00 0x00 type ndims    (type: see {@link IdxType}; ndims &gt;= 1)
 *   dims    ndims big-endian 32-bit sizes, outermost first
 *   data    product(dims) elements of the type, big-endian, row-major
 * </pre>
 *
 * <p>A file may also be gzip-compressed; compression is detected from the gzip magic bytes
 * (0x1f 0x8b), not from the file name.  The file must end exactly after the data.
 *
 * <p>Every malformation is reported as an {@link IdxFormatException} (an {@link IOException})
 * whose message starts with the file name: empty file, wrong magic number, unsupported type,
 * zero dimensions, a dimension of 2^31 or more, more elements than a Java array can hold,
 * truncated header or data, bytes after the data, corrupt gzip stream.  Other I/O failures (file
 * missing, unreadable) are the usual {@link IOException}s.  A null argument throws
 * {@link NullPointerException}.
 */
public final class IdxReader {

    /** Largest byte array a JVM reliably allocates. */
    private static final long MAX_BYTES = Integer.MAX_VALUE - 8;
    private static final int BUFFER = 1 << 16;

    private IdxReader() {
    }

    /**
     * Reads one IDX file, raw or gzipped.
     *
     * @param file the file
     * @return its dimensions and elements
     * @throws IdxFormatException if the file is not a well-formed IDX file
     * @throws IOException        if the file cannot be read
     */
    public static IdxArray read(Path file) throws IOException {
        return read(file, null);
    }

    /**
     * Reads one IDX file, raw or gzipped, feeding every byte of its uncompressed content (header,
     * data and anything after) to {@code contentDigest} if that is not null.
     */
    static IdxArray read(Path file, MessageDigest contentDigest) throws IOException {
        Objects.requireNonNull(file, "file");
        String source = file.toString();
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), BUFFER)) {
            InputStream in = isGzip(raw) ? new GZIPInputStream(raw, BUFFER) : raw;
            if (contentDigest != null) {
                in = new DigestInputStream(in, contentDigest);
            }
            return parse(in, source);
        } catch (ZipException | EOFException e) {
            throw new IdxFormatException(source, "gzip stream is corrupt or truncated ("
                    + e.getMessage() + ")", e);
        }
    }

    /** Whether the stream starts with the gzip magic bytes; leaves the stream where it was. */
    private static boolean isGzip(InputStream in) throws IOException {
        in.mark(2);
        boolean gzip = in.read() == 0x1f && in.read() == 0x8b;
        in.reset();
        return gzip;
    }

    private static IdxArray parse(InputStream in, String source) throws IOException {
        byte[] magic = in.readNBytes(4);
        if (magic.length == 0) {
            throw new IdxFormatException(source, "is empty, not an IDX file");
        }
        if (magic.length < 4) {
            throw new IdxFormatException(source, "is truncated: it ends after " + magic.length
                    + " of the 4 magic-number bytes");
        }
        int magicNumber = ByteBuffer.wrap(magic).getInt();
        if (magic[0] != 0 || magic[1] != 0) {
            throw new IdxFormatException(source, String.format("has wrong magic number 0x%08X: an IDX"
                    + " file starts with 0x0000, a type byte and a dimension count (MNIST images:"
                    + " 0x00000803, labels: 0x00000801)", magicNumber));
        }
        int typeCode = magic[2] & 0xFF;
        IdxType type = IdxType.fromCode(typeCode).orElseThrow(() -> new IdxFormatException(source,
                String.format("has unsupported element type 0x%02X in magic number 0x%08X"
                        + " (supported: 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E)", typeCode, magicNumber)));
        int rank = magic[3] & 0xFF;
        if (rank == 0) {
            throw new IdxFormatException(source, String.format(
                    "declares 0 dimensions in magic number 0x%08X", magicNumber));
        }
        byte[] dimBytes = in.readNBytes(4 * rank);
        if (dimBytes.length < 4 * rank) {
            throw new IdxFormatException(source, "is truncated: the header declares " + rank
                    + " dimensions (" + 4 * rank + " bytes), but only " + dimBytes.length
                    + " bytes follow the magic number");
        }
        int[] dims = new int[rank];
        ByteBuffer dimBuffer = ByteBuffer.wrap(dimBytes);
        for (int k = 0; k < rank; k++) {
            dims[k] = dimBuffer.getInt();
            if (dims[k] < 0) {
                throw new IdxFormatException(source, "dimension " + k + " is "
                        + Integer.toUnsignedString(dims[k]) + ", more than 2^31 - 1");
            }
        }
        String shape = describe(dims, type);
        long byteCount = dataBytes(dims, type, source, shape);
        byte[] data = in.readNBytes((int) byteCount);
        if (data.length < byteCount) {
            throw new IdxFormatException(source, "is truncated: the header promises " + byteCount
                    + " data bytes (" + shape + "), but only " + data.length + " follow");
        }
        long extra = in.transferTo(OutputStream.nullOutputStream());
        if (extra > 0) {
            throw new IdxFormatException(source, "has " + extra + " bytes of trailing garbage after"
                    + " the " + byteCount + " data bytes promised by the header (" + shape + ")");
        }
        return new IdxArray(type, dims, data);
    }

    /** Number of data bytes the dimensions promise, checked against what an array can hold. */
    private static long dataBytes(int[] dims, IdxType type, String source, String shape)
            throws IdxFormatException {
        if (Arrays.stream(dims).anyMatch(d -> d == 0)) {
            return 0;
        }
        long bytes = type.bytes();
        for (int d : dims) {
            bytes *= d; // < 2^31 * 2^31: no overflow, since bytes <= MAX_BYTES before
            if (bytes > MAX_BYTES) {
                throw new IdxFormatException(source, "dimensions " + shape + " need more than "
                        + MAX_BYTES + " bytes, more than a Java array can hold");
            }
        }
        return bytes;
    }

    private static String describe(int[] dims, IdxType type) {
        StringBuilder s = new StringBuilder();
        for (int d : dims) {
            s.append(s.length() == 0 ? "" : "x").append(d);
        }
        return s.append(" of ").append(type).toString();
    }
}
