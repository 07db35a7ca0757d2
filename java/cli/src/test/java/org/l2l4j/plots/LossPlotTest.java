package org.l2l4j.plots;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.l2l4j.report.Estimate;
import org.l2l4j.report.LossCurves;
import org.w3c.dom.Document;

class LossPlotTest {

    @TempDir
    Path dir;

    @Test
    void plotHasLogAxisBandsAndLegendAndWritesPngAndSvg() throws Exception {
        Random rnd = new Random(4);
        LossCurves.Builder builder = LossCurves.builder();
        for (String name : new String[]{"LSTM", "Adam", "SGD"}) {
            double[][] m = new double[5][31];
            for (double[] run : m) {
                for (int t = 0; t < run.length; t++) {
                    run[t] = 2.3 * Math.exp(-0.05 * t * (1 + rnd.nextDouble()));
                }
            }
            builder.add(name, m);
        }
        LossCurves curves = builder.build();
        XYChart chart = LossPlot.chart(curves, "test");
        assertTrue(chart.getStyler().isYAxisLogarithmic());
        assertEquals("test", chart.getTitle());
        assertEquals("step", chart.getXAxisTitle());
        assertEquals("loss", chart.getYAxisTitle());
        assertEquals(6, chart.getSeriesCollection().size());
        long inLegend = chart.getSeriesCollection().stream().filter(XYSeries::isShowInLegend)
                .count();
        assertEquals(3, inLegend);
        XYSeries line = chart.getSeries("Adam");
        double[] means = curves.curve("Adam").stream().mapToDouble(Estimate::mean).toArray();
        assertArrayEquals(means, line.getYData());
        XYSeries band = chart.getSeries("Adam (±1 SE)");
        assertEquals(XYSeries.XYSeriesRenderStyle.PolygonArea, band.getXYSeriesRenderStyle().orElseThrow());
        double[] upper = Arrays.copyOf(band.getYData(), 31);
        for (int t = 0; t <= 30; t++) {
            Estimate e = curves.curve("Adam").get(t);
            assertEquals(e.mean() + e.stderr(), upper[t], 1e-12);
        }

        Path png = dir.resolve("curves.png");
        Path svg = dir.resolve("curves.svg");
        LossPlot.writePng(chart, png);
        LossPlot.writeSvg(chart, svg);
        byte[] pngBytes = Files.readAllBytes(png);
        assertArrayEquals(new byte[]{(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(pngBytes, 4));
        assertTrue(Files.size(svg) > 1000);
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        Document doc = factory.newDocumentBuilder().parse(svg.toFile());
        assertEquals("svg", doc.getDocumentElement().getTagName());
    }

    @Test
    void plotRejectsNonPositiveMeans() {
        LossCurves curves = LossCurves.builder()
                .add("a", new double[][]{{1, 0}, {1, 0}})
                .build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LossPlot.chart(curves, "t"));
        assertTrue(e.getMessage().contains("step 1"), e.getMessage());
        assertFalse(e.getMessage().isEmpty());
    }
}
