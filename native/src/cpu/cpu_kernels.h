/*
 * cpu_kernels.h -- the CPU kernels of the fused step and backward pass, compiled once per
 * instruction set (cpu_kernels.inc included by cpu_kernels_<isa>.cpp with that ISA's flags) and
 * chosen at load time by what the processor supports.
 *
 * Both kernels work on a contiguous range of coordinates in tiles of kTile coordinates, each
 * per-coordinate value a row of kTile adjacent floats (in place in the caller's arrays, or in
 * scratch) so that every inner loop runs over adjacent coordinates (structure of arrays) and
 * vectorizes.
 *
 * The backend calls every function of a Kernels table under FlushDenormals (denormals.h), with
 * flush-to-zero and denormals-are-zero set; the kernels never touch the mode themselves.
 */
#ifndef L2L_CPU_KERNELS_H
#define L2L_CPU_KERNELS_H

#include "internal.h"

namespace l2l {
namespace cpu {

/* 128 rather than 64: the backward pass adds each tile's outer products into per-lane weight
 * gradients held in L2, and a wider tile halves that traffic per coordinate (measured about 9%
 * faster on AVX-512, the step unchanged); 256 was slower. */
constexpr int kTile = 128;

/* With bfloat16 products the backward pass gathers the operands of each layer's weight gradient
 * over this many steps of a tile before it sums their products (cpu_kernels.inc, GradientRows):
 * the per-lane weight gradients, in L2, are then read and written once per kGradSteps steps.
 * With 4 the bfloat16 backward pass took 7% less time than with 1 (AVX-512 BF16 on Zen 4; 2
 * gave half of that); a layer of 20 units then reads 20 gathered input rows of 1 KB each, which
 * stay in L1. */
constexpr int kGradSteps = 4;

/* The helpers below are static, like every function these headers define: the kernels are
 * compiled once per instruction set, and the linker must never merge copies made for different
 * instruction sets (or pick one set's copy for another's calls where one is not inlined). */

/* Floats of scratch for one layer's gathered operands (H units, `in` inputs). */
static constexpr int64_t gradient_rows_floats(int64_t H, int64_t in) { return (5 * H + in) * kGradSteps * kTile / 2; }

/* rows rounded up to whole AMX tiles of 16 rows (amx_tiles.h). */
static constexpr int64_t tile_rows(int64_t rows) { return (rows + 15) / 16 * 16; }

/* Scratch floats one thread needs for any kernel on model m with the kernel set k. */
struct Kernels;
int64_t scratch_floats(const l2l_model& m, const Kernels& k);

/* The bfloat16 nearest to the float32 whose bits are b (ties to even), in the low 16 bits; a NaN
 * gives a quiet NaN, a value beyond bfloat16's largest an infinity.  For uint32_t and for GCC
 * vectors of it. */
template <class Bits>
static inline Bits bf16_from_bits(Bits b) {
    return (b & 0x7FFFFFFFu) > 0x7F800000u ? ((b >> 16) | 0x40u) : ((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
}

/* phi's LSTM weights rounded to bfloat16 for a model with L2L_BF16_PRODUCTS (l2l.h,
 * "Precision"), packed two to a 32-bit word (the first in the low half) as the products read
 * them.  For layer l, at these word offsets of `words`:
 *   fwd[l]   [4H][Kp]  row j: the pairs (k, k+1) of [W_ih[j][0..in) W_hh[j][0..H)], K = in + H,
 *                      Kp = ceil(K / 2), an odd K's last high half 0;
 *   t_ih[l]  [in][2H]  row k: the pairs (j, j+1) of W_ih's column k (W_ih^T);
 *   t_hh[l]  [H][2H]   row k: the pairs (j, j+1) of W_hh's column k (W_hh^T). */
struct PackedPhi {
    const uint32_t* words;
    int64_t fwd[L2L_MAX_LAYERS];
    int64_t t_ih[L2L_MAX_LAYERS];
    int64_t t_hh[L2L_MAX_LAYERS];
};

/* Words of the packed weights of model m. */
int64_t packed_phi_words(const l2l_model& m);

/* Rounds and packs phi's LSTM weights into words (packed_phi_words(m) of them); fills layout. */
void pack_phi(const l2l_model& m, const float* phi, uint32_t* words, PackedPhi* layout);

struct Kernels {
    const char* isa;
    /* Whether the bfloat16 gate products and W^T dz run on AMX tiles (amx, amx-emulated), whose
     * operands are copied into blocks of whole tiles in the scratch (scratch_floats). */
    bool tiles;
    /* The step for coordinates [begin, begin + len) of one tensor.  x, theta: that tensor's
     * arrays at the range start; state, record: the shared buffers (n coordinates per row),
     * addressed at global coordinate `global`.  packed: phi's weights in bfloat16 when
     * m.bf16_products, else nullptr. */
    void (*step_range)(const l2l_model& m, const float* phi, const PackedPhi* packed, const float* x,
                       float* theta, float* state, float* record, int64_t n, int64_t global,
                       int64_t len, float* scratch);
    /* The backward pass for coordinates [begin, begin + len), all steps; adds the chunk's dphi
     * into acc (phi_size doubles, zeroed by the caller).  packed: as for step_range. */
    void (*backward_range)(const l2l_model& m, const BackwardArgs& a, const PackedPhi* packed,
                           int64_t begin, int64_t len, double* acc, float* scratch);

    /* The passes of a model with global averaging cells (l2l.h), which run layer by layer over
     * all coordinates, with the averages taken between the passes.  Each works on coordinates
     * [global, global + len) of the call's n, whose rows (stride n) it reads and writes in the
     * state layout ([S][n]).  The step of layer l: its h and c in state, from layer l - 1's h
     * rows there (averaged already) or, for l = 0, from x (the tensor's gradients at the range
     * start); record (l = 0 only, else nullptr) receives x and the state before the step. */
    void (*gac_layer_step)(const l2l_model& m, const float* phi, const PackedPhi* packed, int l,
                           const float* x, float* state, float* record, int64_t n, int64_t global,
                           int64_t len, float* scratch);
    /* The step's output layer: theta (the tensor's, at the range start) += delta, from the top
     * layer's h rows of state. */
    void (*gac_output_step)(const l2l_model& m, const float* phi, const float* state, float* theta,
                            int64_t n, int64_t global, int64_t len, float* scratch);
    /* The backward pass, step s: layer l's h after the step, recomputed from the record and from
     * `after`'s h rows of layer l - 1, into `after`'s h rows of layer l ([S][n]; the c rows are
     * not used). */
    void (*gac_recompute)(const l2l_model& m, const BackwardArgs& a, const PackedPhi* packed, int s,
                          int l, float* after, int64_t global, int64_t len, float* scratch);
    /* The output layer's backward at step s: D ([out_in][n]) = dL/d u of its input (the top
     * layer's averaged h in `after`); acc += its part of dphi (w_out, b_out). */
    void (*gac_output_backward)(const l2l_model& m, const BackwardArgs& a, int s, const float* after,
                                float* D, int64_t global, int64_t len, double* acc, float* scratch);
    /* Layer l's backward at step s, from Dabove ([H][n], dL/dh' from above; the averaging units'
     * rows hold their segment means already, and their rows of carry are zero) and carry ([S][n],
     * dL/d state after the step; this layer's rows are overwritten with dL/d state before it):
     * Dbelow ([in][n]) = dL/du of layer l - 1 for l > 0, dx of step s for l = 0 when a.dx is
     * set; acc += the layer's part of dphi (W_ih, W_hh, b_ih; b_hh is b_ih's copy). */
    void (*gac_layer_backward)(const l2l_model& m, const BackwardArgs& a, const PackedPhi* packed,
                               int s, int l, const float* after, const float* Dabove, float* carry,
                               float* Dbelow, int64_t global, int64_t len, double* acc,
                               float* scratch);

    /* Machine probes, compiled like the kernels (l2l_probes.h). */
    int32_t fma_probe_flops; /* floating-point operations per iteration of fma_probe */
    /* `iterations` rounds of independent multiply-add chains on full vector registers; returns
     * a sum of the chains (to be kept, so that the work cannot be dropped). */
    double (*fma_probe)(int64_t iterations);
    int32_t bf16_probe_flops; /* floating-point operations per iteration of bf16_dot_probe */
    /* The same chains of bfloat16 dot products (two multiply-adds per float32 lane: the
     * arithmetic of the BF16_PRODUCTS kernels). */
    double (*bf16_dot_probe)(int64_t iterations);
    int32_t amx_probe_flops; /* floating-point operations per iteration of amx_probe; 0 without it */
    /* The sets with AMX tiles only (amx, amx-emulated; nullptr in the others): rounds of 4
     * independent TDPBF16PS on 4 accumulator tiles (amx_tiles.h); returns a sum of the
     * accumulators (to be kept). */
    double (*amx_probe)(int64_t iterations);
    /* a[i] = b[i] + s c[i] for i < len (STREAM's triad). */
    void (*triad)(float* a, const float* b, const float* c, float s, int64_t len);
    /* The step's cell update (cell_forward of lstm_math.h over a tile) on `tiles` tiles of kTile
     * coordinates and kProbeCellUnits units; returns a sum of the results (to be kept). */
    double (*cell_probe)(int64_t tiles);
};

/* Units per tile of the cell probe (the paper's layer width). */
constexpr int kProbeCellUnits = 20;

extern const Kernels kKernelsBaseline;
#if defined(__x86_64__)
extern const Kernels kKernelsAvx2;
extern const Kernels kKernelsAvx512;
extern const Kernels kKernelsAvx512Bf16;
extern const Kernels kKernelsAmxEmulated;
#if defined(L2L_WITH_AMX)
extern const Kernels kKernelsAmx;
#endif
#endif

/* The kernels for this processor, or those named by the environment variable L2L_CPU_ISA
 * ("baseline", "avx2", "avx512", "avx512bf16", "amx", "amx-emulated") when it is set and
 * supported; "amx-emulated" only when named. */
const Kernels& kernels();

/* Every kernel set this processor can run (for tests), terminated by nullptr. */
const Kernels* const* supported_kernels();

} // namespace cpu
} // namespace l2l

#endif
