package org.l2l4j.meta;

import org.l2l4j.optimizees.Optimizee;
import org.l2l4j.optimizees.OptimizeeFamily;
import org.l2l4j.optimizees.QuadraticFamily;

/**
 * Fault injection for the trainer's tests: the quadratic family, except that the optimizee of
 * one seed goes through a {@link Fault}, which sees every evaluation of it and may change the
 * result or throw.
 */
final class FaultyQuadratics implements OptimizeeFamily {
    /** What happens to the faulty optimizee {@code f}. */
    interface Fault {
        /** Writes theta_0; by default f's own. */
        default void initialParameters(Optimizee f, float[] theta) {
            f.initialParameters(theta);
        }

        /** The {@code evaluation}-th evaluation of f (1 for f(theta_0)). */
        double lossAndGradient(Optimizee f, int evaluation, float[] theta, float[] gradient);
    }

    private final QuadraticFamily base = new QuadraticFamily();
    private final String name;
    private final long faultySeed;
    private final Fault fault;

    FaultyQuadratics(String name, long faultySeed, Fault fault) {
        this.name = name;
        this.faultySeed = faultySeed;
        this.fault = fault;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int dimension() {
        return base.dimension();
    }

    @Override
    public Optimizee sample(long seed) {
        Optimizee f = base.sample(seed);
        if (seed != faultySeed) {
            return f;
        }
        return new Optimizee() {
            int evaluations;

            @Override
            public int dimension() {
                return f.dimension();
            }

            @Override
            public void initialParameters(float[] theta) {
                fault.initialParameters(f, theta);
            }

            @Override
            public double lossAndGradient(float[] theta, float[] gradient) {
                return fault.lossAndGradient(f, ++evaluations, theta, gradient);
            }
        };
    }
}
