/*
 * backend_test.cpp -- checks the CUDA backend against a float64 reference written directly
 * from the equations of l2l.h, the reference's backward pass itself against central finite
 * differences.  Built two ways:
 *   run_emu.sh   as C++ over the emulated runtime of emu/cuda_runtime.h (no GPU needed)
 *   run_gpu.sh   with nvcc against the CUDA runtime, on a GPU (also --bench: timings)
 *
 *   reference backward vs finite differences   (float64, tiny models; LSTM+GAC's too)
 *   step:      theta, state, record            vs the float64 reference
 *   backward:  dphi (each tensor), dstate_initial, dx   vs the float64 reference, for the whole
 *              unroll and one step at a time (the calls of exact second derivatives)
 *   LSTM+GAC (global averaging cells): step, record, backward (whole and one step at a time)
 *              vs its float64 reference, bitwise repeatability
 *   determinism (bitwise), fixed and generic kernels, meta_loss_grads, find_non_finite,
 *   many tensors per step (groups of 32, zero sizes), errors (shared memory, memory),
 *   allocation failures injected by l2l_testing.h's switch.
 *   MLP optimizee kernels (gather, bias + activation, its derivative, bias gradient, softmax
 *   cross-entropy) vs float64 references written from l2l.h.
 *
 * err(a, b) = max_i |a_i - b_i| / max_i |b_i| per tensor (per-element relative errors mean
 * nothing for outputs near zero).
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cuda_backend.cu"
#include "l2l_testing.h"

/* ---- the API layer's error reporting, as the tests need it ---------------------------- */
static std::string g_last_error;
namespace l2l {
int32_t fail(int32_t status, const char* format, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, format);
    vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    g_last_error = buf;
    return status;
}
} // namespace l2l

static int g_failures = 0;
static int g_passes = 0;

static void check(bool ok, const char* what, double value = 0.0, double tol = 0.0) {
    if (ok) {
        ++g_passes;
        printf("  ok    %-58s %.3g (tol %.1g)\n", what, value, tol);
    } else {
        ++g_failures;
        printf("  FAIL  %-58s %.3g (tol %.1g)\n", what, value, tol);
    }
}

static double err(const double* a, const double* b, size_t count) {
    double num = 0.0, den = 0.0;
    for (size_t k = 0; k < count; ++k) {
        const double d = fabs(a[k] - b[k]);
        if (!(d <= num)) num = d; /* NaN counts */
        if (fabs(b[k]) > den) den = fabs(b[k]);
    }
    if (den == 0.0) return num;
    return num / den;
}

static std::vector<double> to_d(const float* p, size_t count) {
    return std::vector<double>(p, p + count);
}

/* ---- model ----------------------------------------------------------------------------- */
struct Spec {
    std::vector<int> widths;
    int pre;       /* l2l_preprocessing */
    float p;
    float scale;
    int options;
    std::vector<int> gac = {}; /* global averaging cells per layer (none when empty) */
};

static l2l_model make_model(const Spec& s) {
    l2l_model m;
    memset(&m, 0, sizeof m);
    m.num_layers = (int32_t)s.widths.size();
    m.in0 = s.pre == L2L_PREPROCESS_LOG_AND_SIGN ? 2 : 1;
    int64_t off = 0, row = 0;
    int32_t in = m.in0, maxw = m.in0;
    for (int l = 0; l < m.num_layers; ++l) {
        const int H = s.widths[l];
        l2l_layer& ly = m.layers[l];
        ly.in = in;
        ly.width = H;
        ly.w_ih = off;
        ly.w_hh = ly.w_ih + 4LL * H * in;
        ly.b_ih = ly.w_hh + 4LL * H * H;
        ly.b_hh = ly.b_ih + 4LL * H;
        ly.h_row = row;
        ly.gac = l < (int)s.gac.size() ? s.gac[l] : 0;
        if (ly.gac > 0) m.averaging = true;
        off = ly.b_hh + 4LL * H;
        row += 2 * H;
        in = H;
        if (H > maxw) maxw = H;
    }
    m.out_in = in;
    m.max_width = maxw;
    m.w_out = off;
    m.b_out = off + in;
    m.phi_size = m.b_out + 1;
    m.state_rows = row;
    m.output_scale = s.scale;
    m.p = s.p;
    m.pre.kind = s.pre;
    m.pre.log_eps = (s.options & L2L_LOG_EPSILON) ? 1 : 0;
    m.bf16_products = (s.options & L2L_BF16_PRODUCTS) != 0;
    m.pre.inv_p = 1.0f / s.p;
    m.pre.exp_p = expf(s.p);
    return m;
}

/* ---- float64 reference (l2l.h equations) ----------------------------------------------- */
struct Ref {
    const l2l_model& m;
    const std::vector<double>& phi;
    int L() const { return m.num_layers; }
    int H(int l) const { return m.layers[l].width; }
    int in(int l) const { return m.layers[l].in; }
    double wih(int l, int r, int c) const { return phi[m.layers[l].w_ih + (int64_t)r * in(l) + c]; }
    double whh(int l, int r, int c) const { return phi[m.layers[l].w_hh + (int64_t)r * H(l) + c]; }
    double bias(int l, int r) const { return phi[m.layers[l].b_ih + r] + phi[m.layers[l].b_hh + r]; }

    void pre(double x, double* u) const {
        if (m.pre.kind == L2L_PREPROCESS_IDENTITY) {
            u[0] = x;
            return;
        }
        double a = fabs(x);
        a = m.pre.log_eps ? a + 1.1920929e-7 : (a < FLT_MIN ? FLT_MIN : a);
        const double l = log(a) / (double)m.p;
        u[0] = l < -1.0 ? -1.0 : l;
        double s = x * exp((double)m.p);
        u[1] = s > 1.0 ? 1.0 : (s < -1.0 ? -1.0 : s);
    }
    void pre_d(double x, double* d) const {
        if (m.pre.kind == L2L_PREPROCESS_IDENTITY) {
            d[0] = 1.0;
            return;
        }
        double a = fabs(x);
        a = m.pre.log_eps ? a + 1.1920929e-7 : (a < FLT_MIN ? FLT_MIN : a);
        const double l = log(a) / (double)m.p;
        const double sg = x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0);
        d[0] = l > -1.0 ? sg / ((double)m.p * a) : 0.0;
        const double s = x * exp((double)m.p);
        d[1] = (s > -1.0 && s < 1.0) ? exp((double)m.p) : 0.0;
    }
    static double sig(double z) { return 1.0 / (1.0 + exp(-z)); }

    /* per-layer values of one step */
    struct Tape {
        std::vector<std::vector<double>> u;      /* u[l]: input of layer l (u[L]: output input) */
        std::vector<std::vector<double>> hp, cp; /* state before */
        std::vector<std::vector<double>> i, f, g, o, c, tc;
        double x;
        double delta;
    };

    /* one step for one coordinate: state (S values) updated in place */
    Tape step(double x, std::vector<double>& state) const {
        Tape t;
        t.x = x;
        t.u.resize(L() + 1);
        t.hp.resize(L());
        t.cp.resize(L());
        t.i.resize(L());
        t.f.resize(L());
        t.g.resize(L());
        t.o.resize(L());
        t.c.resize(L());
        t.tc.resize(L());
        t.u[0].resize(m.in0);
        pre(x, t.u[0].data());
        for (int l = 0; l < L(); ++l) {
            const int Hl = H(l);
            const int64_t hr = m.layers[l].h_row;
            t.hp[l].assign(state.begin() + hr, state.begin() + hr + Hl);
            t.cp[l].assign(state.begin() + hr + Hl, state.begin() + hr + 2 * Hl);
            std::vector<double> z(4 * Hl);
            for (int r = 0; r < 4 * Hl; ++r) {
                double s = bias(l, r);
                for (int c = 0; c < in(l); ++c) s += wih(l, r, c) * t.u[l][c];
                for (int c = 0; c < Hl; ++c) s += whh(l, r, c) * t.hp[l][c];
                z[r] = s;
            }
            t.i[l].resize(Hl);
            t.f[l].resize(Hl);
            t.g[l].resize(Hl);
            t.o[l].resize(Hl);
            t.c[l].resize(Hl);
            t.tc[l].resize(Hl);
            t.u[l + 1].resize(Hl);
            for (int j = 0; j < Hl; ++j) {
                t.i[l][j] = sig(z[j]);
                t.f[l][j] = sig(z[Hl + j]);
                t.g[l][j] = tanh(z[2 * Hl + j]);
                t.o[l][j] = sig(z[3 * Hl + j]);
                t.c[l][j] = t.f[l][j] * t.cp[l][j] + t.i[l][j] * t.g[l][j];
                t.tc[l][j] = tanh(t.c[l][j]);
                t.u[l + 1][j] = t.o[l][j] * t.tc[l][j];
                state[hr + j] = t.u[l + 1][j];
                state[hr + Hl + j] = t.c[l][j];
            }
        }
        double d = phi[m.b_out];
        for (int c = 0; c < m.out_in; ++c) d += phi[m.w_out + c] * t.u[L()][c];
        t.delta = (double)m.output_scale * d;
        return t;
    }

    /* Backward for one coordinate through `steps` steps starting from state0 with inputs xs:
     * adds into dphi; returns dstate_initial and dx. */
    void backward(const std::vector<double>& xs, const std::vector<double>& state0,
                  const std::vector<double>& dloss, const std::vector<double>* dfinal,
                  std::vector<double>& dphi, std::vector<double>& dinit, std::vector<double>& dx) const {
        const int steps = (int)xs.size();
        std::vector<Tape> tapes;
        std::vector<double> st = state0;
        for (int s = 0; s < steps; ++s) tapes.push_back(step(xs[s], st));
        std::vector<std::vector<double>> dh(L()), dc(L());
        for (int l = 0; l < L(); ++l) {
            const int64_t hr = m.layers[l].h_row;
            dh[l].assign(H(l), 0.0);
            dc[l].assign(H(l), 0.0);
            if (dfinal != nullptr) {
                for (int j = 0; j < H(l); ++j) {
                    dh[l][j] = (*dfinal)[hr + j];
                    dc[l][j] = (*dfinal)[hr + H(l) + j];
                }
            }
        }
        dx.assign(steps, 0.0);
        for (int s = steps - 1; s >= 0; --s) {
            const Tape& t = tapes[s];
            const double dD = dloss[s] * (double)m.output_scale;
            dphi[m.b_out] += dD;
            std::vector<double> du(m.out_in);
            for (int c = 0; c < m.out_in; ++c) {
                dphi[m.w_out + c] += dD * t.u[L()][c];
                du[c] = dD * phi[m.w_out + c];
            }
            for (int l = L() - 1; l >= 0; --l) {
                const int Hl = H(l);
                const l2l_layer& ly = m.layers[l];
                std::vector<double> dz(4 * Hl);
                for (int j = 0; j < Hl; ++j) {
                    const double dht = dh[l][j] + du[j];
                    const double dct = dc[l][j] + dht * t.o[l][j] * (1 - t.tc[l][j] * t.tc[l][j]);
                    dz[3 * Hl + j] = dht * t.tc[l][j] * t.o[l][j] * (1 - t.o[l][j]);
                    dz[j] = dct * t.g[l][j] * t.i[l][j] * (1 - t.i[l][j]);
                    dz[2 * Hl + j] = dct * t.i[l][j] * (1 - t.g[l][j] * t.g[l][j]);
                    dz[Hl + j] = dct * t.cp[l][j] * t.f[l][j] * (1 - t.f[l][j]);
                    dc[l][j] = dct * t.f[l][j];
                }
                std::vector<double> dlow(in(l), 0.0), dhp(Hl, 0.0);
                for (int r = 0; r < 4 * Hl; ++r) {
                    dphi[ly.b_ih + r] += dz[r];
                    dphi[ly.b_hh + r] += dz[r];
                    for (int c = 0; c < in(l); ++c) {
                        dphi[ly.w_ih + (int64_t)r * in(l) + c] += dz[r] * t.u[l][c];
                        dlow[c] += wih(l, r, c) * dz[r];
                    }
                    for (int c = 0; c < Hl; ++c) {
                        dphi[ly.w_hh + (int64_t)r * Hl + c] += dz[r] * t.hp[l][c];
                        dhp[c] += whh(l, r, c) * dz[r];
                    }
                }
                dh[l] = dhp;
                du = dlow;
            }
            double d[2];
            pre_d(t.x, d);
            double v = 0;
            for (int c = 0; c < m.in0; ++c) v += du[c] * d[c];
            dx[s] = v;
        }
        dinit.assign(m.state_rows, 0.0);
        for (int l = 0; l < L(); ++l) {
            const int64_t hr = m.layers[l].h_row;
            for (int j = 0; j < H(l); ++j) {
                dinit[hr + j] = dh[l][j];
                dinit[hr + H(l) + j] = dc[l][j];
            }
        }
    }
};

