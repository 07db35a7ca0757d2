package org.l2l4j.optimizees;

import java.util.Objects;
import java.util.Optional;
import java.util.SplittableRandom;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.BackendKind;

/**
 * The paper's synthetic quadratics (Andrychowicz et al. 2016, section 3.1):
 * f(theta) = ||W theta - y||^2 with W an n x n matrix and y in R^n, n = 10 by default.
 *
 * <p>Each seed gives one function: W and y are drawn IID from the family's {@link Distribution}
 * (standard Gaussian in the paper, U[0,1) in the authors' reference code), and
 * theta_0 ~ N(0, 0.01^2) per coordinate (the reference code; the paper does not state it).
 * Quadratics are deterministic: every evaluation of the same function at the same theta returns
 * the same loss and gradient.
 *
 * <p>Sampling costs n^2 + 2n random draws and no other work, so many instances (a meta-batch, or
 * the reference code's 128 functions) are obtained by sampling many seeds.  Thread-safe.
 */
public final class QuadraticFamily implements OptimizeeFamily {

    /** Default n: W is 10 x 10 (paper section 3.1). */
    public static final int DEFAULT_DIMENSION = 10;

    /** Standard deviation of each coordinate of theta_0 (reference code). */
    public static final double INITIAL_STD = 0.01;

    /** The distribution of every entry of W and y. */
    public enum Distribution {
        /** IID standard Gaussian N(0, 1): the paper (default). */
        GAUSSIAN,
        /** IID uniform U[0, 1): the authors' reference code. */
        UNIFORM
    }

    private final int dimension;
    private final Distribution distribution;

    /** The paper's setup: n = 10, W and y IID standard Gaussian. */
    public QuadraticFamily() {
        this(DEFAULT_DIMENSION, Distribution.GAUSSIAN);
    }

    /**
     * @param dimension    n, the size of theta and y (W is n x n); at least 1
     * @param distribution distribution of the entries of W and y
     * @throws IllegalArgumentException if {@code dimension < 1}
     * @throws NullPointerException     if {@code distribution} is null
     */
    public QuadraticFamily(int dimension, Distribution distribution) {
        if (dimension < 1) {
            throw new IllegalArgumentException("dimension must be >= 1, got " + dimension);
        }
        if (distribution == null) {
            throw new NullPointerException("distribution");
        }
        this.dimension = dimension;
        this.distribution = distribution;
    }

    /** {@code "quadratic-<n>-gaussian"} or {@code "quadratic-<n>-uniform"}. */
    @Override
    public String name() {
        return "quadratic-" + dimension + "-" + distribution.name().toLowerCase(java.util.Locale.ROOT);
    }

    @Override
    public int dimension() {
        return dimension;
    }

    /** The distribution of the entries of W and y. */
    public Distribution distribution() {
        return distribution;
    }

    /**
     * The function for {@code seed}.  Draws, from one stream keyed by the seed, W row-major,
     * then y, then theta_0; the same seed always gives the same function.
     */
    @Override
    public Quadratic sample(long seed) {
        SplittableRandom random = new SplittableRandom(seed).split();
        int n = dimension;
        double[] w = new double[n * n];
        double[] y = new double[n];
        for (int i = 0; i < w.length; i++) {
            w[i] = draw(random);
        }
        for (int i = 0; i < n; i++) {
            y[i] = draw(random);
        }
        float[] theta0 = new float[n];
        for (int i = 0; i < n; i++) {
            theta0[i] = (float) (INITIAL_STD * random.nextGaussian());
        }
        return new Quadratic(w, y, theta0);
    }

    /**
     * On a CPU backend, this family evaluated in place on the backend's host memory
     * ({@link ResidentQuadraticFamily}: the same bits as the host path, without the copies); empty
     * on CUDA, where the quadratics are evaluated on the host.
     */
    /** Quadratics have exact Hessian-vector products, 2 W^T W v ({@link Quadratic#hessianVectorProduct}). */
    @Override
    public boolean hasHessianVectorProducts() {
        return true;
    }

    @Override
    public Optional<ResidentFamily> residentOn(Backend backend) {
        Objects.requireNonNull(backend, "backend");
        return backend.kind() == BackendKind.CPU ? Optional.of(new ResidentQuadraticFamily(this, backend))
                : Optional.empty();
    }

    private double draw(SplittableRandom random) {
        return distribution == Distribution.GAUSSIAN ? random.nextGaussian() : random.nextDouble();
    }
}
