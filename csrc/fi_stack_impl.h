/* fi_stack_impl.h: the layer functions of fi_stack.h for one dtype; included by fi_stack.c with
 * T (float/double), SFX (f32/f64) and NR (the packed panel width) defined. */
#define FI_SC_(a, b) a##_##b
#define FI_SC(a, b) FI_SC_(a, b)
#define FI_S(name) FI_SC(name, SFX)

/* ---- forward -------------------------------------------------------------------------------- */
typedef struct {
    fi_stack_ws *ws;
    const fi_stack_layer *L;
    const fi_gemm_kernels *kt;
    fi_fill_kernel fill;
    int64_t B, K, N, n_chunks;
    int whole;
    const T *hin;
    T *z, *h;
    int64_t *next;        /* the shared unit counter of the column-block loop */
} FI_S(fi_fwd_ctx);

/* Activation and statistics of column block ch, whose z is final. */
static void FI_S(fi_fwd_finish)(fi_stack_ws *ws, const fi_stack_layer *L, T *z, T *h, int64_t B,
                                int64_t cw, int64_t N, int64_t ch) {
    if (FI_S(fi_fused_act_stats)(ws, L, z, h, B, cw, N, ch)) return;
    FI_STACK_BLOCK_STATS(FI_S(fi_moments_block), ws, 0, z, B, cw, N, ch);
    for (int64_t r = 0; r < B; r++)
        FI_S(fi_act_forward)((fi_act)L->act, L->p0, z + r * N, h + r * N, cw);
    FI_STACK_BLOCK_STATS(FI_S(fi_moments_block), ws, 1, h, B, cw, N, ch);
}

/* Column block ch of z = hin W + b (ap: the packed input), by weight row blocks of kc rows: the
 * weights are given, or generated row piece by row piece into this thread's buffer gb (or the
 * cache), packed into bp and consumed at once. */
static void FI_S(fi_fwd_block)(const FI_S(fi_fwd_ctx) *c, int64_t ch, const T *ap, T *bp, T *gb) {
    fi_stack_ws *ws = c->ws;
    const fi_stack_layer *L = c->L;
    const int64_t B = c->B, K = c->K, N = c->N;
    const int64_t c0 = ch * FI_STACK_CW, cw = N - c0 < FI_STACK_CW ? N - c0 : FI_STACK_CW;
    const int64_t kc = ws->is_f64 ? 128 : 256; /* kc x FI_STACK_CW values: 128 KiB (256 f64) */
    T *z = c->z + c0;
    for (int64_t r = 0; r < B; r++) {
        if (L->bias) memcpy(z + r * N, (const T *)L->bias + c0, sizeof(T) * (size_t)cw);
        else memset(z + r * N, 0, sizeof(T) * (size_t)cw);
    }
    for (int64_t kb = 0; kb < K; kb += kc) {
        const int64_t kcb = K - kb < kc ? K - kb : kc;
        const T *Wb = (const T *)L->w + kb * N + c0;
        int64_t ldw = N;
        if (!L->w) {
            T *dst = L->w_cache ? (T *)L->w_cache + kb * N + c0 : gb;
            ldw = L->w_cache ? N : cw;
            for (int64_t k = 0; k < kcb; k++)
                c->fill(&L->ws, (uint64_t)((kb + k) * N + c0), cw, &L->wp, dst + k * ldw);
            Wb = dst;
        }
        FI_S(fi_gemm_pack_b)(Wb, ldw, 1, kcb, cw, bp);
        FI_S(fi_gemm_packed)(c->kt, B, cw, kcb, ap + kb * FI_MR, K * FI_MR, bp, kcb * NR, z, N);
    }
    FI_S(fi_fwd_finish)(ws, L, z, c->h + c0, B, cw, N, ch);
}

