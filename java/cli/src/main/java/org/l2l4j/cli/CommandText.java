package org.l2l4j.cli;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A command line of this program as text to show the user (to continue an interrupted run):
 * the way this process was started ({@code java -jar /path/l2l4j.jar}, or the class path and main
 * class when it was not started from the jar), then the arguments, each quoted for a POSIX shell
 * where needed.
 */
final class CommandText {
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_@%+=:,./-]+");

    private CommandText() {
    }

    /** The command line that runs this program with {@code args}. */
    static String of(List<String> args) {
        List<String> words = new ArrayList<>(launcher());
        words.addAll(args);
        return words.stream().map(CommandText::quote).collect(Collectors.joining(" "));
    }

    /** {@code args} without every occurrence of {@code option}, with its value if it {@code takesValue}. */
    static List<String> without(List<String> args, String option, boolean takesValue) {
        List<String> kept = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals(option)) {
                i += takesValue ? 1 : 0;
            } else if (!(takesValue && a.startsWith(option + "="))) {
                kept.add(a);
            }
        }
        return kept;
    }

    /** The words that start this program: {@code java -jar JAR}, else {@code java -cp CLASSPATH MAIN}. */
    private static List<String> launcher() {
        try {
            Path code = Path.of(L2l4jCli.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isRegularFile(code) && code.toString().endsWith(".jar")) {
                return List.of("java", "-jar", code.toString());
            }
        } catch (URISyntaxException | SecurityException | NullPointerException e) {
            // fall back to the class path
        }
        return List.of("java", "-cp", System.getProperty("java.class.path"), L2l4jCli.class.getName());
    }

    /** {@code word}, in single quotes unless it holds only characters a shell leaves alone. */
    static String quote(String word) {
        return PLAIN.matcher(word).matches() ? word : "'" + word.replace("'", "'\\''") + "'";
    }
}
