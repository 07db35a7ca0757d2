package org.l2l4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * Turns the JSON of one JMH run of this folder's benchmarks ({@code -rf json}) into Markdown
 * tables: the machine's limits ({@link RooflineBenchmark}); for the native kernels
 * ({@link LstmBenchmark}) the time per coordinate-step, GFLOP/s of the matrix parts
 * ({@link CostModel}), the fraction of the measured peak and of the roofline
 * min(peak, triad bandwidth x FLOP/byte) at the same thread count, the transcendentals' share
 * (the cell-update probe's time over the kernel's), the ratios to the plain Java
 * ({@link JavaLstmBenchmark}) and libtorch (TorchLstmBenchmark, profile bench-torch)
 * implementations, and the thread scaling, for random and saturated inputs
 * ({@link KernelInputs.Inputs}) with the ratio of their times; the other implementations' own
 * figures; and the meta-training epoch ({@link MetaTrainingEpochBenchmark}) with its split, from
 * an untrained and from the shipped phi, with the ratio of their times.  Benchmarks missing from
 * the run leave their cells as "—"; results of runs made before the inputs and phi parameters
 * existed count as random inputs and an untrained phi.
 *
 * <p>Usage: {@code BenchReport jmh.json [report.md]} (standard output without a second
 * argument).
 */
public final class BenchReport {
    private static final CostModel COST = CostModel.paper();
    private static final String NONE = "—";
    /** LstmBenchmark's inputs, and MetaTrainingEpochBenchmark's phi, of the reference rows. */
    static final String RANDOM = "random";
    static final String UNTRAINED = "untrained";
    /** The kernels' default precision (LstmBenchmark's precision parameter). */
    static final String FLOAT32 = "FLOAT32";
    /** LstmBenchmark's model without global averaging cells (its gac parameter). */
    static final String NO_GAC = "none";
    /** LstmBenchmark's default kernel set, the best the processor runs (its isa parameter). */
    static final String DEFAULT_ISA = "default";

    /**
     * One measured benchmark: mean time per call in seconds, with its parameters (inputs: random
     * where the benchmark has no such parameter; phi: untrained, precision: float32, gac: none and
     * isa: default likewise).
     */
    record Result(String benchmark, int n, int threads, String inputs, String phi, String precision, String gac,
                  String isa, double seconds, Map<String, Double> secondary) {
    }

    private final List<Result> results;

