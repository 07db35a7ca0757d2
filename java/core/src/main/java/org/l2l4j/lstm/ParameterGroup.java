package org.l2l4j.lstm;

import java.io.Serializable;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One parameter group of a learned optimizer (paper section 3.3, where the CIFAR-10 optimizer has
 * one LSTM for the convolution kernels and one for the other parameters): a coordinatewise LSTM of
 * its own configuration and its own phi, shared by every coordinate of the tensors its rule
 * selects, each coordinate with its own hidden state.  A learned optimizer is an ordered list of
 * groups ({@link ParameterGroups}); a tensor belongs to the first group whose rule matches its name,
 * and a single group whose rule is {@link TensorRule#ALL} is the paper's plain optimizer.
 *
 * @param name   the group's name, also the prefix of its tensors in a checkpoint: a letter, then
 *               letters, digits or '_'
 * @param rule   the tensors it owns
 * @param config its LSTM's architecture
 */
public record ParameterGroup(String name, TensorRule rule, LstmConfig config) implements Serializable {
    /** The name of the group of a single-group optimizer. */
    public static final String ALL = "all";
    private static final Pattern NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_]*");

    /**
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if the name is not a letter followed by letters, digits
     *                                  and '_'
     */
    public ParameterGroup {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(rule, "rule");
        Objects.requireNonNull(config, "config");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("a group name is a letter followed by letters, digits and '_', got '"
                    + name + "'");
        }
    }

    /** The single group {@code all} of every tensor: the paper's optimizer with one phi. */
    public static ParameterGroup single(LstmConfig config) {
        return new ParameterGroup(ALL, TensorRule.ALL, config);
    }

    @Override
    public String toString() {
        return name + "(" + rule + "): " + config;
    }
}
