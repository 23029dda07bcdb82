/* fi_activation.c: dispatch of the activation kernels (fi_activation.h) to the SIMD path chosen
 * by fi_cpu.c (FASTINIT_SIMD, fastinit.set_simd_path). The kernels themselves are in
 * fi_activation_kernels.h, compiled once per path. */
#include "fi_activation.h"

#include "fi_activation_kernels.h"
#include "fi_cpu.h"

static const fi_act_table *fi_act_kernels(void) {
#ifdef FI_BUILD_AVX2
    if (fi_simd_current() == FI_SIMD_AVX2) return &fi_act_table_avx2;
#endif
    return &fi_act_table_baseline;
}

/* Codes outside the enum behave as linear (the functions cannot fail). */
static int fi_act_index(fi_act act) {
    return (unsigned)act < (unsigned)FI_ACT_COUNT ? (int)act : (int)FI_ACT_LINEAR;
}

void fi_act_forward_f32(fi_act act, double p0, const float *z, float *h, int64_t n) {
    if (n > 0) fi_act_kernels()->fwd32[fi_act_index(act)](p0, z, h, n);
}
void fi_act_forward_f64(fi_act act, double p0, const double *z, double *h, int64_t n) {
    if (n > 0) fi_act_kernels()->fwd64[fi_act_index(act)](p0, z, h, n);
}
void fi_act_backward_f32(fi_act act, double p0, const float *z, const float *g, float *dz, int64_t n) {
    if (n > 0) fi_act_kernels()->bwd32[fi_act_index(act)](p0, z, g, dz, n);
}
void fi_act_backward_f64(fi_act act, double p0, const double *z, const double *g, double *dz,
                         int64_t n) {
    if (n > 0) fi_act_kernels()->bwd64[fi_act_index(act)](p0, z, g, dz, n);
}
void fi_act_forward_deriv_f32(fi_act act, double p0, const float *z, float *h, float *dphi,
                              int64_t n) {
    if (n > 0) fi_act_kernels()->fd32[fi_act_index(act)](p0, z, h, dphi, n);
}
void fi_act_forward_deriv_f64(fi_act act, double p0, const double *z, double *h, double *dphi,
                              int64_t n) {
    if (n > 0) fi_act_kernels()->fd64[fi_act_index(act)](p0, z, h, dphi, n);
}