static void FI_S(fi_fwd_body)(void *ctx_, int tid, int nt) {
    const FI_S(fi_fwd_ctx) *c = (const FI_S(fi_fwd_ctx) *)ctx_;
    fi_stack_ws *ws = c->ws;
    const fi_stack_layer *L = c->L;
    const int64_t B = c->B, K = c->K, N = c->N;
    T *bp = (T *)ws->bpack + (size_t)tid * (size_t)ws->bpack_stride;
    T *gb = (T *)ws->wgen + (size_t)tid * (size_t)ws->blk_stride;
    int64_t lo, hi, ch;
    if (!c->whole && nt > 1 && ws->apriv && B <= ws->apriv_rows) {
        /* no barrier: this thread packs the input for itself once it has a block to compute */
        T *ap = NULL;
        while ((ch = fi_next_unit(c->next)) < c->n_chunks) {
            if (!ap) {
                ap = (T *)ws->apriv + (size_t)tid * (size_t)ws->apriv_stride;
                FI_S(fi_gemm_pack_a)(c->hin, K, 1, B, K, ap);
            }
            FI_S(fi_fwd_block)(c, ch, ap, bp, gb);
        }
        return;
    }
    T *ap = (T *)ws->apack;
    fi_share((B + FI_MR - 1) / FI_MR, tid, nt, &lo, &hi);
    for (int64_t p = lo; p < hi; p++) {
        int64_t mr = B - p * FI_MR < FI_MR ? B - p * FI_MR : FI_MR;
        FI_S(fi_gemm_pack_a)(c->hin + p * FI_MR * K, K, 1, mr, K, ap + p * K * FI_MR);
    }
    if (!c->whole) {
        fi_team_barrier(nt);
        while ((ch = fi_next_unit(c->next)) < c->n_chunks) FI_S(fi_fwd_block)(c, ch, ap, bp, gb);
        return;
    }
    fi_share(B, tid, nt, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        if (L->bias) memcpy(c->z + r * N, L->bias, sizeof(T) * (size_t)N);
        else memset(c->z + r * N, 0, sizeof(T) * (size_t)N);
    }
    T *Wf = L->w ? (T *)L->w : (L->w_cache ? (T *)L->w_cache : (T *)ws->wfull);
    if (!L->w) fi_stack_gen_share(L, c->fill, 0, K * N, (char *)Wf, sizeof(T), tid, nt);
    fi_team_barrier(nt);
    while ((ch = fi_next_unit(c->next)) < c->n_chunks) {
        const int64_t c0 = ch * FI_STACK_CW, cw = N - c0 < FI_STACK_CW ? N - c0 : FI_STACK_CW;
        FI_S(fi_gemm_pack_b)(Wf + c0, N, 1, K, cw, bp);
        for (int64_t r0 = 0; r0 < B; r0 += FI_STACK_MC) {
            const int64_t mc = B - r0 < FI_STACK_MC ? B - r0 : FI_STACK_MC;
            FI_S(fi_gemm_packed)(c->kt, mc, cw, K, ap + r0 * K, K * FI_MR, bp, K * NR,
                                 c->z + r0 * N + c0, N);
        }
        FI_S(fi_fwd_finish)(ws, L, c->z + c0, c->h + c0, B, cw, N, ch);
    }
}

void FI_S(fi_stack_forward)(fi_stack_ws *ws, const fi_stack_layer *L, int64_t B, const T *hin,
                            T *z, T *h, fi_layer_stats *pre, fi_layer_stats *act) {
    FI_S(fi_fwd_ctx) c;
    c.ws = ws;
    c.L = L;
    c.kt = fi_gemm_kernels_current();
    c.fill = L->w ? NULL : fi_stack_fill(L->dist);
    c.B = B;
    c.K = L->fan_in;
    c.N = L->fan_out;
    c.n_chunks = (c.N + FI_STACK_CW - 1) / FI_STACK_CW;
    int64_t next = 0;
    c.next = &next;
    /* whole-layer product: the K x CW panel fits the per-thread scratch, and a large batch
     * whose weights are given, cached, or fit the whole-layer buffer, or any batch when the
     * weights are generated into the cache (fi_stack.c) */
    c.whole = (B >= FI_STACK_WHOLE_B || L->w_cache) && c.K * FI_STACK_CW <= 4 * ws->blk_elems &&
              (L->w || L->w_cache || (ws->wfull && c.K <= ws->max_width && c.N <= ws->max_width));
    c.hin = hin;
    c.z = z;
    c.h = h;
    fi_team_run(fi_stack_threads(ws, (double)c.K * (double)c.N * ((L->w ? 0.0 : 1.0) + (double)B / 8)),
                FI_S(fi_fwd_body), &c);
    fi_stack_collect(ws, 0, c.n_chunks, c.N, pre);
    fi_stack_collect(ws, 1, c.n_chunks, c.N, act);
}

