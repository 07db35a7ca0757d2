package org.l2l4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.l2l4j.meta.TrainingCheckpoint;
import org.l2l4j.process.JavaProcess;
import picocli.CommandLine;

/**
 * The command line as a process of its own: what Ctrl-C leaves and prints, what standard error
 * holds when redirected (log lines, no carriage returns, no debug lines without --verbose), and
 * {@code main}'s output folder when it runs again.
 */
class CliProcessTest {
    private static final String MAIN = L2l4jCli.class.getName();

    @TempDir
    Path dir;

    private static List<String> files(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void ctrlCDuringTrainingSaysWhatWasSavedAndPrintsTheCommandThatContinues() throws Exception {
        Path out = dir.resolve("run");
        List<String> args = List.of("-v", "--threads", "1", "--seed", "7", "train", "--problem", "quadratic",
                "--horizon", "20", "--unroll", "10", "--eval-every", "5", "--validation-functions", "4",
                "--epochs", "1000000", "--out", out.toString());
        String err;
        try (JavaProcess p = JavaProcess.start(dir, dir.resolve("logs"), Map.of(), MAIN, args)) {
            p.awaitCondition(() -> Files.exists(out.resolve(TrainingRun.TRAINING)), Duration.ofSeconds(60),
                    "first checkpoint");
            Thread.sleep(300);
            assertEquals(130, p.interrupt(Duration.ofSeconds(30)), p.stderr());
            err = p.stderr();
        }
        assertTrue(err.contains("L2L4J backend: "), "--verbose shows the backend's debug line: " + err);
        assertTrue(err.contains("l2l4j train: interrupted; meta-training stopped after epoch "), err);
        Matcher saved = Pattern.compile("Saved in " + Pattern.quote(out.toString())
                + ": training\\.safetensors \\(epoch (\\d+)\\), learning-curve\\.csv, optimizer\\.safetensors").matcher(err);
        assertTrue(saved.find(), err);
        int epochs = Integer.parseInt(saved.group(1));
        assertEquals(epochs, TrainingCheckpoint.load(out.resolve(TrainingRun.TRAINING)).state().epochs(),
                "the report names the epoch the file holds");
        assertEquals(List.of(TrainingRun.CURVE_CSV, TrainingRun.OPTIMIZER, TrainingRun.TRAINING), files(out),
                "no temporary file is left");

        String resume = err.lines().filter(l -> l.startsWith("To continue: ")).findFirst().orElseThrow();
        List<String> again = new ArrayList<>(List.of(resume.substring(resume.indexOf(MAIN) + MAIN.length() + 1)
                .split(" ")));
        assertEquals(List.of("--resume", out.resolve(TrainingRun.TRAINING).toString()),
                again.subList(again.size() - 2, again.size()), resume);
        assertEquals(args, again.subList(0, again.size() - 2), "the same options: " + resume);
        again.set(again.indexOf("--epochs") + 1, Integer.toString(epochs + 1));
        CommandLine cli = L2l4jCli.commandLine();
        StringWriter text = new StringWriter();
        cli.setOut(new PrintWriter(text, true));
        cli.setErr(new PrintWriter(text, true));
        assertEquals(0, cli.execute(again.toArray(String[]::new)), text.toString());
        assertEquals(epochs + 1, TrainingCheckpoint.load(out.resolve(TrainingRun.TRAINING)).state().epochs());
    }

    @Test
    void mainRunTwiceKeepsTheEarlierResultsAndItsLogHasNoCarriageReturns() throws Exception {
        Path data = TinyIdxData.write(dir.resolve("data"));
        Path earlier = Files.createDirectories(dir.resolve("runs").resolve("main"));
        Files.writeString(earlier.resolve("optimizer.safetensors"), "an earlier run's");
        String out;
        String err;
        try (JavaProcess p = JavaProcess.start(dir, dir.resolve("logs"), Map.of(), MAIN, List.of("--threads", "1",
                "main", "--data", data.toString(), "--budget", "2s", "--steps", "4", "--runs", "2",
                "--tuning-functions", "1"))) {
            assertEquals(0, p.waitFor(Duration.ofSeconds(120)), p.stderr());
            out = p.stdout();
            err = p.stderr();
        }
        assertEquals("an earlier run's", Files.readString(earlier.resolve("optimizer.safetensors")));
        List<String> runs = files(earlier).stream().filter(f -> !f.equals("optimizer.safetensors")).toList();
        assertEquals(1, runs.size(), runs.toString());
        assertTrue(runs.get(0).matches("\\d{4}-\\d\\d-\\d\\d_\\d\\d-\\d\\d-\\d\\d"), runs.get(0));
        Path folder = earlier.resolve(runs.get(0));
        assertTrue(files(folder).containsAll(List.of("optimizer.safetensors", "training.safetensors", "summary.md")),
                files(folder).toString());
        assertTrue(out.contains("Results: " + folder.toRealPath()), out);

        assertFalse(err.contains("\r"), "standard error is a file: lines, not a redrawn bar");
        assertFalse(err.contains("L2L4J backend: CPU"), "the CPU backend's line is a debug line: " + err);
        String bar = err.lines().filter(l -> l.startsWith("meta-training")).reduce((a, b) -> b).orElseThrow();
        assertTrue(bar.contains("100%") && bar.contains("2/2 s") && bar.contains("epoch "),
                "the bar follows the budget: " + bar);
    }
}
