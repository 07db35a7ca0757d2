/*
 * kernels.cuh -- device code of the CUDA backend: the fused step, the fused backward pass over
 * an unroll, the layer passes of models with global averaging cells, the reduction of the
 * per-chunk dphi partials, the meta-loss gradients and the finite check.  Included once, by
 * cuda_backend.cu.
 *
 * The per-coordinate math is lstm_math.h (shared with the CPU backend); the equations are in
 * l2l.h (Andrychowicz et al. 2016, section 2.1 and appendix A).
 *
 * ---------------------------------------------------------------------------------------------
 * Packed phi.  Every block stages phi into shared memory once, rearranged so that one 16-byte
 * load gives the four gate weights (i, f, g, o) that multiply the same input:
 *
 *   for each layer l, for each unit j:   K4_l float4 "columns" c = 0 .. K4_l - 1
 *       c = 0                 (b_ih + b_hh)[gate * H + j]                       (bias)
 *       c = 1 .. in           weight_ih[gate * H + j][c - 1]
 *       c = in + 1 .. in + H  weight_hh[gate * H + j][c - 1 - in]
 *       c = in + H + 1 .. K4-1  0                                              (padding)
 *   with K = 1 + in + H and K4 = K rounded up to a multiple of 4;
 *   then the output layer: [b_out, w_out[0 .. out_in), 0 padding] (round4(1 + out_in) floats).
 *
 * With the per-coordinate input row X = [1, u^{l-1}, h_prev^l, 0 ...] (K4 floats) the gate
 * pre-activations of unit j are z_j = sum_c W'[j][c] * X[c] (one float4 accumulator), and the
 * weight gradient of the layer is dW'[j][c] = sum over coordinates of dz_j * X[c]: a product of
 * the dz tile [units x 4 gates x coordinates] and the X tile [coordinates x K4], accumulated in
 * shared memory in the same packed layout and scattered back to the PyTorch layout (the bias
 * column to both b_ih and b_hh, whose gradients are equal) once per tile of coordinates.
 *
 * Shared memory never holds phi as a __constant__ global: several contexts and streams may run
 * different phi concurrently.
 */
#ifndef L2L_CUDA_KERNELS_CUH
#define L2L_CUDA_KERNELS_CUH

#include <cuda_runtime.h>
#include <stdint.h>

#include "internal.h"

