package org.l2l4j.safetensors;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Replaces a file atomically: the content goes to a temporary file in the same folder
 * ({@code .NAME.RANDOM.tmp}), which is flushed to disk and then renamed over the target, so that
 * a write that fails or is interrupted at any point leaves the previous file intact.  The
 * temporary file is removed when the write fails; one left behind by a process that was killed
 * is never read (readers open the target's own name) and does not stop later writes.
 */
final class AtomicFile {

    /** Writes a file's content. */
    @FunctionalInterface
    interface Content {
        void writeTo(WritableByteChannel out) throws IOException;
    }

    private AtomicFile() {
    }

    /**
     * Writes {@code content} to {@code target} atomically.
     *
     * @param target an absolute path whose folder exists
     * @throws IOException if writing, flushing or renaming fails (including
     *                     {@link java.nio.channels.ClosedByInterruptException} when the thread is
     *                     interrupted); the target is then as it was
     */
    static void write(Path target, Content content) throws IOException {
        Path folder = target.getParent();
        Path temp = folder.resolve("." + target.getFileName() + "."
                + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        try {
            try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE)) {
                content.writeTo(out);
                out.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temp);
        }
        try (FileChannel dir = FileChannel.open(folder, StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException e) {
            // Some platforms cannot open a folder; the rename is atomic all the same, and when
            // it reaches the disk is then up to the operating system.
        }
    }
}