/* ---- backward ------------------------------------------------------------------------------- */
typedef struct {
    fi_stack_ws *ws;
    const fi_stack_layer *L;
    const fi_gemm_kernels *kt;
    fi_fill_kernel fill;
    int64_t B, K, N, kc, n_chunks, n_tilerows;
    int64_t hrows;        /* rows of the layer input per unit of phase 1 */
    int gram, bwd_packed, rows_ax;
    const T *g, *z, *hprev;
    T *gprev, *dw_out, *db_out;
    const T *zprev;       /* when set: hprev = Lprev's activation of zprev, written in phase 1 */
    T *hprev_out;
    const T *dphi;        /* act'(z) when the caller has it (else computed from z) */
    T *dphi_prev;         /* receives act'(zprev) with hprev, or NULL */
    const fi_stack_layer *Lprev;
    int64_t *next;        /* 7 shared counters: one per dynamically shared loop (0-5), and the
                             units of dz centring done (6) */
} FI_S(fi_bwd_ctx);

/* Rows [kb, kb + kcb) of W (generated into this thread's gb when not given) -> columns
 * [kb, kb + kcb) of dL/dh_prev = dz W^T: below FI_STACK_WHOLE_B the row-axpy kernels (weight
 * rows in place) or, for batches that fill little of their tiles, the dot kernels; above it the
 * block packed transposed and the axpy kernel over dz's A panels. */
static void FI_S(fi_bwd_gprev_block)(const FI_S(fi_bwd_ctx) *c, int64_t kb, int64_t kcb, T *gb,
                                     T *bpw) {
    const fi_stack_layer *L = c->L;
    const int64_t B = c->B, K = c->K, N = c->N;
    const T *Wb = (const T *)L->w + kb * N;
    if (!L->w) {
        c->fill(&L->ws, (uint64_t)(kb * N), kcb * N, &L->wp, gb);
        Wb = gb;
    }
    if (c->bwd_packed) {
        const T *adz = (const T *)c->ws->apack_dz;
        FI_S(fi_gemm_pack_b)(Wb, 1, N, N, kcb, bpw);
        for (int64_t r = 0; r < B; r++) memset(c->gprev + r * K + kb, 0, sizeof(T) * (size_t)kcb);
        for (int64_t p = 0; p * FI_MR < B; p++) {
            int64_t mr = B - p * FI_MR < FI_MR ? B - p * FI_MR : FI_MR;
            FI_S(fi_gemm_packed)(c->kt, mr, kcb, N, adz + p * N * FI_MR, N * FI_MR, bpw, N * NR,
                                 c->gprev + p * FI_MR * K + kb, K);
        }
        return;
    }
    if (!c->rows_ax) { /* small batches that would fill few columns of the NR-wide tiles */
        const T *dz = (const T *)c->ws->dz;
        for (int64_t j = 0; j < kcb; j += FI_DOT_NJ) {
            int64_t nj = kcb - j < FI_DOT_NJ ? kcb - j : FI_DOT_NJ;
            for (int64_t i = 0; i < B; i += FI_DOT_MI) {
                int64_t mi = B - i < FI_DOT_MI ? B - i : FI_DOT_MI;
                c->kt->FI_SC(dot, SFX)[mi][nj](N, dz + i * N, N, Wb + j * N, N,
                                               c->gprev + i * K + kb + j, K);
            }
        }
        return;
    }
    /* below FI_STACK_WHOLE_B: dL/dh_prev^T = W dz^T with the axpy kernel reading groups of
     * FI_MR weight rows in place against dz^T packed once per layer (bpack_dzt): every element
     * one chain over n in order, like the packed path; each 6 x NR tile is written transposed */
    const T *bdt = (const T *)c->ws->bpack_dzt;
    _Alignas(32) T tmp[FI_MR * NR];
    for (int64_t i0 = 0; i0 < kcb; i0 += FI_MR) {
        const int64_t mr = kcb - i0 < FI_MR ? kcb - i0 : FI_MR;
        for (int64_t q = 0; q * NR < B; q++) {
            const int64_t nv = B - q * NR < NR ? B - q * NR : NR;
            memset(tmp, 0, sizeof(tmp));
            c->kt->FI_SC(axr, SFX)[mr](N, Wb + i0 * N, N, bdt + q * N * NR, tmp, NR, NR);
            T *o = c->gprev + q * NR * K + kb + i0;
            for (int64_t j = 0; j < nv; j++)
                for (int64_t i = 0; i < mr; i++) o[j * K + i] = tmp[i * NR + j];
        }
    }
}

