package org.l2l4j.cli;

import org.l2l4j.eval.Comparison;
import picocli.CommandLine.Option;

/** The size of a {@link Comparison}: paired test runs, steps per run and tuning functions. */
final class ComparisonOptions {
    /** Default number of paired test runs. */
    static final int RUNS = 64;
    /**
     * Default number of validation functions per learning-rate tuning: small, since each
     * tuning runs about a dozen learning rates for each of five baselines.
     */
    static final int TUNING_FUNCTIONS = 4;

    @Option(names = "--runs", paramLabel = "N", description = "Paired test runs (default: ${DEFAULT-VALUE}).")
    int runs = RUNS;

    @Option(names = "--steps", paramLabel = "K", description = "Steps per run (default: ${DEFAULT-VALUE}).")
    int steps = 100;

    @Option(names = "--tuning-functions", paramLabel = "N",
            description = "Validation functions per learning-rate tuning of each baseline (default: ${DEFAULT-VALUE}).")
    int tuningFunctions = TUNING_FUNCTIONS;

    void validate(CliCommand command) {
        command.atLeast("--runs", runs, 2);
        command.atLeast("--steps", steps, 1);
        command.atLeast("--tuning-functions", tuningFunctions, 1);
    }

    /** The settings, with the global seed and thread count. */
    Comparison.Settings settings(L2l4jCli root) {
        return new Comparison.Settings(runs, steps, tuningFunctions, root.seed(), root.threads());
    }
}
