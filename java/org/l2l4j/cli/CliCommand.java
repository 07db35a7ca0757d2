package org.l2l4j.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
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

    /** Checks the global options, then {@link #validate()}s and {@link #run()}s the command. */
    @Override
    public final Integer call() throws Exception {
        root.validate(spec.commandLine());
        validate();
        try {
            run();
        } catch (OutOfMemoryError e) {
            throw new IllegalArgumentException("not enough memory for these settings (" + e.getMessage()
                    + "): use smaller sizes, or give Java more memory with -Xmx", e);
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

    /** Fails unless {@code folder} names a folder (not the empty string). */
    void requireFolder(String option, java.nio.file.Path folder) {
        if (folder != null && folder.toString().isBlank()) {
            throw invalid(option + " must name a folder, got an empty path");
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