/* Rows [b0, b1) of x (rows of n values): their means (one float64 chain over the row in order,
 * as a plain loop would take it; four rows side by side so that the four chains overlap instead
 * of waiting on each other's additions) and the centred rows, into mean and xc (ld n). */
static void FI_S(fi_center_rows)(const T *x, int64_t n, int64_t b0, int64_t b1, double *mean,
                                 double *xc) {
    int64_t b = b0;
    for (; b + 4 <= b1; b += 4) {
        const T *x0 = x + b * n, *x1 = x0 + n, *x2 = x1 + n, *x3 = x2 + n;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int64_t i = 0; i < n; i++) {
            s0 += (double)x0[i];
            s1 += (double)x1[i];
            s2 += (double)x2[i];
            s3 += (double)x3[i];
        }
        mean[b] = s0 / (double)n;
        mean[b + 1] = s1 / (double)n;
        mean[b + 2] = s2 / (double)n;
        mean[b + 3] = s3 / (double)n;
    }
    for (; b < b1; b++) {
        double s = 0;
        for (int64_t i = 0; i < n; i++) s += (double)x[b * n + i];
        mean[b] = s / (double)n;
    }
    for (b = b0; b < b1; b++) {
        const double m = mean[b];
        for (int64_t i = 0; i < n; i++) xc[b * n + i] = (double)x[b * n + i] - m;
    }
}

