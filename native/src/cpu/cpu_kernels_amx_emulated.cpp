/* The amx kernels with the tiles' software model (amx_tiles.h) on the avx512 instruction set:
 * the "amx-emulated" set, which runs the amx set's logic on any processor with AVX-512 so that
 * it is tested without AMX; never chosen by default (flags in native/CMakeLists.txt). */
#define L2L_ISA_NS isa_amx_emulated
#define L2L_ISA_NAME "amx-emulated"
#define L2L_ISA_TABLE kKernelsAmxEmulated
#define L2L_ISA_FLOATS 16
#define L2L_ISA_AMX 1
#include "cpu_kernels.inc"
