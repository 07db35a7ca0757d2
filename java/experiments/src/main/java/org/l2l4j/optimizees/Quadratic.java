package org.l2l4j.optimizees;

import java.nio.FloatBuffer;
import java.util.Objects;

/**
 * One quadratic f(theta) = ||W theta - y||^2, W n x n, y in R^n (paper section 3.1), as sampled
 * by {@link QuadraticFamily}.  Gradient 2 W^T (W theta - y); Hessian 2 W^T W.  Loss and
 * gradient are computed in double precision from the float theta; the gradient is rounded to
 * float once at the end.  Deterministic (no minibatches).  Not thread-safe (it keeps a residual
 * buffer), as the {@link Optimizee} contract allows.
 */
public final class Quadratic implements Optimizee {

    private final int n;
    private final double[] w;
    private final double[] y;
    private final float[] theta0;
    private final double[] residual;

    /** Takes ownership of the arrays; see {@link QuadraticFamily#sample(long)}. */
    Quadratic(double[] w, double[] y, float[] theta0) {
        this.n = y.length;
        this.w = w;
        this.y = y;
        this.theta0 = theta0;
        this.residual = new double[n];
    }

    @Override
    public int dimension() {
        return n;
    }

    /** A copy of W, n x n row-major: W[i][j] at {@code i * n + j}. */
    public double[] matrix() {
        return w.clone();
    }

    /** A copy of y, length n. */
    public double[] target() {
        return y.clone();
    }

    /**
     * Writes theta_0 (drawn once at sampling, N(0, 0.01^2) per coordinate).
     *
     * @throws IllegalArgumentException if {@code theta.length != n}
     */
    @Override
    public void initialParameters(float[] theta) {
        checkLength(theta, "theta");
        System.arraycopy(theta0, 0, theta, 0, n);
    }

    /**
     * f(theta) = sum_i r_i^2 with r = W theta - y; writes 2 W^T r into {@code gradient}.
     *
     * @throws IllegalArgumentException if an array's length is not n
     */
    @Override
    public double lossAndGradient(float[] theta, float[] gradient) {
        checkLength(theta, "theta");
        checkLength(gradient, "gradient");
        return lossAndGradient(FloatBuffer.wrap(theta), 0, FloatBuffer.wrap(gradient), 0);
    }

    /**
     * As {@link #lossAndGradient(float[], float[])} on n values of buffers at absolute indices
     * (native memory evaluated in place: {@link ResidentQuadraticFamily}); the same arithmetic,
     * so the same bits.
     *
     * @throws IndexOutOfBoundsException if a buffer holds fewer than offset + n values
     */
    double lossAndGradient(FloatBuffer theta, int thetaOffset, FloatBuffer gradient, int gradientOffset) {
        Objects.checkFromIndexSize(thetaOffset, n, theta.limit());
        Objects.checkFromIndexSize(gradientOffset, n, gradient.limit());
        double loss = 0;
        for (int i = 0; i < n; i++) {
            double r = -y[i];
            int row = i * n;
            for (int j = 0; j < n; j++) {
                r += w[row + j] * theta.get(thetaOffset + j);
            }
            residual[i] = r;
            loss += r * r;
        }
        for (int j = 0; j < n; j++) {
            double g = 0;
            for (int i = 0; i < n; i++) {
                g += w[i * n + j] * residual[i];
            }
            gradient.put(gradientOffset + j, (float) (2 * g));
        }
        return loss;
    }

    @Override
    public boolean hasHessianVectorProducts() {
        return true;
    }

    /**
     * out = 2 W^T (W v) (the Hessian 2 W^T W depends neither on theta nor on the evaluation), in
     * double precision, rounded to float once.
     *
     * @throws IllegalArgumentException if an array's length is not n, or evaluation &lt; 0
     */
    @Override
    public void hessianVectorProduct(long evaluation, float[] theta, float[] v, float[] out) {
        if (evaluation < 0) {
            throw new IllegalArgumentException("evaluation must be >= 0, got " + evaluation);
        }
        checkLength(theta, "theta");
        checkLength(v, "v");
        checkLength(out, "out");
        double[] wv = new double[n];
        for (int i = 0; i < n; i++) {
            double sum = 0;
            for (int j = 0; j < n; j++) {
                sum += w[i * n + j] * v[j];
            }
            wv[i] = sum;
        }
        for (int j = 0; j < n; j++) {
            double sum = 0;
            for (int i = 0; i < n; i++) {
                sum += w[i * n + j] * wv[i];
            }
            out[j] = (float) (2 * sum);
        }
    }

    private void checkLength(float[] a, String what) {
        if (a == null) {
            throw new NullPointerException(what);
        }
        if (a.length != n) {
            throw new IllegalArgumentException(what + " has length " + a.length + ", expected " + n);
        }
    }
}