static void FI_S(fi_bwd_body)(void *ctx_, int tid, int nt) {
    const FI_S(fi_bwd_ctx) *c = (const FI_S(fi_bwd_ctx) *)ctx_;
    fi_stack_ws *ws = c->ws;
    const fi_stack_layer *L = c->L;
    const int64_t B = c->B, K = c->K, N = c->N;
    T *dz = (T *)ws->dz;
    int64_t lo, hi, u;
    /* 1. one dynamic loop over two kinds of unit: column blocks of dL/dh (its statistics, dz =
     * dL/dh * act'(z), dL/db, and the same columns of dz^T packed for dL/dh_prev), then row
     * blocks of the layer input (recomputed from the stored pre-activations when zprev is set;
     * centred for the Gram route) */
    const int64_t n_hu = c->zprev || c->gram ? (B + c->hrows - 1) / c->hrows : 0;
    const int64_t n_p1 = c->n_chunks + n_hu;
    while ((u = fi_next_unit(&c->next[0])) < n_p1) {
        if (u >= c->n_chunks) {
            const int64_t b0 = (u - c->n_chunks) * c->hrows;
            const int64_t b1 = B - b0 < c->hrows ? B : b0 + c->hrows;
            if (c->zprev && c->dphi_prev)
                FI_S(fi_act_forward_deriv)((fi_act)c->Lprev->act, c->Lprev->p0, c->zprev + b0 * K,
                                           c->hprev_out + b0 * K, c->dphi_prev + b0 * K,
                                           (b1 - b0) * K);
            else if (c->zprev)
                FI_S(fi_act_forward)((fi_act)c->Lprev->act, c->Lprev->p0, c->zprev + b0 * K,
                                     c->hprev_out + b0 * K, (b1 - b0) * K);
            if (c->gram) FI_S(fi_center_rows)(c->hprev, K, b0, b1, ws->hbar, ws->hc);
            continue;
        }
        const int64_t c0 = u * FI_STACK_CW, cw = N - c0 < FI_STACK_CW ? N - c0 : FI_STACK_CW;
        FI_STACK_BLOCK_STATS(FI_S(fi_moments_block), ws, 2, c->g + c0, B, cw, N, u);
        for (int64_t r = 0; r < B; r++) {
            const T *gr = c->g + r * N + c0;
            T *dzr = dz + r * N + c0;
            if (c->dphi) /* the product fi_act_backward forms, with the same act'(z) */
                for (int64_t j = 0; j < cw; j++) dzr[j] = gr[j] * c->dphi[r * N + c0 + j];
            else
                FI_S(fi_act_backward)((fi_act)L->act, L->p0, c->z + r * N + c0, gr, dzr, cw);
        }
        if (c->db_out) /* dL/db = column sums of dz, in float64, rows in order */
            for (int64_t j = c0; j < c0 + cw; j++) {
                double s = 0;
                for (int64_t r = 0; r < B; r++) s += (double)dz[r * N + j];
                c->db_out[j] = (T)s;
            }
        if (c->gprev && c->rows_ax) /* rows [c0, c0 + cw) of every NR-wide panel of dz^T */
            for (int64_t q = 0; q * NR < B; q++) {
                const int64_t nr = B - q * NR < NR ? B - q * NR : NR;
                FI_S(fi_gemm_pack_b)(dz + q * NR * N + c0, 1, N, cw, nr,
                                     (T *)ws->bpack_dzt + q * N * NR + c0 * NR);
            }
    }
    fi_team_barrier(nt);
    /* 2. what the dW tiles and the large-batch dL/dh_prev read, split statically: hprev^T and dz
     * packed (dW tiles), dz packed as A panels (dL/dh_prev, large batches) */
    const int tiles = !c->gram || c->dw_out;
    const int gp_packed = c->gprev && c->bwd_packed;
    T *ap = (T *)ws->apack, *bpd = (T *)ws->bpack_dz;
    if (tiles) {
        fi_share((K + FI_MR - 1) / FI_MR, tid, nt, &lo, &hi);
        for (int64_t p = lo; p < hi; p++) {
            int64_t mr = K - p * FI_MR < FI_MR ? K - p * FI_MR : FI_MR;
            FI_S(fi_gemm_pack_a)(c->hprev + p * FI_MR, 1, K, mr, B, ap + p * B * FI_MR);
        }
        fi_share((N + NR - 1) / NR, tid, nt, &lo, &hi);
        for (int64_t q = lo; q < hi; q++) {
            int64_t nr = N - q * NR < NR ? N - q * NR : NR;
            FI_S(fi_gemm_pack_b)(dz + q * NR, N, 1, B, nr, bpd + q * B * NR);
        }
    }
    if (gp_packed) {
        T *adz = (T *)ws->apack_dz;
        fi_share((B + FI_MR - 1) / FI_MR, tid, nt, &lo, &hi);
        for (int64_t p = lo; p < hi; p++) {
            int64_t mr = B - p * FI_MR < FI_MR ? B - p * FI_MR : FI_MR;
            FI_S(fi_gemm_pack_a)(dz + p * FI_MR * N, N, 1, mr, N, adz + p * N * FI_MR);
        }
    }
    if (tiles || gp_packed) fi_team_barrier(nt);
    /* 3. shared loops, no barrier between them. The centred rows of dz come first; the Gram
     * matrices and u, v that read them come last, after dL/dh_prev (small units at the end of
     * the layer balance the threads), behind a wait for the centring that in practice never
     * waits (each thread centred its rows before it took its first block of dL/dh_prev). */
    const int64_t n_du = c->gram ? (B + 3) / 4 : 0;
    while ((u = fi_next_unit(&c->next[1])) < n_du) {
        FI_S(fi_center_rows)(dz, N, 4 * u, B - 4 * u < 4 ? B : 4 * u + 4, ws->dbar, ws->dc);
        fi_done_add(&c->next[6], 1);
    }
    /* dW formed tile by tile: for its statistics (no Gram route) and/or into dw_out. A tile
     * written into dw_out goes through exactly the operations of a scratch tile. */
    if (tiles) {
        T *tile = (T *)ws->tile + (size_t)tid * FI_STACK_TM * FI_STACK_CW;
        const fi_stats_cfg none = {0};
        while ((u = fi_next_unit(&c->next[3])) < c->n_tilerows) {
            const int64_t i0 = u * FI_STACK_TM, mi = K - i0 < FI_STACK_TM ? K - i0 : FI_STACK_TM;
            fi_moments acc, m;
            fi_moments_clear(&acc);
            for (int64_t j0 = 0; j0 < N; j0 += FI_STACK_CW) {
                const int64_t nj = N - j0 < FI_STACK_CW ? N - j0 : FI_STACK_CW;
                T *t = c->dw_out ? c->dw_out + i0 * N + j0 : tile;
                const int64_t ldt = c->dw_out ? N : FI_STACK_CW;
                for (int64_t i = 0; i < mi; i++) memset(t + i * ldt, 0, sizeof(T) * (size_t)nj);
                FI_S(fi_gemm_packed)(c->kt, mi, nj, B, ap + (i0 / FI_MR) * B * FI_MR, B * FI_MR,
                                     bpd + (j0 / NR) * B * NR, B * NR, t, ldt);
                if (!c->gram) {
                    FI_S(fi_moments_block)(t, mi, nj, ldt, &none, &m, NULL, NULL);
                    fi_moments_merge(&acc, &m);
                }
            }
            if (!c->gram) ws->tilerow[u] = acc;
        }
    }
    /* dL/dh_prev = dz W^T by weight row blocks, each generated where it is consumed */
    if (c->gprev) {
        T *gb = (T *)ws->wgen + (size_t)tid * (size_t)ws->blk_stride;
        T *bpw = (T *)ws->bpack + (size_t)tid * (size_t)ws->bpack_stride;
        const int64_t nblk = (K + c->kc - 1) / c->kc;
        while ((u = fi_next_unit(&c->next[4])) < nblk) {
            const int64_t kb = u * c->kc, kcb = K - kb < c->kc ? K - kb : c->kc;
            FI_S(fi_bwd_gprev_block)(c, kb, kcb, gb, bpw);
        }
    }
    if (!c->gram) return;
    fi_wait_done(&c->next[6], n_du);
    /* upper triangles of the two Gram matrices, by tile rows */
    const int64_t n_t = (B + FI_STACK_GRAM_TILE - 1) / FI_STACK_GRAM_TILE;
    while ((u = fi_next_unit(&c->next[2])) < n_t) {
        int64_t i = u * FI_STACK_GRAM_TILE;
        int64_t mi = B - i < FI_STACK_GRAM_TILE ? B - i : FI_STACK_GRAM_TILE;
        fi_gemm_dot_f64(c->kt, mi, B - i, K, ws->hc + i * K, K, ws->hc + i * K, K,
                        ws->g1 + i * B + i, B);
        fi_gemm_dot_f64(c->kt, mi, B - i, N, ws->dc + i * N, N, ws->dc + i * N, N,
                        ws->g2 + i * B + i, B);
    }
    /* u_j = sum_b hbar_b dc_bj, v_i = sum_b dbar_b hc_bi: rows outer (contiguous reads), every
     * sum still taken over b in order, so the bits do not depend on the split */
    const int64_t nu = (N + FI_STACK_UV_UNIT - 1) / FI_STACK_UV_UNIT;
    const int64_t nv = (K + FI_STACK_UV_UNIT - 1) / FI_STACK_UV_UNIT;
    while ((u = fi_next_unit(&c->next[5])) < nu + nv) {
        const int is_u = u < nu;
        const int64_t n = is_u ? N : K, j0 = (is_u ? u : u - nu) * FI_STACK_UV_UNIT;
        const int64_t j1 = n - j0 < FI_STACK_UV_UNIT ? n : j0 + FI_STACK_UV_UNIT;
        double *acc = is_u ? ws->u : ws->v;
        const double *w = is_u ? ws->hbar : ws->dbar, *x = is_u ? ws->dc : ws->hc;
        for (int64_t j = j0; j < j1; j++) acc[j] = 0;
        for (int64_t b = 0; b < B; b++) {
            const double wb = w[b], *xb = x + b * n;
            for (int64_t j = j0; j < j1; j++) acc[j] += wb * xb[j];
        }
    }
}

