/*
 * cpu_backend.cpp -- the CPU backend: its contexts, host memory, the choice of kernel set, and
 * the fused step and backward pass, which split the coordinates into chunks, run the kernels of
 * cpu_kernels.h on them through the worker pool, and reduce dphi in a fixed order.  Fills the
 * CPU's table of operations (cpu_ops()).
 *
 * Every chunk of the step, the backward pass and the meta-loss gradients computes with
 * flush-to-zero and denormals-are-zero set, on whichever thread runs it, and puts the thread's
 * floating-point mode back afterwards (flushing(), denormals.h): the caller's mode is unchanged.
 */
#include "cpu_backend.h"
#include "denormals.h"
#include "thread_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <atomic>
#include <new>

#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace l2l {
namespace cpu {
namespace {

/* Coordinates per parallel chunk of the step (about: see step()), and the work (coordinate-steps)
 * below which a call runs on the calling thread alone: about 2 ms of one core, so that waking a
 * worker is never a noticeable share of the call. */
constexpr int64_t kStepChunk = 4096;
constexpr int64_t kInlineBelow = 8192;

int32_t parallelism(const l2l_context* ctx, int64_t work) {
    return work < kInlineBelow ? 1 : cpu_context(ctx).threads;
}

/* Why a kernel set the processor has is not offered (l2l_cpu_isa_note), or "". */
const char* g_isa_note = "";

#if defined(__x86_64__)
/* Linux hands a process the AMX tiles' state (8 KB per thread) only when asked: arch_prctl
 * ARCH_REQ_XCOMP_PERM (0x1023) for XFEATURE_XTILEDATA (18), once per process.  Without it the
 * first tile instruction faults; a kernel that refuses it (or predates it) leaves the amx set
 * out, with a note. */
bool amx_permitted() {
    static const bool permitted = [] {
#if defined(__linux__)
        if (syscall(SYS_arch_prctl, 0x1023, 18) == 0) return true;
#endif
        g_isa_note = "the processor has AMX-BF16, but Linux refused the process its tile state "
                     "(arch_prctl ARCH_REQ_XCOMP_PERM): the amx kernels are not used";
        return false;
    }();
    return permitted;
}
#endif

bool cpu_has(const char* feature) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (strcmp(feature, "avx2") == 0) {
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    if (strcmp(feature, "avx512") == 0) {
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
    }
    if (strcmp(feature, "avx512bf16") == 0) {
        return cpu_has("avx512") && __builtin_cpu_supports("avx512bf16");
    }
    if (strcmp(feature, "amx") == 0) {
        return cpu_has("avx512bf16") && __builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-bf16") &&
               amx_permitted();
    }
#endif
    return strcmp(feature, "baseline") == 0;
}

/* Words of tile_product's operand blocks (cpu_kernels.inc) for the largest of its products on
 * model m: the gate sums (A = phi's [4H][Kp] pairs, Kp = ceil((in + H) / 2); B = [Kp][kTile])
 * and W^T dz (A = [in or H][2H]; B = [2H][kTile]), each dimension rounded up to whole tiles. */
int64_t tile_operand_words(const l2l_model& m) {
    int64_t words = 0;
    for (int l = 0; l < m.num_layers; ++l) {
        const int64_t H = m.layers[l].width, in = m.layers[l].in, Kp = (in + H + 1) / 2;
        const int64_t gates = tile_rows(4 * H) * tile_rows(Kp) + tile_rows(Kp) * kTile;
        const int64_t transposed = tile_rows(std::max(in, H)) * tile_rows(2 * H) + tile_rows(2 * H) * kTile;
        words = std::max({words, gates, transposed});
    }
    return words;
}

/* Floats bf16_operands (cpu_kernels.inc) lays out for model m with the kernel set k: none
 * without bfloat16 products. */
int64_t bf16_operand_floats(const l2l_model& m, const Kernels& k, bool backward, bool shared) {
    if (!m.bf16_products) return 0;
    const int64_t W = m.max_width;
    int64_t floats = (W + 1) * kTile + (k.tiles ? tile_operand_words(m) : 0);
    if (backward) {
        floats += 2 * W * kTile;
        if (shared) {
            floats += gradient_rows_floats(W, W);
        } else {
            for (int l = 0; l < m.num_layers; ++l) floats += gradient_rows_floats(m.layers[l].width, m.layers[l].in);
        }
    }
    return floats;
}

} // namespace

int64_t scratch_floats(const l2l_model& m, const Kernels& k) {
    /* the layouts at the top of step_tiles, backward_tiles and GacTile (cpu_kernels.inc), each
     * ending with its bfloat16 operands */
    const int64_t W = m.max_width, S = m.state_rows, T = kTile;
    int64_t tape = 0;
    for (int l = 0; l < m.num_layers; ++l) tape += 6 * int64_t{m.layers[l].width} * T;
    const int64_t step = (1 + 2 + 4 * W + 1 + S) * T + bf16_operand_floats(m, k, false, false);
    const int64_t backward = m.phi_size * 16 /* lanes, at most 16 */ +
                             (1 + 2 + S + 2 * W + 4 * W + 1 + 4 * W + S) * T + tape +
                             bf16_operand_floats(m, k, true, false);
    const int64_t averaging = m.phi_size * 16 + (4 + 21 * W) * T + bf16_operand_floats(m, k, true, true);
    return std::max({step, backward, m.averaging ? averaging : 0});
}

int64_t packed_phi_words(const l2l_model& m) {
    int64_t words = 0;
    for (int l = 0; l < m.num_layers; ++l) {
        const int64_t H = m.layers[l].width, in = m.layers[l].in;
        words += 4 * H * ((in + H + 1) / 2) + in * 2 * H + H * 2 * H;
    }
    return words;
}

void pack_phi(const l2l_model& m, const float* phi, uint32_t* words, PackedPhi* layout) {
    const auto bf16 = [](float x) {
        uint32_t bits;
        memcpy(&bits, &x, sizeof bits);
        return bf16_from_bits(bits);
    };
    const auto pair = [&](float lo, float hi) { return bf16(lo) | (bf16(hi) << 16); };
    layout->words = words;
    int64_t o = 0;
    for (int l = 0; l < m.num_layers; ++l) {
        const l2l_layer& L = m.layers[l];
        const int H = L.width, in = L.in, K = in + H;
        const float* wih = phi + L.w_ih;
        const float* whh = phi + L.w_hh;
        /* row j of [W_ih W_hh], 0 past its end */
        const auto w = [&](int j, int k) { return k < in ? wih[j * in + k] : k < K ? whh[j * H + k - in] : 0.0f; };
        layout->fwd[l] = o;
        for (int j = 0; j < 4 * H; ++j) {
            for (int k = 0; k < K; k += 2) words[o++] = pair(w(j, k), w(j, k + 1));
        }
        layout->t_ih[l] = o;
        for (int k = 0; k < in; ++k) {
            for (int j = 0; j < 4 * H; j += 2) words[o++] = pair(wih[j * in + k], wih[(j + 1) * in + k]);
        }
        layout->t_hh[l] = o;
        for (int k = 0; k < H; ++k) {
            for (int j = 0; j < 4 * H; j += 2) words[o++] = pair(whh[j * H + k], whh[(j + 1) * H + k]);
        }
    }
}

const Kernels* const* supported_kernels() {
    static const Kernels* list[7] = {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
    static const bool filled = [] {
        int k = 0;
#if defined(__x86_64__)
#if defined(L2L_WITH_AMX)
        if (cpu_has("amx")) list[k++] = &kKernelsAmx;
#endif
        if (cpu_has("avx512bf16")) list[k++] = &kKernelsAvx512Bf16;
        if (cpu_has("avx512")) list[k++] = &kKernelsAvx512;
        if (cpu_has("avx2")) list[k++] = &kKernelsAvx2;
#endif
        list[k++] = &kKernelsBaseline;
#if defined(__x86_64__)
        /* last: never the default, only run when named */
        if (cpu_has("avx512")) list[k++] = &kKernelsAmxEmulated;
#endif
        return true;
    }();
    (void)filled;
    return list;
}

const Kernels* find_kernels(const char* isa) {
    for (const Kernels* const* k = supported_kernels(); *k != nullptr; ++k) {
        if (strcmp((*k)->isa, isa) == 0) return *k;
    }
    return nullptr;
}

const Kernels& kernels() {
    static const Kernels* chosen = [] {
        const char* forced = getenv("L2L_CPU_ISA");
        if (forced != nullptr && find_kernels(forced) != nullptr) return find_kernels(forced);
        return supported_kernels()[0];
    }();
    return *chosen;
}

namespace {

const Kernels& context_kernels(const l2l_context* ctx) { return *cpu_context(ctx).kernels; }

/* Makes a context's buffer hold at least count elements, kept across calls (its contents are
 * not); `what` ends the message of a failed allocation. */
template <typename T>
int32_t reserve(T*& buffer, int64_t& capacity, int64_t count, const char* what) {
    if (capacity >= count) return L2L_OK;
    T* p = static_cast<T*>(allocate(static_cast<size_t>(count) * sizeof(T)));
    if (p == nullptr) {
        return fail(L2L_ERR_OUT_OF_MEMORY, "cannot allocate %lld bytes %s",
                    static_cast<long long>(count * static_cast<int64_t>(sizeof(T))), what);
    }
    release(buffer);
    buffer = p;
    capacity = count;
    return L2L_OK;
}

/* Makes the workspace hold at least doubles. */
int32_t reserve_workspace(CpuContext& c, int64_t doubles) {
    return reserve(c.workspace, c.workspace_doubles, doubles, "of workspace for dphi");
}

/* Makes the scratch hold `slots` slots of at least `floats` floats each (the participants of one
 * parallel_for), kept across calls: the kernels' scratch, reserved on the calling thread before
 * a call's parallel part, so that no worker allocates. */
int32_t reserve_scratch(CpuContext& c, int64_t floats, int32_t slots) {
    const int64_t stride = std::max(c.scratch_stride, (floats + 15) / 16 * 16); /* 64-byte slots */
    slots = std::max(slots, c.scratch_slots);
    if (stride == c.scratch_stride && slots == c.scratch_slots) return L2L_OK;
    float* p = static_cast<float*>(allocate(static_cast<size_t>(stride * slots) * sizeof(float)));
    if (p == nullptr) {
        return fail(L2L_ERR_OUT_OF_MEMORY, "cannot allocate %lld bytes of scratch for %d threads",
                    static_cast<long long>(stride * slots * 4), slots);
    }
    release(c.scratch);
    c.scratch = p;
    c.scratch_stride = stride;
    c.scratch_slots = slots;
    return L2L_OK;
}

float* slot_scratch(const CpuContext& c, int32_t slot) { return c.scratch + slot * c.scratch_stride; }

/* phi's weights in bfloat16 for the kernels when the model asks for them (nullptr otherwise),
 * packed into the context's buffer, which is kept across calls. */
int32_t packed_phi(CpuContext& c, const l2l_model& m, const float* phi, PackedPhi* layout,
                   const PackedPhi** out) {
    *out = nullptr;
    if (!m.bf16_products) return L2L_OK;
    const int32_t status = reserve(c.packed, c.packed_words, packed_phi_words(m), "for phi in bfloat16");
    if (status != L2L_OK) return status;
    pack_phi(m, phi, c.packed, layout);
    *out = layout;
    return L2L_OK;
}

/* ---- the backend and its contexts ---- */

int32_t device_count(int32_t* count) {
    *count = 1;
    return L2L_OK;
}

int32_t create(l2l_context* ctx, int32_t num_threads) {
    void* memory = allocate(sizeof(CpuContext));
    if (memory == nullptr) return fail(L2L_ERR_OUT_OF_MEMORY, "cannot allocate the CPU context");
    CpuContext* c = new (memory) CpuContext();
    c->threads = num_threads == 0 ? hardware_threads() : num_threads;
    c->kernels = &kernels();
    ctx->backend = c;
    return L2L_OK;
}

void destroy(l2l_context* ctx) {
    CpuContext* c = &cpu_context(ctx);
    release(c->workspace);
    release(c->scratch);
    release(c->packed);
    release(c->rows);
    release(c);
    ctx->backend = nullptr;
}

void* no_stream(const l2l_context*) { return nullptr; }

int32_t threads(const l2l_context* ctx) { return cpu_context(ctx).threads; }

int32_t set_threads(l2l_context* ctx, int32_t num_threads) {
    cpu_context(ctx).threads = num_threads == 0 ? hardware_threads() : num_threads;
    return L2L_OK;
}

const char* cpu_isa(const l2l_context* ctx) { return context_kernels(ctx).isa; }

int32_t set_cpu_isa(l2l_context* ctx, const char* isa) {
    const Kernels* k = find_kernels(isa);
    if (k == nullptr) {
        return fail(L2L_ERR_INVALID_ARGUMENT,
                    "CPU kernel set '%s' is unknown or not supported by this processor", isa);
    }
    cpu_context(ctx).kernels = k;
    return L2L_OK;
}

const char* cpu_isa_note() {
    supported_kernels(); /* the checks that write the note */
    return g_isa_note;
}

const char* cpu_isas() {
    /* at most "amx,avx512bf16,avx512,avx2,baseline,amx-emulated": built once, without allocating */
    static char names[64];
    static const bool filled = [] {
        size_t used = 0;
        for (const Kernels* const* k = supported_kernels(); *k != nullptr; ++k) {
            const int n = snprintf(names + used, sizeof names - used, "%s%s", used > 0 ? "," : "", (*k)->isa);
            used = std::min(sizeof names - 1, used + static_cast<size_t>(n));
        }
        return true;
    }();
    (void)filled;
    return names;
}

/* ---- host memory ---- */

int32_t mem_alloc(l2l_context*, int64_t bytes, void** out) {
    void* p = allocate(static_cast<size_t>(bytes));
    if (p == nullptr) {
        return fail(L2L_ERR_OUT_OF_MEMORY, "cannot allocate %lld bytes",
                    static_cast<long long>(bytes));
    }
    *out = p;
    return L2L_OK;
}

int32_t mem_free(l2l_context*, void* ptr) {
    release(ptr);
    return L2L_OK;
}

int32_t mem_copy(l2l_context*, void* dst, const void* src, int64_t bytes, int32_t) {
    memmove(dst, src, static_cast<size_t>(bytes));
    return L2L_OK;
}

int32_t mem_zero(l2l_context*, void* ptr, int64_t bytes) {
    memset(ptr, 0, static_cast<size_t>(bytes));
    return L2L_OK;
}

int32_t synchronize(l2l_context*) { return L2L_OK; }

/* ---- the optimizer ---- */

/* Runs f(scratch, k, local, global, len) over every coordinate of the step's tensors, in
 * parallel: for each piece of tensor k, `local` is its offset in the tensor and `global` in the
 * call's n.  Chunks of whole tiles, at most about kStepChunk coordinates each, and as many per
 * thread ('rounds'), so that the threads get equal shares; the step of a coordinate does not
 * depend on its chunk. */
template <typename F>
void for_tensor_ranges(const l2l_context* ctx, const StepArgs& a, const F& f) {
    const int32_t threads = parallelism(ctx, a.n);
    const int64_t rounds = num_chunks(a.n, threads * kStepChunk);
    const int64_t even = num_chunks(num_chunks(a.n, threads * rounds), kTile) * kTile;
    const int64_t chunks = num_chunks(a.n, even);
    const CpuContext& cpu = cpu_context(ctx);
    parallel_for(chunks, threads, flushing([&](int32_t slot, int64_t c) {
        float* scratch = slot_scratch(cpu, slot);
        const int64_t lo = c * even, hi = std::min(a.n, lo + even);
        /* the tensors overlapping [lo, hi), found by walking the sizes */
        int64_t offset = 0;
        for (int32_t k = 0; k < a.num_tensors && offset < hi; offset += a.sizes[k], ++k) {
            const int64_t b = std::max(lo, offset), e = std::min(hi, offset + a.sizes[k]);
            if (e <= b) continue;
            f(scratch, k, b - offset, b, e - b);
        }
    }));
}

/* Scratch for every participant of a pass over n coordinates in chunks (at most one per chunk
 * of `chunk` coordinates), and phi's packed weights: what a call reserves before it writes. */
int32_t prepare(l2l_context* ctx, const l2l_model& m, const float* phi, int64_t n, int64_t chunk,
                int32_t threads, PackedPhi* layout, const PackedPhi** packed) {
    CpuContext& cpu = cpu_context(ctx);
    const int32_t status = reserve_scratch(cpu, scratch_floats(m, *cpu.kernels), participants(num_chunks(n, chunk), threads));
    if (status != L2L_OK) return status;
    return packed_phi(cpu, m, phi, layout, packed);
}

/* Replaces each of `rows` rows (stride n) by its mean over every segment of `segment`
 * coordinates, summed in float64 in coordinate order; with `carry`, the rows of carry (stride n)
 * are added first and then zeroed (the averaging units' gradient, l2l.h). */
void average_rows(const l2l_context* ctx, float* rows, float* carry, int32_t count, int64_t n,
                  int64_t segment) {
    const int64_t segments = n / segment;
    parallel_for(count * segments, parallelism(ctx, count * n), flushing([&](int32_t, int64_t task) {
        const int64_t r = task / segments, lo = (task % segments) * segment;
        float* row = rows + r * n + lo;
        float* c = carry != nullptr ? carry + r * n + lo : nullptr;
        double sum = 0.0;
        for (int64_t i = 0; i < segment; ++i) sum += c != nullptr ? double{row[i]} + double{c[i]} : double{row[i]};
        const float mean = static_cast<float>(sum / static_cast<double>(segment));
        for (int64_t i = 0; i < segment; ++i) row[i] = mean;
        if (c != nullptr) memset(c, 0, sizeof(float) * segment);
    }));
}

/* The step of a model with global averaging cells: layer by layer over all coordinates, the
 * averaging units' h replaced by their segment means after each layer, then the output layer. */
int32_t averaging_step(l2l_context* ctx, const StepArgs& a) {
    const Kernels& K = context_kernels(ctx);
    const l2l_model& m = *a.m;
    PackedPhi layout;
    const PackedPhi* packed;
    const int32_t status = prepare(ctx, m, a.phi, a.n, kTile, parallelism(ctx, a.n), &layout, &packed);
    if (status != L2L_OK) return status;
    for (int l = 0; l < m.num_layers; ++l) {
        float* record = l == 0 ? a.record : nullptr;
        for_tensor_ranges(ctx, a, [&](float* scratch, int32_t k, int64_t local, int64_t global, int64_t len) {
            K.gac_layer_step(m, a.phi, packed, l, a.grad[k] + local, a.state, record, a.n, global, len, scratch);
        });
        const l2l_layer& L = m.layers[l];
        if (L.gac > 0) average_rows(ctx, a.state + L.h_row * a.n, nullptr, L.gac, a.n, a.segment);
    }
    for_tensor_ranges(ctx, a, [&](float* scratch, int32_t k, int64_t local, int64_t global, int64_t len) {
        K.gac_output_step(m, a.phi, a.state, a.theta[k] + local, a.n, global, len, scratch);
    });
    return L2L_OK;
}

int32_t step(l2l_context* ctx, const StepArgs& a) {
    if (a.m->averaging) return averaging_step(ctx, a);
    const Kernels& K = context_kernels(ctx);
    PackedPhi layout;
    const PackedPhi* packed;
    const int32_t status = prepare(ctx, *a.m, a.phi, a.n, kTile, parallelism(ctx, a.n), &layout, &packed);
    if (status != L2L_OK) return status;
    for_tensor_ranges(ctx, a, [&](float* scratch, int32_t k, int64_t local, int64_t global, int64_t len) {
        K.step_range(*a.m, a.phi, packed, a.grad[k] + local, a.theta[k] + local, a.state, a.record, a.n, global,
                     len, scratch);
    });
    return L2L_OK;
}

/* dphi = the chunks' partial sums added in chunk order (in parallel over phi, each element's
 * order fixed). */
void combine_chunks(const l2l_context* ctx, const double* partial, int64_t chunks, int64_t P, double* dphi) {
    const int64_t slices = num_chunks(P, 512);
    parallel_for(slices, chunks * P < (1 << 20) ? 1 : cpu_context(ctx).threads, flushing([&](int32_t, int64_t sl) {
        const int64_t lo = sl * 512, hi = std::min(P, lo + 512);
        for (int64_t p = lo; p < hi; ++p) dphi[p] = partial[p];
        for (int64_t c = 1; c < chunks; ++c) {
            const double* src = partial + c * P;
            for (int64_t p = lo; p < hi; ++p) dphi[p] += src[p];
        }
    }));
}

/* The backward pass of a model with global averaging cells, step by step from the last: the
 * step's forward recomputed layer by layer with its averages (into `after`), then the output
 * layer and the layers from the top, the averaging units' gradients averaged before each layer's
 * pass.  dphi's partial sums are per reduction chunk, as for the fused pass. */
int32_t averaging_backward(l2l_context* ctx, const BackwardArgs& a) {
    const Kernels& K = context_kernels(ctx);
    const l2l_model& m = *a.m;
    const int64_t P = m.phi_size, n = a.n, S = m.state_rows, W = m.max_width;
    const int64_t chunks = num_chunks(n, kReductionChunk);
    const int32_t threads = parallelism(ctx, n * a.steps);
    CpuContext& cpu = cpu_context(ctx);
    /* everything allocated before anything is written */
    int32_t status = reserve_workspace(cpu, chunks * P);
    if (status != L2L_OK) return status;
    status = reserve(cpu.rows, cpu.rows_floats, (2 * S + 2 * W) * n, "of workspace for the averaging units");
    if (status != L2L_OK) return status;
    PackedPhi layout;
    const PackedPhi* packed;
    status = prepare(ctx, m, a.phi, n, kReductionChunk, threads, &layout, &packed);
    if (status != L2L_OK) return status;
    double* partial = cpu.workspace;
    float* after = cpu.rows;       /* [S][n]  h after the step (the h rows only) */
    float* carry = after + S * n;  /* [S][n]  dL/d state after the step */
    float* D = carry + S * n;      /* [W][n]  dL/dh' of the layer, and */
    float* Dbelow = D + W * n;     /* [W][n]  dL/du of the layer below (swapped) */
    memset(partial, 0, sizeof(double) * chunks * P);
    if (a.dstate_final != nullptr) {
        memcpy(carry, a.dstate_final, sizeof(float) * S * n);
    } else {
        memset(carry, 0, sizeof(float) * S * n);
    }
    /* f(scratch, chunk, lo, len) for every reduction chunk, in parallel */
    const auto for_chunks = [&](const auto& f) {
        parallel_for(chunks, threads, flushing([&](int32_t slot, int64_t c) {
            const int64_t lo = c * kReductionChunk;
            f(slot_scratch(cpu, slot), c, lo, std::min(n, lo + kReductionChunk) - lo);
        }));
    };
    for (int32_t s = a.steps - 1; s >= 0; --s) {
        for (int l = 0; l < m.num_layers; ++l) {
            for_chunks([&](float* scratch, int64_t, int64_t lo, int64_t len) {
                K.gac_recompute(m, a, packed, s, l, after, lo, len, scratch);
            });
            const l2l_layer& L = m.layers[l];
            if (L.gac > 0) average_rows(ctx, after + L.h_row * n, nullptr, L.gac, n, a.segment);
        }
        for_chunks([&](float* scratch, int64_t c, int64_t lo, int64_t len) {
            K.gac_output_backward(m, a, s, after, D, lo, len, partial + c * P, scratch);
        });
        for (int l = m.num_layers - 1; l >= 0; --l) {
            const l2l_layer& L = m.layers[l];
            if (L.gac > 0) average_rows(ctx, D, carry + L.h_row * n, L.gac, n, a.segment);
            for_chunks([&](float* scratch, int64_t c, int64_t lo, int64_t len) {
                K.gac_layer_backward(m, a, packed, s, l, after, D, carry, Dbelow, lo, len, partial + c * P, scratch);
            });
            std::swap(D, Dbelow);
        }
    }
    if (a.dstate_initial != nullptr) memcpy(a.dstate_initial, carry, sizeof(float) * S * n);
    combine_chunks(ctx, partial, chunks, P, a.dphi);
    for (int l = 0; l < m.num_layers; ++l) {
        const l2l_layer& L = m.layers[l];
        for (int64_t j = 0; j < 4 * L.width; ++j) a.dphi[L.b_hh + j] = a.dphi[L.b_ih + j];
    }
    return L2L_OK;
}

int32_t backward(l2l_context* ctx, const BackwardArgs& a) {
    if (a.m->averaging) return averaging_backward(ctx, a);
    const Kernels& K = context_kernels(ctx);
    const int64_t P = a.m->phi_size;
    const int64_t chunks = num_chunks(a.n, kReductionChunk);
    const int32_t threads = parallelism(ctx, a.n * a.steps);
    CpuContext& cpu = cpu_context(ctx);
    /* everything allocated before anything is written */
    int32_t status = reserve_workspace(cpu, chunks * P);
    if (status != L2L_OK) return status;
    PackedPhi layout;
    const PackedPhi* packed;
    status = prepare(ctx, *a.m, a.phi, a.n, kReductionChunk, threads, &layout, &packed);
    if (status != L2L_OK) return status;
    double* partial = cpu.workspace;
    parallel_for(chunks, threads, flushing([&](int32_t slot, int64_t c) {
        double* acc = partial + c * P;
        memset(acc, 0, sizeof(double) * P);
        const int64_t lo = c * kReductionChunk, hi = std::min(a.n, lo + kReductionChunk);
        K.backward_range(*a.m, a, packed, lo, hi - lo, acc, slot_scratch(cpu, slot));
    }));
    combine_chunks(ctx, partial, chunks, P, a.dphi);
    return L2L_OK;
}

int32_t meta_loss_grads(l2l_context* ctx, const l2l_model* m, int64_t n, int32_t steps,
                        const float* record, const float* grad_last, float scale, float* out) {
    const int64_t R = 1 + m->state_rows;
    const int64_t chunks = num_chunks(n, kStepChunk);
    parallel_for(chunks, parallelism(ctx, n), flushing([&](int32_t, int64_t c) {
        const int64_t lo = c * kStepChunk, hi = std::min(n, lo + kStepChunk);
        float* last = out + static_cast<int64_t>(steps - 1) * n;
        for (int64_t i = lo; i < hi; ++i) last[i] = grad_last[i];
        for (int32_t s = steps - 2; s >= 0; --s) {
            const float* x_next = record + static_cast<int64_t>(s + 1) * R * n;
            const float* above = out + static_cast<int64_t>(s + 1) * n;
            float* here = out + static_cast<int64_t>(s) * n;
            for (int64_t i = lo; i < hi; ++i) here[i] = above[i] + x_next[i];
        }
        for (int32_t s = 0; s < steps; ++s) {
            float* here = out + static_cast<int64_t>(s) * n;
            for (int64_t i = lo; i < hi; ++i) here[i] *= scale;
        }
    }));
    return L2L_OK;
}

int32_t find_non_finite(l2l_context* ctx, const float* p, int64_t count, int64_t* index) {
    /* the smallest index of a chunk's first hit; chunks past one already found are skipped */
    constexpr int64_t kChunk = int64_t{1} << 16;
    std::atomic<int64_t> first{INT64_MAX};
    parallel_for(num_chunks(count, kChunk), parallelism(ctx, count), [&](int32_t, int64_t c) {
        const int64_t lo = c * kChunk, hi = std::min(count, lo + kChunk);
        if (lo > first.load(std::memory_order_relaxed)) return;
        int32_t bad = 0;
        for (int64_t i = lo; i < hi; ++i) bad |= is_finite(p[i]) ? 0 : 1;
        if (!bad) return;
        int64_t i = lo;
        while (is_finite(p[i])) ++i;
        int64_t seen = first.load(std::memory_order_relaxed);
        while (i < seen && !first.compare_exchange_weak(seen, i, std::memory_order_relaxed)) {
        }
    });
    const int64_t found = first.load(std::memory_order_relaxed);
    *index = found == INT64_MAX ? -1 : found;
    return L2L_OK;
}

} // namespace

} // namespace cpu

const BackendOps& cpu_ops() {
    static const BackendOps ops = [] {
        BackendOps o{};
        o.backend = L2L_BACKEND_CPU;
        o.device_count = &cpu::device_count;
        o.create = &cpu::create;
        o.destroy = &cpu::destroy;
        o.stream = &cpu::no_stream;
        o.threads = &cpu::threads;
        o.set_threads = &cpu::set_threads;
        o.cpu_isa = &cpu::cpu_isa;
        o.set_cpu_isa = &cpu::set_cpu_isa;
        o.cpu_isas = &cpu::cpu_isas;
        o.cpu_isa_note = &cpu::cpu_isa_note;
        o.mem_alloc = &cpu::mem_alloc;
        o.mem_free = &cpu::mem_free;
        o.mem_copy = &cpu::mem_copy;
        o.mem_zero = &cpu::mem_zero;
        o.synchronize = &cpu::synchronize;
        o.find_non_finite = &cpu::find_non_finite;
        o.step = &cpu::step;
        o.meta_loss_grads = &cpu::meta_loss_grads;
        o.backward = &cpu::backward;
        cpu::fill_mlp_ops(o); /* and find_bad_index */
        return o;
    }();
    return ops;
}

} // namespace l2l
