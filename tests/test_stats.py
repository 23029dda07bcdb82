"""The float32 block statistics of the deep-stack engine (csrc/fi_stats.c), called directly.

The AVX2 body (and its piecewise form, fi_moments_acc_*, which the engine's forward pass feeds 16
rows at a time) must give the generic body's bits on any data: NaN and infinities in some rows
only, zeros of both signs where they decide the sign of the min or max, dead columns, symmetric
and asymmetric saturation bounds, column counts that are not multiples of 8, more than 256
columns. Both bodies are also checked against a NumPy reference. The kernels are reached through
ctypes in libfastinit_core (the library the extension modules share, so fastinit.set_simd_path
switches them too).
"""
import ctypes
import os

import numpy as np
import pytest

import fastinit

_LIB_PATH = os.path.join(os.path.dirname(fastinit.__file__), "libfastinit_core.so")


class _Moments(ctypes.Structure):
    _fields_ = [(f, ctypes.c_double) for f in ("n", "mean", "m2c", "sumsq", "sumabs", "min",
                                               "max")] + \
               [(f, ctypes.c_int64) for f in ("n_zero", "n_nan", "n_inf", "n_sat", "n_dead")]


class _Cfg(ctypes.Structure):
    _fields_ = [("has_sat", ctypes.c_int), ("sat_lo", ctypes.c_double),
                ("sat_hi", ctypes.c_double), ("edges", ctypes.c_void_p),
                ("n_bins", ctypes.c_int64), ("pairs", ctypes.c_void_p),
                ("n_pairs", ctypes.c_int64)]


@pytest.fixture(scope="module")
def lib():
    if not os.path.exists(_LIB_PATH):
        pytest.fail(f"{_LIB_PATH} is missing: the package must ship its shared core")
    lib = ctypes.CDLL(_LIB_PATH)
    p, i64 = ctypes.c_void_p, ctypes.c_int64
    lib.fi_moments_block_f32.argtypes = [p, i64, i64, i64, p, p, p, p]
    lib.fi_moments_block_f32.restype = None
    lib.fi_moments_acc_begin.argtypes = [p, i64, p]
    lib.fi_moments_acc_begin.restype = ctypes.c_int
    lib.fi_moments_acc_rows.argtypes = [p, p, i64, i64]
    lib.fi_moments_acc_rows.restype = None
    lib.fi_moments_acc_end.argtypes = [p, p, i64, p]
    lib.fi_moments_acc_end.restype = None
    return lib


@pytest.fixture
def paths():
    """The SIMD paths to compare (set back afterwards)."""
    before = fastinit._core.simd_path()
    yield ["baseline", "avx2"] if fastinit._core.cpu_has_avx2() else ["baseline"]
    fastinit.set_simd_path(before)


def _cfg(sat):
    if sat is None:
        return _Cfg(0, 0.0, 0.0, None, 0, None, 0)
    return _Cfg(1, sat[0], sat[1], None, 0, None, 0)


def _block(lib, x, rows, cols, cfg):
    m = _Moments()
    lib.fi_moments_block_f32(x.ctypes.data, rows, cols, x.shape[1], ctypes.byref(cfg),
                             ctypes.byref(m), None, None)
    return m


def _acc(lib, x, rows, cols, cfg, pieces):
    """The piecewise AVX2 form, rows given in pieces of the sizes in `pieces` (cycled)."""
    buf = ctypes.create_string_buffer(16384)
    if not lib.fi_moments_acc_begin(buf, cols, ctypes.byref(cfg)):
        return None
    ld, r, k = x.shape[1], 0, 0
    while r < rows:
        rb = min(pieces[k % len(pieces)], rows - r)
        lib.fi_moments_acc_rows(buf, x[r:].ctypes.data, rb, ld)
        r += rb
        k += 1
    m = _Moments()
    lib.fi_moments_acc_end(buf, x.ctypes.data, ld, ctypes.byref(m))
    return m


def _fields(m):
    return [getattr(m, f) for f, _ in _Moments._fields_]


def _same_bits(a, b):
    """Equal bit for bit, except that a NaN sum may carry either sign (fi_stats.c)."""
    for f, t in _Moments._fields_:
        u, v = getattr(a, f), getattr(b, f)
        if t is ctypes.c_double and np.isnan(u) and np.isnan(v):
            continue
        if t is ctypes.c_double:
            if np.float64(u).view(np.uint64) != np.float64(v).view(np.uint64):
                return False
        elif u != v:
            return False
    return True


def _reference(x, sat):
    """NumPy reference of the block moments (float64 arithmetic)."""
    v = x.astype(np.float64)
    fin = v[~np.isnan(v)]
    n = v.size
    mean = v.sum() / n
    ref = dict(n=float(n), mean=mean, m2c=((v - mean) ** 2).sum(), sumsq=(v * v).sum(),
               sumabs=np.abs(v).sum(), min=fin.min() if fin.size else np.inf,
               max=fin.max() if fin.size else -np.inf, n_zero=int((v == 0).sum()),
               n_nan=int(np.isnan(v).sum()), n_inf=int(np.isinf(v).sum()),
               n_sat=int(((v <= sat[0]) | (v >= sat[1])).sum()) if sat else 0,
               n_dead=int((v == 0).all(axis=0).sum()))
    return ref


def _check_reference(m, x, sat):
    ref = _reference(x, sat)
    for f in ("n_zero", "n_nan", "n_inf", "n_sat", "n_dead", "n", "min", "max"):
        assert getattr(m, f) == ref[f], f
    for f in ("mean", "m2c", "sumsq", "sumabs"):
        np.testing.assert_allclose(getattr(m, f), ref[f], rtol=1e-12, atol=1e-300, err_msg=f)


