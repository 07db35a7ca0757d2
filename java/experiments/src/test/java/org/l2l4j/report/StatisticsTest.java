package org.l2l4j.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StatisticsTest {

    /** Mean and standard error by the one-pass textbook formula, independent of Estimate.of. */
    private static double[] meanAndStderr(double[] x) {
        double sum = 0;
        double sumSquares = 0;
        for (double v : x) {
            sum += v;
            sumSquares += v * v;
        }
        int n = x.length;
        double variance = (sumSquares - sum * sum / n) / (n - 1);
        return new double[]{sum / n, Math.sqrt(variance) / Math.sqrt(n)};
    }

    private static double[][] randomLosses(Random rnd, int runs, int columns, double scale) {
        double[][] m = new double[runs][columns];
        for (int r = 0; r < runs; r++) {
            for (int t = 0; t < columns; t++) {
                m[r][t] = scale * Math.exp(-0.1 * t + 0.3 * rnd.nextGaussian());
            }
        }
        return m;
    }

    @Test
    void estimateOfAHandComputedSample() {
        // mean 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5; variance 5/3;
        // standard error sqrt(5/3 / 4).
        Estimate e = Estimate.of(new double[]{1, 2, 3, 4});
        assertEquals(2.5, e.mean(), 1e-15);
        assertEquals(0.6454972243679028, e.stderr(), 1e-15);
        assertEquals(4, e.samples());
    }

    @Test
    void estimateRejectsTooFewOrNonFiniteSamples() {
        assertThrows(IllegalArgumentException.class, () -> Estimate.of(new double[]{1}));
        assertThrows(IllegalArgumentException.class, () -> Estimate.of(new double[]{1, Double.NaN}));
        assertThrows(IllegalArgumentException.class, () -> new Estimate(1, -1, 3));
    }

    @Test
    void curvesMatchIndependentComputationsOnRandomData() {
        Random rnd = new Random(11);
        int runs = 7;
        int steps = 12;
        double[][] a = randomLosses(rnd, runs, steps + 1, 2.0);
        double[][] b = randomLosses(rnd, runs, steps + 1, 3.0);
        LossCurves curves = LossCurves.builder().add("a", a).add("b", b, 0.01).build();
        assertEquals(List.of("a", "b"), curves.optimizers());
        assertEquals(runs, curves.runs());
        assertEquals(steps, curves.steps());
        assertTrue(curves.learningRate("a").isEmpty());
        assertEquals(0.01, curves.learningRate("b").getAsDouble());

        List<Estimate> curve = curves.curve("a");
        assertEquals(steps + 1, curve.size());
        for (int t = 0; t <= steps; t++) {
            double[] column = new double[runs];
            for (int r = 0; r < runs; r++) {
                column[r] = a[r][t];
            }
            double[] expected = meanAndStderr(column);
            assertEquals(expected[0], curve.get(t).mean(), 1e-12);
            assertEquals(expected[1], curve.get(t).stderr(), 1e-12);
            assertEquals(runs, curve.get(t).samples());
        }

        double[] finals = new double[runs];
        double[] sums = new double[runs];
        double[] diffs = new double[runs];
        for (int r = 0; r < runs; r++) {
            finals[r] = a[r][steps];
            diffs[r] = a[r][steps] - b[r][steps];
            for (int t = 1; t <= steps; t++) {
                sums[r] += a[r][t];
            }
        }
        assertArrayEquals(finals, curves.finalLosses("a"));
        assertArrayEquals(sums, curves.lossSums("a"), 1e-12);
        assertArrayEquals(meanAndStderr(finals), new double[]{curves.finalLoss("a").mean(),
                curves.finalLoss("a").stderr()}, 1e-12);
        assertArrayEquals(meanAndStderr(sums), new double[]{curves.lossSum("a").mean(),
                curves.lossSum("a").stderr()}, 1e-12);

        PairedComparison c = curves.compareFinal("a", "b");
        double[] d = meanAndStderr(diffs);
        assertEquals(d[0], c.difference().mean(), 1e-12);
        assertEquals(d[1], c.difference().stderr(), 1e-12);
        assertEquals(d[0] < -2 * d[1], c.aBeatsB());
    }

    @Test
    void pairedComparisonOfHandComputedRuns() {
        // Final losses a = (1, 2, 3), b = (2, 2, 5): differences (-1, 0, -2), mean -1,
        // variance ((0)^2 + 1^2 + (-1)^2) / 2 = 1, standard error 1/sqrt(3) = 0.577: -1 is not
        // below -2 SE = -1.155, so no win.
        LossCurves curves = LossCurves.builder()
                .add("a", new double[][]{{9, 1}, {9, 2}, {9, 3}})
                .add("b", new double[][]{{9, 2}, {9, 2}, {9, 5}})
                .build();
        PairedComparison c = curves.compareFinal("a", "b");
        assertEquals(-1, c.difference().mean(), 1e-15);
        assertEquals(1 / Math.sqrt(3), c.difference().stderr(), 1e-15);
        assertFalse(c.aBeatsB());
        assertFalse(c.bBeatsA(), "a difference within 2 SE is a tie either way");
        // b = (2.5, 3, 4.5): differences (-1.5, -1, -1.5), mean -4/3, standard error
        // sqrt((1/36 + 1/9 + 1/36) / 2 / 3) = 0.1667: a wins.
        LossCurves wins = LossCurves.builder()
                .add("a", new double[][]{{9, 1}, {9, 2}, {9, 3}})
                .add("b", new double[][]{{9, 2.5}, {9, 3}, {9, 4.5}})
                .build();
        PairedComparison w = wins.compareFinal("a", "b");
        assertEquals(-4.0 / 3, w.difference().mean(), 1e-15);
        assertEquals(1.0 / 6, w.difference().stderr(), 1e-15);
        assertTrue(w.aBeatsB());
        assertFalse(w.bBeatsA());
        assertFalse(wins.compareFinal("b", "a").aBeatsB());
        assertTrue(wins.compareFinal("b", "a").bBeatsA());
        assertEquals("a", wins.best(wins::finalLoss));
    }

    @Test
    void copiesInputsAndValidatesArguments() {
        double[][] m = {{3, 2, 1}, {3, 2.5, 1.5}};
        LossCurves curves = LossCurves.builder().add("x", m).build();
        m[0][2] = 100;
        assertEquals(1, curves.losses("x")[0][2]);
        curves.losses("x")[0][2] = 100;
        assertEquals(1, curves.finalLosses("x")[0]);

        assertThrows(IllegalArgumentException.class, () -> LossCurves.builder().build());
        assertThrows(IllegalArgumentException.class,
                () -> LossCurves.builder().add("x", new double[][]{{1, 2}}));
        assertThrows(IllegalArgumentException.class,
                () -> LossCurves.builder().add("x", new double[][]{{1}, {2}}));
        assertThrows(IllegalArgumentException.class,
                () -> LossCurves.builder().add("x", new double[][]{{1, 2}, {1, 2, 3}}));
        assertThrows(IllegalArgumentException.class,
                () -> LossCurves.builder().add("x", new double[][]{{1, 2}, {1, Double.NaN}}));
        assertThrows(IllegalArgumentException.class, () -> LossCurves.builder()
                .add("x", new double[][]{{1, 2}, {1, 2}}).add("x", new double[][]{{1, 2}, {1, 2}}));
        IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                () -> LossCurves.builder().add("x", new double[][]{{1, 2}, {1, 2}})
                        .add("y", new double[][]{{1, 2}, {1, 2}, {1, 2}}));
        assertTrue(shape.getMessage().contains("3 runs x 2 losses"), shape.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LossCurves.builder()
                .add("x", new double[][]{{1, 2}, {1, 2}}, 0));
        assertThrows(IllegalArgumentException.class, () -> curves.curve("nope"));
        assertThrows(IllegalArgumentException.class, () -> curves.compareFinal("x", "x"));
    }
}
