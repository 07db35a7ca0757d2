package org.l2l4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Label subsets of a data set (CIFAR-5, CIFAR-2). */
class DatasetTest {

    /** Six examples of two features each; example e holds (e, 10 + e); labels 0..3. */
    private static Dataset six() {
        float[] x = new float[12];
        for (int e = 0; e < 6; e++) {
            x[2 * e] = e;
            x[2 * e + 1] = 10 + e;
        }
        return new Dataset(x, new int[] {3, 1, 0, 3, 2, 1}, 2, 4);
    }

    @Test
    void keepsTheExamplesOfTheLabelsInOrderAndRelabelsThemByPosition() {
        Dataset d = six();
        Dataset sub = d.withLabels(3, 1);
        assertEquals(2, sub.classes());
        assertEquals(4, sub.size());
        assertArrayEquals(new int[] {0, 1, 0, 1}, sub.labels(), "3 becomes 0, 1 becomes 1");
        assertArrayEquals(new float[] {0, 10, 1, 11, 3, 13, 5, 15}, sub.images());
        assertArrayEquals(new int[] {3, 1, 0, 3, 2, 1}, d.labels(), "the original is untouched");
    }

    @Test
    void badSubsetsAreRefused() {
        Dataset d = six();
        assertThrows(IllegalArgumentException.class, () -> d.withLabels(1), "one label is no classifier");
        assertThrows(IllegalArgumentException.class, () -> d.withLabels(1, 1));
        assertThrows(IllegalArgumentException.class, () -> d.withLabels(1, 4));
        assertThrows(IllegalArgumentException.class, () -> d.withLabels(-1, 2));
        assertThrows(NullPointerException.class, () -> d.withLabels((int[]) null));
        Dataset noTwos = new Dataset(new float[4], new int[] {0, 1}, 2, 3);
        assertEquals(1, noTwos.withLabels(2, 1).size(), "a label without examples is allowed beside others");
        Dataset lowLabels = new Dataset(new float[4], new int[] {0, 1}, 2, 4);
        assertThrows(IllegalArgumentException.class, () -> lowLabels.withLabels(2, 3), "no example at all");
    }
}
