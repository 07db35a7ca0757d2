package org.l2l4j.lstm;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The parameter groups of a learned optimizer, in order, and the layout of its phi: the
 * concatenation of every group's phi (group 0 first, each in its own {@link PhiLayout}), the one
 * vector that meta-training's meta-optimizer updates (DESIGN: "one meta-optimizer updates the
 * concatenation").  A tensor belongs to the first group whose rule matches its name.
 *
 * @param list the groups, at least one, with distinct names
 */
public record ParameterGroups(List<ParameterGroup> list) implements Serializable {
    /**
     * @throws NullPointerException     if the list or an entry is null
     * @throws IllegalArgumentException if there is no group, two share a name, or a group follows
     *                                  one whose rule has the pattern {@code *} (it could own nothing)
     */
    public ParameterGroups {
        list = List.copyOf(list);
        if (list.isEmpty()) {
            throw new IllegalArgumentException("a learned optimizer needs at least one parameter group");
        }
        Set<String> names = new HashSet<>();
        for (int g = 0; g < list.size(); g++) {
            if (!names.add(list.get(g).name())) {
                throw new IllegalArgumentException("two parameter groups are named '" + list.get(g).name() + "'");
            }
            if (g > 0 && list.get(g - 1).rule().patterns().contains("*")) {
                throw new IllegalArgumentException("parameter group '" + list.get(g).name() + "' follows '"
                        + list.get(g - 1).name() + "', whose rule takes every tensor: it could never own one");
            }
        }
    }

    /** The paper's plain optimizer: one group, {@link ParameterGroup#single}, of every tensor. */
    public static ParameterGroups single(LstmConfig config) {
        return new ParameterGroups(List.of(ParameterGroup.single(config)));
    }

    /**
     * The paper's CIFAR-10 optimizer (section 3.3): one LSTM for the convolution kernels (group
     * {@code conv}, rule {@code conv*.weight}) and one for every other parameter (group {@code fc}:
     * the fully connected layers and the batch-norm scales and shifts), both of {@code config}.
     */
    public static ParameterGroups convolutionAndRest(LstmConfig config) {
        return new ParameterGroups(List.of(new ParameterGroup("conv", TensorRule.parse("conv*.weight"), config),
                new ParameterGroup("fc", TensorRule.ALL, config)));
    }

    /**
     * Groups written as text, every group with the architecture {@code config}: {@code single}
     * ({@link #single}), {@code conv,fc} ({@link #convolutionAndRest}), or comma-separated
     * {@code NAME=RULE} entries in order, such as {@code "kernels=conv*.weight|fc.weight,rest=*"}
     * ({@link TensorRule#parse}).
     *
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if the text is none of these, naming the problem
     */
    public static ParameterGroups parse(String text, LstmConfig config) {
        Objects.requireNonNull(config, "config");
        String t = Objects.requireNonNull(text, "text").strip();
        if (t.equals("single")) {
            return single(config);
        }
        if (t.equals("conv,fc")) {
            return convolutionAndRest(config);
        }
        List<ParameterGroup> groups = new ArrayList<>();
        for (String entry : t.split(",", -1)) {
            int eq = entry.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("parameter groups are 'single', 'conv,fc' or NAME=RULE,...; '"
                        + entry.strip() + "' has no '='");
            }
            groups.add(new ParameterGroup(entry.substring(0, eq).strip(), TensorRule.parse(entry.substring(eq + 1)
                    .strip()), config));
        }
        return new ParameterGroups(groups);
    }

    /**
     * Whether this is the plain optimizer, {@link #single}: one group named {@value ParameterGroup#ALL}
     * that takes every tensor (the form of a checkpoint without groups).
     */
    public boolean isSingle() {
        ParameterGroup only = list.get(0);
        return list.size() == 1 && only.rule().equals(TensorRule.ALL) && only.name().equals(ParameterGroup.ALL);
    }

    /**
     * These groups with every group's gate products in {@code precision} (their phi is
     * unchanged: any phi runs in either precision).
     *
     * @throws NullPointerException if precision is null
     */
    public ParameterGroups withPrecision(Precision precision) {
        Objects.requireNonNull(precision, "precision");
        return new ParameterGroups(list.stream()
                .map(g -> new ParameterGroup(g.name(), g.rule(), g.config().withPrecision(precision))).toList());
    }

    /** The number of groups. */
    public int count() {
        return list.size();
    }

    /** Group g. */
    public ParameterGroup get(int g) {
        return list.get(g);
    }

    /** The group's names, in order. */
    public List<String> names() {
        return list.stream().map(ParameterGroup::name).toList();
    }

    /**
     * The group of each tensor: the index of the first group whose rule matches its name.
     *
     * @param tensors the tensors' names
     * @return the group index of each tensor
     * @throws IllegalArgumentException naming the first tensor that no rule matches
     */
    public int[] assign(List<String> tensors) {
        int[] out = new int[tensors.size()];
        for (int k = 0; k < out.length; k++) {
            out[k] = groupOf(tensors.get(k));
            if (out[k] < 0) {
                List<String> rules = new ArrayList<>();
                for (ParameterGroup g : list) {
                    rules.add(g.name() + ": " + g.rule());
                }
                throw new IllegalArgumentException("tensor '" + tensors.get(k) + "' matches no parameter group's rule "
                        + rules);
            }
        }
        return out;
    }

    /** The index of the first group whose rule matches {@code tensor}, or -1. */
    public int groupOf(String tensor) {
        for (int g = 0; g < list.size(); g++) {
            if (list.get(g).rule().matches(tensor)) {
                return g;
            }
        }
        return -1;
    }

    /** Where group g's phi starts in the concatenation. */
    public int phiOffset(int g) {
        int offset = 0;
        for (int i = 0; i < g; i++) {
            offset += list.get(i).config().phiLayout().size();
        }
        return offset;
    }

    /** The length of the concatenation of every group's phi. */
    public int phiSize() {
        return phiOffset(list.size());
    }

    @Override
    public String toString() {
        return list.toString();
    }
}
