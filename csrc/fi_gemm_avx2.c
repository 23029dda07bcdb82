/* GEMM micro-kernels compiled with -mavx2 -mfma: multiply-adds fuse through explicit FMA
 * intrinsics only (fi_gemm_kernels.h). Only called after fi_cpu_has_avx2(). */
#define FI_GPATH avx2
#include "fi_gemm_kernels.h"
