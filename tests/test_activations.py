"""Tests of the activation registry (fastinit.activations).

The reference formulas are checked against central finite differences, against
scipy.special and plain textbook formulas, at large |x| without warnings, and
for the conventions the C kernels and the theory module rely on.
"""

import dataclasses
import math
import warnings

import numpy as np
import pytest
from scipy import special

from fastinit.activations import (
    ACTIVATIONS,
    ALIASES,
    SELU_ALPHA,
    SELU_SCALE,
    Activation,
    get_activation,
)

EXPECTED_CODES = {
    "linear": 0, "sigmoid": 1, "tanh": 2, "erf": 3, "relu": 4, "leaky_relu": 5,
    "elu": 6, "selu": 7, "softplus": 8, "swish": 9, "gelu": 10, "gelu_tanh": 11,
}

# Parametrized variants: (name, kwargs).
VARIANTS = [(name, {}) for name in ACTIVATIONS] + [
    ("leaky_relu", {"negative_slope": 0.2}),
    ("leaky_relu", {"negative_slope": -0.5}),
    ("elu", {"alpha": 0.5}),
    ("elu", {"alpha": 2.5}),
]
VARIANT_IDS = [n + "".join(f"-{k}={v}" for k, v in kw.items()) for n, kw in VARIANTS]


def textbook(name, x, **kw):
    """Plain formulas, valid for moderate |x| (no care for overflow)."""
    if name == "linear":
        return x
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    if name == "erf":
        return special.erf(x)
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "leaky_relu":
        a = kw.get("negative_slope", 0.01)
        return np.where(x > 0, x, a * x)
    if name == "elu":
        a = kw.get("alpha", 1.0)
        return np.where(x > 0, x, a * (np.exp(x) - 1.0))
    if name == "selu":
        return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * (np.exp(x) - 1.0))
    if name == "softplus":
        return np.log(1.0 + np.exp(x))
    if name == "swish":
        return x / (1.0 + np.exp(-x))
    if name == "gelu":
        return 0.5 * x * (1.0 + special.erf(x / math.sqrt(2.0)))
    if name == "gelu_tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    raise AssertionError(name)


# --------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------

def test_codes_are_the_fixed_c_enum():
    assert ACTIVATIONS == tuple(sorted(EXPECTED_CODES, key=EXPECTED_CODES.get))
    for name, code in EXPECTED_CODES.items():
        assert get_activation(name).code == code
        assert get_activation(name).name == name


def test_aliases():
    assert dict(ALIASES) == {"silu": "swish"}
    assert get_activation("silu") == get_activation("swish")
    assert get_activation("silu").code == 9
    g = get_activation("gelu", approximate="tanh")
    assert (g.name, g.code) == ("gelu_tanh", 11)
    assert get_activation("gelu_tanh") == g
    assert get_activation("gelu_tanh", approximate="tanh") == g
    exact = get_activation("gelu", approximate="none")
    assert (exact.name, exact.code) == ("gelu", 10)
    assert exact == get_activation("gelu")


@pytest.mark.parametrize(
    "name, kwargs, p0",
    [("leaky_relu", {}, 0.01), ("leaky_relu", {"negative_slope": 0.3}, 0.3),
     ("leaky_relu", {"slope": 0.25}, 0.25), ("elu", {}, 1.0), ("elu", {"alpha": 0.7}, 0.7),
     ("selu", {}, 0.0), ("relu", {}, 0.0), ("tanh", {}, 0.0), ("gelu_tanh", {}, 0.0),
     ("softplus", {"beta": 1}, 0.0)])
def test_p0(name, kwargs, p0):
    act = get_activation(name, **kwargs)
    assert act.p0 == p0
    assert type(act.p0) is float


def test_params_resolved_and_read_only():
    act = get_activation("leaky_relu", slope=0.2)
    assert dict(act.params) == {"negative_slope": 0.2}
    with pytest.raises(TypeError):
        act.params["negative_slope"] = 0.5  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        act.p0 = 3.0  # type: ignore[misc]
    selu = get_activation("selu")
    assert selu.params["alpha"] == SELU_ALPHA and selu.params["scale"] == SELU_SCALE
    assert SELU_ALPHA == 1.6732632423543772848170429916717
    assert SELU_SCALE == 1.0507009873554804934193349852946
    assert dict(get_activation("elu").params) == {"alpha": 1.0}
    assert dict(get_activation("tanh").params) == {}


