package org.l2l4j.bench;

/**
 * The check every framework or plain-Java implementation passes before it is timed: its results
 * agree with the native kernels' within a bound, measured as the project's tests measure it (the scale-free
 * error): max_i |a_i - b_i| / max_i |b_i|.
 */
final class Agreement {
    private Agreement() {
    }

    /**
     * @return the relative error of {@code actual} against {@code expected}
     * @throws IllegalStateException if it exceeds {@code bound} or is not a number
     */
    static double require(String what, double[] actual, double[] expected, double bound) {
        if (actual.length != expected.length) {
            throw new IllegalStateException(what + ": " + actual.length + " values, expected " + expected.length);
        }
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < actual.length; i++) {
            diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        double err = diff / scale;
        if (!(err <= bound)) {
            throw new IllegalStateException(what + " disagrees with the native kernels: relative error " + err
                    + " > " + bound);
        }
        System.out.printf("%s agrees with the native kernels: relative error %.2e (bound %.0e)%n", what, err, bound);
        return err;
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }
}
