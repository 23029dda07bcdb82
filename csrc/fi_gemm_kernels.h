/* fi_gemm_kernels.h: the dense-product micro-kernels, included once per SIMD path by fi_gemm.c
 * (FI_GPATH baseline) and fi_gemm_avx2.c (FI_GPATH avx2), like fi_random_kernels.h.
 *
 * Two shapes of kernel (fi_gemm.h describes the packed layouts):
 *   "axpy" (BLIS-style): C[i][j] = C[i][j] + sum_k A[k][i] B[k][j] over packed panels, one rank-1
 *          update per k. Each element of C is one sequential chain of multiply-adds over k that
 *          starts from C's current value, so splitting k into blocks (and splitting rows or
 *          columns of C between threads) never changes a bit.
 *   "dot": C[i][j] = sum_n A[i][n] B[j][n] over contiguous rows: 8 lane sums over the first
 *          8*floor(len/8) terms (4 for float64), reduced in a fixed tree, then the tail terms in
 *          order. Every element goes through the same operations whatever tile it sits in.
 * The AVX2 path fuses multiply-adds (FMA intrinsics: one rounding); the baseline path rounds the
 * product and the sum separately (-ffp-contract=off), so the two paths differ in the last bits. */
#include "fi_gemm.h"
#include "fi_vec.h"

#define FI_GCAT_(a, b) a##_##b
#define FI_GCAT(a, b) FI_GCAT_(a, b)
#define FI_GK(name) FI_GCAT(name, FI_GPATH)

#if defined(__FMA__)
static inline v8f FI_GK(fma8f)(v8f a, v8f b, v8f c) {
    return (v8f)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
}
static inline v4d FI_GK(fma4d)(v4d a, v4d b, v4d c) {
    return (v4d)_mm256_fmadd_pd((__m256d)a, (__m256d)b, (__m256d)c);
}
static inline float FI_GK(fmaf)(float a, float b, float c) {
    return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
}
static inline double FI_GK(fmad)(double a, double b, double c) {
    return _mm_cvtsd_f64(_mm_fmadd_sd(_mm_set_sd(a), _mm_set_sd(b), _mm_set_sd(c)));
}
#else
static inline v8f FI_GK(fma8f)(v8f a, v8f b, v8f c) { return a * b + c; }
static inline v4d FI_GK(fma4d)(v4d a, v4d b, v4d c) { return a * b + c; }
static inline float FI_GK(fmaf)(float a, float b, float c) { return a * b + c; }
static inline double FI_GK(fmad)(double a, double b, double c) { return a * b + c; }
#endif

/* Broadcasts (not 0 + x, which costs an add and turns -0.0 into +0.0). */
static inline v8f fi_bc8f(float x) { return (v8f){x, x, x, x, x, x, x, x}; }
static inline v4d fi_bc4d(double x) { return (v4d){x, x, x, x}; }

/* ---- axpy kernels: m rows (1..FI_MR) x NR columns; nv valid columns of C (1..NR) ---------- */
#define FI_DEF_AXPY_F32(NAME, M, AIDX)                                                            \
    static void FI_GK(NAME##_##M)(int64_t kc, const float *a, int64_t lda, const float *b,        \
                                  float *c, int64_t ldc, int64_t nv) {                            \
        FI_ALIGN32 float tmp[M * 16];                                                             \
        (void)lda;                                                                                \
        float *cp = c;                                                                            \
        int64_t ld = ldc;                                                                         \
        if (nv < 16) {                                                                            \
            memset(tmp, 0, sizeof(tmp));                                                          \
            for (int i = 0; i < M; i++) memcpy(tmp + 16 * i, c + i * ldc, (size_t)nv * 4);        \
            cp = tmp;                                                                             \
            ld = 16;                                                                              \
        }                                                                                         \
        v8f acc0[M], acc1[M];                                                                     \
        _Pragma("GCC unroll 6") for (int i = 0; i < M; i++) {                                     \
            acc0[i] = fi_load8f(cp + i * ld);                                                     \
            acc1[i] = fi_load8f(cp + i * ld + 8);                                                 \
        }                                                                                         \
        for (int64_t k = 0; k < kc; k++) {                                                        \
            v8f b0 = fi_load8f(b + 16 * k), b1 = fi_load8f(b + 16 * k + 8);                       \
            _Pragma("GCC unroll 6") for (int i = 0; i < M; i++) {                                 \
                v8f ai = fi_bc8f(AIDX(i, k));                                             \
                acc0[i] = FI_GK(fma8f)(ai, b0, acc0[i]);                                          \
                acc1[i] = FI_GK(fma8f)(ai, b1, acc1[i]);                                          \
            }                                                                                     \
        }                                                                                         \
        _Pragma("GCC unroll 6") for (int i = 0; i < M; i++) {                                     \
            fi_store8f(cp + i * ld, acc0[i]);                                                     \
            fi_store8f(cp + i * ld + 8, acc1[i]);                                                 \
        }                                                                                         \
        if (cp == tmp)                                                                            \
            for (int i = 0; i < M; i++) memcpy(c + i * ldc, tmp + 16 * i, (size_t)nv * 4);        \
    }