void FI_S(fi_stack_backward)(fi_stack_ws *ws, const fi_stack_layer *L, int64_t B, const T *g,
                             const T *z, T *hprev, T *gprev, T *dw_out, T *db_out,
                             fi_layer_stats *grad, fi_dw_stats *dw, const T *zprev,
                             const fi_stack_layer *Lprev, const T *dphi, T *dphi_prev) {
    FI_S(fi_bwd_ctx) c;
    c.ws = ws;
    c.L = L;
    c.kt = fi_gemm_kernels_current();
    c.fill = L->w ? NULL : fi_stack_fill(L->dist);
    c.B = B;
    c.K = L->fan_in;
    c.N = L->fan_out;
    c.kc = fi_stack_kc(ws, c.N);
    c.n_chunks = (c.N + FI_STACK_CW - 1) / FI_STACK_CW;
    c.n_tilerows = (c.K + FI_STACK_TM - 1) / FI_STACK_TM;
    c.hrows = (FI_STACK_HROW_VALUES / c.K + 3) / 4 * 4; /* a multiple of 4: fi_center_rows */
    if (c.hrows < 4) c.hrows = 4;
    c.gram = fi_stack_uses_gram(ws, B, c.K, c.N);
    c.bwd_packed = ws->apack_dz && B >= FI_STACK_WHOLE_B &&
                   c.N * ((c.kc + NR - 1) / NR * NR) <= ws->bpack_stride;
    /* row-axpy kernels when the batch fills at least 4/5 of its NR-wide tiles (their work grows
     * with the padded batch; the dot kernels' with the batch, at about 1.3x the cost per
     * multiply-add), else the dot kernels */
    c.rows_ax = !c.bwd_packed && 5 * B >= 4 * ((B + NR - 1) / NR * NR);
    c.g = g;
    c.z = z;
    c.hprev = hprev;
    c.zprev = zprev;
    c.hprev_out = hprev;
    c.dphi = dphi;
    c.dphi_prev = zprev ? dphi_prev : NULL;
    c.Lprev = Lprev;
    c.gprev = gprev;
    c.dw_out = dw_out;
    c.db_out = db_out;
    int64_t next[7] = {0, 0, 0, 0, 0, 0, 0};
    c.next = next;
    const int nt = fi_stack_threads(ws, (double)c.K * (double)c.N * ((L->w ? 0.0 : 1.0) + (double)B / 4) +
                                            (zprev ? (double)B * (double)c.K : 0.0));
    c.kc = fi_stack_gprev_kc(c.kc, c.K, nt);
    fi_team_run(nt, FI_S(fi_bwd_body), &c);
    fi_stack_collect(ws, 2, c.n_chunks, c.N, grad);
    if (!dw) return;
    const double n = (double)c.K * (double)c.N;
    if (c.gram) {
        double mu = 0, su = 0, sv = 0, sd = 0, so = 0;
        for (int64_t b = 0; b < B; b++) mu += ws->hbar[b] * ws->dbar[b];
        for (int64_t j = 0; j < c.N; j++) su += ws->u[j] * ws->u[j];
        for (int64_t i = 0; i < c.K; i++) sv += ws->v[i] * ws->v[i];
        for (int64_t b = 0; b < B; b++) {
            sd += ws->g1[b * B + b] * ws->g2[b * B + b];
            for (int64_t b2 = b + 1; b2 < B; b2++) so += ws->g1[b * B + b2] * ws->g2[b * B + b2];
        }
        double ssc = (double)c.K * su + (double)c.N * sv + (sd + 2.0 * so);
        if (ssc < 0) ssc = 0; /* rounding of an all-but-zero sum */
        dw->mean = mu;
        dw->std = sqrt(ssc / n);
        dw->norm = sqrt(ssc + n * mu * mu);
    } else {
        fi_moments acc;
        fi_moments_clear(&acc);
        for (int64_t tr = 0; tr < c.n_tilerows; tr++) fi_moments_merge(&acc, &ws->tilerow[tr]);
        dw->mean = acc.mean;
        dw->std = sqrt(acc.m2c / n);
        dw->norm = sqrt(acc.sumsq);
    }
}

