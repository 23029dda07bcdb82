/* fi_gemm.h: dense products for the deep-stack engine: BLIS-style packed "axpy" micro-kernels
 * (C += A B) and "dot" kernels (C = A B^T over contiguous rows), float32 and float64, one source
 * per SIMD path (fi_gemm_kernels.h). The value of every element of C depends only on its own row
 * of A, column of B and the reduction length, never on how C is tiled or split between threads:
 * results are bitwise identical for any thread count. See fi_gemm_kernels.h for the summation
 * order. Plain C11; these functions cannot fail except fi_gemm_f32/f64 (scratch allocation). */
/* Why our own kernels and not a BLAS (scipy.linalg.cython_blas), measured on the 2-core Zen1
 * machine (float32, one thread, 512 x 512 weights, numbers of 2026-11-23 under load ~6):
 *   - bits: a BLAS's result depends on its thread count, its blocking and the kernel it picks
 *     for the CPU; here every element of a product is one fixed chain of multiply-adds, so the
 *     engine's results are bitwise identical for any thread count and any split into panels;
 *   - fusion: generated weights are consumed in ~256 KiB row blocks while they sit in cache
 *     (fi_stack.c); a BLAS call wants the whole matrix, written to and read back from memory;
 *   - threads: no BLAS pool spinning against the engine's OpenMP team (nothing to limit);
 *   - cost: the 6 x 16 AVX2/FMA axpy kernel issues one 256-bit FMA per cycle in its inner
 *     loop; a whole layer (pack, product, activation, fused statistics) took 1.60 ms at batch
 *     64 against 1.30 ms for OpenBLAS's bare sgemm, and 5.57 against 4.35 ms at batch 256
 *     (78-81%). Small batches are bound by generating the weights, not by the product.
 * dL/dh_prev = dz W^T: below batch 128 the "axr" kernels read groups of 6 weight rows in place
 * against dz^T packed once per layer (for batches that fill >= 4/5 of their NR-wide tiles; the
 * dot kernels below that) (2026-11-23, one thread, profile shares against the forward
 * product of the same size: 1.04x at (512, 512, batch 64), where the dot kernels took 1.28x and,
 * before they loaded each vector once, 1.40x); larger batches pack each weight row block
 * transposed and use the packed axpy kernel (fi_stack_impl.h). The dot kernels (C = A B^T over
 * contiguous rows) serve the float64 Gram matrices of the dW statistics. */
#ifndef FI_GEMM_H
#define FI_GEMM_H

#include "fi_common.h"

#define FI_MR 6        /* rows of a packed A panel */
#define FI_NR_F32 16   /* columns of a packed B panel, float32 */
#define FI_NR_F64 8    /* float64 */
#define FI_DOT_MI 4    /* dot-kernel tile: rows of A ... */
#define FI_DOT_NJ 3    /* ... times rows of B */

/* axpy: C[i*ldc + j] += sum_k A(i, k) * b[k*NR + j], i < m (kernel index), j < nv, with
 * A(i, k) = a[k*FI_MR + i] (ax: packed panel, lda unused) or a[i*lda + k] (axr: rows in place). */
typedef void (*fi_kax_f32)(int64_t kc, const float *a, int64_t lda, const float *b, float *c,
                           int64_t ldc, int64_t nv);
typedef void (*fi_kax_f64)(int64_t kc, const double *a, int64_t lda, const double *b, double *c,
                           int64_t ldc, int64_t nv);
/* dot: c[i*ldc + j] = sum_n a[i*lda + n] * b[j*ldb + n], i < MI, j < NJ (kernel indices). */
typedef void (*fi_kdot_f32)(int64_t len, const float *a, int64_t lda, const float *b, int64_t ldb,
                            float *c, int64_t ldc);
typedef void (*fi_kdot_f64)(int64_t len, const double *a, int64_t lda, const double *b,
                            int64_t ldb, double *c, int64_t ldc);

