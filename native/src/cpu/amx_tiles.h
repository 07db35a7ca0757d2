/*
 * amx_tiles.h -- the AMX-BF16 tile operations of the "amx" kernel set (L2L_AMX_HARDWARE: the
 * processor's tiles, AMX-TILE and AMX-BF16 instructions), and a software model of the same
 * operations for the "amx-emulated" set, which runs the amx kernels' logic on any processor with
 * AVX-512 so that it is tested where there is no AMX.
 *
 * Eight tiles, tmm0 .. tmm7 (palette 1), named by template parameters; configure(tiles) gives
 * the first `tiles` of them 16 rows of 64 bytes, which the operations below use whole.  A tile
 * read as C holds 16 rows of 16 float32; as A, 16 rows of 16 32-bit words, each a pair of
 * bfloat16 (the first in the low half) along A's columns; as B, 16 rows of 16 words, row k
 * holding the pairs (rows 2k, 2k + 1) of B's 16 columns (the "VNNI" layout).  dot<C, A, B>() is
 * TDPBF16PS tmmC, tmmA, tmmB (three distinct tiles): for each row m of C, each pair k and each
 * column n, in that order,
 *     C[m][n] += A[m][2k] B[2k][n];   C[m][n] += A[m][2k + 1] B[2k + 1][n]
 * in float32, bfloat16 subnormal inputs read as zero (Intel SDM, TDPBF16PS); the model adds in
 * that order, each addition rounded to nearest even (and flushed to zero under the kernels'
 * FTZ mode, as the instruction's results are).  The products of two bfloat16 are exact in
 * float32.
 *
 * The tile instructions encode their tiles' numbers, and GCC's _tile_* macros paste the spelling
 * of their argument into the assembly (so that a template parameter cannot name a tile there):
 * the hardware functions emit the instructions themselves, each tile number an immediate
 * operand, in both assembler dialects as those macros do.
 */
#ifndef L2L_CPU_AMX_TILES_H
#define L2L_CPU_AMX_TILES_H

#include <stdint.h>
#include <string.h>

#if defined(L2L_AMX_HARDWARE)
#include <immintrin.h>
#endif

#if !defined(L2L_ISA_NS)
#error "amx_tiles.h belongs to a kernel set's translation unit (cpu_kernels.inc)"
#endif

/* In the kernel set's namespace: the amx set's functions and the model's have the same names,
 * and the linker must never take one for the other. */
