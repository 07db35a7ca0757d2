package org.l2l4j.cli;

import java.util.List;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.Precision;
import picocli.CommandLine.Option;

/**
 * {@code --precision}: the arithmetic of the learned optimizer's gate products ({@link Precision};
 * l2l.h, "Precision"). Meta-training ({@code train}, {@code main}) runs in float32 unless it is
 * given, and the checkpoint records it; an evaluation runs each checkpoint in the precision it
 * records unless it is given.  Both backends run both precisions.
 */
final class PrecisionOption {
    @Option(names = "--precision", paramLabel = "P",
            description = "The LSTM's gate products: FLOAT32, or BF16_PRODUCTS (bfloat16 operands with float32 sums; "
                    + "run by the AVX-512 BF16 unit where the processor has one, by the tensor cores on CUDA) (default: "
                    + "FLOAT32 for meta-training; for an evaluation the precision each checkpoint records).")
    Precision precision;

    /** config in the chosen precision, or as it is. */
    LstmConfig apply(LstmConfig config) {
        return precision == null ? config : config.withPrecision(precision);
    }

    /** The checkpoint in the chosen precision, or as it records. */
    OptimizerCheckpoint apply(OptimizerCheckpoint checkpoint) {
        return precision == null ? checkpoint : checkpoint.withPrecision(precision);
    }

    /** The option as a command repeats it: none when not given. */
    List<String> args() {
        return precision == null ? List.of() : List.of("--precision", precision.name());
    }
}
