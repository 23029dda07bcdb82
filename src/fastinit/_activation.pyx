# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Thin Cython layer over the activation kernels (csrc/fi_activation.h): converts arguments and
releases the GIL. Validation (activation code, p0, shapes, dtypes) belongs to the caller; the
functions here assume 1-d contiguous arrays of one dtype and matching lengths."""

from libc.stdint cimport int64_t
from cython cimport floating

# Mirrors csrc/fi_activation.h and the part of csrc/fi_common.h used here: keep in step.
cdef extern from "fi_activation.h" nogil:
    ctypedef enum fi_act:
        FI_ACT_COUNT
    void fi_act_forward_f32(fi_act act, double p0, const float *z, float *h, int64_t n)
    void fi_act_forward_f64(fi_act act, double p0, const double *z, double *h, int64_t n)
    void fi_act_backward_f32(fi_act act, double p0, const float *z, const float *g, float *dz,
                             int64_t n)
    void fi_act_backward_f64(fi_act act, double p0, const double *z, const double *g, double *dz,
                             int64_t n)
    void fi_act_forward_deriv_f32(fi_act act, double p0, const float *z, float *h, float *dphi,
                                  int64_t n)
    void fi_act_forward_deriv_f64(fi_act act, double p0, const double *z, double *h,
                                  double *dphi, int64_t n)

cdef extern from "fi_common.h" nogil:
    ctypedef void (*fi_chunk_fn)(void *ctx, int64_t chunk) noexcept nogil
    void fi_parallel_chunks(int64_t n_chunks, int n_threads, fi_chunk_fn fn, void *ctx)
    unsigned int fi_fpenv_enter()
    void fi_fpenv_leave(unsigned int saved)

#: Number of activation codes (the C enum's FI_ACT_COUNT).
COUNT = FI_ACT_COUNT

# Elements per parallel chunk: fixed, so the split never depends on the thread count (the kernels
# are elementwise, so the values would not either; this keeps the work units cache-sized).
DEF CHUNK = 16384

cdef enum:
    _FWD = 0
    _BWD = 1
    _FWD_DERIV = 2


cdef inline void _run(int mode, fi_act act, double p0, floating *z, floating *g, floating *a,
                      floating *b, int64_t n) noexcept nogil:
    """mode _FWD: a = phi(z); _BWD: a = g * phi'(z); _FWD_DERIV: a = phi(z), b = phi'(z)."""
    if floating is float:
        if mode == _FWD:
            fi_act_forward_f32(act, p0, z, a, n)
        elif mode == _BWD:
            fi_act_backward_f32(act, p0, z, g, a, n)
        else:
            fi_act_forward_deriv_f32(act, p0, z, a, b, n)
    else:
        if mode == _FWD:
            fi_act_forward_f64(act, p0, z, a, n)
        elif mode == _BWD:
            fi_act_backward_f64(act, p0, z, g, a, n)
        else:
            fi_act_forward_deriv_f64(act, p0, z, a, b, n)


cdef inline void _run_serial(int mode, fi_act act, double p0, floating *z, floating *g,
                             floating *a, floating *b, int64_t n) noexcept nogil:
    """_run with flush-to-zero/denormals-are-zero cleared, as fi_parallel_chunks does: a mode
    another library left set must not flush the kernels' subnormals. The caller's mode comes
    back afterwards."""
    cdef unsigned int fpenv = fi_fpenv_enter()
    _run(mode, act, p0, z, g, a, b, n)
    fi_fpenv_leave(fpenv)


def forward(int code, double p0, floating[::1] z not None, floating[::1] out not None):
    """out[i] = phi(z[i]); out may be z itself."""
    cdef int64_t n = z.shape[0]
    if out.shape[0] != n:
        raise ValueError("z and out must have the same length")
    if n == 0:
        return
    with nogil:
        _run_serial(_FWD, <fi_act>code, p0, &z[0], <floating *>NULL, &out[0], <floating *>NULL, n)


def backward(int code, double p0, floating[::1] z not None, floating[::1] g not None,
             floating[::1] out not None):
    """out[i] = g[i] * phi'(z[i]); out may be g itself."""
    cdef int64_t n = z.shape[0]
    if g.shape[0] != n or out.shape[0] != n:
        raise ValueError("z, g and out must have the same length")
    if n == 0:
        return
    with nogil:
        _run_serial(_BWD, <fi_act>code, p0, &z[0], &g[0], &out[0], <floating *>NULL, n)


def forward_deriv(int code, double p0, floating[::1] z not None, floating[::1] out not None,
                  floating[::1] dphi not None):
    """out[i] = phi(z[i]), dphi[i] = phi'(z[i]); out may be z itself."""
    cdef int64_t n = z.shape[0]
    if out.shape[0] != n or dphi.shape[0] != n:
        raise ValueError("z, out and dphi must have the same length")
    if n == 0:
        return
    with nogil:
        _run_serial(_FWD_DERIV, <fi_act>code, p0, &z[0], <floating *>NULL, &out[0], &dphi[0], n)


# ---- multi-threaded: fixed chunks of CHUNK elements over fi_parallel_chunks ---------------------

ctypedef struct _mt_ctx:
    int mode
    int is_f32
    fi_act act
    double p0
    char *z
    char *g
    char *a
    char *b
    int64_t n


cdef void _mt_chunk(void *ctx_, int64_t c) noexcept nogil:
    cdef _mt_ctx *ctx = <_mt_ctx *>ctx_
    cdef int64_t start = c * CHUNK
    cdef int64_t length = ctx.n - start
    if length > CHUNK:
        length = CHUNK
    if ctx.is_f32:
        _run(ctx.mode, ctx.act, ctx.p0, <float *>ctx.z + start,
             <float *>ctx.g + start if ctx.g != NULL else <float *>NULL, <float *>ctx.a + start,
             <float *>ctx.b + start if ctx.b != NULL else <float *>NULL, length)
    else:
        _run(ctx.mode, ctx.act, ctx.p0, <double *>ctx.z + start,
             <double *>ctx.g + start if ctx.g != NULL else <double *>NULL, <double *>ctx.a + start,
             <double *>ctx.b + start if ctx.b != NULL else <double *>NULL, length)


def apply_mt(int mode, int code, double p0, floating[::1] z not None, floating[::1] g,
             floating[::1] a not None, floating[::1] b, int n_threads):
    """Multi-threaded version of forward (mode 0, g and b None), backward (mode 1, b None) and
    forward_deriv (mode 2, g None) over fixed chunks of CHUNK elements. Same bits for any
    n_threads (<= 0: the default count)."""
    cdef int64_t n = z.shape[0]
    if mode < 0 or mode > 2:
        raise ValueError(f"mode must be 0, 1 or 2, got {mode}")
    if a.shape[0] != n or (mode == _BWD and (g is None or g.shape[0] != n)) \
            or (mode == _FWD_DERIV and (b is None or b.shape[0] != n)):
        raise ValueError("z, g, a and b must have the same length")
    if n == 0:
        return
    cdef _mt_ctx ctx
    ctx.mode = mode
    ctx.is_f32 = floating is float
    ctx.act = <fi_act>code
    ctx.p0 = p0
    ctx.z = <char *>&z[0]
    ctx.g = <char *>&g[0] if mode == _BWD else NULL
    ctx.a = <char *>&a[0]
    ctx.b = <char *>&b[0] if mode == _FWD_DERIV else NULL
    ctx.n = n
    cdef int64_t n_chunks = (n + CHUNK - 1) // CHUNK
    with nogil:
        fi_parallel_chunks(n_chunks, n_threads, _mt_chunk, &ctx)
