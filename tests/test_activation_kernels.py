"""Tests of the SIMD activation kernels (csrc/fi_activation*.c through fastinit._activation).

Accuracy is measured in units in the last place of the kernel's dtype against references
computed in x87 extended precision (np.longdouble, 64-bit significand) from the same formulas as
the float64 registry in fastinit.activations, except where a formula needs erf/erfc, which NumPy
lacks in extended precision: erf(x) itself comes from scipy.special.erf (about 1 float64 ulp) and
the normal CDF in the tails from scipy.special.erfcx(a) * exp(-a^2) with a^2 in extended precision
(erfcx is insensitive to the rounding of a). The float64 registry itself is not accurate enough to
judge float64 kernels in the tails (scipy's expit and ndtr underflow to 0 long before the true
value does), which is why it is not the reference here.

Where a derivative crosses zero (swish, gelu, gelu_tanh) the error is measured against the size of
its terms, the usual condition-number allowance.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import special

import fastinit
from fastinit import _activation as K
from fastinit.activations import ACTIVATIONS, SELU_ALPHA, SELU_SCALE, get_activation

L = np.longdouble
DTYPES = (np.float32, np.float64)
FWD, BWD, FWD_DERIV = 0, 1, 2

VARIANTS = [(name, {}) for name in ACTIVATIONS] + [
    ("leaky_relu", {"negative_slope": -0.5}),
    ("elu", {"alpha": 2.5}),
]
VARIANT_IDS = [n + "".join(f"-{k}={v}" for k, v in kw.items()) for n, kw in VARIANTS]

# Largest error allowed, in ulps of the kernel's dtype, against the references below (about one
# ulp of headroom over the measured maxima). The float64 gelu/erf references lean on SciPy's
# erf/erfcx, which are themselves off by up to about 5 float64 ulps (checked against mpmath
# while developing: the kernels' own error there is <= 3 ulps), hence the wider float64 bounds.
TOL = {np.float32: {"f": 4, "d": 5}, np.float64: {"f": 4, "d": 5}}
# float32 gelu: e^(-x^2/2), the erfcx fit and three roundings combine to 4.2 ulps in the tail.
TOL_REF = {("gelu", np.float64): {"f": 10, "d": 10}, ("erf", np.float64): {"f": 8, "d": 5},
           ("gelu", np.float32): {"f": 5, "d": 5}}


# ---- reference in extended precision --------------------------------------------------------

def _sig_l(x):
    """sigma(x), sigma(-x) in long double, x finite long double."""
    e = np.exp(-np.abs(x))
    r = 1 / (1 + e)
    pos = x >= 0
    return np.where(pos, r, e * r), np.where(pos, e * r, r)


def _ndtr_l(x):
    """Phi(x) and phi(x) in long double (x finite)."""
    xd = x.astype(np.float64)
    a = np.abs(xd) / np.sqrt(2.0)
    gauss = np.exp(-(x * x) / 2)
    q = L(0.5) * special.erfcx(a).astype(L) * gauss
    cdf = np.where(xd < -1, q, np.where(xd > 1, 1 - q, special.ndtr(xd).astype(L)))
    return cdf, gauss / np.sqrt(2 * np.pi, dtype=L)


def reference(name, p, x):
    """(f, df, dscale) at finite float64 x, in long double. dscale bounds the terms of f'."""
    x = x.astype(L)
    one = np.ones_like(x)
    if name == "linear":
        return x, one, one
    if name == "sigmoid":
        s, sm = _sig_l(x)
        return s, s * sm, s * sm
    if name == "tanh":
        e = np.exp(-2 * np.abs(x))
        d = 4 * e / (1 + e) ** 2
        return np.tanh(x), d, d
    if name == "erf":
        d = 2 / np.sqrt(np.pi, dtype=L) * np.exp(-x * x)
        return special.erf(x.astype(np.float64)).astype(L), d, d
    if name == "relu":
        return np.maximum(x, 0), (x > 0).astype(L), one
    if name == "leaky_relu":
        a = L(p["negative_slope"])
        d = np.where(x > 0, 1, a)
        return np.where(x > 0, x, a * x), d, d
    if name in ("elu", "selu"):
        a = L(p["alpha"])
        s = L(p.get("scale", 1.0))
        xm = np.minimum(x, 0)
        d = s * np.where(x > 0, 1, a * np.exp(xm))
        return s * np.where(x > 0, x, a * np.expm1(xm)), d, d
    if name == "softplus":
        s, _ = _sig_l(x)
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))), s, s
    if name == "swish":
        s, sm = _sig_l(x)
        return x * s, s * (1 + x * sm), s * (1 + np.abs(x) * sm)
    if name == "gelu":
        cdf, pdf = _ndtr_l(x)
        return x * cdf, cdf + x * pdf, cdf + np.abs(x) * pdf
    if name == "gelu_tanh":
        c, k = L(np.sqrt(2 / np.pi)), L(0.044715)
        u = c * (x + k * x * x * x)
        s, sm = _sig_l(2 * u)
        du = c * (1 + 3 * k * x * x)
        t = 2 * x * (s * sm) * du
        return x * s, s + t, s + np.abs(t)
    raise AssertionError(name)