/* ---- test data ------------------------------------------------------------------------- */
static std::mt19937_64 g_rng(12345);
static double uni(double a, double b) { return std::uniform_real_distribution<double>(a, b)(g_rng); }

/* gradient-like values spanning several magnitudes, both signs */
static float grad_value() {
    const double mag = pow(10.0, uni(-7.0, 0.5));
    return (float)(uni(0, 1) < 0.5 ? -mag : mag);
}

static std::vector<float> random_phi(const l2l_model& m) {
    std::vector<float> phi(m.phi_size);
    for (auto& v : phi) v = (float)uni(-0.45, 0.45);
    return phi;
}

/* ---- the CUDA context under test and its memory ----------------------------------------- */
static void must(int32_t st, const char* what) {
    if (st != L2L_OK) {
        printf("%s failed (%d): %s\n", what, st, g_last_error.c_str());
        exit(2);
    }
}

/* A context on device 0, reached through the CUDA table of operations as the API layer does. */
struct Ctx {
    l2l_context ctx;
    Ctx() {
        ctx.ops = &l2l::cuda_ops();
        ctx.backend = nullptr;
        must(ops().create(&ctx, 0), "create");
    }
    ~Ctx() { ops().destroy(&ctx); }
    const l2l::BackendOps& ops() const { return *ctx.ops; }
};

/* A buffer where the context computes, filled from and read back to host vectors. */
template <typename T>
struct Dev {
    Ctx& c;
    T* p = nullptr;
    size_t count;
    Dev(Ctx& c_, size_t count_) : c(c_), count(count_) {
        void* q = nullptr;
        must(c.ops().mem_alloc(&c.ctx, (int64_t)(count > 0 ? count : 1) * sizeof(T), &q), "malloc");
        p = static_cast<T*>(q);
    }
    Dev(Ctx& c_, const std::vector<T>& v) : Dev(c_, v.size()) { put(v); }
    ~Dev() { c.ops().mem_free(&c.ctx, p); }
    Dev(const Dev&) = delete;
    Dev& operator=(const Dev&) = delete;
    void put(const std::vector<T>& v) {
        must(c.ops().mem_copy(&c.ctx, p, v.data(), (int64_t)(v.size() * sizeof(T)),
                                L2L_COPY_HOST_TO_CONTEXT), "memcpy to device");
    }
    std::vector<T> get() const {
        std::vector<T> v(count);
        must(c.ops().mem_copy(&c.ctx, v.data(), p, (int64_t)(count * sizeof(T)),
                                L2L_COPY_CONTEXT_TO_HOST), "memcpy to host");
        return v;
    }
};

/* Runs body(begin, end) over [0, count) on several host threads. */
template <typename Body>
static void parallel_for(int64_t count, Body body) {
    const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(16, std::thread::hardware_concurrency()));
    std::vector<std::thread> ts;
    for (int64_t w = 0; w < workers; ++w)
        ts.emplace_back([=, &body] { body(count * w / workers, count * (w + 1) / workers, (int)w); });
    for (auto& t : ts) t.join();
}

static std::string name_of(const Spec& s) {
    std::string n = "{";
    for (size_t k = 0; k < s.widths.size(); ++k) n += (k ? "," : "") + std::to_string(s.widths[k]);
    n += s.pre == L2L_PREPROCESS_LOG_AND_SIGN ? "} log&sign" : "} identity";
    if (s.options & L2L_LOG_EPSILON) n += "+eps";
    return n;
}

/* Per-tensor error of dphi. */
static double dphi_err(const l2l_model& m, const std::vector<double>& a, const std::vector<double>& b) {
    double worst = 0;
    auto upd = [&](int64_t off, int64_t len) {
        const double e = err(a.data() + off, b.data() + off, (size_t)len);
        if (!(e <= worst)) worst = e;
    };
    for (int l = 0; l < m.num_layers; ++l) {
        const l2l_layer& ly = m.layers[l];
        upd(ly.w_ih, ly.w_hh - ly.w_ih);
        upd(ly.w_hh, ly.b_ih - ly.w_hh);
        upd(ly.b_ih, ly.b_hh - ly.b_ih);
        upd(ly.b_hh, 4LL * ly.width);
    }
    upd(m.w_out, m.out_in);
    upd(m.b_out, 1);
    return worst;
}

/* ---- 1. the reference backward against finite differences ------------------------------ */
static void test_reference_fd(const Spec& spec) {
    const l2l_model m = make_model(spec);
    std::vector<double> phi(m.phi_size);
    for (auto& v : phi) v = uni(-0.6, 0.6);
    const int steps = 3;
    std::vector<double> xs(steps), s0(m.state_rows), dl(steps), df(m.state_rows);
    for (auto& v : xs) v = (double)grad_value() * 3;
    for (auto& v : s0) v = uni(-0.5, 0.5);
    for (auto& v : dl) v = uni(-1, 1);
    for (auto& v : df) v = uni(-1, 1);
    auto J = [&](const std::vector<double>& ph, const std::vector<double>& x, const std::vector<double>& st0) {
        Ref r{m, ph};
        std::vector<double> st = st0;
        double j = 0;
        for (int s = 0; s < steps; ++s) j += dl[s] * r.step(x[s], st).delta;
        for (int64_t k = 0; k < m.state_rows; ++k) j += df[k] * st[k];
        return j;
    };
    Ref r{m, phi};
    std::vector<double> dphi(m.phi_size, 0.0), dinit, dx;
    r.backward(xs, s0, dl, &df, dphi, dinit, dx);
    const double h = 1e-6;
    std::vector<double> fd(m.phi_size);
    for (int64_t k = 0; k < m.phi_size; ++k) {
        std::vector<double> a = phi, b = phi;
        a[k] += h;
        b[k] -= h;
        fd[k] = (J(a, xs, s0) - J(b, xs, s0)) / (2 * h);
    }
    std::vector<double> fds(m.state_rows);
    for (int64_t k = 0; k < m.state_rows; ++k) {
        std::vector<double> a = s0, b = s0;
        a[k] += h;
        b[k] -= h;
        fds[k] = (J(phi, xs, a) - J(phi, xs, b)) / (2 * h);
    }
    std::vector<double> fdx(steps);
    for (int s = 0; s < steps; ++s) {
        std::vector<double> a = xs, b = xs;
        /* relative steps keep log|x| smooth; identity inputs need an absolute floor */
        const double ax = m.pre.kind == L2L_PREPROCESS_IDENTITY ? fmax(fabs(xs[s]), 1e-2) : fabs(xs[s]);
        const double hx = ax * 1e-6;
        a[s] += hx;
        b[s] -= hx;
        fdx[s] = (J(phi, a, s0) - J(phi, b, s0)) / (2 * hx);
    }
    const std::string n = name_of(spec);
    double e = err(dphi.data(), fd.data(), fd.size());
    check(e < 1e-6, ("reference dphi vs finite differences " + n).c_str(), e, 1e-6);
    if (m.state_rows > 0) {
        e = err(dinit.data(), fds.data(), fds.size());
        check(e < 1e-6, ("reference dstate_initial vs finite differences " + n).c_str(), e, 1e-6);
    }
    e = err(dx.data(), fdx.data(), fdx.size());
    check(e < 1e-5, ("reference dx vs finite differences " + n).c_str(), e, 1e-5);
}

/* ---- 2-4. step and backward against the reference -------------------------------------- */
struct Run {
    std::vector<float> theta, state, record; /* after the steps */
    std::vector<double> dphi;
    std::vector<float> dinit, dx;
};

