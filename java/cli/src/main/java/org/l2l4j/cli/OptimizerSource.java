package org.l2l4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.l2l4j.lstm.OptimizerCheckpoint;
import picocli.CommandLine.Option;

/**
 * Which learned optimizer a command evaluates: {@code --optimizer FILE} (an
 * optimizer.safetensors written by train), or by default the MNIST optimizer shipped with the
 * library ({@link OptimizerCheckpoint#shippedMnist()}).
 */
final class OptimizerSource {
    @Option(names = "--optimizer", paramLabel = "FILE",
            description = "The learned optimizer (optimizer.safetensors written by train) (default: the MNIST "
                    + "optimizer shipped with L2L4J).")
    Path file;

    /** Fails if a named file does not exist. */
    void validate(CliCommand command) {
        if (file != null && !Files.isRegularFile(file)) {
            throw command.invalid("--optimizer: no such file: " + file);
        }
    }

    /** The checkpoint, validated. */
    OptimizerCheckpoint load() throws IOException {
        return file != null ? OptimizerCheckpoint.load(file) : OptimizerCheckpoint.shippedMnist();
    }

    /** The source, for messages. */
    String describe() {
        return file != null ? file.toString() : "the shipped MNIST optimizer";
    }
}
