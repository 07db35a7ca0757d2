package org.l2l4j.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Predicate;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Extracts regular files from a gzipped tar archive, such as the tarballs {@code npm pack} writes.
 * The tar format (ustar, pax, GNU long names) is read by Apache Commons Compress; entry names are
 * UTF-8 and {@code /}-separated, and every entry's header checksum is verified.  Links, folders and
 * other special entries are skipped.  An archive with an unsafe entry name (empty, absolute,
 * containing a {@code ..} segment or a backslash) is refused with an exception when that entry is
 * reached, whether or not it is selected; files extracted before any exception stay in the
 * destination, for the caller to delete.  Problems are reported as {@link IOException}s whose
 * message starts with the archive's name.  A tar stream that stops at or within an entry's header
 * (rather than within its data) reads as if the archive ended there, so callers should check that
 * the files they need were extracted.
 */
final class TarGz {

    private TarGz() {
    }

    /**
     * Extracts the regular files whose entry names {@code select} accepts into
     * {@code destination}, at {@code destination.resolve(name)}, creating folders as needed.
     *
     * @throws IOException if the archive is corrupt or truncated or holds an unsafe name, if an
     *                     extracted file exists already, or on an I/O failure
     */
    static void extract(Path archive, Path destination, Predicate<String> select) throws IOException {
        Path root = destination.normalize();
        try (TarArchiveInputStream tar = new TarArchiveInputStream(new GZIPInputStream(
                new BufferedInputStream(Files.newInputStream(archive), 1 << 16), 1 << 16),
                StandardCharsets.UTF_8.name())) {
            for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
                String name = entry.getName();
                if (!entry.isCheckSumOK()) {
                    throw new IOException("corrupt tar header (bad checksum) for entry '" + name + "'");
                }
                Path target = root.resolve(name).normalize();
                if (name.isEmpty() || name.startsWith("/") || name.contains("\\")
                        || Arrays.asList(name.split("/")).contains("..") || !target.startsWith(root)) {
                    throw new IOException("refusing unsafe entry name '" + name + "'");
                }
                if (isRegularFile(entry) && select.test(name)) {
                    Files.createDirectories(target.getParent());
                    try {
                        Files.copy(tar, target);
                    } catch (FileAlreadyExistsException e) {
                        throw new IOException("entry '" + name + "' would overwrite " + target, e);
                    }
                }
            }
        } catch (ZipException | EOFException e) {
            throw new IOException(archive + ": corrupt or truncated gzip stream (" + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw new IOException(archive + ": " + e.getMessage(), e);
        }
    }

    /** Whether the entry holds a regular file ({@link TarArchiveEntry#isFile()} accepts links too). */
    private static boolean isRegularFile(TarArchiveEntry entry) {
        byte flag = entry.getLinkFlag();
        return flag == TarConstants.LF_NORMAL || flag == TarConstants.LF_OLDNORM
                || flag == TarConstants.LF_CONTIG;
    }
}
