/*
 * lstm_math.h -- the per-coordinate math of the coordinatewise LSTM optimizer (the equations of
 * l2l.h), written once for both backends as templates over the value type F: float on the GPU
 * (kernels.cuh) and in the CPU's scalar loops, a whole SIMD register of floats (a GCC vector
 * type) in the CPU kernels (cpu_kernels.inc).  What differs between the value types is a small
 * set of primitives, Lanes<F>: defined below for float (host and device), and by
 * cpu_kernels.inc for each instruction set's vector type.
 *
 * Numerical contract (every F, every backend):
 *
 *   exp_poly(x)   x is clamped to [-87, 89], then e^x = 2^k e^r with k = round(x / ln 2) and
 *                 |r| <= ln(2)/2, e^r = 1 + r + r^2 P(r) with P of degree 3 fitted for the least
 *                 maximum relative error, and 2^k built from its exponent bits.  Relative error
 *                 below 2e-7 on [-87, 88.37) (float32 against float64).  From x = 127.5 ln 2
 *                 = 88.37 on (k = 128) the scale 2^k is +Inf, and so is the result (+Inf
 *                 included); below -87 the result stays e^-87 = 1.6e-38.
 *   log_poly(x)   for x >= FLT_MIN, +Inf or NaN (the last two returned as they are):
 *                 x = 2^e m with m in [sqrt(1/2), sqrt(2)), f = m - 1,
 *                 log(1 + f) = f - f^2/2 + f^3 P(f) with P of degree 6 fitted for the least
 *                 maximum relative error, and e ln 2 added in two parts.  Relative error below
 *                 1e-7 where |log x| > 0.1, absolute error below 4e-6 everywhere.
 *   sigmoid(z)    1 / (1 + exp_poly(-z)): absolute error below 1e-7; sigmoid(+Inf) = 1 and
 *                 sigmoid(z) = 0 from z = -88.37 down to -Inf (above, down to 6e-39; on the CPU
 *                 0 from -87.34 down: see "Subnormals" below).
 *   tanh_poly(z)  1 - 2 / (exp_poly(2z) + 1): absolute error below 2e-7; +-1 at +-Inf.
 *   NaN           propagates through every function, the preprocessing and its derivative
 *                 included: min and max return their second operand when either is NaN (x86's
 *                 MINPS and MAXPS), and every clamp is written min(bound, x) or max(bound, x).
 *
 * The formulas are made of multiply-adds, divisions and bit operations only (no reciprocal
 * estimates, no -ffast-math), so that loops over coordinates vectorize and every value type
 * computes the same float32 operations.  Where a target contracts a multiply and an add into an
 * FMA (AVX2, AVX-512, CUDA; not baseline x86-64) results differ from the unfused ones by a few
 * ulps: identical for a given backend and instruction set, not across them.
 *
 * Subnormals: the CPU backend evaluates all of this with flush-to-zero and denormals-are-zero set
 * (cpu/denormals.h; l2l.h "Floating-point mode"): a result below 2^-126 = 1.18e-38 in magnitude
 * is a zero of the same sign and a subnormal operand is read as one, so every operation is off
 * by less than 2^-126 from the IEEE result beside its rounding.  Above: sigmoid(z) is 0 from
 * z = -87.34 (-126 ln 2) down, where the quotient would be subnormal; exp_poly (at least e^-87),
 * log_poly (x >= FLT_MIN), tanh_poly and the preprocessing produce no subnormal value, and
 * abs_value, being a bit operation, keeps one, which the next arithmetic reads as 0 (so the
 * preprocessing and its derivative treat a subnormal x as x = 0; the comparisons x > 0 and
 * x < 0 read it as 0 too).  The backward pass's products of saturated gates' derivatives
 * s (1 - s) with small carried gradients are where subnormals arise in numbers.  CUDA (nvcc's
 * default -ftz=false) keeps them.
 */
#ifndef L2L_LSTM_MATH_H
#define L2L_LSTM_MATH_H

#include <stdint.h>
#include <string.h>
#include <float.h>
#include <math.h>

/* Inline on the host and the device.  Free functions are static: the CPU kernels are compiled
 * once per instruction set, and copies of one function made for different instruction sets
 * must never be merged by the linker. */
#if defined(__CUDACC__)
#define L2L_INLINE __host__ __device__ __forceinline__
#else
#define L2L_INLINE inline __attribute__((always_inline))
#endif
#define L2L_HD static L2L_INLINE