def test_hashable_and_equal():
    a = get_activation("elu", alpha=2)
    b = get_activation("elu", alpha=2.0)
    assert a == b and hash(a) == hash(b)
    assert a != get_activation("elu", alpha=1.5)
    assert len({get_activation(n) for n in ACTIVATIONS}) == len(ACTIVATIONS)
    assert {a: 1}[b] == 1


def test_instance_passthrough_and_update():
    act = get_activation("leaky_relu", negative_slope=0.1)
    assert get_activation(act) is act
    upd = get_activation(act, negative_slope=0.3)
    assert upd.p0 == 0.3 and act.p0 == 0.1
    assert get_activation(act, slope=0.4).p0 == 0.4
    assert get_activation(get_activation("selu")) == get_activation("selu")


def test_bounds_kinks_symmetry():
    bounded = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "erf": (-1.0, 1.0)}
    kinked = {"relu", "leaky_relu", "elu", "selu"}
    for name in ACTIVATIONS:
        act = get_activation(name)
        assert act.bounds == bounded.get(name)
        assert act.kinks == ((0.0,) if name in kinked else ())
    assert get_activation("sigmoid").odd_offset == 0.5
    assert get_activation("linear").piecewise_linear == (1.0, 1.0)
    assert get_activation("relu").piecewise_linear == (1.0, 0.0)
    assert get_activation("leaky_relu", negative_slope=0.2).piecewise_linear == (1.0, 0.2)


def test_bounded_outputs_stay_in_range():
    x = np.linspace(-50, 50, 10001)
    for name, (lo, hi) in (("sigmoid", (0, 1)), ("tanh", (-1, 1)), ("erf", (-1, 1))):
        y = get_activation(name).f(x)
        assert np.all((y >= lo) & (y <= hi))


@pytest.mark.parametrize("name, kwargs", VARIANTS, ids=VARIANT_IDS)
def test_odd_offset_and_piecewise_linear_are_true(name, kwargs):
    act = get_activation(name, **kwargs)
    x = np.linspace(-7, 7, 1401)
    y = act.f(x)
    if act.odd_offset is not None:
        np.testing.assert_allclose(y - act.odd_offset, -(act.f(-x) - act.odd_offset),
                                   rtol=0, atol=1e-15)
    if act.piecewise_linear is not None:
        p, m = act.piecewise_linear
        np.testing.assert_array_equal(y, p * np.maximum(x, 0) - m * np.maximum(-x, 0))


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------

def test_unknown_name_lists_valid():
    with pytest.raises(ValueError) as exc:
        get_activation("rleu")
    msg = str(exc.value)
    assert "'rleu'" in msg
    for name in ACTIVATIONS + ("silu",):
        assert repr(name) in msg
    with pytest.raises(ValueError, match="'RELU'"):
        get_activation("RELU")


@pytest.mark.parametrize("bad", [None, 3, 1.5, b"relu", ["relu"]])
def test_name_of_wrong_type(bad):
    with pytest.raises(TypeError, match="activation name must be a string"):
        get_activation(bad)


@pytest.mark.parametrize(
    "name, kwargs, exc, match",
    [("relu", {"alpha": 1.0}, TypeError, "'alpha'"),
     ("tanh", {"negative_slope": 0.1}, TypeError, "'negative_slope'"),
     ("elu", {"slope": 0.1}, TypeError, "'slope'"),
     ("selu", {"alpha": 1.0}, TypeError, "'alpha'"),
     ("leaky_relu", {"negative_slope": 0.1, "slope": 0.1}, TypeError, "both"),
     ("leaky_relu", {"negative_slope": float("nan")}, ValueError, "finite"),
     ("leaky_relu", {"negative_slope": float("inf")}, ValueError, "finite"),
     ("elu", {"alpha": -float("inf")}, ValueError, "finite"),
     ("elu", {"alpha": "1"}, TypeError, "real number"),
     ("elu", {"alpha": True}, TypeError, "real number"),
     ("elu", {"alpha": 1 + 2j}, TypeError, "real number"),
     ("softplus", {"beta": 2.0}, ValueError, "beta=1"),
     ("gelu", {"approximate": "erf"}, ValueError, "'none' or 'tanh'"),
     ("gelu_tanh", {"approximate": "none"}, ValueError, "approximate='tanh'"),
     ("silu", {"beta": 1.0}, TypeError, "'beta'")])
