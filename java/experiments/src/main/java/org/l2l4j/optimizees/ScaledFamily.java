package org.l2l4j.optimizees;

import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Random scaling of the optimizees' parameters (Lv et al. 2017, "Learning gradient descent:
 * better generalization and longer horizons"), so that a learned optimizer does not fit the
 * gradient scale of one family: the optimizee of a seed is g(theta) = f(c * theta) for the
 * family's f of that seed and a scale c_i = exp(u_i), u_i ~ U[-kappa, kappa] for each coordinate,
 * drawn from the seed (a stream apart from f's).  Then theta_0 = theta_0^f / c (the same point
 * c * theta_0 of f), and grad g(theta) = c * grad f(c * theta): the landscape is stretched by a
 * different factor along each axis.  Evaluated on the host (no resident form).  Thread-safe if
 * the family is.
 */
public final class ScaledFamily implements OptimizeeFamily {
    /** Mixed into a seed for the scales' stream, apart from the streams the family draws. */
    private static final long SCALE_STREAM = 0x5CA1E5CA1E5CA1EL;

    private final OptimizeeFamily family;
    private final double kappa;

    /**
     * @param family the optimizees to scale
     * @param kappa  the half-width of log c's interval, finite and &gt; 0
     * @throws NullPointerException     if family is null
     * @throws IllegalArgumentException if kappa is not finite and positive
     */
    public ScaledFamily(OptimizeeFamily family, double kappa) {
        this.family = Objects.requireNonNull(family, "family");
        if (!(kappa > 0) || Double.isInfinite(kappa)) {
            throw new IllegalArgumentException("kappa must be finite and > 0, got " + kappa);
        }
        this.kappa = kappa;
    }

    @Override
    public String name() {
        return family.name() + "-scaled-" + kappa;
    }

    @Override
    public int dimension() {
        return family.dimension();
    }

    @Override
    public List<ParameterTensor> tensors() {
        return family.tensors();
    }

    /** The wrapped family's: g(theta) = f(c theta) has H_g v = c H_f (c v). */
    @Override
    public boolean hasHessianVectorProducts() {
        return family.hasHessianVectorProducts();
    }

    @Override
    public Optimizee sample(long seed) {
        Optimizee f = family.sample(seed);
        SplittableRandom random = new SplittableRandom(seed ^ SCALE_STREAM);
        float[] scale = new float[f.dimension()];
        for (int i = 0; i < scale.length; i++) {
            scale[i] = (float) Math.exp(kappa * (2 * random.nextDouble() - 1));
        }
        return new Scaled(f, scale);
    }

    /** f(c * theta). */
    private static final class Scaled implements Optimizee {
        private final Optimizee f;
        private final float[] scale;
        private final float[] point;

        Scaled(Optimizee f, float[] scale) {
            this.f = f;
            this.scale = scale;
            this.point = new float[scale.length];
        }

        @Override
        public int dimension() {
            return scale.length;
        }

        @Override
        public void initialParameters(float[] theta) {
            f.initialParameters(theta);
            for (int i = 0; i < scale.length; i++) {
                theta[i] /= scale[i];
            }
        }

        @Override
        public double lossAndGradient(float[] theta, float[] gradient) {
            if (theta.length != scale.length || gradient.length != scale.length) {
                throw new IllegalArgumentException("expected arrays of " + scale.length + " values, got "
                        + theta.length + " and " + gradient.length);
            }
            for (int i = 0; i < scale.length; i++) {
                point[i] = scale[i] * theta[i];
            }
            double loss = f.lossAndGradient(point, gradient);
            for (int i = 0; i < scale.length; i++) {
                gradient[i] *= scale[i];
            }
            return loss;
        }

        @Override
        public boolean hasHessianVectorProducts() {
            return f.hasHessianVectorProducts();
        }

        /** H_g(theta) v = c * H_f(c * theta) (c * v). */
        @Override
        public void hessianVectorProduct(long evaluation, float[] theta, float[] v, float[] out) {
            if (theta.length != scale.length || v.length != scale.length || out.length != scale.length) {
                throw new IllegalArgumentException("expected arrays of " + scale.length + " values, got "
                        + theta.length + ", " + v.length + " and " + out.length);
            }
            float[] scaledV = new float[scale.length];
            for (int i = 0; i < scale.length; i++) {
                point[i] = scale[i] * theta[i];
                scaledV[i] = scale[i] * v[i];
            }
            f.hessianVectorProduct(evaluation, point, scaledV, out);
            for (int i = 0; i < scale.length; i++) {
                out[i] *= scale[i];
            }
        }
    }
}