    BenchReport(List<Result> results) {
        this.results = results;
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: BenchReport jmh.json [report.md]");
            System.exit(2);
        }
        String markdown = new BenchReport(parse(Path.of(args[0]))).markdown();
        if (args.length == 2) {
            Files.writeString(Path.of(args[1]), markdown, StandardCharsets.UTF_8);
            System.out.println("wrote " + args[1]);
        } else {
            System.out.print(markdown);
        }
    }

    /** Reads a JMH JSON result file. */
    static List<Result> parse(Path json) throws IOException {
        JsonNode root = new ObjectMapper().readTree(json.toFile());
        if (root == null || !root.isArray()) {
            throw new IOException(json + " is not a JMH JSON result (an array of benchmarks)");
        }
        List<Result> list = new ArrayList<>();
        for (JsonNode b : root) {
            String name = b.path("benchmark").asText();
            String shortName = name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1);
            JsonNode params = b.path("params");
            int n = params.path("n").asInt(0);
            int threads = params.path("threads").asInt(1);
            String inputs = params.path("inputs").asText(RANDOM);
            String phi = params.path("phi").asText(UNTRAINED);
            String precision = params.path("precision").asText(FLOAT32);
            String gac = params.path("gac").asText(NO_GAC);
            String isa = params.path("isa").asText(DEFAULT_ISA);
            JsonNode primary = b.path("primaryMetric");
            double seconds = primary.path("score").asDouble() * unitSeconds(primary.path("scoreUnit").asText());
            Map<String, Double> secondary = new LinkedHashMap<>();
            b.path("secondaryMetrics").fields().forEachRemaining(e -> secondary.put(e.getKey(),
                    e.getValue().path("score").asDouble()));
            list.add(new Result(shortName, n, threads, inputs, phi, precision, gac, isa, seconds, secondary));
        }
        return list;
    }

    private static double unitSeconds(String unit) throws IOException {
        return switch (unit) {
            case "s/op" -> 1;
            case "ms/op" -> 1e-3;
            case "us/op" -> 1e-6;
            case "ns/op" -> 1e-9;
            default -> throw new IOException("unexpected JMH score unit '" + unit + "' (use AverageTime)");
        };
    }

    private Result find(String benchmark, int n, int threads, String inputs, String phi) {
        return find(benchmark, n, threads, inputs, phi, FLOAT32);
    }

    private Result find(String benchmark, int n, int threads, String inputs, String phi, String precision) {
        return find(benchmark, n, threads, inputs, phi, precision, NO_GAC);
    }

    private Result find(String benchmark, int n, int threads, String inputs, String phi, String precision,
                        String gac) {
        return find(benchmark, n, threads, inputs, phi, precision, gac, DEFAULT_ISA);
    }

    private Result find(String benchmark, int n, int threads, String inputs, String phi, String precision,
                        String gac, String isa) {
        for (Result r : results) {
            if (r.benchmark().equals(benchmark) && r.n() == n && r.threads() == threads && r.inputs().equals(inputs)
                    && r.phi().equals(phi) && r.precision().equals(precision) && r.gac().equals(gac)
                    && r.isa().equals(isa)) {
                return r;
            }
        }
        return null;
    }

    private Result find(String benchmark, int n, int threads) {
        return find(benchmark, n, threads, RANDOM, UNTRAINED);
    }

    /** Seconds per call, or NaN when the benchmark is missing. */
    private double seconds(String benchmark, int n, int threads, String inputs) {
        Result r = find(benchmark, n, threads, inputs, UNTRAINED);
        return r == null ? Double.NaN : r.seconds();
    }

    private double seconds(String benchmark, int n, int threads) {
        return seconds(benchmark, n, threads, RANDOM);
    }

    double peakFlops(int threads) {
        return threads * RooflineBenchmark.FMA_FLOPS_PER_THREAD / seconds("RooflineBenchmark.fmaPeak", 0, threads);
    }

    /** The bfloat16 dot-product peak (NaN when not measured). */
    double bf16PeakFlops(int threads) {
        return threads * RooflineBenchmark.FMA_FLOPS_PER_THREAD / seconds("RooflineBenchmark.bf16DotPeak", 0, threads);
    }

    /** The AMX tile peak (NaN when not measured: the default kernel set has no tiles). */
    double amxPeakFlops(int threads) {
        return threads * RooflineBenchmark.AMX_FLOPS_PER_THREAD / seconds("RooflineBenchmark.amxTilePeak", 0, threads);
    }

    /**
     * The peak of a kernel set's bfloat16 gate products (LstmBenchmark's isa), from the probes
     * RooflineBenchmark ran on the default set: the AMX tile peak for amx, and for the default set
     * where it was measured (that set has the tiles); the bfloat16 dot-product peak for avx512bf16,
     * and for a default set without tiles; NaN for the other sets, whose peak the run did not
     * measure.
     */
    double ownPeakFlops(String isa, int threads) {
        double tiles = amxPeakFlops(threads);
        return switch (isa) {
            case "amx" -> tiles;
            case "avx512bf16" -> bf16PeakFlops(threads);
            case DEFAULT_ISA -> Double.isNaN(tiles) ? bf16PeakFlops(threads) : tiles;
            default -> Double.NaN;
        };
    }

    double bandwidth(int threads) {
        return (double) RooflineBenchmark.TRIAD_BYTES_PER_ELEMENT * RooflineBenchmark.TRIAD_FLOATS
                / seconds("RooflineBenchmark.triad", 0, threads);
    }

    /** Seconds of the cell update per coordinate-unit, all threads together. */
    double cellSeconds(int threads) {
        return seconds("RooflineBenchmark.cells", 0, threads) / ((double) threads
                * RooflineBenchmark.CELL_TILES_PER_THREAD * CpuProbes.CELL_TILE_COORDINATES * CpuProbes.CELL_TILE_UNITS);
    }

    /** The kernels reported: benchmark suffix, label, FLOPs and bytes per coordinate-step, steps per call. */
    private record Kernel(String suffix, String label, long flops, long bytes, int steps) {
    }

    private static final List<Kernel> KERNELS = List.of(
            new Kernel("Step", "step", COST.stepFlops(), COST.stepBytes(), 1),
            new Kernel("StepRecorded", "step writing its record", COST.stepFlops(), COST.recordedStepBytes(), 1),
            new Kernel("Backward", "backward (T = 20)", COST.backwardFlops(), COST.backwardBytes(), KernelInputs.UNROLL));

    String markdown() {
        StringBuilder md = new StringBuilder();
        limits(md);
        kernels(md);
        saturation(md);
        bf16(md);
        kernelSets(md);
        averaging(md);
        others(md);
        epoch(md);
        return md.toString();
    }

    private TreeSet<Integer> threadCounts(String prefix) {
        TreeSet<Integer> t = new TreeSet<>();
        for (Result r : results) {
            if (r.benchmark().startsWith(prefix)) {
                t.add(r.threads());
            }
        }
        return t;
    }

    /** The values of a string parameter among the results of a benchmark class, the reference one first. */
    private List<String> variants(String prefix, String reference, Function<Result, String> param) {
        TreeSet<String> others = new TreeSet<>();
        boolean any = false;
        for (Result r : results) {
            if (r.benchmark().startsWith(prefix)) {
                any = true;
                others.add(param.apply(r));
            }
        }
        List<String> list = new ArrayList<>();
        if (any) {
            list.add(reference);
            others.remove(reference);
            list.addAll(others);
        }
        return list;
    }

    private TreeSet<Integer> sizes(String prefix) {
        TreeSet<Integer> t = new TreeSet<>();
        for (Result r : results) {
            if (r.benchmark().startsWith(prefix)) {
                t.add(r.n());
            }
        }
        return t;
    }

    private void limits(StringBuilder md) {
        md.append("### Machine limits\n\n");
        md.append("| threads | FMA peak, GFLOP/s | bfloat16 dot-product peak, GFLOP/s | AMX tile peak, GFLOP/s"
                + " | triad bandwidth, GB/s | cell update, ns per coordinate-unit |\n");
        md.append("|---:|---:|---:|---:|---:|---:|\n");
        for (int t : threadCounts("RooflineBenchmark.")) {
            md.append(String.format(Locale.ROOT, "| %d | %s | %s | %s | %s | %s |%n", t, fmt(peakFlops(t) / 1e9, 1),
                    fmt(bf16PeakFlops(t) / 1e9, 1), fmt(amxPeakFlops(t) / 1e9, 1), fmt(bandwidth(t) / 1e9, 1),
                    fmt(cellSeconds(t) * 1e9, 2)));
        }
        md.append(String.format(Locale.ROOT, "%nPer coordinate (LSTM 20-20, log-and-sign): step %,d FLOPs, %,d bytes;"
                        + " backward %,d FLOPs, %,d bytes per coordinate-step; %,d transcendentals each"
                        + " (CostModel).  The bfloat16 dot-product peak is measured where the default kernel set"
                        + " runs vdpbf16ps (avx512bf16, amx), the AMX tile peak where it is amx (— elsewhere: the"
                        + " other sets would time software arithmetic).%n%n", COST.stepFlops(), COST.stepBytes(), COST.backwardFlops(),
                COST.backwardBytes(), COST.transcendentals()));
    }

    private void kernels(StringBuilder md) {
        md.append("### Native CPU kernels\n\n");
        md.append("| kernel | inputs | n | threads | ns per coordinate-step | GFLOP/s | % of peak | % of roofline"
                + " | transcendentals' share | × plain Java | × libtorch | 2 thr / 1 thr |\n");
        md.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Kernel k : KERNELS) {
            for (String inputs : variants("LstmBenchmark.", RANDOM, Result::inputs)) {
                for (int n : sizes("LstmBenchmark.")) {
                    for (int t : threadCounts("LstmBenchmark.")) {
                        double s = seconds("LstmBenchmark.native" + k.suffix(), n, t, inputs);
                        if (Double.isNaN(s)) {
                            continue;
                        }
                        double perCoordinate = s / ((double) n * k.steps());
                        double flops = k.flops() / perCoordinate;
                        double peak = peakFlops(t);
                        double roofline = Math.min(peak, bandwidth(t) * k.flops() / k.bytes());
                        double transcendental = cellSeconds(t) * COST.units() / perCoordinate;
                        // the other implementations run the random inputs only
                        boolean random = inputs.equals(RANDOM);
                        double java = random ? seconds("JavaLstmBenchmark.java" + k.suffix(), n, 1) / s : Double.NaN;
                        double torch = random ? seconds("TorchLstmBenchmark.torch" + k.suffix(), n, t) / s : Double.NaN;
                        double scaling = t == 2 ? seconds("LstmBenchmark.native" + k.suffix(), n, 1, inputs) / s
                                : Double.NaN;
                        md.append(String.format(Locale.ROOT,
                                "| %s | %s | %,d | %d | %s | %s | %s | %s | %s | %s | %s | %s |%n", k.label(), inputs, n,
                                t, fmt(perCoordinate * 1e9, 1), fmt(flops / 1e9, 1), pct(flops / peak),
                                pct(flops / roofline), pct(transcendental), ratio(java), ratio(torch), ratio(scaling)));
                    }
                }
            }
        }
        md.append("\nGFLOP/s count the matrix parts only; the roofline is min(peak, triad bandwidth × FLOP/byte)"
                + " at the same thread count; the transcendentals' share is the cell-update probe's time for the"
                + " 40 units of a coordinate over the kernel's time per coordinate-step; × plain Java and"
                + " × libtorch are their times over the native kernel's (plain Java is single-threaded; both on"
                + " the random inputs only).\n\n");
    }

    /** Each kernel on saturated inputs against the same kernel on random ones. */
    private void saturation(StringBuilder md) {
        variantTable(md, variants("LstmBenchmark.", RANDOM, Result::inputs), new VariantLabels(
                "Saturated against random inputs", "inputs", "on random inputs", "× random", false,
                "The same kernel on saturated inputs (gates near 0 and 1, cells far from 0: KernelInputs) over"
                + " its time on random inputs, in the same run; the kernels flush subnormal numbers, which a"
                + " saturated LSTM's backward pass produces, so that the two should be within noise."), null,
                (kernel, inputs, n, t) -> seconds("LstmBenchmark.native" + kernel, n, t, inputs));
    }

    /** Each kernel with bfloat16 gate products against the same kernel in float32, in the same run. */
    private void bf16(StringBuilder md) {
        variantTable(md, variants("LstmBenchmark.", FLOAT32, Result::precision), new VariantLabels(
                "bfloat16 gate products against float32", "precision", "float32", "× float32 speed", true,
                "The kernel with bfloat16 operands in its gate products (Precision.BF16_PRODUCTS, l2l.h"
                + " \"Precision\"; the AMX tiles on the amx kernel set, vdpbf16ps on avx512bf16, software"
                + " rounding elsewhere) against float32 on the random inputs: float32's time over bfloat16's;"
                + " % of own peak: its matrix FLOPs per second over the roofline of its products at the same"
                + " thread count, the AMX tile peak where the default kernel set has the tiles and the"
                + " bfloat16 dot-product peak otherwise (the cell update stays float32)."),
                new PeakShares("% of own peak", null, (precision, t) -> ownPeakFlops(DEFAULT_ISA, t)),
                (kernel, precision, n, t) -> {
                    Result r = find("LstmBenchmark.native" + kernel, n, t, RANDOM, UNTRAINED, precision);
                    return r == null ? Double.NaN : r.seconds();
                });
    }

    /**
     * Each kernel with bfloat16 gate products on another kernel set (LstmBenchmark's isa, such as
     * avx512bf16 beside the default amx) against the default set's, in the same run.
     */
    private void kernelSets(StringBuilder md) {
        variantTable(md, variants("LstmBenchmark.", DEFAULT_ISA, Result::isa), new VariantLabels(
                "bfloat16 gate products on other kernel sets against the default set", "kernel set", "default set",
                "× default speed", true,
                "The kernel with bfloat16 gate products on the named kernel set (L2L_CPU_ISA's names: on a"
                + " processor with AMX the default is amx, whose gate products run on the tiles) against the"
                + " default set's on the same random inputs: the default set's time over the other's.  % of own"
                + " peak: each set's matrix FLOPs per second over the peak of its own products at the same thread"
                + " count, as RooflineBenchmark measured it on the default set: amx (and a default set with the"
                + " tiles) against the AMX tile peak, avx512bf16 (and a default set without tiles) against the"
                + " bfloat16 dot-product peak; — for the sets whose peak the run did not measure."),
                new PeakShares("% of own peak", "default set's % of own peak", this::ownPeakFlops),
                (kernel, isa, n, t) -> {
                    Result r = find("LstmBenchmark.native" + kernel, n, t, RANDOM, UNTRAINED, "BF16_PRODUCTS", NO_GAC,
                            isa);
                    return r == null ? Double.NaN : r.seconds();
                });
    }

    /** Each kernel with global averaging cells against the same kernel without, in the same run. */
    private void averaging(StringBuilder md) {
        variantTable(md, variants("LstmBenchmark.", NO_GAC, Result::gac), new VariantLabels(
                "Global averaging cells against the plain LSTM", "averaging units", "without", "× without", false,
                "The kernel of a model with averaging units per layer (LSTM+GAC, l2l.h: its layer passes with"
                + " the segment means between them, the n coordinates one optimizee instance) over the fused"
                + " kernel's time on the same random inputs in float32, in the same run."), null,
                (kernel, gac, n, t) -> {
                    Result r = find("LstmBenchmark.native" + kernel, n, t, RANDOM, UNTRAINED, FLOAT32, gac);
                    return r == null ? Double.NaN : r.seconds();
                });
    }

    /** Seconds per call of LstmBenchmark's kernel (its name's suffix) in one variant of a parameter. */
    private interface VariantTime {
        double seconds(String kernel, String variant, int n, int threads);
    }

    /** The peak FLOP/s of a variant of a parameter at a thread count (NaN when not measured). */
    private interface VariantPeak {
        double flops(String variant, int threads);
    }

    /**
     * The words of a variant table: its title, the parameter's column, the reference's column,
     * the ratio's column (the variant's time over the reference's or, with {@code speedUp}, the
     * reference's over the variant's) and the footnote.
     */
    private record VariantLabels(String title, String parameter, String reference, String ratioColumn,
                                 boolean speedUp, String footnote) {
    }

    /**
     * Shares of peak in a variant table: the variant's matrix FLOPs per second over its
     * {@code peak} in a column titled {@code column}, and with a {@code referenceColumn} the
     * reference's share of its own in a column so titled.
     */
    private record PeakShares(String column, String referenceColumn, VariantPeak peak) {
    }

    /**
     * A table of LstmBenchmark's kernels in each variant of a parameter but the first (the
     * reference, timed by the same {@code time}): time per coordinate-step in the variant and in
     * the reference, their ratio, and with {@code shares} (or null) the shares of peak.
     */
    private void variantTable(StringBuilder md, List<String> variants, VariantLabels labels, PeakShares shares,
                              VariantTime time) {
        if (variants.size() < 2) {
            return;
        }
        List<String> peakColumns = new ArrayList<>();
        if (shares != null) {
            peakColumns.add(shares.column());
            if (shares.referenceColumn() != null) {
                peakColumns.add(shares.referenceColumn());
            }
        }
        md.append("### ").append(labels.title()).append("\n\n");
        md.append("| kernel | ").append(labels.parameter()).append(" | n | threads | ns per coordinate-step | ")
                .append(labels.reference()).append(" | ").append(labels.ratioColumn()).append(" |");
        peakColumns.forEach(c -> md.append(' ').append(c).append(" |"));
        md.append("\n|---|---|---:|---:|---:|---:|---:|").append("---:|".repeat(peakColumns.size())).append('\n');
        for (Kernel k : KERNELS) {
            for (String variant : variants.subList(1, variants.size())) {
                for (int n : sizes("LstmBenchmark.")) {
                    for (int t : threadCounts("LstmBenchmark.")) {
                        double v = time.seconds(k.suffix(), variant, n, t);
                        double r = time.seconds(k.suffix(), variants.get(0), n, t);
                        if (Double.isNaN(v) || Double.isNaN(r)) {
                            continue;
                        }
                        double per = (double) n * k.steps();
                        md.append(String.format(Locale.ROOT, "| %s | %s | %,d | %d | %s | %s | %s |", k.label(),
                                variant, n, t, fmt(v / per * 1e9, 1), fmt(r / per * 1e9, 1),
                                ratio(labels.speedUp() ? r / v : v / r)));
                        if (shares != null) {
                            md.append(' ').append(pct(k.flops() / (v / per) / shares.peak().flops(variant, t)))
                                    .append(" |");
                            if (shares.referenceColumn() != null) {
                                md.append(' ').append(pct(k.flops() / (r / per)
                                        / shares.peak().flops(variants.get(0), t))).append(" |");
                            }
                        }
                        md.append('\n');
                    }
                }
            }
        }
        md.append("\n").append(labels.footnote()).append("\n\n");
    }

    private void others(StringBuilder md) {
        md.append("### Plain Java and libtorch\n\n");
        md.append("| implementation | kernel | n | threads | ns per coordinate-step | GFLOP/s |\n");
        md.append("|---|---|---:|---:|---:|---:|\n");
        String[][] impls = {{"JavaLstmBenchmark.java", "plain Java float32"}, {"TorchLstmBenchmark.torch", "libtorch"}};
        for (String[] impl : impls) {
            for (Kernel k : KERNELS) {
                for (Result r : results) {
                    if (!r.benchmark().equals(impl[0] + k.suffix())) {
                        continue;
                    }
                    double perCoordinate = r.seconds() / ((double) r.n() * k.steps());
                    md.append(String.format(Locale.ROOT, "| %s | %s | %,d | %d | %s | %s |%n", impl[1], k.label(),
                            r.n(), r.threads(), fmt(perCoordinate * 1e9, 1), fmt(k.flops() / perCoordinate / 1e9, 2)));
                }
            }
        }
        md.append('\n');
    }

    /** Seconds per epoch in the LSTM kernels (the auxiliary counters over the epochs run). */
    private static double lstmSeconds(Result r) {
        return r.secondary().getOrDefault("lstmNanos", Double.NaN) / r.secondary().getOrDefault("epochs", Double.NaN)
                * 1e-9;
    }

    private void epoch(StringBuilder md) {
        String bench = "MetaTrainingEpochBenchmark.epoch";
        List<String> phis = variants("MetaTrainingEpochBenchmark.", UNTRAINED, Result::phi);
        List<String> precisions = variants("MetaTrainingEpochBenchmark.", FLOAT32, Result::precision);
        md.append("### Meta-training epoch (MNIST, 15,910 coordinates, 100 steps)\n\n");
        md.append("| phi | precision | threads | epoch, ms | LSTM kernels | optimizee | rest | 2 thr / 1 thr |\n");
        md.append("|---|---|---:|---:|---:|---:|---:|---:|\n");
        for (String precision : precisions) {
            for (String phi : phis) {
                for (int t : threadCounts("MetaTrainingEpochBenchmark.")) {
                    Result r = find(bench, 0, t, RANDOM, phi, precision);
                    if (r == null) {
                        continue;
                    }
                    double epochs = r.secondary().getOrDefault("epochs", Double.NaN);
                    double lstm = lstmSeconds(r);
                    double optimizee = r.secondary().getOrDefault("optimizeeNanos", Double.NaN) / epochs * 1e-9;
                    double rest = r.seconds() - lstm - optimizee;
                    Result one = find(bench, 0, 1, RANDOM, phi, precision);
                    double scaling = t == 2 && one != null ? one.seconds() / r.seconds() : Double.NaN;
                    md.append(String.format(Locale.ROOT,
                            "| %s | %s | %d | %s | %s ms (%s) | %s ms (%s) | %s ms (%s) | %s |%n", phi, precision, t,
                            fmt(r.seconds() * 1e3, 0), fmt(lstm * 1e3, 0), pct(lstm / r.seconds()),
                            fmt(optimizee * 1e3, 0), pct(optimizee / r.seconds()), fmt(rest * 1e3, 0),
                            pct(rest / r.seconds()), ratio(scaling)));
                }
            }
        }
        md.append('\n');
        epochRatios(md, phis, UNTRAINED, "| phi | threads | epoch × untrained | LSTM kernels × untrained |", false,
                (phi, t) -> find(bench, 0, t, RANDOM, phi),
                "An epoch from the shipped (trained) phi over one from an untrained phi, in float32, in the same run.");
        epochRatios(md, precisions, FLOAT32, "| precision | threads | float32 ÷ epoch | float32 ÷ LSTM kernels |", true,
                (precision, t) -> find(bench, 0, t, RANDOM, UNTRAINED, precision),
                "float32's epoch (and its time in the LSTM kernels) over the same epoch with bfloat16 gate products,"
                        + " from an untrained phi, in the same run: the speed-up of --precision BF16_PRODUCTS.");
    }

    /**
     * A table of the epoch in each variant of a parameter but the first against the first
     * ({@code reference}), per thread count: the variant's time over the reference's, for the
     * epoch and for its LSTM kernels, or with {@code speedUp} the reference's over the variant's.
     */
    private void epochRatios(StringBuilder md, List<String> variants, String reference, String header, boolean speedUp,
                             BiFunction<String, Integer, Result> find, String footnote) {
        if (variants.size() < 2) {
            return;
        }
        md.append(header).append("\n|---|---:|---:|---:|\n");
        for (String variant : variants.subList(1, variants.size())) {
            for (int t : threadCounts("MetaTrainingEpochBenchmark.")) {
                Result r = find.apply(variant, t);
                Result u = find.apply(reference, t);
                if (r == null || u == null) {
                    continue;
                }
                double e = r.seconds() / u.seconds();
                double k = lstmSeconds(r) / lstmSeconds(u);
                md.append(String.format(Locale.ROOT, "| %s | %d | %s | %s |%n", variant, t,
                        ratio(speedUp ? 1 / e : e), ratio(speedUp ? 1 / k : k)));
            }
        }
        md.append("\n").append(footnote).append("\n\n");
    }

    private static String fmt(double v, int decimals) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%,." + decimals + "f", v) : NONE;
    }

    private static String pct(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.0f%%", 100 * v) : NONE;
    }

    private static String ratio(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.2f×", v) : NONE;
    }
}