def test_bad_parameters(name, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        get_activation(name, **kwargs)


def test_direct_construction_is_checked():
    good = get_activation("tanh")
    with pytest.raises(ValueError, match="does not match"):
        dataclasses.replace(good, code=3)
    with pytest.raises(ValueError, match="unknown activation"):
        dataclasses.replace(good, name="tanhh")


def test_input_types():
    act = get_activation("tanh")
    assert isinstance(act.f(0.5), np.float64)
    assert isinstance(act.df(0.5), np.float64)
    assert act.f(np.array(0.5)).shape == ()
    np.testing.assert_array_equal(act.f([0, 1]), np.tanh([0.0, 1.0]))
    assert act.f(np.arange(3, dtype=np.int32)).dtype == np.float64
    assert act.f(np.zeros((2, 3), np.float32)).shape == (2, 3)
    with pytest.raises(TypeError, match="real numbers"):
        act.f(np.array([1j]))
    with pytest.raises(TypeError, match="real numbers"):
        act.df(np.array(["a"]))
    assert act(0.3) == act.f(0.3)


@pytest.mark.parametrize("name, kwargs", VARIANTS, ids=VARIANT_IDS)
def test_input_not_modified(name, kwargs):
    act = get_activation(name, **kwargs)
    x = np.linspace(-3, 3, 11)
    keep = x.copy()
    act.f(x)
    act.df(x)
    np.testing.assert_array_equal(x, keep)
    y = act.f(x)
    assert y is not x


# --------------------------------------------------------------------------
# Formulas
# --------------------------------------------------------------------------

def _grid_away_from_kinks():
    x = np.concatenate([np.linspace(-8, 8, 1601), [-25.0, -12.5, 12.5, 25.0]])
    return x[np.abs(x) > 1e-3]


@pytest.mark.parametrize("name, kwargs", VARIANTS, ids=VARIANT_IDS)
def test_derivative_matches_central_differences(name, kwargs):
    act = get_activation(name, **kwargs)
    x = _grid_away_from_kinks()
    h = 1e-5 * np.maximum(1.0, np.abs(x))
    fd = (act.f(x + h) - act.f(x - h)) / (2 * h)
    np.testing.assert_allclose(act.df(x), fd, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name, kwargs", VARIANTS, ids=VARIANT_IDS)
def test_function_matches_textbook_formula(name, kwargs):
    act = get_activation(name, **kwargs)
    x = np.linspace(-20, 20, 4001)
    np.testing.assert_allclose(act.f(x), textbook(name, x, **kwargs), rtol=1e-13, atol=1e-15)


def test_against_scipy_special():
    x = np.linspace(-60, 60, 12001)
    np.testing.assert_array_equal(get_activation("sigmoid").f(x), special.expit(x))
    np.testing.assert_array_equal(get_activation("erf").f(x), special.erf(x))
    np.testing.assert_allclose(get_activation("softplus").f(x), np.logaddexp(0.0, x),
                               rtol=1e-15, atol=0)
    np.testing.assert_allclose(get_activation("softplus").df(x), special.expit(x),
                               rtol=1e-15, atol=0)
    np.testing.assert_allclose(get_activation("sigmoid").df(x),
                               special.expit(x) * special.expit(-x), rtol=1e-15, atol=0)
    # erf'(x) = 2/sqrt(pi) exp(-x^2), tanh' = 1/cosh^2 in relative terms
    xs = np.linspace(-25, 25, 5001)
    np.testing.assert_allclose(get_activation("erf").df(xs),
                               2 / math.sqrt(math.pi) * np.exp(-xs * xs), rtol=1e-14, atol=0)
    np.testing.assert_allclose(get_activation("tanh").df(xs), 1 / np.cosh(xs) ** 2,
                               rtol=1e-13, atol=0)
    # gelu: x Phi(x), and its lower tail against log_ndtr
    xt = np.linspace(-35, -5, 301)
    np.testing.assert_allclose(get_activation("gelu").f(xt),
                               -np.exp(np.log(-xt) + special.log_ndtr(xt)), rtol=1e-12)


def test_derivative_tails_keep_relative_accuracy():
    # where 1 - tanh^2 or s(1 - s) would cancel to 0
    x = np.array([20.0, 40.0, 300.0])
    e2 = np.exp(-2 * x)
    np.testing.assert_allclose(get_activation("tanh").df(x), 4 * e2 / (1 + e2) ** 2, rtol=1e-12)
    e1 = np.exp(-x)
    np.testing.assert_allclose(get_activation("sigmoid").df(x), e1 / (1 + e1) ** 2, rtol=1e-12)
    np.testing.assert_allclose(get_activation("softplus").f(-x), np.log1p(e1), rtol=1e-12)
    assert np.all(get_activation("tanh").df(x) > 0)


def test_known_values():
    g = get_activation
    assert g("sigmoid").f(0.0) == 0.5
    assert g("softplus").f(0.0) == math.log(2.0)
    assert g("tanh").f(0.0) == 0.0
    assert g("gelu").f(1.0) == pytest.approx(0.8413447460685429, rel=1e-15)
    assert g("gelu").df(0.0) == 0.5
    assert g("gelu_tanh").f(1.0) == pytest.approx(0.8411919906082768, rel=1e-14)
    assert g("swish").f(1.0) == pytest.approx(0.7310585786300049, rel=1e-15)
    assert g("swish").df(0.0) == 0.5
    assert g("erf").df(0.0) == 2 / math.sqrt(math.pi)
    assert g("selu").f(1.0) == SELU_SCALE
    assert g("selu").f(-1e3) == pytest.approx(-SELU_SCALE * SELU_ALPHA, rel=1e-15)
    assert g("elu", alpha=2.0).f(-1e3) == -2.0


def test_derivative_conventions_at_kink():
    g = get_activation
    assert g("relu").df(0.0) == 0.0
    assert g("leaky_relu").df(0.0) == 0.01
    assert g("leaky_relu", negative_slope=0.3).df(0.0) == 0.3
    assert g("elu").df(0.0) == 1.0
    assert g("elu", alpha=0.4).df(0.0) == 0.4
    assert g("selu").df(0.0) == SELU_SCALE * SELU_ALPHA
    # and the right limits
    assert g("relu").df(1e-300) == 1.0
    assert g("elu", alpha=0.4).df(1e-300) == 1.0
    assert g("selu").df(1e-300) == SELU_SCALE


@pytest.mark.parametrize("name, kwargs", VARIANTS, ids=VARIANT_IDS)
def test_parity_and_symmetry(name, kwargs):
    act = get_activation(name, **kwargs)
    x = np.linspace(0.01, 10, 1000)
    if name in ("linear", "tanh", "erf"):
        np.testing.assert_array_equal(act.f(-x), -act.f(x))
        np.testing.assert_array_equal(act.df(-x), act.df(x))
    if name == "sigmoid":
        np.testing.assert_allclose(act.f(-x), 1 - act.f(x), rtol=0, atol=3e-16)
    if name in ("swish", "gelu", "gelu_tanh", "softplus"):
        # phi(x) - phi(-x) = x (softplus, swish, gelu family)
        np.testing.assert_allclose(act.f(x) - act.f(-x), x, rtol=1e-14)


@pytest.mark.parametrize("name, kwargs", VARIANTS, ids=VARIANT_IDS)
def test_large_inputs_are_finite_and_warning_free(name, kwargs):
    act = get_activation(name, **kwargs)
    x = np.array([-1e308, -1e300, -1e200, -1e3, -40.0, -0.0, 0.0, 40.0, 1e3, 1e200,
                  1e300, 1e308])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            y = act.f(x)
            d = act.df(x)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(d))
    # asymptotes
    neg, pos = act.f(np.array([-1e3, 1e3]))
    dneg, dpos = act.df(np.array([-1e3, 1e3]))
    if act.bounds is not None:
        assert (neg, pos) == act.bounds
        assert dneg == dpos == 0.0
    elif act.piecewise_linear is not None:
        p, m = act.piecewise_linear
        assert (neg, pos, dneg, dpos) == (-1e3 * m, 1e3 * p, m, p)
    else:
        scale = SELU_SCALE if name == "selu" else 1.0
        assert pos == pytest.approx(1e3 * scale, rel=1e-15)
        assert dpos == scale and dneg == 0.0
        if name in ("elu", "selu"):
            alpha = act.params["alpha"]
            assert neg == pytest.approx(-scale * alpha, rel=1e-15)
        else:
            assert neg == 0.0


@pytest.mark.parametrize("name, kwargs", VARIANTS, ids=VARIANT_IDS)
def test_float32_input_is_computed_in_float64(name, kwargs):
    act = get_activation(name, **kwargs)
    x32 = np.linspace(-4, 4, 33, dtype=np.float32)
    np.testing.assert_array_equal(act.f(x32), act.f(x32.astype(np.float64)))


def test_activation_is_a_dataclass_with_documented_fields():
    names = {f.name for f in dataclasses.fields(Activation)}
    assert {"name", "code", "params", "p0", "bounds", "kinks"} <= names
    assert repr(get_activation("elu", alpha=0.5)) == "get_activation('elu', alpha=0.5)"
