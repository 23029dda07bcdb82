/* fi_stats.c: block moments, merge and summary (fi_stats.h). The sums use four float64 lanes
 * (v4d) in a fixed order, the same on every SIMD path (no FMA: -ffp-contract=off). float32
 * blocks take an AVX2 body (target attribute, chosen by fi_simd_current()) with the same bits;
 * only the sign of a NaN sum may differ between the two paths. Its one FMA, q + u*u for u a
 * float32 value in double, rounds once like the generic q + (u*u) because u*u is exact (24-bit
 * significands: a 48-bit product, no overflow or underflow in double). */
#include "fi_stats.h"

#include <math.h>
#include <string.h>

#include "fi_cpu.h"
#include "fi_vec.h"

void fi_moments_clear(fi_moments *m) {
    memset(m, 0, sizeof(*m));
    m->min = INFINITY;
    m->max = -INFINITY;
}

void fi_moments_merge_centred(fi_moments *a, double n, double mean, double m2c) {
    if (n <= 0) return;
    if (a->n <= 0) {
        a->n = n;
        a->mean = mean;
        a->m2c = m2c;
        return;
    }
    double tot = a->n + n, d = mean - a->mean;
    a->mean = a->mean + d * (n / tot);
    a->m2c = a->m2c + m2c + d * d * (a->n * n / tot);
    a->n = tot;
}

void fi_moments_merge(fi_moments *a, const fi_moments *b) {
    fi_moments_merge_centred(a, b->n, b->mean, b->m2c);
    a->sumsq += b->sumsq;
    a->sumabs += b->sumabs;
    if (b->min < a->min) a->min = b->min;
    if (b->max > a->max) a->max = b->max;
    a->n_zero += b->n_zero;
    a->n_nan += b->n_nan;
    a->n_inf += b->n_inf;
    a->n_sat += b->n_sat;
    a->n_dead += b->n_dead;
}

void fi_moments_finish(const fi_moments *m, int64_t n_units, fi_summary *o) {
    double n = m->n;
    if (n <= 0) {
        memset(o, 0, sizeof(*o));
        o->mean = o->std = o->m2 = o->min = o->max = o->mean_abs = NAN;
        o->frac_zero = o->frac_dead = o->frac_sat = NAN;
        return;
    }
    o->mean = m->mean;
    o->std = sqrt(m->m2c / n);
    o->m2 = m->sumsq / n;
    o->mean_abs = m->sumabs / n;
    o->min = m->n_nan ? NAN : m->min;
    o->max = m->n_nan ? NAN : m->max;
    o->frac_zero = (double)m->n_zero / n;
    o->frac_dead = n_units > 0 ? (double)m->n_dead / (double)n_units : NAN;
    o->frac_sat = (double)m->n_sat / n;
    o->n_nonfinite = m->n_nan + m->n_inf;
}

static inline double fi_hsum4(v4d v) { return (v[0] + v[2]) + (v[1] + v[3]); }

/* Histogram bin of v (np.histogram: [e_i, e_{i+1}), the last bin closed), -1 outside. */
static inline int64_t fi_bin(const double *e, int64_t nb, double v) {
    if (!(v >= e[0] && v <= e[nb])) return -1; /* also NaN */
    if (v == e[nb]) return nb - 1;
    int64_t lo = 0, hi = nb; /* e[lo] <= v < e[hi] */
    while (hi - lo > 1) {
        int64_t mid = (lo + hi) >> 1;
        if (v >= e[mid]) lo = mid; else hi = mid;
    }
    return lo;
}

#define FI_DEFINE_EXTRAS(T, SFX)                                                                  \
    static void fi_block_extras_##SFX(const T *x, int64_t rows, int64_t cols, int64_t ld,         \
                                      const fi_stats_cfg *cfg, int64_t *hist,                     \
                                      double *pair_part) {                                        \
        if (hist && cfg->edges && cfg->n_bins > 0) {                                              \
            for (int64_t r = 0; r < rows; r++)                                                    \
                for (int64_t c = 0; c < cols; c++) {                                              \
                    int64_t b = fi_bin(cfg->edges, cfg->n_bins, (double)x[r * ld + c]);           \
                    if (b >= 0) hist[b]++;                                                        \
                }                                                                                 \
        }                                                                                         \
        if (pair_part && cfg->pairs) {                                                            \
            for (int64_t p = 0; p < cfg->n_pairs; p++) {                                          \
                const T *xa = x + cfg->pairs[2 * p] * ld, *xb = x + cfg->pairs[2 * p + 1] * ld;   \
                double ab = 0, aa = 0, bb = 0;                                                    \
                for (int64_t c = 0; c < cols; c++) {                                              \
                    double va = xa[c], vb = xb[c];                                                \
                    ab += va * vb; aa += va * va; bb += vb * vb;                                  \
                }                                                                                 \
                pair_part[3 * p] = ab;                                                            \
                pair_part[3 * p + 1] = aa;                                                        \
                pair_part[3 * p + 2] = bb;                                                        \
            }                                                                                     \
        }                                                                                         \
    }
