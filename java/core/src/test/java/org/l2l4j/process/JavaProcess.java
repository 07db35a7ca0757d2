package org.l2l4j.process;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A Java program run in a process of its own, with the test class path: for tests of what a
 * process does when it is stopped with SIGINT (Ctrl-C), which runs the JVM's shutdown hooks.
 * Standard output and error go to files.  Linux only (SIGINT is sent with {@code kill -INT});
 * a test is skipped where the signal cannot reach the JVM.
 */
public final class JavaProcess implements AutoCloseable {
    private static final long SIGINT_MASK = 1L << (2 - 1);

    private final Process process;
    private final Path stdout;
    private final Path stderr;

    private JavaProcess(Process process, Path stdout, Path stderr) {
        this.process = process;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    /**
     * Starts {@code mainClass} with {@code args} in {@code workingFolder}, its output in
     * {@code logs}/stdout.txt and stderr.txt, with {@code env} added to the environment.  SIGINT
     * is reset to its default action first where {@code env --default-signal} can do it (a
     * process started in the background of a shell inherits it ignored).
     */
    public static JavaProcess start(Path workingFolder, Path logs, Map<String, String> env, String mainClass,
                                    List<String> args) throws IOException {
        Files.createDirectories(logs);
        List<String> command = new ArrayList<>();
        if (canResetSigint()) {
            command.addAll(List.of("env", "--default-signal=INT"));
        }
        command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")), mainClass));
        command.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(command).directory(workingFolder.toFile())
                .redirectOutput(logs.resolve("stdout.txt").toFile()).redirectError(logs.resolve("stderr.txt").toFile());
        builder.environment().putAll(env);
        Process p = builder.start();
        p.getOutputStream().close();
        return new JavaProcess(p, logs.resolve("stdout.txt"), logs.resolve("stderr.txt"));
    }

    private static boolean canResetSigint() {
        try {
            Process p = new ProcessBuilder("env", "--default-signal=INT", "true").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Waits until {@code condition} holds, failing after {@code timeout} or if the process ends first. */
    public void awaitCondition(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (!process.isAlive()) {
                throw new AssertionError("the process ended (exit " + process.exitValue() + ") before " + what
                        + "; stderr:\n" + stderr());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no " + what + " within " + timeout + "; stderr:\n" + stderr());
            }
            Thread.sleep(20);
        }
    }

    /**
     * Sends SIGINT, as Ctrl-C does, and waits for the process to end.  Skips the test (an
     * assumption) if the JVM ignores SIGINT, which it then never sees.
     *
     * @return the exit code
     */
    public int interrupt(Duration timeout) throws IOException, InterruptedException {
        assumeTrue(!ignoresSigint(), "SIGINT is ignored in this process tree, so it cannot reach the JVM");
        Process kill = new ProcessBuilder("kill", "-INT", Long.toString(process.pid())).inheritIO().start();
        if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new AssertionError("kill -INT " + process.pid() + " failed");
        }
        return waitFor(timeout);
    }

    /** Waits for the process to end, killing it and failing after {@code timeout}; returns the exit code. */
    public int waitFor(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("the process did not end within " + timeout + "; stderr:\n" + stderr());
        }
        return process.exitValue();
    }

    private boolean ignoresSigint() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
            if (line.startsWith("SigIgn:")) {
                return (Long.parseUnsignedLong(line.substring(7).strip(), 16) & SIGINT_MASK) != 0;
            }
        }
        return false;
    }

    /** What the process wrote to standard output so far. */
    public String stdout() {
        return read(stdout);
    }

    /** What the process wrote to standard error so far. */
    public String stderr() {
        return read(stderr);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Kills the process if it still runs. */
    @Override
    public void close() {
        process.destroyForcibly();
    }
}
