package org.l2l4j.optimizees;

import java.util.Arrays;
import java.util.Objects;

/**
 * One named parameter tensor of an optimizee: where its values lie in the flat parameter vector
 * theta, and its shape (row-major, PyTorch's order of dimensions and names, such as
 * {@code conv1.weight} of shape [16, 3, 5, 5]).
 *
 * @param name   the tensor's name, non-empty
 * @param shape  its dimensions, each at least 1; stored as a copy
 * @param offset index of its first value in theta, at least 0
 */
public record ParameterTensor(String name, int[] shape, int offset) {

    /**
     * @throws NullPointerException     if name or shape is null
     * @throws IllegalArgumentException if name is empty, a dimension is below 1 or offset is negative
     */
    public ParameterTensor {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("a tensor name must not be empty");
        }
        shape = Objects.requireNonNull(shape, "shape").clone();
        for (int d : shape) {
            if (d < 1) {
                throw new IllegalArgumentException(name + ": every dimension must be >= 1, got " + Arrays.toString(shape));
            }
        }
        if (offset < 0) {
            throw new IllegalArgumentException(name + ": offset must be >= 0, got " + offset);
        }
    }

    /** The number of values: the product of the dimensions. */
    public int size() {
        int n = 1;
        for (int d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** The dimensions (a copy). */
    @Override
    public int[] shape() {
        return shape.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ParameterTensor t && name.equals(t.name) && Arrays.equals(shape, t.shape) && offset == t.offset;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, Arrays.hashCode(shape), offset);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape) + "@" + offset;
    }
}
