package org.l2l4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.ntm.NtmBfgsCheckpoint;
import org.l2l4j.optimizees.Problem;
import picocli.CommandLine.Option;

/**
 * Which learned optimizer a command evaluates: {@code --optimizer FILE} (an
 * optimizer.safetensors written by train), or by default one shipped with the library: the
 * CIFAR-10 optimizer ({@link OptimizerCheckpoint#shippedCifar10()}) when the command names a
 * CIFAR problem, otherwise the MNIST optimizer ({@link OptimizerCheckpoint#shippedMnist()}).
 */
final class OptimizerSource {
    @Option(names = "--optimizer", paramLabel = "FILE",
            description = "The learned optimizer (optimizer.safetensors written by train) (default: one shipped "
                    + "with L2L4J, the CIFAR-10 optimizer for --problem cifar10, cifar5 or cifar2, otherwise the MNIST "
                    + "optimizer).")
    Path file;

    /** Whether the default is the shipped CIFAR-10 optimizer (set by {@link #defaultFor}). */
    private boolean cifar;

    /** Fails if a named file does not exist or is an NTM-BFGS optimizer (--also runs those). */
    void validate(CliCommand command) {
        if (file != null && !Files.isRegularFile(file)) {
            throw command.invalid("--optimizer: no such file: " + file);
        }
        if (file != null && NtmBfgsCheckpoint.isOne(file)) {
            throw command.invalid("--optimizer: " + file + " is an NTM-BFGS optimizer: give an LSTM with --optimizer"
                    + " and this one beside it with --also NAME=" + file);
        }
    }

    /** Chooses the shipped optimizer used without --optimizer: CIFAR-10's for a CIFAR problem. */
    void defaultFor(Problem requested) {
        cifar = requested != null && requested.isCifar();
    }

    /** The checkpoint, validated. */
    OptimizerCheckpoint load() throws IOException {
        if (file != null) {
            return OptimizerCheckpoint.load(file);
        }
        return cifar ? OptimizerCheckpoint.shippedCifar10() : OptimizerCheckpoint.shippedMnist();
    }

    /** The source, for messages. */
    String describe() {
        return file != null ? file.toString() : cifar ? "the shipped CIFAR-10 optimizer" : "the shipped MNIST optimizer";
    }
}