FI_DEFINE_EXTRAS(float, f32)
FI_DEFINE_EXTRAS(double, f64)
#define fi_block_extras_f32_generic fi_block_extras_f32

#define FI_DEFINE_BLOCK(T, SFX, LINK)                                                             \
    LINK void fi_moments_block_##SFX(const T *x, int64_t rows, int64_t cols, int64_t ld,          \
                                     const fi_stats_cfg *cfg, fi_moments *m, int64_t *hist,       \
                                     double *pair_part) {                                         \
        fi_moments_clear(m);                                                                      \
        if (rows <= 0 || cols <= 0) return;                                                       \
        v4d s0 = {0}, s1 = {0}, q0 = {0}, q1 = {0}, a0 = {0}, a1 = {0};                           \
        double st = 0, qt = 0, at = 0, mn = INFINITY, mx = -INFINITY;                             \
        int64_t nz = 0, nnan = 0, ninf = 0, nsat = 0;                                             \
        const double lo = cfg->sat_lo, hi = cfg->sat_hi;                                          \
        const int has_sat = cfg->has_sat;                                                         \
        const int64_t c8 = cols & ~(int64_t)7;                                                    \
        unsigned char alive[256];                                                                 \
        int64_t dead = 0;                                                                         \
        for (int64_t cb = 0; cb < cols; cb += 256) { /* dead columns, 256 at a time */            \
            int64_t cw = cols - cb < 256 ? cols - cb : 256;                                       \
            memset(alive, 0, (size_t)cw);                                                         \
            for (int64_t r = 0; r < rows; r++) {                                                  \
                const T *xr = x + r * ld + cb;                                                    \
                for (int64_t c = 0; c < cw; c++) alive[c] |= (unsigned char)(xr[c] != 0);         \
            }                                                                                     \
            for (int64_t c = 0; c < cw; c++) dead += !alive[c];                                   \
        }                                                                                         \
        /* counts and extremes of the first c8 columns in four lanes (masks are -1 when true), \
         * the same comparisons as the scalar loop; lanes are combined in lane order */          \
        const v4d inf4 = {INFINITY, INFINITY, INFINITY, INFINITY};                                \
        v4d mn4 = inf4, mx4 = -inf4;                                                              \
        v4l cz = {0}, cn = {0}, ci = {0}, cs = {0};                                               \
        for (int64_t r = 0; r < rows; r++) {                                                      \
            const T *xr = x + r * ld;                                                             \
            for (int64_t c = 0; c < c8; c += 8) {                                                 \
                v4d u = {xr[c], xr[c + 1], xr[c + 2], xr[c + 3]};                                 \
                v4d w = {xr[c + 4], xr[c + 5], xr[c + 6], xr[c + 7]};                             \
                s0 += u; s1 += w;                                                                 \
                q0 += u * u; q1 += w * w;                                                         \
                v4d au = (v4d)((v4l)u & 0x7fffffffffffffffll);                                    \
                v4d aw = (v4d)((v4l)w & 0x7fffffffffffffffll);                                    \
                a0 += au; a1 += aw;                                                               \
                cz -= (u == 0) + (w == 0);                                                        \
                cn -= (u != u) + (w != w);                                                        \
                ci -= (au == inf4) + (aw == inf4);                                                \
                cs -= ((u <= lo) | (u >= hi)) + ((w <= lo) | (w >= hi));                          \
                v4l m = u < mn4;                                                                  \
                mn4 = (v4d)((m & (v4l)u) | (~m & (v4l)mn4));                                      \
                m = w < mn4;                                                                      \
                mn4 = (v4d)((m & (v4l)w) | (~m & (v4l)mn4));                                      \
                m = u > mx4;                                                                      \
                mx4 = (v4d)((m & (v4l)u) | (~m & (v4l)mx4));                                      \
                m = w > mx4;                                                                      \
                mx4 = (v4d)((m & (v4l)w) | (~m & (v4l)mx4));                                      \
            }                                                                                     \
            for (int64_t c = c8; c < cols; c++) {                                                 \
                double v = xr[c];                                                                 \
                st += v; qt += v * v; at += fabs(v);                                              \
            }                                                                                     \
            for (int64_t c = c8; c < cols; c++) {                                                 \
                double v = xr[c];                                                                 \
                nz += v == 0;                                                                     \
                nnan += v != v;                                                                   \
                ninf += fabs(v) == INFINITY;                                                      \
                mn = v < mn ? v : mn;                                                             \
                mx = v > mx ? v : mx;                                                             \
            }                                                                                     \
            if (has_sat)                                                                          \
                for (int64_t c = c8; c < cols; c++) nsat += (xr[c] <= lo) | (xr[c] >= hi);        \
        }                                                                                         \
        for (int i = 0; i < 4; i++) {                                                             \
            nz += cz[i]; nnan += cn[i]; ninf += ci[i]; nsat += cs[i];                             \
            mn = mn4[i] < mn ? mn4[i] : mn;                                                       \
            mx = mx4[i] > mx ? mx4[i] : mx;                                                       \
        }                                                                                         \
        double n = (double)rows * (double)cols;                                                   \
        double sum = fi_hsum4(s0 + s1) + st;                                                      \
        double mean = sum / n;                                                                    \
        v4d d0 = {0}, d1 = {0};                                                                   \
        double dt = 0;                                                                            \
        for (int64_t r = 0; r < rows; r++) {                                                      \
            const T *xr = x + r * ld;                                                             \
            for (int64_t c = 0; c < c8; c += 8) {                                                 \
                v4d u = (v4d){xr[c], xr[c + 1], xr[c + 2], xr[c + 3]} - mean;                     \
                v4d w = (v4d){xr[c + 4], xr[c + 5], xr[c + 6], xr[c + 7]} - mean;                 \
                d0 += u * u; d1 += w * w;                                                         \
            }                                                                                     \
            for (int64_t c = c8; c < cols; c++) {                                                 \
                double v = xr[c] - mean;                                                          \
                dt += v * v;                                                                      \
            }                                                                                     \
        }                                                                                         \
        m->n = n;                                                                                 \
        m->mean = mean;                                                                           \
        m->m2c = fi_hsum4(d0 + d1) + dt;                                                          \
        m->sumsq = fi_hsum4(q0 + q1) + qt;                                                        \
        m->sumabs = fi_hsum4(a0 + a1) + at;                                                       \
        m->min = mn;                                                                              \
        m->max = mx;                                                                              \
        m->n_zero = nz;                                                                           \
        m->n_nan = nnan;                                                                          \
        m->n_inf = ninf;                                                                          \
        m->n_sat = has_sat ? nsat : 0;                                                            \
        m->n_dead = dead;                                                                         \
        fi_block_extras_##SFX(x, rows, cols, ld, cfg, hist, pair_part);                         \
    }

