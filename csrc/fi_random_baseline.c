/* Sampling kernels for baseline x86-64 (SSE2) or any other target. */
/* GCC's register allocator serializes the kernels' interleaved dependency chains (one Horner
 * chain after the other), which leaves the out-of-order core waiting on latencies; scheduling
 * before allocation keeps them interleaved (about 1.3x on the float64 Box-Muller transform).
 * Reordering never changes a result. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("schedule-insns")
#endif
#define FI_PATH baseline
#include "fi_random_kernels.h"
