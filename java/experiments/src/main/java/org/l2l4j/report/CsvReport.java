package org.l2l4j.report;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes {@link LossCurves} as CSV (RFC 4180: comma-separated, {@code \n} line ends, UTF-8,
 * fields with a comma, quote or line break quoted, quotes doubled). Numbers are written with
 * {@link Double#toString}, which reads back exactly.
 */
public final class CsvReport {

    private CsvReport() {
    }

    /**
     * The per-step curves in long format: header {@code optimizer,step,mean,stderr,runs}, then
     * one row per optimizer and step {@code 0..steps} (optimizers in order, steps ascending);
     * {@code mean} and {@code stderr} are over runs.
     *
     * @throws IOException if the file cannot be written
     */
    public static void writeCurves(LossCurves curves, Path file) throws IOException {
        try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            out.write("optimizer,step,mean,stderr,runs\n");
            for (String name : curves.optimizers()) {
                List<Estimate> curve = curves.curve(name);
                for (int t = 0; t < curve.size(); t++) {
                    Estimate e = curve.get(t);
                    out.write(field(name) + "," + t + "," + e.mean() + "," + e.stderr() + ","
                            + e.samples() + "\n");
                }
            }
        }
    }

    /**
     * One row per optimizer and run: header {@code optimizer,run,final_loss,loss_sum}, with the
     * loss after the last step and the sum of losses over steps 1..steps.
     *
     * @throws IOException if the file cannot be written
     */
    public static void writeRuns(LossCurves curves, Path file) throws IOException {
        try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            out.write("optimizer,run,final_loss,loss_sum\n");
            for (String name : curves.optimizers()) {
                double[] finals = curves.finalLosses(name);
                double[] sums = curves.lossSums(name);
                for (int r = 0; r < finals.length; r++) {
                    out.write(field(name) + "," + r + "," + finals[r] + "," + sums[r] + "\n");
                }
            }
        }
    }

    /** A text field, quoted when it contains a comma, quote or line break. */
    static String field(String text) {
        if (text.chars().noneMatch(c -> c == ',' || c == '"' || c == '\n' || c == '\r')) {
            return text;
        }
        return "\"" + text.replace("\"", "\"\"") + "\"";
    }
}
