package org.l2l4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Locale;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.l2l4j.backend.Backend;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine;

/**
 * The {@code l2l4j} command: meta-trains learned optimizers (Andrychowicz et al. 2016,
 * "Learning to learn by gradient descent by gradient descent") and compares them with tuned
 * hand-designed optimizers on held-out functions, following the protocol of {@link Comparison}.
 *
 * <p>Subcommands: {@code fetch-data} ({@link FetchDataCommand}), {@code train}
 * ({@link TrainCommand}), {@code evaluate} ({@link EvaluateCommand}), {@code main}
 * ({@link MainCommand}: fetch, train and evaluate on MNIST in one go) and
 * {@code generalization} ({@link GeneralizationCommand}: the paper's MNIST generalization
 * table).  The global options {@code --threads}, {@code --seed} and {@code --verbose} may be
 * given before or after the subcommand.
 *
 * <p>Exit codes: 0 on success, 2 for invalid arguments (with a one-line message and a pointer to
 * the help), 1 when the work fails (a missing or corrupt file, data that cannot be fetched, ...:
 * a one-line message, the stack trace only with {@code --verbose}), 130 when stopped with Ctrl-C
 * (after a report of what was saved: {@link Interruption}).  Results go to standard output;
 * progress bars and log lines to standard error, debug log lines only with {@code --verbose}.
 */
@Command(name = "l2l4j",
        mixinStandardHelpOptions = true,
        versionProvider = L2l4jCli.Version.class,
        description = "Learned optimizers: meta-training by gradient descent and comparison with tuned "
                + "hand-designed optimizers (Andrychowicz et al. 2016).",
        subcommands = {FetchDataCommand.class, TrainCommand.class, EvaluateCommand.class, MainCommand.class,
                GeneralizationCommand.class, TrainNtmBfgsCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Run 'l2l4j main' for the whole MNIST experiment, 'l2l4j COMMAND --help' for a command's options."})
public final class L2l4jCli {
    /** Exit code when the work fails (as opposed to invalid arguments, picocli's 2). */
    public static final int EXIT_FAILURE = 1;

    /** Largest {@code --threads}. */
    static final int MAX_THREADS = 1024;

    @Option(names = "--threads", scope = ScopeType.INHERIT, paramLabel = "N",
            description = "CPU threads to use, 0 for all, at most " + MAX_THREADS + " (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--seed", scope = ScopeType.INHERIT, paramLabel = "SEED",
            description = "Base seed of every random stream (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
            description = "Print stack traces of errors, and debug log lines (such as which backend computes and why).")
    boolean verbose;

    /** Runs the command line and exits with its exit code. */
    public static void main(String[] args) {
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "%4$s: %5$s%6$s%n");
        }
        System.exit(run(args));
    }

    /**
     * Runs the command line without exiting.
     *
     * @return the exit code
     */
    public static int run(String... args) {
        return commandLine().execute(args);
    }

    /** The configured command line (for tests that redirect its output). */
    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new L2l4jCli());
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        cli.setParameterExceptionHandler(L2l4jCli::invalidArguments);
        cli.setExecutionExceptionHandler((e, command, parseResult) -> failed(e, command));
        return cli;
    }

    /** The number of CPU threads to use: {@code --threads}, or all available processors. */
    int threads() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }

    long seed() {
        return seed;
    }

    /**
     * The backend: the CUDA device when one is usable, else the CPU with {@code --threads}
     * threads ({@link Backend#best(int)} logs the choice: a CUDA device at INFO, the CPU at DEBUG,
     * which {@code --verbose} shows).
     */
    Backend backend() {
        return Backend.best(threads);
    }

    /**
     * Sets the level of java.util.logging's root logger and its handlers: FINE (System.Logger's
     * DEBUG) with {@code --verbose}, else INFO.
     */
    void configureLogging() {
        Level level = verbose ? Level.FINE : Level.INFO;
        Logger rootLogger = Logger.getLogger("");
        rootLogger.setLevel(level);
        for (Handler h : rootLogger.getHandlers()) {
            h.setLevel(level);
        }
    }

    /** Checks the global options. */
    void validate(CommandLine command) {
        if (threads < 0 || threads > MAX_THREADS) {
            throw new ParameterException(command, "--threads must be in [0, " + MAX_THREADS + "] (0: all "
                    + Runtime.getRuntime().availableProcessors() + " available processors), got " + threads);
        }
    }

    private static int invalidArguments(ParameterException e, String[] args) {
        CommandLine command = e.getCommandLine();
        PrintWriter err = command.getErr();
        err.println(prefix(command) + e.getMessage());
        if (!CommandLine.UnmatchedArgumentException.printSuggestions(e, err)) {
            err.println("Run '" + command.getCommandSpec().qualifiedName() + " --help' for the options.");
        }
        return command.getCommandSpec().exitCodeOnInvalidInput();
    }

    private static int failed(Exception e, CommandLine command) {
        PrintWriter err = command.getErr();
        L2l4jCli root = (L2l4jCli) command.getCommandSpec().root().userObject();
        boolean expected = e instanceof IOException || e instanceof IllegalArgumentException;
        Interruption.unlessStopping(() -> {
            err.println(prefix(command) + describe(e)
                    + (expected || root.verbose ? "" : " (internal error; rerun with --verbose for the stack trace)"));
            if (root.verbose) {
                e.printStackTrace(err);
            }
            err.flush();
        });
        return EXIT_FAILURE;
    }

    private static String prefix(CommandLine command) {
        return command.getCommandSpec().qualifiedName() + ": error: ";
    }

    /** One line saying what went wrong. */
    static String describe(Throwable e) {
        if (e instanceof NoSuchFileException f) {
            return "no such file or folder: " + f.getFile();
        }
        if (e instanceof AccessDeniedException f) {
            return "permission denied: " + f.getFile();
        }
        if (e instanceof FileAlreadyExistsException f) {
            return "already exists: " + f.getFile();
        }
        if (e instanceof NotDirectoryException f) {
            return "not a folder: " + f.getFile();
        }
        String message = e.getMessage();
        String text = message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
        return text.lines().findFirst().orElse(text);
    }

    /** The version from the jar's manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = L2l4jCli.class.getPackage().getImplementationVersion();
            return new String[] {"l2l4j " + (v == null ? "(development build)" : v)
                    + String.format(Locale.ROOT, " (Java %s)", Runtime.version())};
        }
    }
}
