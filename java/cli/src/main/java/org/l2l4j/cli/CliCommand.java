package org.l2l4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.Status;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * What every subcommand shares: the global options of {@link L2l4jCli}, option checks that
 * fail with picocli's invalid-argument exit code, and the output stream for results.
 */
abstract class CliCommand implements Callable<Integer> {
    @ParentCommand
    L2l4jCli root;

    @Spec
    CommandSpec spec;

    /**
     * Checks the global options, then {@link #validate()}s and {@link #run()}s the command.  Running
     * out of memory, in Java or in native code, is reported as the resource limit it is.
     */
    @Override
    public final Integer call() throws Exception {
        root.validate(spec.commandLine());
        validate();
        try {
            run();
        } catch (OutOfMemoryError e) {
            throw new IllegalArgumentException("not enough memory for these settings (Java: " + e.getMessage()
                    + "): use smaller sizes, such as fewer --instances, or give Java more memory with -Xmx", e);
        } catch (L2lException e) {
            if (e.status() != Status.OUT_OF_MEMORY) {
                throw e;
            }
            throw new IllegalArgumentException("not enough memory for these settings (" + e.getMessage()
                    + "): use smaller sizes, such as fewer --instances", e);
        }
        return 0;
    }

    /** Checks the options; throws {@link #invalid} on a bad one.  Nothing by default. */
    void validate() {
    }

    /** Does the work; exceptions become a one-line error message and exit code 1. */
    abstract void run() throws Exception;

    /** An invalid-argument error for this command. */
    ParameterException invalid(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    /**
     * Fails unless {@code folder} (the value of {@code option}; null: not given) can be an output
     * folder: not empty, not an existing file, and below no file; if it does not exist yet, its
     * nearest existing parent must be a writable folder.  Creates nothing, so a command fails
     * before any work; {@link #createFolder} creates it.
     */
    void requireFolder(String option, Path folder) {
        if (folder == null) {
            return;
        }
        if (folder.toString().isBlank()) {
            throw invalid(option + " must name a folder, got an empty path");
        }
        Path absolute = folder.toAbsolutePath().normalize();
        if (Files.exists(absolute) && !Files.isDirectory(absolute)) {
            throw invalid(option + ": " + folder + " is a file, not a folder");
        }
        Path existing = absolute;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null || existing.equals(absolute)) {
            return;
        }
        if (!Files.isDirectory(existing)) {
            throw invalid(option + ": cannot create the folder " + folder + ": " + existing
                    + " is a file, not a folder");
        }
        if (!Files.isWritable(existing)) {
            throw invalid(option + ": cannot create the folder " + folder + ": " + existing + " is not writable");
        }
    }

    /**
     * Creates the output folder {@code folder} of {@code option} if needed, failing with an
     * error that names the option (file systems can refuse what {@link #requireFolder} let pass,
     * such as a folder under /proc).
     */
    static void createFolder(String option, Path folder) throws IOException {
        try {
            Files.createDirectories(folder);
        } catch (IOException e) {
            throw new IOException(option + ": cannot create the folder " + folder + " ("
                    + L2l4jCli.describe(e) + ")", e);
        }
    }

    /** Fails unless {@code value >= min}. */
    void atLeast(String option, long value, long min) {
        if (value < min) {
            throw invalid(option + " must be >= " + min + ", got " + value);
        }
    }

    /** Fails unless {@code value} is finite and positive. */
    void positive(String option, double value) {
        if (!(value > 0) || !Double.isFinite(value)) {
            throw invalid(option + " must be a positive number, got " + value);
        }
    }

    /** Where results are printed (standard output unless redirected). */
    PrintWriter out() {
        return spec.commandLine().getOut();
    }
}
