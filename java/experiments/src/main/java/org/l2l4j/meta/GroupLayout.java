package org.l2l4j.meta;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.l2l4j.lstm.ParameterGroup;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.optimizees.OptimizeeFamily;
import org.l2l4j.optimizees.ParameterTensor;

/**
 * Where each parameter group's coordinates lie in the coordinate vector of B optimizees of one
 * family (instance b's theta at [b d, (b + 1) d)): per group, the ranges of its tensors, instance
 * after instance, adjacent ranges merged.  A group's coordinates, in this order, are the
 * coordinates its fused step and its backward record see.  With one group of every tensor this is
 * the single range [0, B d).  A group may own no tensor (a CIFAR-10 optimizer's convolution group
 * on an MLP): it then has no range and does nothing.
 */
final class GroupLayout {
    private final List<List<long[]>> ranges = new ArrayList<>();
    private final long[] coordinates;

    /**
     * Checks that every group owns at least one of the family's tensors, as meta-training needs
     * (the phi of a group without coordinates would never be trained).
     *
     * @throws IllegalArgumentException naming the first group that owns none, or a tensor that no
     *                                  rule matches
     */
    static void requireEveryGroupOwns(ParameterGroups groups, OptimizeeFamily family) {
        List<ParameterTensor> tensors = family.tensors();
        int[] groupOf = groups.assign(tensors.stream().map(ParameterTensor::name).toList());
        for (int g = 0; g < groups.count(); g++) {
            int group = g;
            if (Arrays.stream(groupOf).noneMatch(k -> k == group)) {
                ParameterGroup owner = groups.get(g);
                throw new IllegalArgumentException("parameter group '" + owner.name() + "' (rule " + owner.rule()
                        + ") owns none of the tensors of " + family.name() + " " + tensors.stream()
                        .map(ParameterTensor::name).toList() + ": its phi would never be trained");
            }
        }
    }

    /** @throws IllegalArgumentException if a tensor matches no group's rule */
    GroupLayout(ParameterGroups groups, OptimizeeFamily family, int instances) {
        List<ParameterTensor> tensors = family.tensors();
        int[] groupOf = groups.assign(tensors.stream().map(ParameterTensor::name).toList());
        long d = family.dimension();
        coordinates = new long[groups.count()];
        for (int g = 0; g < groups.count(); g++) {
            List<long[]> own = new ArrayList<>();
            for (int b = 0; b < instances; b++) {
                for (int k = 0; k < tensors.size(); k++) {
                    if (groupOf[k] != g) {
                        continue;
                    }
                    long start = b * d + tensors.get(k).offset();
                    long length = tensors.get(k).size();
                    long[] last = own.isEmpty() ? null : own.get(own.size() - 1);
                    if (last != null && last[0] + last[1] == start) {
                        last[1] += length;
                    } else {
                        own.add(new long[] {start, length});
                    }
                    coordinates[g] += length;
                }
            }
            ranges.add(own);
        }
    }

    /** Group g's ranges {start, length} in the batch's coordinate vector, in its coordinate order. */
    List<long[]> ranges(int g) {
        return ranges.get(g);
    }

    /** n_g, group g's coordinates (0 when it owns no tensor). */
    long coordinates(int g) {
        return coordinates[g];
    }

    /** Whether group g's coordinates are one range from 0 (then its vectors are the batch's own). */
    boolean whole(int g) {
        return ranges.get(g).size() == 1 && ranges.get(g).get(0)[0] == 0;
    }

    /** For group g, the batch coordinate of each of its coordinates, in its order. */
    int[] batchIndices(int g) {
        int[] out = new int[Math.toIntExact(coordinates[g])];
        int j = 0;
        for (long[] r : ranges.get(g)) {
            for (long i = 0; i < r[1]; i++) {
                out[j++] = Math.toIntExact(r[0] + i);
            }
        }
        return out;
    }
}