#define FI_DEF_AXPY_F64(NAME, M, AIDX)                                                            \
    static void FI_GK(NAME##_##M)(int64_t kc, const double *a, int64_t lda, const double *b,      \
                                  double *c, int64_t ldc, int64_t nv) {                           \
        FI_ALIGN32 double tmp[M * 8];                                                             \
        (void)lda;                                                                                \
        double *cp = c;                                                                           \
        int64_t ld = ldc;                                                                         \
        if (nv < 8) {                                                                             \
            memset(tmp, 0, sizeof(tmp));                                                          \
            for (int i = 0; i < M; i++) memcpy(tmp + 8 * i, c + i * ldc, (size_t)nv * 8);         \
            cp = tmp;                                                                             \
            ld = 8;                                                                               \
        }                                                                                         \
        v4d acc0[M], acc1[M];                                                                     \
        _Pragma("GCC unroll 6") for (int i = 0; i < M; i++) {                                     \
            acc0[i] = fi_load4d(cp + i * ld);                                                     \
            acc1[i] = fi_load4d(cp + i * ld + 4);                                                 \
        }                                                                                         \
        for (int64_t k = 0; k < kc; k++) {                                                        \
            v4d b0 = fi_load4d(b + 8 * k), b1 = fi_load4d(b + 8 * k + 4);                         \
            _Pragma("GCC unroll 6") for (int i = 0; i < M; i++) {                                 \
                v4d ai = fi_bc4d(AIDX(i, k));                                             \
                acc0[i] = FI_GK(fma4d)(ai, b0, acc0[i]);                                          \
                acc1[i] = FI_GK(fma4d)(ai, b1, acc1[i]);                                          \
            }                                                                                     \
        }                                                                                         \
        _Pragma("GCC unroll 6") for (int i = 0; i < M; i++) {                                     \
            fi_store4d(cp + i * ld, acc0[i]);                                                     \
            fi_store4d(cp + i * ld + 4, acc1[i]);                                                 \
        }                                                                                         \
        if (cp == tmp)                                                                            \
            for (int i = 0; i < M; i++) memcpy(c + i * ldc, tmp + 8 * i, (size_t)nv * 8);         \
    }