FI_DEFINE_BLOCK(float, f32_generic, static)
FI_DEFINE_BLOCK(double, f64, )

#if defined(FI_BUILD_AVX2) && defined(__GNUC__) && defined(__x86_64__)
#define FI_STATS_AVX2 1
/* The float32 block moments with AVX2, bit for bit those of the generic body above (the engine
 * spends as long in them as in the product at large batches). Per 8 values the loop converts
 * the two halves to double once (the conversion is exact) and adds them, their squares and their
 * absolute values (the sign bit cleared in double: the same values as converting |x|) to the
 * same float64 lanes in the same order as the generic body. Everything else is chosen to keep the
 * loop short on a CPU that splits 256-bit operations in two (Zen 1), with the same results:
 * - zeros and saturated values are counted on the 8 float lanes (the saturation bounds moved to
 *   the float grid: (double)x <= lo exactly when x <= the largest float not above lo; one
 *   compare of |x| when the bounds are symmetric) in int32 lanes flushed before they overflow;
 * - NaN and infinities are not looked at in the loop: a float64 sum of squares of float32
 *   values cannot overflow, so the lanes of q stay finite exactly while every value is finite;
 *   the rows of a call after which they are not are counted again (NaN and inf separately);
 * - min/max run on the 8 float lanes (vminps/vmaxps: `x < m ? x : m`, `x > m ? x : m`) and are
 *   combined in acc_end into the generic body's four double lanes (columns i and i + 4): the
 *   first of two equal values in the generic order can only be told apart when they are zeros
 *   of different signs, and then that lane is scanned again in the generic order;
 * - dead columns (cols <= 256): the OR of each column's |x| bit patterns (nonzero exactly when
 *   some x != 0, NaN included) over the first rows, until every column has a nonzero value
 *   (checked every 8 rows); only a block with a dead column is ORed to its end. */