namespace l2l {

L2L_HD int32_t float_bits(float x) {
#if defined(__CUDA_ARCH__)
    return __float_as_int(x);
#else
    int32_t b;
    memcpy(&b, &x, sizeof b);
    return b;
#endif
}

L2L_HD float bits_float(int32_t b) {
#if defined(__CUDA_ARCH__)
    return __int_as_float(b);
#else
    float x;
    memcpy(&x, &b, sizeof x);
    return x;
#endif
}

L2L_HD bool is_finite(float x) { return (float_bits(x) & 0x7f800000) != 0x7f800000; }

namespace {

/* The primitives of a value type F:
 *   Int, Mask      integers of F's shape, the result of comparing two F
 *   splat(x)       x in every lane
 *   min(a, b)      a < b ? a : b, hence b when either is NaN (MINPS);  max(a, b) likewise (MAXPS)
 *   select(m, a, b) m ? a : b per lane, for F and for Int
 *   bits(x), from_bits(i)   the bit pattern of x, and back
 *   to_float(i)    i converted to float
 * In an unnamed namespace, like the vector types they are specialized for, so that each
 * translation unit (each instruction set) has its own. */
template <class F>
struct Lanes;

template <>
struct Lanes<float> {
    typedef int32_t Int;
    typedef bool Mask;
    static L2L_INLINE float splat(float x) { return x; }
    static L2L_INLINE float min(float a, float b) { return a < b ? a : b; }
    static L2L_INLINE float max(float a, float b) { return a > b ? a : b; }
    static L2L_INLINE float select(bool m, float a, float b) { return m ? a : b; }
    static L2L_INLINE int32_t select(bool m, int32_t a, int32_t b) { return m ? a : b; }
    static L2L_INLINE int32_t bits(float x) { return float_bits(x); }
    static L2L_INLINE float from_bits(int32_t i) { return bits_float(i); }
    static L2L_INLINE float to_float(int32_t i) { return (float)i; }
};

} // namespace

/* Constants of the exp range reduction: the clamp, 1/ln 2, the 1.5 * 2^23 shifter whose low
 * mantissa bits then hold round(x / ln 2), and ln 2 split in two (Cody-Waite) so that k ln 2 is
 * subtracted exactly. */
constexpr float kExpMax = 89.0f;
constexpr float kExpMin = -87.0f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kExpShifter = 12582912.0f;
constexpr int32_t kExpShifterBits = 0x4B400000;
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;

/* |x|, by clearing the sign bit (NaN stays NaN). */
template <class F>
L2L_HD F abs_value(F x) {
    typedef Lanes<F> M;
    return M::from_bits(M::bits(x) & 0x7fffffff);
}

/* e^r = 1 + r + r^2 P(r) for |r| <= ln(2)/2. */
template <class F>
L2L_HD F exp_reduced(F r) {
    F p = r * 8.312526158988476e-3f + 4.1890114545822144e-2f;
    p = p * r + 1.6667114198207855e-1f;
    p = p * r + 4.99992311000824e-1f;
    return p * (r * r) + r + 1.0f;
}

/* e^x (see the contract above). */
template <class F>
L2L_HD F exp_poly(F x) {
    typedef Lanes<F> M;
    x = M::min(M::splat(kExpMax), x);
    x = M::max(M::splat(kExpMin), x);
    const F t = x * kLog2e + kExpShifter;
    const typename M::Int k = M::bits(t) - kExpShifterBits;
    const F kf = t - kExpShifter;
    const F r = (x - kf * kLn2Hi) - kf * kLn2Lo;
    return exp_reduced(r) * M::from_bits((k + 127) << 23);
}

/* log(x) for x >= FLT_MIN, +Inf or NaN (see the contract above). */
template <class F>
L2L_HD F log_poly(F x) {
    typedef Lanes<F> M;
    const typename M::Int bits = M::bits(x);
    typename M::Int e = (bits >> 23) - 127;
    F m = M::from_bits((bits & 0x007fffff) | 0x3f800000);
    const typename M::Mask big = m > 1.41421356f;
    m = M::select(big, m * 0.5f, m);
    e = M::select(big, e + 1, e);
    const F f = m - 1.0f;
    F p = f * 8.700409531593323e-2f - 1.4267483353614807e-1f;
    p = p * f + 1.4914774894714355e-1f;
    p = p * f - 1.657758504152298e-1f;
    p = p * f + 1.9963063299655914e-1f;
    p = p * f - 2.500133812427521e-1f;
    p = p * f + 3.333390951156616e-1f;
    const F f2 = f * f;
    const F ef = M::to_float(e);
    const F r = ef * kLn2Hi + ((f2 * f * p - 0.5f * f2 + ef * kLn2Lo) + f);
    return M::select(x <= 3.40282347e+38f, r, x);
}

/* The division stays: on the AMD Zen 4 the CPU kernels were tuned on, a reciprocal estimate
 * with one Newton step measured slower with every instruction set. */
template <class F>
L2L_HD F sigmoid(F z) {
    return 1.0f / (1.0f + exp_poly(-z));
}

template <class F>
L2L_HD F tanh_poly(F z) {
    return 1.0f - 2.0f / (exp_poly(2.0f * z) + 1.0f);
}

/* Preprocessing parameters (paper appendix A; see l2l.h). */
struct Preprocess {
    int32_t kind;       /* l2l_preprocessing: 0 identity, 1 log-and-sign */
    int32_t log_eps;    /* 1: log(|x| + 2^-23) */
    float inv_p;        /* 1 / p */
    float exp_p;        /* e^p */
};

/* The LSTM input u^0 = rho(x): u0 (identity), or u0 and u1 (log-and-sign; u1 is left as it is
 * for identity). */
template <class F>
L2L_HD void preprocess(const Preprocess& pp, F x, F& u0, F& u1) {
    typedef Lanes<F> M;
    if (pp.kind == 0) {
        u0 = x;
        return;
    }
    F ax = abs_value(x);
    ax = pp.log_eps ? ax + 1.1920929e-7f : M::max(M::splat(FLT_MIN), ax);
    u0 = M::max(M::splat(-1.0f), log_poly(ax) * pp.inv_p);
    u1 = M::max(M::splat(-1.0f), M::min(M::splat(1.0f), x * pp.exp_p));
}

/* d u / d x of the preprocessing at the same x: d0 = du0/dx, d1 = du1/dx (d1 left as it is for
 * identity).  Zero where preprocess clamps (decided by the same logarithm); NaN for a NaN x. */
template <class F>
L2L_HD void preprocess_derivative(const Preprocess& pp, F x, F& d0, F& d1) {
    typedef Lanes<F> M;
    if (pp.kind == 0) {
        d0 = M::splat(1.0f);
        return;
    }
    const F ax = abs_value(x);
    const F a = pp.log_eps ? ax + 1.1920929e-7f : M::max(M::splat(FLT_MIN), ax);
    const F l = log_poly(a) * pp.inv_p;
    /* d/dx log(|x| + eps) / p = sgn(x) / ((|x| + eps) p) */
    const F sgn = M::select(x > 0.0f, M::splat(1.0f), M::select(x < 0.0f, M::splat(-1.0f), M::splat(0.0f)));
    d0 = M::select(l > -1.0f, sgn * pp.inv_p / a, M::splat(0.0f));
    const F s = x * pp.exp_p;
    d1 = M::select(s > -1.0f, M::select(s < 1.0f, M::splat(pp.exp_p), M::splat(0.0f)), M::splat(0.0f));
    const typename M::Mask nan = x != x;
    d0 = M::select(nan, x, d0);
    d1 = M::select(nan, x, d1);
}

/* Activations of one LSTM unit from its four pre-activations (gate order i, f, g, o). */
template <class F>
struct Cell {
    F i, f, g, o, c, tc, h; /* gates, new cell, tanh(new cell), new hidden */
};

template <class F>
L2L_HD Cell<F> cell_forward(F zi, F zf, F zg, F zo, F c_prev) {
    Cell<F> s;
    s.i = sigmoid(zi);
    s.f = sigmoid(zf);
    s.g = tanh_poly(zg);
    s.o = sigmoid(zo);
    s.c = s.f * c_prev + s.i * s.g;
    s.tc = tanh_poly(s.c);
    s.h = s.o * s.tc;
    return s;
}

/* Gradients of one unit: from dL/dh' and dL/dc' (carried) to the four pre-activation
 * gradients and dL/dc (previous cell).  Reads the gates and tc of s. */
template <class F>
struct CellGrad {
    F dzi, dzf, dzg, dzo, dc_prev;
};

template <class F>
L2L_HD CellGrad<F> cell_backward(const Cell<F>& s, F c_prev, F dh, F dc_next) {
    CellGrad<F> d;
    const F dc = dc_next + dh * s.o * (1.0f - s.tc * s.tc);
    d.dzo = dh * s.tc * s.o * (1.0f - s.o);
    d.dzi = dc * s.g * s.i * (1.0f - s.i);
    d.dzg = dc * s.i * (1.0f - s.g * s.g);
    d.dzf = dc * c_prev * s.f * (1.0f - s.f);
    d.dc_prev = dc * s.f;
    return d;
}

} // namespace l2l

#endif
