package org.l2l4j.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;

/**
 * MNIST in memory, as three splits ({@link Split}): 784 features
 * per example (28x28 pixels, row-major, each byte divided by 255f into [0, 1]) and labels 0..9.
 *
 * <p>{@link #load(Path)} reads the four files named in {@link MnistFile} from a folder (each raw
 * or gzipped) and verifies their SHA-256; {@link #loadUnverified(Path)} skips the verification,
 * for other IDX data sets with the same names and layout (for example Fashion-MNIST).
 * {@link MnistFetcher#load()} fetches and caches the files first.
 *
 * <p>{@link #source()} says where the files came from and whether they were verified, for
 * reports.
 *
 * <p>Memory: the original files take about 220 MB as floats.
 */
public final class MnistData {

    /** Image height and width in pixels. */
    public static final int SIDE = 28;
    /** Features per example: 28 * 28 pixels. */
    public static final int FEATURES = SIDE * SIDE;
    /** Number of classes (digits 0..9). */
    public static final int CLASSES = 10;
    /** Number of examples at the end of the training file held out as {@link Split#VALIDATION}. */
    public static final int VALIDATION_SIZE = 10_000;

    /**
     * Where the data came from.
     *
     * @param folder   the folder the four IDX files were read from (absolute), or null for data
     *                 made in memory
     * @param verified whether every file's SHA-256 is that of the original MNIST file
     */
    public record Source(Path folder, boolean verified) {
        /** A short name for titles: "MNIST" if verified, else "IDX data (FOLDER NAME)" or "data in memory". */
        public String title() {
            if (verified) {
                return "MNIST";
            }
            return folder == null ? "data in memory" : "IDX data (" + folder.getFileName() + ")";
        }

        /** One line for reports: the folder and whether the checksums were verified. */
        public String description() {
            if (folder == null) {
                return "data made in memory";
            }
            return verified ? "MNIST from " + folder + " (SHA-256 of the four files verified)"
                    : "IDX files from " + folder + " (checksums not verified: not necessarily MNIST)";
        }
    }

    private final Map<Split, Dataset> splits = new EnumMap<>(Split.class);
    private final Source source;

    /**
     * Wraps three data sets, for example small synthetic ones in tests; {@link #source()} is
     * data in memory.
     *
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if their numbers of features or classes differ
     */
    public MnistData(Dataset train, Dataset validation, Dataset test) {
        this(train, validation, test, new Source(null, false));
    }

    private MnistData(Dataset train, Dataset validation, Dataset test, Source source) {
        this.source = source;
        splits.put(Split.TRAIN, Objects.requireNonNull(train, "train"));
        splits.put(Split.VALIDATION, Objects.requireNonNull(validation, "validation"));
        splits.put(Split.TEST, Objects.requireNonNull(test, "test"));
        for (Dataset d : splits.values()) {
            if (d.features() != train.features() || d.classes() != train.classes()) {
                throw new IllegalArgumentException("splits differ in shape: train has "
                        + train.features() + " features and " + train.classes() + " classes, another "
                        + d.features() + " and " + d.classes());
            }
        }
    }

    /**
     * Loads MNIST from a folder holding the four files of {@link MnistFile}, each either raw
     * ({@code train-images-idx3-ubyte}) or gzipped ({@code train-images-idx3-ubyte.gz}; the raw file
     * wins if both exist), and verifies the SHA-256 of each file's uncompressed content.
     *
     * @param folder the folder
     * @return the three splits
     * @throws DataUnavailableException if the folder or a file is missing, or a checksum differs
     *                                  (a damaged file, or another data set: read those with
     *                                  {@link #loadUnverified(Path)})
     * @throws IdxFormatException       if a file is not well-formed IDX, is not unsigned bytes,
     *                                  images are not 28x28, image and label counts differ, a label
     *                                  is not in 0..9, or the training file has no more than
     *                                  {@link #VALIDATION_SIZE} examples
     * @throws IOException              if a file cannot be read
     */
    public static MnistData load(Path folder) throws IOException {
        return load(folder, true);
    }

    /**
     * Like {@link #load(Path)}, without the checksum verification: for other IDX data sets of the
     * same names and layout (unsigned-byte images of 28x28, unsigned-byte labels 0..9).
     *
     * @throws DataUnavailableException if the folder or a file is missing
     * @throws IdxFormatException       as for {@link #load(Path)}
     * @throws IOException              if a file cannot be read
     */
    public static MnistData loadUnverified(Path folder) throws IOException {
        return load(folder, false);
    }

    /** Where the data came from. */
    public Source source() {
        return source;
    }