/* Runs `steps` steps over `sizes` tensors, then the backward over them, on the device. */
static Run run_cuda(Ctx& c, const l2l_model& m, const std::vector<float>& phi,
                    const std::vector<int64_t>& sizes, int64_t segment, const std::vector<float>& theta0,
                    const std::vector<float>& state0, const std::vector<std::vector<float>>& grads,
                    const std::vector<float>& dloss, const std::vector<float>* dfinal, bool want_dx,
                    bool want_dinit) {
    int64_t n = 0;
    for (int64_t s : sizes) n += s;
    const int steps = (int)grads.size();
    const int64_t S = m.state_rows, R = 1 + S;
    Dev<float> phi_d(c, phi), theta_d(c, theta0), state_d(c, state0);
    Dev<float> record_d(c, std::vector<float>((size_t)(steps * R * n), -7.0f));
    Dev<float> grad_d(c, (size_t)(steps * n));
    {
        std::vector<float> all((size_t)(steps * n));
        for (int s = 0; s < steps; ++s) std::copy(grads[s].begin(), grads[s].end(), all.begin() + (size_t)s * n);
        grad_d.put(all);
    }
    for (int s = 0; s < steps; ++s) {
        std::vector<float*> th;
        std::vector<const float*> gr;
        int64_t off = 0;
        for (int64_t sz : sizes) {
            th.push_back(theta_d.p + off);
            gr.push_back(grad_d.p + (size_t)s * n + off);
            off += sz;
        }
        l2l::StepArgs a;
        a.m = &m;
        a.phi = phi_d.p;
        a.num_tensors = (int32_t)sizes.size();
        a.theta = th.data();
        a.grad = gr.data();
        a.sizes = sizes.data();
        a.n = n;
        a.state = state_d.p;
        a.record = record_d.p + (size_t)s * R * n;
        a.segment = segment;
        must(c.ops().step(&c.ctx, a), "step");
    }
    Dev<float> dloss_d(c, dloss);
    Dev<float> dfinal_d(c, dfinal != nullptr ? *dfinal : std::vector<float>(1, 0.0f));
    Dev<double> dphi_d(c, std::vector<double>(m.phi_size, -1.0));
    Dev<float> dinit_d(c, std::vector<float>((size_t)(S * n), -7.0f));
    Dev<float> dx_d(c, std::vector<float>((size_t)(steps * n), -7.0f));
    l2l::BackwardArgs b;
    b.m = &m;
    b.phi = phi_d.p;
    b.n = n;
    b.steps = steps;
    b.record = record_d.p;
    b.dloss_ddelta = dloss_d.p;
    b.dstate_final = dfinal != nullptr ? dfinal_d.p : nullptr;
    b.dphi = dphi_d.p;
    b.dstate_initial = want_dinit ? dinit_d.p : nullptr;
    b.dx = want_dx ? dx_d.p : nullptr;
    b.segment = segment;
    must(c.ops().backward(&c.ctx, b), "backward");
    must(c.ops().synchronize(&c.ctx), "synchronize");
    Run out;
    out.theta = theta_d.get();
    out.state = state_d.get();
    out.record = record_d.get();
    out.dphi = dphi_d.get();
    out.dinit = dinit_d.get();
    out.dx = dx_d.get();
    return out;
}

/* The backward pass of the same unroll one step at a time, as an estimator that acts between
 * steps calls it (l2l.h): from the last step down, each call's dstate_initial is the next
 * call's dstate_final; dphi is the sum of the calls' in float64, in that order. */
static Run run_cuda_per_step(Ctx& c, const l2l_model& m, const std::vector<float>& phi,
                             const std::vector<float>& record, const std::vector<float>& dloss,
                             const std::vector<float>* dfinal, int64_t n, int64_t segment, int steps) {
    const int64_t S = m.state_rows, R = 1 + S;
    Dev<float> phi_d(c, phi), record_d(c, record), dloss_d(c, dloss);
    Dev<float> carry_d(c, dfinal != nullptr ? *dfinal : std::vector<float>((size_t)(S * n) + 1, 0.0f));
    Dev<float> next_d(c, std::vector<float>((size_t)(S * n) + 1, -7.0f));
    Dev<float> dx_d(c, std::vector<float>((size_t)(steps * n), -7.0f));
    Dev<double> dphi_d(c, std::vector<double>(m.phi_size, -1.0));
    Dev<float>* carry = &carry_d; /* dL/d state after step s */
    Dev<float>* next = &next_d;   /* ... before it */
    Run out;
    out.dphi.assign(m.phi_size, 0.0);
    for (int s = steps - 1; s >= 0; --s) {
        l2l::BackwardArgs b;
        b.m = &m;
        b.phi = phi_d.p;
        b.n = n;
        b.steps = 1;
        b.record = record_d.p + (size_t)s * R * n;
        b.dloss_ddelta = dloss_d.p + (size_t)s * n;
        b.dstate_final = (s == steps - 1 && dfinal == nullptr) || S == 0 ? nullptr : carry->p;
        b.dphi = dphi_d.p;
        b.dstate_initial = S > 0 ? next->p : nullptr;
        b.dx = dx_d.p + (size_t)s * n;
        b.segment = segment;
        must(c.ops().backward(&c.ctx, b), "backward of one step");
        const std::vector<double> part = dphi_d.get();
        for (int64_t k = 0; k < m.phi_size; ++k) out.dphi[k] += part[k];
        std::swap(carry, next);
    }
    must(c.ops().synchronize(&c.ctx), "synchronize");
    out.dinit = carry->get();
    out.dinit.resize((size_t)(S * n));
    out.dx = dx_d.get();
    return out;
}

/* Random inputs of an unroll over n coordinates: phi, theta_0, the state before step 0, each
 * step's gradients (spanning several magnitudes), dL/d delta and dL/d(state after the last step). */
struct UnrollInputs {
    std::vector<float> phi, theta0, state0;
    std::vector<std::vector<float>> grads;
    std::vector<float> dloss, dfinal;
    UnrollInputs(const l2l_model& m, int64_t n, int steps)
        : phi(random_phi(m)), theta0(n), state0((size_t)(m.state_rows * n)), grads(steps, std::vector<float>(n)),
          dloss((size_t)(steps * n)), dfinal((size_t)(m.state_rows * n)) {
        for (auto& v : theta0) v = (float)uni(-1, 1);
        for (auto& v : state0) v = (float)uni(-0.8, 0.8);
        for (auto& g : grads)
            for (auto& v : g) v = grad_value();
        for (auto& v : dloss) v = (float)uni(-1, 1);
        for (auto& v : dfinal) v = (float)uni(-1, 1);
    }
};

/* What the float64 reference gives for an unroll: theta's change over the steps, the state after
 * them, the record, dphi, dL/d(initial state) and dL/dx. */
struct Expected {
    std::vector<double> update, state, record, dphi, dinit, dx;
};

/* Runs the unroll of `in` over `sizes` tensors on the device (run_cuda) and checks it against the
 * reference x: theta's change, the state and the record within 2e-5, the backward pass (dphi per
 * tensor, dstate_initial, dx) within 1e-4 over the whole unroll and one step at a time (chained
 * from the last step down, as exact second derivatives call it), and every output of a second
 * run bitwise identical.  A model with bfloat16 products is held to l2l.h's contract instead:
 * every output within 2e-2 of its tensor's largest reference value. */
static void check_unroll(Ctx& c, const l2l_model& m, const std::vector<int64_t>& sizes, int64_t segment,
                         const UnrollInputs& in, bool with_dfinal, const Expected& x, const std::string& label) {
    const double fwd_tol = m.bf16_products ? 2e-2 : 2e-5;
    const double bwd_tol = m.bf16_products ? 2e-2 : 1e-4;
    int64_t n = 0;
    for (int64_t s : sizes) n += s;
    const int steps = (int)in.grads.size();
    const std::vector<float>* dfinal = with_dfinal ? &in.dfinal : nullptr;
    const Run r = run_cuda(c, m, in.phi, sizes, segment, in.theta0, in.state0, in.grads, in.dloss, dfinal, true, true);
    char what[200];
    const char* nm = label.c_str();
    std::vector<double> up(n);
    for (int64_t i = 0; i < n; ++i) up[i] = (double)r.theta[i] - in.theta0[i];
    double e = err(up.data(), x.update.data(), n);
    snprintf(what, sizeof what, "%s: theta update", nm);
    check(e < fwd_tol, what, e, fwd_tol);
    if (m.state_rows > 0) {
        const std::vector<double> sd = to_d(r.state.data(), r.state.size());
        e = err(sd.data(), x.state.data(), sd.size());
        snprintf(what, sizeof what, "%s: state", nm);
        check(e < fwd_tol, what, e, fwd_tol);
    }
    const std::vector<double> rd = to_d(r.record.data(), r.record.size());
    e = err(rd.data(), x.record.data(), rd.size());
    snprintf(what, sizeof what, "%s: record", nm);
    check(e < fwd_tol, what, e, fwd_tol);
    const auto check_backward = [&](const Run& b, const char* how) {
        double eb = dphi_err(m, b.dphi, x.dphi);
        snprintf(what, sizeof what, "%s steps=%d%s: dphi (worst tensor)", nm, steps, how);
        check(eb < bwd_tol, what, eb, bwd_tol);
        if (m.state_rows > 0) {
            const std::vector<double> dd = to_d(b.dinit.data(), b.dinit.size());
            eb = err(dd.data(), x.dinit.data(), dd.size());
            snprintf(what, sizeof what, "%s%s: dstate_initial", nm, how);
            check(eb < bwd_tol, what, eb, bwd_tol);
        }
        const std::vector<double> dxd = to_d(b.dx.data(), b.dx.size());
        eb = err(dxd.data(), x.dx.data(), dxd.size());
        snprintf(what, sizeof what, "%s%s: dx", nm, how);
        check(eb < bwd_tol, what, eb, bwd_tol);
    };
    check_backward(r, "");
    check_backward(run_cuda_per_step(c, m, in.phi, r.record, in.dloss, dfinal, n, segment, steps),
                   ", one step at a time");
    const Run r2 = run_cuda(c, m, in.phi, sizes, segment, in.theta0, in.state0, in.grads, in.dloss, dfinal, true,
                            true);
    snprintf(what, sizeof what, "%s: every output bitwise identical on a second run", nm);
    check(r.theta == r2.theta && r.state == r2.state && r.dinit == r2.dinit && r.dx == r2.dx &&
              memcmp(r.dphi.data(), r2.dphi.data(), r.dphi.size() * sizeof(double)) == 0,
          what);
}

