package org.l2l4j.cli;

import java.io.PrintWriter;
import java.util.List;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.BackendKind;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.ParameterGroup;
import org.l2l4j.lstm.Precision;
import picocli.CommandLine.Option;

/**
 * {@code --precision}: the arithmetic of the learned optimizer's gate products ({@link Precision};
 * l2l.h, "Precision"). Meta-training ({@code train}, {@code main}) runs in float32 unless it is
 * given, and the checkpoint records it; an evaluation runs each checkpoint in the precision it
 * records unless it is given, and in float32 on a backend without bfloat16 kernels (CUDA).
 */
final class PrecisionOption {
    @Option(names = "--precision", paramLabel = "P",
            description = "The LSTM's gate products: FLOAT32, or BF16_PRODUCTS (bfloat16 operands with float32 sums; "
                    + "run by the AVX-512 BF16 unit where the processor has one; CPU backend only) (default: FLOAT32 "
                    + "for meta-training; for an evaluation the precision each checkpoint records, FLOAT32 on CUDA).")
    Precision precision;

    /** config in the chosen precision, or as it is. */
    LstmConfig apply(LstmConfig config) {
        return precision == null ? config : config.withPrecision(precision);
    }

    /**
     * The checkpoint in the chosen precision; without one, as it records, except that bfloat16
     * products become float32 (said on {@code out}) on a backend that does not run them.
     */
    OptimizerCheckpoint apply(OptimizerCheckpoint checkpoint, String name, Backend backend, PrintWriter out) {
        if (precision != null) {
            return checkpoint.withPrecision(precision);
        }
        boolean bf16 = checkpoint.groups().list().stream().map(ParameterGroup::config)
                .anyMatch(c -> c.precision() != Precision.FLOAT32);
        if (bf16 && !runsBf16(backend)) {
            out.println("Note: " + name + " records bfloat16 gate products, which the " + backend.kind()
                    + " backend does not run: it runs in float32.");
            return checkpoint.withPrecision(Precision.FLOAT32);
        }
        return checkpoint;
    }

    /** Whether the backend has bfloat16 kernels (the CPU backend only). */
    private static boolean runsBf16(Backend backend) {
        return backend.kind() == BackendKind.CPU;
    }

    /** The option as a command repeats it: none when not given. */
    List<String> args() {
        return precision == null ? List.of() : List.of("--precision", precision.name());
    }

    /** Refuses bfloat16 products on a backend that does not run them (CUDA). */
    void check(CliCommand command, Backend backend) {
        if (precision != null && precision != Precision.FLOAT32 && !runsBf16(backend)) {
            throw command.invalid("--precision " + precision + " runs on the CPU backend only, and this machine uses "
                    + backend.kind() + ": leave out --precision");
        }
    }
}
