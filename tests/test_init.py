"""fastinit.init against the reference formulas in ref_init.py.

Every scheme x distribution x mode x layout: the resolved law equals the reference formula, the
values are exactly the Generator's draw with those parameters, and a KS test (fixed seed, p-value
threshold 1e-6) accepts the exact law. Shapes are non-square so a swapped fan cannot hide.
"""

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy import stats

import fastinit
import fastinit.init as fi
from fastinit import theory

import ref_init as ref

P_MIN = 1e-6


def _ks(values, lw):
    p = stats.kstest(np.asarray(values, np.float64).ravel(), ref.frozen(lw).cdf).pvalue
    assert p > P_MIN, (lw, p)


def _check_spec(spec, lw):
    """An InitSpec against a law() tuple of the reference."""
    kind = lw[0]
    if kind == "normal":
        assert spec.distribution == "normal"
        assert spec.loc == pytest.approx(lw[1], abs=1e-15)
        assert spec.scale == pytest.approx(lw[2], rel=1e-13)
    elif kind == "uniform":
        if lw[1] == -lw[2]:
            assert spec.distribution == "uniform"
            assert spec.bound == pytest.approx(lw[2], rel=1e-13)
        else:
            assert spec.distribution == "uniform_interval"
            assert (spec.low, spec.high) == (lw[1], lw[2])
    elif kind == "truncnorm":
        assert spec.distribution == "truncated_normal"
        assert spec.loc == pytest.approx(lw[1], abs=1e-15)
        assert spec.scale == pytest.approx(lw[2], rel=1e-12)
        assert (spec.a, spec.b) == (lw[3], lw[4])
    else:
        assert spec.distribution == "constant" and spec.value == lw[1]
    assert spec.std == pytest.approx(ref.std_of(lw), rel=1e-10, abs=1e-300)


def _definition(spec, shape, seed, dtype=np.float32):
    """The scheme's values by definition: one draw of the Generator with the spec's law."""
    g = fastinit.default_rng(seed)
    if spec.distribution == "normal":
        return g.normal(spec.loc, spec.scale, shape, dtype=dtype)
    if spec.distribution == "uniform":
        return g.uniform(-spec.bound, spec.bound, shape, dtype=dtype)
    if spec.distribution == "uniform_interval":
        return g.uniform(spec.low, spec.high, shape, dtype=dtype)
    if spec.distribution == "truncated_normal":
        return g.truncated_normal(spec.loc, spec.scale, spec.a, spec.b, shape, dtype=dtype)
    return np.full(shape, spec.value, dtype)


# ---- gains ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("nl", ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                                "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu",
                                "selu", "leaky_relu"])
def test_calculate_gain_table(nl):
    assert fi.calculate_gain(nl) == pytest.approx(ref.gain(nl), rel=1e-15)


def test_calculate_gain_leaky_slope_and_errors():
    assert fi.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert fi.calculate_gain("leaky_relu", 0) == pytest.approx(math.sqrt(2))
    with pytest.raises(ValueError, match="'tanhh'.*'tanh'"):
        fi.calculate_gain("tanhh")
    with pytest.raises(ValueError, match="not a valid number"):
        fi.calculate_gain("leaky_relu", "0.1")
    with pytest.raises(ValueError, match="not a valid number"):
        fi.calculate_gain("leaky_relu", True)


def test_variance_preserving_gain_is_theorys():
    assert fi.variance_preserving_gain is theory.variance_preserving_gain
    assert fi.variance_preserving_gain("relu") == pytest.approx(math.sqrt(2), rel=1e-9)


# ---- fans -----------------------------------------------------------------------------------------

FAN_CASES = [
    ((784, 256), "keras", 1),
    ((256, 784), "torch", 1),
    ((3, 5, 7, 11), "keras", 1),
    ((11, 7, 3, 5), "torch", 1),
    ((12, 4, 3), "torch", 3),          # grouped conv1d: out 12, in 12, groups 3
    ((3, 3, 4, 12), "keras", 3),
    ((6, 5, 2, 3, 4), "torch", 1),     # conv3d
    ((12, 5, 3, 3), "torch_transposed", 4),
    ((3, 3, 5, 12), "keras_transposed", 4),
    ((3, 3, 8, 2), "keras_depthwise", 1),
    ((16, 1, 3, 3), "torch", 16),      # depthwise in torch layout
]


@pytest.mark.parametrize("shape,layout,groups", FAN_CASES)
def test_compute_fans_reference(shape, layout, groups):
    assert fi.compute_fans(shape, layout, groups) == ref.fans(shape, layout, groups)
    got = fi.compute_fans(shape, layout, groups, explain=True)
    assert got[:2] == ref.fans(shape, layout, groups)
    assert str(got[0]) in got[2] and str(got[1]) in got[2] and layout in got[2]


