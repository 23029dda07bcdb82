# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Thin Cython layer over the deep-stack engine (csrc/fi_stack.h): one layer per call with the GIL
released, statistics written into NumPy arrays. The Python driver (fastinit/stack.py) validates
everything and loops over the layers, so Ctrl-C is seen between layers."""

from libc.stdint cimport uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memset
from cython cimport floating

import numpy as np

from fastinit._core cimport (fi_stream_id, fi_dist, fi_dist_params, fi_status, FI_OK,
                             FI_DIST_NORMAL_F32, FI_DIST_NORMAL_F64, FI_DIST_UNIFORM_F32,
                             FI_DIST_UNIFORM_F64, FI_DIST_TRUNCNORM_F32, FI_DIST_TRUNCNORM_F64,
                             fi_truncnorm_prepare, fi_random_fill)

# Mirrors csrc/fi_stats.h and csrc/fi_stack.h: keep in step with them.
cdef extern from "fi_stats.h" nogil:
    ctypedef struct fi_stats_cfg:
        int has_sat
        double sat_lo, sat_hi
        const double *edges
        int64_t n_bins
        const int64_t *pairs
        int64_t n_pairs
    ctypedef struct fi_summary:
        double mean, std, m2, min, max, mean_abs, frac_zero, frac_dead, frac_sat
        int64_t n_nonfinite

cdef extern from "fi_stack.h" nogil:
    ctypedef struct fi_stack_layer:
        int64_t fan_in, fan_out
        const void *w
        fi_dist dist
        fi_dist_params wp
        fi_stream_id ws
        void *w_cache
        const void *bias
        int act
        double p0
    ctypedef struct fi_layer_stats:
        fi_summary s
        int64_t *hist
        double *pair_cos
    ctypedef struct fi_dw_stats:
        double mean, std, norm
    ctypedef struct fi_stack_ws:
        pass
    fi_stack_ws *fi_stack_ws_new(int is_f64, int64_t batch, int64_t max_width, int n_threads,
                                 const fi_stats_cfg *cfg_pre, const fi_stats_cfg *cfg_act,
                                 const fi_stats_cfg *cfg_grad)
    void fi_stack_ws_free(fi_stack_ws *ws)
    void fi_stack_forward_f32(fi_stack_ws *ws, const fi_stack_layer *L, int64_t B, const float *hin,
                              float *z, float *h, fi_layer_stats *pre, fi_layer_stats *act)
    void fi_stack_forward_f64(fi_stack_ws *ws, const fi_stack_layer *L, int64_t B,
                              const double *hin, double *z, double *h, fi_layer_stats *pre,
                              fi_layer_stats *act)
    void fi_stack_backward_f32(fi_stack_ws *ws, const fi_stack_layer *L, int64_t B, const float *g,
                               const float *z, float *hprev, float *gprev, float *dw_out,
                               float *db_out, fi_layer_stats *grad, fi_dw_stats *dw,
                               const float *zprev, const fi_stack_layer *Lprev,
                               const float *dphi, float *dphi_prev)
    void fi_stack_backward_f64(fi_stack_ws *ws, const fi_stack_layer *L, int64_t B,
                               const double *g, const double *z, double *hprev,
                               double *gprev, double *dw_out, double *db_out,
                               fi_layer_stats *grad, fi_dw_stats *dw,
                               const double *zprev, const fi_stack_layer *Lprev,
                               const double *dphi, double *dphi_prev)
    void fi_stack_activate_f32(fi_stack_ws *ws, int act, double p0, const float *z, float *h,
                               int64_t n)
    void fi_stack_activate_f64(fi_stack_ws *ws, int act, double p0, const double *z, double *h,
                               int64_t n)
    void fi_stack_stats_f32(fi_stack_ws *ws, int which, const float *x, int64_t B, int64_t n,
                            fi_layer_stats *out)
    void fi_stack_stats_f64(fi_stack_ws *ws, int which, const double *x, int64_t B, int64_t n,
                            fi_layer_stats *out)
    int fi_stack_uses_gram(const fi_stack_ws *ws, int64_t B, int64_t fan_in, int64_t fan_out)

# The fork flag and the SIMD path live once in libfastinit_core (a shared library, see
# CMakeLists.txt): fastinit._core's after-fork hook and set_simd_path reach this module too.


cdef extern from "fi_gemm.h" nogil:
    fi_status fi_gemm_f32(int64_t m, int64_t n, int64_t k, const float *A, int64_t rsa,
                          int64_t csa, const float *B, int64_t rsb, int64_t csb, float *C,
                          int64_t ldc, int n_threads)
    fi_status fi_gemm_f64(int64_t m, int64_t n, int64_t k, const double *A, int64_t rsa,
                          int64_t csa, const double *B, int64_t rsb, int64_t csb, double *C,
                          int64_t ldc, int n_threads)

#: Columns of the summary arrays, in fi_summary's order.
SUMMARY_FIELDS = ("mean", "std", "m2", "min", "max", "mean_abs", "frac_zero", "frac_dead",
                  "frac_sat", "n_nonfinite")
#: Weight distributions the engine generates itself (anything else comes as explicit arrays).
DISTRIBUTIONS = {"normal": 0, "uniform": 1, "truncated_normal": 2}

cdef int _PRE = 0, _ACT = 1, _GRAD = 2


cdef void _put(double[:, ::1] out, Py_ssize_t l, fi_summary *s) noexcept:
    out[l, 0] = s.mean
    out[l, 1] = s.std
    out[l, 2] = s.m2
    out[l, 3] = s.min
    out[l, 4] = s.max
    out[l, 5] = s.mean_abs
    out[l, 6] = s.frac_zero
    out[l, 7] = s.frac_dead
    out[l, 8] = s.frac_sat
    out[l, 9] = <double>s.n_nonfinite


def gemm(floating[:, ::1] A not None, floating[:, ::1] B not None, floating[:, ::1] C not None,
         int n_threads):
    """C += A @ B with the engine's kernels (tests of the kernels and their thread invariance)."""
    cdef fi_status st = FI_OK
    cdef int64_t m = A.shape[0], k = A.shape[1], n = B.shape[1]
    if B.shape[0] != k or C.shape[0] != m or C.shape[1] != n:
        raise ValueError("shapes do not chain")
    if m == 0 or n == 0 or k == 0:
        return
    with nogil:
        if floating is float:
            st = fi_gemm_f32(m, n, k, &A[0, 0], k, 1, &B[0, 0], n, 1, &C[0, 0], n, n_threads)
        else:
            st = fi_gemm_f64(m, n, k, &A[0, 0], k, 1, &B[0, 0], n, 1, &C[0, 0], n, n_threads)
    if st != FI_OK:
        raise MemoryError("gemm: out of memory")