static void test_model(Ctx& c, const Spec& spec, const std::vector<int64_t>& sizes, int steps,
                       bool with_dfinal, const char* path) {
    const l2l_model m = make_model(spec);
    int64_t n = 0;
    for (int64_t s : sizes) n += s;
    const int64_t S = m.state_rows, R = 1 + S;
    const UnrollInputs in(m, n, steps);
    const std::vector<float>&phi = in.phi, &theta0 = in.theta0, &state0 = in.state0, &dloss = in.dloss,
                             &dfinal = in.dfinal;
    const std::vector<std::vector<float>>& grads = in.grads;

    /* reference, coordinate by coordinate */
    const std::vector<double> phid = to_d(phi.data(), phi.size());
    Ref ref{m, phid};
    std::vector<double> theta_ref(n), state_ref((size_t)(S * n)), record_ref((size_t)(steps * R * n));
    std::vector<double> dphi_ref(m.phi_size, 0.0), dinit_ref((size_t)(S * n)), dx_ref((size_t)(steps * n));
    const int64_t workers = 16;
    std::vector<std::vector<double>> dphi_part(workers, std::vector<double>(m.phi_size, 0.0));
    parallel_for(n, [&](int64_t i0, int64_t i1, int w) {
    for (int64_t i = i0; i < i1; ++i) {
        std::vector<double>& dphi_ref = dphi_part[w];
        std::vector<double> st(S), st0(S);
        for (int64_t k = 0; k < S; ++k) st0[k] = st[k] = state0[k * n + i];
        double th = theta0[i];
        std::vector<double> xs(steps), dl(steps);
        for (int s = 0; s < steps; ++s) {
            xs[s] = grads[s][i];
            dl[s] = dloss[(size_t)s * n + i];
            record_ref[(size_t)(s * R) * n + i] = xs[s];
            for (int64_t k = 0; k < S; ++k) record_ref[(size_t)(s * R + 1 + k) * n + i] = st[k];
            th += ref.step(xs[s], st).delta;
        }
        theta_ref[i] = th;
        for (int64_t k = 0; k < S; ++k) state_ref[k * n + i] = st[k];
        std::vector<double> df(S);
        for (int64_t k = 0; k < S; ++k) df[k] = dfinal[k * n + i];
        std::vector<double> dinit, dx;
        ref.backward(xs, st0, dl, with_dfinal ? &df : nullptr, dphi_ref, dinit, dx);
        for (int64_t k = 0; k < S; ++k) dinit_ref[k * n + i] = dinit[k];
        for (int s = 0; s < steps; ++s) dx_ref[(size_t)s * n + i] = dx[s];
    }
    });
    for (const auto& part : dphi_part)
        for (int64_t k = 0; k < m.phi_size; ++k) dphi_ref[k] += part[k];

    Expected x;
    x.update.resize(n);
    for (int64_t i = 0; i < n; ++i) x.update[i] = theta_ref[i] - theta0[i];
    x.state = state_ref;
    x.record = record_ref;
    x.dphi = dphi_ref;
    x.dinit = dinit_ref;
    x.dx = dx_ref;
    check_unroll(c, m, sizes, n, in, with_dfinal, x,
                 std::string(path) + " " + name_of(spec) + (with_dfinal ? " dfinal" : "") + " n=" + std::to_string(n));
}

/* ---- 1b. LSTM+GAC: the population reference and its finite differences ------------------- */
/* The float64 reference of a model with global averaging cells (l2l.h): every coordinate's step
 * as Ref's, layer by layer over all n coordinates, the first gac units of each layer replaced by
 * their mean over each segment of `segment` coordinates before the next layer and step read them;
 * the backward pass spreads the mean's gradient over the segment.  Values [row][coordinate]. */
struct GacRef {
    const l2l_model& m;
    const std::vector<double>& phi;
    int64_t n, segment;
    typedef std::vector<std::vector<double>> Rows;
    struct Tape {
        std::vector<Rows> u, hp, cp, i, f, g, o, tc; /* [l][unit][coordinate]; u[L]: output input */
        std::vector<double> x, delta;
    };
    Ref ref() const { return Ref{m, phi}; }

    void average(Rows& v, int count) const {
        for (int j = 0; j < count; ++j)
            for (int64_t lo = 0; lo < n; lo += segment) {
                double s = 0;
                for (int64_t k = lo; k < lo + segment; ++k) s += v[j][k];
                for (int64_t k = lo; k < lo + segment; ++k) v[j][k] = s / (double)segment;
            }
    }

    /* one step of every coordinate; state [S][n] (flat, row-major) advanced in place */
    Tape step(const std::vector<double>& x, std::vector<double>& state) const {
        const Ref r = ref();
        const int L = m.num_layers;
        Tape t;
        t.x = x;
        t.u.resize(L + 1);
        t.hp.resize(L), t.cp.resize(L), t.i.resize(L), t.f.resize(L), t.g.resize(L), t.o.resize(L), t.tc.resize(L);
        t.u[0].assign(m.in0, std::vector<double>(n));
        for (int64_t k = 0; k < n; ++k) {
            double u[2];
            r.pre(x[k], u);
            for (int c = 0; c < m.in0; ++c) t.u[0][c][k] = u[c];
        }
        for (int l = 0; l < L; ++l) {
            const int H = r.H(l), in = r.in(l);
            const int64_t hr = m.layers[l].h_row;
            Rows hn(H, std::vector<double>(n)), cn(H, std::vector<double>(n));
            t.hp[l].assign(H, std::vector<double>(n));
            t.cp[l] = t.hp[l], t.i[l] = t.hp[l], t.f[l] = t.hp[l], t.g[l] = t.hp[l], t.o[l] = t.hp[l], t.tc[l] = t.hp[l];
            for (int64_t k = 0; k < n; ++k) {
                for (int j = 0; j < H; ++j) {
                    t.hp[l][j][k] = state[(hr + j) * n + k];
                    t.cp[l][j][k] = state[(hr + H + j) * n + k];
                }
                for (int j = 0; j < H; ++j) {
                    double z[4];
                    for (int q = 0; q < 4; ++q) {
                        const int row = q * H + j;
                        double s = r.bias(l, row);
                        for (int c = 0; c < in; ++c) s += r.wih(l, row, c) * t.u[l][c][k];
                        for (int c = 0; c < H; ++c) s += r.whh(l, row, c) * t.hp[l][c][k];
                        z[q] = s;
                    }
                    t.i[l][j][k] = Ref::sig(z[0]);
                    t.f[l][j][k] = Ref::sig(z[1]);
                    t.g[l][j][k] = tanh(z[2]);
                    t.o[l][j][k] = Ref::sig(z[3]);
                    cn[j][k] = t.f[l][j][k] * t.cp[l][j][k] + t.i[l][j][k] * t.g[l][j][k];
                    t.tc[l][j][k] = tanh(cn[j][k]);
                    hn[j][k] = t.o[l][j][k] * t.tc[l][j][k];
                }
            }
            average(hn, m.layers[l].gac);
            for (int j = 0; j < H; ++j)
                for (int64_t k = 0; k < n; ++k) {
                    state[(hr + j) * n + k] = hn[j][k];
                    state[(hr + H + j) * n + k] = cn[j][k];
                }
            t.u[l + 1] = hn;
        }
        t.delta.assign(n, 0.0);
        for (int64_t k = 0; k < n; ++k) {
            double d = phi[m.b_out];
            for (int c = 0; c < m.out_in; ++c) d += phi[m.w_out + c] * t.u[L][c][k];
            t.delta[k] = (double)m.output_scale * d;
        }
        return t;
    }

    /* sum_s dloss_s . delta_s + dfinal . state_T over an unroll (xs [steps][n]) */
    double loss(const std::vector<std::vector<double>>& xs, std::vector<double> state,
                const std::vector<double>& dloss, const std::vector<double>* dfinal) const {
        double j = 0;
        for (size_t s = 0; s < xs.size(); ++s) {
            const Tape t = step(xs[s], state);
            for (int64_t k = 0; k < n; ++k) j += dloss[s * n + k] * t.delta[k];
        }
        if (dfinal != nullptr)
            for (size_t k = 0; k < state.size(); ++k) j += (*dfinal)[k] * state[k];
        return j;
    }

    /* the gradients of loss(): dphi added into, dinit [S][n], dx [steps][n] */
    void backward(const std::vector<std::vector<double>>& xs, std::vector<double> state,
                  const std::vector<double>& dloss, const std::vector<double>* dfinal, std::vector<double>& dphi,
                  std::vector<double>& dinit, std::vector<double>& dx) const {
        const Ref r = ref();
        const int L = m.num_layers, steps = (int)xs.size();
        std::vector<Tape> tapes;
        for (int s = 0; s < steps; ++s) tapes.push_back(step(xs[s], state));
        std::vector<Rows> dh(L), dc(L);
        for (int l = 0; l < L; ++l) {
            const int H = r.H(l);
            const int64_t hr = m.layers[l].h_row;
            dh[l].assign(H, std::vector<double>(n, 0.0));
            dc[l] = dh[l];
            for (int j = 0; j < H && dfinal != nullptr; ++j)
                for (int64_t k = 0; k < n; ++k) {
                    dh[l][j][k] = (*dfinal)[(hr + j) * n + k];
                    dc[l][j][k] = (*dfinal)[(hr + H + j) * n + k];
                }
        }
        dx.assign((size_t)(steps * n), 0.0);
        for (int s = steps - 1; s >= 0; --s) {
            const Tape& t = tapes[s];
            Rows du(m.out_in, std::vector<double>(n));
            for (int64_t k = 0; k < n; ++k) {
                const double dD = dloss[s * n + k] * (double)m.output_scale;
                dphi[m.b_out] += dD;
                for (int c = 0; c < m.out_in; ++c) {
                    dphi[m.w_out + c] += dD * t.u[L][c][k];
                    du[c][k] = dD * phi[m.w_out + c];
                }
            }
            for (int l = L - 1; l >= 0; --l) {
                const int H = r.H(l), in = r.in(l);
                const l2l_layer& ly = m.layers[l];
                Rows total(H, std::vector<double>(n));
                for (int j = 0; j < H; ++j)
                    for (int64_t k = 0; k < n; ++k) total[j][k] = du[j][k] + dh[l][j][k];
                average(total, ly.gac); /* the averaging units' h is the mean of the segment's */
                Rows dlow(in, std::vector<double>(n, 0.0)), dhp(H, std::vector<double>(n, 0.0));
                for (int64_t k = 0; k < n; ++k) {
                    std::vector<double> dz(4 * H);
                    for (int j = 0; j < H; ++j) {
                        const double dht = total[j][k], o = t.o[l][j][k], tc = t.tc[l][j][k];
                        const double gi = t.i[l][j][k], gf = t.f[l][j][k], gg = t.g[l][j][k];
                        const double dct = dc[l][j][k] + dht * o * (1 - tc * tc);
                        dz[3 * H + j] = dht * tc * o * (1 - o);
                        dz[j] = dct * gg * gi * (1 - gi);
                        dz[2 * H + j] = dct * gi * (1 - gg * gg);
                        dz[H + j] = dct * t.cp[l][j][k] * gf * (1 - gf);
                        dc[l][j][k] = dct * gf;
                    }
                    for (int row = 0; row < 4 * H; ++row) {
                        dphi[ly.b_ih + row] += dz[row];
                        dphi[ly.b_hh + row] += dz[row];
                        for (int c = 0; c < in; ++c) {
                            dphi[ly.w_ih + (int64_t)row * in + c] += dz[row] * t.u[l][c][k];
                            dlow[c][k] += r.wih(l, row, c) * dz[row];
                        }
                        for (int c = 0; c < H; ++c) {
                            dphi[ly.w_hh + (int64_t)row * H + c] += dz[row] * t.hp[l][c][k];
                            dhp[c][k] += r.whh(l, row, c) * dz[row];
                        }
                    }
                }
                dh[l] = dhp;
                du = dlow;
            }
            for (int64_t k = 0; k < n; ++k) {
                double d[2];
                r.pre_d(t.x[k], d);
                double v = 0;
                for (int c = 0; c < m.in0; ++c) v += du[c][k] * d[c];
                dx[s * n + k] = v;
            }
        }
        dinit.assign((size_t)(m.state_rows * n), 0.0);
        for (int l = 0; l < L; ++l) {
            const int64_t hr = m.layers[l].h_row;
            const int H = r.H(l);
            for (int j = 0; j < H; ++j)
                for (int64_t k = 0; k < n; ++k) {
                    dinit[(hr + j) * n + k] = dh[l][j][k];
                    dinit[(hr + H + j) * n + k] = dc[l][j][k];
                }
        }
    }
};

