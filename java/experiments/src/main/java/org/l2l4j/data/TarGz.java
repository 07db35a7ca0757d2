package org.l2l4j.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
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
 * Reads or extracts regular files from a gzipped tar archive, such as the tarballs {@code npm pack}
 * writes or the official CIFAR-10 archive.
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

    /** Receives a selected entry's content. */
    @FunctionalInterface
    interface EntryReader {
        /**
         * @param name    the entry's name
         * @param content its bytes, readable up to the entry's end; not to be closed
         */
        void read(String name, InputStream content) throws IOException;
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
        read(archive, select, (name, content) -> {
            Path target = root.resolve(name);
            Files.createDirectories(target.getParent());
            try {
                Files.copy(content, target);
            } catch (FileAlreadyExistsException e) {
                throw new IOException("entry '" + name + "' would overwrite " + target, e);
            }
        });
    }

    /**
     * Hands each regular file whose entry name {@code select} accepts to {@code reader}, in the
     * archive's order, without writing anything.
     *
     * @throws IOException if the archive is corrupt or truncated or holds an unsafe name, if the
     *                     reader throws one (its message then follows the archive's name), or on
     *                     an I/O failure
     */
    static void read(Path archive, Predicate<String> select, EntryReader reader) throws IOException {
        Path root = Path.of("/archive-root");
        try (TarArchiveInputStream tar = new TarArchiveInputStream(new GZIPInputStream(
                new BufferedInputStream(Files.newInputStream(archive), 1 << 16), 1 << 16),
                StandardCharsets.UTF_8.name())) {
            for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
                String name = entry.getName();
                if (!entry.isCheckSumOK()) {
                    throw new IOException("corrupt tar header (bad checksum) for entry '" + name + "'");
                }
                if (name.isEmpty() || name.startsWith("/") || name.contains("\\")
                        || Arrays.asList(name.split("/")).contains("..")
                        || !root.resolve(name).normalize().startsWith(root)) {
                    throw new IOException("refusing unsafe entry name '" + name + "'");
                }
                if (isRegularFile(entry) && select.test(name)) {
                    reader.read(name, tar);
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