@pytest.mark.parametrize("shape,layout,groups", FAN_CASES)
def test_compute_fans_torch_compat(shape, layout, groups):
    got = fi.compute_fans(shape, layout, groups, torch_compat=True)
    want = ref.torch_fans(shape) if layout.startswith("torch") else ref.keras_fans(shape)
    assert got == want


def test_fans_grouped_differ_from_torch_and_explicit_axes():
    # torch counts fan_out = out * rf for a grouped conv (pytorch #23854)
    assert fi.compute_fans((64, 8, 3, 3), "torch", 4) == (72, 144)
    assert ref.torch_fans((64, 8, 3, 3)) == (72, 576)
    # JAX-style axes: OIHW given explicitly equals the torch layout
    assert fi.compute_fans((11, 7, 3, 5), in_axis=1, out_axis=0) == ref.fans((11, 7, 3, 5), "torch")
    assert fi.compute_fans((3, 5, 7, 11), in_axis=-2, out_axis=-1) == (105, 165)
    assert fi.compute_fans((784, 256), layout="jax") == (784, 256)


@pytest.mark.parametrize("args,exc,match", [
    (((5,),), ValueError, "fewer than 2 dimensions"),
    (((),), ValueError, "fewer than 2 dimensions"),
    (((5, 4), "pytorch"), ValueError, "unknown layout 'pytorch'.*'torch'"),
    (((12, 4, 3), "torch", 5), ValueError, "groups=5 does not divide the 12 output channels"),
    (((5, 12, 3), "torch_transposed", 2), ValueError, "does not divide the 5 input channels"),
    (((12, 4, 3), "torch", 0), ValueError, "groups must be a positive integer"),
    (((5, -4),), ValueError, "negative dimensions"),
])
def test_compute_fans_bad_input(args, exc, match):
    with pytest.raises(exc, match=match):
        fi.compute_fans(*args)


def test_compute_fans_bad_axes():
    with pytest.raises(ValueError, match="out of bounds"):
        fi.compute_fans((3, 4), in_axis=2)
    with pytest.raises(ValueError, match="different axes"):
        fi.compute_fans((3, 4), in_axis=0, out_axis=0)
    with pytest.raises(ValueError, match="either layout"):
        fi.compute_fans((3, 4), "torch", in_axis=0)


# ---- the law of every scheme -----------------------------------------------------------------------

# (scheme, parameters); every one is run on a dense and a conv shape in every layout below
LAW_CASES = [
    ("zeros", {}), ("ones", {}), ("constant", {"value": 0.25}),
    ("normal", {}), ("normal", {"mean": 0.5, "std": 2.0}),
    ("uniform", {}), ("uniform", {"low": 0.0, "high": 3.0}),
    ("truncated_normal", {}), ("truncated_normal", {"mean": 1.0, "std": 0.5, "a": -1.0, "b": 3.0}),
    ("truncated_normal", {"std": 0.05, "unit_variance": True}),
    ("lecun_normal", {}), ("lecun_normal", {"gain": 1.5, "distribution": "truncated_normal"}),
    ("lecun_normal", {"preset": "keras"}), ("lecun_uniform", {}), ("lecun_uniform", {"gain": 0.5}),
    ("xavier_normal", {}), ("xavier_normal", {"gain": 5 / 3}),
    ("xavier_normal", {"preset": "keras"}), ("xavier_uniform", {}),
    ("xavier_uniform", {"gain": 2.0}), ("glorot_normal", {}), ("glorot_uniform", {}),
]
for _mode in ("fan_in", "fan_out", "fan_avg"):
    LAW_CASES += [
        ("he_normal", {"mode": _mode}),
        ("he_normal", {"mode": _mode, "nonlinearity": "tanh", "distribution": "truncated_normal"}),
        ("he_uniform", {"mode": _mode, "a": 0.2}),
        ("kaiming_normal", {"mode": _mode, "nonlinearity": "relu"}),
        ("kaiming_uniform", {"mode": _mode, "nonlinearity": "selu"}),
    ]
    for _dist in ("normal", "truncated_normal", "uniform"):
        LAW_CASES.append(("variance_scaling", {"scale": 2.0, "mode": _mode, "distribution": _dist}))
LAW_CASES.append(("he_normal", {"preset": "keras"}))

GEOMETRIES = [((37, 90), {}), ((90, 37), {"layout": "torch"}),
              ((3, 5, 12, 20), {"layout": "keras", "groups": 4}),
              ((20, 3, 5, 3), {"layout": "torch", "groups": 4}),
              ((12, 5, 3, 3), {"layout": "torch_transposed", "groups": 3}),
              ((3, 3, 8, 2), {"layout": "keras_depthwise"}),
              ((5, 12, 3), {"in_axis": 0, "out_axis": 1})]