/* ---- elementwise and statistics helpers ------------------------------------------------------ */
typedef struct {
    int act;
    double p0;
    const T *z;
    T *h;
    int64_t n;
    int64_t *next;
} FI_S(fi_actv_ctx);

static void FI_S(fi_actv_body)(void *ctx_, int tid, int nt) {
    const FI_S(fi_actv_ctx) *c = (const FI_S(fi_actv_ctx) *)ctx_;
    const int64_t nu = (c->n + FI_STACK_ACT_UNIT - 1) / FI_STACK_ACT_UNIT;
    int64_t u;
    (void)tid;
    (void)nt;
    while ((u = fi_next_unit(c->next)) < nu) {
        int64_t a = u * FI_STACK_ACT_UNIT, len = c->n - a < FI_STACK_ACT_UNIT ? c->n - a : FI_STACK_ACT_UNIT;
        FI_S(fi_act_forward)((fi_act)c->act, c->p0, c->z + a, c->h + a, len);
    }
}

void FI_S(fi_stack_activate)(fi_stack_ws *ws, int act, double p0, const T *z, T *h, int64_t n) {
    int64_t next = 0;
    FI_S(fi_actv_ctx) c = {act, p0, z, h, n, &next};
    if (n > 0) fi_team_run(fi_stack_threads(ws, (double)n), FI_S(fi_actv_body), &c);
}

