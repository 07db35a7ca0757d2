package org.l2l4j.safetensors;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Replaces a file atomically: the content goes to a temporary file in the same folder
 * ({@code .NAME.RANDOM.tmp}), which is flushed to disk and then renamed over the target, so that
 * a write that fails or is interrupted at any point leaves the previous file intact.  The
 * temporary file is removed when the write fails; one left behind by a process that was killed
 * is never read (readers open the target's own name) and does not stop later writes.
 *
 * <p>The temporary files of the writes in progress are tracked, so that a process that is being
 * stopped (a JVM shutdown hook, after Ctrl-C or SIGTERM) can remove them with
 * {@link #abandonWrites(Duration)} instead of leaving them behind: a shutdown does not run the
 * writing thread's cleanup.  Thread-safe.
 */
public final class AtomicFile {

    /** Writes a file's content. */
    @FunctionalInterface
    public interface Content {
        /**
         * Writes the whole content to {@code out}.
         *
         * @throws IOException if writing fails
         */
        void writeTo(WritableByteChannel out) throws IOException;
    }

    /** Guards {@link #IN_FLIGHT} and {@link #abandoned}; notified when a write ends. */
    private static final Object LOCK = new Object();
    /** The temporary file of each write in progress, and its target. */
    private static final Map<Path, Path> IN_FLIGHT = new HashMap<>();
    private static boolean abandoned;

    private AtomicFile() {
    }

    /**
     * Writes {@code content} to {@code target} atomically.
     *
     * @param target an absolute path whose folder exists
     * @throws IOException if writing, flushing or renaming fails (including
     *                     {@link java.nio.channels.ClosedByInterruptException} when the thread is
     *                     interrupted), or writes were stopped by {@link #abandonWrites}; the
     *                     target is then as it was
     */
    public static void write(Path target, Content content) throws IOException {
        Path folder = target.getParent();
        Path temp = folder.resolve("." + target.getFileName() + "."
                + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        synchronized (LOCK) {
            if (abandoned) {
                throw new IOException("not writing " + target + ": file writes were stopped, the process is ending");
            }
            IN_FLIGHT.put(temp, target);
        }
        try {
            try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE)) {
                content.writeTo(out);
                out.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
        } finally {
            try {
                Files.deleteIfExists(temp);
            } finally {
                synchronized (LOCK) {
                    IN_FLIGHT.remove(temp);
                    LOCK.notifyAll();
                }
            }
        }
        try (FileChannel dir = FileChannel.open(folder, StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException e) {
            // Some platforms cannot open a folder; the rename is atomic all the same, and when
            // it reaches the disk is then up to the operating system.
        }
    }

    /**
     * Stops every write of this process, for the rest of its life: waits up to {@code grace} for
     * the writes in progress to finish (each then leaves its complete file), then deletes the
     * temporary files of those still running, whose targets stay as they were.  Every later
     * {@link #write} fails with an {@link IOException}, so that no write can start and be cut off
     * when the process ends.  Meant for a shutdown hook; idempotent.
     *
     * @param grace how long to wait for the writes in progress; zero deletes their temporary
     *              files at once
     * @return the targets whose writes were still running and were abandoned (empty if none)
     * @throws IllegalArgumentException if {@code grace} is negative
     */
    public static List<Path> abandonWrites(Duration grace) {
        if (grace.isNegative()) {
            throw new IllegalArgumentException("grace must be >= 0, got " + grace);
        }
        Map<Path, Path> left;
        synchronized (LOCK) {
            abandoned = true;
            long deadline = System.nanoTime() + grace.toNanos();
            boolean interrupted = false;
            for (long wait = grace.toNanos(); !IN_FLIGHT.isEmpty() && wait > 0; wait = deadline - System.nanoTime()) {
                try {
                    LOCK.wait(Math.max(1, wait / 1_000_000));
                } catch (InterruptedException e) {
                    interrupted = true;
                    break;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            left = new HashMap<>(IN_FLIGHT);
        }
        List<Path> targets = new ArrayList<>();
        left.forEach((temp, target) -> {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException e) {
                // Nothing more can be done while the process ends; the file is never read.
            }
            targets.add(target);
        });
        return targets;
    }
}
