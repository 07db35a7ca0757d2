package org.l2l4j.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.function.Predicate;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Extracts regular files from a gzipped tar archive (ustar, with pax {@code path}/{@code size}
 * records and GNU long names), such as the tarballs {@code npm pack} writes.  Links, devices and
 * other special entries are skipped.  An archive with an unsafe entry name (absolute, containing a
 * {@code ..} segment or a backslash) is refused with an exception when that entry is reached;
 * files extracted before any exception stay in the destination, for the caller to delete.  Problems are reported as
 * {@link IOException}s whose message starts with the archive's name.  Entry names are
 * {@code /}-separated; a header checksum is verified for every entry.
 */
final class TarGz {

    private static final int BLOCK = 512;
    /** Largest pax or GNU long-name record accepted. */
    private static final int MAX_META = 1 << 20;

    private TarGz() {
    }

    /**
     * Extracts the regular files whose entry names {@code select} accepts into
     * {@code destination}, at {@code destination.resolve(name)}, creating folders as needed.
     *
     * @throws IOException if the archive is corrupt, truncated or holds an unsafe name, if an
     *                     extracted file exists already, or on an I/O failure
     */
    static void extract(Path archive, Path destination, Predicate<String> select) throws IOException {
        try (InputStream in = new GZIPInputStream(
                new BufferedInputStream(Files.newInputStream(archive), 1 << 16), 1 << 16)) {
            byte[] header = new byte[BLOCK];
            String pendingName = null;
            long pendingSize = -1;
            while (true) {
                if (in.readNBytes(header, 0, BLOCK) < BLOCK) {
                    throw new IOException(archive + ": truncated tar archive (no end-of-archive block)");
                }
                if (isZero(header)) {
                    return;
                }
                checkHeaderChecksum(archive, header);
                byte type = header[156];
                long size = number(archive, header, 124, 12);
                if (type == 'x' || type == 'L' || type == 'g') {
                    byte[] meta = readMeta(archive, in, size);
                    if (type == 'x') {
                        String[] pax = pax(archive, meta);
                        pendingName = pax[0] != null ? pax[0] : pendingName;
                        pendingSize = pax[1] != null ? parsePaxSize(archive, pax[1]) : pendingSize;
                    } else if (type == 'L') {
                        pendingName = cString(meta, 0, meta.length);
                    }
                    continue;
                }
                String name = pendingName != null ? pendingName : ustarName(header);
                size = pendingSize >= 0 ? pendingSize : size;
                pendingName = null;
                pendingSize = -1;
                Path target = safeTarget(archive, destination, name);
                boolean regular = type == '0' || type == 0 || type == '7';
                // Directories, links and special files carry no data, except in broken archives.
                if (regular && select.test(name)) {
                    Files.createDirectories(target.getParent());
                    try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW)) {
                        copy(archive, in, out, size);
                    }
                } else {
                    copy(archive, in, OutputStream.nullOutputStream(), size);
                }
                copy(archive, in, OutputStream.nullOutputStream(), padding(size));
            }
        } catch (ZipException | EOFException e) {
            throw new IOException(archive + ": corrupt or truncated gzip stream (" + e.getMessage() + ")", e);
        }
    }

    private static boolean isZero(byte[] block) {
        for (byte b : block) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    private static void checkHeaderChecksum(Path archive, byte[] header) throws IOException {
        long expected = number(archive, header, 148, 8);
        long sum = 0;
        for (int i = 0; i < BLOCK; i++) {
            sum += (i >= 148 && i < 156) ? ' ' : (header[i] & 0xFF);
        }
        if (sum != expected) {
            throw new IOException(archive + ": corrupt tar header (checksum " + expected
                    + ", computed " + sum + ")");
        }
    }

    /** A numeric header field: octal digits, or base-256 if the high bit of its first byte is set. */
    private static long number(Path archive, byte[] header, int offset, int length) throws IOException {
        long value = 0;
        if ((header[offset] & 0x80) != 0) {
            if ((header[offset] & 0x40) != 0) {
                throw new IOException(archive + ": negative number in tar header");
            }
            value = header[offset] & 0x3F;
            for (int i = offset + 1; i < offset + length; i++) {
                if (value > (Long.MAX_VALUE >> 8)) {
                    throw new IOException(archive + ": number too large in tar header");
                }
                value = (value << 8) | (header[i] & 0xFF);
            }
            return value;
        }
        int i = offset;
        int end = offset + length;
        while (i < end && header[i] == ' ') {
            i++;
        }
        for (; i < end && header[i] != 0 && header[i] != ' '; i++) {
            if (header[i] < '0' || header[i] > '7' || value > (Long.MAX_VALUE >> 3)) {
                throw new IOException(archive + ": corrupt number in tar header: '"
                        + cString(header, offset, length) + "'");
            }
            value = (value << 3) | (header[i] - '0');
        }
        return value;
    }

    private static String ustarName(byte[] header) {
        String name = cString(header, 0, 100);
        boolean ustar = Arrays.equals(header, 257, 262, "ustar".getBytes(StandardCharsets.US_ASCII), 0, 5);
        String prefix = ustar ? cString(header, 345, 155) : "";
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    /** A NUL-terminated (or full-length) UTF-8 string field. */
    private static String cString(byte[] bytes, int offset, int length) {
        int end = offset;
        while (end < offset + length && bytes[end] != 0) {
            end++;
        }
        return new String(bytes, offset, end - offset, StandardCharsets.UTF_8);
    }

    private static byte[] readMeta(Path archive, InputStream in, long size) throws IOException {
        if (size > MAX_META) {
            throw new IOException(archive + ": tar metadata record of " + size + " bytes is too large");
        }
        byte[] meta = in.readNBytes((int) size);
        if (meta.length < size) {
            throw new IOException(archive + ": truncated tar archive");
        }
        copy(archive, in, OutputStream.nullOutputStream(), padding(size));
        return meta;
    }

    /** The {@code path} and {@code size} values of pax records "LEN key=value\n" (null if absent). */
    private static String[] pax(Path archive, byte[] meta) throws IOException {
        String[] result = new String[2];
        int pos = 0;
        while (pos < meta.length) {
            int space = pos;
            while (space < meta.length && meta[space] != ' ') {
                space++;
            }
            int length;
            try {
                length = Integer.parseInt(new String(meta, pos, space - pos, StandardCharsets.US_ASCII));
            } catch (NumberFormatException e) {
                throw new IOException(archive + ": corrupt pax header", e);
            }
            if (length <= space - pos || pos + length > meta.length || meta[pos + length - 1] != '\n') {
                throw new IOException(archive + ": corrupt pax header record");
            }
            String record = new String(meta, space + 1, pos + length - space - 2, StandardCharsets.UTF_8);
            int eq = record.indexOf('=');
            if (eq < 0) {
                throw new IOException(archive + ": corrupt pax header record '" + record + "'");
            }
            String key = record.substring(0, eq);
            if (key.equals("path")) {
                result[0] = record.substring(eq + 1);
            } else if (key.equals("size")) {
                result[1] = record.substring(eq + 1);
            }
            pos += length;
        }
        return result;
    }

    private static long parsePaxSize(Path archive, String size) throws IOException {
        try {
            long value = Long.parseLong(size);
            if (value >= 0) {
                return value;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IOException(archive + ": corrupt pax size '" + size + "'");
    }

    /** Where entry {@code name} goes; refuses names that could leave {@code destination}. */
    private static Path safeTarget(Path archive, Path destination, String name) throws IOException {
        boolean unsafe = name.isEmpty() || name.startsWith("/") || name.contains("\\")
                || Arrays.asList(name.split("/")).contains("..");
        Path target = destination.resolve(name).normalize();
        if (unsafe || !target.startsWith(destination.normalize())) {
            throw new IOException(archive + ": refusing unsafe entry name '" + name + "'");
        }
        return target;
    }

    private static long padding(long size) {
        return (BLOCK - size % BLOCK) % BLOCK;
    }

    /** Copies exactly {@code size} bytes. */
    private static void copy(Path archive, InputStream in, OutputStream out, long size) throws IOException {
        byte[] buffer = new byte[8192];
        long left = size;
        while (left > 0) {
            int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
            if (n < 0) {
                throw new IOException(archive + ": truncated tar archive (an entry ends "
                        + left + " bytes early)");
            }
            out.write(buffer, 0, n);
            left -= n;
        }
    }
}
