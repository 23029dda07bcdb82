/* fi_stats.h: per-layer statistics of the deep-stack engine, accumulated in float64 per fixed
 * block of an array and combined in block order (Chan et al.'s pairwise update), so the result
 * depends only on the block layout, never on the thread count. Plain C11; nothing here fails. */
#ifndef FI_STATS_H
#define FI_STATS_H

#include "fi_common.h"

typedef struct {
    double n;              /* values */
    double mean, m2c;      /* mean and centred sum of squares (two passes per block) */
    double sumsq, sumabs;  /* sum of x^2 and of |x| */
    double min, max;       /* over the non-NaN values */
    int64_t n_zero, n_nan, n_inf, n_sat;
    int64_t n_dead;        /* columns that are exactly zero in every row of the block */
} fi_moments;

typedef struct {
    int has_sat;                /* count values <= sat_lo or >= sat_hi as saturated */
    double sat_lo, sat_hi;
    const double *edges;        /* histogram edges (n_bins + 1, increasing) or NULL */
    int64_t n_bins;
    const int64_t *pairs;       /* n_pairs (row, row) pairs for cosine similarities, or NULL */
    int64_t n_pairs;
} fi_stats_cfg;

/* The summary the Python layer reports. */
typedef struct {
    double mean, std, m2, min, max, mean_abs, frac_zero, frac_dead, frac_sat;
    int64_t n_nonfinite;
} fi_summary;

void fi_moments_clear(fi_moments *m);
/* Moments of the rows x cols block x[r*ld + c] (overwrites m). A column counts as dead when all
 * its rows are exactly zero (so a block must hold every row of its columns). When cfg has
 * histogram edges, the block's counts are added to hist (n_bins int64); when it has pairs, the
 * partial sums (x_a.x_b, x_a.x_a, x_b.x_b) of each pair over the block's columns are written to
 * pair_part (3 * n_pairs doubles). */
void fi_moments_block_f32(const float *x, int64_t rows, int64_t cols, int64_t ld,
                          const fi_stats_cfg *cfg, fi_moments *m, int64_t *hist, double *pair_part);
void fi_moments_block_f64(const double *x, int64_t rows, int64_t cols, int64_t ld,
                          const fi_stats_cfg *cfg, fi_moments *m, int64_t *hist, double *pair_part);
/* The float32 block moments in steps (AVX2 path only), the same bits as fi_moments_block_f32:
 * begin (returns 0, and nothing may follow, unless the AVX2 path is active, 1 <= cols <= 256
 * and cfg asks for no histogram and no pairs), the rows of the block in order in any number of
 * calls, then end with the whole block (the centred pass reads it again). Lets a caller feed
 * the rows while they are in cache (the engine: z rows, their activation, those h rows). */
typedef struct {
    int64_t cols, rows;
    const fi_stats_cfg *cfg;
    float lof, hif;                       /* saturation bounds on the float grid */
    int sat_mode;                         /* 0 none, 1 symmetric (lof == -hif), 2 other */
    double s[8], q[8], a[8];
    float mn8[8], mx8[8];                 /* min/max of columns c8 + i (mod 8) */
    double st, qt, at, mn, mx;
    int64_t nz, nnan, ninf, nsat;
    int64_t alive_rows;                   /* rows whose nonzero columns are in alive */
    int all_alive;                        /* every column has a nonzero value */
    uint32_t *alive, alive_buf[256];
} fi_moments_acc;
int fi_moments_acc_begin(fi_moments_acc *acc, int64_t cols, const fi_stats_cfg *cfg);
void fi_moments_acc_rows(fi_moments_acc *acc, const float *x, int64_t rows, int64_t ld);
void fi_moments_acc_end(fi_moments_acc *acc, const float *x, int64_t ld, fi_moments *m);

/* acc <- acc combined with b (acc first: the order is part of the result). */
void fi_moments_merge(fi_moments *acc, const fi_moments *b);
/* n_units: the number of columns (for frac_dead). */
void fi_moments_finish(const fi_moments *m, int64_t n_units, fi_summary *out);

/* Merge a centred block given by (n, mean, m2c) into acc. */
void fi_moments_merge_centred(fi_moments *acc, double n, double mean, double m2c);

#endif