def _geo_fans(shape, geo):
    if "in_axis" in geo:
        return ref.fans(shape, groups=geo.get("groups", 1), in_axis=geo["in_axis"],
                        out_axis=geo["out_axis"])
    return ref.fans(shape, geo.get("layout", "keras"), geo.get("groups", 1))


@pytest.mark.parametrize("scheme,kw", LAW_CASES, ids=lambda v: str(v))
@pytest.mark.parametrize("shape,geo", GEOMETRIES, ids=lambda v: str(v))
def test_scheme_law_and_values(scheme, kw, shape, geo):
    fan_in, fan_out = _geo_fans(shape, geo)
    lw = ref.law(scheme, fan_in, fan_out, **kw)
    spec = fi.resolve(scheme, fan_in, fan_out, **kw)
    _check_spec(spec, lw)
    w = getattr(fi, scheme)(shape, **kw, rng=11, **geo)
    assert w.dtype == np.float32 and w.shape == shape and w.flags.c_contiguous
    np.testing.assert_array_equal(w, _definition(spec, shape, 11))
    w64 = getattr(fi, scheme)(shape, **kw, rng=11, dtype=np.float64, **geo)
    np.testing.assert_array_equal(w64, _definition(spec, shape, 11, np.float64))


@pytest.mark.parametrize("scheme,kw", [c for c in LAW_CASES if ref.law(c[0], 3, 5, **c[1])[0]
                                       != "constant"], ids=lambda v: str(v))
def test_scheme_ks(scheme, kw):
    shape = (150, 110)  # fans 150 / 110
    w = getattr(fi, scheme)(shape, **kw, rng=2024)
    lw = ref.law(scheme, 150, 110, **kw)
    _ks(w, lw)
    lo_hi = ref.frozen(lw).support()
    assert lo_hi[0] <= w.min() and w.max() <= lo_hi[1]


@pytest.mark.parametrize("name", sorted(fi.SEED_NOTE_NAMES))
def test_seed_note_names(name):
    spec = fi.resolve(name, 300, 70)
    _check_spec(spec, ref.law(name, 300, 70))
    w = fi.layer_weights(name, 300, 70, layer=0, seed=3)
    _ks(w, ref.law(name, 300, 70))


def test_lecture_idioms_are_the_right_schemes():
    # the lecture's "Xavier" is LeCun; its He is randn / sqrt(M1 / 2)
    assert fi.resolve("lecture_xavier", 784, 256).std == pytest.approx(
        fi.resolve("lecun_normal", 784, 256).std, rel=1e-15)
    assert fi.resolve("he", 784, 256).std == pytest.approx(
        fi.resolve("he_normal", 784, 256).std, rel=1e-15)
    assert fi.resolve("glorot", 784, 256).std == pytest.approx(math.sqrt(2 / (784 + 256)))


def test_float32_default_and_global_rng():
    fastinit.random.seed(77)
    a = fi.he_normal((40, 30))
    fastinit.random.seed(77)
    b = fi.he_normal((40, 30))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32
    fastinit.random.seed(77)
    c = fastinit.random.get_generator().normal(0.0, math.sqrt(2 / 40), (40, 30), dtype=np.float32)
    np.testing.assert_array_equal(a, c)
    # the global stream moved: the next call differs
    assert not np.array_equal(fi.he_normal((40, 30)), a)


# ---- truncated normal --------------------------------------------------------------------------------

