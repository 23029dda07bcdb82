/* Sampling kernels compiled with -mavx2 (no -mfma: the sampler must give the baseline bits).
 * Only called after fi_cpu_has_avx2(). */
#define FI_PATH avx2
#include "fi_random_kernels.h"