cdef class Engine:
    """Scratch, per-layer descriptions and statistics arrays of one run.

    Parameters (all validated by fastinit.stack): is_f64, batch, widths (depth + 1 int64), n_threads,
    act code and p0, dist (index in DISTRIBUTIONS, or -1 when every layer's weights are given),
    wparams (depth x 4 float64: loc, scale, a, b for the normals; low, high for the uniform), key
    (two uint32 words) and weight stream ids (depth uint64), statistics options.
    """
    cdef fi_stack_ws *ws
    cdef fi_stack_layer *layers
    cdef readonly bint is_f64
    cdef readonly int64_t depth, batch
    cdef object _keep            # arrays the C side points into
    cdef list _weights, _biases
    cdef object _cache            # the weight cache's memory (set_cache_block), or None
    cdef bint *_cached            # per layer: weights written to w_cache by forward, read by backward
    cdef public object pre, act, grad, dw           # (depth, 10) / (depth, 3) float64
    cdef public object pre_hist, act_hist, grad_hist, pre_pairs, act_pairs
    cdef int64_t n_bins[3]
    cdef int64_t n_pairs

    def __cinit__(self, bint is_f64, int64_t batch, const int64_t[::1] widths not None,
                  int n_threads, int act, double p0, int dist, const double[:, ::1] wparams not None,
                  uint32_t k0, uint32_t k1, const uint64_t[::1] streams not None,
                  bint has_sat, double sat_lo, double sat_hi, edges, pairs):
        cdef int64_t depth = widths.shape[0] - 1, l, maxw = 0
        cdef fi_stats_cfg cfg[3]
        cdef int i
        cdef const double[::1] e
        cdef const int64_t[:, ::1] pr
        self.ws = NULL
        self.layers = NULL
        self.is_f64 = is_f64
        self.depth = depth
        self.batch = batch
        self._weights = [None] * depth
        self._biases = [None] * depth
        self._cache = None
        self._cached = NULL
        keep = []
        memset(cfg, 0, sizeof(cfg))
        for i in range(3):
            self.n_bins[i] = 0
            if edges[i] is not None:
                e = edges[i]
                keep.append(edges[i])
                cfg[i].edges = &e[0]
                cfg[i].n_bins = e.shape[0] - 1
                self.n_bins[i] = e.shape[0] - 1
        cfg[1].has_sat = has_sat
        cfg[1].sat_lo = sat_lo
        cfg[1].sat_hi = sat_hi
        self.n_pairs = 0
        if pairs is not None and pairs.shape[0] > 0:
            pr = pairs
            keep.append(pairs)
            self.n_pairs = pr.shape[0]
            for i in range(2):
                cfg[i].pairs = &pr[0, 0]
                cfg[i].n_pairs = pr.shape[0]
        self._keep = keep
        for l in range(depth + 1):
            if widths[l] > maxw:
                maxw = widths[l]
        self.layers = <fi_stack_layer *>malloc(sizeof(fi_stack_layer) * max(depth, 1))
        self._cached = <bint *>malloc(sizeof(bint) * max(depth, 1))
        if self.layers == NULL or self._cached == NULL:
            raise MemoryError("simulate: out of memory")
        memset(self.layers, 0, sizeof(fi_stack_layer) * max(depth, 1))
        memset(self._cached, 0, sizeof(bint) * max(depth, 1))
        cdef fi_stack_layer *L
        for l in range(depth):
            L = &self.layers[l]
            L.fan_in = widths[l]
            L.fan_out = widths[l + 1]
            L.act = act
            L.p0 = p0
            L.ws.key[0] = k0
            L.ws.key[1] = k1
            L.ws.stream = streams[l]
            if dist == 0:
                L.dist = FI_DIST_NORMAL_F64 if is_f64 else FI_DIST_NORMAL_F32
                L.wp.loc = wparams[l, 0]
                L.wp.scale = wparams[l, 1]
            elif dist == 1:
                L.dist = FI_DIST_UNIFORM_F64 if is_f64 else FI_DIST_UNIFORM_F32
                L.wp.low = wparams[l, 0]
                L.wp.range = wparams[l, 1] - wparams[l, 0]
                # the largest value below high, as fastinit.Generator.uniform
                if is_f64:
                    L.wp.below_high = float(np.nextafter(wparams[l, 1], -np.inf))
                else:
                    L.wp.below_high = float(np.nextafter(np.float32(wparams[l, 1]), np.float32(-np.inf)))
                if not wparams[l, 1] > wparams[l, 0]:
                    L.wp.below_high = wparams[l, 1]
            elif dist == 2:
                L.dist = FI_DIST_TRUNCNORM_F64 if is_f64 else FI_DIST_TRUNCNORM_F32
                if fi_truncnorm_prepare(wparams[l, 2], wparams[l, 3], wparams[l, 0],
                                        wparams[l, 1], not is_f64, &L.wp) != FI_OK:
                    raise ValueError("truncated normal weights cannot be sampled on "
                                     f"[{wparams[l, 2]!r}, {wparams[l, 3]!r}]")
        self.ws = fi_stack_ws_new(is_f64, batch, maxw, n_threads, &cfg[0], &cfg[1], &cfg[2])
        if self.ws == NULL:
            raise MemoryError("simulate: out of memory for the engine's scratch "
                              f"(batch {batch}, width {maxw})")
        self.pre = np.full((depth, 10), np.nan)
        self.act = np.full((depth, 10), np.nan)
        self.grad = np.full((depth, 10), np.nan)
        self.dw = np.full((depth, 3), np.nan)
        self.pre_hist = np.zeros((depth, self.n_bins[0]), np.int64) if self.n_bins[0] else None
        self.act_hist = np.zeros((depth, self.n_bins[1]), np.int64) if self.n_bins[1] else None
        self.grad_hist = np.zeros((depth, self.n_bins[2]), np.int64) if self.n_bins[2] else None
        self.pre_pairs = np.full((depth, self.n_pairs), np.nan) if self.n_pairs else None
        self.act_pairs = np.full((depth, self.n_pairs), np.nan) if self.n_pairs else None

    def __dealloc__(self):
        fi_stack_ws_free(self.ws)
        free(self.layers)
        free(self._cached)

    def set_weights(self, int64_t l, W):
        """Explicit weights for layer l (a C-contiguous array of the run's dtype), None to generate."""
        self._weights[l] = W
        self.layers[l].w = NULL if W is None else <const void *><size_t>W.ctypes.data

    def set_bias(self, int64_t l, b):
        self._biases[l] = b
        self.layers[l].bias = NULL if b is None else <const void *><size_t>b.ctypes.data

    def set_cache_block(self, unsigned char[::1] block not None, const int64_t[::1] offsets not None):
        """Weight cache in one block of memory: layer l's generated weights (fan_in x fan_out,
        C order) are written at byte offsets[l] of block by forward(l) and read back from there
        by backward(l); offsets[l] < 0: not cached (regenerated in the backward pass). The
        caller keeps offsets 64-byte aligned and the block large enough."""
        cdef int64_t l
        cdef unsigned char *base = &block[0] if block.shape[0] else NULL
        if offsets.shape[0] != self.depth:
            raise ValueError("one offset per layer")
        self._cache = block
        for l in range(self.depth):
            self._cached[l] = offsets[l] >= 0 and base != NULL
            self.layers[l].w_cache = <void *>(base + offsets[l]) if self._cached[l] else NULL

    def fill_bias(self, int64_t l, uint64_t stream, double std, floating[::1] out not None):
        """out = N(0, std^2) from the layer's bias stream (fastinit.Generator(...).normal)."""
        cdef fi_dist_params p
        cdef fi_stream_id s
        memset(&p, 0, sizeof(p))
        p.loc = 0.0
        p.scale = std
        s.key[0] = self.layers[0].ws.key[0]
        s.key[1] = self.layers[0].ws.key[1]
        s.stream = stream
        cdef fi_dist d = FI_DIST_NORMAL_F32 if floating is float else FI_DIST_NORMAL_F64
        if out.shape[0]:
            with nogil:
                fi_random_fill(d, &s, 0, out.shape[0], &p, &out[0], 1)

    def uses_gram(self, int64_t l):
        return bool(fi_stack_uses_gram(self.ws, self.batch, self.layers[l].fan_in,
                                       self.layers[l].fan_out))

    cdef void _stats_ptrs(self, int which, Py_ssize_t l, fi_layer_stats *st, object hist,
                          object pairs):
        cdef int64_t[:, ::1] hv
        cdef double[:, ::1] pv
        st.hist = NULL
        st.pair_cos = NULL
        if hist is not None:
            hv = hist
            st.hist = &hv[l, 0]
        if pairs is not None:
            pv = pairs
            st.pair_cos = &pv[l, 0]

    def forward(self, int64_t l, floating[:, ::1] hin not None, floating[:, ::1] z not None,
                floating[:, ::1] h not None):
        """Layer l (0-based): z = hin W + b, h = act(z); statistics at row l. Returns the number
        of non-finite values in z and h."""
        cdef fi_layer_stats sp, sa
        cdef fi_stack_layer *L = &self.layers[l]
        cdef int64_t B = hin.shape[0]
        if hin.shape[1] != L.fan_in or z.shape[1] != L.fan_out or h.shape[1] != L.fan_out \
                or z.shape[0] != B or h.shape[0] != B or B > self.batch or B < 1:
            raise ValueError("layer shapes do not match the engine")
        self._stats_ptrs(_PRE, l, &sp, self.pre_hist, self.pre_pairs)
        self._stats_ptrs(_ACT, l, &sa, self.act_hist, self.act_pairs)
        with nogil:
            if floating is float:
                fi_stack_forward_f32(self.ws, L, B, &hin[0, 0], &z[0, 0], &h[0, 0], &sp, &sa)
            else:
                fi_stack_forward_f64(self.ws, L, B, &hin[0, 0], &z[0, 0], &h[0, 0], &sp, &sa)
        _put(self.pre, l, &sp.s)
        _put(self.act, l, &sa.s)
        return sp.s.n_nonfinite + sa.s.n_nonfinite

    def backward(self, int64_t l, floating[:, ::1] g not None, floating[:, ::1] z not None,
                 floating[:, ::1] hprev not None, floating[:, ::1] gprev,
                 floating[:, ::1] dw_out=None, floating[::1] db_out=None,
                 floating[:, ::1] zprev=None, floating[:, ::1] dphi=None,
                 floating[:, ::1] dphi_prev=None):
        """Layer l: statistics of g = dL/dh_l and of dL/dW_l; gprev (or None) <- dL/dh_{l-1},
        dw_out (or None) <- dL/dW_l (fan_in, fan_out), db_out (or None) <- dL/db_l. With zprev
        (layer l-1's pre-activations, l >= 1), hprev is first written as their activation (what
        activate(l - 1, zprev, hprev) gives) in the same call, and dphi_prev (or None) as their
        derivative act'(zprev). dphi (or None): act'(z) of this layer, as the call for layer l + 1
        wrote it into its dphi_prev (the activation is then not evaluated again; same values).
        Returns the number of non-finite values in g."""
        cdef fi_layer_stats sg
        cdef fi_dw_stats dw
        cdef fi_stack_layer *L = &self.layers[l]
        cdef int64_t B = g.shape[0]
        cdef floating *gp = NULL
        cdef floating *dwp = NULL
        cdef floating *dbp = NULL
        cdef floating *zp = NULL
        cdef const fi_stack_layer *Lp = NULL
        cdef floating *dp = NULL
        cdef floating *dpp = NULL
        if g.shape[1] != L.fan_out or z.shape[1] != L.fan_out or hprev.shape[1] != L.fan_in \
                or z.shape[0] != B or hprev.shape[0] != B or B > self.batch or B < 1:
            raise ValueError("layer shapes do not match the engine")
        if gprev is not None:
            if gprev.shape[0] != B or gprev.shape[1] != L.fan_in:
                raise ValueError("layer shapes do not match the engine")
            gp = &gprev[0, 0]
        if dw_out is not None:
            if dw_out.shape[0] != L.fan_in or dw_out.shape[1] != L.fan_out:
                raise ValueError("layer shapes do not match the engine")
            dwp = &dw_out[0, 0]
        if db_out is not None:
            if db_out.shape[0] != L.fan_out:
                raise ValueError("layer shapes do not match the engine")
            dbp = &db_out[0]
        if zprev is not None:
            if l < 1 or zprev.shape[0] != B or zprev.shape[1] != L.fan_in:
                raise ValueError("layer shapes do not match the engine")
            zp = &zprev[0, 0]
            Lp = &self.layers[l - 1]
            if dphi_prev is not None:
                if dphi_prev.shape[0] != B or dphi_prev.shape[1] != L.fan_in:
                    raise ValueError("layer shapes do not match the engine")
                dpp = &dphi_prev[0, 0]
        if dphi is not None:
            if dphi.shape[0] != B or dphi.shape[1] != L.fan_out:
                raise ValueError("layer shapes do not match the engine")
            dp = &dphi[0, 0]
        self._stats_ptrs(_GRAD, l, &sg, self.grad_hist, None)
        cdef fi_stack_layer Lc
        if self._cached[l] and L.w == NULL:  # the weights forward(l) wrote into the cache
            Lc = L[0]
            Lc.w = Lc.w_cache
            Lc.w_cache = NULL
            L = &Lc
        with nogil:
            if floating is float:
                fi_stack_backward_f32(self.ws, L, B, &g[0, 0], &z[0, 0], &hprev[0, 0], gp, dwp,
                                      dbp, &sg, &dw, zp, Lp, dp, dpp)
            else:
                fi_stack_backward_f64(self.ws, L, B, &g[0, 0], &z[0, 0], &hprev[0, 0], gp, dwp,
                                      dbp, &sg, &dw, zp, Lp, dp, dpp)
        _put(self.grad, l, &sg.s)
        cdef double[:, ::1] dwv = self.dw
        dwv[l, 0] = dw.mean
        dwv[l, 1] = dw.std
        dwv[l, 2] = dw.norm
        return sg.s.n_nonfinite

    def activate(self, int64_t l, floating[:, ::1] z not None, floating[:, ::1] h not None):
        """h = act(z) with layer l's activation (recomputing a stored layer's output)."""
        cdef fi_stack_layer *L = &self.layers[l]
        cdef int64_t n = z.shape[0] * z.shape[1]
        if z.shape[0] != h.shape[0] or z.shape[1] != h.shape[1]:
            raise ValueError("shapes differ")
        if n == 0:
            return
        with nogil:
            if floating is float:
                fi_stack_activate_f32(self.ws, L.act, L.p0, &z[0, 0], &h[0, 0], n)
            else:
                fi_stack_activate_f64(self.ws, L.act, L.p0, &z[0, 0], &h[0, 0], n)

    def stats(self, floating[:, ::1] x not None):
        """Summary of an array (the input) with the dL/dh configuration, as a length-10 array."""
        cdef fi_layer_stats st
        cdef double[:, ::1] out = np.empty((1, 10))
        st.hist = NULL
        st.pair_cos = NULL
        if x.shape[0] > self.batch:
            raise ValueError("too many rows")
        with nogil:
            if floating is float:
                fi_stack_stats_f32(self.ws, 2, &x[0, 0], x.shape[0], x.shape[1], &st)
            else:
                fi_stack_stats_f64(self.ws, 2, &x[0, 0], x.shape[0], x.shape[1], &st)
        _put(out, 0, &st.s)
        return np.asarray(out[0])
