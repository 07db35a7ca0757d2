package org.l2l4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.l2l4j.safetensors.AtomicFile;

/**
 * What the command line does when the process is stopped (Ctrl-C, or SIGTERM) while a command
 * works: a JVM shutdown hook, registered while the command runs, that
 *
 * <ol>
 *   <li>stops file writes: a write in progress gets {@value #WRITE_GRACE_SECONDS} s to finish,
 *       then its temporary file is removed, its target left as it was ({@link AtomicFile#abandonWrites});</li>
 *   <li>ends the progress bar's line;</li>
 *   <li>removes the output folder if the command created it and nothing was written into it;</li>
 *   <li>prints the command's report ({@link CliCommand#interruptedReport}): what was saved, what
 *       is lost and how to continue.</li>
 * </ol>
 *
 * <p>The exit code stays the JVM's: 130 after SIGINT, 143 after SIGTERM.  Once the hook runs, an
 * error of the command's own thread (such as a write refused because the process is ending) is
 * not printed ({@link #unlessStopping}): the report says what happened.
 */
final class Interruption implements AutoCloseable {
    static final int WRITE_GRACE_SECONDS = 5;

    private static final Object LOCK = new Object();
    private static boolean stopping;

    private final Thread hook;

    private Interruption(CliCommand command, PrintWriter err) {
        hook = new Thread(() -> stop(command, err), "l2l4j-interrupted");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Watches {@code command} until {@link #close()}. */
    static Interruption watch(CliCommand command) {
        return new Interruption(command, command.err());
    }

    private static void stop(CliCommand command, PrintWriter err) {
        synchronized (LOCK) {
            stopping = true;
        }
        List<Path> abandoned = AtomicFile.abandonWrites(Duration.ofSeconds(WRITE_GRACE_SECONDS));
        command.bars().finish();
        OutputFolder output = command.output();
        boolean removed = output != null && output.discardIfEmpty();
        err.println(command.interruptedReport(abandoned, removed));
        err.flush();
    }

    /**
     * Runs {@code print} (an error message of the command's thread) unless the process is being
     * stopped, whose report is then the last word.
     */
    static void unlessStopping(Runnable print) {
        synchronized (LOCK) {
            if (!stopping) {
                print.run();
            }
        }
    }

    /** Stops watching: a normal end of the command. */
    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the process is being stopped, and the hook runs
        }
    }
}
