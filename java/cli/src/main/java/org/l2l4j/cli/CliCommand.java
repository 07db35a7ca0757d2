package org.l2l4j.cli;

import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.BackendKind;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.Status;
import org.l2l4j.meta.MemoryEstimate;
import org.l2l4j.meta.MemoryEstimate.Driver;
import org.l2l4j.meta.MemoryEstimate.Memory;
import org.l2l4j.optimizees.ProblemSetup;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * What every subcommand shares: the global options of {@link L2l4jCli}, option checks that
 * fail with picocli's invalid-argument exit code, the output and error streams, the progress
 * bars, the output folder's cleanup when the command fails, what it reports when the process is
 * stopped ({@link Interruption}), and the memory checks that refuse settings too large for the
 * machine before any work.
 */
abstract class CliCommand implements Callable<Integer> {
    @ParentCommand
    L2l4jCli root;

    @Spec
    CommandSpec spec;

    private ProgressBars bars;

    /**
     * Checks the global options, configures logging, then {@link #validate()}s and
     * {@link #run()}s the command while an {@link Interruption} watches it.  If the run fails, the
     * output folder is removed again if the command created it and wrote nothing into it.
     * Running out of memory, in Java or in native code, is reported as the resource limit it is,
     * naming the options that set the sizes ({@link #memoryOptions()}).
     */
    @Override
    public final Integer call() throws Exception {
        root.validate(spec.commandLine());
        root.configureLogging();
        bars = new ProgressBars(err());
        validate();
        Interruption watch = Interruption.watch(this);
        try {
            run();
        } catch (OutOfMemoryError e) {
            discardOutput();
            throw new IllegalArgumentException("not enough memory for these settings (Java: " + e.getMessage()
                    + "): " + advice(memoryOptions().keySet(), true), e);
        } catch (L2lException e) {
            discardOutput();
            if (e.status() != Status.OUT_OF_MEMORY) {
                throw e;
            }
            throw new IllegalArgumentException("not enough memory for these settings (" + e.getMessage()
                    + "): " + advice(memoryOptions().keySet(), false), e);
        } catch (Exception | Error e) {
            discardOutput();
            throw e;
        } finally {
            watch.close();
            bars.finish();
        }
        return 0;
    }

    /** Checks the options; throws {@link #invalid} on a bad one.  Nothing by default. */
    void validate() {
    }

    /** Does the work; exceptions become a one-line error message and exit code 1. */
    abstract void run() throws Exception;

    /** The folder the command writes its results into, if it has one; null by default. */
    OutputFolder output() {
        return null;
    }

    /**
     * The options that set the sizes of what the command allocates, each with the advice that
     * shrinks it ("fewer --runs"), by the setting it drives; empty by default.
     */
    Map<Driver, String> memoryOptions() {
        return Map.of();
    }

    /**
     * What to print when the process is stopped while the command works ({@link Interruption}),
     * one or more lines.  By default: what the output folder holds of this run.
     *
     * @param abandoned     files whose writes were cut off (they are as they were)
     * @param folderRemoved whether the output folder was removed, being empty
     */
    String interruptedReport(List<Path> abandoned, boolean folderRemoved) {
        return prefix() + "interrupted; " + outputState(folderRemoved) + abandonedWrites(abandoned);
    }

    /** What the output folder holds of this run, for {@link #interruptedReport}. */
    String outputState(boolean folderRemoved) {
        OutputFolder o = output();
        if (o == null) {
            return "nothing was written";
        }
        if (folderRemoved) {
            return "nothing was written, and the empty folder " + o.folder() + " was removed";
        }
        List<String> written = o.present();
        return written.isEmpty() ? "nothing was written into " + o.folder()
                : o.folder() + " holds " + String.join(", ", written) + " of this run, which may be incomplete "
                        + "(to run it again, add --force)";
    }

    /** A sentence on the writes cut off, or nothing. */
    static String abandonedWrites(List<Path> abandoned) {
        return abandoned.isEmpty() ? "" : "; the writes of " + abandoned.stream().map(Path::toString)
                .collect(Collectors.joining(", ")) + " were cut off, and those files are as they were before";
    }

    /** "l2l4j train: ", to start a message. */
    String prefix() {
        return spec.qualifiedName() + ": ";
    }

