/* Sampling kernels for baseline x86-64 (SSE2) or any other target. */
#define FI_PATH baseline
#include "fi_random_kernels.h"
