/* Sampling kernels compiled with -mavx2 -mfma; -ffp-contract=off and no FMA intrinsics here keep
 * the baseline bits.
 * Only called after fi_cpu_has_avx2(). */
/* GCC's register allocator serializes the kernels' interleaved dependency chains (one Horner
 * chain after the other), which leaves the out-of-order core waiting on latencies; scheduling
 * before allocation keeps them interleaved (about 1.3x on the float64 Box-Muller transform).
 * Reordering never changes a result. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("schedule-insns")
#endif
#define FI_PATH avx2
#include "fi_random_kernels.h"