def limits(name, p, sign, dt):
    """(f, df) at x = sign * inf."""
    pos = sign > 0
    if name == "linear":
        return sign * np.inf, 1.0
    if name in ("sigmoid",):
        return (1.0 if pos else 0.0), 0.0
    if name in ("tanh", "erf"):
        return float(sign), 0.0
    if name == "relu":
        return (np.inf if pos else 0.0), (1.0 if pos else 0.0)
    if name == "leaky_relu":
        a = p["negative_slope"]
        return (np.inf if pos else -a * np.inf), (1.0 if pos else a)
    if name == "elu":
        return (np.inf if pos else -p["alpha"]), (1.0 if pos else 0.0)
    if name == "selu":
        return (np.inf if pos else -SELU_SCALE * SELU_ALPHA), (SELU_SCALE if pos else 0.0)
    return (np.inf if pos else 0.0), (1.0 if pos else 0.0)


def ulps(got, ref, dt, scale=None):
    """|got - ref| in ulps of dt at ref (at least the smallest subnormal; at least eps * scale)."""
    fi = np.finfo(dt)
    unit = np.maximum(np.spacing(np.abs(ref.astype(dt))).astype(L), L(fi.smallest_subnormal))
    if scale is not None:
        unit = np.maximum(unit, L(fi.eps) * scale)
    return np.abs(got.astype(L) - ref) / unit


def grid(dt):
    """Dense and tail points, +-subnormals up to the largest finite value (finite values only)."""
    fi = np.finfo(dt)
    wide = 130.0 if dt == np.float32 else 800.0
    # four significands at every binade, from the smallest subnormal to just below the largest
    emin, emax = (-148, 128) if dt == np.float32 else (-1073, 1024)
    sig = np.array([0.5, 0.6180339887498949, 0.75, 0.9990234375])
    mags = np.ldexp(sig[:, None], np.arange(emin, emax + 1)[None, :]).ravel()
    parts = [
        np.linspace(-12, 12, 120001),
        np.linspace(-wide, wide, 40001),
        mags, -mags,
        [0.0, -0.0, float(fi.max), -float(fi.max), float(fi.tiny), -float(fi.tiny)],
        np.nextafter(np.array([1.0, 1.4142135623730951, 5.0, 28.0, 40.0], dt), dt(np.inf)),
    ]
    return np.concatenate([np.asarray(v, dtype=np.float64).astype(dt) for v in parts])


def run(act, mode, z, g=None, out=None, dphi=None):
    out = np.empty_like(z) if out is None else out
    if mode == FWD:
        K.forward(act.code, act.p0, z, out)
        return out
    if mode == BWD:
        K.backward(act.code, act.p0, z, g, out)
        return out
    dphi = np.empty_like(z) if dphi is None else dphi
    K.forward_deriv(act.code, act.p0, z, out, dphi)
    return out, dphi


def all_outputs(act, z):
    """forward, backward with g = 1.5, forward_deriv as one array (for bitwise comparisons)."""
    g = np.full_like(z, 1.5)
    h, d = run(act, FWD_DERIV, z)
    return np.concatenate([run(act, FWD, z), run(act, BWD, z, g), h, d])


# ---- accuracy -----------------------------------------------------------------------------

