package org.l2l4j.cli;

import org.l2l4j.eval.Comparison;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.Status;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.meta.TrainingCheckpoint;
import picocli.CommandLine;

/** The command line end to end on tiny quadratic problems, and its handling of bad arguments. */
class CliTest {
    private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G'};

    @TempDir
    static Path dir;
    static Path trained;

    /** Exit code and output of one command line. */
    record Outcome(int code, String out, String err) {
    }

    static Outcome run(String... args) {
        return run(L2l4jCli.commandLine(), args);
    }

    static Outcome run(CommandLine cli, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        return new Outcome(code, out.toString(), err.toString());
    }

    static String[] train(Path out, String... more) {
        List<String> args = new java.util.ArrayList<>(List.of("--threads", "1", "--seed", "7", "train",
                "--problem", "quadratic", "--horizon", "20", "--unroll", "10", "--eval-every", "2",
                "--validation-functions", "4", "--out", out.toString()));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    @BeforeAll
    static void trainTiny() {
        trained = dir.resolve("train");
        Outcome o = run(train(trained, "--epochs", "4", "--compare-adam"));
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("Tuned Adam"), o.out());
        assertTrue(o.out().contains("LSTM kernels"), o.out());
    }

    @Test
    void trainWritesCheckpointsAndLearningCurve() throws IOException {
        OptimizerCheckpoint opt = OptimizerCheckpoint.load(trained.resolve("optimizer.safetensors"));
        assertEquals(LstmConfig.paperQuadratic(), opt.config());
        assertEquals("quadratic", opt.description().get("problem"));
        assertEquals("4", opt.description().get("epochs"));
        assertEquals("7", opt.description().get("seed"));
        assertTrue(opt.description().containsKey("validation_loss"));
        assertTrue(opt.description().containsKey("date"));
        TrainingCheckpoint.Saved saved = TrainingCheckpoint.load(trained.resolve("training.safetensors"));
        assertEquals(4, saved.state().epochs());
        float[] best = new float[opt.phi().length];
        for (int i = 0; i < best.length; i++) {
            best[i] = (float) saved.state().bestPhi()[i];
        }
        assertArrayEquals(best, opt.phi());
        List<String> curve = Files.readAllLines(trained.resolve("learning-curve.csv"));
        assertEquals("epoch,validation_loss,training_meta_loss", curve.get(0));
        assertEquals(3, curve.size(), curve.toString());
        assertTrue(curve.get(2).startsWith("4,"), curve.toString());
        for (String row : curve.subList(1, curve.size())) {
            Arrays.stream(row.split(",")).forEach(Double::parseDouble);
        }
        assertPng(trained.resolve("learning-curve.png"));
        assertTrue(Files.size(trained.resolve("learning-curve.svg")) > 0);
    }

    @Test
    void resumeContinuesWhereTrainingStopped() throws IOException {
        Path again = dir.resolve("resumed");
        Files.createDirectories(again);
        Files.copy(trained.resolve("training.safetensors"), again.resolve("start.safetensors"));
        Outcome o = run(train(again, "--epochs", "6", "--meta-lr", "3e-4", "--clip-norm", "1", "--resume",
                again.resolve("start.safetensors").toString()));
        assertEquals(0, o.code(), o.err());
        assertEquals(6, TrainingCheckpoint.load(again.resolve("training.safetensors")).state().epochs());
        List<String> curve = Files.readAllLines(again.resolve("learning-curve.csv"));
        assertEquals(Files.readAllLines(trained.resolve("learning-curve.csv")), curve.subList(0, 3));
        assertTrue(curve.get(3).startsWith("6,"), curve.toString());
        o = run(train(again, "--epochs", "6", "--resume", again.resolve("training.safetensors").toString()));
        assertEquals(L2l4jCli.EXIT_FAILURE, o.code(), o.err());
        assertTrue(o.err().contains("has already trained 6 epochs"), o.err());
    }