/* element (i, k) of A: packed panels (kax) or rows lda apart (kaxr: rows of W read in place) */
#define FI_AP(i, k) a[FI_MR * (k) + (i)]
#define FI_AR(i, k) a[(i) * lda + (k)]
FI_DEF_AXPY_F32(kax_f32, 1, FI_AP)
FI_DEF_AXPY_F32(kax_f32, 2, FI_AP)
FI_DEF_AXPY_F32(kax_f32, 3, FI_AP)
FI_DEF_AXPY_F32(kax_f32, 4, FI_AP)
FI_DEF_AXPY_F32(kax_f32, 5, FI_AP)
FI_DEF_AXPY_F32(kax_f32, 6, FI_AP)
FI_DEF_AXPY_F64(kax_f64, 1, FI_AP)
FI_DEF_AXPY_F64(kax_f64, 2, FI_AP)
FI_DEF_AXPY_F64(kax_f64, 3, FI_AP)
FI_DEF_AXPY_F64(kax_f64, 4, FI_AP)
FI_DEF_AXPY_F64(kax_f64, 5, FI_AP)
FI_DEF_AXPY_F64(kax_f64, 6, FI_AP)
FI_DEF_AXPY_F32(kaxr_f32, 1, FI_AR)
FI_DEF_AXPY_F32(kaxr_f32, 2, FI_AR)
FI_DEF_AXPY_F32(kaxr_f32, 3, FI_AR)
FI_DEF_AXPY_F32(kaxr_f32, 4, FI_AR)
FI_DEF_AXPY_F32(kaxr_f32, 5, FI_AR)
FI_DEF_AXPY_F32(kaxr_f32, 6, FI_AR)
FI_DEF_AXPY_F64(kaxr_f64, 1, FI_AR)
FI_DEF_AXPY_F64(kaxr_f64, 2, FI_AR)
FI_DEF_AXPY_F64(kaxr_f64, 3, FI_AR)
FI_DEF_AXPY_F64(kaxr_f64, 4, FI_AR)
FI_DEF_AXPY_F64(kaxr_f64, 5, FI_AR)
FI_DEF_AXPY_F64(kaxr_f64, 6, FI_AR)

/* ---- dot kernels: MI rows of A x NJ rows of B, both contiguous along n -------------------- */
static inline float FI_GK(hsum8f)(v8f v) {
    /* fixed tree: (l0+l4, l1+l5, l2+l6, l3+l7), then pairs, then the last two */
    float s0 = v[0] + v[4], s1 = v[1] + v[5], s2 = v[2] + v[6], s3 = v[3] + v[7];
    return (s0 + s2) + (s1 + s3);
}
static inline double FI_GK(hsum4d)(v4d v) { return (v[0] + v[2]) + (v[1] + v[3]); }

#define FI_DEF_DOT_F32(MI, NJ)                                                                    \
    static void FI_GK(kdot_f32_##MI##_##NJ)(int64_t len, const float *a, int64_t lda,             \
                                            const float *b, int64_t ldb, float *c, int64_t ldc) { \
        v8f acc[MI][NJ];                                                                          \
        _Pragma("GCC unroll 4") for (int i = 0; i < MI; i++)                                      \
            _Pragma("GCC unroll 4") for (int j = 0; j < NJ; j++) acc[i][j] = (v8f){0};            \
        int64_t n8 = len & ~(int64_t)7;                                                           \
        for (int64_t n = 0; n < n8; n += 8) {                                                     \
            /* each vector loaded once: NJ rows of b held, one row of a at a time (12 + 3 + 1 \
             * registers at 4 x 3; folding a into the FMAs would load it NJ times, and Zen1 \
             * splits every 256-bit load in two) */                                              \
            v8f bv[NJ];                                                                           \
            _Pragma("GCC unroll 4") for (int j = 0; j < NJ; j++) bv[j] = fi_load8f(b + j * ldb + n); \
            _Pragma("GCC unroll 4") for (int i = 0; i < MI; i++) {                                \
                v8f ai = fi_load8f(a + i * lda + n);                                              \
                _Pragma("GCC unroll 4") for (int j = 0; j < NJ; j++)                              \
                    acc[i][j] = FI_GK(fma8f)(ai, bv[j], acc[i][j]);                               \
            }                                                                                     \
        }                                                                                         \
        for (int i = 0; i < MI; i++)                                                              \
            for (int j = 0; j < NJ; j++) {                                                        \
                float s = FI_GK(hsum8f)(acc[i][j]);                                               \
                for (int64_t n = n8; n < len; n++) s = FI_GK(fmaf)(a[i * lda + n], b[j * ldb + n], s); \
                c[i * ldc + j] = s;                                                               \
            }                                                                                     \
    }

