package org.l2l4j.lstm;

/**
 * The check that a call's n coordinates split into equal instances: global averaging cells
 * average over each optimizee instance's coordinates ({@link LstmConfig}).
 */
final class Instances {
    private Instances() {
    }

    /** @throws IllegalArgumentException if instances is below 1 or does not divide n */
    static void require(int instances, long coordinates) {
        if (instances < 1 || coordinates % instances != 0) {
            throw new IllegalArgumentException("instances must be >= 1 and divide the " + coordinates
                    + " coordinates, got " + instances);
        }
    }
}
