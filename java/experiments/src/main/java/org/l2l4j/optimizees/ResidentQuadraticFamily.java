package org.l2l4j.optimizees;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Objects;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.BackendKind;
import org.l2l4j.backend.NativeBuffer;

/**
 * A {@link QuadraticFamily} evaluated in place on a CPU backend's buffers: each quadratic reads
 * its parameters from, and writes its gradient and loss into, the backend's host memory, so
 * that a learned-optimizer step on quadratics copies nothing.  The same functions and the same
 * arithmetic as {@link Quadratic#lossAndGradient(float[], float[])} (double precision, the
 * gradient rounded to float once, then multiplied by the gradient scale in float), so the same
 * bits.  Quadratics hold no data set: this family allocates nothing and its {@link #close()} does
 * nothing.  Made by {@link QuadraticFamily#residentOn(Backend)}.
 */
final class ResidentQuadraticFamily implements ResidentFamily {
    private final QuadraticFamily family;
    private final Backend backend;

    /** @throws IllegalArgumentException if {@code backend} is not a CPU backend */
    ResidentQuadraticFamily(QuadraticFamily family, Backend backend) {
        this.family = Objects.requireNonNull(family, "family");
        this.backend = Objects.requireNonNull(backend, "backend");
        if (backend.kind() != BackendKind.CPU) {
            throw new IllegalArgumentException("quadratics are evaluated in place on a CPU backend only");
        }
    }

    @Override
    public String name() {
        return family.name();
    }

    @Override
    public int dimension() {
        return family.dimension();
    }

    @Override
    public List<ParameterTensor> tensors() {
        return family.tensors();
    }

    @Override
    public boolean hasHessianVectorProducts() {
        return true;
    }

    @Override
    public Quadratic sample(long seed) {
        return family.sample(seed);
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public ResidentBatch batch(int instances) {
        return new Batch(instances);
    }

    @Override
    public void close() {
    }

    /** B quadratics evaluated one after another on host views of the backend's buffers. */
    private final class Batch extends AbstractResidentBatch {
        private Quadratic[] quadratics;
        private NativeBuffer viewed;
        private FloatBuffer thetaView;
        private NativeBuffer gradientViewed;
        private FloatBuffer gradientView;
        private NativeBuffer lossesViewed;
        private DoubleBuffer lossesView;

        Batch(int instances) {
            super(backend, instances, family.dimension());
        }

        @Override
        void begin(long[] seeds, NativeBuffer theta) {
            Quadratic[] fs = new Quadratic[instances];
            float[] theta0 = new float[dimension];
            for (int b = 0; b < instances; b++) {
                fs[b] = family.sample(seeds[b]);
                fs[b].initialParameters(theta0);
                theta.write((long) b * dimension, theta0, 0, dimension);
            }
            quadratics = fs;
        }

        @Override
        void evaluateChecked(NativeBuffer theta, NativeBuffer gradient, double gradientScale, NativeBuffer losses,
                             long lossOffset) {
            if (theta != viewed) {
                thetaView = theta.hostFloats();
                viewed = theta;
            }
            if (gradient != gradientViewed) {
                gradientView = gradient.hostFloats();
                gradientViewed = gradient;
            }
            if (losses != lossesViewed) {
                lossesView = losses.hostDoubles();
                lossesViewed = losses;
            }
            float scale = (float) gradientScale;
            for (int b = 0; b < instances; b++) {
                int offset = b * dimension;
                double f = quadratics[b].lossAndGradient(thetaView, offset, gradientView, offset);
                if (scale != 1f) {
                    for (int i = offset; i < offset + dimension; i++) {
                        gradientView.put(i, gradientView.get(i) * scale);
                    }
                }
                lossesView.put(Math.toIntExact(lossOffset + b), f);
            }
        }

        @Override
        void release() {
            viewed = null;
            gradientViewed = null;
            lossesViewed = null;
        }
    }
}
