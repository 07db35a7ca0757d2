package org.l2l4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.Status;
import org.l2l4j.data.CifarFiles;
import org.l2l4j.eval.Comparison;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.Precision;
import org.l2l4j.meta.MemoryEstimate;
import org.l2l4j.meta.TrainingCheckpoint;
import org.l2l4j.ntm.NtmBfgsCheckpoint;
import org.l2l4j.report.Estimate;
import org.l2l4j.report.PairedComparison;
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
        assertEquals(4, curve.size(), curve.toString());
        assertTrue(curve.get(1).startsWith("0,"), "the initial phi is validated: " + curve);
        assertTrue(curve.get(3).startsWith("4,"), curve.toString());
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
        assertEquals(Files.readAllLines(trained.resolve("learning-curve.csv")), curve.subList(0, 4));
        assertTrue(curve.get(4).startsWith("6,"), curve.toString());
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
    void shardsMustDivideTheInstances() {
        Outcome o = run(train(dir.resolve("shards"), "--instances", "3", "--shards", "2", "--epochs", "1"));
        assertEquals(CommandLine.ExitCode.USAGE, o.code(), o.err());
        assertTrue(o.err().contains("--shards (2) must divide --instances (3)"), o.err());
    }

    @Test
    void exactSecondDerivativesTrainQuadraticsAndAreRefusedElsewhere() throws Exception {
        Path out = dir.resolve("exact");
        Outcome o = run(train(out, "--epochs", "2", "--second-derivatives", "exact"));
        assertEquals(0, o.code(), o.err());
        assertEquals("exact", OptimizerCheckpoint.load(out.resolve("optimizer.safetensors")).description()
                .get("second_derivatives"));
        Outcome withTeacher = run(train(dir.resolve("exact-teacher"), "--epochs", "2", "--second-derivatives", "exact",
                "--imitate", "nag"));
        assertEquals(CommandLine.ExitCode.USAGE, withTeacher.code(), withTeacher.err());
        assertTrue(withTeacher.err().contains("cannot be combined with imitation"), withTeacher.err());
        Outcome resumedDropped = run(train(dir.resolve("exact-resumed"), "--epochs", "4", "--resume",
                out.resolve("training.safetensors").toString()));
        assertEquals(L2l4jCli.EXIT_FAILURE, resumedDropped.code(), resumedDropped.err());
        assertTrue(resumedDropped.err().contains("--second-derivatives"), resumedDropped.err());
    }

    @Test
    void globalAveragingCellsAreRecordedAndResumedOnlyWithThem() throws Exception {
        Path out = dir.resolve("gac");
        Outcome o = run(train(out, "--epochs", "2", "--instances", "2", "--gac-units", "3,1"));
        assertEquals(0, o.code(), o.err());
        OptimizerCheckpoint saved = OptimizerCheckpoint.load(out.resolve("optimizer.safetensors"));
        assertArrayEquals(new int[] {3, 1}, saved.config().gacUnits());
        Outcome plain = run(train(dir.resolve("gac-resumed"), "--epochs", "4", "--instances", "2", "--resume",
                out.resolve("training.safetensors").toString()));
        assertEquals(L2l4jCli.EXIT_FAILURE, plain.code(), plain.err());
        assertTrue(plain.err().contains("--gac-units"), plain.err());
        assertUsageError(run(train(dir.resolve("gac-wide"), "--gac-units", "21,0")),
                "the averaging units of layer 0 must be in [0, 20] (its width), got 21");
        assertUsageError(run(train(dir.resolve("gac-short"), "--gac-units", "2")),
                "--gac-units needs one count per LSTM layer (2), got 1");
        Outcome none = run(train(dir.resolve("gac-none"), "--epochs", "1", "--gac-units", "none"));
        assertEquals(0, none.code(), none.err());
        assertFalse(OptimizerCheckpoint.load(dir.resolve("gac-none").resolve("optimizer.safetensors")).config()
                .averaging());
        Outcome evaluated = run("--threads", "1", "evaluate", "--optimizer", out.resolve("optimizer.safetensors")
                .toString(), "--runs", "2", "--steps", "5", "--tuning-functions", "1", "--out",
                dir.resolve("gac-eval").toString());
        assertEquals(0, evaluated.code(), evaluated.err());
        assertTrue(evaluated.out().contains("global averaging cells (LSTM+GAC), [3, 1] units per layer"),
                evaluated.out());
        assertUsageError(run(train(dir.resolve("gac-text"), "--gac-units", "two")), "--gac-units must be");
    }

    @Test
    void ntmBfgsIsMetaTrainedAndEvaluatedBesideAnLstm() throws Exception {
        Path out = dir.resolve("ntm");
        Outcome o = run("--threads", "1", "--seed", "7", "train-ntm-bfgs", "--epochs", "2", "--instances", "2",
                "--horizon", "20", "--unroll", "10", "--eval-every", "1", "--validation-functions", "4", "--write-heads",
                "2", "--out", out.toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("Meta-trained 2 epochs") && o.out().contains("best validation loss"), o.out());
        NtmBfgsCheckpoint saved = NtmBfgsCheckpoint.load(out.resolve("optimizer.safetensors"));
        assertArrayEquals(new int[] {2, 2}, saved.config().gacUnits());
        assertEquals(2, saved.config().writeHeads());
        assertTrue(Files.readString(out.resolve("learning-curve.csv")).lines().count() == 4);
        Outcome evaluated = run("--threads", "1", "evaluate", "--optimizer", trained.resolve("optimizer.safetensors")
                .toString(), "--also", "NTM=" + out.resolve("optimizer.safetensors"), "--runs", "2", "--steps", "5",
                "--tuning-functions", "1", "--out", dir.resolve("ntm-eval").toString());
        assertEquals(0, evaluated.code(), evaluated.err());
        assertTrue(evaluated.out().contains("NTM: NTM-BFGS(controller [20, 20] with averaging units [2, 2], 2 write heads"),
                evaluated.out());
        assertTrue(Files.readString(dir.resolve("ntm-eval").resolve("summary.md")).contains("NTM"));
        assertUsageError(run("--threads", "1", "evaluate", "--optimizer", out.resolve("optimizer.safetensors").toString(),
                "--runs", "2", "--out", dir.resolve("ntm-main").toString()), "is an NTM-BFGS optimizer: give an LSTM with"
                + " --optimizer");
        Outcome onMnist = run("--threads", "1", "evaluate", "--problem", "mnist", "--data",
                TinyIdxData.write(dir.resolve("tiny-ntm")).toString(), "--also", "NTM=" + out.resolve("optimizer.safetensors"),
                "--runs", "2", "--out", dir.resolve("ntm-mnist").toString());
        assertTrue(onMnist.code() != 0 && onMnist.err().contains("1 to 1024 coordinates per instance; got 15910"),
                onMnist.err());
        assertUsageError(run("train-ntm-bfgs", "--meta-lr-schedule", "sideways", "--out", dir.resolve("ntm-lr").toString()),
                "--meta-lr-schedule: ");
        assertUsageError(run("train-ntm-bfgs", "--gac-units", "2", "--out", dir.resolve("ntm-gac").toString()),
                "--gac-units needs one count per LSTM layer (2), got 1");
        assertUsageError(run("train-ntm-bfgs", "--write-heads", "0", "--out", dir.resolve("ntm-heads").toString()),
                "write heads must be in [1, 16], got 0");
    }

    @Test
    void bf16ProductsAreRecordedAndResumedOnlyInTheirPrecision() throws Exception {
        Path out = dir.resolve("bf16");
        Outcome o = run(train(out, "--epochs", "2", "--precision", "BF16_PRODUCTS"));
        assertEquals(0, o.code(), o.err());
        OptimizerCheckpoint saved = OptimizerCheckpoint.load(out.resolve("optimizer.safetensors"));
        assertEquals(Precision.BF16_PRODUCTS, saved.config().precision());
        Outcome asFloat32 = run(train(dir.resolve("bf16-resumed"), "--epochs", "4", "--resume",
                out.resolve("training.safetensors").toString()));
        assertEquals(L2l4jCli.EXIT_FAILURE, asFloat32.code(), asFloat32.err());
        assertTrue(asFloat32.err().contains("--precision"), asFloat32.err());
        Outcome resumed = run(train(dir.resolve("bf16-resumed"), "--epochs", "4", "--precision", "BF16_PRODUCTS",
                "--resume", out.resolve("training.safetensors").toString()));
        assertEquals(0, resumed.code(), resumed.err());
        assertUsageError(run(train(dir.resolve("bf16-bad"), "--precision", "bf17")), "bf17");
        for (String precision : new String[] {null, "FLOAT32"}) {
            List<String> evaluate = new ArrayList<>(List.of("--threads", "1", "evaluate", "--optimizer",
                    out.resolve("optimizer.safetensors").toString(), "--runs", "2", "--steps", "5",
                    "--tuning-functions", "1", "--out", dir.resolve("bf16-eval-" + precision).toString()));
            if (precision != null) {
                evaluate.addAll(List.of("--precision", precision));
            }
            Outcome e = run(evaluate.toArray(String[]::new));
            assertEquals(0, e.code(), e.err());
        }
    }

    @Test
    void exactSecondDerivativesNeedHessianVectorProducts() throws IOException {
        Path data = CifarFiles.write(dir.resolve("cifar-exact"), 3, 1);
        Outcome o = run("--threads", "1", "train", "--problem", "cifar10", "--data", data.toString(),
                "--second-derivatives", "exact", "--out", dir.resolve("exact-cifar").toString());
        assertEquals(CommandLine.ExitCode.USAGE, o.code(), o.err());
        assertTrue(o.err().contains("Hessian-vector products, which the CIFAR network does not offer"), o.err());
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
        TrainingCheckpoint.save(old, saved.groups(), saved.state(), older);
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

    /** A command that runs out of native memory, whose sizes are set by --runs. */
    @CommandLine.Command(name = "exhaust")
    static final class ExhaustingCommand extends CliCommand {
        @Override
        void run() {
            throw new L2lException(Status.OUT_OF_MEMORY, "cannot allocate 8000000000 bytes");
        }

        @Override
        java.util.Map<MemoryEstimate.Driver, String> memoryOptions() {
            return java.util.Map.of(MemoryEstimate.Driver.RUNS, "fewer --runs");
        }
    }

    @Test
    void runningOutOfMemoryReadsAsAResourceLimitNamingTheCommandsOptions() {
        CommandLine cli = L2l4jCli.commandLine();
        cli.addSubcommand(new ExhaustingCommand());
        Outcome o = run(cli, "exhaust");
        assertEquals(L2l4jCli.EXIT_FAILURE, o.code());
        assertTrue(o.err().startsWith("l2l4j exhaust: error: not enough memory for these settings"), o.err());
        assertTrue(o.err().contains("use fewer --runs"), o.err());
        assertFalse(o.err().contains("--instances"), "a command without --instances: " + o.err());
        assertFalse(o.err().contains("internal error"), o.err());
    }

    @Test
    void nativeMemoryBeyondTheMachineIsRefusedBeforeAnyWork() {
        org.junit.jupiter.api.Assumptions.assumeTrue(org.l2l4j.backend.Backend.cudaDeviceCount() == 0,
                "native memory is checked against the machine's on a CPU backend; a CUDA device's is not checked");
        Path out = dir.resolve("too-large-native");
        Outcome o = run(train(out, "--instances", "1000000000", "--epochs", "1"));
        assertUsageError(o, "meta-training needs about ");
        assertTrue(o.err().contains("the backward record"), o.err());
        assertTrue(o.err().contains("fewer --instances") && o.err().contains("a shorter --unroll"), o.err());
        assertFalse(o.err().contains("--hidden"), "quadratics have no --hidden: " + o.err());
        assertFalse(Files.exists(out), "the folder it created is removed again");
    }

    @Test
    void javaHeapBeyondItsMaximumIsRefusedBeforeAnyWork() {
        Path out = dir.resolve("too-large-heap");
        Outcome o = run("--threads", "1", "evaluate", "--optimizer", trained.resolve("optimizer.safetensors").toString(),
                "--runs", "2", "--steps", "2000000000", "--tuning-functions", "1", "--out", out.toString());
        assertUsageError(o, "the evaluation needs about ");
        assertTrue(o.err().contains("of Java heap") && o.err().contains("fewer --steps") && o.err().contains("-Xmx"),
                o.err());
        assertFalse(o.err().contains("--instances"), "evaluate has no --instances: " + o.err());
        assertFalse(o.out().contains("| optimizer |"), o.out());
        assertFalse(Files.exists(out));
    }

    @Test
    void trainRefusesAFolderWithAnEarlierRunUnlessForcedOrResumed() throws IOException {
        Path earlier = dir.resolve("earlier-train");
        Files.createDirectories(earlier);
        for (String f : List.of("optimizer.safetensors", "training.safetensors", "learning-curve.csv",
                "learning-curve.png")) {
            Files.copy(trained.resolve(f), earlier.resolve(f));
        }
        Files.writeString(earlier.resolve("notes.txt"), "mine");
        byte[] optimizer = Files.readAllBytes(earlier.resolve("optimizer.safetensors"));
        Outcome o = run(train(earlier, "--epochs", "2"));
        assertUsageError(o, "--out " + earlier + " holds the results of an earlier run (learning-curve.csv, "
                + "learning-curve.png, optimizer.safetensors, training.safetensors): pass --force to replace them, "
                + "--resume " + earlier.resolve("training.safetensors") + " to continue its training, or choose "
                + "another --out");
        assertArrayEquals(optimizer, Files.readAllBytes(earlier.resolve("optimizer.safetensors")), "left untouched");

        // --force deletes the earlier run's files first, such as the temporary file of a killed write
        Path stale = Files.writeString(earlier.resolve(".training.safetensors.1f2e3d.tmp"), "cut off");
        o = run(train(earlier, "--epochs", "1", "--force"));
        assertEquals(0, o.code(), o.err());
        assertFalse(Files.exists(stale), "no file of the earlier run stays");
        assertEquals(1, TrainingCheckpoint.load(earlier.resolve("training.safetensors")).state().epochs());
        assertEquals("mine", Files.readString(earlier.resolve("notes.txt")), "only its own files are deleted");
    }

    @Test
    void evaluateWithForceRemovesTheEarlierRunsFilesAndOnlyThose() throws IOException {
        Path earlier = Files.createDirectories(dir.resolve("earlier-eval"));
        Files.writeString(earlier.resolve("full-split.csv"), "optimizer,run,loss,accuracy\n");
        Files.writeString(earlier.resolve("summary.md"), "# stale");
        Files.writeString(earlier.resolve("notes.txt"), "mine");
        String[] evaluate = {"--threads", "1", "evaluate", "--optimizer", trained.resolve("optimizer.safetensors")
                .toString(), "--runs", "2", "--steps", "5", "--tuning-functions", "1", "--out", earlier.toString()};
        Outcome o = run(evaluate);
        assertUsageError(o, "holds the results of an earlier run (full-split.csv, summary.md): pass --force");
        assertFalse(o.err().contains("--resume"), o.err());
        List<String> forced = new java.util.ArrayList<>(List.of(evaluate));
        forced.add("--force");
        o = run(forced.toArray(String[]::new));
        assertEquals(0, o.code(), o.err());
        assertFalse(Files.exists(earlier.resolve("full-split.csv")), "quadratics have no full split: stale file removed");
        assertFalse(Files.readString(earlier.resolve("summary.md")).contains("stale"));
        assertEquals("mine", Files.readString(earlier.resolve("notes.txt")));
    }

    @Test
    void anExistingFolderThatCannotBeWrittenIsRefusedBeforeAnyWork() {
        Path proc = Path.of("/proc");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(proc.resolve("self")),
                "needs Linux's /proc, a folder in which no file can be created");
        Outcome o = run("--threads", "1", "evaluate", "--optimizer", trained.resolve("optimizer.safetensors").toString(),
                "--runs", "2", "--steps", "5", "--tuning-functions", "1", "--out", proc.toString());
        assertUsageError(o, "--out: cannot write into /proc");
        assertFalse(o.out().contains("| optimizer |"), o.out());
    }

    @Test
    void aBudgetedRunsProgressBarFollowsTheBudgetInLinesWithoutCarriageReturns() {
        Outcome o = run(train(dir.resolve("budget"), "--budget", "1s", "--epochs", "1000000"));
        assertEquals(0, o.code(), o.err());
        List<String> bar = o.err().lines().filter(l -> l.startsWith("meta-training")).toList();
        assertTrue(bar.size() >= 2 && bar.size() <= 4, "a line at the start, at most one per 10 s, one at the end: "
                + o.err());
        String last = bar.get(bar.size() - 1);
        assertTrue(last.contains("100%") && last.contains("1/1 s") && last.contains("of at most 1000000"), last);
        assertFalse(o.err().contains("\r"), "a log, not a terminal: no carriage returns");
    }

    @Test
    void missingDataIsExplainedWithTheCommandLinesWays() throws IOException {
        Path empty = Files.createDirectories(dir.resolve("no-data"));
        Path out = dir.resolve("no-data-out");
        Outcome o = run("--threads", "1", "train", "--problem", "mnist", "--data", empty.toString(), "--out",
                out.toString());
        assertEquals(L2l4jCli.EXIT_FAILURE, o.code(), o.err());
        assertEquals(1, o.err().lines().count(), o.err());
        assertTrue(o.err().contains("lacks train-images-idx3-ubyte") && o.err().contains("'l2l4j fetch-data'"),
                o.err());
        assertFalse(o.err().contains("MnistFetcher"), "a command-line user cannot run a class: " + o.err());
        assertFalse(Files.exists(out), "a failed command leaves no empty folder");
    }

    @Test
    void trainsOnCifar10FromAFolderAndNeedsData() throws IOException {
        Path data = CifarFiles.write(dir.resolve("cifar-10-batches-bin"), 3, 1);
        Path out = dir.resolve("cifar-train");
        Outcome o = run("--threads", "1", "train", "--problem", "cifar10", "--data", data.toString(),
                "--horizon", "3", "--unroll", "3", "--epochs", "1", "--eval-every", "1", "--validation-functions", "1",
                "--out", out.toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("Data: CIFAR-10 binary files from " + data.toAbsolutePath()), o.out());
        OptimizerCheckpoint trained = OptimizerCheckpoint.load(out.resolve("optimizer.safetensors"));
        assertEquals("cifar10", trained.description().get("problem"));
        assertEquals(List.of("conv", "fc"), trained.groups().names(), "the paper's two LSTMs by default");
        assertFalse(trained.description().containsKey("labels"), "every label is the problem's own");

        Outcome missing = run("--threads", "1", "train", "--problem", "cifar10", "--out", dir.resolve("no").toString());
        assertEquals(L2l4jCli.EXIT_FAILURE, missing.code(), missing.err());
        assertTrue(missing.err().contains("the CIFAR problems need --data") && missing.err().contains("cifar-10-binary.tar.gz"),
                missing.err());
    }

    @Test
    void labelSubsetsAndGroupsOnTheCommandLine() throws IOException {
        Path data = CifarFiles.write(dir.resolve("cifar-10-batches-bin"), 30, 2);
        Path sub = dir.resolve("lstm-sub");
        Outcome o = run("--threads", "1", "train", "--problem", "cifar10", "--labels", "5,6,7,8,9", "--groups", "single",
                "--data", data.toString(), "--horizon", "2", "--unroll", "2", "--epochs", "1", "--eval-every", "1",
                "--validation-functions", "1", "--out", sub.toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("Labels: 5,6,7,8,9 (5 classes, one output each)"), o.out());
        OptimizerCheckpoint trained = OptimizerCheckpoint.load(sub.resolve("optimizer.safetensors"));
        assertEquals("5,6,7,8,9", trained.description().get("labels"));
        assertTrue(trained.groups().isSingle());

        String[][] refused = {
            {"--problem", "cifar2", "--labels", "1"}, {"--problem", "cifar10", "--labels", "3,3"},
            {"--problem", "cifar10", "--labels", "0,10"}, {"--problem", "cifar10", "--labels", "a,b"},
            {"--problem", "quadratic", "--labels", "1,2"}, {"--problem", "cifar10", "--groups", "conv"},
            {"--problem", "cifar10", "--groups", "a=x,a=y"},
        };
        for (String[] args : refused) {
            List<String> command = new ArrayList<>(List.of("train", "--out", dir.resolve("refused").toString()));
            command.addAll(List.of(args));
            Outcome r = run(command.toArray(new String[0]));
            assertEquals(2, r.code(), String.join(" ", args) + ": " + r.err());
            assertTrue(r.err().contains(args[2]), String.join(" ", args) + ": " + r.err());
        }
        Path tiny = TinyIdxData.write(dir.resolve("tiny-groups"));
        Outcome noConv = run("--threads", "1", "train", "--problem", "mnist", "--groups", "conv,fc", "--data",
                tiny.toString(), "--horizon", "2", "--unroll", "2", "--epochs", "1", "--out", dir.resolve("g").toString());
        assertEquals(L2l4jCli.EXIT_FAILURE, noConv.code(), noConv.err());
        assertTrue(noConv.err().contains("parameter group 'conv' (rule conv*.weight) owns none of the tensors"),
                noConv.err());
    }

    @Test
    void cifarTwoWithoutAnOptimizerRunsTheShippedOptimizerAndLstmSub() throws IOException {
        Path data = CifarFiles.write(dir.resolve("cifar-panel"), 30, 2);
        Path out = dir.resolve("cifar2-panel");
        Outcome o = run("--threads", "1", "evaluate", "--problem", "cifar2", "--data", data.toString(), "--runs", "2",
                "--steps", "2", "--tuning-functions", "1", "--out", out.toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("Beside it: LSTM-sub, the shipped optimizer meta-trained on labels 5-9 only."),
                o.out());
        String summary = Files.readString(out.resolve("summary.md"));
        assertTrue(summary.contains("| LSTM-sub |") && summary.contains("| LSTM (learned) |"), summary);
    }

    @Test
    void evaluateUsesTheOptimizeeTheOptimizerWasTrainedOnAndNamesTheData() throws IOException {
        Path data = TinyIdxData.write(dir.resolve("tiny"));
        Path mlp = dir.resolve("mlp-train");
        Outcome o = run("--threads", "1", "train", "--problem", "mnist", "--data", data.toString(), "--hidden", "3",
                "--horizon", "4", "--unroll", "2", "--epochs", "2", "--eval-every", "1", "--validation-functions", "2",
                "--out", mlp.toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("Data: IDX files from " + data.toAbsolutePath() + " (checksums not verified"),
                o.out());
        String optimizer = mlp.resolve("optimizer.safetensors").toString();
        assertEquals("3", OptimizerCheckpoint.load(mlp.resolve("optimizer.safetensors")).description()
                .get("optimizee_hidden"));

        Path eval = dir.resolve("mlp-eval");
        o = run("--threads", "1", "evaluate", "--optimizer", optimizer, "--data", data.toString(), "--runs", "2",
                "--steps", "4", "--tuning-functions", "1", "--out", eval.toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("Optimizee: mlp-784-3-10-sigmoid (as trained, from the metadata of " + optimizer
                + ")"), o.out());
        String summary = Files.readString(eval.resolve("summary.md"));
        assertTrue(summary.startsWith("# IDX data (tiny) mlp-784-3-10-sigmoid, 4 steps"), summary);
        assertTrue(summary.contains("Data: IDX files from " + data.toAbsolutePath()
                + " (checksums not verified: not necessarily MNIST)."), summary);

        o = run("--threads", "1", "evaluate", "--optimizer", optimizer, "--data", data.toString(), "--hidden", "5",
                "--runs", "2", "--steps", "4", "--tuning-functions", "1", "--out", eval.toString(), "--force");
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("Optimizee: mlp-784-5-10-sigmoid (--hidden 5 over the optimizee as trained"),
                o.out());

        // another learned optimizer beside it, sharing the baselines' tuning and runs
        o = run("--threads", "1", "evaluate", "--optimizer", optimizer, "--also", "Twin=" + optimizer, "--data",
                data.toString(), "--runs", "2", "--steps", "4", "--tuning-functions", "1", "--out", eval.toString(),
                "--force");
        assertEquals(0, o.code(), o.err());
        String twin = Files.readString(eval.resolve("summary.md"));
        assertTrue(twin.contains("Paired differences of final loss (Twin minus the other") && twin.contains("| Twin |")
                && twin.indexOf("| optimizer | final loss") == twin.lastIndexOf("| optimizer | final loss"), twin);
        List<String> runs = Files.readAllLines(eval.resolve("runs.csv"));
        List<String> first = runs.stream().filter(l -> l.startsWith("LSTM (learned),"))
                .map(l -> l.substring(l.indexOf(','))).toList();
        assertEquals(2, first.size(), runs.toString());
        assertEquals(first, runs.stream().filter(l -> l.startsWith("Twin,")).map(l -> l.substring(l.indexOf(',')))
                .toList(), "the same optimizer twice gives the same runs");
        for (String[] bad : new String[][] {{"Adam=" + optimizer, "Adam"}, {"X=" + dir.resolve("none"), "no such file"}}) {
            o = run("evaluate", "--optimizer", optimizer, "--also", bad[0], "--out", dir.resolve("refused").toString());
            assertEquals(2, o.code(), o.err());
            assertTrue(o.err().contains(bad[1]), o.err());
        }
    }

    @Test
    void generalizationNamesItsDataAndTellsTiesFromLosses() throws IOException {
        Path data = TinyIdxData.write(dir.resolve("tiny-generalization"));
        Path out = dir.resolve("generalization");
        String[] args = {"--threads", "1", "generalization", "--data", data.toString(), "--runs", "2", "--steps", "2",
            "--tuning-functions", "1", "--out", out.toString()};
        Outcome o = run(args);
        assertEquals(0, o.code(), o.err());
        String md = Files.readString(out.resolve("generalization.md"));
        assertTrue(md.startsWith("# Generalization of the learned optimizer (IDX data (tiny-generalization))\n\n"
                + "Data: IDX files from " + data.toAbsolutePath()), md);
        assertFalse(md.contains("not beaten"), md);
        assertTrue(md.contains("\"tie\": the difference is within 2 standard errors"), md);
        assertTrue(Files.exists(out.resolve("steps-4").resolve("summary.md")));
        assertUsageError(run(args), "--out " + out + " holds the results of an earlier run (generalization.md, "
                + "hidden-40");
    }

    @Test
    void verdictsSayBeatenTieOrBetter() {
        assertEquals("beaten", GeneralizationCommand.verdict(new PairedComparison("learned", "Adam",
                new Estimate(-0.3, 0.1, 64))));
        assertEquals("tie", GeneralizationCommand.verdict(new PairedComparison("learned", "Adam",
                new Estimate(-0.1, 0.1, 64))));
        assertEquals("tie", GeneralizationCommand.verdict(new PairedComparison("learned", "Adam",
                new Estimate(0.19, 0.1, 64))));
        assertEquals("better", GeneralizationCommand.verdict(new PairedComparison("learned", "Adam",
                new Estimate(0.3, 0.1, 64))));
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
        Outcome o = run("evaluate", "--optimizer", corrupt.toString(), "--out", dir.resolve("x").resolve("y").toString());
        assertEquals(L2l4jCli.EXIT_FAILURE, o.code());
        assertEquals(1, o.err().lines().count(), o.err());
        assertTrue(o.err().startsWith("l2l4j evaluate: error: " + corrupt), o.err());
        assertFalse(Files.exists(dir.resolve("x")), "the folders a failed command created are removed");
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
        for (java.time.Duration d : List.of(java.time.Duration.ofMinutes(8), java.time.Duration.ofSeconds(90),
                java.time.Duration.ofMillis(1500), java.time.Duration.ofHours(2), java.time.Duration.ZERO)) {
            assertEquals(d, c.convert(DurationConverter.format(d)), DurationConverter.format(d));
        }
        assertEquals("1m30s", DurationConverter.format(java.time.Duration.ofSeconds(90)));
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
