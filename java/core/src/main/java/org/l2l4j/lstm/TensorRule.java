package org.l2l4j.lstm;

import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Which tensors a parameter group owns, by name: one or more glob patterns, a tensor belonging to
 * the rule when its whole name matches one of them.  In a pattern, {@code *} stands for any run of
 * characters (dots included) and {@code ?} for one character; every other character stands for
 * itself, so a plain tensor name selects that tensor alone.  Written as text, the patterns are
 * separated by {@code |}: {@code "conv*.weight"} (every convolution kernel of a network named as
 * PyTorch names its modules), {@code "fc1.weight|fc1.bias"}, {@code "*"} (everything).
 *
 * @param patterns the patterns, at least one, none empty or containing {@code |}
 */
public record TensorRule(List<String> patterns) implements Serializable {
    /** The rule that takes every tensor. */
    public static final TensorRule ALL = new TensorRule(List.of("*"));

    /**
     * @throws NullPointerException     if patterns or one of them is null
     * @throws IllegalArgumentException if there is none, or one is empty or contains '|' or
     *                                  whitespace
     */
    public TensorRule {
        patterns = List.copyOf(patterns);
        if (patterns.isEmpty()) {
            throw new IllegalArgumentException("a tensor rule needs at least one pattern");
        }
        for (String p : patterns) {
            if (p.isEmpty() || p.contains("|") || !p.strip().equals(p) || p.chars().anyMatch(Character::isWhitespace)) {
                throw new IllegalArgumentException("invalid tensor pattern '" + p
                        + "': patterns are non-empty, without '|' or whitespace");
            }
        }
    }

    /**
     * The rule written as {@link #toString()} writes it: patterns separated by {@code |}.
     *
     * @throws NullPointerException     if text is null
     * @throws IllegalArgumentException if a pattern is empty or holds whitespace
     */
    public static TensorRule parse(String text) {
        Objects.requireNonNull(text, "text");
        return new TensorRule(Arrays.asList(text.split("\\|", -1)));
    }

    /** Whether the tensor named {@code name} belongs to this rule. */
    public boolean matches(String name) {
        Objects.requireNonNull(name, "name");
        for (String p : patterns) {
            if (regex(p).matcher(name).matches()) {
                return true;
            }
        }
        return false;
    }

    private static Pattern regex(String glob) {
        StringBuilder b = new StringBuilder();
        for (String literal : glob.split("(?=[*?])|(?<=[*?])")) {
            switch (literal) {
                case "*" -> b.append(".*");
                case "?" -> b.append('.');
                default -> b.append(Pattern.quote(literal));
            }
        }
        return Pattern.compile(b.toString(), Pattern.DOTALL);
    }

    /** The patterns separated by {@code |}, as {@link #parse} reads them. */
    @Override
    public String toString() {
        return String.join("|", patterns);
    }
}
