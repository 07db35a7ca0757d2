package org.l2l4j.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/** Writes small CIFAR-10 folders of random records in the official binary layout, for tests of other modules. */
public final class CifarFiles {

    private CifarFiles() {
    }

    /**
     * Writes the six batch files ({@code records} random records each: labels 0..9, random pixel
     * bytes) and the class names into {@code folder} (created if needed).
     *
     * @return the folder
     */
    public static Path write(Path folder, int records, long seed) throws IOException {
        Files.createDirectories(folder);
        SplittableRandom random = new SplittableRandom(seed);
        for (String name : new String[] {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
            "data_batch_5.bin", "test_batch.bin"}) {
            byte[] bytes = new byte[records * Cifar10Data.RECORD_BYTES];
            random.nextBytes(bytes);
            for (int r = 0; r < records; r++) {
                bytes[r * Cifar10Data.RECORD_BYTES] = (byte) random.nextInt(10);
            }
            Files.write(folder.resolve(name), bytes);
        }
        Files.writeString(folder.resolve(Cifar10Data.META_FILE),
                "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n", StandardCharsets.UTF_8);
        return folder;
    }
}