    /** An invalid-argument error for this command. */
    ParameterException invalid(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    /**
     * Fails unless {@code folder} (the value of {@code option}; null: not given) can be an output
     * folder: not empty, not an existing file, and below no file; if it does not exist yet, its
     * nearest existing parent must be a writable folder.  Creates nothing, so a command fails
     * before any work.
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

    /** Fails unless {@code value >= min}. */
    void atLeast(String option, long value, long min) {
        if (value < min) {
            throw invalid(option + " must be >= " + min + ", got " + value);
        }
    }

    /**
     * Checks a meta-training's truncation and meta-batch options: --unroll and --horizon >= 1,
     * the unroll no longer than the horizon, --instances >= 1, --clip-norm finite and >= 0, and a
     * positive --budget if given.
     */
    void checkMetaTraining(int unroll, int horizon, int instances, double clipNorm, java.time.Duration budget) {
        atLeast("--unroll", unroll, 1);
        atLeast("--horizon", horizon, 1);
        if (unroll > horizon) {
            throw invalid("--unroll (" + unroll + ") must not exceed --horizon (" + horizon + ")");
        }
        atLeast("--instances", instances, 1);
        if (!(clipNorm >= 0) || !Double.isFinite(clipNorm)) {
            throw invalid("--clip-norm must be >= 0 (0: off), got " + clipNorm);
        }
        if (budget != null && (budget.isZero() || budget.isNegative())) {
            throw invalid("--budget must be positive, got " + DurationConverter.format(budget));
        }
    }

    /** "20,20" as {20, 20}; "none" (or an empty value) as none. */
    int[] counts(String option, String text) {
        String t = text.strip();
        if (t.isEmpty() || t.equalsIgnoreCase("none")) {
            return new int[0];
        }
        try {
            return java.util.Arrays.stream(t.split(",")).map(String::strip).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw invalid(option + " must be comma-separated integers or 'none', got '" + text + "'");
        }
    }

    /** Fails unless {@code value} is finite and positive. */
    void positive(String option, double value) {
        if (!(value > 0) || !Double.isFinite(value)) {
            throw invalid(option + " must be a positive number, got " + value);
        }
    }

    /**
     * Fails (invalid arguments) if {@code work} (such as "meta-training") cannot fit in this
     * machine: its Java part in what the Java heap can still grow by (-Xmx), or, on a CPU
     * backend, its native part with the Java heap in the machine's physical memory.  The message
     * names the largest parts and the options that drive them.  A CUDA backend's device memory is
     * not checked.
     */
    void requireMemory(String work, MemoryEstimate estimate, Backend backend) {
        Runtime java = Runtime.getRuntime();
        long heapUsed = java.totalMemory() - java.freeMemory();
        long heapLeft = java.maxMemory() - heapUsed;
        long heap = estimate.bytes(Memory.JAVA_HEAP);
        if (heap > heapLeft) {
            throw invalid(work + " needs about " + size(heap) + " of Java heap (" + parts(estimate, Memory.JAVA_HEAP)
                    + "), more than the " + size(heapLeft) + " that Java can still allocate: "
                    + advice(estimate.drivers(Memory.JAVA_HEAP), true));
        }
        long physical = physicalMemory();
        long needed = MemoryEstimate.sum(estimate.bytes(Memory.NATIVE), heap, heapUsed);
        if (backend.kind() == BackendKind.CPU && physical > 0 && needed > physical) {
            throw invalid(work + " needs about " + size(estimate.bytes(Memory.NATIVE)) + " of native memory ("
                    + parts(estimate, Memory.NATIVE) + ") beside the Java heap, more than this machine's "
                    + size(physical) + ": " + advice(estimate.drivers(Memory.NATIVE), false));
        }
    }

    /** The machine's physical memory (within a container: its limit), or 0 if unknown. */
    private static long physicalMemory() {
        try {
            return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                    .getTotalMemorySize();
        } catch (ClassCastException | LinkageError e) {
            return 0;
        }
    }

    /** "the backward record 64.8 TB, the ... 1.2 GB". */
    private static String parts(MemoryEstimate estimate, Memory memory) {
        return estimate.largest(memory).stream().map(p -> p.what() + " " + size(p.bytes()))
                .collect(Collectors.joining(", "));
    }

    /** "use fewer --instances or a shorter --unroll[, or give Java more memory with -Xmx]". */
    private String advice(Iterable<Driver> drivers, boolean javaHeap) {
        Map<Driver, String> options = memoryOptions();
        List<String> ways = new ArrayList<>();
        for (Driver d : drivers) {
            if (options.containsKey(d) && !ways.contains(options.get(d))) {
                ways.add(options.get(d));
            }
        }
        if (javaHeap) {
            ways.add("give Java more memory with -Xmx");
        }
        if (ways.isEmpty()) {
            return "this machine has too little memory for it";
        }
        return "use " + (ways.size() == 1 ? ways.get(0)
                : String.join(", ", ways.subList(0, ways.size() - 1)) + " or " + ways.get(ways.size() - 1));
    }

    /** Bytes as "123 MB", "4.5 GB". */
    static String size(long bytes) {
        String[] units = {"bytes", "kB", "MB", "GB", "TB", "PB", "EB"};
        double v = bytes;
        int u = 0;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return u == 0 ? bytes + " bytes" : String.format(Locale.ROOT, "%.3g %s", v, units[u]);
    }

    /** Prints where the data of {@code setup} come from, if it has a data set, and its labels for CIFAR. */
    void printData(ProblemSetup setup) {
        if (setup.data() != null) {
            out().println("Data: " + setup.data());
        }
        if (setup.labels() != null) {
            out().println("Labels: " + ProblemSetup.labelList(setup.labels()) + " (" + setup.labels().length
                    + " classes, one output each)");
        }
        out().flush();
    }

    /** The command line's arguments, as given. */
    List<String> originalArgs() {
        return spec.root().commandLine().getParseResult().originalArgs();
    }

    /** The progress bars of this command. */
    ProgressBars bars() {
        return bars;
    }

    /** Where results are printed (standard output unless redirected). */
    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    /** Where errors, progress and interruption reports go (standard error unless redirected). */
    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    private void discardOutput() {
        OutputFolder o = output();
        if (o != null) {
            o.discardIfEmpty();
        }
    }
}