def _data(kind, rows, ld, rng):
    x = rng.standard_normal((rows, ld)).astype(np.float32) * np.float32(1.5)
    if kind == "relu":  # half zeros; a few dead columns
        x = np.maximum(x, np.float32(0))
        x[:, 3::37] = 0
    elif kind == "tanh":
        x = np.tanh(x)
        x[rows // 3] = np.float32(0.99)  # exactly at the (float-rounded) bound
    elif kind == "nonfinite":  # only some late rows, so the earlier pieces are finite
        x[rows - 2, ::3] = np.nan
        x[min(rows // 2 + 1, rows - 1), 1::5] = np.inf
        x[rows - 1, 2::7] = -np.inf
    elif kind == "early_nan":
        x[0, 0] = np.nan
        x[rows - 1, -1] = np.inf
    elif kind == "dead_late":  # columns dead until the last row, one dead throughout
        x[:, 1 % ld] = 0
        x[:-1, 2 % ld] = 0
        x[:-1, -1] = 0
    elif kind == "allzero":
        x[:] = 0
        x[::2, ::3] = -0.0
    elif kind == "tiny":  # subnormal floats, huge floats
        x[::2] *= np.float32(1e-40)
        x[1::3] *= np.float32(1e37)
    return x


SHAPES = [(1000, 128, 500), (7, 5, 9), (33, 131, 131), (64, 256, 300), (17, 8, 8), (3, 1, 1),
          (40, 300, 301), (2, 13, 20), (25, 24, 24)]
KINDS = ["normal", "relu", "tanh", "nonfinite", "early_nan", "dead_late", "allzero", "tiny"]
SATS = [None, (-0.99, 0.99), (0.01, 0.99), (-0.5, 0.3)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", KINDS)
def test_block_paths_bitwise_and_reference(lib, paths, shape, kind):
    rows, cols, ld = shape
    rng = np.random.default_rng(100 * SHAPES.index(shape) + KINDS.index(kind))
    x = _data(kind, rows, ld, rng)
    for sat in SATS:
        cfg = _cfg(sat)
        got = {}
        for p in paths:
            assert fastinit.set_simd_path(p) == p
            got[p] = _block(lib, x, rows, cols, cfg)
            _check_reference(got[p], x[:, :cols], sat)
            if p == "avx2":
                for pieces in ([16], [1], [5, 3, 11], [rows]):
                    acc = _acc(lib, x, rows, cols, cfg, pieces)
                    if cols > 256:
                        assert acc is None
                    else:
                        assert acc is not None and _same_bits(acc, got[p]), (pieces, sat)
        if len(paths) == 2:
            assert _same_bits(got["avx2"], got["baseline"]), (sat, _fields(got["avx2"]),
                                                             _fields(got["baseline"]))


@pytest.mark.parametrize("first", ["-0", "+0"])
@pytest.mark.parametrize("lane", [0, 3])
@pytest.mark.parametrize("upper_first", [False, True])
def test_signed_zero_extremes_follow_the_generic_order(lib, paths, first, lane, upper_first):
    """min = 0 (or max = 0) met as -0 and +0 in columns lane and lane + 4 (mod 8): the generic
    body keeps the one it meets first (row by row, column lane before lane + 4 in a group)."""
    rows, cols = 6, 24
    a = np.float32(-0.0) if first == "-0" else np.float32(0.0)
    b = np.float32(0.0) if first == "-0" else np.float32(-0.0)
    lo, hi = (lane + 4, lane) if upper_first else (lane, lane + 4)
    pos = np.abs(np.random.default_rng(1).standard_normal((rows, cols)).astype(np.float32)) + 1
    pos[2, 8 + lo] = a   # met first
    pos[2, 16 + hi] = b  # the same row, a later group
    pos[4, hi] = a       # later rows: both signs in both columns
    pos[5, lo] = b
    cfg = _cfg(None)
    for p in paths:
        fastinit.set_simd_path(p)
        m = _block(lib, pos, rows, cols, cfg)
        assert m.min == 0 and np.signbit(m.min) == (first == "-0"), p
        mx = _block(lib, -pos, rows, cols, cfg)  # max = 0, the signs flipped
        assert mx.max == 0 and np.signbit(mx.max) == (first == "+0"), p
        if p == "avx2":
            acc = _acc(lib, pos, rows, cols, cfg, [1, 2])
            assert _same_bits(acc, m)


def test_acc_begin_declines_what_it_cannot_do(lib, paths):
    cfg = _cfg(None)
    buf = ctypes.create_string_buffer(16384)
    fastinit.set_simd_path("baseline")
    assert lib.fi_moments_acc_begin(buf, 128, ctypes.byref(cfg)) == 0
    if "avx2" in paths:
        fastinit.set_simd_path("avx2")
        assert lib.fi_moments_acc_begin(buf, 256, ctypes.byref(cfg)) == 1
        assert lib.fi_moments_acc_begin(buf, 257, ctypes.byref(cfg)) == 0
        assert lib.fi_moments_acc_begin(buf, 0, ctypes.byref(cfg)) == 0
        edges = np.linspace(-1, 1, 5)
        hcfg = _Cfg(0, 0.0, 0.0, edges.ctypes.data, 4, None, 0)
        assert lib.fi_moments_acc_begin(buf, 128, ctypes.byref(hcfg)) == 0
