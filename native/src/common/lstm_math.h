/*
 * lstm_math.h -- the per-coordinate math of the coordinatewise LSTM optimizer, written once
 * for both backends (host and device inline functions).  See l2l.h for the equations.
 *
 * Transcendentals: exp is evaluated by range reduction, e^x = 2^k e^r with |r| <= ln(2)/2, and
 * e^r = 1 + r + r^2 P(r) with P of degree 3 fitted for the least maximum relative error
 * (relative error of exp below 2e-7 on [-87, 88], measured in float32 against float64), made
 * only of multiply-adds and bit operations, so that CPU loops over coordinates vectorize without
 * -ffast-math and the GPU computes the same values.  sigmoid and tanh are built on it (absolute
 * error below 3e-7).  The CPU kernels evaluate the same formulas on whole SIMD vectors
 * (cpu_kernels.inc), sharing the constants and exp_reduced below; for the preprocessing's
 * logarithm they use their own polynomial (vlog there) where this file calls logf.
 * Comparisons are written so that NaN propagates (x < a ? a : x keeps NaN).
 */
#ifndef L2L_LSTM_MATH_H
#define L2L_LSTM_MATH_H

#include <stdint.h>
#include <string.h>
#include <float.h>
#include <math.h>

#if defined(__CUDACC__)
#define L2L_HD __host__ __device__ __forceinline__
#else
#define L2L_HD static inline __attribute__((always_inline))
#endif

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

/* Constants of the exp range reduction: the clamp, 1/ln 2, the 1.5 * 2^23 shifter whose low
 * mantissa bits then hold round(x / ln 2), and ln 2 split in two (Cody-Waite) so that k ln 2 is
 * subtracted exactly. */
constexpr float kExpMax = 88.0f;
constexpr float kExpMin = -87.0f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kExpShifter = 12582912.0f;
constexpr int32_t kExpShifterBits = 0x4B400000;
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;

/* e^r = 1 + r + r^2 P(r) for |r| <= ln(2)/2 (relative error below 2e-7 in float32), for a float
 * or a GCC vector of floats. */
template <class F>
L2L_HD F exp_reduced(F r) {
    F p = r * 8.312526158988476e-3f + 4.1890114545822144e-2f;
    p = p * r + 1.6667114198207855e-1f;
    p = p * r + 4.99992311000824e-1f;
    return p * (r * r) + r + 1.0f;
}

/* e^x for float x: +Inf above 88 and 0 below -87 (as expf, whose limits are 88.72 and -103.97),
 * so that sigmoid(-Inf) = 0 and 0 * Inf gives NaN as in IEEE arithmetic; NaN propagates.  Only
 * sigmoid(z < -88), below 6e-39, differs from a saturating exp: tanh and sigmoid(z > 87) do not. */
L2L_HD float expf_poly(float x) {
    const float above = x > kExpMax ? INFINITY : 1.0f;
    const float below = x < kExpMin ? 0.0f : 1.0f;
    x = x > kExpMax ? kExpMax : x;
    x = x < kExpMin ? kExpMin : x;
    const float t = x * kLog2e + kExpShifter;
    const int32_t k = float_bits(t) - kExpShifterBits;
    const float kf = t - kExpShifter;
    const float r = (x - kf * kLn2Hi) - kf * kLn2Lo;
    return exp_reduced(r) * bits_float((k + 127) << 23) * above * below;
}

L2L_HD float sigmoidf(float z) { return 1.0f / (1.0f + expf_poly(-z)); }

L2L_HD float tanhf_poly(float z) { return 1.0f - 2.0f / (expf_poly(2.0f * z) + 1.0f); }

/* Preprocessing: writes u[0..in_0). Paper appendix A; see l2l.h. */
struct Preprocess {
    int32_t kind;       /* l2l_preprocessing */
    int32_t log_eps;    /* 1: log(|x| + 2^-23) */
    float inv_p;        /* 1 / p */
    float exp_p;        /* e^p */
};

L2L_HD void preprocess(const Preprocess& pp, float x, float* u0, float* u1) {
    if (pp.kind == 0) {
        *u0 = x;
        return;
    }
    float ax = fabsf(x);
    if (pp.log_eps) {
        ax = ax + 1.1920929e-7f;
    } else {
        ax = ax < FLT_MIN ? FLT_MIN : ax;
    }
    float l = logf(ax) * pp.inv_p;
    *u0 = l < -1.0f ? -1.0f : l;
    float s = x * pp.exp_p;
    s = s > 1.0f ? 1.0f : s;
    *u1 = s < -1.0f ? -1.0f : s;
}

/* d u / d x for the preprocessing, given the same x: writes (du0/dx, du1/dx). */
L2L_HD void preprocess_derivative(const Preprocess& pp, float x, float* d0, float* d1) {
    if (pp.kind == 0) {
        *d0 = 1.0f;
        return;
    }
    float ax = fabsf(x);
    float a = pp.log_eps ? ax + 1.1920929e-7f : (ax < FLT_MIN ? FLT_MIN : ax);
    float l = logf(a) * pp.inv_p;
    /* d/dx log(|x| + eps) / p = sgn(x) / ((|x| + eps) p); zero where clamped at -1. */
    float sgn = x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
    *d0 = l > -1.0f ? sgn * pp.inv_p / a : 0.0f;
    float s = x * pp.exp_p;
    *d1 = (s > -1.0f && s < 1.0f) ? pp.exp_p : 0.0f;
    if (x != x) { /* NaN propagates into the derivative too */
        *d0 = x;
        *d1 = x;
    }
}

/* Activations of one LSTM unit from its four pre-activations (gate order i, f, g, o). */
struct Cell {
    float i, f, g, o, c, tc, h; /* gates, new cell, tanh(new cell), new hidden */
};

L2L_HD Cell cell_forward(float zi, float zf, float zg, float zo, float c_prev) {
    Cell s;
    s.i = sigmoidf(zi);
    s.f = sigmoidf(zf);
    s.g = tanhf_poly(zg);
    s.o = sigmoidf(zo);
    s.c = s.f * c_prev + s.i * s.g;
    s.tc = tanhf_poly(s.c);
    s.h = s.o * s.tc;
    return s;
}

/* Gradients of one unit: from dL/dh' and dL/dc' (carried) to the four pre-activation
 * gradients and dL/dc (previous cell). */
struct CellGrad {
    float dzi, dzf, dzg, dzo, dc_prev;
};

L2L_HD CellGrad cell_backward(const Cell& s, float c_prev, float dh, float dc_next) {
    CellGrad d;
    const float dc = dc_next + dh * s.o * (1.0f - s.tc * s.tc);
    d.dzo = dh * s.tc * s.o * (1.0f - s.o);
    d.dzi = dc * s.g * s.i * (1.0f - s.i);
    d.dzg = dc * s.i * (1.0f - s.g * s.g);
    d.dzf = dc * c_prev * s.f * (1.0f - s.f);
    d.dc_prev = dc * s.f;
    return d;
}

L2L_HD bool is_finite(float x) { return (float_bits(x) & 0x7f800000) != 0x7f800000; }

} // namespace l2l

#endif
