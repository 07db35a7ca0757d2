package org.l2l4j.cli;

import java.util.List;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.BackendKind;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.Precision;
import picocli.CommandLine.Option;

/**
 * {@code --precision}: the arithmetic of the learned optimizer's gate products while it is
 * meta-trained and evaluated ({@link Precision}; l2l.h, "Precision"). The checkpoint records it
 * as a recommendation.
 */
final class PrecisionOption {
    @Option(names = "--precision", paramLabel = "P",
            description = "The LSTM's gate products: FLOAT32, or BF16_PRODUCTS (bfloat16 operands with float32 sums; "
                    + "run by the AVX-512 BF16 unit where the processor has one; CPU backend only) "
                    + "(default: ${DEFAULT-VALUE}).")
    Precision precision = Precision.FLOAT32;

    /** config in the chosen precision. */
    LstmConfig apply(LstmConfig config) {
        return config.withPrecision(precision);
    }

    /** The option as a command repeats it: none for the default. */
    List<String> args() {
        return precision == Precision.FLOAT32 ? List.of() : List.of("--precision", precision.name());
    }

    /** Refuses bfloat16 products on a backend that does not run them (CUDA). */
    void check(CliCommand command, Backend backend) {
        if (precision != Precision.FLOAT32 && backend.kind() != BackendKind.CPU) {
            throw command.invalid("--precision " + precision + " runs on the CPU backend only, and this machine uses "
                    + backend.kind() + ": leave out --precision");
        }
    }
}