    @Test
    void evaluateWritesReports() throws IOException {
        Path eval = dir.resolve("eval");
        Outcome o = run("--threads", "1", "evaluate", "--optimizer", trained.resolve("optimizer.safetensors").toString(),
                "--runs", "4", "--steps", "20", "--tuning-functions", "2", "--out", eval.toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("| optimizer | final loss |"), o.out());
        List<String> curves = Files.readAllLines(eval.resolve("curves.csv"));
        assertEquals("optimizer,step,mean,stderr,runs", curves.get(0));
        assertEquals(1 + 6 * 21, curves.size());
        assertTrue(curves.get(1).startsWith(Comparison.LEARNED + ",0,"), curves.get(1));
        List<String> runs = Files.readAllLines(eval.resolve("runs.csv"));
        assertEquals("optimizer,run,final_loss,loss_sum", runs.get(0));
        assertEquals(1 + 6 * 4, runs.size());
        String summary = Files.readString(eval.resolve("summary.md"));
        assertTrue(summary.contains("| optimizer | final loss | sum of losses, steps 1-20 |"), summary);
        for (String name : List.of("LSTM (learned)", "SGD (lr ", "Momentum (lr ", "NAG (lr ", "RMSprop (lr ", "Adam (lr ")) {
            assertTrue(summary.contains("| " + name), name + " missing in\n" + summary);
        }
        assertTrue(summary.contains("LSTM (learned) vs Adam:"), summary);
        assertPng(eval.resolve("loss.png"));
        assertTrue(Files.size(eval.resolve("loss.svg")) > 0);
        assertEquals("optimizer,learning_rate,mean_final_loss,best",
                Files.readAllLines(eval.resolve("tuning.csv")).get(0));
        String wrote = o.out().lines().filter(l -> l.startsWith("Wrote ")).findFirst().orElse("");
        try (var files = Files.list(eval)) {
            for (Path f : files.toList()) {
                assertTrue(wrote.contains(f.getFileName().toString()), f.getFileName() + " missing in " + wrote);
            }
        }
    }

    @Test
    void resumeRejectsChangedTrajectorySettings() {
        String start = trained.resolve("training.safetensors").toString();
        Path out = dir.resolve("changed");
        // each option with the value the checkpoint was trained with and a new one
        String[][] changes = {{"--horizon", "20", "30"}, {"--unroll", "10", "5"}, {"--instances", "1", "2"},
            {"--input-scaling", "PAPER", "BATCH_MEAN"}, {"--eval-every", "2", "1"},
            {"--validation-functions", "4", "3"}};
        for (String[] c : changes) {
            List<String> args = new java.util.ArrayList<>(List.of(train(out, "--epochs", "6", "--resume", start)));
            int at = args.indexOf(c[0]);
            if (at >= 0) {
                args.set(at + 1, c[2]);
            } else {
                args.addAll(List.of(c[0], c[2]));
            }
            Outcome o = run(args.toArray(String[]::new));
            assertEquals(L2l4jCli.EXIT_FAILURE, o.code(), c[0] + ": " + o.err());
            assertTrue(o.err().contains(c[0] + ": " + start + " was trained with " + c[1] + ", this run has " + c[2]),
                    o.err());
            assertEquals(1, o.err().lines().count(), o.err());
        }
        assertFalse(Files.exists(out.resolve("optimizer.safetensors")));
    }

    @Test
    void resumeAcceptsACheckpointWithoutTheSettings() throws IOException {
        TrainingCheckpoint.Saved saved = TrainingCheckpoint.load(trained.resolve("training.safetensors"));
        java.util.Map<String, String> older = new java.util.HashMap<>(saved.metadata());
        older.keySet().removeAll(List.of("eval_every", "validation_functions"));
        Path old = dir.resolve("older.safetensors");
        TrainingCheckpoint.save(old, saved.config(), saved.state(), older);
        String[] args = train(dir.resolve("older"), "--epochs", "5", "--resume", old.toString());
        args[List.of(args).indexOf("--eval-every") + 1] = "1";
        Outcome o = run(args);
        assertEquals(0, o.code(), o.err());
    }

