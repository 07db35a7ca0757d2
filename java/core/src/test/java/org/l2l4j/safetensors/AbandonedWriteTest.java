package org.l2l4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.l2l4j.process.JavaProcess;

/**
 * A process stopped with SIGINT in the middle of a write, whose shutdown hook calls
 * {@link AtomicFile#abandonWrites}, leaves the previous file and no temporary file (a shutdown
 * does not run the writing thread's cleanup, so without the hook the temporary file stays).
 */
class AbandonedWriteTest {
    @TempDir
    Path dir;

    /** Writes {@code args[0]}/state.safetensors, then starts a second write that stalls halfway. */
    public static void main(String[] args) throws IOException, InterruptedException {
        Path target = Path.of(args[0], "state.safetensors").toAbsolutePath();
        Safetensors.write(target, Map.of("x", Tensor.ofFloats(new long[] {3}, new float[] {1, 2, 3})), Map.of());
        Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println("abandoned "
                + AtomicFile.abandonWrites(Duration.ofMillis(200)))));
        AtomicFile.write(target, out -> {
            out.write(ByteBuffer.wrap(new byte[100]));
            System.out.println("writing");
            try {
                Thread.sleep(Long.MAX_VALUE);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    @Test
    void sigintDuringAWriteLeavesThePreviousFileAndNoTemporaryFile() throws Exception {
        Path data = Files.createDirectory(dir.resolve("data"));
        try (JavaProcess p = JavaProcess.start(dir, dir.resolve("logs"), Map.of(), AbandonedWriteTest.class.getName(),
                List.of(data.toString()))) {
            p.awaitCondition(() -> p.stdout().contains("writing"), Duration.ofSeconds(60), "stalled write");
            assertEquals(2, files(data).size(), "the write in progress has its temporary file");
            assertEquals(130, p.interrupt(Duration.ofSeconds(30)), p.stderr());
            assertTrue(p.stdout().contains("abandoned [" + data.toAbsolutePath().resolve("state.safetensors") + "]"),
                    p.stdout());
        }
        assertEquals(List.of("state.safetensors"), files(data));
        assertArrayEquals(new float[] {1, 2, 3},
                Safetensors.read(data.resolve("state.safetensors")).tensor("x").toFloatArray());
    }

    private static List<String> files(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }
}