static void test_gac_reference_fd(const Spec& spec) {
    const l2l_model m = make_model(spec);
    const int64_t n = 6, segment = 3;
    const int steps = 3;
    std::vector<double> phi(m.phi_size);
    for (auto& v : phi) v = uni(-0.9, 0.9);
    std::vector<std::vector<double>> xs(steps, std::vector<double>(n));
    for (auto& row : xs)
        for (auto& v : row) v = uni(0.05, 1.0) * (uni(0, 1) < 0.5 ? -1 : 1);
    std::vector<double> s0((size_t)(m.state_rows * n)), dl((size_t)(steps * n)), df(s0.size());
    for (auto& v : s0) v = uni(-0.5, 0.5);
    for (auto& v : dl) v = uni(-1, 1);
    for (auto& v : df) v = uni(-1, 1);
    const GacRef ref{m, phi, n, segment};
    std::vector<double> dphi(m.phi_size, 0.0), dinit, dx;
    ref.backward(xs, s0, dl, &df, dphi, dinit, dx);
    const double h = 1e-6;
    std::vector<double> fd(m.phi_size);
    for (int64_t k = 0; k < m.phi_size; ++k) {
        std::vector<double> a = phi, b = phi;
        a[k] += h;
        b[k] -= h;
        fd[k] = (GacRef{m, a, n, segment}.loss(xs, s0, dl, &df) - GacRef{m, b, n, segment}.loss(xs, s0, dl, &df)) /
                (2 * h);
    }
    std::vector<double> fds(s0.size());
    for (size_t k = 0; k < s0.size(); ++k) {
        std::vector<double> a = s0, b = s0;
        a[k] += h;
        b[k] -= h;
        fds[k] = (ref.loss(xs, a, dl, &df) - ref.loss(xs, b, dl, &df)) / (2 * h);
    }
    std::vector<double> fdx((size_t)(steps * n));
    for (int s = 0; s < steps; ++s)
        for (int64_t k = 0; k < n; ++k) {
            std::vector<std::vector<double>> a = xs, b = xs;
            const double hx = fabs(xs[s][k]) * 1e-6;
            a[s][k] += hx;
            b[s][k] -= hx;
            fdx[s * n + k] = (ref.loss(a, s0, dl, &df) - ref.loss(b, s0, dl, &df)) / (2 * hx);
        }
    const std::string nm = name_of(spec);
    double e = err(dphi.data(), fd.data(), fd.size());
    check(e < 1e-6, ("GAC reference dphi vs finite differences " + nm).c_str(), e, 1e-6);
    e = err(dinit.data(), fds.data(), fds.size());
    check(e < 1e-6, ("GAC reference dstate_initial vs finite differences " + nm).c_str(), e, 1e-6);
    e = err(dx.data(), fdx.data(), fdx.size());
    check(e < 1e-5, ("GAC reference dx vs finite differences " + nm).c_str(), e, 1e-5);
}

/* ---- 4b. LSTM+GAC on the device against the population reference -------------------------- */
static void test_gac(Ctx& c, const Spec& spec, const std::vector<int64_t>& sizes, int64_t segment, int steps,
                     const char* path) {
    const l2l_model m = make_model(spec);
    int64_t n = 0;
    for (int64_t s : sizes) n += s;
    const int64_t R = 1 + m.state_rows;
    const UnrollInputs in(m, n, steps);
    const std::vector<double> phid = to_d(in.phi.data(), in.phi.size());
    const GacRef ref{m, phid, n, segment};
    std::vector<std::vector<double>> xs(steps);
    for (int s = 0; s < steps; ++s) xs[s] = to_d(in.grads[s].data(), n);
    Expected x;
    x.state = to_d(in.state0.data(), in.state0.size());
    x.update.assign(n, 0.0);
    x.record.resize((size_t)(steps * R * n));
    for (int s = 0; s < steps; ++s) {
        for (int64_t k = 0; k < n; ++k) x.record[(size_t)(s * R) * n + k] = xs[s][k];
        std::copy(x.state.begin(), x.state.end(), x.record.begin() + (size_t)(s * R + 1) * n);
        const GacRef::Tape t = ref.step(xs[s], x.state);
        for (int64_t k = 0; k < n; ++k) x.update[k] += t.delta[k];
    }
    const std::vector<double> df = to_d(in.dfinal.data(), in.dfinal.size());
    x.dphi.assign(m.phi_size, 0.0);
    ref.backward(xs, to_d(in.state0.data(), in.state0.size()), to_d(in.dloss.data(), in.dloss.size()), &df, x.dphi,
                 x.dinit, x.dx);
    check_unroll(c, m, sizes, segment, in, true, x,
                 std::string(path) + " " + name_of(spec) + (m.averaging ? " gac" : "") + " n=" + std::to_string(n) + " segment=" +
                     std::to_string(segment));
}

/* A step without a record updates theta and the state exactly as one with a record. */
static void test_no_record(Ctx& c, const Spec& spec, const char* path) {
    const l2l_model m = make_model(spec);
    const int64_t n = 150, S = m.state_rows, R = 1 + S;
    std::vector<float> theta(n), state((size_t)(S * n)), grad(n);
    for (auto& v : theta) v = (float)uni(-1, 1);
    for (auto& v : state) v = (float)uni(-0.8, 0.8);
    for (auto& v : grad) v = grad_value();
    Dev<float> phi_d(c, random_phi(m)), grad_d(c, grad), record_d(c, (size_t)(R * n));
    Dev<float> theta1(c, theta), state1(c, state), theta2(c, theta), state2(c, state);
    const float* gr = grad_d.p;
    l2l::StepArgs a;
    a.m = &m;
    a.phi = phi_d.p;
    a.num_tensors = 1;
    a.grad = &gr;
    a.sizes = &n;
    a.n = n;
    float* th = theta1.p;
    a.theta = &th;
    a.state = state1.p;
    a.record = record_d.p;
    must(c.ops().step(&c.ctx, a), "step");
    th = theta2.p;
    a.state = state2.p;
    a.record = nullptr;
    must(c.ops().step(&c.ctx, a), "step");
    const bool same = theta1.get() == theta2.get() && state1.get() == state2.get();
    check(same, (std::string(path) + " " + name_of(spec) + ": step without record identical").c_str());
}

/* ---- 5. meta_loss_grads ----------------------------------------------------------------- */
static void test_meta_loss(Ctx& c) {
    const l2l_model m = make_model({{3, 2}, L2L_PREPROCESS_LOG_AND_SIGN, 10.0f, 0.1f, 0});
    const int64_t n = 301, R = 1 + m.state_rows;
    const int steps = 5;
    std::vector<float> record((size_t)(steps * R * n)), gl(n);
    for (auto& v : record) v = (float)uni(-1, 1);
    for (auto& v : gl) v = (float)uni(-1, 1);
    const float scale = 0.25f;
    Dev<float> record_d(c, record), gl_d(c, gl), out_d(c, std::vector<float>((size_t)(steps * n), -7.0f));
    must(c.ops().meta_loss_grads(&c.ctx, &m, n, steps, record_d.p, gl_d.p, scale, out_d.p),
         "meta_loss_grads");
    const std::vector<float> out = out_d.get();
    std::vector<double> ref((size_t)(steps * n)), got = to_d(out.data(), out.size());
    for (int64_t i = 0; i < n; ++i)
        for (int s = 0; s < steps; ++s) {
            double v = gl[i];
            for (int t = s + 1; t < steps; ++t) v += record[(size_t)(t * R) * n + i];
            ref[(size_t)s * n + i] = scale * v;
        }
    const double e = err(got.data(), ref.data(), ref.size());
    check(e < 1e-6, "meta_loss_grads", e, 1e-6);
}

/* ---- 6. find_non_finite ----------------------------------------------------------------- */
static void test_non_finite(Ctx& c) {
    std::vector<float> v(100003, 1.0f);
    Dev<float> d(c, v);
    int64_t idx = 0;
    must(c.ops().find_non_finite(&c.ctx, d.p, (int64_t)v.size(), &idx), "find_non_finite");
    check(idx == -1, "find_non_finite: none", (double)idx);
    v[77777] = INFINITY;
    v[99999] = NAN;
    v[80000] = -INFINITY;
    d.put(v);
    must(c.ops().find_non_finite(&c.ctx, d.p, (int64_t)v.size(), &idx), "find_non_finite");
    check(idx == 77777, "find_non_finite: smallest index of several", (double)idx);
    v[3] = NAN;
    d.put(v);
    must(c.ops().find_non_finite(&c.ctx, d.p, (int64_t)v.size(), &idx), "find_non_finite");
    check(idx == 3, "find_non_finite: NaN", (double)idx);
}

static std::vector<float> uniform_floats(size_t count, double lo, double hi) {
    std::vector<float> v(count);
    for (auto& x : v) x = (float)uni(lo, hi);
    return v;
}

