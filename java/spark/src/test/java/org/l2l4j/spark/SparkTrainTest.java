package org.l2l4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The spark-submit job's refusals of bad options, before any Spark context starts. */
class SparkTrainTest {

    private static String[] run(String... args) {
        StringWriter err = new StringWriter();
        int status = new CommandLine(new SparkTrain()).setCaseInsensitiveEnumValuesAllowed(true)
                .setErr(new PrintWriter(err)).execute(args);
        return new String[] {Integer.toString(status), err.toString()};
    }

    @Test
    void aProblemWithDataNeedsDataFolder() {
        String[] r = run("--problem", "mnist", "--out", "unused");
        assertEquals("2", r[0]);
        assertTrue(r[1].contains("--problem mnist needs --data"), r[1]);
    }

    @Test
    void settingsThatDoNotFitAreRefusedByName() {
        String[] r = run("--problem", "quadratic", "--out", "unused", "--mode", "averaging", "--averaging-period", "3",
                "--eval-every", "2");
        assertEquals("2", r[0]);
        assertTrue(r[1].contains("the averaging period (3 epochs) must divide the validation period (2)"), r[1]);
        r = run("--problem", "quadratic", "--out", "unused", "--outer-lr", "0.01");
        assertEquals("2", r[0]);
        assertTrue(r[1].contains("an outer learning rate applies to the averaging mode only"), r[1]);
        r = run("--problem", "quadratic", "--out", "unused", "--workers", "0");
        assertEquals("2", r[0]);
        assertTrue(r[1].contains("--workers and --instances must be >= 1"), r[1]);
    }
}
