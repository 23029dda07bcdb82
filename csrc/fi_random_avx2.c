/* Sampling kernels compiled with -mavx2 -mfma; -ffp-contract=off and no FMA intrinsics here keep
 * the baseline bits.
 * Only called after fi_cpu_has_avx2(). */
#define FI_PATH avx2
#include "fi_random_kernels.h"