    /**
     * One split.
     *
     * @throws NullPointerException if {@code split} is null
     */
    public Dataset split(Split split) {
        return splits.get(Objects.requireNonNull(split, "split"));
    }

    private static MnistData load(Path folder, boolean verify) throws IOException {
        Objects.requireNonNull(folder, "folder");
        if (!Files.isDirectory(folder)) {
            throw new DataUnavailableException("the MNIST folder " + folder + " does not exist; it must hold the"
                    + " four IDX files (raw or .gz)");
        }
        Map<MnistFile, Path> paths = new EnumMap<>(MnistFile.class);
        for (MnistFile f : MnistFile.values()) {
            paths.put(f, f.locate(folder).orElseThrow(() -> new DataUnavailableException("the MNIST folder "
                    + folder + " lacks " + f.fileName() + " (raw or .gz); it must hold the four IDX files")));
        }
        Map<MnistFile, IdxArray> arrays = new EnumMap<>(MnistFile.class);
        for (MnistFile f : MnistFile.values()) {
            Path path = paths.get(f);
            MessageDigest digest = MnistFile.newSha256();
            arrays.put(f, IdxReader.read(path, digest));
            if (verify) {
                MnistFile.checkSha256(path, f.sha256(), HexFormat.of().formatHex(digest.digest()),
                        "not the original MNIST file");
            }
        }
        Path trainImages = paths.get(MnistFile.TRAIN_IMAGES);
        Path trainLabels = paths.get(MnistFile.TRAIN_LABELS);
        int n = checkPair(arrays.get(MnistFile.TRAIN_IMAGES), trainImages,
                arrays.get(MnistFile.TRAIN_LABELS), trainLabels);
        if (n <= VALIDATION_SIZE) {
            throw new IdxFormatException(trainImages.toString(), "holds " + n + " examples; the"
                    + " training file needs more than the " + VALIDATION_SIZE + " held out for validation");
        }
        int m = checkPair(arrays.get(MnistFile.TEST_IMAGES), paths.get(MnistFile.TEST_IMAGES),
                arrays.get(MnistFile.TEST_LABELS), paths.get(MnistFile.TEST_LABELS));
        return new MnistData(
                dataset(arrays.get(MnistFile.TRAIN_IMAGES), arrays.get(MnistFile.TRAIN_LABELS),
                        trainLabels, 0, n - VALIDATION_SIZE),
                dataset(arrays.get(MnistFile.TRAIN_IMAGES), arrays.get(MnistFile.TRAIN_LABELS),
                        trainLabels, n - VALIDATION_SIZE, n),
                dataset(arrays.get(MnistFile.TEST_IMAGES), arrays.get(MnistFile.TEST_LABELS),
                        paths.get(MnistFile.TEST_LABELS), 0, m),
                new Source(folder.toAbsolutePath().normalize(), verify));
    }

    /** Checks the layout of an image file and its label file; returns the number of examples. */
    private static int checkPair(IdxArray images, Path imagesPath, IdxArray labels, Path labelsPath)
            throws IdxFormatException {
        if (images.type() != IdxType.UNSIGNED_BYTE || images.rank() != 3
                || images.dim(1) != SIDE || images.dim(2) != SIDE) {
            throw new IdxFormatException(imagesPath.toString(), "holds " + images
                    + ", expected UNSIGNED_BYTE images of dims Nx" + SIDE + "x" + SIDE);
        }
        if (labels.type() != IdxType.UNSIGNED_BYTE || labels.rank() != 1) {
            throw new IdxFormatException(labelsPath.toString(), "holds " + labels
                    + ", expected UNSIGNED_BYTE labels of dims N");
        }
        if (images.dim(0) != labels.dim(0)) {
            throw new IdxFormatException(imagesPath.toString(), "holds " + images.dim(0)
                    + " images, but " + labelsPath + " holds " + labels.dim(0) + " labels");
        }
        return images.dim(0);
    }

    /** Examples {@code [from, to)} of a checked image/label pair, pixels divided by 255f. */
    private static Dataset dataset(IdxArray images, IdxArray labels, Path labelsPath, int from, int to)
            throws IdxFormatException {
        float[] x = images.toFloats(from * FEATURES, to * FEATURES);
        for (int i = 0; i < x.length; i++) {
            x[i] /= 255f;
        }
        try {
            return new Dataset(x, labels.toInts(from, to), FEATURES, CLASSES);
        } catch (IllegalArgumentException e) {
            throw new IdxFormatException(labelsPath.toString(), "in examples [" + from + ", " + to
                    + "): " + e.getMessage(), e);
        }
    }
}