/* ---- 6a. allocation failures injected by the switch of l2l_testing.h ------------------------ */
static void test_injected_allocation_failures() {
    /* a context: its state, its device result cell, the cell's pinned host copy */
    int64_t k = 1;
    for (;; ++k) {
        l2l_testing_fail_allocation(k);
        l2l_context ctx;
        ctx.ops = &l2l::cuda_ops();
        ctx.backend = nullptr;
        const int32_t st = ctx.ops->create(&ctx, 0);
        const int64_t left = l2l_testing_fail_allocation(0);
        if (left > 0) {
            must(st, "create");
            ctx.ops->destroy(&ctx);
            break;
        }
        check(st == L2L_ERR_OUT_OF_MEMORY && ctx.backend == nullptr,
              "context with allocation k failing: OUT_OF_MEMORY", (double)k);
    }
    check(k == 4, "a context makes 3 allocations", (double)(k - 1));
    Ctx c;
    void* p = nullptr;
    l2l_testing_fail_allocation(1);
    int32_t st = c.ops().mem_alloc(&c.ctx, 4096, &p);
    check(st == L2L_ERR_OUT_OF_MEMORY && p == nullptr, "mem_alloc with its allocation failing: OUT_OF_MEMORY", st);
    printf("        (%s)\n", g_last_error.c_str());
    /* the backward pass's workspace, allocated at its first call: nothing written on failure */
    const l2l_model m = make_model({{20, 20}, L2L_PREPROCESS_LOG_AND_SIGN, 10.0f, 0.1f, 0});
    const int64_t n = 300, R = 1 + m.state_rows;
    Dev<float> phi_d(c, random_phi(m)), record_d(c, uniform_floats((size_t)(2 * R * n), -0.5, 0.5));
    Dev<float> dloss_d(c, uniform_floats((size_t)(2 * n), -1, 1));
    Dev<double> dphi_d(c, std::vector<double>((size_t)m.phi_size, 7.0));
    l2l::BackwardArgs b;
    b.m = &m;
    b.phi = phi_d.p;
    b.n = n;
    b.steps = 2;
    b.record = record_d.p;
    b.dloss_ddelta = dloss_d.p;
    b.dstate_final = nullptr;
    b.dphi = dphi_d.p;
    b.dstate_initial = nullptr;
    b.dx = nullptr;
    l2l_testing_fail_allocation(1);
    st = c.ops().backward(&c.ctx, b);
    check(st == L2L_ERR_OUT_OF_MEMORY && l2l_testing_fail_allocation(0) == 0,
          "backward with its workspace allocation failing: OUT_OF_MEMORY", st);
    printf("        (%s)\n", g_last_error.c_str());
    bool untouched = true;
    for (double v : dphi_d.get()) untouched = untouched && v == 7.0;
    check(untouched, "... and dphi untouched");
    must(c.ops().backward(&c.ctx, b), "backward");
    must(c.ops().synchronize(&c.ctx), "synchronize");
    bool written = false;
    for (double v : dphi_d.get()) written = written || v != 7.0;
    check(written, "the same backward succeeds afterwards");
}

/* ---- 6b. MLP optimizee kernels ------------------------------------------------------------ */
static double act_ref(int activation, double z) {
    if (activation == L2L_ACTIVATION_SIGMOID) return 1.0 / (1.0 + exp(-z));
    if (activation == L2L_ACTIVATION_RELU) return z > 0.0 ? z : 0.0;
    return z;
}

static double act_derivative_ref(int activation, double a) {
    if (activation == L2L_ACTIVATION_SIGMOID) return a * (1.0 - a);
    if (activation == L2L_ACTIVATION_RELU) return a > 0.0 ? 1.0 : 0.0;
    return 1.0;
}

static void test_mlp_gather(Ctx& c) {
    const int64_t examples = 37, rows = 300;
    const int32_t features = 29;
    std::vector<float> images = uniform_floats((size_t)(examples * features), 0, 1);
    std::vector<int32_t> labels(examples), idx(rows);
    for (auto& l : labels) l = (int32_t)uni(0, 10);
    for (auto& i : idx) i = (int32_t)uni(0, (double)examples);
    Dev<float> images_d(c, images), x_d(c, std::vector<float>((size_t)(rows * features), -7.0f));
    Dev<int32_t> labels_d(c, labels), idx_d(c, idx), y_d(c, std::vector<int32_t>(rows, -7));
    must(c.ops().mlp_gather(&c.ctx, examples, features, images_d.p, labels_d.p, rows, idx_d.p,
                               x_d.p, y_d.p), "mlp_gather");
    const std::vector<float> x = x_d.get();
    const std::vector<int32_t> y = y_d.get();
    bool same = true;
    for (int64_t r = 0; r < rows; ++r) {
        same &= y[r] == labels[idx[r]];
        for (int32_t f = 0; f < features; ++f)
            same &= x[r * features + f] == images[(size_t)idx[r] * features + f];
    }
    check(same, "mlp_gather: rows and labels copied exactly");
    int64_t bad = 0;
    must(c.ops().find_bad_index(&c.ctx, idx_d.p, rows, examples, &bad), "find_bad_index");
    check(bad == -1, "find_bad_index: none", (double)bad);
    idx[211] = (int32_t)examples;
    idx[250] = -1;
    idx_d.put(idx);
    must(c.ops().find_bad_index(&c.ctx, idx_d.p, rows, examples, &bad), "find_bad_index");
    check(bad == 211, "find_bad_index: the first of two", (double)bad);
    must(c.ops().mlp_gather(&c.ctx, examples, features, images_d.p, labels_d.p, rows, idx_d.p,
                               x_d.p, y_d.p), "mlp_gather");
    const std::vector<float> x2 = x_d.get();
    const std::vector<int32_t> y2 = y_d.get();
    check(std::isnan(x2[211 * features]) && std::isnan(x2[250 * features + features - 1]) &&
              y2[211] == -1 && y2[250] == -1 && y2[210] == labels[idx[210]],
          "mlp_gather: an index out of range gives a NaN row and label -1");
}

static void test_mlp_layer(Ctx& c, int activation, const char* name) {
    const int32_t batch = 3, cols = 13;
    const int64_t rows = 37, stride = 50, count = batch * rows * cols;
    const std::vector<float> z0 = uniform_floats((size_t)count, -4, 4);
    const std::vector<float> bias = uniform_floats((size_t)(batch * stride), -1, 1);
    Dev<float> z_d(c, z0), bias_d(c, bias);
    must(c.ops().mlp_bias_activation(&c.ctx, batch, rows, cols, z_d.p, bias_d.p, stride, activation),
         "mlp_bias_activation");
    const std::vector<float> a = z_d.get();
    std::vector<double> ref((size_t)count), got = to_d(a.data(), a.size());
    for (int64_t k = 0; k < count; ++k)
        ref[k] = act_ref(activation, (double)z0[k] + bias[(k / (rows * cols)) * stride + k % cols]);
    char what[120];
    double e = err(got.data(), ref.data(), ref.size());
    snprintf(what, sizeof what, "mlp_bias_activation %s", name);
    check(e < 1e-6, what, e, 1e-6);

    const std::vector<float> delta0 = uniform_floats((size_t)count, -1, 1);
    Dev<float> delta_d(c, delta0);
    must(c.ops().mlp_activation_backward(&c.ctx, count, z_d.p, delta_d.p, activation),
         "mlp_activation_backward");
    const std::vector<float> delta = delta_d.get();
    got = to_d(delta.data(), delta.size());
    for (int64_t k = 0; k < count; ++k) ref[k] = delta0[k] * act_derivative_ref(activation, a[k]);
    e = err(got.data(), ref.data(), ref.size());
    snprintf(what, sizeof what, "mlp_activation_backward %s", name);
    check(e < 1e-6, what, e, 1e-6);
}

static void test_mlp_bias_gradient(Ctx& c) {
    const int32_t batch = 4, cols = 150; /* more columns than threads of a block */
    const int64_t rows = 33, stride = 170;
    const std::vector<float> delta = uniform_floats((size_t)(batch * rows * cols), -1, 1);
    Dev<float> delta_d(c, delta), db_d(c, std::vector<float>((size_t)(batch * stride), 5.0f));
    must(c.ops().mlp_bias_gradient(&c.ctx, batch, rows, cols, delta_d.p, db_d.p, stride),
         "mlp_bias_gradient");
    const std::vector<float> db = db_d.get();
    std::vector<double> ref, got;
    bool untouched = true;
    for (int32_t b = 0; b < batch; ++b) {
        for (int32_t j = 0; j < cols; ++j) {
            double s = 0.0;
            for (int64_t r = 0; r < rows; ++r) s += delta[(b * rows + r) * cols + j];
            ref.push_back(s);
            got.push_back(db[b * stride + j]);
        }
        for (int64_t j = cols; j < stride; ++j) untouched &= db[b * stride + j] == 5.0f;
    }
    const double e = err(got.data(), ref.data(), ref.size());
    check(e < 1e-6, "mlp_bias_gradient", e, 1e-6);
    check(untouched, "mlp_bias_gradient: nothing written between the instances' columns");
}

static void test_mlp_softmax(Ctx& c) {
    const int32_t batch = 3, classes = 10;
    const int64_t rows = 300; /* several rows per thread of the block */
    const float scale = 0.5f;
    const std::vector<float> z = uniform_floats((size_t)(batch * rows * classes), -6, 6);
    std::vector<int32_t> labels((size_t)(batch * rows));
    for (auto& l : labels) l = (int32_t)uni(0, classes);
    Dev<float> z_d(c, z), d_d(c, (size_t)(batch * rows * classes));
    Dev<int32_t> labels_d(c, labels);
    Dev<double> loss_d(c, std::vector<double>(batch, -7.0));
    must(c.ops().mlp_softmax_cross_entropy(&c.ctx, batch, rows, classes, z_d.p, labels_d.p, scale,
                                              d_d.p, loss_d.p), "mlp_softmax_cross_entropy");
    const std::vector<double> loss = loss_d.get();
    const std::vector<float> d = d_d.get();
    std::vector<double> loss_ref(batch), d_ref(d.size());
    for (int32_t b = 0; b < batch; ++b) {
        double total = 0.0;
        for (int64_t r = 0; r < rows; ++r) {
            const float* row = &z[(b * rows + r) * classes];
            double sum = 0.0;
            for (int j = 0; j < classes; ++j) sum += exp((double)row[j]);
            const int32_t y = labels[b * rows + r];
            total += log(sum) - row[y];
            for (int j = 0; j < classes; ++j)
                d_ref[(b * rows + r) * classes + j] = scale * (exp((double)row[j]) / sum - (j == y)) / rows;
        }
        loss_ref[b] = total / rows;
    }
    double e = err(loss.data(), loss_ref.data(), loss.size());
    check(e < 1e-12, "mlp_softmax_cross_entropy: loss (float64)", e, 1e-12);
    const std::vector<double> dd = to_d(d.data(), d.size());
    e = err(dd.data(), d_ref.data(), dd.size());
    check(e < 1e-6, "mlp_softmax_cross_entropy: dlogits", e, 1e-6);
    /* in place (dlogits aliasing logits), twice: bitwise the same loss */
    Dev<float> zz_d(c, z);
    Dev<double> loss2_d(c, (size_t)batch);
    must(c.ops().mlp_softmax_cross_entropy(&c.ctx, batch, rows, classes, zz_d.p, labels_d.p, scale,
                                              zz_d.p, loss2_d.p), "mlp_softmax_cross_entropy");
    check(loss2_d.get() == loss && zz_d.get() == d,
          "mlp_softmax_cross_entropy: in place, bitwise equal to the first run");
    labels[rows + 5] = classes;
    labels_d.put(labels);
    must(c.ops().mlp_softmax_cross_entropy(&c.ctx, batch, rows, classes, z_d.p, labels_d.p, scale,
                                              d_d.p, loss_d.p), "mlp_softmax_cross_entropy");
    const std::vector<double> loss3 = loss_d.get();
    const std::vector<float> d3 = d_d.get();
    check(std::isnan(loss3[1]) && loss3[0] == loss[0] && loss3[2] == loss[2] &&
              std::isnan(d3[(rows + 5) * classes]) && !std::isnan(d3[(rows + 4) * classes]),
          "mlp_softmax_cross_entropy: a label out of range makes its instance's loss NaN");
}

