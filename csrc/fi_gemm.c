/* fi_gemm.c: the baseline micro-kernels, SIMD dispatch, packing and the drivers of fi_gemm.h. */
#define FI_GPATH baseline
#include "fi_gemm_kernels.h"

#include <stdlib.h>

#include "fi_cpu.h"

const fi_gemm_kernels *fi_gemm_kernels_current(void) {
#ifdef FI_BUILD_AVX2
    if (fi_simd_current() == FI_SIMD_AVX2) return &fi_gemm_kernels_avx2;
#endif
    return &fi_gemm_kernels_baseline;
}

#define FI_DEFINE_GEMM_DRIVERS(T, SFX, NR)                                                        \
    void fi_gemm_pack_a_##SFX(const T *A, int64_t rsa, int64_t csa, int64_t m, int64_t k,         \
                              T *out) {                                                           \
        for (int64_t p = 0; p * FI_MR < m; p++) {                                                 \
            int64_t mr = m - p * FI_MR < FI_MR ? m - p * FI_MR : FI_MR;                           \
            T *o = out + p * k * FI_MR;                                                           \
            const T *a = A + p * FI_MR * rsa;                                                     \
            if (csa == 1) {                                                                       \
                for (int64_t r = 0; r < FI_MR; r++) {                                             \
                    if (r < mr) {                                                                 \
                        const T *ar = a + r * rsa;                                                \
                        for (int64_t kk = 0; kk < k; kk++) o[kk * FI_MR + r] = ar[kk];            \
                    } else {                                                                      \
                        for (int64_t kk = 0; kk < k; kk++) o[kk * FI_MR + r] = 0;                 \
                    }                                                                             \
                }                                                                                 \
            } else {                                                                              \
                for (int64_t kk = 0; kk < k; kk++)                                                \
                    for (int64_t r = 0; r < FI_MR; r++)                                           \
                        o[kk * FI_MR + r] = r < mr ? a[r * rsa + kk * csa] : (T)0;                \
            }                                                                                     \
        }                                                                                         \
    }                                                                                             \
    void fi_gemm_pack_b_##SFX(const T *B, int64_t rsb, int64_t csb, int64_t k, int64_t n,         \
                              T *out) {                                                           \
        for (int64_t q = 0; q * NR < n; q++) {                                                    \
            int64_t nr = n - q * NR < NR ? n - q * NR : NR;                                       \
            T *o = out + q * k * NR;                                                              \
            const T *b = B + q * NR * csb;                                                        \
            for (int64_t kk = 0; kk < k; kk++) {                                                  \
                if (csb == 1 && nr == NR) {                                                       \
                    memcpy(o + kk * NR, b + kk * rsb, sizeof(T) * NR);                            \
                } else {                                                                          \
                    for (int64_t c = 0; c < NR; c++)                                              \
                        o[kk * NR + c] = c < nr ? b[kk * rsb + c * csb] : (T)0;                   \
                }                                                                                 \
            }                                                                                     \
        }                                                                                         \
    }                                                                                             \
    void fi_gemm_packed_##SFX(const fi_gemm_kernels *kt, int64_t m, int64_t n, int64_t kc,        \
                              const T *Ap, int64_t a_pstride, const T *Bp, int64_t b_pstride,     \
                              T *C, int64_t ldc) {                                                \
        if (kc <= 0) return;                                                                      \
        for (int64_t q = 0; q * NR < n; q++) {                                                    \
            int64_t nv = n - q * NR < NR ? n - q * NR : NR;                                       \
            for (int64_t p = 0; p * FI_MR < m; p++) {                                             \
                int64_t mr = m - p * FI_MR < FI_MR ? m - p * FI_MR : FI_MR;                       \
                kt->ax_##SFX[mr](kc, Ap + p * a_pstride, 0, Bp + q * b_pstride,                   \
                                 C + p * FI_MR * ldc + q * NR, ldc, nv);                          \
            }                                                                                     \
        }                                                                                         \
    }                                                                                             \
    void fi_gemm_dot_##SFX(const fi_gemm_kernels *kt, int64_t m, int64_t n, int64_t len,          \
                           const T *A, int64_t lda, const T *B, int64_t ldb, T *C, int64_t ldc) { \
        for (int64_t i = 0; i < m; i += FI_DOT_MI) {                                              \
            int mi = (int)(m - i < FI_DOT_MI ? m - i : FI_DOT_MI);                                \
            for (int64_t j = 0; j < n; j += FI_DOT_NJ) {                                          \
                int nj = (int)(n - j < FI_DOT_NJ ? n - j : FI_DOT_NJ);                            \
                kt->dot_##SFX[mi][nj](len, A + i * lda, lda, B + j * ldb, ldb, C + i * ldc + j,   \
                                      ldc);                                                       \
            }                                                                                     \
        }                                                                                         \
    }                                                                                             \
    typedef struct {                                                                              \
        const fi_gemm_kernels *kt;                                                                \
        int64_t m, n, k;                                                                          \
        const T *Ap, *B;                                                                          \
        int64_t rsb, csb;                                                                         \
        T *C;                                                                                     \
        int64_t ldc;                                                                              \
        T *bscratch; /* one packed block of FI_GEMM_NB columns per chunk */                       \
    } fi_gemm_ctx_##SFX;                                                                          \
    static void fi_gemm_chunk_##SFX(void *ctx_, int64_t c) {                                      \
        const fi_gemm_ctx_##SFX *g = (const fi_gemm_ctx_##SFX *)ctx_;                             \
        int64_t j0 = c * FI_GEMM_NB, nb = g->n - j0 < FI_GEMM_NB ? g->n - j0 : FI_GEMM_NB;        \
        T *bp = g->bscratch + c * g->k * FI_GEMM_NB;                                              \
        fi_gemm_pack_b_##SFX(g->B + j0 * g->csb, g->rsb, g->csb, g->k, nb, bp);                   \
        fi_gemm_packed_##SFX(g->kt, g->m, nb, g->k, g->Ap, g->k * FI_MR, bp, g->k * NR,           \
                             g->C + j0, g->ldc);                                                  \
    }                                                                                             \
    fi_status fi_gemm_##SFX(int64_t m, int64_t n, int64_t k, const T *A, int64_t rsa,             \
                            int64_t csa, const T *B, int64_t rsb, int64_t csb, T *C,              \
                            int64_t ldc, int n_threads) {                                         \
        if (m <= 0 || n <= 0 || k <= 0) return FI_OK;                                            \
        int64_t n_chunks = (n + FI_GEMM_NB - 1) / FI_GEMM_NB;                                     \
        int64_t mp = (m + FI_MR - 1) / FI_MR;                                                     \
        T *ap = (T *)malloc(sizeof(T) * (size_t)(mp * FI_MR * k));                                \
        T *bs = (T *)malloc(sizeof(T) * (size_t)(n_chunks * FI_GEMM_NB * k));                     \
        if (!ap || !bs) {                                                                         \
            free(ap);                                                                             \
            free(bs);                                                                             \
            return FI_ENOMEM;                                                                     \
        }                                                                                         \
        fi_gemm_pack_a_##SFX(A, rsa, csa, m, k, ap);                                              \
        fi_gemm_ctx_##SFX ctx = {fi_gemm_kernels_current(), m, n, k, ap, B, rsb, csb, C, ldc, bs}; \
        fi_parallel_chunks(n_chunks, n_threads, fi_gemm_chunk_##SFX, &ctx);                       \
        free(ap);                                                                                 \
        free(bs);                                                                                 \
        return FI_OK;                                                                             \
    }

/* Columns of C per parallel chunk of fi_gemm_*: a multiple of both panel widths. */
#define FI_GEMM_NB 64
FI_DEFINE_GEMM_DRIVERS(float, f32, FI_NR_F32)
FI_DEFINE_GEMM_DRIVERS(double, f64, FI_NR_F64)