#define FI_DEF_DOT_F64(MI, NJ)                                                                    \
    static void FI_GK(kdot_f64_##MI##_##NJ)(int64_t len, const double *a, int64_t lda,            \
                                            const double *b, int64_t ldb, double *c,              \
                                            int64_t ldc) {                                        \
        v4d acc[MI][NJ];                                                                          \
        _Pragma("GCC unroll 4") for (int i = 0; i < MI; i++)                                      \
            _Pragma("GCC unroll 4") for (int j = 0; j < NJ; j++) acc[i][j] = (v4d){0};            \
        int64_t n4 = len & ~(int64_t)3;                                                           \
        for (int64_t n = 0; n < n4; n += 4) {                                                     \
            v4d bv[NJ];                                                                           \
            _Pragma("GCC unroll 4") for (int j = 0; j < NJ; j++) bv[j] = fi_load4d(b + j * ldb + n); \
            _Pragma("GCC unroll 4") for (int i = 0; i < MI; i++) {                                \
                v4d ai = fi_load4d(a + i * lda + n);                                              \
                _Pragma("GCC unroll 4") for (int j = 0; j < NJ; j++)                              \
                    acc[i][j] = FI_GK(fma4d)(ai, bv[j], acc[i][j]);                               \
            }                                                                                     \
        }                                                                                         \
        for (int i = 0; i < MI; i++)                                                              \
            for (int j = 0; j < NJ; j++) {                                                        \
                double s = FI_GK(hsum4d)(acc[i][j]);                                              \
                for (int64_t n = n4; n < len; n++) s = FI_GK(fmad)(a[i * lda + n], b[j * ldb + n], s); \
                c[i * ldc + j] = s;                                                               \
            }                                                                                     \
    }

#define FI_DEF_DOT_ROW(T, MI)                                                                     \
    FI_DEF_DOT_##T(MI, 1) FI_DEF_DOT_##T(MI, 2) FI_DEF_DOT_##T(MI, 3)
FI_DEF_DOT_ROW(F32, 1)
FI_DEF_DOT_ROW(F32, 2)
FI_DEF_DOT_ROW(F32, 3)
FI_DEF_DOT_ROW(F32, 4)
FI_DEF_DOT_ROW(F64, 1)
FI_DEF_DOT_ROW(F64, 2)
FI_DEF_DOT_ROW(F64, 3)
FI_DEF_DOT_ROW(F64, 4)

const fi_gemm_kernels FI_GK(fi_gemm_kernels) = {
    {NULL, FI_GK(kax_f32_1), FI_GK(kax_f32_2), FI_GK(kax_f32_3), FI_GK(kax_f32_4),
     FI_GK(kax_f32_5), FI_GK(kax_f32_6)},
    {NULL, FI_GK(kax_f64_1), FI_GK(kax_f64_2), FI_GK(kax_f64_3), FI_GK(kax_f64_4),
     FI_GK(kax_f64_5), FI_GK(kax_f64_6)},
    {NULL, FI_GK(kaxr_f32_1), FI_GK(kaxr_f32_2), FI_GK(kaxr_f32_3), FI_GK(kaxr_f32_4),
     FI_GK(kaxr_f32_5), FI_GK(kaxr_f32_6)},
    {NULL, FI_GK(kaxr_f64_1), FI_GK(kaxr_f64_2), FI_GK(kaxr_f64_3), FI_GK(kaxr_f64_4),
     FI_GK(kaxr_f64_5), FI_GK(kaxr_f64_6)},
    {{NULL, NULL, NULL, NULL},
     {NULL, FI_GK(kdot_f32_1_1), FI_GK(kdot_f32_1_2), FI_GK(kdot_f32_1_3)},
     {NULL, FI_GK(kdot_f32_2_1), FI_GK(kdot_f32_2_2), FI_GK(kdot_f32_2_3)},
     {NULL, FI_GK(kdot_f32_3_1), FI_GK(kdot_f32_3_2), FI_GK(kdot_f32_3_3)},
     {NULL, FI_GK(kdot_f32_4_1), FI_GK(kdot_f32_4_2), FI_GK(kdot_f32_4_3)}},
    {{NULL, NULL, NULL, NULL},
     {NULL, FI_GK(kdot_f64_1_1), FI_GK(kdot_f64_1_2), FI_GK(kdot_f64_1_3)},
     {NULL, FI_GK(kdot_f64_2_1), FI_GK(kdot_f64_2_2), FI_GK(kdot_f64_2_3)},
     {NULL, FI_GK(kdot_f64_3_1), FI_GK(kdot_f64_3_2), FI_GK(kdot_f64_3_3)},
     {NULL, FI_GK(kdot_f64_4_1), FI_GK(kdot_f64_4_2), FI_GK(kdot_f64_4_3)}},
};