#ifdef L2L_EMU
/* ---- 7. limits (emulated devices only) ---------------------------------------------------- */
/* A step of one tensor of *n coordinates without a record. */
static l2l::StepArgs one_tensor_step(const l2l_model& m, const float* phi, float** theta, const float** grad,
                                     const int64_t* n, float* state) {
    l2l::StepArgs a;
    a.m = &m;
    a.phi = phi;
    a.num_tensors = 1;
    a.theta = theta;
    a.grad = grad;
    a.sizes = n;
    a.n = *n;
    a.state = state;
    a.record = nullptr;
    return a;
}

/* The emulator refuses launches as a device does (emu/cuda_runtime.h), so that a backend which
 * forgets cudaFuncSetAttribute, or launches more threads than a kernel's __launch_bounds__,
 * fails here too. */
static void emu_probe(float* out) { out[threadIdx.x] = 1.0f; }
static void emu_bounded_probe(float* out) {
    EMU_LAUNCH_BOUNDS(32);
    out[threadIdx.x] = 1.0f;
}

static void test_emulated_launch_limits() {
    std::vector<float> out(64, 0.0f);
    float* o = out.data();
    (void)cudaGetLastError();
    emu::launch(emu_probe, 1, 32, 64 * 1024)(o);
    check(cudaGetLastError() == cudaErrorInvalidValue && out[0] == 0.0f,
          "emulator: 64 KB of dynamic shared memory without the attribute is refused");
    check(cudaFuncSetAttribute(emu_probe, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024) == cudaSuccess,
          "emulator: the attribute raises the limit");
    emu::launch(emu_probe, 1, 32, 64 * 1024)(o);
    check(cudaGetLastError() == cudaSuccess && out[0] == 1.0f, "emulator: then the launch runs");
    emu::launch(emu_probe, 1, 32, (size_t)emu::g_smem_optin + 16)(o);
    check(cudaGetLastError() == cudaErrorInvalidValue, "emulator: more than the device's opt-in maximum is refused");
    emu::launch(emu_bounded_probe, 1, 64, 0)(o);
    check(cudaGetLastError() == cudaErrorLaunchOutOfResources && out[32] == 0.0f,
          "emulator: 64 threads for __launch_bounds__(32) are refused");
    emu::launch(emu_probe, 1, 2048, 0)(o);
    check(cudaGetLastError() == cudaErrorInvalidConfiguration, "emulator: 2,048 threads per block are refused");
}

/* A kernel's fault on the device: reported by the next synchronizing call as earlier
 * asynchronous work, then as an earlier failure; buffers still released (a leak checker run
 * sees the rest); with L2L_CUDA_SYNC=1 reported by the launching call, naming the kernel. */
static void test_kernel_faults() {
    const l2l_model m = make_model({{20, 20}, L2L_PREPROCESS_LOG_AND_SIGN, 10.0f, 0.1f, 0});
    const int64_t n = 64;
    std::vector<float> theta(n, 0.5f), grad(n, 0.25f), state((size_t)(m.state_rows * n), 0.0f);
    for (int sync = 0; sync < 2; ++sync) {
        if (sync) setenv("L2L_CUDA_SYNC", "1", 1);
        Ctx c;
        if (sync) unsetenv("L2L_CUDA_SYNC");
        std::vector<float> phi = random_phi(m);
        float* th = theta.data();
        const float* gr = grad.data();
        const l2l::StepArgs a = one_tensor_step(m, phi.data(), &th, &gr, &n, state.data());
        void* buffer = nullptr;
        must(c.ops().mem_alloc(&c.ctx, 4096, &buffer), "malloc");
        emu::g_fault_next_launch = cudaErrorIllegalAddress;
        const int32_t st = c.ops().step(&c.ctx, a);
        std::vector<float> host(8);
        if (!sync) {
            check(st == L2L_OK, "fault: the launching call returns (the fault is asynchronous)", st);
            const int32_t sc = c.ops().mem_copy(&c.ctx, host.data(), buffer, 32, L2L_COPY_CONTEXT_TO_HOST);
            check(sc == L2L_ERR_CUDA && g_last_error.find("from earlier asynchronous work") != std::string::npos &&
                      g_last_error.find("L2L_CUDA_SYNC=1") != std::string::npos,
                  "fault: the next synchronizing call says it comes from earlier work", sc);
        } else {
            check(st == L2L_ERR_CUDA && g_last_error.find("step: kernel launch: the kernel failed on the device") == 0,
                  "fault with L2L_CUDA_SYNC=1: the step names its kernel", st);
        }
        printf("        (%s)\n", g_last_error.c_str());
        const int32_t again = c.ops().synchronize(&c.ctx);
        check(again == L2L_ERR_CUDA && g_last_error.find("failed earlier") != std::string::npos,
              "fault: later calls say that the context failed earlier", again);
        const int32_t sf = c.ops().mem_free(&c.ctx, buffer);
        check(sf == L2L_ERR_CUDA, "fault: free reports the failure (and releases the buffer)", sf);
        emu::g_sticky = cudaSuccess; /* the context is destroyed below, then a fresh one */
    }
}

/* A driver older than the runtime, or none: no context or device, and a message that says which. */
static void test_old_driver() {
    int32_t runtime = 0, driver = 0;
    check(l2l::cuda_ops().versions(&runtime, &driver) == L2L_OK && runtime == 13000 && driver == 13000,
          "versions: runtime and driver read");
    emu::g_driver_version = 12080;
    l2l_context ctx;
    ctx.ops = &l2l::cuda_ops();
    ctx.backend = nullptr;
    const int32_t st = ctx.ops->create(&ctx, 0);
    check(st == L2L_ERR_NO_CUDA && g_last_error.find("driver supports CUDA 12.8, older than the runtime 13.0") !=
                                       std::string::npos,
          "a driver older than the runtime is refused: NO_CUDA", st);
    printf("        (%s)\n", g_last_error.c_str());
    int32_t count = -1;
    const int32_t sc = l2l::cuda_ops().device_count(&count);
    check(sc == L2L_ERR_NO_CUDA && count == 0 && g_last_error.find("older than the runtime") != std::string::npos,
          "device count with an old driver: NO_CUDA, no device, the reason", sc);
    emu::g_driver_version = 0; /* no driver installed */
    const int32_t sn = l2l::cuda_ops().device_count(&count);
    check(sn == L2L_ERR_NO_CUDA && count == 0 && g_last_error.find("no CUDA driver is installed") != std::string::npos,
          "device count without a driver: NO_CUDA, no device, the reason", sn);
    printf("        (%s)\n", g_last_error.c_str());
    emu::g_driver_version = 13000;
}

static void test_limits() {
    const l2l_model m = make_model({{20, 20}, L2L_PREPROCESS_LOG_AND_SIGN, 10.0f, 0.1f, 0});
    const int saved = emu::g_smem_optin;
    emu::g_smem_optin = 16 * 1024;
    Ctx c;
    std::vector<float> phi = random_phi(m), theta(10), grad(10, 0.5f), state(10 * m.state_rows, 0.0f);
    float* th = theta.data();
    const float* gr = grad.data();
    const int64_t size = 10;
    const l2l::StepArgs a = one_tensor_step(m, phi.data(), &th, &gr, &size, state.data());
    const int32_t st = c.ops().step(&c.ctx, a);
    check(st == L2L_ERR_INVALID_ARGUMENT, "step with too little shared memory: INVALID_ARGUMENT", st);
    printf("        (%s)\n", g_last_error.c_str());
    std::vector<float> record(10 * (1 + m.state_rows), 0.0f), dloss(10, 1.0f);
    std::vector<double> dphi(m.phi_size);
    l2l::BackwardArgs b;
    b.m = &m;
    b.phi = phi.data();
    b.n = 10;
    b.steps = 1;
    b.record = record.data();
    b.dloss_ddelta = dloss.data();
    b.dstate_final = nullptr;
    b.dphi = dphi.data();
    b.dstate_initial = nullptr;
    b.dx = nullptr;
    int32_t sb = c.ops().backward(&c.ctx, b);
    check(sb == L2L_ERR_INVALID_ARGUMENT, "backward with too little shared memory: INVALID_ARGUMENT", sb);
    printf("        (%s)\n", g_last_error.c_str());
    emu::g_smem_optin = saved;
    /* out of device memory for the workspace */
    Ctx c2;
    emu::g_alloc_limit = 1000;
    sb = c2.ops().backward(&c2.ctx, b);
    check(sb == L2L_ERR_OUT_OF_MEMORY, "backward without memory for its workspace: OUT_OF_MEMORY", sb);
    printf("        (%s)\n", g_last_error.c_str());
    emu::g_alloc_limit = 0;
    sb = c2.ops().backward(&c2.ctx, b);
    check(sb == L2L_OK, "backward after that succeeds", sb);
}
#endif