namespace l2l {
namespace cpu {
namespace L2L_ISA_NS {
namespace amx {

constexpr int kTiles = 8;  /* tmm0 .. tmm7 */
constexpr int kRows = 16;  /* rows of every tile */
constexpr int kWords = 16; /* 32-bit elements per tile row (64 bytes) */

template <int T>
constexpr bool is_tile = T >= 0 && T < kTiles;

#if defined(L2L_AMX_HARDWARE)

struct alignas(64) TileConfig {
    uint8_t palette;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
};

/* Loads the configuration on this thread: tmm0 .. tmm(tiles - 1) of 16 rows x 64 bytes (tiles
 * in [1, kTiles]), the others unused. */
inline void configure(int tiles) {
    TileConfig c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    for (int t = 0; t < tiles; ++t) {
        c.colsb[t] = 4 * kWords;
        c.rows[t] = kRows;
    }
    _tile_loadconfig(&c);
}
/* Returns the tile state to its initial (unused) state. */
inline void release() { _tile_release(); }
/* Tile T = 0. */
template <int T>
inline void zero() {
    static_assert(is_tile<T>, "a tile is tmm0 .. tmm7");
    __asm__ volatile("{tilezero\t%%tmm%c0|tilezero\ttmm%c0}" ::"i"(T));
}
/* Tile T from 16 rows of 16 words, row r at p + r * stride (stride in words). */
template <int T>
inline void load(const uint32_t* p, int64_t stride) {
    static_assert(is_tile<T>, "a tile is tmm0 .. tmm7");
    __asm__ volatile("{tileloadd\t(%0,%1,1), %%tmm%c2|tileloadd\ttmm%c2, [%0+%1*1]}" ::"r"(p), "r"(stride * 4),
                     "i"(T)
                     : "memory");
}
/* TDPBF16PS: C += A B, as above. */
template <int C, int A, int B>
inline void dot() {
    static_assert(is_tile<C> && is_tile<A> && is_tile<B>, "a tile is tmm0 .. tmm7");
    static_assert(C != A && C != B && A != B, "TDPBF16PS needs three distinct tiles");
    __asm__ volatile("{tdpbf16ps\t%%tmm%c2, %%tmm%c1, %%tmm%c0|tdpbf16ps\ttmm%c0, tmm%c1, tmm%c2}" ::"i"(C), "i"(A),
                     "i"(B));
}
/* Tile T to 16 rows of 16 floats, row r at p + r * stride (stride in floats). */
template <int T>
inline void store(float* p, int64_t stride) {
    static_assert(is_tile<T>, "a tile is tmm0 .. tmm7");
    __asm__ volatile("{tilestored\t%%tmm%c2, (%0,%1,1)|tilestored\t[%0+%1*1], tmm%c2}" ::"r"(p), "r"(stride * 4),
                     "i"(T)
                     : "memory");
}

#else

/* This thread's tiles, each 16 rows of 16 words (a C tile's floats by their bits). */
inline thread_local uint32_t t_tiles[kTiles][kRows][kWords];

/* The model needs no configuration: all eight tiles always exist. */
inline void configure(int) {}
inline void release() {}
template <int T>
inline void zero() {
    static_assert(is_tile<T>, "a tile is tmm0 .. tmm7");
    memset(t_tiles[T], 0, sizeof t_tiles[T]);
}
template <int T>
inline void load(const uint32_t* p, int64_t stride) {
    static_assert(is_tile<T>, "a tile is tmm0 .. tmm7");
    for (int r = 0; r < kRows; ++r) memcpy(t_tiles[T][r], p + r * stride, sizeof t_tiles[T][r]);
}
/* The bfloat16 in the low (half 0) or high (half 1) 16 bits of w as float32, a subnormal as 0. */
inline float bf16_half(uint32_t w, int half) {
    uint32_t bits = (half == 0 ? w << 16 : w & 0xFFFF0000u);
    if ((bits & 0x7F800000u) == 0) bits &= 0x80000000u;
    float x;
    memcpy(&x, &bits, sizeof x);
    return x;
}
template <int C, int A, int B>
inline void dot() {
    static_assert(is_tile<C> && is_tile<A> && is_tile<B>, "a tile is tmm0 .. tmm7");
    static_assert(C != A && C != B && A != B, "TDPBF16PS needs three distinct tiles");
    const uint32_t(&a)[kRows][kWords] = t_tiles[A];
    const uint32_t(&b)[kRows][kWords] = t_tiles[B];
    float c[kRows][kWords];
    memcpy(c, t_tiles[C], sizeof c);
    for (int m = 0; m < kRows; ++m) {
        for (int k = 0; k < kWords; ++k) {
            const float a0 = bf16_half(a[m][k], 0);
            const float a1 = bf16_half(a[m][k], 1);
            for (int n = 0; n < kWords; ++n) {
                float x = c[m][n];
                x += a0 * bf16_half(b[k][n], 0);
                x += a1 * bf16_half(b[k][n], 1);
                c[m][n] = x;
            }
        }
    }
    memcpy(t_tiles[C], c, sizeof c);
}
template <int T>
inline void store(float* p, int64_t stride) {
    static_assert(is_tile<T>, "a tile is tmm0 .. tmm7");
    for (int r = 0; r < kRows; ++r) memcpy(p + r * stride, t_tiles[T][r], sizeof t_tiles[T][r]);
}

#endif

} // namespace amx
} // namespace L2L_ISA_NS
} // namespace cpu
} // namespace l2l

#endif