typedef struct {
    fi_kax_f32 ax_f32[FI_MR + 1];                      /* index: rows 1..FI_MR */
    fi_kax_f64 ax_f64[FI_MR + 1];
    fi_kax_f32 axr_f32[FI_MR + 1];
    fi_kax_f64 axr_f64[FI_MR + 1];
    fi_kdot_f32 dot_f32[FI_DOT_MI + 1][FI_DOT_NJ + 1]; /* index: [rows of A][rows of B] */
    fi_kdot_f64 dot_f64[FI_DOT_MI + 1][FI_DOT_NJ + 1];
} fi_gemm_kernels;

extern const fi_gemm_kernels fi_gemm_kernels_baseline;
#ifdef FI_BUILD_AVX2
extern const fi_gemm_kernels fi_gemm_kernels_avx2;
#endif
/* The kernels of the current SIMD path (fi_cpu.h): AVX2+FMA or baseline (no FMA). */
const fi_gemm_kernels *fi_gemm_kernels_current(void);

/* Pack rows [0, m) x columns [0, k) of A (element (i, kk) at A[i*rsa + kk*csa]) into
 * ceil(m/FI_MR) panels of k*FI_MR values: out[p*k*FI_MR + kk*FI_MR + r] = A(p*FI_MR + r, kk),
 * zero past row m. */
void fi_gemm_pack_a_f32(const float *A, int64_t rsa, int64_t csa, int64_t m, int64_t k, float *out);
void fi_gemm_pack_a_f64(const double *A, int64_t rsa, int64_t csa, int64_t m, int64_t k, double *out);
/* Pack rows [0, k) x columns [0, n) of B into ceil(n/NR) panels of k*NR values:
 * out[q*k*NR + kk*NR + c] = B(kk, q*NR + c), zero past column n. */
void fi_gemm_pack_b_f32(const float *B, int64_t rsb, int64_t csb, int64_t k, int64_t n, float *out);
void fi_gemm_pack_b_f64(const double *B, int64_t rsb, int64_t csb, int64_t k, int64_t n, double *out);

/* C (m x n, row stride ldc) += A B over kc reduction steps, from packed panels: A panel p starts
 * at Ap + p*a_pstride, B panel q at Bp + q*b_pstride (each panel row is FI_MR / NR wide). */
void fi_gemm_packed_f32(const fi_gemm_kernels *kt, int64_t m, int64_t n, int64_t kc,
                        const float *Ap, int64_t a_pstride, const float *Bp, int64_t b_pstride,
                        float *C, int64_t ldc);
void fi_gemm_packed_f64(const fi_gemm_kernels *kt, int64_t m, int64_t n, int64_t kc,
                        const double *Ap, int64_t a_pstride, const double *Bp, int64_t b_pstride,
                        double *C, int64_t ldc);
/* C[i*ldc + j] = sum_n A[i*lda + n] B[j*ldb + n] for i < m, j < n (tiles [i0, i1) x all j when
 * called per tile range by the caller). */
void fi_gemm_dot_f32(const fi_gemm_kernels *kt, int64_t m, int64_t n, int64_t len, const float *A,
                     int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc);
void fi_gemm_dot_f64(const fi_gemm_kernels *kt, int64_t m, int64_t n, int64_t len, const double *A,
                     int64_t lda, const double *B, int64_t ldb, double *C, int64_t ldc);

/* The general product C (m x n, row-major, stride ldc) += A (m x k) B (k x n), A and B given by
 * element strides (so transposes cost nothing), threads over column blocks of C. The per-element
 * order is the kernels' (k in order, one chain per element): the same bits for any n_threads.
 * Returns FI_ENOMEM if packing scratch cannot be allocated (C untouched). */
fi_status fi_gemm_f32(int64_t m, int64_t n, int64_t k, const float *A, int64_t rsa, int64_t csa,
                      const float *B, int64_t rsb, int64_t csb, float *C, int64_t ldc,
                      int n_threads);
fi_status fi_gemm_f64(int64_t m, int64_t n, int64_t k, const double *A, int64_t rsa, int64_t csa,
                      const double *B, int64_t rsb, int64_t csb, double *C, int64_t ldc,
                      int n_threads);

#endif
