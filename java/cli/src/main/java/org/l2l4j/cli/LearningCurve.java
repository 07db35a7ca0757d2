package org.l2l4j.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.l2l4j.meta.TrainingState;
import org.l2l4j.plots.LossPlot;
import org.l2l4j.safetensors.AtomicFile;

/**
 * The learning curve of meta-training: at each validation, the mean loss at step K of the
 * learned optimizer on the held-out validation functions, and the mean training meta-loss per
 * step since the previous validation (MetaTrainer's history).
 */
final class LearningCurve {
    private LearningCurve() {
    }

    /**
     * CSV with header {@code epoch,validation_loss,training_meta_loss}, one row per validation;
     * written atomically ({@link AtomicFile}), since it is rewritten at every validation of a run
     * that may be interrupted.
     */
    static void writeCsv(List<TrainingState.Validation> history, Path file) throws IOException {
        StringBuilder csv = new StringBuilder("epoch,validation_loss,training_meta_loss\n");
        for (TrainingState.Validation v : history) {
            csv.append(v.epoch()).append(',').append(v.validationLoss()).append(',').append(v.trainingMetaLoss())
                    .append('\n');
        }
        ByteBuffer bytes = ByteBuffer.wrap(csv.toString().getBytes(StandardCharsets.UTF_8));
        AtomicFile.write(file.toAbsolutePath(), out -> {
            while (bytes.hasRemaining()) {
                out.write(bytes);
            }
        });
    }

    /**
     * Validation loss at step K of {@code optimizer} (the series' name) against epochs on a log
     * axis, with a horizontal line at
     * {@code adamLevel} (tuned Adam's mean loss at step K on the same functions) unless null.
     * Non-finite or non-positive losses are left out.
     *
     * @return the chart, or null when there is no point to draw
     */
    static XYChart chart(List<TrainingState.Validation> history, Double adamLevel, String title, String optimizer) {
        List<TrainingState.Validation> points = history.stream()
                .filter(v -> Double.isFinite(v.validationLoss()) && v.validationLoss() > 0).toList();
        if (points.isEmpty()) {
            return null;
        }
        XYChart chart = new XYChartBuilder().width(LossPlot.WIDTH).height(LossPlot.HEIGHT).title(title)
                .xAxisTitle("meta-training epoch").yAxisTitle("validation loss at the last step").build();
        double[] x = points.stream().mapToDouble(TrainingState.Validation::epoch).toArray();
        double[] y = points.stream().mapToDouble(TrainingState.Validation::validationLoss).toArray();
        boolean level = adamLevel != null && Double.isFinite(adamLevel) && adamLevel > 0;
        double low = Math.min(Arrays.stream(y).min().orElseThrow(), level ? adamLevel : Double.POSITIVE_INFINITY);
        double high = Math.max(Arrays.stream(y).max().orElseThrow(), level ? adamLevel : 0);
        chart.getStyler().setYAxisLogarithmic(true);
        // Label only powers of ten when the losses span several of them, as LossPlot does.
        chart.getStyler().setYAxisLogarithmicDecadeOnly(high / low > 30);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setPlotBackgroundColor(Color.WHITE);
        chart.getStyler().setPlotGridLinesColor(new Color(0xdddddd));
        chart.getStyler().setXAxisDecimalPattern("#");
        chart.getStyler().setAntiAlias(true);
        XYSeries learned = chart.addSeries(optimizer, x, y);
        learned.setMarker(points.size() > 50 ? SeriesMarkers.NONE : SeriesMarkers.CIRCLE);
        learned.setLineColor(new Color(0x1f77b4));
        learned.setMarkerColor(new Color(0x1f77b4));
        if (level) {
            double left = Math.min(0, x[0]);
            double right = Math.max(x[x.length - 1], left + 1);
            XYSeries adam = chart.addSeries("Adam (tuned)", new double[] {left, right}, new double[] {adamLevel, adamLevel});
            adam.setMarker(SeriesMarkers.NONE);
            adam.setLineColor(new Color(0xff7f0e));
            adam.setLineStyle(new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
                    new float[] {6f, 4f}, 0f));
        }
        return chart;
    }
}
