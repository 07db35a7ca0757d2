/*
 * mlp_math.h -- the per-element math of the MLP optimizee kernels (l2l.h, "optimizee kernels"),
 * written once for both backends (host and device inline functions).
 *
 * Activations follow l2l_activation; the sigmoid is lstm_math.h's, on float (its numerical
 * contract is stated there).  Comparisons are written so that NaN propagates: ReLU is z < 0 ? 0 : z, whose
 * NaN input stays NaN, and its derivative keeps a NaN output.
 */
#ifndef L2L_MLP_MATH_H
#define L2L_MLP_MATH_H

#include "l2l.h"
#include "lstm_math.h"

namespace l2l {

L2L_HD float activate(int32_t activation, float z) {
    if (activation == L2L_ACTIVATION_SIGMOID) return sigmoid(z);
    if (activation == L2L_ACTIVATION_RELU) return z < 0.0f ? 0.0f : z;
    return z;
}

/* act'(z) written in terms of a = act(z). */
L2L_HD float activation_derivative(int32_t activation, float a) {
    if (activation == L2L_ACTIVATION_SIGMOID) return a * (1.0f - a);
    if (activation == L2L_ACTIVATION_RELU) return a > 0.0f ? 1.0f : (a == a ? 0.0f : a);
    return 1.0f;
}

/* One row of the softmax cross-entropy (l2l_mlp_softmax_cross_entropy): returns the row's loss
 * log sum_j exp(z_j) - z_label in float64 and writes d_j = grad_scale (softmax(z)_j - [j = label])
 * into d (which may alias z).  With m = max_j z_j and s = log sum_j exp(z_j - m), the loss is
 * s - (z_label - m) and softmax(z)_j = exp(z_j - m - s): no division (which CUDA makes a call).
 * A label outside [0, classes) gives a NaN loss and NaN gradients. */
L2L_HD double softmax_cross_entropy_row(const float* z, int32_t classes, int32_t label,
                                        double grad_scale, float* d) {
    const bool valid = label >= 0 && label < classes;
    double m = z[0];
    for (int32_t j = 1; j < classes; ++j) {
        const double v = z[j];
        m = (v > m || v != v) ? v : m; /* NaN wins */
    }
    double sum = 0.0;
    for (int32_t j = 0; j < classes; ++j) sum += exp((double)z[j] - m);
    const double s = log(sum);
    const double nan = NAN;
    const double loss = valid ? s - ((double)z[label] - m) : nan;
    for (int32_t j = 0; j < classes; ++j) {
        const double p = exp((double)z[j] - m - s);
        d[j] = valid ? (float)(grad_scale * (j == label ? p - 1.0 : p)) : (float)nan;
    }
    return loss;
}

} // namespace l2l

#endif
