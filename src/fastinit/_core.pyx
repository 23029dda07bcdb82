# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Thin Cython layer over the C core: converts arguments, releases the GIL, maps status codes to
exceptions. Argument checking and defaults live in the Python modules (_generator.py, ...);
the functions here assume validated input."""

from cpython.pycapsule cimport PyCapsule_New
from libc.stdint cimport uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memset
from cython cimport floating

import threading

import numpy as np



cdef inline void _sid(fi_stream_id *s, uint32_t k0, uint32_t k1, uint64_t stream) noexcept nogil:
    s.key[0] = k0
    s.key[1] = k1
    s.stream = stream


cdef int _raise(fi_status st, str what) except -1:
    if st == FI_OK:
        return 0
    if st == FI_ENOMEM:
        raise MemoryError(f"{what}: out of memory")
    if st == FI_EINTR:
        raise KeyboardInterrupt()
    raise ValueError(f"{what}: invalid argument")


# ---- configuration -----------------------------------------------------------------------------

def default_threads():
    """omp_get_max_threads() (OMP_NUM_THREADS, threadpoolctl), 1 in a forked child or without OpenMP."""
    return fi_default_threads()

def have_openmp():
    return bool(fi_have_openmp())

def openmp_version():
    return fi_openmp_version()

def mark_forked_child():
    fi_mark_forked_child()

def is_forked_child():
    return bool(fi_is_forked_child())

def _set_ftz(bint on):
    """Test hook: set or clear flush-to-zero/denormals-are-zero in this thread (as another
    library might); returns the previous state."""
    return bool(fi_fpenv_set_ftz(on))

def cpu_has_avx2():
    return bool(fi_cpu_has_avx2())

def simd_path():
    return fi_simd_name(fi_simd_current()).decode()

def set_simd_path(str name):
    """Select "avx2" or "baseline"; returns the path actually in use."""
    cdef fi_simd_path wanted = FI_SIMD_AVX2 if name == "avx2" else FI_SIMD_BASELINE
    return fi_simd_name(fi_simd_select(wanted)).decode()


# ---- Philox ------------------------------------------------------------------------------------

def philox4x32_10(counter, key):
    """One Philox4x32-10 block: 4 counter words, 2 key words -> 4 words (known-answer tests)."""
    cdef uint32_t c[4]
    cdef uint32_t k[2]
    cdef uint32_t o[4]
    cdef int i
    for i in range(4):
        c[i] = counter[i]
    k[0] = key[0]
    k[1] = key[1]
    fi_philox4x32_10(c, k, o)
    return (o[0], o[1], o[2], o[3])


# ---- bulk sampling (out is a flat, contiguous, writable view of the caller's array) -----------

def fill_raw(uint32_t k0, uint32_t k1, uint64_t stream, uint64_t v0, uint32_t[::1] out not None,
             int n_threads):
    cdef fi_stream_id s
    _sid(&s, k0, k1, stream)
    with nogil:
        fi_random_fill(FI_DIST_RAW_U32, &s, v0, out.shape[0], NULL, &out[0] if out.shape[0] else NULL,
                       n_threads)


def fill_normal(uint32_t k0, uint32_t k1, uint64_t stream, uint64_t v0, floating[::1] out not None,
                double loc, double scale, int n_threads):
    cdef fi_stream_id s
    cdef fi_dist_params p
    memset(&p, 0, sizeof(p))
    _sid(&s, k0, k1, stream)
    p.loc = loc
    p.scale = scale
    cdef fi_dist d = FI_DIST_NORMAL_F32 if floating is float else FI_DIST_NORMAL_F64
    cdef int64_t n = out.shape[0]
    if n == 0:
        return
    with nogil:
        fi_random_fill(d, &s, v0, n, &p, &out[0], n_threads)


def fill_uniform(uint32_t k0, uint32_t k1, uint64_t stream, uint64_t v0, floating[::1] out not None,
                 double low, double high, int n_threads):
    cdef fi_stream_id s
    _sid(&s, k0, k1, stream)
    cdef int64_t n = out.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            fi_uniform_fill_f32(&s, v0, n, low, high, &out[0], n_threads)
        else:
            fi_uniform_fill_f64(&s, v0, n, low, high, &out[0], n_threads)


cdef int _truncnorm_params(double a, double b, double loc, double scale, int is_f32,
                           fi_dist_params *p) except -1:
    memset(p, 0, sizeof(fi_dist_params))
    if fi_truncnorm_prepare(a, b, loc, scale, is_f32, p) != FI_OK:
        raise ValueError(
            f"truncated normal on [{a!r}, {b!r}] standard deviations cannot be sampled: the "
            "interval's probability underflows or it is narrower than the dtype's resolution")
    return 0


def truncnorm_params(double a, double b, double loc, double scale, bint is_f32):
    """The precomputed parameters of a truncated normal (raises ValueError if it cannot be
    sampled). Run before the stream moves; tests replay the transform with them."""
    cdef fi_dist_params p
    _truncnorm_params(a, b, loc, scale, is_f32, &p)
    return {"loc": p.loc, "scale": p.scale, "tn_pa": p.tn_pa, "tn_qb": p.tn_qb,
            "tn_mass": p.tn_mass, "tn_za": p.tn_za, "tn_zb": p.tn_zb, "out_lo": p.out_lo,
            "out_hi": p.out_hi}


def fill_truncnorm(uint32_t k0, uint32_t k1, uint64_t stream, uint64_t v0,
                   floating[::1] out not None, double loc, double scale, double a, double b,
                   int n_threads):
    cdef fi_stream_id s
    cdef fi_dist_params p
    _sid(&s, k0, k1, stream)
    cdef bint is_f32 = floating is float
    _truncnorm_params(a, b, loc, scale, is_f32, &p)
    cdef fi_dist d = FI_DIST_TRUNCNORM_F32 if floating is float else FI_DIST_TRUNCNORM_F64
    cdef int64_t n = out.shape[0]
    if n == 0:
        return
    with nogil:
        fi_random_fill(d, &s, v0, n, &p, &out[0], n_threads)


def transform_words(str kind, const uint32_t[::1] words not None, floating[::1] out not None,
                    double loc=0.0, double scale=1.0, double a=-2.0, double b=2.0,
                    double low=0.0, double high=1.0):
    """Apply a transform to given raw words (whole groups of 32): tests of extreme inputs."""
    cdef fi_dist_params p
    cdef bint is_f32 = floating is float
    memset(&p, 0, sizeof(p))
    cdef int64_t n_groups = words.shape[0] // 32
    cdef int64_t per = 32 if is_f32 else 16
    if words.shape[0] % 32 or out.shape[0] != n_groups * per:
        raise ValueError("words must be whole groups of 32 and out hold their values")
    cdef fi_dist d
    if kind == "normal":
        d = FI_DIST_NORMAL_F32 if is_f32 else FI_DIST_NORMAL_F64
        p.loc = loc
        p.scale = scale
    elif kind == "uniform":
        d = FI_DIST_UNIFORM_F32 if is_f32 else FI_DIST_UNIFORM_F64
        p.low = low
        p.range = high - low
        p.below_high = float(np.nextafter(np.float32(high) if is_f32 else high, -np.inf))
    elif kind == "truncated_normal":
        d = FI_DIST_TRUNCNORM_F32 if is_f32 else FI_DIST_TRUNCNORM_F64
        _truncnorm_params(a, b, loc, scale, is_f32, &p)
    else:
        raise ValueError(f"unknown transform {kind!r}")
    if n_groups == 0:
        return
    with nogil:
        fi_random_transform(d, &words[0], n_groups, &p, &out[0])



# ---- NumPy bit generator -------------------------------------------------------------------------

cdef class _BitGenState:
    """Owns the C state behind a NumPy-compatible bit generator (see fastinit.BitGenerator)."""
    cdef fi_bitgen_t bitgen
    cdef fi_bitgen_state state
    cdef public object capsule
    cdef public object lock

    def __cinit__(self, uint32_t k0, uint32_t k1, uint64_t stream, uint64_t pos):
        memset(&self.state, 0, sizeof(self.state))
        self.state.id.key[0] = k0
        self.state.id.key[1] = k1
        self.state.id.stream = stream
        self.state.pos = pos
        fi_bitgen_init(&self.bitgen, &self.state)
        self.capsule = PyCapsule_New(<void *>&self.bitgen, "BitGenerator", NULL)
        self.lock = threading.Lock()

    @property
    def position(self):
        return self.state.pos

    def random_raw(self, size=None):
        """Raw 64-bit outputs (two words each, low word first), like NumPy's random_raw."""
        cdef Py_ssize_t i, n
        cdef uint64_t[::1] out
        if size is None:
            with self.lock:
                return self.bitgen.next_uint64(self.bitgen.state)
        arr = np.empty(size, dtype=np.uint64)
        out = arr.reshape(-1)
        n = out.shape[0]
        with self.lock, nogil:
            for i in range(n):
                out[i] = self.bitgen.next_uint64(self.bitgen.state)
        return arr

    @position.setter
    def position(self, uint64_t pos):
        self.state.pos = pos
        self.state.has_cache = 0
