package org.l2l4j.data;

import java.util.Arrays;
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

    /**
     * Checks a label subset of a data set of {@code classes} classes and gives each label's
     * position in it: position[y] = j for y = labels[j], -1 for the labels left out.
     *
     * @throws NullPointerException     if labels is null
     * @throws IllegalArgumentException if fewer than 2 labels are given, or one repeats or is
     *                                  outside [0, classes)
     */
    public static int[] labelPositions(int[] labels, int classes) {
        Objects.requireNonNull(labels, "labels");
        if (labels.length < 2) {
            throw new IllegalArgumentException("a label subset needs at least 2 labels, got " + labels.length);
        }
        int[] position = new int[classes];
        Arrays.fill(position, -1);
        for (int j = 0; j < labels.length; j++) {
            if (labels[j] < 0 || labels[j] >= classes) {
                throw new IllegalArgumentException("label " + labels[j] + " is outside [0, " + classes + ")");
            }
            if (position[labels[j]] >= 0) {
                throw new IllegalArgumentException("label " + labels[j] + " is given twice");
            }
            position[labels[j]] = j;
        }
        return position;
    }

    /**
     * The examples whose label is one of {@code labels}, in their order here, relabelled by
     * position in {@code labels} (the example of label {@code labels[j]} gets label j), with
     * {@code labels.length} classes: a data set of a label subset, such as the paper's CIFAR-5
     * and CIFAR-2 (section 3.3).  Copies.
     *
     * @throws NullPointerException     if labels is null
     * @throws IllegalArgumentException if fewer than 2 labels are given, one repeats or is
     *                                  outside [0, classes), or no example has one of them
     */
    public Dataset withLabels(int... labels) {
        int[] position = labelPositions(labels, classes);
        int count = 0;
        for (int y : this.labels) {
            if (position[y] >= 0) {
                count++;
            }
        }
        if (count == 0) {
            throw new IllegalArgumentException("no example has one of the labels " + Arrays.toString(labels));
        }
        float[] x = new float[count * features];
        int[] y = new int[count];
        int at = 0;
        for (int e = 0; e < size(); e++) {
            if (position[this.labels[e]] >= 0) {
                System.arraycopy(images, e * features, x, at * features, features);
                y[at++] = position[this.labels[e]];
            }
        }
        return new Dataset(x, y, features, labels.length);
    }
}
