/*
 * amx_tiles.h -- the AMX-BF16 tile operations of the "amx" kernel set (L2L_AMX_HARDWARE: the
 * processor's tiles, AMX-TILE and AMX-BF16 instructions), and a software model of the same
 * operations for the "amx-emulated" set, which runs the amx kernels' logic on any processor with
 * AVX-512 so that it is tested where there is no AMX.
 *
 * One tile configuration (palette 1): tmm0 = C, 16 rows of 16 float32; tmm1 = A, 16 rows of 16
 * 32-bit words, each a pair of bfloat16 (the first in the low half) along A's columns; tmm2 = B,
 * 16 rows of 16 words, row k holding the pairs (rows 2k, 2k + 1) of B's 16 columns (the "VNNI"
 * layout).  multiply() is TDPBF16PS tmm0, tmm1, tmm2: for each row m of C, each pair k and each
 * column n, in that order,
 *     C[m][n] += A[m][2k] B[2k][n];   C[m][n] += A[m][2k + 1] B[2k + 1][n]
 * in float32, bfloat16 subnormal inputs read as zero (Intel SDM, TDPBF16PS); the model adds in
 * that order, each addition rounded to nearest even (and flushed to zero under the kernels'
 * FTZ mode, as the instruction's results are).  The products of two bfloat16 are exact in
 * float32.
 */
#ifndef L2L_CPU_AMX_TILES_H
#define L2L_CPU_AMX_TILES_H

#include <stdint.h>
#include <string.h>

#if defined(L2L_AMX_HARDWARE)
#include <immintrin.h>
#endif

namespace l2l {
namespace cpu {
namespace amx {

constexpr int kRows = 16;  /* rows of every tile */
constexpr int kWords = 16; /* 32-bit elements per tile row (64 bytes) */

#if defined(L2L_AMX_HARDWARE)

struct alignas(64) TileConfig {
    uint8_t palette;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
};

/* Loads the configuration (tmm0..tmm2 of 16 rows x 64 bytes) on this thread. */
inline void configure() {
    TileConfig c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    for (int t = 0; t < 3; ++t) {
        c.colsb[t] = 4 * kWords;
        c.rows[t] = kRows;
    }
    _tile_loadconfig(&c);
}
/* Returns the tile state to its initial (unused) state. */
inline void release() { _tile_release(); }
inline void zero_c() { _tile_zero(0); }
/* A from 16 rows of 16 words, row r at p + r * stride (stride in words). */
inline void load_a(const uint32_t* p, int64_t stride) { _tile_loadd(1, p, stride * 4); }
inline void load_b(const uint32_t* p, int64_t stride) { _tile_loadd(2, p, stride * 4); }
inline void multiply() { _tile_dpbf16ps(0, 1, 2); }
/* C to 16 rows of 16 floats, row r at p + r * stride (stride in floats). */
inline void store_c(float* p, int64_t stride) { _tile_stored(0, p, stride * 4); }

#else

struct Tiles {
    float c[kRows][kWords];
    uint32_t a[kRows][kWords];
    uint32_t b[kRows][kWords];
};
inline thread_local Tiles t_tiles;

inline void configure() {}
inline void release() {}
inline void zero_c() { memset(t_tiles.c, 0, sizeof t_tiles.c); }
inline void load_a(const uint32_t* p, int64_t stride) {
    for (int r = 0; r < kRows; ++r) memcpy(t_tiles.a[r], p + r * stride, sizeof t_tiles.a[r]);
}
inline void load_b(const uint32_t* p, int64_t stride) {
    for (int r = 0; r < kRows; ++r) memcpy(t_tiles.b[r], p + r * stride, sizeof t_tiles.b[r]);
}
/* The bfloat16 in the low (half 0) or high (half 1) 16 bits of w as float32, a subnormal as 0. */
inline float bf16_half(uint32_t w, int half) {
    uint32_t bits = (half == 0 ? w << 16 : w & 0xFFFF0000u);
    if ((bits & 0x7F800000u) == 0) bits &= 0x80000000u;
    float x;
    memcpy(&x, &bits, sizeof x);
    return x;
}
inline void multiply() {
    Tiles& t = t_tiles;
    for (int m = 0; m < kRows; ++m) {
        for (int k = 0; k < kWords; ++k) {
            const float a0 = bf16_half(t.a[m][k], 0);
            const float a1 = bf16_half(t.a[m][k], 1);
            for (int n = 0; n < kWords; ++n) {
                float c = t.c[m][n];
                c += a0 * bf16_half(t.b[k][n], 0);
                c += a1 * bf16_half(t.b[k][n], 1);
                t.c[m][n] = c;
            }
        }
    }
}
inline void store_c(float* p, int64_t stride) {
    for (int r = 0; r < kRows; ++r) memcpy(p + r * stride, t_tiles.c[r], sizeof t_tiles.c[r]);
}

#endif

} // namespace amx
} // namespace cpu
} // namespace l2l

#endif
