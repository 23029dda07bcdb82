/* fi_stats.c: block moments, merge and summary (fi_stats.h). The sums use four float64 lanes
 * (v4d) in a fixed order, the same on every SIMD path (no FMA: -ffp-contract=off). */
#include "fi_stats.h"

#include <math.h>
#include <string.h>

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

#define FI_DEFINE_BLOCK(T, SFX)                                                                   \
    void fi_moments_block_##SFX(const T *x, int64_t rows, int64_t cols, int64_t ld,               \
                                const fi_stats_cfg *cfg, fi_moments *m, int64_t *hist,            \
                                double *pair_part) {                                              \
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

FI_DEFINE_BLOCK(float, f32)
FI_DEFINE_BLOCK(double, f64)
