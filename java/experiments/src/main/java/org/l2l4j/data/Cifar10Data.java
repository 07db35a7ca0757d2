package org.l2l4j.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * CIFAR-10 (Krizhevsky 2009) in memory, read from the official binary layout, as three splits
 * ({@link Split}): {@link Split#TRAIN} is {@code data_batch_1.bin} to {@code data_batch_4.bin},
 * {@link Split#VALIDATION} is {@code data_batch_5.bin}, {@link Split#TEST} is
 * {@code test_batch.bin}.
 *
 * <p>Layout of the files: each is a sequence of {@value #RECORD_BYTES}-byte records, a label byte
 * (0..9) followed by the 32x32 image as 1,024 red, then 1,024 green, then 1,024 blue bytes, rows
 * top to bottom; {@code batches.meta.txt} names the classes, one per line, in label order.  The
 * official files hold 10,000 records each; any positive whole number of records is read.
 *
 * <p>Examples: {@value #FEATURES} features each in that channel-major order (CHW: feature
 * {@code c * 1024 + y * 32 + x} is channel c, row y, column x), each byte divided by 255f into
 * [0, 1] (DESIGN.md section 2: pixels /255); labels 0..9.
 *
 * <p>Sources: {@link #load(Path)} takes the unpacked folder {@code cifar-10-batches-bin/} or the
 * official archive {@code cifar-10-binary.tar.gz} from https://www.cs.toronto.edu/~kriz/cifar.html
 * (170,052,171 bytes), whose MD5 it checks ({@value #ARCHIVE_MD5}); the archive is read without
 * being unpacked.  Nothing is downloaded.
 *
 * <p>Memory: about 740 MB as floats (60,000 examples), plus the files' 180 MB of bytes while reading.
 */
public final class Cifar10Data {

    /** Image height and width in pixels. */
    public static final int SIDE = 32;
    /** Colour channels (red, green, blue). */
    public static final int CHANNELS = 3;
    /** Features per example: 3 x 32 x 32, channel-major. */
    public static final int FEATURES = CHANNELS * SIDE * SIDE;
    /** Number of classes. */
    public static final int CLASSES = 10;
    /** Bytes per record: one label byte and the image. */
    public static final int RECORD_BYTES = 1 + FEATURES;
    /** The folder the official archive unpacks to. */
    public static final String FOLDER = "cifar-10-batches-bin";
    /** MD5 of the official archive {@code cifar-10-binary.tar.gz}, as its web page gives it. */
    public static final String ARCHIVE_MD5 = "c32a1d4ab5d03f1284b67883e8d87530";
    /** The file that names the classes. */
    public static final String META_FILE = "batches.meta.txt";

    /** The batch files of each split, in the order their records are read. */
    private static final Map<Split, List<String>> SPLIT_FILES = new EnumMap<>(Map.of(
            Split.TRAIN, List.of("data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin"),
            Split.VALIDATION, List.of("data_batch_5.bin"),
            Split.TEST, List.of("test_batch.bin")));
    private static final String WHERE = "; give the folder " + FOLDER + " or the official archive"
            + " cifar-10-binary.tar.gz (https://www.cs.toronto.edu/~kriz/cifar.html)";

    /**
     * Where the data came from.
     *
     * @param path     the folder or archive read (absolute)
     * @param verified whether it was the archive and its MD5 is the official archive's
     */
    public record Source(Path path, boolean verified) {
        /** One line for reports: the path and whether the archive's checksum was verified. */
        public String description() {
            return verified ? "CIFAR-10 from " + path + " (MD5 of the official archive verified)"
                    : "CIFAR-10 binary files from " + path + " (checksums not verified)";
        }
    }

    private final Map<Split, Dataset> splits;
    private final List<String> classNames;
    private final Source source;

    private Cifar10Data(Map<Split, Dataset> splits, List<String> classNames, Source source) {
        this.splits = splits;
        this.classNames = classNames;
        this.source = source;
    }

    /**
     * Reads CIFAR-10 from the unpacked folder (holding the six batch files and
     * {@value #META_FILE}) or from the official gzipped tar archive, which must have the official
     * MD5 and hold those files under {@value #FOLDER}/.
     *
     * @param path a folder or a {@code .tar.gz} file
     * @return the three splits and the class names
     * @throws NullPointerException     if path is null
     * @throws DataUnavailableException if nothing is at path, a file is missing (from the folder
     *                                  or the archive), or the archive's MD5 is not the official
     *                                  archive's (a damaged download or another file)
     * @throws CifarFormatException     if a file is malformed (see that exception)
     * @throws IOException              if a file cannot be read, or the archive is corrupt or
     *                                  truncated
     */
    public static Cifar10Data load(Path path) throws IOException {
        return load(path, ARCHIVE_MD5);
    }

    /** {@link #load(Path)} with the archive's expected MD5 given (tests use small archives). */
    static Cifar10Data load(Path path, String archiveMd5) throws IOException {
        Objects.requireNonNull(path, "path");
        Map<String, byte[]> files;
        boolean verified = false;
        if (Files.isDirectory(path)) {
            files = new HashMap<>();
            for (String name : fileNames()) {
                Path file = path.resolve(name);
                if (!Files.isRegularFile(file)) {
                    throw new DataUnavailableException("the CIFAR-10 folder " + path + " lacks " + name + WHERE);
                }
                files.put(name, Files.readAllBytes(file));
            }
        } else if (Files.isRegularFile(path)) {
            files = readArchive(path, archiveMd5);
            verified = true;
        } else {
            throw new DataUnavailableException("there is no CIFAR-10 data at " + path + WHERE);
        }
        String folder = Files.isDirectory(path) ? path.toString() : path + "!" + FOLDER;
        Map<Split, Dataset> splits = new EnumMap<>(Split.class);
        for (Map.Entry<Split, List<String>> split : SPLIT_FILES.entrySet()) {
            List<byte[]> bytes = new ArrayList<>();
            List<String> names = new ArrayList<>();
            for (String name : split.getValue()) {
                bytes.add(files.get(name));
                names.add(folder + "/" + name);
            }
            splits.put(split.getKey(), dataset(bytes, names));
        }
        List<String> classes = classNames(files.get(META_FILE), folder + "/" + META_FILE);
        return new Cifar10Data(splits, classes, new Source(path.toAbsolutePath().normalize(), verified));
    }

    /**
     * One split.
     *
     * @throws NullPointerException if {@code split} is null
     */
    public Dataset split(Split split) {
        return splits.get(Objects.requireNonNull(split, "split"));
    }

    /** The 10 class names, in label order ({@code airplane}, {@code automobile}, ...). */
    public List<String> classNames() {
        return classNames;
    }

    /** Where the data came from. */
    public Source source() {
        return source;
    }

    /** Every file read: the batches of the three splits and the class names. */
    private static List<String> fileNames() {
        List<String> names = new ArrayList<>();
        SPLIT_FILES.values().forEach(names::addAll);
        names.add(META_FILE);
        return names;
    }

    /** The files of {@link #fileNames()} from the archive, after checking its MD5. */
    private static Map<String, byte[]> readArchive(Path archive, String expectedMd5) throws IOException {
        MessageDigest md5;
        try {
            md5 = MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform provides MD5", e);
        }
        try (InputStream in = new DigestInputStream(Files.newInputStream(archive), md5)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        String actual = HexFormat.of().formatHex(md5.digest());
        if (!actual.equals(expectedMd5)) {
            throw new DataUnavailableException(archive + ": MD5 " + actual + " is not the official"
                    + " cifar-10-binary.tar.gz's (" + expectedMd5 + "): a damaged or partial download,"
                    + " or another file" + WHERE);
        }
        List<String> wanted = fileNames();
        Map<String, byte[]> files = new HashMap<>();
        TarGz.read(archive, name -> name.startsWith(FOLDER + "/") && wanted.contains(name.substring(FOLDER.length() + 1)),
                (name, content) -> files.put(name.substring(FOLDER.length() + 1), content.readAllBytes()));
        for (String name : wanted) {
            if (!files.containsKey(name)) {
                throw new DataUnavailableException(archive + " lacks " + FOLDER + "/" + name + WHERE);
            }
        }
        return files;
    }

    /** The records of the given files, in order, as one data set. */
    private static Dataset dataset(List<byte[]> files, List<String> names) throws CifarFormatException {
        int count = 0;
        for (int f = 0; f < files.size(); f++) {
            count += records(files.get(f), names.get(f));
        }
        float[] images = new float[count * FEATURES];
        int[] labels = new int[count];
        int e = 0;
        for (int f = 0; f < files.size(); f++) {
            byte[] bytes = files.get(f);
            for (int r = 0; r < bytes.length / RECORD_BYTES; r++, e++) {
                int at = r * RECORD_BYTES;
                int label = bytes[at] & 0xFF;
                if (label >= CLASSES) {
                    throw new CifarFormatException(names.get(f), "record " + r + " (byte " + at + ") has label "
                            + label + ", not a class 0.." + (CLASSES - 1) + " (a garbled file, or not CIFAR-10's layout)");
                }
                labels[e] = label;
                for (int j = 0; j < FEATURES; j++) {
                    images[e * FEATURES + j] = (bytes[at + 1 + j] & 0xFF) / 255f;
                }
            }
        }
        return new Dataset(images, labels, FEATURES, CLASSES);
    }

    /** The number of records in a file, checking that it is a positive whole number. */
    private static int records(byte[] bytes, String name) throws CifarFormatException {
        if (bytes.length == 0 || bytes.length % RECORD_BYTES != 0) {
            throw new CifarFormatException(name, bytes.length + " bytes is not a positive whole number of "
                    + RECORD_BYTES + "-byte records (a truncated or damaged file)");
        }
        return bytes.length / RECORD_BYTES;
    }

    /** The 10 non-empty lines of batches.meta.txt (trailing blank lines are allowed). */
    private static List<String> classNames(byte[] bytes, String name) throws CifarFormatException {
        List<String> names = new ArrayList<>();
        for (String line : new String(bytes, StandardCharsets.UTF_8).split("\r?\n")) {
            if (!line.isBlank()) {
                names.add(line.strip());
            }
        }
        if (names.size() != CLASSES) {
            throw new CifarFormatException(name, "names " + names.size() + " classes, expected " + CLASSES
                    + " non-empty lines");
        }
        return List.copyOf(names);
    }
}