    @Test
    void outputFoldersAreCheckedBeforeAnyWork() throws IOException {
        Path file = Files.writeString(dir.resolve("a-file"), "keep");
        String optimizer = trained.resolve("optimizer.safetensors").toString();
        for (Path bad : List.of(file, file.resolve("sub"))) {
            // defaults that would take minutes if the work started
            assertUsageError(run("evaluate", "--optimizer", optimizer, "--out", bad.toString()), "--out: ");
            assertUsageError(run("generalization", "--optimizer", optimizer, "--out", bad.toString()), "--out: ");
            assertUsageError(run("main", "--out", bad.toString()), "--out: ");
            assertUsageError(run(train(bad)), "--out: ");
            assertUsageError(run("fetch-data", "--cache", bad.toString()), "--cache: ");
        }
        assertUsageError(run("evaluate", "--optimizer", optimizer, "--out", file.toString()),
                "--out: " + file + " is a file, not a folder");
        assertUsageError(run("evaluate", "--optimizer", optimizer, "--out", file.resolve("sub").toString()),
                "--out: cannot create the folder " + file.resolve("sub") + ": " + file + " is a file, not a folder");
        assertUsageError(run("fetch-data", "--cache", ""), "--cache must name a folder");
        assertEquals("keep", Files.readString(file));
    }