static void fi_acc_begin(fi_moments_acc *A, int64_t cols, const fi_stats_cfg *cfg) {
    memset(A, 0, sizeof(*A));
    A->cols = cols;
    A->cfg = cfg;
    A->mn = INFINITY;
    A->mx = -INFINITY;
    for (int i = 0; i < 8; i++) {
        A->mn8[i] = INFINITY;
        A->mx8[i] = -INFINITY;
    }
    A->lof = (float)cfg->sat_lo;
    A->hif = (float)cfg->sat_hi;
    if ((double)A->lof > cfg->sat_lo) A->lof = nextafterf(A->lof, -INFINITY);
    if ((double)A->hif < cfg->sat_hi) A->hif = nextafterf(A->hif, INFINITY);
    A->sat_mode = !cfg->has_sat ? 0 : (A->lof == -A->hif ? 1 : 2);
}

/* Sums, squares, |x|, zeros, saturation and min/max of rows [0, rows) of x; sat_mode a
 * constant in each instance. */
__attribute__((target("avx2,fma"), always_inline)) static inline void fi_acc_main(
    fi_moments_acc *A, const float *x, int64_t rows, int64_t ld, const int sat_mode) {
    const int64_t cols = A->cols, c8 = cols & ~(int64_t)7;
    const double lo = A->cfg->sat_lo, hi = A->cfg->sat_hi;
    const __m256 vlo = _mm256_set1_ps(A->lof), vhi = _mm256_set1_ps(A->hif);
    const __m256 absf = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256d absd = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffll));
    const __m256 vzero = _mm256_setzero_ps();
    __m256d s0 = _mm256_loadu_pd(A->s), s1 = _mm256_loadu_pd(A->s + 4);
    __m256d q0 = _mm256_loadu_pd(A->q), q1 = _mm256_loadu_pd(A->q + 4);
    __m256d a0 = _mm256_loadu_pd(A->a), a1 = _mm256_loadu_pd(A->a + 4);
    __m256 mn8 = _mm256_loadu_ps(A->mn8), mx8 = _mm256_loadu_ps(A->mx8);
    double st = A->st, qt = A->qt, at = A->at, mn = A->mn, mx = A->mx;
    int64_t nz = 0, nsat = 0;
    /* int32 lanes: flushed every `per` rows (each row adds at most c8 / 8 per lane) */
    int64_t per = c8 >= 8 ? ((int64_t)1 << 30) / (c8 / 8) : rows;
    if (per < 1) per = 1;
    for (int64_t r0 = 0; r0 < rows; r0 += per) {
        const int64_t r1 = rows - r0 < per ? rows : r0 + per;
        __m256i cz = _mm256_setzero_si256(), cs = cz;
        for (int64_t r = r0; r < r1; r++) {
            const float *xr = x + r * ld;
            /* row r + 4 (of this block; a prefetch past its end is harmless): the engine's z
             * rows come from L2 or L3, and its callers give 16 rows at a time */
            for (int64_t c = 0; c < cols; c += 16)
                _mm_prefetch((const char *)(xr + 4 * ld + c), _MM_HINT_T0);
            _mm_prefetch((const char *)(xr + 4 * ld + cols - 1), _MM_HINT_T0);
            for (int64_t c = 0; c < c8; c += 8) {
                __m256 v = _mm256_loadu_ps(xr + c);
                /* each half converted from memory: no vextractf128 */
                __m256d u = _mm256_cvtps_pd(_mm_loadu_ps(xr + c));
                __m256d w = _mm256_cvtps_pd(_mm_loadu_ps(xr + c + 4));
                s0 = _mm256_add_pd(s0, u);
                s1 = _mm256_add_pd(s1, w);
                q0 = _mm256_fmadd_pd(u, u, q0);
                q1 = _mm256_fmadd_pd(w, w, q1);
                a0 = _mm256_add_pd(a0, _mm256_and_pd(u, absd));
                a1 = _mm256_add_pd(a1, _mm256_and_pd(w, absd));
                mn8 = _mm256_min_ps(v, mn8);
                mx8 = _mm256_max_ps(v, mx8);
                cz = _mm256_sub_epi32(cz, _mm256_castps_si256(_mm256_cmp_ps(v, vzero, _CMP_EQ_OQ)));
                if (sat_mode == 1)
                    cs = _mm256_sub_epi32(cs, _mm256_castps_si256(_mm256_cmp_ps(
                                                  _mm256_and_ps(v, absf), vhi, _CMP_GE_OQ)));
                else if (sat_mode == 2)
                    cs = _mm256_sub_epi32(
                        cs, _mm256_castps_si256(_mm256_or_ps(_mm256_cmp_ps(v, vlo, _CMP_LE_OQ),
                                                             _mm256_cmp_ps(v, vhi, _CMP_GE_OQ))));
            }
            for (int64_t c = c8; c < cols; c++) {
                double v = xr[c];
                st += v; qt += v * v; at += fabs(v);
            }
            for (int64_t c = c8; c < cols; c++) {
                double v = xr[c];
                nz += v == 0;
                mn = v < mn ? v : mn;
                mx = v > mx ? v : mx;
            }
            if (sat_mode)
                for (int64_t c = c8; c < cols; c++) nsat += (xr[c] <= lo) | (xr[c] >= hi);
        }
        int32_t t[2][8];
        _mm256_storeu_si256((__m256i *)t[0], cz);
        _mm256_storeu_si256((__m256i *)t[1], cs);
        for (int i = 0; i < 8; i++) {
            nz += t[0][i]; nsat += t[1][i];
        }
    }
    _mm256_storeu_pd(A->s, s0); _mm256_storeu_pd(A->s + 4, s1);
    _mm256_storeu_pd(A->q, q0); _mm256_storeu_pd(A->q + 4, q1);
    _mm256_storeu_pd(A->a, a0); _mm256_storeu_pd(A->a + 4, a1);
    _mm256_storeu_ps(A->mn8, mn8); _mm256_storeu_ps(A->mx8, mx8);
    A->st = st; A->qt = qt; A->at = at; A->mn = mn; A->mx = mx;
    A->nz += nz; A->nsat += nsat;
}