/* ---- 8. timings (GPU) ------------------------------------------------------------------- */
static void bench(const Spec& spec, int64_t n, int steps, bool generic) {
    if (generic) setenv("L2L_CUDA_FORCE_GENERIC", "1", 1);
    Ctx c;
    unsetenv("L2L_CUDA_FORCE_GENERIC");
    const l2l_model m = make_model(spec);
    const int64_t S = m.state_rows, R = 1 + S;
    std::vector<float> g(n);
    for (auto& v : g) v = grad_value();
    Dev<float> phi_d(c, random_phi(m)), theta_d(c, std::vector<float>(n, 0.0f));
    Dev<float> state_d(c, std::vector<float>((size_t)(S * n), 0.0f)), grad_d(c, g);
    Dev<float> record_d(c, (size_t)(steps * R * n));
    Dev<float> dloss_d(c, std::vector<float>((size_t)(steps * n), 1e-3f));
    Dev<double> dphi_d(c, (size_t)m.phi_size);
    float* th = theta_d.p;
    const float* gr = grad_d.p;
    l2l::StepArgs a;
    a.m = &m;
    a.phi = phi_d.p;
    a.num_tensors = 1;
    a.theta = &th;
    a.grad = &gr;
    a.sizes = &n;
    a.n = n;
    a.state = state_d.p;
    l2l::BackwardArgs b;
    b.m = &m;
    b.phi = phi_d.p;
    b.n = n;
    b.steps = steps;
    b.record = record_d.p;
    b.dloss_ddelta = dloss_d.p;
    b.dstate_final = nullptr;
    b.dphi = dphi_d.p;
    b.dstate_initial = nullptr;
    b.dx = nullptr;
    auto unroll = [&] {
        for (int s = 0; s < steps; ++s) {
            a.record = record_d.p + (size_t)s * R * n;
            must(c.ops().step(&c.ctx, a), "step");
        }
    };
    unroll(); /* warm up */
    must(c.ops().backward(&c.ctx, b), "backward");
    must(c.ops().synchronize(&c.ctx), "synchronize");
    const int reps = 5;
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) unroll();
    must(c.ops().synchronize(&c.ctx), "synchronize");
    auto t1 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) must(c.ops().backward(&c.ctx, b), "backward");
    must(c.ops().synchronize(&c.ctx), "synchronize");
    auto t2 = std::chrono::steady_clock::now();
    const double step_ms = std::chrono::duration<double, std::milli>(t1 - t0).count() / (reps * steps);
    const double bwd_ms = std::chrono::duration<double, std::milli>(t2 - t1).count() / reps;
    printf("  bench %-22s %-8s n=%-9lld step %8.3f ms (%6.2f ns/coord)   backward of %d steps %9.3f ms (%6.2f ns/coord/step)\n",
           name_of(spec).c_str(), generic ? "generic" : "", (long long)n, step_ms, 1e6 * step_ms / n, steps,
           bwd_ms, 1e6 * bwd_ms / ((double)n * steps));
}

/* usage: backend_test [--quick] [--long] [--bench] [--only=reference|fixed|gac|bf16|mlp|generic|small] */
int main(int argc, char** argv) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    bool quick = false, longer = false, timings = false;
    const char* only = "";
    for (int k = 1; k < argc; ++k) {
        if (strcmp(argv[k], "--quick") == 0) quick = true;
        if (strcmp(argv[k], "--long") == 0) longer = true;
        if (strcmp(argv[k], "--bench") == 0) timings = true;
        if (strncmp(argv[k], "--only=", 7) == 0) only = argv[k] + 7;
    }
    auto want = [&](const char* part) { return only[0] == '\0' || strcmp(only, part) == 0; };
    const Spec paper{{20, 20}, L2L_PREPROCESS_LOG_AND_SIGN, 10.0f, 0.1f, 0};
    if (timings) {
        bench(paper, 15910, 20, false);
        bench(paper, 15910, 20, true);
        bench(paper, 1 << 20, 20, false);
        bench(paper, 1 << 20, 20, true);
        bench({{20, 20}, L2L_PREPROCESS_IDENTITY, 10.0f, 1.0f, 0}, 1 << 20, 20, false);
        return 0;
    }
    if (want("reference")) {
        printf("reference backward vs finite differences\n");
        test_reference_fd({{3, 2}, L2L_PREPROCESS_LOG_AND_SIGN, 10.0f, 0.1f, 0});
        test_reference_fd({{4}, L2L_PREPROCESS_IDENTITY, 10.0f, 1.0f, 0});
        test_reference_fd({{2, 3, 2}, L2L_PREPROCESS_LOG_AND_SIGN, 3.0f, 0.5f, L2L_LOG_EPSILON});
        test_reference_fd({{}, L2L_PREPROCESS_LOG_AND_SIGN, 10.0f, 0.1f, 0});
        test_gac_reference_fd({{3, 2}, L2L_PREPROCESS_IDENTITY, 10.0f, 0.7f, 0, {1, 2}});
        test_gac_reference_fd({{2, 3}, L2L_PREPROCESS_LOG_AND_SIGN, 3.0f, 0.5f, 0, {2, 0}});
    }
    if (want("gac")) {
        Ctx c;
        printf("global averaging cells (layer passes)\n");
        /* segments across tensor boundaries and tiles: 2 instances of 150 coordinates */
        test_gac(c, {{20, 20}, L2L_PREPROCESS_LOG_AND_SIGN, 10.0f, 0.1f, 0, {2, 2}}, {100, 0, 200}, 150, 3, "gac");
        test_gac(c, {{7, 5}, L2L_PREPROCESS_IDENTITY, 10.0f, 1.0f, 0, {7, 3}}, {97}, 97, 3, "gac");
        if (!quick)
            test_gac(c, {{5, 9, 3}, L2L_PREPROCESS_LOG_AND_SIGN, 5.0f, 0.3f, 0, {0, 4, 1}}, {300, 400}, 175, 2, "gac");
    }
    if (want("bf16")) {
        Ctx c;
        printf("bfloat16 products on the tensor cores (layer passes, emulated mma.sync m16n8k16)\n");
        /* the paper's MNIST model over 3 tensors (3 tiles of 128); odd widths (a unit pair padded),
         * K4 not a multiple of 16, averaging units and 3 layers */
        test_gac(c, {{20, 20}, L2L_PREPROCESS_LOG_AND_SIGN, 10.0f, 0.1f, L2L_BF16_PRODUCTS}, {100, 0, 200}, 300, 3,
                 "bf16");
        test_gac(c, {{7, 5}, L2L_PREPROCESS_IDENTITY, 10.0f, 1.0f, L2L_BF16_PRODUCTS, {7, 3}}, {97}, 97, 3, "bf16");
        if (!quick)
            test_gac(c, {{5, 9, 3}, L2L_PREPROCESS_LOG_AND_SIGN, 5.0f, 0.3f, L2L_BF16_PRODUCTS, {0, 4, 1}}, {300, 400},
                     175, 2, "bf16");
    }
    if (want("fixed")) {
        Ctx c;
        printf("fixed-width kernels (2 x 20 units)\n");
        std::vector<int64_t> sizes;
        /* 40 tensors (two launches), zero sizes among them; n = 300 (3 tiles of 128) */
        for (int k = 0; k < 40; ++k) sizes.push_back(k % 7 == 3 ? 0 : (k < 20 ? 3 : 5 + (k % 3)));
        int64_t n = 0;
        for (int64_t s : sizes) n += s;
        sizes.back() += 300 - n;
        test_model(c, paper, sizes, 3, true, "fixed");
        test_model(c, {{20, 20}, L2L_PREPROCESS_IDENTITY, 10.0f, 1.0f, 0}, {129, 100}, 2, false, "fixed");
        if (!quick)
            test_model(c, {{20, 20}, L2L_PREPROCESS_LOG_AND_SIGN, 10.0f, 0.1f, L2L_LOG_EPSILON}, {700},
                       2, true, "fixed");
        if (longer) /* several tiles per partial row with the default chunking */
            test_model(c, paper, {100000, 0, 200003}, 3, true, "fixed");
        test_no_record(c, paper, "fixed");
        test_meta_loss(c);
        test_non_finite(c);
        test_injected_allocation_failures();
#ifdef L2L_EMU
        test_emulated_launch_limits();
        test_kernel_faults();
        test_old_driver();
        test_limits();
#endif
    }
    if (want("mlp")) {
        Ctx c;
        printf("MLP optimizee kernels\n");
        test_mlp_gather(c);
        test_mlp_layer(c, L2L_ACTIVATION_IDENTITY, "identity");
        test_mlp_layer(c, L2L_ACTIVATION_SIGMOID, "sigmoid");
        test_mlp_layer(c, L2L_ACTIVATION_RELU, "relu");
        test_mlp_bias_gradient(c);
        test_mlp_softmax(c);
    }
    if (want("generic")) {
        setenv("L2L_CUDA_FORCE_GENERIC", "1", 1);
        Ctx c;
        unsetenv("L2L_CUDA_FORCE_GENERIC");
        printf("generic kernels\n");
        test_model(c, paper, {3, 0, 297}, 3, true, "generic");
        test_model(c, {{7}, L2L_PREPROCESS_IDENTITY, 10.0f, 1.0f, 0}, {77}, 3, true, "generic");
        test_model(c, {{5, 9, 3}, L2L_PREPROCESS_LOG_AND_SIGN, 5.0f, 0.3f, 0}, {50, 150}, 3, true, "generic");
        test_model(c, {{}, L2L_PREPROCESS_LOG_AND_SIGN, 10.0f, 0.1f, 0}, {200}, 3, false, "generic");
        test_model(c, {{}, L2L_PREPROCESS_IDENTITY, 10.0f, 0.5f, 0}, {33}, 2, false, "generic");
        test_no_record(c, {{5, 9, 3}, L2L_PREPROCESS_LOG_AND_SIGN, 5.0f, 0.3f, 0}, "generic");
        if (longer) {
            test_model(c, paper, {300001}, 2, true, "generic");
            test_model(c, {{40, 40}, L2L_PREPROCESS_LOG_AND_SIGN, 10.0f, 0.1f, 0}, {5000}, 3, true, "generic");
        }
    }
#ifdef L2L_EMU
    if (!quick && want("small")) {
        /* a device with 100 KB of shared memory per SM: the fixed backward does not fit and
         * the generic kernels take smaller blocks */
        emu::g_smem_per_sm = 100 * 1024;
        emu::g_smem_optin = 99 * 1024;
        Ctx c;
        printf("100 KB of shared memory per SM\n");
        test_model(c, paper, {250}, 2, true, "small-smem");
        test_model(c, {{24, 9}, L2L_PREPROCESS_LOG_AND_SIGN, 10.0f, 0.1f, 0}, {90}, 2, true, "small-smem");
        emu::g_smem_per_sm = 228 * 1024;
        emu::g_smem_optin = 227 * 1024;
    }
#endif
    printf("%d passed, %d failed\n", g_passes, g_failures);
    return g_failures == 0 ? 0 : 1;
}
