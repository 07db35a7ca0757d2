package org.l2l4j.cli;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import picocli.CommandLine.Option;

/**
 * The folder a command writes its results into, and its {@code --force} option.  A command
 * names the files it writes there (glob patterns relative to the folder), so that:
 *
 * <ul>
 *   <li>before any work ({@link #check}), a folder that holds such files, left by an earlier
 *       run, is refused unless {@code --force} is given, since the new run would overwrite some
 *       and leave others stale beside its own; a folder that cannot be written is refused too
 *       (a probe file is created and deleted);</li>
 *   <li>at the start of the work ({@link #create}), the folder is created if needed and, with
 *       {@code --force}, those files (and only those) are deleted, so that none of the earlier
 *       run's files remains beside the new ones;</li>
 *   <li>when the command fails or is interrupted before writing anything ({@link #discardIfEmpty}),
 *       the folders it created are removed again.</li>
 * </ul>
 *
 * <p>A file the command reads (a checkpoint to resume) is never deleted, and a folder that holds
 * it is the run being continued, not an earlier one.
 */
final class OutputFolder {
    @Option(names = "--force",
            description = "Replace the results of an earlier run in the output folder: the files this command "
                    + "writes are deleted first (only those), so that none stays stale beside the new ones. "
                    + "Without it, an output folder that holds such files is refused.")
    boolean force;

    private String option;
    private Path folder;
    private List<PathMatcher> outputs = List.of();
    private Path input;
    /** The outermost folder that {@link #create} created, or null. */
    private volatile Path created;

    /**
     * Checks {@code folder}, the value of {@code option}, before any work: a usable folder path
     * ({@link CliCommand#requireFolder}), writable if it exists, and free of the files this command
     * writes unless {@code --force} is given or it holds {@code input}.
     *
     * @param outputs glob patterns, relative to the folder, of the files the command writes
     * @param input   a file the command reads, or null: never deleted, and a folder that holds it
     *                is not refused
     * @param resume  how to continue the earlier run instead, for the message, or null
     */
    void check(CliCommand command, String option, Path folder, List<String> outputs, Path input, String resume) {
        command.requireFolder(option, folder);
        this.option = option;
        this.folder = folder;
        this.outputs = outputs.stream().map(g -> FileSystems.getDefault().getPathMatcher("glob:" + g)).toList();
        this.input = input == null ? null : input.toAbsolutePath().normalize();
        if (!Files.isDirectory(folder)) {
            return;
        }
        try {
            probe();
        } catch (IOException e) {
            throw command.invalid(option + ": cannot write into " + folder + " (" + L2l4jCli.describe(e) + ")");
        }
        List<String> earlier = present();
        boolean continuing = this.input != null && this.input.getParent().equals(absolute());
        if (!earlier.isEmpty() && !force && !continuing) {
            String listed = earlier.size() <= 4 ? String.join(", ", earlier)
                    : String.join(", ", earlier.subList(0, 3)) + " and " + (earlier.size() - 3) + " more";
            throw command.invalid(option + " " + folder + " holds the results of an earlier run (" + listed
                    + "): pass --force to replace them, " + (resume == null ? "" : resume + ", ")
                    + "or choose another " + option);
        }
    }

    /**
     * Creates the folder if needed (remembering what it created), checks that a file can be
     * written into it and, with {@code --force}, deletes the files of an earlier run.
     *
     * @throws IOException naming the option, if the folder cannot be created or written, or an
     *                     earlier file cannot be deleted
     */
    void create() throws IOException {
        Path top = absolute();
        if (Files.exists(top)) {
            top = null;
        } else {
            while (top.getParent() != null && !Files.exists(top.getParent())) {
                top = top.getParent();
            }
        }
        try {
            Files.createDirectories(folder);
        } catch (IOException e) {
            throw new IOException(option + ": cannot create the folder " + folder + " (" + L2l4jCli.describe(e) + ")", e);
        }
        created = top;
        try {
            probe();
        } catch (IOException e) {
            throw new IOException(option + ": cannot write into " + folder + " (" + L2l4jCli.describe(e) + ")", e);
        }
        if (force) {
            for (String name : present()) {
                Path file = folder.resolve(name);
                if (!file.toAbsolutePath().normalize().equals(input)) {
                    Files.delete(file);
                    if (!file.getParent().equals(folder)) {
                        deleteIfEmpty(file.getParent());
                    }
                }
            }
        }
    }

    /** The command's files in the folder now, as paths relative to it, sorted. */
    List<String> present() {
        if (folder == null || !Files.isDirectory(folder)) {
            return List.of();
        }
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(folder, 2)) {
            files.filter(Files::isRegularFile).map(folder::relativize)
                    .filter(relative -> outputs.stream().anyMatch(m -> m.matches(relative)))
                    .forEach(relative -> found.add(relative.toString()));
        } catch (IOException | RuntimeException e) {
            return found;
        }
        return found.stream().sorted().toList();
    }

    /**
     * Removes the folders {@link #create} created, innermost first, as far as they are empty:
     * what a command that failed or was interrupted before writing anything leaves.
     *
     * @return whether the output folder itself was removed
     */
    boolean discardIfEmpty() {
        Path top = created;
        if (top == null) {
            return false;
        }
        for (Path f = absolute(); f != null && f.startsWith(top); f = f.getParent()) {
            if (!deleteIfEmpty(f)) {
                return false;
            }
        }
        created = null;
        return true;
    }

    /** The folder, as given. */
    Path folder() {
        return folder;
    }

    private Path absolute() {
        return folder.toAbsolutePath().normalize();
    }

    /** Creates and deletes a file in the folder. */
    private void probe() throws IOException {
        Path probe = folder.resolve(".l2l4j-write-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        Files.createFile(probe);
        Files.delete(probe);
    }

    /** Deletes a folder unless it holds something; whether it is gone. */
    private static boolean deleteIfEmpty(Path f) {
        try {
            Files.deleteIfExists(f);
            return true;
        } catch (IOException e) { // DirectoryNotEmptyException, or a folder that cannot be deleted
            return false;
        }
    }
}
