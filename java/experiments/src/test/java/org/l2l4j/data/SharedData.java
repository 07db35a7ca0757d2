package org.l2l4j.data;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where tests find data sets that are not part of the repository: the folder {@code shared/data}
 * beside the repository's root (the folder holding {@code native/} and {@code java/}), or the
 * folder the system property {@code l2l4j.sharedData} names.  Tests that need such data skip,
 * saying why, when it is absent.
 */
public final class SharedData {

    private SharedData() {
    }

    /** The named data set's folder (which may not exist). */
    public static Path folder(String name) {
        String property = System.getProperty("l2l4j.sharedData");
        if (property != null) {
            return Path.of(property).resolve(name);
        }
        Path root = Path.of("").toAbsolutePath();
        while (root != null && !(Files.isDirectory(root.resolve("native")) && Files.isDirectory(root.resolve("java")))) {
            root = root.getParent();
        }
        Path base = root == null || root.getParent() == null ? Path.of("shared") : root.getParent().resolve("shared");
        return base.resolve("data").resolve(name);
    }
}
