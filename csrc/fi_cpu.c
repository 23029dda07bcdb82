/* fi_cpu.c: run-time SIMD dispatch (fi_cpu.h). */
#include "fi_cpu.h"
#include <stdlib.h>
#include <string.h>

static int fi_simd_state = -1; /* -1: not yet chosen */

int fi_cpu_has_avx2(void) {
#if defined(FI_BUILD_AVX2) && (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

const char *fi_simd_name(fi_simd_path p) { return p == FI_SIMD_AVX2 ? "avx2" : "baseline"; }

fi_simd_path fi_simd_select(fi_simd_path wanted) {
    if (wanted == FI_SIMD_AVX2 && !fi_cpu_has_avx2()) wanted = FI_SIMD_BASELINE;
    fi_simd_state = (int)wanted;
    return wanted;
}

fi_simd_path fi_simd_current(void) {
    if (fi_simd_state < 0) {
        const char *env = getenv("FASTINIT_SIMD");
        fi_simd_path wanted = FI_SIMD_AVX2;
        if (env && (strcmp(env, "baseline") == 0 || strcmp(env, "portable") == 0)) {
            wanted = FI_SIMD_BASELINE;
        }
        fi_simd_select(wanted);
    }
    return (fi_simd_path)fi_simd_state;
}
