/* The CPU kernels compiled for the amx instruction set: the avx512bf16 kernels, whose bfloat16
 * gate products and W^T dz run on the AMX tiles (TDPBF16PS; amx_tiles.h) and dz X^T on
 * vdpbf16ps (flags in native/CMakeLists.txt).  Chosen only where the processor has
 * AMX-BF16 and Linux grants the process the tiles' state (cpu_backend.cpp). */
#define L2L_ISA_NS isa_amx
#define L2L_ISA_NAME "amx"
#define L2L_ISA_TABLE kKernelsAmx
#define L2L_ISA_FLOATS 16
#define L2L_ISA_BF16 1
#define L2L_ISA_AMX 1
#define L2L_AMX_HARDWARE 1
#include "cpu_kernels.inc"
