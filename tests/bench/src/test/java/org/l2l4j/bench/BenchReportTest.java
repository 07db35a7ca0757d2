package org.l2l4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * BenchReport on a small JMH result file whose figures are worked out here by hand: the
 * machine's limits, a native step against plain Java and libtorch, and an epoch's split.
 */
class BenchReportTest {

    private static String result(String benchmark, String params, double ms, String secondary) {
        return "{\"benchmark\":\"org.l2l4j.bench." + benchmark + "\",\"mode\":\"avgt\",\"params\":{" + params
                + "},\"primaryMetric\":{\"score\":" + ms + ",\"scoreUnit\":\"ms/op\"},\"secondaryMetrics\":{"
                + secondary + "}}";
    }

    @Test
    void figuresFollowFromTheTimes(@TempDir Path dir) throws IOException {
        String json = "[" + String.join(",",
                result("RooflineBenchmark.fmaPeak", "\"threads\":\"1\"", 30, ""),
                result("RooflineBenchmark.triad", "\"threads\":\"1\"", 40, ""),
                result("RooflineBenchmark.cells", "\"threads\":\"1\"", 40, ""),
                result("LstmBenchmark.nativeStep", "\"n\":\"100000\",\"threads\":\"1\"", 18, ""),
                result("JavaLstmBenchmark.javaStep", "\"n\":\"100000\"", 700, ""),
                result("TorchLstmBenchmark.torchStep", "\"n\":\"100000\",\"threads\":\"1\"", 90, ""),
                result("MetaTrainingEpochBenchmark.epoch", "\"threads\":\"1\"", 1500,
                        "\"lstmNanos\":{\"score\":2.4E9},\"optimizeeNanos\":{\"score\":3.0E8},\"epochs\":{\"score\":2}"))
                + "]";
        Path file = dir.resolve("jmh.json");
        Files.writeString(file, json);
        String md = new BenchReport(BenchReport.parse(file)).markdown();

        // peak 3 * 2^30 / 30 ms = 107.4 GFLOP/s; triad 12 * 2^25 / 40 ms = 10.1 GB/s;
        // cells 40 ms / (20,000 tiles * 128 coordinates * 20 units) = 0.78125 ns per coordinate-unit
        assertTrue(md.contains("| 1 | 107.4 | 10.1 | 0.78 |"), md);
        // 18 ms / 10^5 = 180 ns; 9,960 FLOPs / 180 ns = 55.3 GFLOP/s = 52% of 107.4 (compute-bound:
        // 10.1 GB/s x 9,960 / 652 FLOP/byte = 154 GFLOP/s); cells 40 x 0.78125 / 180 = 17%;
        // Java 700 / 18 = 38.89x; libtorch 90 / 18 = 5.00x
        assertTrue(md.contains("| step | 100,000 | 1 | 180.0 | 55.3 | 52% | 52% | 17% | 38.89× | 5.00× | — |"), md);
        // 1,500 ms per epoch; 2.4 s and 0.3 s over 2 epochs: 1,200 ms (80%), 150 ms (10%), rest 150 ms
        assertTrue(md.contains("| 1 | 1,500 | 1,200 ms (80%) | 150 ms (10%) | 150 ms (10%) | — |"), md);
        assertEquals(-1, md.indexOf("NaN"), md);
    }

    @Test
    void aFileThatIsNotJmhJsonIsRejected(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("not.json");
        Files.writeString(file, "{\"a\": 1}");
        assertThrows(IOException.class, () -> BenchReport.parse(file));
    }
}
