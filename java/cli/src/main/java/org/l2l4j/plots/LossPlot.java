package org.l2l4j.plots;

import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.l2l4j.report.Estimate;
import org.l2l4j.report.LossCurves;

/**
 * Plots {@link LossCurves} as in the paper's figures: mean loss against step on a logarithmic y
 * axis, one line per optimizer, with a shaded band of ± 1 standard error over runs, a legend,
 * axis titles and a title. Charts are drawn headless (the {@code java.awt.headless} property is
 * set to true unless it was set before this class is first used).
 */
public final class LossPlot {

    /** Default chart size in pixels. */
    public static final int WIDTH = 800;
    /** Default chart size in pixels. */
    public static final int HEIGHT = 560;

    /** Matplotlib's "tab10" palette, repeated when there are more optimizers. */
    private static final Color[] PALETTE = {
            new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728),
            new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f),
            new Color(0xbcbd22), new Color(0x17becf),
    };
    private static final int BAND_ALPHA = 64;
    private static final double DECADES_ONLY_ABOVE = 30;

    static {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    private LossPlot() {
    }

    /**
     * The chart of mean loss ± 1 standard error against step, {@link #WIDTH} x {@link #HEIGHT}
     * pixels. Where mean − SE is not positive the band is cut off at half the smallest mean
     * loss, the lower end of what a log axis can show.
     *
     * @param title chart title
     * @throws IllegalArgumentException if a mean loss is not positive (a log axis cannot show it)
     */
    public static XYChart chart(LossCurves curves, String title) {
        Objects.requireNonNull(curves, "curves");
        Objects.requireNonNull(title, "title");
        List<String> names = curves.optimizers();
        List<List<Estimate>> curveList = names.stream().map(curves::curve).toList();
        double floor = Double.POSITIVE_INFINITY;
        double top = 0;
        for (int i = 0; i < names.size(); i++) {
            List<Estimate> curve = curveList.get(i);
            for (int t = 0; t < curve.size(); t++) {
                double mean = curve.get(t).mean();
                if (!(mean > 0)) {
                    throw new IllegalArgumentException("mean loss of '" + names.get(i)
                            + "' at step " + t + " is " + mean + "; a log axis needs positive "
                            + "losses");
                }
                floor = Math.min(floor, mean / 2);
                top = Math.max(top, mean + curve.get(t).stderr());
            }
        }
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title)
                .xAxisTitle("step").yAxisTitle("loss").build();
        XYStyler styler = chart.getStyler();
        styler.setYAxisLogarithmic(true);
        // Label only powers of ten when the losses span several of them, else 1-9 times them.
        styler.setYAxisLogarithmicDecadeOnly(top / floor > DECADES_ONLY_ABOVE);
        styler.setLegendPosition(Styler.LegendPosition.InsideNE);
        styler.setChartBackgroundColor(Color.WHITE);
        styler.setPlotBackgroundColor(Color.WHITE);
        styler.setPlotGridLinesColor(new Color(0xdddddd));
        styler.setLegendBorderColor(new Color(0xbbbbbb));
        styler.setXAxisDecimalPattern("#");
        styler.setAntiAlias(true);
        double[] x = new double[curves.steps() + 1];
        for (int t = 0; t < x.length; t++) {
            x[t] = t;
        }
        for (int i = 0; i < names.size(); i++) {
            // The band's outline: upper edge left to right, then lower edge right to left. The
            // lower edge's x values are shifted by a negligible 1e-6 step: when all x values of a
            // chart are equally spaced, XChart labels every few steps and ignores the tick
            // spacing hint; with these the axis gets round tick steps.
            List<Estimate> curve = curveList.get(i);
            int n = curve.size();
            double[] outlineX = new double[2 * n];
            double[] outlineY = new double[2 * n];
            for (int t = 0; t < n; t++) {
                Estimate e = curve.get(t);
                outlineX[t] = t;
                outlineY[t] = e.mean() + e.stderr();
                outlineX[2 * n - 1 - t] = t + 1e-6;
                outlineY[2 * n - 1 - t] = Math.max(e.mean() - e.stderr(), floor);
            }
            Color color = PALETTE[i % PALETTE.length];
            XYSeries band = chart.addSeries(names.get(i) + " (±1 SE)", outlineX, outlineY);
            band.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.PolygonArea);
            band.setMarker(SeriesMarkers.NONE);
            band.setFillColor(new Color(color.getRed(), color.getGreen(), color.getBlue(),
                    BAND_ALPHA));
            band.setLineColor(new Color(0, 0, 0, 0));
            band.setShowInLegend(false);
        }
        // Lines after all bands, so that no band covers a line.
        for (int i = 0; i < names.size(); i++) {
            double[] mean = curveList.get(i).stream().mapToDouble(Estimate::mean).toArray();
            XYSeries line = chart.addSeries(names.get(i), x.clone(), mean);
            line.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            line.setMarker(SeriesMarkers.NONE);
            line.setLineColor(PALETTE[i % PALETTE.length]);
            line.setLineWidth(2f);
        }
        return chart;
    }

    /**
     * Writes a chart as PNG.
     *
     * @throws IOException if the file cannot be written
     */
    public static void writePng(XYChart chart, Path file) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
        }
    }

    /**
     * Writes a chart as SVG.
     *
     * @throws IOException if the file cannot be written
     */
    public static void writeSvg(XYChart chart, Path file) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            VectorGraphicsEncoder.saveVectorGraphic(chart, out,
                    VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
        }
    }
}