typedef struct {
    fi_stack_ws *ws;
    int which;
    const T *x;
    int64_t B, n, n_chunks;
    int64_t *next;
} FI_S(fi_stats_ctx);

static void FI_S(fi_stats_body)(void *ctx_, int tid, int nt) {
    const FI_S(fi_stats_ctx) *c = (const FI_S(fi_stats_ctx) *)ctx_;
    int64_t ch;
    (void)tid;
    (void)nt;
    while ((ch = fi_next_unit(c->next)) < c->n_chunks) {
        const int64_t c0 = ch * FI_STACK_CW, cw = c->n - c0 < FI_STACK_CW ? c->n - c0 : FI_STACK_CW;
        FI_STACK_BLOCK_STATS(FI_S(fi_moments_block), c->ws, c->which, c->x + c0, c->B, cw, c->n, ch);
    }
}

void FI_S(fi_stack_stats)(fi_stack_ws *ws, int which, const T *x, int64_t B, int64_t n,
                          fi_layer_stats *out) {
    int64_t next = 0;
    FI_S(fi_stats_ctx) c = {ws, which, x, B, n, (n + FI_STACK_CW - 1) / FI_STACK_CW, &next};
    fi_team_run(fi_stack_threads(ws, (double)B * (double)n), FI_S(fi_stats_body), &c);
    fi_stack_collect(ws, which, c.n_chunks, n, out);
}

#undef FI_S
#undef FI_SC
#undef FI_SC_
