package org.l2l4j.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * A small data set in MNIST's layout (four raw IDX files of 28x28 images and labels 0-9) for
 * tests of the MNIST problem: just enough training examples for a training split beside the
 * 10,000 held out for validation.
 */
final class TinyIdxData {
    static final int TRAIN = 10_000 + 64;
    static final int TEST = 32;

    private TinyIdxData() {
    }

    /** Writes the four files into {@code folder} (created) and returns it. */
    static Path write(Path folder) throws IOException {
        Files.createDirectories(folder);
        Random random = new Random(5);
        write(folder.resolve("train-images-idx3-ubyte"), images(random, TRAIN), 3, TRAIN, 28, 28);
        write(folder.resolve("train-labels-idx1-ubyte"), labels(random, TRAIN), 1, TRAIN);
        write(folder.resolve("t10k-images-idx3-ubyte"), images(random, TEST), 3, TEST, 28, 28);
        write(folder.resolve("t10k-labels-idx1-ubyte"), labels(random, TEST), 1, TEST);
        return folder;
    }

    private static byte[] images(Random random, int count) {
        byte[] pixels = new byte[count * 784];
        random.nextBytes(pixels);
        return pixels;
    }

    private static byte[] labels(Random random, int count) {
        byte[] labels = new byte[count];
        for (int i = 0; i < count; i++) {
            labels[i] = (byte) random.nextInt(10);
        }
        return labels;
    }

    /** An IDX file of unsigned bytes: magic 0x0000 0x08 rank, big-endian dims, the data. */
    private static void write(Path file, byte[] data, int rank, int... dims) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * rank + data.length);
        b.put((byte) 0).put((byte) 0).put((byte) 0x08).put((byte) rank);
        for (int d : dims) {
            b.putInt(d);
        }
        Files.write(file, b.put(data).array());
    }
}
