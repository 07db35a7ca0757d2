package org.l2l4j.report;

import java.util.Objects;

/**
 * The mean of independent samples with its standard error: the sample standard deviation
 * (divisor {@code n - 1}) over {@code sqrt(n)}.
 *
 * @param mean    sample mean
 * @param stderr  standard error of the mean
 * @param samples number of samples, at least 2
 */
public record Estimate(double mean, double stderr, int samples) {

    /**
     * @throws IllegalArgumentException if {@code samples < 2} or {@code stderr} is negative
     */
    public Estimate {
        if (samples < 2) {
            throw new IllegalArgumentException("a standard error needs at least 2 samples, got "
                    + samples);
        }
        if (!(stderr >= 0)) {
            throw new IllegalArgumentException("standard error must be >= 0, got " + stderr);
        }
    }

    /**
     * Mean and standard error of the samples (two passes, for accuracy).
     *
     * @throws IllegalArgumentException if there are fewer than 2 samples or one is not finite
     */
    public static Estimate of(double[] samples) {
        Objects.requireNonNull(samples, "samples");
        if (samples.length < 2) {
            throw new IllegalArgumentException("a standard error needs at least 2 samples, got "
                    + samples.length);
        }
        double sum = 0;
        for (double x : samples) {
            if (!Double.isFinite(x)) {
                throw new IllegalArgumentException("sample " + x + " is not finite");
            }
            sum += x;
        }
        double mean = sum / samples.length;
        double squares = 0;
        for (double x : samples) {
            squares += (x - mean) * (x - mean);
        }
        double variance = squares / (samples.length - 1);
        return new Estimate(mean, Math.sqrt(variance / samples.length), samples.length);
    }
}
