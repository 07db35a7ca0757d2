package org.l2l4j.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportOutputTest {

    @TempDir
    Path dir;

    /**
     * Two runs of two steps. "A": steps 0..2 have means 2, 1, 0.5 and standard errors 1, 0.5,
     * 0.25; per-run sums over steps 1-2 are 0.75 and 2.25 (mean 1.5, SE 0.75). The second
     * optimizer's name needs CSV quoting: final losses 1 and 0.5 (mean 0.75, SE 0.25), sums 2 and
     * 1.5 (mean 1.75, SE 0.25). Paired final differences A - B: -0.75, 0.25 (mean -0.25, SE 0.5).
     */
    private static LossCurves handCurves() {
        return LossCurves.builder()
                .add("A", new double[][]{{1, 0.5, 0.25}, {3, 1.5, 0.75}})
                .add("Adam, \"tuned\"", new double[][]{{2, 1, 1}, {2, 1, 0.5}}, 0.001)
                .build();
    }

    @Test
    void curvesCsvInLongFormat() throws Exception {
        Path file = dir.resolve("curves.csv");
        CsvReport.writeCurves(handCurves(), file);
        assertEquals("""
                optimizer,step,mean,stderr,runs
                A,0,2.0,1.0,2
                A,1,1.0,0.5,2
                A,2,0.5,0.25,2
                "Adam, ""tuned""\",0,2.0,0.0,2
                "Adam, ""tuned""\",1,1.0,0.0,2
                "Adam, ""tuned""\",2,0.75,0.25,2
                """, Files.readString(file));
    }

    @Test
    void runsCsvHasFinalLossAndSumPerRun() throws Exception {
        Path file = dir.resolve("runs.csv");
        CsvReport.writeRuns(handCurves(), file);
        assertEquals("""
                optimizer,run,final_loss,loss_sum
                A,0,0.25,0.75
                A,1,0.75,2.25
                "Adam, ""tuned""\",0,1.0,2.0
                "Adam, ""tuned""\",1,0.5,1.5
                """, Files.readString(file));
    }

    @Test
    void csvQuotesOnlyWhatNeedsIt() {
        assertEquals("plain name", CsvReport.field("plain name"));
        assertEquals("\"a,b\"", CsvReport.field("a,b"));
        assertEquals("\"say \"\"hi\"\"\"", CsvReport.field("say \"hi\""));
        assertEquals("\"two\nlines\"", CsvReport.field("two\nlines"));
    }

    @Test
    void markdownTable() throws Exception {
        Path file = dir.resolve("summary.md");
        MarkdownSummary.write(handCurves(), "A", file);
        assertEquals("""
                2 paired runs of 2 steps; mean ± standard error over runs; **bold**: lowest mean.

                | optimizer | final loss | sum of losses, steps 1-2 |
                |---|---:|---:|
                | A | **0.5000 ± 0.25** | **1.500 ± 0.75** |
                | Adam, "tuned" (lr 0.001) | 0.7500 ± 0.25 | 1.750 ± 0.25 |

                Paired differences of final loss (A minus the other; negative favours A):

                - A vs Adam, "tuned": -0.2500 ± 0.50 (beats by > 2 SE: no)
                """, Files.readString(file, StandardCharsets.UTF_8));
    }

    @Test
    void markdownMarksTheBestPerColumnAndEscapesNames() {
        // "b|c" has the lower final loss, "a" the lower sum of losses.
        LossCurves curves = LossCurves.builder()
                .add("a", new double[][]{{5, 1, 1, 3}, {5, 1, 1, 3.2}})
                .add("b|c", new double[][]{{5, 4, 4, 2}, {5, 4, 4, 2.2}})
                .build();
        String md = MarkdownSummary.render(curves, "b|c");
        assertTrue(md.contains("| a | 3.100 ± 0.10 | **5.100 ± 0.10** |"), md);
        assertTrue(md.contains("| b\\|c | **2.100 ± 0.10** | 10.10 ± 0.10 |"), md);
        assertTrue(md.contains("- b\\|c vs a: -1.000 ± 0.0 (beats by > 2 SE: yes)"), md);
        assertThrows(IllegalArgumentException.class, () -> MarkdownSummary.render(curves, "z"));
    }

    @Test
    void learningRatesPrintShort() {
        assertEquals("0.001", MarkdownSummary.shortNumber(0.001));
        assertEquals("0.0025", MarkdownSummary.shortNumber(0.0025));
        assertEquals("3e-05", MarkdownSummary.shortNumber(3e-5));
        assertEquals("1", MarkdownSummary.shortNumber(1.0));
        assertEquals("0.123", MarkdownSummary.shortNumber(0.12345));
    }
}
