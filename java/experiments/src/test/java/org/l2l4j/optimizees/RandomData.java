package org.l2l4j.optimizees;

import java.util.Random;
import org.l2l4j.data.Dataset;

/** Small random labelled data sets for tests. */
public final class RandomData {

    private RandomData() {
    }

    /** {@code size} examples with features ~ U[0, 1) (like scaled pixels) and uniform labels. */
    public static Dataset of(long seed, int size, int features, int classes) {
        Random random = new Random(seed);
        float[] images = new float[size * features];
        int[] labels = new int[size];
        for (int i = 0; i < images.length; i++) {
            images[i] = random.nextFloat();
        }
        for (int i = 0; i < size; i++) {
            labels[i] = random.nextInt(classes);
        }
        return new Dataset(images, labels, features, classes);
    }
}