@pytest.mark.parametrize("a,b", [(-2.0, 2.0), (2.0, 3.0), (8.0, 9.0), (-9.0, -8.0), (-0.1, 0.05)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_truncated_normal_bounds_and_tails(a, b, dtype):
    w = fi.truncated_normal((300, 100), mean=1.0, std=2.0, a=a, b=b, rng=5, dtype=dtype)
    lo, hi = 1.0 + 2.0 * a, 1.0 + 2.0 * b
    assert (w > lo).all() and (w < hi).all()
    _ks((w.astype(np.float64) - 1.0) / 2.0, ("truncnorm", 0.0, 1.0, a, b))


def test_truncated_normal_unit_variance():
    w = fi.truncated_normal((400, 500), std=0.3, unit_variance=True, rng=9, dtype=np.float64)
    assert w.std() == pytest.approx(0.3, rel=5e-3)
    w = fi.xavier_normal((400, 500), distribution="truncated_normal", rng=9, dtype=np.float64)
    assert w.std() == pytest.approx(math.sqrt(2 / 900), rel=5e-3)
    assert np.abs(w).max() < 2 * math.sqrt(2 / 900) / ref.TRUNC_STD_2


# ---- orthogonal, eye, dirac, delta-orthogonal, sparse ----------------------------------------------

@pytest.mark.parametrize("shape,geo", [((1, 1), {}), ((2, 1), {}), ((1, 2), {}), ((2, 2), {}),
                                       ((30, 70), {}), ((70, 30), {}), ((64, 64), {}),
                                       ((40, 7, 3), {"layout": "torch"}),
                                       ((16, 8, 3, 3), {"layout": "torch"}),
                                       ((3, 3, 5, 50), {"layout": "keras"})])
@pytest.mark.parametrize("gain", [1.0, 1.7])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_orthogonal_is_orthogonal(shape, geo, gain, dtype):
    w = fi.orthogonal(shape, gain, rng=1, dtype=dtype, **geo)
    assert w.dtype == dtype and w.shape == shape
    oa = 0 if geo.get("layout") == "torch" else len(shape) - 1
    m = np.moveaxis(w, oa, 0).reshape(shape[oa], -1).astype(np.float64)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    tol = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(len(gram)), atol=tol * gain ** 2)


def test_orthogonal_dense_convention():
    w = fi.orthogonal((30, 70), rng=0, dtype=np.float64)   # fan_in < fan_out: W W^T = I
    np.testing.assert_allclose(w @ w.T, np.eye(30), atol=1e-12)
    w = fi.orthogonal((70, 30), rng=0, dtype=np.float64)   # W^T W = I
    np.testing.assert_allclose(w.T @ w, np.eye(30), atol=1e-12)


def test_orthogonal_haar():
    n, reps = 5, 4000
    g = fastinit.default_rng(123)
    q00, qmid, qnn, q13, theta, theta3 = [], [], [], [], [], []
    for _ in range(reps):
        q = fi.orthogonal((n, n), rng=g, dtype=np.float64)
        q00.append(q[0, 0])
        qmid.append(q[n // 2, n // 2])
        qnn.append(q[-1, -1])
        q13.append(q[1, 3])
        r = fi.orthogonal((2, 2), rng=g, dtype=np.float64)
        if np.linalg.det(r) > 0:
            theta.append(np.angle(np.linalg.eigvals(r)).max())  # rotation angle in [0, pi]
        # O(3): sign(det) Q is a Haar rotation, its angle has density (1 - cos t) / pi on [0, pi]
        r3 = fi.orthogonal((3, 3), rng=g, dtype=np.float64)
        r3 *= np.sign(np.linalg.det(r3))
        theta3.append(np.arccos(np.clip((np.trace(r3) - 1) / 2, -1, 1)))
    law = ref.haar_first_entry_law(n)
    # every entry of a Haar matrix has the law of Q[0, 0]; without the sign fix LAPACK's
    # Q[0, 0] is always <= 0 and the last column's sign is not random: these tests fail
    for entries in (q00, qmid, qnn, q13):
        assert stats.kstest((np.array(entries) + 1) / 2, law.cdf).pvalue > P_MIN
    # SO(2) Haar: rotation angle uniform, so |angle| is uniform on [0, pi]
    assert stats.kstest(np.array(theta) / np.pi, "uniform").pvalue > P_MIN
    assert abs(len(theta) / reps - 0.5) < 5 * 0.5 / math.sqrt(reps)
    assert stats.kstest(theta3, lambda t: (t - np.sin(t)) / np.pi).pvalue > P_MIN


@pytest.mark.parametrize("shape", [(7, 3), (3, 7)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_orthogonal_haar_rectangular(shape, dtype):
    """A Haar semi-orthogonal (7, 3) or (3, 7) matrix: each of the 3 orthonormal vectors is
    uniform on the sphere of R^7, so every entry has the law of a Haar 7 x 7 matrix's entry, and
    two entries of one vector are uncorrelated with E[x_i^2 x_j^2] = 1 / (7 * 9)."""
    reps = 3000
    g = fastinit.default_rng(7)
    ws = np.array([fi.orthogonal(shape, rng=g, dtype=dtype) for _ in range(reps)], np.float64)
    if shape[0] < shape[1]:
        ws = ws.transpose(0, 2, 1)   # (reps, 7, 3): the orthonormal vectors are the columns
    law = ref.haar_first_entry_law(7)
    for i, j in [(0, 0), (3, 1), (6, 2), (1, 2)]:
        assert stats.kstest((ws[:, i, j] + 1) / 2, law.cdf).pvalue > P_MIN, (i, j)
    prod = ws[:, 0, 2] ** 2 * ws[:, 5, 2] ** 2
    assert abs(prod.mean() - 1 / 63) < 5 * prod.std() / math.sqrt(reps)
    # the columns are orthonormal to the dtype's precision
    gram = np.einsum("rij,rik->rjk", ws, ws)
    assert np.abs(gram - np.eye(3)).max() < (2e-5 if dtype == np.float32 else 1e-12)


def test_orthogonal_reflectors_match_lapack():
    """The reflectors fastinit draws Q from are LAPACK's (?geqrf / ?larfg) for the same vectors:
    same tau, same v, beta = R's diagonal; zero tails give tau = 0 and beta = alpha."""
    from scipy.linalg import lapack

    rs = np.random.default_rng(0)
    b = rs.standard_normal((4, 9))
    b[1, 2:] = 0                   # a zero tail: tau = 0
    b[2, 2] = 0.0                  # alpha = 0
    b[3, 3] = -abs(b[3, 3])        # a negative alpha
    vecs = [b[k, k:].copy() for k in range(4)]
    tau, beta = fi._householder_reflectors(b)
    for k, x in enumerate(vecs):
        qr, tau_l, _, info = lapack.dgeqrf(x[:, None])
        assert info == 0
        assert tau[k] == pytest.approx(tau_l[0], abs=1e-15)
        assert beta[k] == pytest.approx(qr[0, 0], rel=1e-15)
        np.testing.assert_allclose(b[k, k + 1:], qr[1:, 0], rtol=1e-14, atol=1e-300)
        assert not b[k, :k + 1].any()
    assert tau[1] == 0 and beta[1] == vecs[1][0]
    # a length-1 vector (the last reflector of a square matrix) is trivial: beta = alpha
    one = np.array([[-0.5]])
    tau, beta = fi._householder_reflectors(one)
    assert tau[0] == 0 and beta[0] == -0.5


def test_eye_and_dirac():
    np.testing.assert_array_equal(fi.eye((3, 5), gain=2.0), 2.0 * np.eye(3, 5, dtype=np.float32))
    np.testing.assert_array_equal(fi.identity((4, 2)), np.eye(4, 2, dtype=np.float32))
    with pytest.raises(ValueError, match="use dirac"):
        fi.eye((3, 3, 3))
    # a dirac kernel makes the convolution the identity on the common channels
    k = fi.dirac((6, 4, 3, 5), layout="torch")
    x = np.random.default_rng(0).standard_normal((4, 9, 11))
    for o in range(6):
        for i in range(4):
            taps = k[o, i]
            assert taps.sum() == (1.0 if o == i else 0.0)
            if o == i:
                assert taps[1, 2] == 1.0
    kk = fi.dirac((3, 5, 4, 6))  # keras layout: centre tap, (in, out) identity
    np.testing.assert_array_equal(kk[1, 2], np.eye(4, 6))
    assert kk.sum() == 4
    # groups: torch's dirac_ convention
    kg = fi.dirac((8, 2, 3), layout="torch", groups=2)
    expect = np.zeros((8, 2))
    expect[[0, 1, 4, 5], [0, 1, 0, 1]] = 1
    np.testing.assert_array_equal(kg[:, :, 1], expect)
    del x


def test_delta_orthogonal():
    k = fi.delta_orthogonal((3, 3, 16, 32), gain=1.3, rng=4, dtype=np.float64)
    centre = k[1, 1]
    np.testing.assert_allclose(centre @ centre.T, 1.69 * np.eye(16), atol=1e-12)
    k[1, 1] = 0
    assert not k.any()
    t = fi.delta_orthogonal((32, 16, 5), layout="torch", rng=4, dtype=np.float64)
    np.testing.assert_allclose(t[:, :, 2].T @ t[:, :, 2], np.eye(16), atol=1e-12)


def test_sparse():
    w = fi.sparse((200, 30), sparsity=0.9, std=0.5, rng=3, dtype=np.float64)
    assert ((w == 0).sum(axis=0) == 180).all()        # per output unit (column)
    _ks(w[w != 0], ("normal", 0.0, 0.5))
    t = fi.sparse((30, 200), sparsity=0.25, layout="torch", torch_compat=True, rng=3)
    assert ((t == 0).sum(axis=0) == math.ceil(0.25 * 30)).all()   # torch: per stored column
    with pytest.raises(ValueError, match="2-D"):
        fi.sparse((3, 3, 3))
    with pytest.raises(ValueError, match="sparsity"):
        fi.sparse((3, 3), sparsity=1.5)


# ---- in place -----------------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["he_normal", "xavier_uniform", "truncated_normal", "orthogonal",
                                    "constant", "sparse"])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inplace_equals_new(scheme, order, dtype):
    new = getattr(fi, scheme)((37, 23), rng=8, dtype=dtype)
    buf = np.full((37, 23), np.nan, dtype, order=order)
    assert getattr(fi, scheme + "_")(buf, rng=8) is buf
    np.testing.assert_array_equal(buf, new)


def _bad_buffers():
    ro = np.zeros((6, 4), np.float32)
    ro.flags.writeable = False
    return [
        (ro, ValueError, "contiguous, writable"),
        (np.zeros((6, 8), np.float32)[:, ::2], ValueError, "contiguous, writable"),
        (np.zeros((6, 4), np.int32), TypeError, r"Unsupported dtype dtype\('int32'\) for he_normal_"),
        (np.zeros((6, 4), np.float16), TypeError, "Unsupported dtype"),
        (np.zeros((6, 4), ">f8"), ValueError, "machine byte-order"),
        ([[0.0] * 4] * 6, TypeError, "NumPy array or a PyTorch CPU tensor"),
    ]


@pytest.mark.parametrize("buf,exc,match", _bad_buffers())
def test_inplace_bad_buffers_nothing_written(buf, exc, match):
    gen = fastinit.default_rng(0)
    before = np.array(buf, copy=True)
    with pytest.raises(exc, match=match):
        fi.he_normal_(buf, rng=gen)
    np.testing.assert_array_equal(np.asarray(buf), before)
    assert gen.position == 0


def test_inplace_bad_argument_nothing_written():
    buf = np.full((5, 4), 3.0, np.float32)
    gen = fastinit.default_rng(0)
    with pytest.raises(ValueError, match="unknown mode"):
        fi.he_normal_(buf, mode="fan_everything", rng=gen)
    with pytest.raises(ValueError, match="gain < 0"):
        fi.xavier_normal_(buf, gain=-1.0, rng=gen)
    assert (buf == 3.0).all() and gen.position == 0


# ---- bad input ---------------------------------------------------------------------------------------

BAD = [
    (lambda: fi.he_normal((3, 4), nonlinearity="tanhh"), ValueError, "'tanhh'.*'tanh'"),
    (lambda: fi.he_normal((3, 4), mode="fan"), ValueError, "unknown mode 'fan'.*'fan_in'"),
    (lambda: fi.variance_scaling((3, 4), distribution="gauss"), ValueError,
     "unknown distribution 'gauss'.*'truncated_normal'"),
    (lambda: fi.xavier_normal((3, 4), distribution="uniform"), ValueError, "unknown distribution"),
    (lambda: fi.xavier_normal((3, 4), preset="jax"), ValueError, "unknown preset 'jax'.*'keras'"),
    (lambda: fi.he_normal((3, 4), layout="nchw"), ValueError, "unknown layout 'nchw'"),
    (lambda: fi.he_normal((5,)), ValueError, "fewer than 2 dimensions"),
    (lambda: fi.he_normal((0, 4)), ValueError, "fan_in is 0"),
    (lambda: fi.xavier_uniform((0, 0)), ValueError, "fan_avg is 0"),
    (lambda: fi.he_normal((4, 0), mode="fan_out"), ValueError, "fan_out is 0"),
    (lambda: fi.xavier_normal((3, 4), gain=-1.0), ValueError, "gain < 0"),
    (lambda: fi.xavier_normal((3, 4), gain=-0.0), ValueError, "gain < 0"),
    (lambda: fi.xavier_normal((3, 4), gain=math.inf), ValueError, "gain must be finite"),
    (lambda: fi.normal((3, 4), std=-0.1), ValueError, "std < 0"),
    (lambda: fi.normal((3, 4), std=math.nan), ValueError, "std must be finite"),
    (lambda: fi.truncated_normal((3, 4), a=2.0, b=1.0), ValueError, "a >= b"),
    (lambda: fi.uniform((3, 4), 1.0, 0.0), ValueError, "high - low < 0"),
    (lambda: fi.he_normal((12, 4, 3), layout="torch", groups=5), ValueError, "does not divide"),
    (lambda: fi.he_normal((3, 4), dtype=np.int32), TypeError, "Unsupported dtype"),
    (lambda: fi.he_normal((3, -4)), ValueError, "negative dimensions"),
    (lambda: fi.he_normal((3, 4), foo=1), TypeError, "he_normal\\(\\).*'foo'"),
    (lambda: fi.resolve("no_such_init", 3, 4), ValueError, "'no_such_init'.*'xavier_normal'"),
    (lambda: fi.network([3], "he_normal"), ValueError, "at least 2"),
    (lambda: fi.network([3, 4], "orthogonal", bias="orthogonal"), ValueError, "bias"),
    (lambda: fi.he_normal((3, 4), rng=np.random.default_rng(0)), TypeError, "numpy.random.Generator"),
    (lambda: fi.fixup_scale(4, 1), ValueError, "layers_per_branch must be >= 2"),
    (lambda: fi.fixup_scale(0, 2), ValueError, "num_branches must be >= 1"),
]


@pytest.mark.parametrize("i", range(len(BAD)))
def test_bad_input(i):
    call, exc, match = BAD[i]
    with pytest.raises(exc, match=match):
        call()


def test_zero_size_fan_free_gives_empty():
    for f in (fi.zeros, fi.normal, fi.uniform, fi.truncated_normal):
        assert f((0, 5)).shape == (0, 5)
        assert f((4,)).shape == (4,)
    assert fi.xavier_normal((5, 0)).shape == (5, 0)   # fan_avg > 0
    assert fi.orthogonal((0, 3)).shape == (0, 3)


# ---- network / layer_weights (the deep-stack engine's contract) ------------------------------------

NET_SCHEMES = [("xavier_normal", {}), ("xavier_uniform", {}), ("truncated_normal", {}),
               ("he_normal", {"preset": "keras"}), ("normal", {"std": 1.0}), ("orthogonal", {}),
               ("zeros", {}), ("sparse", {}), ("eye", {}), ("lecture_xavier", {}), ("small", {}),
               ("uniform", {"low": 0.0, "high": 1.0})]


@pytest.mark.parametrize("scheme,kw", NET_SCHEMES, ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_network_layers_are_independent_streams(scheme, kw, dtype):
    widths = [37, 70, 19, 19]
    ss = np.random.SeedSequence(7)
    Ws = fi.network(widths, scheme, seed=7, dtype=dtype, **kw)
    assert [W.shape for W in Ws] == list(zip(widths[:-1], widths[1:]))
    for l in reversed(range(3)):   # any order
        np.testing.assert_array_equal(
            fi.layer_weights(scheme, widths[l], widths[l + 1], layer=l, seed=ss, dtype=dtype, **kw),
            Ws[l])
        spec = fi.resolve(scheme, widths[l], widths[l + 1], dtype=dtype, **kw)
        if spec.distribution in ("normal", "uniform", "truncated_normal"):
            g = fastinit.Generator(ss, fastinit.stream_id("weights", l))
            shape = (widths[l], widths[l + 1])
            if spec.distribution == "normal":
                want = g.normal(spec.loc, spec.scale, shape, dtype)
            elif spec.distribution == "uniform":
                want = g.uniform(-spec.bound, spec.bound, shape, dtype)
            else:
                want = g.truncated_normal(spec.loc, spec.scale, spec.a, spec.b, shape, dtype)
            np.testing.assert_array_equal(Ws[l], want)


def test_network_biases():
    Ws, bs = fi.network([5, 8, 3], "he_normal", seed=4, bias="normal", bias_kwargs={"std": 0.3})
    for l, b in enumerate(bs):
        g = fastinit.Generator(np.random.SeedSequence(4), fastinit.stream_id("biases", l))
        np.testing.assert_array_equal(b, g.normal(0.0, 0.3, b.shape[0], np.float32))
    _, bz = fi.network([5, 8, 3], seed=4, bias="zeros")
    assert all(not b.any() and b.shape == (n,) for b, n in zip(bz, (8, 3)))
    for a, b in zip(fi.network([5, 8, 3], "he_normal", seed=4), Ws):
        np.testing.assert_array_equal(a, b)


def test_network_seed_none_follows_global_seed():
    fastinit.random.seed(3)
    a = fi.network([4, 6, 2], "he_normal")
    fastinit.random.seed(3)
    b = fi.network([4, 6, 2], "he_normal")
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_bias_helper():
    b = fi.bias(100, 7, "uniform", low=-0.1, high=0.1, rng=0)
    assert b.shape == (7,) and b.dtype == np.float32 and (np.abs(b) <= 0.1).all()
    assert not fi.bias(3, 4).any()
    b = fi.bias(400, 5000, "lecun_uniform", rng=1, dtype=np.float64)
    _ks(b, ("uniform", -math.sqrt(3 / 400), math.sqrt(3 / 400)))


# ---- Fixup -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("L,m", [(1, 2), (16, 2), (50, 3), (8, 4)])
def test_fixup_scale(L, m):
    assert fi.fixup_scale(L, m) == pytest.approx(ref.fixup_scale(L, m), rel=1e-15)


def test_fixup_helper():
    f = fi.fixup(6, 3, 64, 10, rng=0, dtype=np.float64)
    assert f.scale == pytest.approx(ref.fixup_scale(6, 3))
    assert len(f.branches) == 6 and all(len(b) == 3 for b in f.branches)
    for br in f.branches:
        assert not br[-1].any()
        for w in br[:-1]:
            assert w.shape == (64, 64)
    inner = np.concatenate([w.ravel() for br in f.branches for w in br[:-1]])
    _ks(inner, ("normal", 0.0, math.sqrt(2 / 64) * ref.fixup_scale(6, 3)))
    assert f.classifier.shape == (64, 10) and not f.classifier.any()
    assert f.multipliers == [1.0] * 6


# ---- torch (optional) --------------------------------------------------------------------------------

def test_torch_not_imported_without_a_tensor():
    code = textwrap.dedent("""
        import sys, numpy as np, fastinit.init as fi
        fi.he_normal((30, 20), rng=0); fi.he_normal_(np.empty((3, 4), np.float32)); fi.orthogonal((8, 8))
        print('torch' in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         check=True)
    assert out.stdout.strip() == "False"


TORCH_SHAPES = [(90, 37), (20, 6, 3, 5), (16, 7, 3)]
TORCH_SCHEMES = [("xavier_normal_", "xavier_normal_", {"gain": 1.3}),
                 ("xavier_uniform_", "xavier_uniform_", {}),
                 ("kaiming_normal_", "he_normal_", {"mode": "fan_out", "nonlinearity": "relu"}),
                 ("kaiming_uniform_", "he_uniform_", {"a": 0.1}),
                 ("kaiming_normal_", "kaiming_normal_", {}),
                 ("normal_", "normal_", {"std": 0.02}),
                 ("orthogonal_", "orthogonal_", {"gain": 2.0})]


@pytest.mark.parametrize("shape", TORCH_SHAPES)
@pytest.mark.parametrize("tname,fname,kw", TORCH_SCHEMES)
def test_torch_parity_std(shape, tname, fname, kw):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    nt = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: torch's thread pool only adds contention here
    try:
        _torch_parity(torch, shape, tname, fname, kw)
    finally:
        torch.set_num_threads(nt)


def _torch_parity(torch, shape, tname, fname, kw):
    reps = 40
    tv = torch.cat([getattr(torch.nn.init, tname)(torch.empty(shape), **kw).ravel()
                    for _ in range(reps)]).double()
    buf = torch.empty((reps,) + shape)
    for r in range(reps):
        getattr(fi, fname)(buf[r], rng=r, **kw)
    fv = buf.ravel().double()
    # same law: same std to sampling error, and a two-sample KS test
    n = tv.numel()
    assert float(fv.std()) == pytest.approx(float(tv.std()), rel=10 / math.sqrt(n))
    if tname != "orthogonal_":
        assert stats.ks_2samp(tv.numpy(), fv.numpy()).pvalue > P_MIN


def test_torch_fans_compat():
    torch = pytest.importorskip("torch")
    for shape in [(90, 37), (20, 6, 3, 5), (12, 4, 3), (6, 5, 2, 3, 4)]:
        assert fi.compute_fans(shape, "torch", torch_compat=True) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_torch_inplace_tensor_and_parameter():
    torch = pytest.importorskip("torch")
    t = torch.zeros(64, 32, dtype=torch.float64)
    assert fi.he_normal_(t, rng=3) is t
    # torch layout by default: (out, in) = (64, 32), fan_in 32
    np.testing.assert_array_equal(t.numpy(), fi.he_normal((64, 32), rng=3, layout="torch",
                                                         dtype=np.float64))
    lin = torch.nn.Linear(50, 20)
    before = lin.weight.detach().clone()
    fi.xavier_uniform_(lin.weight, rng=1)
    assert lin.weight.requires_grad and not torch.equal(before, lin.weight.detach())
    np.testing.assert_array_equal(lin.weight.detach().numpy(), fi.xavier_uniform((20, 50), rng=1))
    fi.zeros_(lin.bias)
    assert not lin.bias.detach().any()
    conv = torch.nn.Conv2d(8, 16, 3, groups=4)
    fi.orthogonal_(conv.weight, rng=0)
    m = conv.weight.detach().double().reshape(16, -1).numpy()
    np.testing.assert_allclose(m @ m.T, np.eye(16), atol=2e-5)
    # layout given explicitly overrides the torch default
    k = torch.empty(3, 3, 8, 16)
    fi.he_normal_(k, layout="keras", rng=2)
    np.testing.assert_array_equal(k.numpy(), fi.he_normal((3, 3, 8, 16), rng=2))


def test_torch_bad_tensors():
    torch = pytest.importorskip("torch")
    t = torch.zeros(8, 6)[:, ::2]
    with pytest.raises(ValueError, match="contiguous"):
        fi.he_normal_(t)
    with pytest.raises(TypeError, match="Unsupported dtype torch.int64"):
        fi.he_normal_(torch.zeros(3, 4, dtype=torch.int64))
    with pytest.raises(TypeError, match="Unsupported dtype torch.bfloat16"):
        fi.he_normal_(torch.zeros(3, 4, dtype=torch.bfloat16))
    assert not t.any()
