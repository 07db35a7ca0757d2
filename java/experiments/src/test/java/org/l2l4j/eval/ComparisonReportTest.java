package org.l2l4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.l2l4j.optimizers.HandDesignedRule;

/** The comparison report on synthetic runs: diverged optimizers and paired verdicts. */
class ComparisonReportTest {

    private static double[][] losses(double... finals) {
        double[][] l = new double[finals.length][];
        for (int r = 0; r < finals.length; r++) {
            l[r] = new double[] {2.0, (2.0 + finals[r]) / 2, finals[r]};
        }
        return l;
    }

    private static Comparison.Result result(List<Comparison.Runs> runs) {
        Map<HandDesignedRule, LearningRateTuner.Result> tuning = new EnumMap<>(HandDesignedRule.class);
        tuning.put(HandDesignedRule.SGD, new LearningRateTuner.Result(0.1, 1.0,
                List.of(new LearningRateTuner.Entry(0.1, 1.0)), false));
        return new Comparison.Result("test", "IDX files from /data", new Comparison.Settings(3, 2, 1, 0, 1), runs,
                tuning, Comparison.finiteCurves(runs));
    }

    @Test
    void aDivergedOptimizerIsLeftOutWithANote() {
        Comparison.Result r = result(List.of(
                new Comparison.Runs(Comparison.LEARNED, null, losses(0.5, 0.6, 0.55), null),
                new Comparison.Runs("SGD", 0.1, losses(0.9, Double.NaN, 0.8), null),
                new Comparison.Runs("Adam", 0.01, losses(0.7, 0.8, 0.75), null)));
        assertEquals(List.of(Comparison.LEARNED, "Adam"), r.curves().orElseThrow().optimizers());
        assertTrue(r.learnedVersus("SGD").isEmpty());
        assertTrue(r.learnedVersus("Adam").orElseThrow().aBeatsB());
        String md = r.markdown();
        assertTrue(md.contains("SGD (lr 0.1): non-finite loss in 1 of 3 runs"), md);
        assertTrue(md.contains("LSTM (learned) vs Adam:"), md);
        assertFalse(md.contains("LSTM (learned) vs SGD"), md);
        assertTrue(md.contains("Learning rates tuned on 1 validation function, 2 steps: SGD 0.1."), md);
    }

    @Test
    void theSummaryFileNamesTheDataAndTheFilesAreTheDocumentedOnes(@TempDir Path dir) throws IOException {
        Comparison.Result r = result(List.of(
                new Comparison.Runs(Comparison.LEARNED, null, losses(0.5, 0.6, 0.55), null),
                new Comparison.Runs("Adam", 0.01, losses(0.7, 0.8, 0.75), null)));
        List<String> written = r.write(dir);
        assertTrue(Comparison.FILES.containsAll(written), written.toString());
        assertTrue(Files.readString(dir.resolve("summary.md")).startsWith("# test\n\nData: IDX files from /data.\n"));
    }

    @Test
    void whenEverythingDivergesOnlyNotesRemain() {
        Comparison.Result r = result(List.of(
                new Comparison.Runs(Comparison.LEARNED, null, losses(Double.NaN, 0.6, 0.55), null),
                new Comparison.Runs("SGD", 0.1, losses(0.9, Double.POSITIVE_INFINITY, 0.8), null)));
        assertTrue(r.curves().isEmpty());
        String md = r.markdown();
        assertTrue(md.contains("- LSTM (learned): non-finite loss in 1 of 3 runs"), md);
    }
}
