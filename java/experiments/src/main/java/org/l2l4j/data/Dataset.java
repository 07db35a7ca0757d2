package org.l2l4j.data;

import java.util.Objects;

/**
 * A labelled image data set held in memory: {@code size} examples of {@code features} float
 * pixels each (row-major, example-major: example {@code e}, feature {@code j} at
 * {@code images[e * features + j]}), with class labels in {@code [0, classes)}.
 *
 * <p>MNIST pixels are bytes scaled by 1/255 into [0, 1] ({@link MnistData}).
 */
public record Dataset(float[] images, int[] labels, int features, int classes) {

    public Dataset {
        Objects.requireNonNull(images, "images");
        Objects.requireNonNull(labels, "labels");
        if (features < 1) {
            throw new IllegalArgumentException("features must be >= 1, got " + features);
        }
        if (classes < 2) {
            throw new IllegalArgumentException("classes must be >= 2, got " + classes);
        }
        if ((long) labels.length * features != images.length) {
            throw new IllegalArgumentException("images hold " + images.length + " values, but "
                    + labels.length + " labels x " + features + " features need "
                    + (long) labels.length * features);
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= classes) {
                throw new IllegalArgumentException("label " + labels[i] + " of example " + i
                        + " is outside [0, " + classes + ")");
            }
        }
    }

    /** Number of examples. */
    public int size() {
        return labels.length;
    }

    /** Examples {@code [from, to)} as a new data set (copies). */
    public Dataset slice(int from, int to) {
        Objects.checkFromToIndex(from, to, size());
        float[] x = new float[(to - from) * features];
        System.arraycopy(images, from * features, x, 0, x.length);
        int[] y = new int[to - from];
        System.arraycopy(labels, from, y, 0, y.length);
        return new Dataset(x, y, features, classes);
    }
}