/* 1 when every lane of A's sums of squares is finite (no NaN or infinity seen so far). */
static int fi_acc_finite(const fi_moments_acc *A) {
    int ok = isfinite(A->qt);
    for (int i = 0; i < 8; i++) ok &= isfinite(A->q[i]);
    return ok;
}

/* NaN and infinities in rows [0, rows) of x. */
__attribute__((target("avx2"))) static void fi_acc_nonfinite(fi_moments_acc *A, const float *x,
                                                             int64_t rows, int64_t ld) {
    const int64_t cols = A->cols, c8 = cols & ~(int64_t)7;
    const __m256 absf = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 vinf = _mm256_set1_ps(INFINITY);
    int64_t nnan = 0, ninf = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * ld;
        for (int64_t c = 0; c < c8; c += 8) {
            __m256 v = _mm256_loadu_ps(xr + c);
            nnan += __builtin_popcount((unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)));
            ninf += __builtin_popcount((unsigned)_mm256_movemask_ps(
                _mm256_cmp_ps(_mm256_and_ps(v, absf), vinf, _CMP_EQ_OQ)));
        }
        for (int64_t c = c8; c < cols; c++) {
            nnan += xr[c] != xr[c];
            ninf += fabsf(xr[c]) == INFINITY;
        }
    }
    A->nnan += nnan;
    A->ninf += ninf;
}

/* OR the nonzero columns of rows [0, rows) of x into A->alive, stopping once all are set. */
__attribute__((target("avx2"))) static void fi_acc_alive(fi_moments_acc *A, const float *x,
                                                         int64_t rows, int64_t ld) {
    const int64_t cols = A->cols, c8 = cols & ~(int64_t)7;
    const __m256i absi = _mm256_set1_epi32(0x7fffffff), zero = _mm256_setzero_si256();
    uint32_t *alive = A->alive;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * ld;
        for (int64_t c = 0; c < c8; c += 8) {
            __m256i v = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(xr + c)), absi);
            __m256i al = _mm256_loadu_si256((const __m256i *)(alive + c));
            _mm256_storeu_si256((__m256i *)(alive + c), _mm256_or_si256(al, v));
        }
        for (int64_t c = c8; c < cols; c++) alive[c] |= (uint32_t)(xr[c] != 0);
        if ((++A->alive_rows & 7) == 0 || r == rows - 1) {
            __m256i anyz = zero;
            for (int64_t c = 0; c < c8; c += 8)
                anyz = _mm256_or_si256(anyz, _mm256_cmpeq_epi32(
                                                 _mm256_loadu_si256((const __m256i *)(alive + c)), zero));
            int dead = !_mm256_testz_si256(anyz, anyz);
            for (int64_t c = c8; c < cols; c++) dead |= alive[c] == 0;
            if (!dead) {
                A->all_alive = 1;
                return;
            }
        }
    }
}

