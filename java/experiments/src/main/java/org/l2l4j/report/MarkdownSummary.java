package org.l2l4j.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.OptionalDouble;
import java.util.function.Function;

/**
 * A Markdown summary of {@link LossCurves}: a table with one row per optimizer (its learning rate
 * beside its name when given), the final loss and the sum of losses over steps 1..steps as
 * mean ± standard error, the lowest mean of each column in bold; then, for a reference optimizer
 * (typically the learned one), one line per other optimizer with the paired difference of final
 * losses and whether the reference beats it by more than 2 standard errors.
 *
 * <p>Means are printed with 4 significant digits, standard errors with 2, learning rates with up
 * to 3.
 */
public final class MarkdownSummary {

    private MarkdownSummary() {
    }

    /**
     * The summary as Markdown text, ending with a line break: the {@link #table} and the
     * {@link #pairedDifferences} of {@code reference}.
     *
     * @param reference the optimizer compared against every other one
     * @throws IllegalArgumentException if {@code reference} is not one of the optimizers
     */
    public static String render(LossCurves curves, String reference) {
        return table(curves) + pairedDifferences(curves, reference);
    }

    /** The table of every optimizer's final loss and sum of losses, ending with a line break. */
    public static String table(LossCurves curves) {
        Objects.requireNonNull(curves, "curves");
        String bestFinal = curves.best(curves::finalLoss);
        String bestSum = curves.best(curves::lossSum);
        StringBuilder md = new StringBuilder();
        md.append(curves.runs()).append(" paired runs of ").append(curves.steps())
                .append(" steps; mean ± standard error over runs; **bold**: lowest mean.\n\n");
        md.append("| optimizer | final loss | sum of losses, steps 1-").append(curves.steps())
                .append(" |\n|---|---:|---:|\n");
        for (String name : curves.optimizers()) {
            OptionalDouble lr = curves.learningRate(name);
            md.append("| ").append(escape(name))
                    .append(lr.isPresent() ? " (lr " + shortNumber(lr.getAsDouble()) + ")" : "")
                    .append(" | ").append(cell(name, curves::finalLoss, bestFinal))
                    .append(" | ").append(cell(name, curves::lossSum, bestSum))
                    .append(" |\n");
        }
        return md.toString();
    }

    /**
     * The paired differences of final loss of {@code reference} against every other optimizer,
     * preceded by a blank line (empty with a single optimizer).
     *
     * @throws IllegalArgumentException if {@code reference} is not one of the optimizers
     */
    public static String pairedDifferences(LossCurves curves, String reference) {
        Objects.requireNonNull(curves, "curves");
        if (!curves.optimizers().contains(reference)) {
            throw new IllegalArgumentException("reference optimizer '" + reference
                    + "' is not one of " + curves.optimizers());
        }
        StringBuilder md = new StringBuilder();
        if (curves.optimizers().size() > 1) {
            md.append("\nPaired differences of final loss (").append(escape(reference))
                    .append(" minus the other; negative favours ").append(escape(reference))
                    .append("):\n\n");
            for (String other : curves.optimizers()) {
                if (!other.equals(reference)) {
                    PairedComparison c = curves.compareFinal(reference, other);
                    md.append("- ").append(escape(reference)).append(" vs ").append(escape(other))
                            .append(": ").append(plusMinus(c.difference()))
                            .append(" (beats by > 2 SE: ").append(c.aBeatsB() ? "yes" : "no")
                            .append(")\n");
                }
            }
        }
        return md.toString();
    }

    /**
     * Writes {@link #render} to a UTF-8 file.
     *
     * @throws IOException if the file cannot be written
     */
    public static void write(LossCurves curves, String reference, Path file) throws IOException {
        Files.writeString(file, render(curves, reference), StandardCharsets.UTF_8);
    }

    private static String cell(String name, Function<String, Estimate> statistic, String best) {
        String text = plusMinus(statistic.apply(name));
        return name.equals(best) ? "**" + text + "**" : text;
    }

    private static String plusMinus(Estimate e) {
        return String.format(Locale.ROOT, "%.4g ± %.2g", e.mean(), e.stderr());
    }

    /** Three significant digits, trailing zeros of the mantissa removed: 0.001, 3e-05. */
    public static String shortNumber(double x) {
        String s = String.format(Locale.ROOT, "%.3g", x);
        int exponent = s.indexOf('e');
        String mantissa = exponent < 0 ? s : s.substring(0, exponent);
        if (mantissa.contains(".")) {
            mantissa = mantissa.replaceAll("0+$", "").replaceAll("\\.$", "");
        }
        return exponent < 0 ? mantissa : mantissa + s.substring(exponent);
    }

    /** Escapes characters that would end a table cell or start Markdown emphasis. */
    private static String escape(String text) {
        return text.replaceAll("([|*_\\\\`])", "\\\\$1");
    }
}
