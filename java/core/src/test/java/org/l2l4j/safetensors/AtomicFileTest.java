package org.l2l4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A write that fails halfway through the file leaves the previous file and no temporary file. */
class AtomicFileTest {
    @TempDir
    Path dir;

    @Test
    void aWriteFailingHalfwayLeavesThePreviousFileAndNoTemporaryFile() throws IOException {
        Path target = dir.resolve("state.safetensors");
        Safetensors.write(target, Map.of("x", Tensor.ofFloats(new long[] {3}, new float[] {1, 2, 3})), Map.of());
        byte[] before = Files.readAllBytes(target);
        IOException diskFull = new IOException("no space left on device");
        IOException e = assertThrows(IOException.class, () -> AtomicFile.write(target, out -> {
            out.write(ByteBuffer.wrap(new byte[before.length / 2]));
            throw diskFull;
        }));
        assertSame(diskFull, e);
        assertArrayEquals(before, Files.readAllBytes(target));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(target), s.toList());
        }
        assertArrayEquals(new float[] {1, 2, 3}, Safetensors.read(target).tensor("x").toFloatArray());
    }
}