/* First pass over rows [0, rows) of x (the next rows of the block, in order). */
__attribute__((target("avx2,fma"))) static void fi_acc_rows(fi_moments_acc *A, const float *x,
                                                        int64_t rows, int64_t ld) {
    if (rows <= 0) return;
    switch (A->sat_mode) {
    case 0: fi_acc_main(A, x, rows, ld, 0); break;
    case 1: fi_acc_main(A, x, rows, ld, 1); break;
    default: fi_acc_main(A, x, rows, ld, 2); break;
    }
    if (!fi_acc_finite(A)) fi_acc_nonfinite(A, x, rows, ld); /* (stays so once it is) */
    if (A->alive && !A->all_alive) fi_acc_alive(A, x, rows, ld);
    A->rows += rows;
}

static inline double fi_lsum4(const double *l) { return (l[0] + l[2]) + (l[1] + l[3]); }

/* The generic body's min (is_max 0) or max (1) lane i of the first c8 columns: columns i and
 * i + 4 of each group of 8, row by row. */
static double fi_minmax_lane(const float *x, int64_t rows, int64_t c8, int64_t ld, int i,
                             int is_max) {
    double m = is_max ? -INFINITY : INFINITY;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < c8; c += 8)
            for (int k = 0; k < 2; k++) {
                double v = x[r * ld + c + i + 4 * k];
                if (is_max ? v > m : v < m) m = v;
            }
    return m;
}

/* The generic body's lane i (min or max) from the float lanes i and i + 4. */
static double fi_acc_lane(const fi_moments_acc *A, const float *x, int64_t ld, int i, int is_max) {
    const float *l = is_max ? A->mx8 : A->mn8;
    double a = l[i], b = l[i + 4];
    if (is_max ? a > b : a < b) return a;
    if (is_max ? b > a : b < a) return b;
    if (memcmp(&l[i], &l[i + 4], sizeof(float)) == 0) return a;
    /* equal zeros of different signs: the one met first in the generic order */
    return fi_minmax_lane(x, A->rows, A->cols & ~(int64_t)7, ld, i, is_max);
}

