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
 * machine's limits, a native step against plain Java and libtorch, the backward pass on saturated
 * against random inputs, bfloat16 gate products against float32 and on other kernel sets against
 * the default set (each set's share of its own peak, with and without a measured AMX tile peak),
 * global averaging cells against none, and an epoch's split, from an untrained and from the
 * shipped phi, in float32 and with bfloat16 gate products.
 */
class BenchReportTest {

    private static String result(String benchmark, String params, double ms, String secondary) {
        return "{\"benchmark\":\"org.l2l4j.bench." + benchmark + "\",\"mode\":\"avgt\",\"params\":{" + params
                + "},\"primaryMetric\":{\"score\":" + ms + ",\"scoreUnit\":\"ms/op\"},\"secondaryMetrics\":{"
                + secondary + "}}";
    }

    /** The report of a JMH result file holding these results, written into dir. */
    private static String report(Path dir, String... results) throws IOException {
        Path file = dir.resolve("jmh.json");
        Files.writeString(file, "[" + String.join(",", results) + "]");
        return new BenchReport(BenchReport.parse(file)).markdown();
    }

    @Test
    void figuresFollowFromTheTimes(@TempDir Path dir) throws IOException {
        String md = report(dir,
                result("RooflineBenchmark.fmaPeak", "\"threads\":\"1\"", 30, ""),
                result("RooflineBenchmark.bf16DotPeak", "\"threads\":\"1\"", 15, ""),
                result("RooflineBenchmark.amxTilePeak", "\"threads\":\"1\"", 40, ""),
                result("RooflineBenchmark.triad", "\"threads\":\"1\"", 40, ""),
                result("RooflineBenchmark.cells", "\"threads\":\"1\"", 40, ""),
                result("LstmBenchmark.nativeStep", "\"inputs\":\"random\",\"n\":\"100000\",\"threads\":\"1\"", 18, ""),
                result("JavaLstmBenchmark.javaStep", "\"n\":\"100000\"", 700, ""),
                result("TorchLstmBenchmark.torchStep", "\"n\":\"100000\",\"threads\":\"1\"", 90, ""),
                result("LstmBenchmark.nativeBackward", "\"inputs\":\"random\",\"n\":\"10000\",\"threads\":\"1\"", 80,
                        ""),
                result("LstmBenchmark.nativeBackward", "\"inputs\":\"saturated\",\"n\":\"10000\",\"threads\":\"1\"",
                        92, ""),
                result("LstmBenchmark.nativeBackward",
                        "\"inputs\":\"random\",\"n\":\"10000\",\"precision\":\"BF16_PRODUCTS\",\"threads\":\"1\"", 50, ""),
                result("LstmBenchmark.nativeBackward",
                        "\"gac\":\"2-2\",\"inputs\":\"random\",\"n\":\"10000\",\"threads\":\"1\"", 130, ""),
                result("LstmBenchmark.nativeBackward", "\"inputs\":\"random\",\"isa\":\"avx512bf16\",\"n\":\"10000\","
                        + "\"precision\":\"BF16_PRODUCTS\",\"threads\":\"1\"", 100, ""),
                result("LstmBenchmark.nativeBackward", "\"inputs\":\"random\",\"isa\":\"amx\",\"n\":\"10000\","
                        + "\"precision\":\"BF16_PRODUCTS\",\"threads\":\"1\"", 45, ""),
                result("LstmBenchmark.nativeBackward", "\"inputs\":\"random\",\"isa\":\"avx512\",\"n\":\"10000\","
                        + "\"precision\":\"BF16_PRODUCTS\",\"threads\":\"1\"", 150, ""),
                result("MetaTrainingEpochBenchmark.epoch", "\"phi\":\"untrained\",\"threads\":\"1\"", 1500,
                        "\"lstmNanos\":{\"score\":2.4E9},\"optimizeeNanos\":{\"score\":3.0E8},\"epochs\":{\"score\":2}"),
                result("MetaTrainingEpochBenchmark.epoch", "\"phi\":\"shipped\",\"threads\":\"1\"", 1800,
                        "\"lstmNanos\":{\"score\":4.5E9},\"optimizeeNanos\":{\"score\":3.0E8},\"epochs\":{\"score\":3}"),
                result("MetaTrainingEpochBenchmark.epoch",
                        "\"phi\":\"untrained\",\"precision\":\"BF16_PRODUCTS\",\"threads\":\"1\"", 1200,
                        "\"lstmNanos\":{\"score\":1.8E9},\"optimizeeNanos\":{\"score\":2.0E8},\"epochs\":{\"score\":2}"));

        // peak 3 * 2^30 / 30 ms = 107.4 GFLOP/s; triad 12 * 2^25 / 40 ms = 10.1 GB/s;
        // cells 40 ms / (20,000 tiles * 128 coordinates * 20 units) = 0.78125 ns per coordinate-unit
        // bfloat16 dot products: 3 * 2^30 / 15 ms = 214.7 GFLOP/s; AMX tiles: 2^35 / 40 ms = 859.0 GFLOP/s
        assertTrue(md.contains("| 1 | 107.4 | 214.7 | 859.0 | 10.1 | 0.78 |"), md);
        // 18 ms / 10^5 = 180 ns; 9,960 FLOPs / 180 ns = 55.3 GFLOP/s = 52% of 107.4 (compute-bound:
        // 10.1 GB/s x 9,960 / 652 FLOP/byte = 154 GFLOP/s); cells 40 x 0.78125 / 180 = 17%;
        // Java 700 / 18 = 38.89x; libtorch 90 / 18 = 5.00x
        assertTrue(md.contains("| step | random | 100,000 | 1 | 180.0 | 55.3 | 52% | 52% | 17% | 38.89× | 5.00× | — |"),
                md);
        // backward 80 ms / (10^4 x 20) = 400 ns, saturated 92 ms: 460 ns, 1.15x random; saturated:
        // 29,540 FLOPs / 460 ns = 64.2 GFLOP/s = 60% of the peak, which is the roofline (10.1 GB/s x
        // 29,540 / 328 FLOP/byte is above it); cells 40 x 0.78125 / 460 = 7%; no plain Java or
        // libtorch ratio for saturated inputs, which those implementations do not run
        assertTrue(md.contains("| backward (T = 20) | saturated | 10,000 | 1 | 460.0 | 64.2 | 60% | 60% | 7% | — | — | — |"),
                md);
        assertTrue(md.contains("| backward (T = 20) | saturated | 10,000 | 1 | 460.0 | 400.0 | 1.15× |"), md);
        // bfloat16 products: 50 ms / (10^4 x 20) = 250 ns against float32's 400 ns: 1.60x its speed;
        // the float32 rows stay those of the float32 results; 29,540 FLOPs / 250 ns = 118.2 GFLOP/s
        // = 14% of the default set's own peak, the AMX tile peak of 859.0 (measured: the set has tiles)
        assertTrue(md.contains("| backward (T = 20) | BF16_PRODUCTS | 10,000 | 1 | 250.0 | 400.0 | 1.60× | 14% |"), md);
        // bfloat16 products on another kernel set: 100 ms / (10^4 x 20) = 500 ns against the default
        // set's 250 ns, 0.50x its speed; the other tables keep the default set's results.  Shares of
        // their own peaks: avx512bf16 29,540 FLOPs / 500 ns = 59.1 GFLOP/s = 28% of the bfloat16 peak
        // of 214.7; the default set, which has the tiles (the AMX tile peak was measured), 118.2 GFLOP/s
        // = 14% of the tile peak of 859.0
        assertTrue(md.contains("| backward (T = 20) | avx512bf16 | 10,000 | 1 | 500.0 | 250.0 | 0.50× | 28% | 14% |"),
                md);
        // amx named: 45 ms, 225 ns, 250 / 225 = 1.11x the default's speed; 29,540 / 225 ns = 131.3
        // GFLOP/s = 15% of the tile peak; avx512 (software products, no peak measured): 150 ms, 750 ns,
        // 0.33x
        assertTrue(md.contains("| backward (T = 20) | amx | 10,000 | 1 | 225.0 | 250.0 | 1.11× | 15% | 14% |"), md);
        assertTrue(md.contains("| backward (T = 20) | avx512 | 10,000 | 1 | 750.0 | 250.0 | 0.33× | — | 14% |"), md);
        // with averaging units: 130 ms / (10^4 x 20) = 650 ns against 400 ns, 1.63 times as long
        assertTrue(md.contains("| backward (T = 20) | 2-2 | 10,000 | 1 | 650.0 | 400.0 | 1.63× |"), md);
        // 1,500 ms per epoch; 2.4 s and 0.3 s over 2 epochs: 1,200 ms (80%), 150 ms (10%), rest 150 ms
        assertTrue(md.contains("| untrained | FLOAT32 | 1 | 1,500 | 1,200 ms (80%) | 150 ms (10%) | 150 ms (10%) | — |"), md);
        // shipped: 1,800 ms; 4.5 s and 0.3 s over 3 epochs: 1,500 ms (83%), 100 ms (6%), rest 200 ms (11%)
        assertTrue(md.contains("| shipped | FLOAT32 | 1 | 1,800 | 1,500 ms (83%) | 100 ms (6%) | 200 ms (11%) | — |"), md);
        // 1,800 / 1,500 = 1.20x the epoch; 1,500 / 1,200 = 1.25x the LSTM kernels
        assertTrue(md.contains("| shipped | 1 | 1.20× | 1.25× |"), md);
        // bfloat16: 1,200 ms; 1.8 s and 0.2 s over 2 epochs: 900 ms (75%), 100 ms (8%), rest 200 ms (17%);
        // float32's 1,500 / 1,200 = 1.25x the epoch, 1,200 / 900 = 1.33x the LSTM kernels
        assertTrue(md.contains("| untrained | BF16_PRODUCTS | 1 | 1,200 | 900 ms (75%) | 100 ms (8%) | 200 ms (17%) | — |"),
                md);
        assertTrue(md.contains("| BF16_PRODUCTS | 1 | 1.25× | 1.33× |"), md);
        assertEquals(-1, md.indexOf("NaN"), md);
    }

    @Test
    void withoutTheAmxTilePeakTheDefaultSetIsAgainstTheBf16Peak(@TempDir Path dir) throws IOException {
        String bf16 = "\"inputs\":\"random\",\"n\":\"10000\",\"precision\":\"BF16_PRODUCTS\",\"threads\":\"1\"";
        String md = report(dir,
                result("RooflineBenchmark.fmaPeak", "\"threads\":\"1\"", 30, ""),
                result("RooflineBenchmark.bf16DotPeak", "\"threads\":\"1\"", 15, ""),
                result("LstmBenchmark.nativeBackward", "\"inputs\":\"random\",\"n\":\"10000\",\"threads\":\"1\"", 80,
                        ""),
                result("LstmBenchmark.nativeBackward", bf16, 50, ""),
                result("LstmBenchmark.nativeBackward", "\"isa\":\"avx512bf16\"," + bf16, 100, ""),
                result("LstmBenchmark.nativeBackward", "\"isa\":\"amx-emulated\"," + bf16, 500, ""));
        // no AMX tile peak (nor triad and cells) measured
        assertTrue(md.contains("| 1 | 107.4 | 214.7 | — | — | — |"), md);
        // bfloat16 products against float32 (400 ns): 1.60x, 118.2 GFLOP/s = 55% of the default set's
        // own peak, here the bfloat16 dot-product peak of 214.7
        assertTrue(md.contains("| backward (T = 20) | BF16_PRODUCTS | 10,000 | 1 | 250.0 | 400.0 | 1.60× | 55% |"), md);
        // the default set (250 ns, 118.2 GFLOP/s) against the bfloat16 peak of 214.7: 55%; avx512bf16
        // (500 ns) 28% of it; amx-emulated 500 ms, 2,500 ns, 0.10x, its peak (the tiles' model) not
        // measured
        assertTrue(md.contains("| backward (T = 20) | avx512bf16 | 10,000 | 1 | 500.0 | 250.0 | 0.50× | 28% | 55% |"),
                md);
        assertTrue(md.contains("| backward (T = 20) | amx-emulated | 10,000 | 1 | 2,500.0 | 250.0 | 0.10× | — | 55% |"),
                md);
        assertEquals(-1, md.indexOf("NaN"), md);
    }

    @Test
    void resultsWithoutTheInputsAndPhiParametersAreRandomAndUntrained(@TempDir Path dir) throws IOException {
        String md = report(dir,
                result("LstmBenchmark.nativeStep", "\"n\":\"1000\",\"threads\":\"1\"", 0.2, ""),
                result("MetaTrainingEpochBenchmark.epoch", "\"threads\":\"1\"", 1000,
                        "\"lstmNanos\":{\"score\":8.0E8},\"optimizeeNanos\":{\"score\":1.0E8},\"epochs\":{\"score\":1}"));
        assertTrue(md.contains("| step | random | 1,000 | 1 | 200.0 |"), md);
        assertTrue(md.contains("| untrained | FLOAT32 | 1 | 1,000 | 800 ms (80%) | 100 ms (10%) | 100 ms (10%) | — |"), md);
        assertEquals(-1, md.indexOf("Saturated against random"), md);
        assertEquals(-1, md.indexOf("× untrained"), md);
        assertEquals(-1, md.indexOf("float32 ÷"), md);
    }

    @Test
    void aFileThatIsNotJmhJsonIsRejected(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("not.json");
        Files.writeString(file, "{\"a\": 1}");
        assertThrows(IOException.class, () -> BenchReport.parse(file));
    }
}