@pytest.mark.parametrize("dt", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name,kw", VARIANTS, ids=VARIANT_IDS)
def test_accuracy_in_ulps(name, kw, dt):
    act = get_activation(name, **kw)
    p = dict(act.params)
    if name == "selu":
        p = {"alpha": SELU_ALPHA, "scale": SELU_SCALE}
    z = grid(dt)
    h, d = run(act, FWD_DERIV, z)
    with np.errstate(all="ignore"):
        rf, rd, rs = reference(name, p, z.astype(np.float64))
        ef = ulps(h, rf, dt)
        ed = ulps(d, rd, dt, rs)
    # values that overflow dt are compared as infinities
    big = np.abs(rf) > L(np.finfo(dt).max)
    assert np.all(np.isinf(h[big]) & (np.sign(h[big]) == np.sign(rf[big])))
    ef[big] = 0
    i, j = np.argmax(ef), np.argmax(ed)
    tol = TOL_REF.get((name, dt), TOL[dt])
    assert ef[i] <= tol["f"], f"f: {ef[i]:.2f} ulp at x={z[i]!r}: {h[i]!r} vs {rf[i]!r}"
    assert ed[j] <= tol["d"], f"f': {ed[j]:.2f} ulp at x={z[j]!r}: {d[j]!r} vs {rd[j]!r}"


@pytest.mark.parametrize("dt", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name,kw", VARIANTS, ids=VARIANT_IDS)
def test_infinities_nan_and_signed_zero(name, kw, dt):
    act = get_activation(name, **kw)
    z = np.array([np.inf, -np.inf, np.nan, -np.nan, 0.0, -0.0], dtype=dt)
    h, d = run(act, FWD_DERIV, z)
    for k, sign in ((0, 1), (1, -1)):
        ef, ed = limits(name, act.params, sign, dt)
        rel = 4 * float(np.finfo(dt).eps)
        assert float(h[k]) == pytest.approx(ef, rel=rel), (sign, h[k], ef)
        assert float(d[k]) == pytest.approx(ed, rel=rel), (sign, d[k], ed)
    assert np.all(np.isnan(h[2:4])) and np.all(np.isnan(d[2:4]))
    assert np.all(np.isnan(run(act, BWD, z, np.ones_like(z))[2:4]))
    # phi(+-0): the sign of zero follows the float64 registry
    ref = act.f(np.array([0.0, -0.0]))
    assert np.array_equal(np.signbit(h[4:]), np.signbit(ref)), (h[4:], ref)
    assert np.array_equal(h[4:], ref.astype(dt)) and np.all(np.isfinite(d[4:]))


@pytest.mark.parametrize("name,kw", VARIANTS, ids=VARIANT_IDS)
def test_derivative_matches_finite_differences(name, kw):
    act = get_activation(name, **kw)
    x = np.linspace(-6, 6, 2001)
    x = x[np.abs(x) > 1e-3]  # away from the kinks at 0
    step = 1e-6
    fp, fm = run(act, FWD, x + step), run(act, FWD, x - step)
    _, d = run(act, FWD_DERIV, x)
    np.testing.assert_allclose(d, (fp - fm) / (2 * step), rtol=1e-6, atol=1e-8)


# ---- same bits on every path, every length, every aliasing ---------------------------------

def _simd_paths():
    before = fastinit._core.simd_path()
    has_avx2 = fastinit.set_simd_path("avx2") == "avx2"
    fastinit.set_simd_path(before)
    return ["baseline", "avx2"] if has_avx2 else ["baseline"]


@pytest.mark.parametrize("dt", DTYPES, ids=["f32", "f64"])
def test_baseline_and_avx2_give_the_same_bits(dt):
    # restore the path the session started with (FASTINIT_SIMD=baseline runs stay on baseline:
    # later tests compare subprocesses, which read the variable, with this process)
    before = fastinit._core.simd_path()
    paths = _simd_paths()
    assert paths == ["baseline", "avx2"], "this machine is expected to have AVX2 and FMA"
    z = grid(dt)
    try:
        for name, kw in VARIANTS:
            act = get_activation(name, **kw)
            outs = []
            for path in paths:
                assert fastinit.set_simd_path(path) == path
                outs.append(all_outputs(act, z))
            assert outs[0].tobytes() == outs[1].tobytes(), name
    finally:
        fastinit.set_simd_path(before)


def test_environment_variable_selects_the_path():
    code = (
        "import hashlib, sys\n"
        "import numpy as np\n"
        "from fastinit import _activation as K, _core\n"
        "z = np.linspace(-9, 9, 1001)\n"
        "out = []\n"
        "for c in range(K.COUNT):\n"
        "    h = np.empty_like(z); K.forward(c, 0.1, z, h); out.append(h)\n"
        "digest = hashlib.sha256(np.concatenate(out).tobytes()).hexdigest()\n"
        "sys.stdout.write(_core.simd_path() + ' ' + digest)\n"
    )
    res = {}
    for path in ("baseline", "avx2"):
        env = dict(os.environ, FASTINIT_SIMD=path)
        r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           timeout=60, cwd="/")
        assert r.returncode == 0, r.stderr
        res[path] = r.stdout.split()
    assert res["baseline"][0] == "baseline" and res["avx2"][0] == "avx2"
    assert res["baseline"][1] == res["avx2"][1]


@pytest.mark.parametrize("dt", DTYPES, ids=["f32", "f64"])
def test_every_length_matches_one_long_call_and_writes_nothing_beyond(dt):
    rng = np.random.default_rng(5)
    z = (rng.standard_normal(67) * 4).astype(dt)
    g = rng.standard_normal(67).astype(dt)
    for name, kw in VARIANTS:
        act = get_activation(name, **kw)
        full_h, full_d = run(act, FWD_DERIV, z)
        full_b = run(act, BWD, z, g)
        for n in range(1, 68):
            for mode in (FWD, BWD, FWD_DERIV):
                buf = np.full(n + 9, 7.0, dtype=dt)
                buf2 = np.full(n + 9, 7.0, dtype=dt)
                if mode == FWD:
                    run(act, FWD, z[:n], out=buf[:n])
                    assert np.array_equal(buf[:n], full_h[:n], equal_nan=True)
                elif mode == BWD:
                    run(act, BWD, z[:n], g[:n], out=buf[:n])
                    assert np.array_equal(buf[:n], full_b[:n], equal_nan=True)
                else:
                    run(act, FWD_DERIV, z[:n], out=buf[:n], dphi=buf2[:n])
                    assert np.array_equal(buf[:n], full_h[:n], equal_nan=True)
                    assert np.array_equal(buf2[:n], full_d[:n], equal_nan=True)
                assert np.all(buf[n:] == 7.0) and np.all(buf2[n:] == 7.0), (name, n, mode)


@pytest.mark.parametrize("dt", DTYPES, ids=["f32", "f64"])
def test_in_place_and_backward_is_g_times_derivative(dt):
    rng = np.random.default_rng(6)
    z0 = (rng.standard_normal(1003) * 5).astype(dt)
    g0 = rng.standard_normal(1003).astype(dt)
    for name, kw in VARIANTS:
        act = get_activation(name, **kw)
        h, d = run(act, FWD_DERIV, z0)
        z = z0.copy()
        K.forward(act.code, act.p0, z, z)
        assert np.array_equal(z, h)
        g = g0.copy()
        K.backward(act.code, act.p0, z0, g, g)
        assert np.array_equal(g, g0 * d)
        z = z0.copy()
        dphi = np.empty_like(z)
        K.forward_deriv(act.code, act.p0, z, z, dphi)
        assert np.array_equal(z, h) and np.array_equal(dphi, d)


def test_multithreaded_apply_gives_the_same_bits():
    rng = np.random.default_rng(7)
    z = (rng.standard_normal(50001) * 3).astype(np.float32)
    g = rng.standard_normal(50001).astype(np.float32)
    for name in ("tanh", "gelu"):
        act = get_activation(name)
        h1, d1 = run(act, FWD_DERIV, z)
        b1 = run(act, BWD, z, g)
        for threads in (1, 2, 3):
            a, b = np.empty_like(z), np.empty_like(z)
            K.apply_mt(FWD_DERIV, act.code, act.p0, z, None, a, b, threads)
            assert np.array_equal(a, h1) and np.array_equal(b, d1)
            K.apply_mt(BWD, act.code, act.p0, z, g, a, None, threads)
            assert np.array_equal(a, b1)


@pytest.mark.parametrize("dt", DTYPES, ids=["f32", "f64"])
def test_flush_to_zero_left_by_another_library_is_neither_used_nor_lost(dt):
    from fastinit import _core

    z = grid(dt)
    for name in ("sigmoid", "tanh", "gelu", "swish"):
        act = get_activation(name)
        clean = all_outputs(act, z)
        assert np.any((clean != 0) & (np.abs(clean) < np.finfo(dt).tiny))  # subnormals occur
        prev = _core._set_ftz(True)
        try:
            flushed = all_outputs(act, z)
            assert _core._set_ftz(True), "the caller's flush-to-zero mode was lost"
        finally:
            _core._set_ftz(prev)
        assert flushed.tobytes() == clean.tobytes(), name