    @Test
    void outputFoldersTheFileSystemRefusesAreNamedByTheOption() {
        Path proc = Path.of("/proc");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(proc.resolve("self")),
                "needs Linux's /proc, a folder in which no folder can be created");
        Outcome o = run("evaluate", "--optimizer", trained.resolve("optimizer.safetensors").toString(),
                "--out", proc.resolve("l2l4j-out").toString());
        assertTrue(o.code() != 0, o.err());
        assertTrue(o.err().startsWith("l2l4j evaluate: error: --out: cannot create the folder /proc/l2l4j-out"),
                o.err());
        assertFalse(o.out().contains("| optimizer |"), o.out());
    }

    @Test
    void outOfRangeValuesAreRejected() {
        Path out = dir.resolve("unused-values");
        for (String scale : List.of("0", "-1", "NaN", "Infinity")) {
            assertUsageError(run(train(out, "--output-scale", scale)), "--output-scale must be a positive number");
        }
        assertUsageError(run(train(out, "--output-scale", "1e38")), "--output-scale must be <= 1e3");
        assertUsageError(run("--threads", "100000", "train", "--problem", "quadratic", "--out", out.toString()),
                "--threads must be in [0, " + L2l4jCli.MAX_THREADS + "]");
        assertFalse(Files.exists(out));
    }

    /** A command that runs out of native memory. */
    @CommandLine.Command(name = "exhaust")
    static final class ExhaustingCommand extends CliCommand {
        @Override
        void run() {
            throw new L2lException(Status.OUT_OF_MEMORY, "cannot allocate 8000000000 bytes");
        }
    }

    @Test
    void runningOutOfMemoryReadsAsAResourceLimit() {
        CommandLine cli = L2l4jCli.commandLine();
        cli.addSubcommand(new ExhaustingCommand());
        Outcome o = run(cli, "exhaust");
        assertEquals(L2l4jCli.EXIT_FAILURE, o.code());
        assertTrue(o.err().startsWith("l2l4j exhaust: error: not enough memory for these settings"), o.err());
        assertTrue(o.err().contains("fewer --instances"), o.err());
        assertFalse(o.err().contains("internal error"), o.err());
    }

    @Test
    void helpListsWhatTheCommandsDo() {
        // picocli may wrap lines after a dot, as in "loss.\nsvg"
        String evaluate = run("evaluate", "--help").out().replaceAll("\\s*\n\\s*", "");
        for (String file : List.of("summary.md", "curves.csv", "runs.csv", "loss.png", "loss.svg", "tuning.csv",
                "full-split.csv")) {
            assertTrue(evaluate.contains(file), file + " missing in\n" + evaluate);
        }
        String train = run("train", "--help").out();
        for (org.l2l4j.lstm.PhiInit init : org.l2l4j.lstm.PhiInit.values()) {
            assertTrue(train.contains(init.name()), init + " missing in\n" + train);
        }
        String top = run("--help").out().replaceAll("\\s*\n\\s*", " ");
        assertTrue(top.contains("200 by default"), top);
        assertFalse(top.contains("2K"), top);
    }

    @Test
    void badArgumentsFailWithOneLineMessage() {
        Path out = dir.resolve("unused");
        assertUsageError(run("train", "--problem", "quadratic", "--out", out.toString(), "--epochs", "0"), "--epochs must be >= 1");
        assertUsageError(run("train", "--out", out.toString()), "--problem");
        assertUsageError(run("train", "--problem", "cubic", "--out", out.toString()), "cubic");
        assertUsageError(run("train", "--problem", "quadratic", "--hidden", "40", "--out", out.toString()), "mnist only");
        assertUsageError(run("train", "--problem", "quadratic", "--budget", "soon", "--out", out.toString()), "duration");
        assertUsageError(run("train", "--problem", "quadratic", "--unroll", "30", "--horizon", "20", "--out", out.toString()),
                "--unroll (30) must not exceed --horizon (20)");
        assertUsageError(run("train", "--problem", "quadratic", "--p", "5", "--out", out.toString()),
                "--p applies to log-and-sign preprocessing");
        assertUsageError(run("train", "--problem", "quadratic", "--log-epsilon", "--out", out.toString()),
                "--log-epsilon applies to log-and-sign preprocessing");
        assertUsageError(run("--threads", "-1", "train", "--problem", "quadratic", "--out", out.toString()), "--threads");
        assertUsageError(run("evaluate", "--optimizer", dir.resolve("missing.safetensors").toString(), "--out",
                out.toString()), "no such file");
        assertUsageError(run("evaluate", "--optimizer", trained.resolve("optimizer.safetensors").toString(),
                "--runs", "1", "--out", out.toString()), "--runs must be >= 2");
        assertUsageError(run("main", "--budget", "0s"), "--budget must be positive");
        assertUsageError(run("generalization", "--optimizer", trained.resolve("optimizer.safetensors").toString(),
                "--tuning-functions", "0", "--out", out.toString()), "--tuning-functions must be >= 1");
        assertUsageError(run("trian"), "Unmatched argument");
        assertFalse(Files.exists(out));
    }

    @Test
    void corruptOrWrongCheckpointsFailWithoutStackTrace() throws IOException {
        Path corrupt = dir.resolve("corrupt.safetensors");
        byte[] bytes = Files.readAllBytes(trained.resolve("optimizer.safetensors"));
        Files.write(corrupt, Arrays.copyOf(bytes, 100));
        Outcome o = run("evaluate", "--optimizer", corrupt.toString(), "--out", dir.resolve("x").toString());
        assertEquals(L2l4jCli.EXIT_FAILURE, o.code());
        assertEquals(1, o.err().lines().count(), o.err());
        assertTrue(o.err().startsWith("l2l4j evaluate: error: " + corrupt), o.err());
        o = run("evaluate", "--optimizer", trained.resolve("training.safetensors").toString(), "--out",
                dir.resolve("x").toString());
        assertEquals(L2l4jCli.EXIT_FAILURE, o.code());
        assertTrue(o.err().contains("not a learned-optimizer checkpoint"), o.err());
        o = run("--verbose", "evaluate", "--optimizer", corrupt.toString(), "--out", dir.resolve("x").toString());
        assertTrue(o.err().contains("\tat org.l2l4j."), o.err());
    }

    @Test
    void durationsAcceptUnitsAndIso() {
        DurationConverter c = new DurationConverter();
        assertEquals(java.time.Duration.ofMinutes(10), c.convert("10m"));
        assertEquals(java.time.Duration.ofMinutes(90), c.convert("1h30m"));
        assertEquals(java.time.Duration.ofSeconds(90), c.convert("1.5m"));
        assertEquals(java.time.Duration.ofMinutes(8), c.convert("PT8M"));
        for (String bad : List.of("", "10", "m", "10 minutes", "1h-5m")) {
            org.junit.jupiter.api.Assertions.assertThrows(CommandLine.TypeConversionException.class, () -> c.convert(bad), bad);
        }
    }

    private static void assertUsageError(Outcome o, String message) {
        assertEquals(2, o.code(), o.err());
        assertTrue(o.err().lines().findFirst().orElse("").contains(message), o.err());
        assertFalse(o.err().contains("\tat "), o.err());
    }

    private static void assertPng(Path file) throws IOException {
        byte[] b = Files.readAllBytes(file);
        assertTrue(b.length > 1000, file + " has " + b.length + " bytes");
        assertArrayEquals(PNG_MAGIC, Arrays.copyOf(b, 4));
    }
}