namespace l2l {
namespace cuda {
namespace detail {

constexpr int kMaxTensorsPerLaunch = 32;
constexpr int kWarp = 32;
constexpr int kStepThreads = 256;      /* step kernel, fixed widths */
constexpr int kBwdFixedThreads = 128;  /* backward kernel, fixed widths: one tile of coordinates */
constexpr int kReduceSegments = 8;     /* row segments summed in parallel by the reduction */

__host__ __device__ constexpr int round4(int x) { return (x + 3) & ~3; }

/* Row stride (in floats) of per-thread float4 rows in shared memory: a multiple of 4 whose
 * quotient by 4 is odd, so that the 8 threads of a quarter warp storing or loading a float4 at
 * the same column of their own rows hit 8 distinct groups of 4 banks (no bank conflict). */
__host__ __device__ constexpr int odd_quads(int x) { return ((x >> 2) & 1) ? x : x + 4; }

/* Everything the kernels need to know about a model, flattened for a kernel parameter. */
struct Geometry {
    int32_t L;        /* LSTM layers */
    int32_t in0;      /* 1 or 2 */
    int32_t out_in;   /* inputs of the output layer */
    int32_t max_h;    /* widest layer (0 if L = 0) */
    int32_t max_k4;   /* widest packed row (0 if L = 0) */
    int32_t sum_h;    /* sum of the widths */
    int32_t in[L2L_MAX_LAYERS];
    int32_t h[L2L_MAX_LAYERS];
    int32_t k4[L2L_MAX_LAYERS];    /* packed columns per unit */
    int32_t pbase[L2L_MAX_LAYERS]; /* offset of the layer in packed phi (floats) */
    int32_t hrow[L2L_MAX_LAYERS];  /* first state row of the layer's h; c rows follow */
    int32_t hoff[L2L_MAX_LAYERS];  /* sum of the widths below the layer */
    int32_t pout;     /* offset of the output layer in packed phi */
    int32_t p4;       /* packed phi size (floats, a multiple of 4) */
    int32_t S;        /* state rows */
    int32_t R;        /* record rows */
    int64_t w_ih[L2L_MAX_LAYERS];
    int64_t w_hh[L2L_MAX_LAYERS];
    int64_t b_ih[L2L_MAX_LAYERS];
    int64_t b_hh[L2L_MAX_LAYERS];
    int64_t w_out;
    int64_t b_out;
    int64_t phi_size;
    float scale;
    Preprocess pre;
};

/* Tensor table of one step launch: coordinates [begin, end) of the shared state, tensor k
 * starting at coordinate off[k] (nonzero sizes only, offsets increasing). */
struct StepParams {
    Geometry g;
    const float* phi;
    float* state;
    float* record;
    int64_t n;
    int64_t begin;
    int64_t end;
    int32_t count;
    int32_t cs;       /* generic kernel: per-thread X row stride (floats) */
    int64_t off[kMaxTensorsPerLaunch];
    float* theta[kMaxTensorsPerLaunch];
    const float* grad[kMaxTensorsPerLaunch];
};

struct BwdParams {
    Geometry g;
    const float* phi;
    const float* record;
    const float* dloss;
    const float* dstate_final;
    float* dstate_initial;
    float* dx;
    double* partial;        /* [rows][phi_size] */
    int64_t n;
    int64_t tiles;          /* ceil(n / blockDim.x) */
    int64_t tiles_per_row;  /* tiles of blockDim.x coordinates per partial row (block) */
    int32_t steps;
    int32_t rs;             /* dz tile row stride (floats) */
    int32_t cs;             /* X tile row stride (floats) */
    int32_t osp;            /* output-layer partial row stride (floats) */
};

/* ---- small helpers -------------------------------------------------------------------- */

__device__ __forceinline__ float4 zero4() { return make_float4(0.0f, 0.0f, 0.0f, 0.0f); }

/* z += w * s, per component. */
__device__ __forceinline__ void fma4(float4& z, const float4 w, const float s) {
    z.x = fmaf(w.x, s, z.x);
    z.y = fmaf(w.y, s, z.y);
    z.z = fmaf(w.z, s, z.z);
    z.w = fmaf(w.w, s, z.w);
}

/* acc + w . d, accumulated in gate order. */
__device__ __forceinline__ float dot4_acc(const float4 w, const float4 d, float acc) {
    acc = fmaf(w.x, d.x, acc);
    acc = fmaf(w.y, d.y, acc);
    acc = fmaf(w.z, d.z, acc);
    return fmaf(w.w, d.w, acc);
}

__device__ __forceinline__ float4 add4(const float4 a, const float4 b) {
    return make_float4(a.x + b.x, a.y + b.y, a.z + b.z, a.w + b.w);
}

/* The four gate pre-activations of one unit from its packed weights w (K4 / 4 float4 columns
 * of four, see the layout above) and an X row, in column order. */
__device__ __forceinline__ float4 packed_z(const float4* w, const float4* x4, int K4) {
    float4 z = zero4();
    for (int q = 0; q < K4 / 4; ++q) {
        const float4 xv = x4[q];
        fma4(z, w[4 * q], xv.x);
        fma4(z, w[4 * q + 1], xv.y);
        fma4(z, w[4 * q + 2], xv.z);
        fma4(z, w[4 * q + 3], xv.w);
    }
    return z;
}

/* Butterfly sum over the 32 lanes; every lane receives the same, order-fixed result. */
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* Layer holding packed index e (e < g.pout). */
__device__ __forceinline__ int packed_layer(const Geometry& g, int e) {
    int l = 0;
    while (l + 1 < g.L && e >= g.pbase[l + 1]) ++l;
    return l;
}

/* The PyTorch-layout phi indices that packed index e (see the layout above) stands for: d0 and,
 * for a bias (b_ih + b_hh), d1; -1 where there is none (padding). */
__device__ __forceinline__ void packed_sources(const Geometry& g, int e, int64_t& d0, int64_t& d1) {
    d0 = -1;
    d1 = -1;
    if (e >= g.pout) {
        const int c = e - g.pout;
        if (c == 0) {
            d0 = g.b_out;
        } else if (c <= g.out_in) {
            d0 = g.w_out + (c - 1);
        }
        return;
    }
    const int l = packed_layer(g, e);
    const int local = e - g.pbase[l];
    const int gate = local & 3;
    const int f4 = local >> 2;
    const int k4 = g.k4[l];
    const int j = f4 / k4;
    const int c = f4 - j * k4;
    const int in = g.in[l];
    const int H = g.h[l];
    const int64_t r = (int64_t)gate * H + j;
    if (c == 0) {
        d0 = g.b_ih[l] + r;
        d1 = g.b_hh[l] + r;
    } else if (c <= in) {
        d0 = g.w_ih[l] + r * in + (c - 1);
    } else if (c <= in + H) {
        d0 = g.w_hh[l] + r * H + (c - 1 - in);
    }
}

/* The packed phi value at index e: the sum of its sources, 0 for padding. */
__device__ __forceinline__ float packed_value(const Geometry& g, const float* phi, int e) {
    int64_t d0, d1;
    packed_sources(g, e, d0, d1);
    if (d0 < 0) return 0.0f;
    return d1 < 0 ? phi[d0] : phi[d0] + phi[d1];
}

/* Stages packed phi into shared memory (all threads of the block; caller synchronizes). */
__device__ __forceinline__ void stage_phi(const Geometry& g, const float* phi, float* dst,
                                          int tid, int T) {
    for (int e = tid; e < g.p4; e += T) dst[e] = packed_value(g, phi, e);
}

/* Adds the block's packed dphi accumulators into its float64 partial row (PyTorch layout) and
 * clears them; first: the row is written rather than added to.  Each phi element has exactly
 * one packed source, visited by one thread, so the row needs no atomics. */
__device__ __forceinline__ void flush_partial(const Geometry& g, float* acc, double* row,
                                              bool first, int tid, int T) {
    for (int e = tid; e < g.p4; e += T) {
        const double v = (double)acc[e];
        acc[e] = 0.0f;
        int64_t d0, d1;
        packed_sources(g, e, d0, d1);
        if (d0 >= 0) row[d0] = first ? v : row[d0] + v;
        if (d1 >= 0) row[d1] = first ? v : row[d1] + v;
    }
}

/* Weight gradient of one layer for the block's tile of T coordinates:
 *     acc4[j * K4 + c] (4 gates) += sum_{k < T} As[k][j] (4 gates) * Bs[k][c]
 * As: dz rows, rs4 float4 per coordinate; Bs: X rows, cs4 float4 per coordinate.  Each thread
 * owns micro-tiles of one unit x 4 columns (16 outputs) and sums over k in increasing order:
 * the result does not depend on scheduling. */
__device__ __forceinline__ void layer_gemm(float4* acc4, const float4* As4, int rs4,
                                           const float4* Bs4, int cs4, int H, int K4, int tid,
                                           int T) {
    const int nq = K4 >> 2;
    const int tiles = H * nq;
    for (int m = tid; m < tiles; m += T) {
        const int j = m / nq;
        const int q = m - j * nq;
        float4 o0 = zero4(), o1 = zero4(), o2 = zero4(), o3 = zero4();
        const float4* a = As4 + j;
        const float4* b = Bs4 + q;
#pragma unroll 8
        for (int k = 0; k < T; ++k) {
            const float4 av = a[k * rs4];
            const float4 bv = b[k * cs4];
            fma4(o0, av, bv.x);
            fma4(o1, av, bv.y);
            fma4(o2, av, bv.z);
            fma4(o3, av, bv.w);
        }
        float4* d = acc4 + j * K4 + 4 * q;
        d[0] = add4(d[0], o0);
        d[1] = add4(d[1], o1);
        d[2] = add4(d[2], o2);
        d[3] = add4(d[3], o3);
    }
}

/* Output layer: acc_out[c] += sum over warps (in order) of the per-warp sums in Wp. */
__device__ __forceinline__ void out_update(float* acc_out, const float* Wp, int osp, int nwarps,
                                           int count, int tid, int T) {
    for (int c = tid; c < count; c += T) {
        float s = Wp[c];
        for (int w = 1; w < nwarps; ++w) s += Wp[w * osp + c];
        acc_out[c] += s;
    }
}

/* Finds the tensor of coordinate i (the last table entry starting at or before i). */
__device__ __forceinline__ void locate(const StepParams& p, int64_t i, float*& theta,
                                       const float*& grad) {
    int64_t off = p.off[0];
    float* th = p.theta[0];
    const float* gr = p.grad[0];
#pragma unroll
    for (int k = 1; k < kMaxTensorsPerLaunch; ++k) {
        if (k < p.count && i >= p.off[k]) {
            off = p.off[k];
            th = p.theta[k];
            gr = p.grad[k];
        }
    }
    theta = th + (i - off);
    grad = gr + (i - off);
}

template <int IN0>
__device__ __forceinline__ void preprocess_n(const Preprocess& pp, float x, float (&u)[IN0]) {
    if constexpr (IN0 == 1) {
        float unused = 0.0f;
        preprocess(pp, x, u[0], unused);
    } else {
        preprocess(pp, x, u[0], u[1]);
    }
}

template <int IN0>
__device__ __forceinline__ float dx_from_du(const Preprocess& pp, float x, const float (&du)[IN0]) {
    float d0 = 0.0f, d1 = 0.0f;
    preprocess_derivative(pp, x, d0, d1);
    if constexpr (IN0 == 1) {
        return du[0] * d0;
    } else {
        return fmaf(du[1], d1, du[0] * d0);
    }
}

/* =============================================================================================
 * Fixed widths: IN0 inputs, L layers of H units, everything per coordinate in registers.
 * The unit loops are not unrolled (code size); the per-unit values of register arrays are
 * reached by rotating the arrays one position per unit, so that every register index is a
 * compile-time constant.
 * ============================================================================================= */

template <int IN0, int H, int L>
struct FixedShape {
    static_assert(L >= 1 && H >= 1 && (IN0 == 1 || IN0 == 2), "fixed shape");
    static constexpr int in(int l) { return l == 0 ? IN0 : H; }
    static constexpr int K(int l) { return 1 + in(l) + H; }
    static constexpr int K4(int l) { return round4(K(l)); }
    static constexpr int pbase(int l) { return l == 0 ? 0 : pbase(l - 1) + 4 * H * K4(l - 1); }
    static constexpr int hrow(int l) { return 2 * H * l; }
    static constexpr int pout = pbase(L);
    static constexpr int osp = round4(1 + H);
    static constexpr int p4 = pout + osp;
    static constexpr int max_k4 = K4(0) > K4(L - 1) ? K4(0) : K4(L - 1);
    static constexpr int cs = odd_quads(max_k4);
    static constexpr int rs = odd_quads(4 * H);
    static constexpr int S = 2 * H * L;
    static constexpr int R = 1 + S;
};

template <int N>
__device__ __forceinline__ void rotate_left(float (&a)[N]) {
#pragma unroll
    for (int t = 0; t + 1 < N; ++t) a[t] = a[t + 1];
}

/* ---- step ---------------------------------------------------------------------------------- */

template <int IN0, int H, int L>
struct FixedStepRegs {
    float hin[H];  /* new h of the layer below: the input of the next layer */
    float dsum;    /* w_out . u^L */
};

template <int IN0, int H, int L, int l>
__device__ __forceinline__ void step_fixed_layer(FixedStepRegs<IN0, H, L>& r, const float* phi_s,
                                                 const float (&u0)[IN0], float* state,
                                                 float* record, int64_t n, int64_t i) {
    using F = FixedShape<IN0, H, L>;
    constexpr int in = F::in(l);
    constexpr int K = F::K(l);
    float xv[K];
    xv[0] = 1.0f;
#pragma unroll
    for (int c = 0; c < in; ++c) {
        if constexpr (l == 0) {
            xv[1 + c] = u0[c];
        } else {
            xv[1 + c] = r.hin[c];
        }
    }
    float* sh = state + (int64_t)F::hrow(l) * n + i;
    float* sc = sh + (int64_t)H * n;
    float cpv[H];
#pragma unroll
    for (int c = 0; c < H; ++c) {
        xv[1 + in + c] = sh[(int64_t)c * n];
        cpv[c] = sc[(int64_t)c * n];
    }
    if (record != nullptr) {
        float* rh = record + (int64_t)(1 + F::hrow(l)) * n + i;
        float* rc = rh + (int64_t)H * n;
#pragma unroll
        for (int c = 0; c < H; ++c) {
            rh[(int64_t)c * n] = xv[1 + in + c];
            rc[(int64_t)c * n] = cpv[c];
        }
    }
    const float4* w = reinterpret_cast<const float4*>(phi_s) + F::pbase(l) / 4;
#pragma unroll 1
    for (int j = 0; j < H; ++j, w += F::K4(l)) {
        float4 z = zero4();
#pragma unroll
        for (int c = 0; c < K; ++c) fma4(z, w[c], xv[c]);
        const Cell<float> cell = cell_forward(z.x, z.y, z.z, z.w, cpv[0]);
        rotate_left(cpv);
        sh[(int64_t)j * n] = cell.h;
        sc[(int64_t)j * n] = cell.c;
        if constexpr (l + 1 < L) {
            rotate_left(r.hin);
            r.hin[H - 1] = cell.h;
        } else {
            r.dsum = fmaf(phi_s[F::pout + 1 + j], cell.h, r.dsum);
        }
    }
}

template <int IN0, int H, int L, int l>
__device__ __forceinline__ void step_fixed_layers(FixedStepRegs<IN0, H, L>& r, const float* phi_s,
                                                  const float (&u0)[IN0], float* state,
                                                  float* record, int64_t n, int64_t i) {
    if constexpr (l < L) {
        step_fixed_layer<IN0, H, L, l>(r, phi_s, u0, state, record, n, i);
        step_fixed_layers<IN0, H, L, l + 1>(r, phi_s, u0, state, record, n, i);
    }
}

/* One thread per coordinate (grid-stride); dynamic shared memory: packed phi (p4 floats). */
template <int IN0, int H, int L>
__global__ void __launch_bounds__(kStepThreads) step_fixed(const StepParams p) {
    using F = FixedShape<IN0, H, L>;
    extern __shared__ float4 smem4[];
    float* phi_s = reinterpret_cast<float*>(smem4);
    stage_phi(p.g, p.phi, phi_s, threadIdx.x, blockDim.x);
    __syncthreads();
    const int64_t n = p.n;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = p.begin + (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < p.end;
         i += stride) {
        float* theta;
        const float* grad;
        locate(p, i, theta, grad);
        const float x = *grad;
        if (p.record != nullptr) p.record[i] = x;
        float u0[IN0];
        preprocess_n<IN0>(p.g.pre, x, u0);
        FixedStepRegs<IN0, H, L> r;
        r.dsum = 0.0f;
        step_fixed_layers<IN0, H, L, 0>(r, phi_s, u0, p.state, p.record, n, i);
        const float delta = p.g.scale * (r.dsum + phi_s[F::pout]);
        *theta += delta;
    }
}

/* ---- backward ------------------------------------------------------------------------------ */

template <int IN0, int H, int L>
struct FixedBwdRegs {
    float dh[L][H];                   /* carried dL/dh of each layer */
    float dc[L][H];                   /* carried dL/dc of each layer */
    float hn[L > 1 ? L - 1 : 1][H];   /* new h of the layers below the top */
    float du0[IN0];                   /* dL/du^0 of the current step */
};

struct BwdThread {
    const float* phi_s;
    float4* xrow4;     /* this coordinate's row of the X tile */
    float4* arow4;     /* this coordinate's row of the dz tile */
    float* Wp;         /* per-warp output-layer sums */
    const float* rec;  /* record of the current step */
    int64_t n;
    int64_t i;
    bool valid;
    float dD;          /* dL/d(w_out . u^L + b_out) = dL/d delta * output_scale */
    int lane;
    int warp;
};

/* Writes this coordinate's X row of layer l: [1, u^l, h_prev^l, 0 ...] (zeros if invalid). */
template <int IN0, int H, int L, int l>
__device__ __forceinline__ void fixed_xrow(const FixedBwdRegs<IN0, H, L>& r, const BwdThread& t,
                                           const float (&u0)[IN0]) {
    using F = FixedShape<IN0, H, L>;
    constexpr int in = F::in(l);
    constexpr int K = F::K(l);
    constexpr int K4 = F::K4(l);
    float xv[K4];
    xv[0] = t.valid ? 1.0f : 0.0f;
#pragma unroll
    for (int c = 0; c < in; ++c) {
        if constexpr (l == 0) {
            xv[1 + c] = t.valid ? u0[c] : 0.0f;
        } else {
            xv[1 + c] = t.valid ? r.hn[l - 1][c] : 0.0f;
        }
    }
    const float* rh = t.rec + (int64_t)(1 + F::hrow(l)) * t.n + t.i;
#pragma unroll
    for (int c = 0; c < H; ++c) xv[1 + in + c] = t.valid ? rh[(int64_t)c * t.n] : 0.0f;
#pragma unroll
    for (int c = K; c < K4; ++c) xv[c] = 0.0f;
#pragma unroll
    for (int q = 0; q < K4 / 4; ++q)
        t.xrow4[q] = make_float4(xv[4 * q], xv[4 * q + 1], xv[4 * q + 2], xv[4 * q + 3]);
}

template <int NQ>
__device__ __forceinline__ float4 unit_z(const float4* w, const float4* x) {
    float4 z = zero4();
#pragma unroll
    for (int q = 0; q < NQ; ++q) {
        const float4 xv = x[q];
        fma4(z, w[4 * q], xv.x);
        fma4(z, w[4 * q + 1], xv.y);
        fma4(z, w[4 * q + 2], xv.z);
        fma4(z, w[4 * q + 3], xv.w);
    }
    return z;
}

/* Forward recomputation of a layer below the top: new h into r.hn[l]. */
template <int IN0, int H, int L, int l>
__device__ __forceinline__ void fixed_forward_layer(FixedBwdRegs<IN0, H, L>& r, const BwdThread& t,
                                                    const float (&u0)[IN0]) {
    using F = FixedShape<IN0, H, L>;
    fixed_xrow<IN0, H, L, l>(r, t, u0);
    const float4* w = reinterpret_cast<const float4*>(t.phi_s) + F::pbase(l) / 4;
    const float* cprow = t.rec + (int64_t)(1 + F::hrow(l) + H) * t.n + t.i;
    float cp = t.valid ? cprow[0] : 0.0f;
#pragma unroll 1
    for (int j = 0; j < H; ++j, w += F::K4(l)) {
        const float cpn = (t.valid && j + 1 < H) ? cprow[(int64_t)(j + 1) * t.n] : 0.0f;
        const float4 z = unit_z<F::K4(l) / 4>(w, t.xrow4);
        const Cell<float> cell = cell_forward(z.x, z.y, z.z, z.w, cp);
        rotate_left(r.hn[l]);
        r.hn[l][H - 1] = cell.h;
        cp = cpn;
    }
}

template <int IN0, int H, int L, int l>
__device__ __forceinline__ void fixed_forward_layers(FixedBwdRegs<IN0, H, L>& r,
                                                     const BwdThread& t, const float (&u0)[IN0]) {
    if constexpr (l + 1 < L) {
        fixed_forward_layer<IN0, H, L, l>(r, t, u0);
        fixed_forward_layers<IN0, H, L, l + 1>(r, t, u0);
    }
}

/* Backward through layer l at the current step: recomputes the gates unit by unit from the
 * X row, applies cell_backward with the carried gradients, writes dz into the dz tile, adds
 * W_ih^T dz to the input gradient (the layer below's carried dh, or dL/du^0) and forms the new
 * carried dh = W_hh^T dz.  The top layer also adds the output layer's gradient and the per-warp
 * output-layer sums. */
template <int IN0, int H, int L, int l>
__device__ __forceinline__ void fixed_backward_layer(FixedBwdRegs<IN0, H, L>& r, const BwdThread& t,
                                                     const float (&u0)[IN0]) {
    using F = FixedShape<IN0, H, L>;
    constexpr int in = F::in(l);
    fixed_xrow<IN0, H, L, l>(r, t, u0);
    float dhp[H];
#pragma unroll
    for (int c = 0; c < H; ++c) dhp[c] = 0.0f;
    if constexpr (l == 0) {
#pragma unroll
        for (int c = 0; c < IN0; ++c) r.du0[c] = 0.0f;
    }
    const float4* w = reinterpret_cast<const float4*>(t.phi_s) + F::pbase(l) / 4;
    const float* w_out = t.phi_s + F::pout + 1;
    const float* cprow = t.rec + (int64_t)(1 + F::hrow(l) + H) * t.n + t.i;
    float cp = t.valid ? cprow[0] : 0.0f;
#pragma unroll 1
    for (int j = 0; j < H; ++j, w += F::K4(l)) {
        const float cpn = (t.valid && j + 1 < H) ? cprow[(int64_t)(j + 1) * t.n] : 0.0f;
        const float4 z = unit_z<F::K4(l) / 4>(w, t.xrow4);
        const Cell<float> cell = cell_forward(z.x, z.y, z.z, z.w, cp);
        float dh = r.dh[l][0];
        const float dc = r.dc[l][0];
        rotate_left(r.dh[l]);
        rotate_left(r.dc[l]);
        if constexpr (l == L - 1) {
            dh = fmaf(t.dD, w_out[j], dh);
            const float v = warp_sum(t.valid ? t.dD * cell.h : 0.0f);
            if (t.lane == 0) t.Wp[t.warp * F::osp + 1 + j] = v;
        }
        const CellGrad<float> gr = cell_backward(cell, cp, dh, dc);
        r.dc[l][H - 1] = gr.dc_prev;
        const float4 dz = t.valid ? make_float4(gr.dzi, gr.dzf, gr.dzg, gr.dzo) : zero4();
        t.arow4[j] = dz;
#pragma unroll
        for (int c = 0; c < in; ++c) {
            if constexpr (l > 0) {
                r.dh[l - 1][c] = dot4_acc(w[1 + c], dz, r.dh[l - 1][c]);
            } else {
                r.du0[c] = dot4_acc(w[1 + c], dz, r.du0[c]);
            }
        }
#pragma unroll
        for (int c = 0; c < H; ++c) dhp[c] = dot4_acc(w[1 + in + c], dz, dhp[c]);
        cp = cpn;
    }
#pragma unroll
    for (int c = 0; c < H; ++c) r.dh[l][c] = dhp[c];
    if constexpr (l == L - 1) {
        const float v = warp_sum(t.dD);
        if (t.lane == 0) t.Wp[t.warp * F::osp] = v;
    }
}

struct BwdBlock {
    float* acc;
    const float4* As4;
    const float4* Bs4;
    const float* Wp;
    int tid;
};

template <int IN0, int H, int L, int l>
__device__ __forceinline__ void fixed_backward_layers(FixedBwdRegs<IN0, H, L>& r, const BwdThread& t,
                                                      const BwdBlock& b, const float (&u0)[IN0]) {
    using F = FixedShape<IN0, H, L>;
    constexpr int T = kBwdFixedThreads;
    if constexpr (l >= 0) {
        fixed_backward_layer<IN0, H, L, l>(r, t, u0);
        __syncthreads();
        layer_gemm(reinterpret_cast<float4*>(b.acc) + F::pbase(l) / 4, b.As4, F::rs / 4, b.Bs4,
                   F::cs / 4, H, F::K4(l), b.tid, T);
        if constexpr (l == L - 1) out_update(b.acc + F::pout, b.Wp, F::osp, T / kWarp, 1 + H, b.tid, T);
        __syncthreads();
        fixed_backward_layers<IN0, H, L, l - 1>(r, t, b, u0);
    }
}

/* One block of 128 threads = one tile of 128 coordinates at a time; block b owns partial row b
 * and the tiles [b * tiles_per_row, (b + 1) * tiles_per_row).  Each thread walks the unroll
 * backwards for its coordinate, carrying dh and dc of every layer in registers.
 * Dynamic shared memory (floats): packed phi [p4] | dphi accumulators [p4] | dz tile [128 x rs]
 * | X tile [128 x cs] | output-layer warp sums [4 x osp]. */
template <int IN0, int H, int L>
__global__ void __launch_bounds__(kBwdFixedThreads) backward_fixed(const BwdParams p) {
    using F = FixedShape<IN0, H, L>;
    constexpr int T = kBwdFixedThreads;
    extern __shared__ float4 smem4[];
    float* phi_s = reinterpret_cast<float*>(smem4);
    float* acc = phi_s + F::p4;
    float4* As4 = reinterpret_cast<float4*>(acc + F::p4);
    float4* Bs4 = As4 + T * (F::rs / 4);
    float* Wp = reinterpret_cast<float*>(Bs4 + T * (F::cs / 4));
    const int tid = threadIdx.x;
    stage_phi(p.g, p.phi, phi_s, tid, T);
    for (int e = tid; e < F::p4; e += T) acc[e] = 0.0f;
    __syncthreads();

    const int64_t n = p.n;
    BwdThread t;
    t.phi_s = phi_s;
    t.xrow4 = Bs4 + tid * (F::cs / 4);
    t.arow4 = As4 + tid * (F::rs / 4);
    t.Wp = Wp;
    t.n = n;
    t.lane = tid & (kWarp - 1);
    t.warp = tid / kWarp;
    BwdBlock b;
    b.acc = acc;
    b.As4 = As4;
    b.Bs4 = Bs4;
    b.Wp = Wp;
    b.tid = tid;

    const int64_t tile_begin = (int64_t)blockIdx.x * p.tiles_per_row;
    const int64_t tile_end = min(p.tiles, tile_begin + p.tiles_per_row);
    double* row = p.partial + (int64_t)blockIdx.x * p.g.phi_size;
    for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
        const int64_t i = tile * T + tid;
        t.i = i;
        t.valid = i < n;
        FixedBwdRegs<IN0, H, L> r;
#pragma unroll
        for (int l = 0; l < L; ++l) {
#pragma unroll
            for (int c = 0; c < H; ++c) {
                const bool in_final = t.valid && p.dstate_final != nullptr;
                r.dh[l][c] = in_final ? p.dstate_final[(int64_t)(F::hrow(l) + c) * n + i] : 0.0f;
                r.dc[l][c] = in_final ? p.dstate_final[(int64_t)(F::hrow(l) + H + c) * n + i] : 0.0f;
            }
        }
        for (int s = p.steps - 1; s >= 0; --s) {
            t.rec = p.record + (int64_t)s * F::R * n;
            const float x = t.valid ? t.rec[i] : 0.0f;
            float u0[IN0];
            preprocess_n<IN0>(p.g.pre, x, u0);
            t.dD = t.valid ? p.dloss[(int64_t)s * n + i] * p.g.scale : 0.0f;
            fixed_forward_layers<IN0, H, L, 0>(r, t, u0);
            fixed_backward_layers<IN0, H, L, L - 1>(r, t, b, u0);
            if (p.dx != nullptr && t.valid) p.dx[(int64_t)s * n + i] = dx_from_du<IN0>(p.g.pre, x, r.du0);
        }
        if (p.dstate_initial != nullptr && t.valid) {
#pragma unroll
            for (int l = 0; l < L; ++l) {
#pragma unroll
                for (int c = 0; c < H; ++c) {
                    p.dstate_initial[(int64_t)(F::hrow(l) + c) * n + i] = r.dh[l][c];
                    p.dstate_initial[(int64_t)(F::hrow(l) + H + c) * n + i] = r.dc[l][c];
                }
            }
        }
        __syncthreads();
        flush_partial(p.g, acc, row, tile == tile_begin, tid, T);
        __syncthreads();
    }
}

/* =============================================================================================
 * Generic widths (any model whose packed phi and tiles fit in shared memory): the same
 * algorithms with runtime loops; per-coordinate vectors live in shared memory in [row][T]
 * layout (thread k at row r: base[r * T + k], conflict-free).
 * ============================================================================================= */

/* Dynamic shared memory (floats): packed phi [p4] | X rows [2][T][cs] (ping-pong). */
template <int IN0>
__global__ void __launch_bounds__(128, 1) step_generic(const StepParams p) {
    const Geometry& g = p.g;
    const int T = blockDim.x;
    const int tid = threadIdx.x;
    extern __shared__ float4 smem4[];
    float* phi_s = reinterpret_cast<float*>(smem4);
    stage_phi(g, p.phi, phi_s, tid, T);
    __syncthreads();
    const float4* phi4 = reinterpret_cast<const float4*>(phi_s);
    float* xa0 = phi_s + g.p4 + tid * p.cs;
    float* xb0 = phi_s + g.p4 + (T + tid) * p.cs;
    const int64_t n = p.n;
    const int64_t stride = (int64_t)gridDim.x * T;
    for (int64_t i = p.begin + (int64_t)blockIdx.x * T + tid; i < p.end; i += stride) {
        float* theta;
        const float* grad;
        locate(p, i, theta, grad);
        const float x = *grad;
        if (p.record != nullptr) p.record[i] = x;
        float u0[IN0];
        preprocess_n<IN0>(g.pre, x, u0);
        float dsum = 0.0f;
        if (g.L == 0) {
#pragma unroll
            for (int c = 0; c < IN0; ++c) dsum = fmaf(phi_s[g.pout + 1 + c], u0[c], dsum);
        } else {
            float* xa = xa0;
            float* xb = xb0;
            xa[0] = 1.0f;
#pragma unroll
            for (int c = 0; c < IN0; ++c) xa[1 + c] = u0[c];
            for (int l = 0; l < g.L; ++l) {
                const int in = g.in[l];
                const int H = g.h[l];
                const int K4 = g.k4[l];
                float* sh = p.state + (int64_t)g.hrow[l] * n + i;
                float* sc = sh + (int64_t)H * n;
                for (int c = 0; c < H; ++c) xa[1 + in + c] = sh[(int64_t)c * n];
                for (int c = 1 + in + H; c < K4; ++c) xa[c] = 0.0f;
                if (p.record != nullptr) {
                    float* rh = p.record + (int64_t)(1 + g.hrow[l]) * n + i;
                    for (int c = 0; c < H; ++c) rh[(int64_t)c * n] = xa[1 + in + c];
                }
                const bool top = l + 1 == g.L;
                xb[0] = 1.0f;
                const float4* w = phi4 + g.pbase[l] / 4;
                const float4* xa4 = reinterpret_cast<const float4*>(xa);
                for (int j = 0; j < H; ++j, w += K4) {
                    const float4 z = packed_z(w, xa4, K4);
                    const float cp = sc[(int64_t)j * n];
                    if (p.record != nullptr) p.record[(int64_t)(1 + g.hrow[l] + H + j) * n + i] = cp;
                    const Cell<float> cell = cell_forward(z.x, z.y, z.z, z.w, cp);
                    sh[(int64_t)j * n] = cell.h;
                    sc[(int64_t)j * n] = cell.c;
                    if (top) {
                        dsum = fmaf(phi_s[g.pout + 1 + j], cell.h, dsum);
                    } else {
                        xb[1 + j] = cell.h;
                    }
                }
                float* tmp = xa;
                xa = xb;
                xb = tmp;
            }
        }
        *theta += g.scale * (dsum + phi_s[g.pout]);
    }
}

/* Dynamic shared memory (floats): packed phi [p4] | dphi accumulators [p4] | dz tile [T x rs]
 * | X tile [T x cs] | output-layer warp sums [T/32 x osp] | per-thread vectors [rows x T]:
 * carried dh (sum_h rows), carried dc (sum_h), new carried dh of the current layer (max_h),
 * new h of the layers below the top (sum_h - H_top). */
template <int IN0>
__global__ void __launch_bounds__(128, 1) backward_generic(const BwdParams p) {
    const Geometry& g = p.g;
    const int T = blockDim.x;
    const int tid = threadIdx.x;
    const int lane = tid & (kWarp - 1);
    const int warp = tid / kWarp;
    const int nwarps = T / kWarp;
    extern __shared__ float4 smem4[];
    float* phi_s = reinterpret_cast<float*>(smem4);
    float* acc = phi_s + g.p4;
    float4* As4 = reinterpret_cast<float4*>(acc + g.p4);
    float4* Bs4 = As4 + T * (p.rs / 4);
    float* Wp = reinterpret_cast<float*>(Bs4 + T * (p.cs / 4));
    float* vec = Wp + nwarps * p.osp + tid;
    stage_phi(g, p.phi, phi_s, tid, T);
    for (int e = tid; e < g.p4; e += T) acc[e] = 0.0f;
    __syncthreads();

    const float4* phi4 = reinterpret_cast<const float4*>(phi_s);
    float4* xrow4 = Bs4 + tid * (p.cs / 4);
    float* xrow = reinterpret_cast<float*>(xrow4);
    float4* arow4 = As4 + tid * (p.rs / 4);
    const int64_t n = p.n;
    const int64_t R = g.R;
    const int L = g.L;
    /* per-thread vectors: element r at vec[r * T] */
    float* DH = vec;
    float* DC = vec + (int64_t)g.sum_h * T;
    float* DHP = vec + (int64_t)2 * g.sum_h * T;
    float* HN = vec + (int64_t)(2 * g.sum_h + g.max_h) * T;

    const int64_t tile_begin = (int64_t)blockIdx.x * p.tiles_per_row;
    const int64_t tile_end = min(p.tiles, tile_begin + p.tiles_per_row);
    double* row = p.partial + (int64_t)blockIdx.x * g.phi_size;
    for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
        const int64_t i = tile * T + tid;
        const bool valid = i < n;
        const bool in_final = valid && p.dstate_final != nullptr;
        for (int l = 0; l < L; ++l) {
            const int H = g.h[l];
            for (int c = 0; c < H; ++c) {
                DH[(g.hoff[l] + c) * T] =
                    in_final ? p.dstate_final[(int64_t)(g.hrow[l] + c) * n + i] : 0.0f;
                DC[(g.hoff[l] + c) * T] =
                    in_final ? p.dstate_final[(int64_t)(g.hrow[l] + H + c) * n + i] : 0.0f;
            }
        }
        for (int s = p.steps - 1; s >= 0; --s) {
            const float* rec = p.record + (int64_t)s * R * n;
            const float x = valid ? rec[i] : 0.0f;
            float u0[IN0];
            preprocess_n<IN0>(g.pre, x, u0);
            const float dD = valid ? p.dloss[(int64_t)s * n + i] * g.scale : 0.0f;
            float du0[IN0];
#pragma unroll
            for (int c = 0; c < IN0; ++c) du0[c] = 0.0f;

            /* forward recomputation of the layers below the top; then backward, top down */
            for (int pass = 0; pass < 2 * L - 1; ++pass) {
                const bool fwd = pass < L - 1;
                const int l = fwd ? pass : 2 * L - 2 - pass;
                const bool top = l == L - 1;
                const int in = g.in[l];
                const int H = g.h[l];
                const int K4 = g.k4[l];
                /* X row [1, u^l, h_prev^l, 0 ...] */
                xrow[0] = valid ? 1.0f : 0.0f;
                if (l == 0) {
#pragma unroll
                    for (int c = 0; c < IN0; ++c) xrow[1 + c] = valid ? u0[c] : 0.0f;
                } else {
                    for (int c = 0; c < in; ++c)
                        xrow[1 + c] = valid ? HN[(g.hoff[l - 1] + c) * T] : 0.0f;
                }
                const float* rh = rec + (int64_t)(1 + g.hrow[l]) * n + i;
                for (int c = 0; c < H; ++c) xrow[1 + in + c] = valid ? rh[(int64_t)c * n] : 0.0f;
                for (int c = 1 + in + H; c < K4; ++c) xrow[c] = 0.0f;
                if (!fwd) {
                    for (int c = 0; c < H; ++c) DHP[c * T] = 0.0f;
                }
                const float* cprow = rh + (int64_t)H * n;
                const float4* w = phi4 + g.pbase[l] / 4;
                for (int j = 0; j < H; ++j, w += K4) {
                    const float4 z = packed_z(w, xrow4, K4);
                    const float cp = valid ? cprow[(int64_t)j * n] : 0.0f;
                    const Cell<float> cell = cell_forward(z.x, z.y, z.z, z.w, cp);
                    if (fwd) {
                        HN[(g.hoff[l] + j) * T] = cell.h;
                        continue;
                    }
                    float dh = DH[(g.hoff[l] + j) * T];
                    if (top) {
                        dh = fmaf(dD, phi_s[g.pout + 1 + j], dh);
                        const float v = warp_sum(valid ? dD * cell.h : 0.0f);
                        if (lane == 0) Wp[warp * p.osp + 1 + j] = v;
                    }
                    const CellGrad<float> gr = cell_backward(cell, cp, dh, DC[(g.hoff[l] + j) * T]);
                    DC[(g.hoff[l] + j) * T] = gr.dc_prev;
                    const float4 dz =
                        valid ? make_float4(gr.dzi, gr.dzf, gr.dzg, gr.dzo) : zero4();
                    arow4[j] = dz;
                    if (l > 0) {
                        float* dlow = DH + g.hoff[l - 1] * T;
                        for (int c = 0; c < in; ++c) dlow[c * T] = dot4_acc(w[1 + c], dz, dlow[c * T]);
                    } else {
#pragma unroll
                        for (int c = 0; c < IN0; ++c) du0[c] = dot4_acc(w[1 + c], dz, du0[c]);
                    }
                    for (int c = 0; c < H; ++c) DHP[c * T] = dot4_acc(w[1 + in + c], dz, DHP[c * T]);
                }
                if (fwd) continue;
                for (int c = 0; c < H; ++c) DH[(g.hoff[l] + c) * T] = DHP[c * T];
                if (top) {
                    const float v = warp_sum(dD);
                    if (lane == 0) Wp[warp * p.osp] = v;
                }
                __syncthreads();
                layer_gemm(reinterpret_cast<float4*>(acc) + g.pbase[l] / 4, As4, p.rs / 4, Bs4,
                           p.cs / 4, H, K4, tid, T);
                if (top) out_update(acc + g.pout, Wp, p.osp, nwarps, 1 + H, tid, T);
                __syncthreads();
            }
            if (L == 0) {
                /* delta = scale (w_out . u^0 + b_out) */
                const float v = warp_sum(dD);
                if (lane == 0) Wp[warp * p.osp] = v;
#pragma unroll
                for (int c = 0; c < IN0; ++c) {
                    const float vc = warp_sum(valid ? dD * u0[c] : 0.0f);
                    if (lane == 0) Wp[warp * p.osp + 1 + c] = vc;
                    du0[c] = dD * phi_s[g.pout + 1 + c];
                }
                __syncthreads();
                out_update(acc + g.pout, Wp, p.osp, nwarps, 1 + IN0, tid, T);
                __syncthreads();
            }
            if (p.dx != nullptr && valid) p.dx[(int64_t)s * n + i] = dx_from_du<IN0>(g.pre, x, du0);
        }
        if (p.dstate_initial != nullptr && valid) {
            for (int l = 0; l < L; ++l) {
                const int H = g.h[l];
                for (int c = 0; c < H; ++c) {
                    p.dstate_initial[(int64_t)(g.hrow[l] + c) * n + i] = DH[(g.hoff[l] + c) * T];
                    p.dstate_initial[(int64_t)(g.hrow[l] + H + c) * n + i] = DC[(g.hoff[l] + c) * T];
                }
            }
        }
        __syncthreads();
        flush_partial(g, acc, row, tile == tile_begin, tid, T);
        __syncthreads();
    }
}

/* =============================================================================================
 * bfloat16 products on the tensor cores (L2L_BF16_PRODUCTS, l2l.h "Precision"): the layer
 * passes below compute the LSTM's matrix products of such a model with mma.sync m16n8k16
 * (bfloat16 operands, float32 accumulation), one warp per 16 x 8 tile; the biases, the cell
 * update, the state and the output layer stay float32.  The emulated runtime has a scalar model
 * of the instruction's fragments.
 * ============================================================================================= */

/* The bfloat16 nearest to x (ties to even; a NaN stays a quiet NaN) in the low 16 bits: the CPU
 * backend's rounding. */
__device__ __forceinline__ uint32_t bf16_bits(float x) {
    const uint32_t b = (uint32_t)float_bits(x);
    return (b & 0x7FFFFFFFu) > 0x7F800000u ? ((b >> 16) | 0x40u) : ((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
}

/* Two values rounded to bfloat16 in one word, the first in the low half (mma's operand order). */
__device__ __forceinline__ uint32_t bf16_pair(float lo, float hi) { return bf16_bits(lo) | (bf16_bits(hi) << 16); }

/* d += A B for one warp: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 (sm_80 and later). */
__device__ __forceinline__ void mma_bf16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if defined(L2L_EMU)
    const float c[4] = {d[0], d[1], d[2], d[3]};
    emu::mma_bf16_m16n8k16(d, a, b, c);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                 "{%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

/* One warp's 16 x 8 tile of a product whose operands are read through accessors and rounded to
 * bfloat16:  d[r] += sum_{k0 <= k < k1} A(row, k) B(k, col)  for rows row0 .. row0 + 15 and
 * columns col0 .. col0 + 7, in mma's fragment layout (lane l: rows row0 + l / 4 (d[0], d[1]) and
 * + 8 (d[2], d[3]), columns col0 + 2 (l % 4) + 0, 1).  k1 - k0 is padded to a multiple of 16
 * with zeros; the accessors are called only for k < k1.  Every lane of the warp must call it. */
template <class FA, class FB>
__device__ __forceinline__ void warp_tile_bf16(float (&d)[4], int row0, int col0, int k0, int k1, FA A, FB B) {
    const int lane = threadIdx.x & (kWarp - 1);
    const int g = lane >> 2;
    const int t = lane & 3;
    for (int k = k0; k < k1; k += 16) {
        const int c0 = k + 2 * t;
        const int c8 = c0 + 8;
        const auto a = [&](int row, int kk) { return kk < k1 ? A(row, kk) : 0.0f; };
        const auto b = [&](int kk, int col) { return kk < k1 ? B(kk, col) : 0.0f; };
        const uint32_t af[4] = {bf16_pair(a(row0 + g, c0), a(row0 + g, c0 + 1)),
                                bf16_pair(a(row0 + g + 8, c0), a(row0 + g + 8, c0 + 1)),
                                bf16_pair(a(row0 + g, c8), a(row0 + g, c8 + 1)),
                                bf16_pair(a(row0 + g + 8, c8), a(row0 + g + 8, c8 + 1))};
        const uint32_t bf[2] = {bf16_pair(b(c0, col0 + g), b(c0 + 1, col0 + g)),
                                bf16_pair(b(c8, col0 + g), b(c8 + 1, col0 + g))};
        mma_bf16(d, af, bf);
    }
}

/* The gate products without the bias of units j0 and j0 + 1 of a layer (packed weights wl, K4
 * columns) for the warp's 32 coordinates, whose X rows start at xw (stride cs floats):
 * zw[m][4 (j - j0) + gate] for lane m's coordinate (zw: the warp's 32 x 8 floats).  The caller
 * meets the warp (__syncwarp) before reading zw and before it is written again. */
__device__ __forceinline__ void warp_gate_products(const float* wl, int K4, int H, int j0, const float* xw, int cs,
                                                   float* zw) {
    const int lane = threadIdx.x & (kWarp - 1);
    const int g = lane >> 2;
    const int t = lane & 3;
    const auto X = [&](int m, int c) { return xw[m * cs + c]; };
    const auto W = [&](int c, int col) {
        const int j = j0 + col / 4;
        return j < H ? wl[((int64_t)j * K4 + c) * 4 + col % 4] : 0.0f;
    };
    for (int mt = 0; mt < 2; ++mt) {
        float d[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        warp_tile_bf16(d, 16 * mt, 0, 1, K4, X, W);
        float* z0 = zw + (16 * mt + g) * 8 + 2 * t;
        z0[0] = d[0];
        z0[1] = d[1];
        z0[64] = d[2];
        z0[65] = d[3];
    }
}

/* z of unit j (j0 <= j < j0 + 2) for lane `lane` after warp_gate_products: the float32 bias
 * (packed column 0) plus the products. */
__device__ __forceinline__ float4 pair_z(const float* wl, int K4, int j0, int j, const float* zw, int lane) {
    const float* bias = wl + (int64_t)j * K4 * 4;
    const float* z = zw + lane * 8 + 4 * (j - j0);
    return make_float4(bias[0] + z[0], bias[1] + z[1], bias[2] + z[2], bias[3] + z[3]);
}

/* unit(j, z) for every unit j of a layer with the gate pre-activations z of the lane's
 * coordinate, computed a unit pair at a time on the tensor cores (warp_gate_products) from the
 * warp's X rows; unit runs on the lanes whose `valid` holds, and every lane must call this. */
template <class Unit>
__device__ __forceinline__ void for_units_bf16(const float* wl, int K4, int H, const float* xw, int cs, float* zw,
                                               bool valid, Unit unit) {
    const int lane = threadIdx.x & (kWarp - 1);
    __syncwarp();
    for (int j0 = 0; j0 < H; j0 += 2) {
        warp_gate_products(wl, K4, H, j0, xw, cs, zw);
        __syncwarp();
        for (int j = j0; j < j0 + 2 && j < H && valid; ++j) unit(j, pair_z(wl, K4, j0, j, zw, lane));
        __syncwarp();
    }
}

/* unit(j, z) for every unit j of a layer (packed weights wl, K4 columns), z the gate
 * pre-activations of the thread's coordinate: in float32 from the thread's X row xrow
 * (packed_z), on the threads whose `valid` holds; with BF16 on the tensor cores from the warp's
 * X rows xw (stride cs), a unit pair at a time (for_units_bf16: every lane must call this). */
template <bool BF16, class Unit>
__device__ __forceinline__ void for_units(const float* wl, int K4, int H, const float* xrow, const float* xw, int cs,
                                          float* zw, bool valid, Unit unit) {
    if (BF16) {
        for_units_bf16(wl, K4, H, xw, cs, zw, valid, unit);
    } else if (valid) {
        const float4* w = reinterpret_cast<const float4*>(wl);
        for (int j = 0; j < H; ++j, w += K4) unit(j, packed_z(w, reinterpret_cast<const float4*>(xrow), K4));
    }
}

/* dL/d[u; h] = W^T dz for the warp's 32 coordinates (bfloat16 products): dz rows at dzw (stride
 * rs floats, 4H gate rows), the result for column c of X (1 <= c < 1 + in + H) of lane m's
 * coordinate into du[(c - 1) * T + m] (c <= in) or dh[(c - 1 - in) * T + m]: the per-thread
 * column arrays of the warp's first thread. */
__device__ __forceinline__ void warp_input_gradients(const float* wl, int K4, int in, int H, const float* dzw, int rs,
                                                     float* du, float* dh, int T) {
    const int lane = threadIdx.x & (kWarp - 1);
    const int g = lane >> 2;
    const int t = lane & 3;
    const int cols = in + H;
    const auto Dz = [&](int m, int r) { return dzw[m * rs + r]; };
    const auto W = [&](int r, int col) {
        const int c = 1 + col;
        return c < 1 + cols ? wl[((int64_t)(r / 4) * K4 + c) * 4 + r % 4] : 0.0f;
    };
    for (int nt = 0; nt * 8 < cols; ++nt) {
        for (int mt = 0; mt < 2; ++mt) {
            float d[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            warp_tile_bf16(d, 16 * mt, 8 * nt, 0, 4 * H, Dz, W);
            for (int r = 0; r < 4; ++r) {
                const int m = 16 * mt + g + 8 * (r / 2);
                const int col = 8 * nt + 2 * t + r % 2;
                if (col < in) du[col * T + m] = d[r];
                else if (col < cols) dh[(col - in) * T + m] = d[r];
            }
        }
    }
}

/* The layer's weight gradient for the block's tile of T coordinates with bfloat16 products, as
 * layer_gemm (acc4[j K4 + c] += sum_k dz_k[j] X_k[c]) for the columns c >= 1; the bias column
 * c = 0 (X = 1) is summed in float32.  The warps share the 16 x 8 tiles of [4H] x [1, K4) in a
 * fixed assignment, each output owned by one lane: the result does not depend on scheduling. */
__device__ __forceinline__ void layer_gemm_bf16(float* acc, const float* As, int rs, const float* Bs, int cs, int H,
                                                int K4, int tid, int T) {
    const int rows = 4 * H;
    const int lane = tid & (kWarp - 1);
    const int g = lane >> 2;
    const int t = lane & 3;
    const int mtiles = (rows + 15) / 16;
    const int ntiles = (K4 - 1 + 7) / 8;
    const auto Dz = [&](int r, int k) { return r < rows ? As[k * rs + r] : 0.0f; };
    const auto X = [&](int k, int col) { return 1 + col < K4 ? Bs[k * cs + 1 + col] : 0.0f; };
    for (int tile = tid / kWarp; tile < mtiles * ntiles; tile += T / kWarp) {
        const int mt = tile / ntiles;
        const int nt = tile - mt * ntiles;
        float d[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        warp_tile_bf16(d, 16 * mt, 8 * nt, 0, T, Dz, X);
        for (int r = 0; r < 4; ++r) {
            const int row = 16 * mt + g + 8 * (r / 2);
            const int c = 1 + 8 * nt + 2 * t + r % 2;
            if (row < rows && c < K4) acc[((int64_t)(row / 4) * K4 + c) * 4 + row % 4] += d[r];
        }
    }
    for (int row = tid; row < rows; row += T) {
        float s = 0.0f;
        for (int k = 0; k < T; ++k) s += As[k * rs + row];
        acc[(int64_t)(row / 4) * K4 * 4 + row % 4] += s;
    }
}

/* =============================================================================================
 * Global averaging cells (LSTM+GAC, l2l.h): the step layer by layer over all coordinates and
 * the backward pass step by step, one launch per layer, with the averages of the averaging
 * units taken between the launches (gac_average).  Thread per coordinate; packed phi staged in
 * shared memory as above.  Every sum has a fixed order: the results do not depend on
 * scheduling.
 * ============================================================================================= */

/* The step of layer l (dynamic shared memory: packed phi [p4] | X rows [T][cs] | with BF16 the
 * warps' product tiles [T / 32][32 x 8]): h and c of the layer in the state from layer l - 1's h
 * rows there (averaged already) or, for l = 0, from the tensors' gradients; layer 0 also writes
 * the record (x and the whole state before the step).  BF16: the gate products on the tensor
 * cores (warp_gate_products), a unit pair at a time, every lane of a warp taking part. */
template <int IN0, bool BF16>
__global__ void __launch_bounds__(128, 1) gac_layer_step(const StepParams p, int l) {
    const Geometry& g = p.g;
    const int T = blockDim.x;
    const int tid = threadIdx.x;
    const int lane = tid & (kWarp - 1);
    extern __shared__ float4 smem4[];
    float* phi_s = reinterpret_cast<float*>(smem4);
    stage_phi(g, p.phi, phi_s, tid, T);
    __syncthreads();
    float* xrow = phi_s + g.p4 + tid * p.cs;
    const float* xw = phi_s + g.p4 + (tid - lane) * p.cs;
    float* zw = phi_s + g.p4 + (int64_t)T * p.cs + (tid - lane) * 8;
    const int64_t n = p.n;
    const int in = g.in[l];
    const int H = g.h[l];
    const int K4 = g.k4[l];
    const float* wl = phi_s + g.pbase[l];
    const int64_t stride = (int64_t)gridDim.x * T;
    for (int64_t base = p.begin + (int64_t)blockIdx.x * T; base < p.end; base += stride) {
        const int64_t i = base + tid;
        const bool valid = i < p.end;
        for (int c = 0; c < K4; ++c) xrow[c] = 0.0f;
        float* sh = p.state + (int64_t)g.hrow[l] * n + i;
        float* sc = sh + (int64_t)H * n;
        if (valid) {
            xrow[0] = 1.0f;
            if (l == 0) {
                float* theta;
                const float* grad;
                locate(p, i, theta, grad);
                const float x = *grad;
                if (p.record != nullptr) {
                    p.record[i] = x;
                    for (int r = 0; r < g.S; ++r) p.record[(int64_t)(1 + r) * n + i] = p.state[(int64_t)r * n + i];
                }
                float u0[IN0] = {};
                preprocess_n<IN0>(g.pre, x, u0);
#pragma unroll
                for (int c = 0; c < IN0; ++c) xrow[1 + c] = u0[c];
            } else {
                const float* below = p.state + (int64_t)g.hrow[l - 1] * n + i;
                for (int c = 0; c < in; ++c) xrow[1 + c] = below[(int64_t)c * n];
            }
            for (int c = 0; c < H; ++c) xrow[1 + in + c] = sh[(int64_t)c * n];
        }
        for_units<BF16>(wl, K4, H, xrow, xw, p.cs, zw, valid, [&](int j, const float4 z) {
            const Cell<float> cell = cell_forward(z.x, z.y, z.z, z.w, sc[(int64_t)j * n]);
            sh[(int64_t)j * n] = cell.h;
            sc[(int64_t)j * n] = cell.c;
        });
    }
}

/* The step's output layer: theta += scale (w_out . h_top + b_out), from the top layer's h rows
 * (dynamic shared memory: packed phi [p4]). */
__global__ void __launch_bounds__(128, 1) gac_output_step(const StepParams p) {
    const Geometry& g = p.g;
    const int T = blockDim.x;
    extern __shared__ float4 smem4[];
    float* phi_s = reinterpret_cast<float*>(smem4);
    stage_phi(g, p.phi, phi_s, threadIdx.x, T);
    __syncthreads();
    const int64_t stride = (int64_t)gridDim.x * T;
    for (int64_t i = p.begin + (int64_t)blockIdx.x * T + threadIdx.x; i < p.end; i += stride) {
        float* theta;
        const float* grad;
        locate(p, i, theta, grad);
        const float* top = p.state + (int64_t)g.hrow[g.L - 1] * p.n + i;
        float dsum = 0.0f;
        for (int j = 0; j < g.out_in; ++j) dsum = fmaf(phi_s[g.pout + 1 + j], top[(int64_t)j * p.n], dsum);
        *theta += g.scale * (dsum + phi_s[g.pout]);
    }
}

constexpr int kAverageThreads = 256;

/* Block (segment k = blockIdx.x, row r = blockIdx.y) of rows (stride n): every element of the
 * row's segment [k segment, (k + 1) segment) becomes the segment's mean, summed in float64 (each
 * thread a fixed strided subset in order, then a fixed tree); with carry, carry's row is added
 * first and then zeroed (the averaging units' gradient). */
__global__ void __launch_bounds__(kAverageThreads)
    gac_average(float* rows, float* carry, int64_t n, int64_t segment) {
    __shared__ double part[kAverageThreads];
    const int tid = threadIdx.x;
    const int64_t base = (int64_t)blockIdx.y * n + (int64_t)blockIdx.x * segment;
    double s = 0.0;
    for (int64_t i = tid; i < segment; i += kAverageThreads) {
        s += (double)rows[base + i];
        if (carry != nullptr) s += (double)carry[base + i];
    }
    part[tid] = s;
    __syncthreads();
    for (int half = kAverageThreads / 2; half > 0; half >>= 1) {
        if (tid < half) part[tid] += part[tid + half];
        __syncthreads();
    }
    const float mean = (float)(part[0] / (double)segment);
    for (int64_t i = tid; i < segment; i += kAverageThreads) {
        rows[base + i] = mean;
        if (carry != nullptr) carry[base + i] = 0.0f;
    }
}

/* The X row [1, u^l, h_prev^l, 0 ...] of coordinate i for layer l at step s of the backward pass:
 * u from the record's x (l = 0) or the averaged h after the step of the layer below (`after`),
 * h_prev from the record; zeros for a coordinate past n.  x: the record's gradient input. */
template <int IN0>
__device__ __forceinline__ void gac_xrow(const BwdParams& p, const float* rec, const float* after, int l,
                                         int64_t i, bool valid, float* xrow, float& x) {
    const Geometry& g = p.g;
    const int64_t n = p.n;
    const int in = g.in[l];
    const int H = g.h[l];
    xrow[0] = valid ? 1.0f : 0.0f;
    x = valid ? rec[i] : 0.0f;
    if (l == 0) {
        float u0[IN0] = {};
        preprocess_n<IN0>(g.pre, x, u0);
#pragma unroll
        for (int c = 0; c < IN0; ++c) xrow[1 + c] = valid ? u0[c] : 0.0f;
    } else {
        const float* below = after + (int64_t)g.hrow[l - 1] * n + i;
        for (int c = 0; c < in; ++c) xrow[1 + c] = valid ? below[(int64_t)c * n] : 0.0f;
    }
    const float* rh = rec + (int64_t)(1 + g.hrow[l]) * n + i;
    for (int c = 0; c < H; ++c) xrow[1 + in + c] = valid ? rh[(int64_t)c * n] : 0.0f;
    for (int c = 1 + in + H; c < g.k4[l]; ++c) xrow[c] = 0.0f;
}

/* Where the warps' product tiles [T / 32][32 x 8] lie in the backward layer passes' dynamic
 * shared memory (floats from its start): after the per-thread rows of gac_layer_backward. */
__device__ __forceinline__ int64_t bf16_tiles_offset(const BwdParams& p, int T) {
    const Geometry& g = p.g;
    const int wide = g.max_h > g.in0 ? g.max_h : g.in0;
    return 2 * (int64_t)g.p4 + (int64_t)T * (p.rs + p.cs) + (int64_t)(T / kWarp) * p.osp + 2 * (int64_t)wide * T;
}

/* Backward, step s: layer l's h after the step, recomputed, into `after`'s h rows of the layer
 * (dynamic shared memory as gac_layer_backward's; grid-stride over the coordinates, a block's
 * threads together; BF16 as gac_layer_step). */
template <int IN0, bool BF16>
__global__ void __launch_bounds__(128, 1) gac_recompute(const BwdParams p, int s, int l, float* after) {
    const Geometry& g = p.g;
    const int T = blockDim.x;
    const int tid = threadIdx.x;
    const int lane = tid & (kWarp - 1);
    extern __shared__ float4 smem4[];
    float* phi_s = reinterpret_cast<float*>(smem4);
    stage_phi(g, p.phi, phi_s, tid, T);
    __syncthreads();
    float* xrow = phi_s + 2 * g.p4 + (int64_t)T * p.rs + tid * p.cs;
    const float* xw = xrow - lane * p.cs;
    float* zw = phi_s + bf16_tiles_offset(p, T) + (tid - lane) * 8;
    const int64_t n = p.n;
    const float* rec = p.record + (int64_t)s * g.R * n;
    const int H = g.h[l];
    const int K4 = g.k4[l];
    const float* wl = phi_s + g.pbase[l];
    const int64_t stride = (int64_t)gridDim.x * T;
    for (int64_t base = (int64_t)blockIdx.x * T; base < n; base += stride) {
        const int64_t i = base + tid;
        const bool valid = i < n;
        float x;
        gac_xrow<IN0>(p, rec, after, l, i, valid, xrow, x);
        const float* cprow = rec + (int64_t)(1 + g.hrow[l] + H) * n + i;
        float* out = after + (int64_t)g.hrow[l] * n + i;
        for_units<BF16>(wl, K4, H, xrow, xw, p.cs, zw, valid, [&](int j, const float4 z) {
            out[(int64_t)j * n] = cell_forward(z.x, z.y, z.z, z.w, cprow[(int64_t)j * n]).h;
        });
    }
}

/* Backward, step s, output layer: D[k] = dL/du_k of its input (the top layer's averaged h in
 * `after`), and its dphi (w_out, b_out) into the block's partial row.  Block b runs tiles
 * [b tiles_per_row, ...) as backward_generic does; same dynamic shared memory layout. */
__global__ void __launch_bounds__(128, 1) gac_output_backward(const BwdParams p, int s, const float* after,
                                                              float* D) {
    const Geometry& g = p.g;
    const int T = blockDim.x;
    const int tid = threadIdx.x;
    const int lane = tid & (kWarp - 1);
    const int warp = tid / kWarp;
    extern __shared__ float4 smem4[];
    float* phi_s = reinterpret_cast<float*>(smem4);
    float* acc = phi_s + g.p4;
    float* Wp = acc + g.p4 + (int64_t)T * (p.rs + p.cs);
    stage_phi(g, p.phi, phi_s, tid, T);
    for (int e = tid; e < g.p4; e += T) acc[e] = 0.0f;
    __syncthreads();
    const int64_t n = p.n;
    const int64_t tile_begin = (int64_t)blockIdx.x * p.tiles_per_row;
    const int64_t tile_end = min(p.tiles, tile_begin + p.tiles_per_row);
    const float* top = after + (int64_t)g.hrow[g.L - 1] * n;
    for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
        const int64_t i = tile * T + tid;
        const bool valid = i < n;
        const float dD = valid ? p.dloss[(int64_t)s * n + i] * g.scale : 0.0f;
        for (int k = 0; k < g.out_in; ++k) {
            const float v = warp_sum(valid ? dD * top[(int64_t)k * n + i] : 0.0f);
            if (lane == 0) Wp[warp * p.osp + 1 + k] = v;
            if (valid) D[(int64_t)k * n + i] = dD * phi_s[g.pout + 1 + k];
        }
        const float v = warp_sum(dD);
        if (lane == 0) Wp[warp * p.osp] = v;
        __syncthreads();
        out_update(acc + g.pout, Wp, p.osp, T / kWarp, 1 + g.out_in, tid, T);
        __syncthreads();
    }
    flush_partial(g, acc, p.partial + (int64_t)blockIdx.x * g.phi_size, false, tid, T);
}

/* Backward, step s, layer l, from Dabove (dL/dh' from above; the averaging units' rows hold
 * their segment means, their rows of carry are zero) and carry (dL/d state after the step; the
 * layer's rows are overwritten with dL/d state before it): Dbelow = dL/du of layer l - 1 (l > 0)
 * or dx of step s (l = 0, when p.dx is set), and the layer's dphi into the block's partial row.
 * Dynamic shared memory: packed phi [p4] | dphi accumulators [p4] | dz tile [T x rs] | X tile
 * [T x cs] | output-layer warp sums [T/32 x osp] | per-thread rows [2 max_in][T]: the layer's new
 * carried dh, and dL/du | with BF16 the warps' product tiles [T / 32][32 x 8].  BF16: the gate
 * products, W^T dz and the weight gradient on the tensor cores (warp_gate_products,
 * warp_input_gradients, layer_gemm_bf16). */
template <int IN0, bool BF16>
__global__ void __launch_bounds__(128, 1) gac_layer_backward(const BwdParams p, int s, int l, const float* after,
                                                             const float* Dabove, float* carry, float* Dbelow) {
    const Geometry& g = p.g;
    const int T = blockDim.x;
    const int tid = threadIdx.x;
    const int lane = tid & (kWarp - 1);
    extern __shared__ float4 smem4[];
    float* phi_s = reinterpret_cast<float*>(smem4);
    float* acc = phi_s + g.p4;
    float4* As4 = reinterpret_cast<float4*>(acc + g.p4);
    float4* Bs4 = As4 + T * (p.rs / 4);
    float* rows = reinterpret_cast<float*>(Bs4 + T * (p.cs / 4)) + (T / kWarp) * p.osp;
    const int wide = g.max_h > g.in0 ? g.max_h : g.in0;
    float* DHP = rows + tid;
    float* DU = rows + (int64_t)wide * T + tid;
    float* zw = phi_s + bf16_tiles_offset(p, T) + (tid - lane) * 8;
    stage_phi(g, p.phi, phi_s, tid, T);
    for (int e = tid; e < g.p4; e += T) acc[e] = 0.0f;
    __syncthreads();
    const float4* phi4 = reinterpret_cast<const float4*>(phi_s);
    float* xrow = reinterpret_cast<float*>(Bs4 + tid * (p.cs / 4));
    const float* xw = xrow - lane * p.cs;
    float4* arow4 = As4 + tid * (p.rs / 4);
    const int64_t n = p.n;
    const float* rec = p.record + (int64_t)s * g.R * n;
    const int in = g.in[l];
    const int H = g.h[l];
    const int K4 = g.k4[l];
    const float* wl = phi_s + g.pbase[l];
    float* ch = carry + (int64_t)g.hrow[l] * n;
    float* cc = ch + (int64_t)H * n;
    const int64_t tile_begin = (int64_t)blockIdx.x * p.tiles_per_row;
    const int64_t tile_end = min(p.tiles, tile_begin + p.tiles_per_row);
    for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
        const int64_t i = tile * T + tid;
        const bool valid = i < n;
        float x;
        gac_xrow<IN0>(p, rec, after, l, i, valid, xrow, x);
        for (int c = 0; c < H; ++c) DHP[c * T] = 0.0f;
        for (int c = 0; c < in; ++c) DU[c * T] = 0.0f;
        const float* cprow = rec + (int64_t)(1 + g.hrow[l] + H) * n + i;
        /* the cell's backward for unit j from its gate pre-activations z: dz into the thread's dz
         * row; the float32 products of W^T dz on the way */
        const auto unit = [&](int j, const float4 z) {
            const float cp = valid ? cprow[(int64_t)j * n] : 0.0f;
            const Cell<float> cell = cell_forward(z.x, z.y, z.z, z.w, cp);
            const float dh = valid ? Dabove[(int64_t)j * n + i] + ch[(int64_t)j * n + i] : 0.0f;
            const float dc = valid ? cc[(int64_t)j * n + i] : 0.0f;
            const CellGrad<float> gr = cell_backward(cell, cp, dh, dc);
            if (valid) cc[(int64_t)j * n + i] = gr.dc_prev;
            const float4 dz = valid ? make_float4(gr.dzi, gr.dzf, gr.dzg, gr.dzo) : zero4();
            arow4[j] = dz;
            if (!BF16) {
                const float4* w = phi4 + g.pbase[l] / 4 + (int64_t)j * K4;
                for (int c = 0; c < in; ++c) DU[c * T] = dot4_acc(w[1 + c], dz, DU[c * T]);
                for (int c = 0; c < H; ++c) DHP[c * T] = dot4_acc(w[1 + in + c], dz, DHP[c * T]);
            }
        };
        for_units<BF16>(wl, K4, H, xrow, xw, p.cs, zw, true, unit);
        if (BF16) {
            warp_input_gradients(wl, K4, in, H, reinterpret_cast<const float*>(arow4) - lane * p.rs, p.rs,
                                 DU - lane, DHP - lane, T);
            __syncwarp();
        }
        if (valid) {
            for (int c = 0; c < H; ++c) ch[(int64_t)c * n + i] = DHP[c * T];
            if (l > 0) {
                for (int c = 0; c < in; ++c) Dbelow[(int64_t)c * n + i] = DU[c * T];
            } else if (p.dx != nullptr) {
                float du0[IN0];
#pragma unroll
                for (int c = 0; c < IN0; ++c) du0[c] = DU[c * T];
                p.dx[(int64_t)s * n + i] = dx_from_du<IN0>(g.pre, x, du0);
            }
        }
        __syncthreads();
        if (BF16) {
            layer_gemm_bf16(acc + g.pbase[l], reinterpret_cast<const float*>(As4), p.rs,
                            reinterpret_cast<const float*>(Bs4), p.cs, H, K4, tid, T);
        } else {
            layer_gemm(reinterpret_cast<float4*>(acc) + g.pbase[l] / 4, As4, p.rs / 4, Bs4, p.cs / 4, H, K4, tid, T);
        }
        __syncthreads();
    }
    flush_partial(g, acc, p.partial + (int64_t)blockIdx.x * g.phi_size, false, tid, T);
}

/* =============================================================================================
 * Reduction, meta-loss gradients, finite check.
 * ============================================================================================= */

/* dphi[e] = sum over partial rows, in float64.  Block (32, kReduceSegments): threadIdx.x picks
 * e (coalesced), threadIdx.y a fixed contiguous segment of rows summed in row order; the
 * segment sums are then added in segment order.  The order depends on rows (hence n) only. */
__global__ void __launch_bounds__(kWarp * kReduceSegments)
    reduce_partials(const double* partial, int64_t rows, int64_t P, double* dphi) {
    __shared__ double seg[kReduceSegments][kWarp];
    const int64_t e = (int64_t)blockIdx.x * kWarp + threadIdx.x;
    const int64_t per = (rows + kReduceSegments - 1) / kReduceSegments;
    const int64_t r0 = (int64_t)threadIdx.y * per;
    const int64_t r1 = min(rows, r0 + per);
    double s = 0.0;
    if (e < P) {
        int64_t r = r0;
        for (; r + 4 <= r1; r += 4) {
            const double a = partial[r * P + e];
            const double b = partial[(r + 1) * P + e];
            const double c = partial[(r + 2) * P + e];
            const double d = partial[(r + 3) * P + e];
            s += a;
            s += b;
            s += c;
            s += d;
        }
        for (; r < r1; ++r) s += partial[r * P + e];
    }
    seg[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && e < P) {
        double t = seg[0][threadIdx.x];
#pragma unroll
        for (int k = 1; k < kReduceSegments; ++k) t += seg[k][threadIdx.x];
        dphi[e] = t;
    }
}

/* out[s][i] = scale * (sum_{t = s+1}^{steps-1} x_t[i] + grad_last[i]), x_t = record row 0 of
 * step t: the dropped-second-derivative meta-loss gradient (paper section 2). */
__global__ void __launch_bounds__(256)
    meta_loss_kernel(int64_t n, int32_t steps, int64_t R, const float* record,
                     const float* grad_last, float scale, float* out) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        float acc = grad_last[i];
        for (int s = steps - 1; s >= 0; --s) {
            out[(int64_t)s * n + i] = scale * acc;
            if (s > 0) acc += record[(int64_t)s * R * n + i];
        }
    }
}

/* Smallest index of a NaN or +-Inf: each thread stops at its first (smallest) hit. */
__global__ void __launch_bounds__(256)
    non_finite_kernel(const float* p, int64_t count, unsigned long long* first) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride) {
        if (!is_finite(p[i])) {
            atomicMin(first, (unsigned long long)i);
            break;
        }
    }
}

} // namespace detail
} // namespace cuda
} // namespace l2l

#endif