/* The centred pass over the whole block (A->rows rows of x) and the result. */
__attribute__((target("avx2"))) static void fi_acc_end(fi_moments_acc *A, const float *x,
                                                       int64_t ld, fi_moments *m) {
    const int64_t rows = A->rows, cols = A->cols, c8 = cols & ~(int64_t)7;
    fi_moments_clear(m);
    if (rows <= 0 || cols <= 0) return;
    double mn = A->mn, mx = A->mx;
    for (int i = 0; i < 4; i++) {
        double lmn = fi_acc_lane(A, x, ld, i, 0), lmx = fi_acc_lane(A, x, ld, i, 1);
        mn = lmn < mn ? lmn : mn;
        mx = lmx > mx ? lmx : mx;
    }
    int64_t dead = 0;
    if (A->alive) {
        if (!A->all_alive)
            for (int64_t c = 0; c < cols; c++) dead += !A->alive[c];
    } else {
        unsigned char al[256];
        for (int64_t cb = 0; cb < cols; cb += 256) {
            int64_t cw = cols - cb < 256 ? cols - cb : 256;
            memset(al, 0, (size_t)cw);
            for (int64_t r = 0; r < rows; r++) {
                const float *xr = x + r * ld + cb;
                for (int64_t c = 0; c < cw; c++) al[c] |= (unsigned char)(xr[c] != 0);
            }
            for (int64_t c = 0; c < cw; c++) dead += !al[c];
        }
    }
    const double n = (double)rows * (double)cols;
    double l4[4];
    for (int i = 0; i < 4; i++) l4[i] = A->s[i] + A->s[4 + i];
    const double mean = (fi_lsum4(l4) + A->st) / n;
    const __m256d vm = _mm256_set1_pd(mean);
    __m256d d0 = _mm256_setzero_pd(), d1 = d0;
    double dt = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * ld;
        if (r + 4 < rows) { /* the rows come from L2 or L3 */
            for (int64_t c = 0; c < cols; c += 16)
                _mm_prefetch((const char *)(xr + 4 * ld + c), _MM_HINT_T0);
            _mm_prefetch((const char *)(xr + 4 * ld + cols - 1), _MM_HINT_T0);
        }
        for (int64_t c = 0; c < c8; c += 8) {
            __m256d u = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(xr + c)), vm);
            __m256d w = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(xr + c + 4)), vm);
            d0 = _mm256_add_pd(d0, _mm256_mul_pd(u, u));
            d1 = _mm256_add_pd(d1, _mm256_mul_pd(w, w));
        }
        for (int64_t c = c8; c < cols; c++) {
            double v = xr[c] - mean;
            dt += v * v;
        }
    }
    m->n = n;
    m->mean = mean;
    _mm256_storeu_pd(l4, _mm256_add_pd(d0, d1));
    m->m2c = fi_lsum4(l4) + dt;
    for (int i = 0; i < 4; i++) l4[i] = A->q[i] + A->q[4 + i];
    m->sumsq = fi_lsum4(l4) + A->qt;
    for (int i = 0; i < 4; i++) l4[i] = A->a[i] + A->a[4 + i];
    m->sumabs = fi_lsum4(l4) + A->at;
    m->min = mn;
    m->max = mx;
    m->n_zero = A->nz;
    m->n_nan = A->nnan;
    m->n_inf = A->ninf;
    m->n_sat = A->cfg->has_sat ? A->nsat : 0;
    m->n_dead = dead;
}

int fi_moments_acc_begin(fi_moments_acc *acc, int64_t cols, const fi_stats_cfg *cfg) {
    if (fi_simd_current() != FI_SIMD_AVX2 || cols > 256 || cols < 1) return 0;
    if ((cfg->edges && cfg->n_bins > 0) || (cfg->pairs && cfg->n_pairs > 0)) return 0;
    fi_acc_begin(acc, cols, cfg);
    acc->alive = acc->alive_buf;
    return 1;
}
void fi_moments_acc_rows(fi_moments_acc *acc, const float *x, int64_t rows, int64_t ld) {
    fi_acc_rows(acc, x, rows, ld);
}
void fi_moments_acc_end(fi_moments_acc *acc, const float *x, int64_t ld, fi_moments *m) {
    fi_acc_end(acc, x, ld, m);
}

static void fi_moments_block_f32_avx2(const float *x, int64_t rows, int64_t cols, int64_t ld,
                                      const fi_stats_cfg *cfg, fi_moments *m) {
    fi_moments_acc A;
    fi_acc_begin(&A, cols, cfg);
    A.alive = cols <= 256 ? A.alive_buf : NULL;
    if (rows > 0 && cols > 0) fi_acc_rows(&A, x, rows, ld);
    fi_acc_end(&A, x, ld, m);
}
#else
int fi_moments_acc_begin(fi_moments_acc *acc, int64_t cols, const fi_stats_cfg *cfg) {
    (void)acc; (void)cols; (void)cfg;
    return 0;
}
void fi_moments_acc_rows(fi_moments_acc *acc, const float *x, int64_t rows, int64_t ld) {
    (void)acc; (void)x; (void)rows; (void)ld;
}
void fi_moments_acc_end(fi_moments_acc *acc, const float *x, int64_t ld, fi_moments *m) {
    (void)acc; (void)x; (void)ld; (void)m;
}
#endif

void fi_moments_block_f32(const float *x, int64_t rows, int64_t cols, int64_t ld,
                          const fi_stats_cfg *cfg, fi_moments *m, int64_t *hist,
                          double *pair_part) {
#ifdef FI_STATS_AVX2
    if (fi_simd_current() == FI_SIMD_AVX2) {
        fi_moments_block_f32_avx2(x, rows, cols, ld, cfg, m);
        if (rows > 0 && cols > 0) fi_block_extras_f32(x, rows, cols, ld, cfg, hist, pair_part);
        return;
    }
#endif
    fi_moments_block_f32_generic(x, rows, cols, ld, cfg, m, hist, pair_part);
}
