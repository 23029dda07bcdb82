"""Tests of the mean-field theory module (fastinit.theory).

Every expectation is compared with independent adaptive quadrature
(scipy.integrate.quad, split at the kink and at the activation's own scale),
closed forms are compared with numerical integration, fixed points with a
root of the quadrature-based map, and the per-layer predictions with a plain
NumPy Monte Carlo of many independent wide networks (the reference
implementation lives here, in the test suite).
"""

import math
import sys
import warnings

import numpy as np
import pytest
from scipy import integrate, optimize

from fastinit import theory
from fastinit.activations import ACTIVATIONS, SELU_ALPHA, SELU_SCALE, get_activation

VARIANTS = [(name, {}) for name in ACTIVATIONS] + [
    ("leaky_relu", {"negative_slope": 0.2}),
    ("elu", {"alpha": 0.5}),
    ("elu", {"alpha": 2.5}),
]
VARIANT_IDS = [n + "".join(f"-{k}={v}" for k, v in kw.items()) for n, kw in VARIANTS]

#: q from 1e-8 to 1e4: tiny, moderate, and steep (phi(sqrt(q) z) changes
#: over |z| ~ 1e-2 at q = 1e4, where fixed Gauss-Hermite rules fail).
QS = [1e-8, 1e-5, 1e-2, 0.5, 1.0, 3.7, 50.0, 1e3, 1e4]
SQRT_2PI = math.sqrt(2.0 * math.pi)


# --------------------------------------------------------------------------
# Independent reference: adaptive quadrature
# --------------------------------------------------------------------------

def ref_expect(g, q, zmax=13.0):
    """E[g(sqrt(q) z)], z ~ N(0, 1), by scipy.integrate.quad on pieces split at
    z = 0 (kinks) and at |z| = 0.1, 1, 10 / sqrt(q) (the activation's scale)."""
    s = math.sqrt(q)
    cuts = {0.0}
    for k in (0.1, 1.0, 10.0):
        if k / s < zmax:
            cuts |= {k / s, -k / s}
    edges = [-zmax, *sorted(cuts), zmax]

    def integrand(z):
        return float(g(s * z)) * math.exp(-0.5 * z * z) / SQRT_2PI

    total = err = scale = 0.0
    with warnings.catch_warnings():
        # quad's own error estimate is checked below instead; it may warn about
        # roundoff on pieces where the integrand has underflowed
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for a, b in zip(edges[:-1], edges[1:]):
            val, e = integrate.quad(integrand, a, b, epsabs=0.0, epsrel=1e-12, limit=400)
            total, err, scale = total + val, err + e, scale + abs(val)
    assert err <= 1e-11 * scale, (q, total, err)
    return total


def ref_cross(g, q, c):
    """E[g(u1) g(u2)], u ~ N(0, q [[1, c], [c, 1]]), by nested quad."""
    s = math.sqrt(q)
    r = math.sqrt((1 - c) * (1 + c))

    def inner(z1):
        zc = -c * z1 / r  # where u2 = 0

        def f2(z2):
            return float(g(s * (c * z1 + r * z2))) * math.exp(-0.5 * z2 * z2) / SQRT_2PI

        pts = [p for p in (zc, zc - 1 / (s * r), zc + 1 / (s * r)) if -12 < p < 12]
        return integrate.quad(f2, -12, 12, points=pts or None, epsabs=1e-15, epsrel=1e-12,
                              limit=400)[0]

    def outer(z1):
        return float(g(s * z1)) * inner(z1) * math.exp(-0.5 * z1 * z1) / SQRT_2PI

    pts = [p for p in (0.0, 1 / s, -1 / s) if -12 < p < 12]
    with warnings.catch_warnings():
        # the inner integrals may warn about roundoff where the integrand has
        # underflowed; the outer error estimate is checked instead
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        val, err = integrate.quad(outer, -12, 12, points=pts, epsabs=1e-15, epsrel=1e-11,
                                  limit=400)
    assert err <= 1e-10 * abs(val) + 1e-14
    return val


def ref_length_map(act, sw, sb, q):
    return sw * sw * ref_expect(lambda x: act.f(x) ** 2, q) + sb * sb


def ref_chi(act, sw, q):
    return sw * sw * ref_expect(lambda x: act.df(x) ** 2, q)


# --------------------------------------------------------------------------
# Gaussian moments
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name, kwargs", VARIANTS, ids=VARIANT_IDS)
def test_moments_against_quad(name, kwargs):
    act = get_activation(name, **kwargs)
    mom = theory.activation_moments(act, np.array(QS))
    for i, q in enumerate(QS):
        m2 = ref_expect(lambda x: act.f(x) ** 2, q)
        d2 = ref_expect(lambda x: act.df(x) ** 2, q)
        d4 = ref_expect(lambda x: act.df(x) ** 4, q)
        mean = ref_expect(act.f, q)
        abs_mean = ref_expect(lambda x: abs(act.f(x)), q)
        var = ref_expect(lambda x: (act.f(x) - mean) ** 2, q)
        assert mom.second_moment[i] == pytest.approx(m2, rel=1e-9, abs=0), q
        assert mom.deriv_second_moment[i] == pytest.approx(d2, rel=1e-9, abs=0), q
        assert mom.deriv_fourth_moment[i] == pytest.approx(d4, rel=1e-9, abs=0), q
        assert mom.variance[i] == pytest.approx(var, rel=1e-9, abs=0), q
        # the mean may vanish (odd activations, SELU at q = 1): compare to E|phi|
        assert abs(mom.mean[i] - mean) <= 1e-9 * abs_mean, q


def test_scalar_and_array_shapes():
    m = theory.activation_moments("tanh", 0.7)
    assert isinstance(m.second_moment, float) and isinstance(m.q, float)
    a = theory.activation_moments("tanh", [[0.7, 1.0], [2.0, 3.0]])
    assert a.second_moment.shape == (2, 2)
    assert a.second_moment[0, 0] == m.second_moment
    assert isinstance(theory.length_map("tanh", 1.0, 0.0, 2.0), float)
    assert theory.length_map("tanh", 1.0, 0.0, [2.0, 3.0]).shape == (2,)


def test_quadrature_engine_handles_kinks_and_steep_inputs():
    # The numerical engine (bypassing the closed forms) on activations whose
    # answer is known exactly: kinks at 0 and steep erf at large q.
    q = np.array(QS)
    relu = get_activation("relu")
    (m2, d2) = theory._gauss(q, lambda x: (relu.f(x) ** 2, relu.df(x) ** 2), (0, 0))
    np.testing.assert_allclose(m2, q / 2, rtol=1e-13)
    np.testing.assert_allclose(d2, 0.5, rtol=1e-13)
    leaky = get_activation("leaky_relu", negative_slope=0.3)
    (mean,) = theory._gauss(q, lambda x: (leaky.f(x),), (0,))
    np.testing.assert_allclose(mean, 0.7 * np.sqrt(q / (2 * math.pi)), rtol=1e-13)
    erf = get_activation("erf")
    (e2, ed2) = theory._gauss(q, lambda x: (erf.f(x) ** 2, erf.df(x) ** 2), (1, 1))
    np.testing.assert_allclose(e2, 2 / math.pi * np.arcsin(2 * q / (1 + 2 * q)), rtol=1e-12)
    np.testing.assert_allclose(ed2, 4 / math.pi / np.sqrt(1 + 4 * q), rtol=1e-12)


def test_closed_forms_against_quad():
    # relu/leaky relu (arc-cosine kernel) and erf (arcsine kernel), directly
    for q in (1e-6, 0.3, 7.0, 2e3):
        assert theory.activation_moments("relu", q).second_moment == q / 2
        erf = get_activation("erf")
        assert theory.activation_moments("erf", q).second_moment == pytest.approx(
            ref_expect(lambda x: erf.f(x) ** 2, q), rel=1e-11)
        assert theory.activation_moments("erf", q).deriv_fourth_moment == pytest.approx(
            ref_expect(lambda x: erf.df(x) ** 4, q), rel=1e-11)
        leaky = get_activation("leaky_relu", negative_slope=-0.4)
        m = theory.activation_moments(leaky, q)
        assert m.variance == pytest.approx(
            ref_expect(lambda x: (leaky.f(x) - m.mean) ** 2, q), rel=1e-11)


# --------------------------------------------------------------------------
# Two-input expectations (correlation map)
# --------------------------------------------------------------------------

CROSS_CASES = [(q, c) for q in (1e-4, 1.0, 1e3) for c in (-0.99, -0.3, 0.0, 0.5, 0.9, 0.999999)]


@pytest.mark.parametrize("name, kwargs", [("relu", {}), ("leaky_relu", {"negative_slope": 0.2}),
                                          ("erf", {}), ("linear", {})])
def test_cross_closed_forms_against_numerical_rule(name, kwargs):
    act = get_activation(name, **kwargs)
    for q, c in CROSS_CASES:
        for deriv in (False, True):
            closed = theory._cross(act, q, c, deriv)
            numeric = theory._cross_numeric(act, q, c, deriv)
            scale = theory._cross(act, q, 1.0, deriv)  # E[g^2] bounds |E[g g']|
            assert abs(closed - numeric) <= 1e-10 * scale, (q, c, deriv)


@pytest.mark.parametrize("name, q, c, deriv", [
    ("tanh", 2.0, 0.6, False), ("tanh", 30.0, 0.95, True), ("sigmoid", 0.3, -0.4, False),
    ("swish", 5.0, 0.95, False), ("elu", 1.0, 0.3, False), ("elu", 1.0, 0.3, True),
    ("gelu", 100.0, 0.7, False), ("softplus", 0.01, 0.2, False), ("selu", 1.0, -0.8, True),
])
def test_cross_against_nested_quad(name, q, c, deriv):
    act = get_activation(name)
    g = act.df if deriv else act.f
    ref = ref_cross(g, q, c)
    assert theory._cross(act, q, c, deriv) == pytest.approx(ref, rel=1e-9)


def test_correlation_map_properties():
    # c = 1 is always fixed at q*; relu at He init maps c = 0 to 1/pi
    for name in ("tanh", "relu", "swish", "sigmoid"):
        assert theory.correlation_map(name, 1.3, 0.2, 1.0) == pytest.approx(1.0, abs=1e-12)
    assert theory.correlation_map("relu", math.sqrt(2), 0.0, 0.0) == pytest.approx(1 / math.pi)
    cs = np.linspace(-1, 1, 21)
    out = theory.correlation_map("tanh", 1.5, 0.1, cs)
    assert out.shape == cs.shape and np.all(np.diff(out) > 0)
    # odd activation without bias: c -> -c symmetry
    np.testing.assert_allclose(theory.correlation_map("erf", 1.7, 0.0, -cs),
                               -theory.correlation_map("erf", 1.7, 0.0, cs), atol=1e-15)
    # explicit q: equals (sigma_w^2 E[phi phi'] + sigma_b^2) / length_map(q)
    act = get_activation("tanh")
    q, c, sw, sb = 0.8, 0.4, 1.2, 0.3
    expect = (sw**2 * ref_cross(act.f, q, c) + sb**2) / ref_length_map(act, sw, sb, q)
    assert theory.correlation_map(act, sw, sb, c, q=q) == pytest.approx(expect, rel=1e-9)


def test_correlation_fixed_point():
    # ordered or critical: c* = 1
    assert theory.correlation_fixed_point("tanh", 1.0, 0.3) == 1.0
    assert theory.correlation_fixed_point("relu", math.sqrt(2), 0.0) == 1.0
    # chaotic: a stable c* < 1 that the map fixes
    for name, sw, sb in (("tanh", 2.0, 0.3), ("erf", 3.0, 0.1), ("swish", 1.41, 1.0)):
        assert theory.phase(name, sw, sb) == "chaotic"
        cs = theory.correlation_fixed_point(name, sw, sb)
        assert 0 <= cs < 1
        assert theory.correlation_map(name, sw, sb, cs) == pytest.approx(cs, abs=1e-12)
    # tanh chaotic without bias: c* = 0 is the fixed point of an odd map
    assert theory.correlation_fixed_point("tanh", 2.0, 0.0) == pytest.approx(0.0, abs=1e-15)
    # tanh ordered without bias: q* = 0 and the limit map is the identity
    assert math.isnan(theory.correlation_fixed_point("tanh", 0.8, 0.0))
    assert theory.correlation_map("tanh", 0.8, 0.0, 0.3) == pytest.approx(0.3)


# --------------------------------------------------------------------------
# Identities
# --------------------------------------------------------------------------

def test_relu_second_moment_is_half_q():
    q = np.logspace(-8, 4, 25)
    np.testing.assert_array_equal(theory.activation_moments("relu", q).second_moment, q / 2)
    np.testing.assert_allclose(theory.length_map("relu", math.sqrt(2), 0.0, q), q, rtol=1e-15)


def test_selu_self_normalizing_fixed_point():
    m = theory.activation_moments("selu", 1.0)
    assert abs(m.mean) < 1e-12
    assert m.variance == pytest.approx(1.0, abs=1e-12)
    assert m.second_moment == pytest.approx(1.0, abs=1e-12)
    # LeCun init (sigma_w = 1, no bias): q* = 1, reached from anywhere, and stable
    for q0 in (0.1, 1.0, 3.0, 50.0):
        assert theory.fixed_point("selu", 1.0, 0.0, q0=q0) == pytest.approx(1.0, abs=1e-12)
    xi_q, _ = theory.depth_scales("selu", 1.0, 0.0)
    assert 0 < xi_q < math.inf
    p = theory.predict_stack("selu", 1.0, 0.0, 20, input_second_moment=1.0)
    np.testing.assert_allclose(p.q, 1.0, atol=1e-12)
    np.testing.assert_allclose(p.post_mean, 0.0, atol=1e-12)
    np.testing.assert_allclose(p.post_variance, 1.0, atol=1e-12)
    # and SELU's constants are exactly what makes this hold
    ref_mean = ref_expect(lambda x: SELU_SCALE * (x if x > 0 else SELU_ALPHA * math.expm1(x)), 1)
    assert abs(ref_mean) < 1e-12


def test_linear_networks_preserve_variance_exactly():
    for m0 in (1e-3, 1.0, 2.5, 1e6):
        p = theory.predict_stack("linear", 1.0, 0.0, 50, input_second_moment=m0)
        np.testing.assert_array_equal(p.q, m0)
        np.testing.assert_array_equal(p.post_second_moment, m0)
        np.testing.assert_array_equal(p.grad_scale, 1.0)
        np.testing.assert_array_equal(theory.variance_path("linear", 1.0, 0.0, 10, m0), m0)
    assert theory.fixed_point("linear", 1.0, 0.0, q0=3.5) == 3.5
    assert theory.chi1("linear", 1.0, 0.0) == 1.0
    assert theory.phase("linear", 1.0, 0.0) == "critical"


# --------------------------------------------------------------------------
# Fixed points
# --------------------------------------------------------------------------

FIXED_CASES = [("tanh", 1.5, 0.3), ("tanh", 1.05, 0.0), ("tanh", 4.0, 0.0), ("erf", 1.2, 0.5),
               ("sigmoid", 3.0, 0.0), ("sigmoid", 12.0, 0.5), ("softplus", 1.0, 0.1),
               ("swish", 1.2, 0.5), ("gelu", 1.2, 0.5), ("gelu_tanh", 1.3, 0.2),
               ("elu", 1.1, 0.2), ("selu", 1.0, 0.3), ("relu", 1.2, 0.4),
               ("leaky_relu", 1.3, 0.1)]


@pytest.mark.parametrize("name, sw, sb", FIXED_CASES)
def test_fixed_point_against_quadrature_root(name, sw, sb):
    act = get_activation(name)
    qs = theory.fixed_point(act, sw, sb)
    assert 0 < qs < math.inf
    # q* is a root of the quadrature-based map, and it is stable
    ref = optimize.brentq(lambda q: ref_length_map(act, sw, sb, q) - q, qs * 0.9, qs * 1.1,
                          xtol=1e-300, rtol=1e-14)
    assert qs == pytest.approx(ref, rel=1e-9)
    h = 1e-6 * qs
    slope = (ref_length_map(act, sw, sb, qs + h) - ref_length_map(act, sw, sb, qs - h)) / (2 * h)
    assert slope < 1
    # chi1 at q* against quadrature
    assert theory.chi1(act, sw, sb) == pytest.approx(ref_chi(act, sw, ref), rel=1e-9)


def test_fixed_point_matches_iteration():
    # plain iteration of the map converges geometrically here
    for name, sw, sb, q0 in (("tanh", 1.5, 0.3, 5.0), ("swish", 1.2, 0.5, 0.01)):
        path = theory.variance_path(name, sw, sb, 400, q0)
        assert theory.fixed_point(name, sw, sb, q0=q0) == pytest.approx(path[-1], rel=1e-12)


def test_fixed_point_zero_is_analytic():
    # ordered tanh without bias: plain iteration creeps like 1/l; q* = 0 exactly
    for sw in (0.1, 0.9, 1.0):
        assert theory.fixed_point("tanh", sw, 0.0) == 0.0
        assert theory.fixed_point("erf", sw / (2 / math.sqrt(math.pi)), 0.0) == 0.0
    path = theory.variance_path("tanh", 1.0, 0.0, 1000, 1.0)
    assert path[-1] > 4e-4  # iteration is still far from 0 (q_l ~ 1 / (2 l)) ...
    assert theory.chi1("tanh", 1.0, 0.0) == 1.0  # ... but the limit is exact
    # just above criticality the fixed point leaves 0 continuously
    assert 0 < theory.fixed_point("tanh", 1.001, 0.0) < 1e-2
    # other activations that decay to 0 without bias are found by bracketing
    assert theory.fixed_point("elu", 0.9, 0.0) == 0.0
    assert theory.fixed_point("swish", 1.5, 0.0) == 0.0


def test_fixed_point_of_piecewise_linear():
    assert theory.fixed_point("relu", 1.0, 0.5) == pytest.approx(0.25 / (1 - 0.5))
    assert theory.fixed_point("relu", math.sqrt(2), 0.0, q0=7.0) == 7.0
    assert theory.fixed_point("relu", math.sqrt(2), 0.1) == math.inf
    assert theory.fixed_point("relu", 1.5, 0.0) == math.inf
    assert theory.fixed_point("leaky_relu", 1.0, 0.0, activation_kwargs={"slope": 0.5}) == 0.0


def test_fixed_point_edge_cases():
    assert theory.fixed_point("tanh", 0.0, 0.7) == pytest.approx(0.49)
    assert theory.fixed_point("sigmoid", 0.0, 0.0) == 0.0
    # divergence of unbounded activations is detected, not iterated
    for name in ("elu", "selu", "softplus", "swish", "gelu", "gelu_tanh"):
        assert theory.fixed_point(name, 3.0, 0.5) == math.inf
    # two fixed points (swish at sigma_w^2 = 3): the start decides
    assert theory.fixed_point("swish", math.sqrt(3), 0.0, q0=0.5) == 0.0
    assert theory.fixed_point("swish", math.sqrt(3), 0.0, q0=1e3) == math.inf
    # huge and tiny scales return promptly
    for name in ACTIVATIONS:
        for sw, sb in ((1e3, 1e3), (1e-150, 1e-150), (1e-3, 0.0), (50.0, 0.0)):
            val = theory.fixed_point(name, sw, sb)
            assert val >= 0 and not math.isnan(val)
    qs = theory.fixed_point("tanh", 1e3, 1e3)
    assert qs == pytest.approx(theory.length_map("tanh", 1e3, 1e3, qs), rel=1e-14)
    assert 1e6 < qs < 2e6


# --------------------------------------------------------------------------
# chi1, depth scales, phases, critical line
# --------------------------------------------------------------------------

def test_chi1_known_values():
    assert theory.chi1("relu", math.sqrt(2), 0.0) == pytest.approx(1.0, abs=1e-15)
    assert theory.chi1("relu", 1.0, 0.3) == 0.5
    assert theory.chi1("leaky_relu", 1.0, 0.0, activation_kwargs={"negative_slope": 0.5}) == 0.625
    assert theory.chi1("tanh", 1.0, 0.0) == 1.0
    assert theory.chi1("tanh", 0.5, 0.0) == 0.25
    # diverging q*: the asymptotic slopes decide (swish: 1 on the right, 0 on the left)
    assert theory.chi1("swish", 3.0, 0.5) == pytest.approx(4.5)
    assert theory.chi1("relu", 2.0, 0.1) == 2.0


def test_depth_scales():
    sw, sb = 1.2, 0.3
    act = get_activation("tanh")
    qs = theory.fixed_point(act, sw, sb)
    h = 1e-5 * qs
    slope = (ref_length_map(act, sw, sb, qs + h) - ref_length_map(act, sw, sb, qs - h)) / (2 * h)
    xi_q, xi_c = theory.depth_scales(act, sw, sb)
    assert xi_q == pytest.approx(-1 / math.log(slope), rel=1e-6)
    chi = theory.chi1(act, sw, sb)
    assert chi < 1
    assert xi_c == pytest.approx(-1 / math.log(chi), rel=1e-12)
    # critical: xi_c diverges
    sw_c = theory.critical_sigma_w("tanh", sb)
    assert theory.depth_scales("tanh", sw_c, sb)[1] > 1e6
    assert theory.depth_scales("relu", math.sqrt(2), 0.0)[1] == math.inf
    # chaotic: xi_c from the slope at c* < 1
    xi_q, xi_c = theory.depth_scales("tanh", 2.0, 0.3)
    cs = theory.correlation_fixed_point("tanh", 2.0, 0.3)
    dc = 1e-6
    slope_c = (theory.correlation_map("tanh", 2.0, 0.3, cs + dc)
               - theory.correlation_map("tanh", 2.0, 0.3, cs - dc)) / (2 * dc)
    assert xi_c == pytest.approx(-1 / math.log(slope_c), rel=1e-5)
    assert math.isnan(theory.depth_scales("relu", 2.0, 0.0)[0])


def test_phase():
    assert theory.phase("tanh", 0.5, 0.0) == "ordered"
    assert theory.phase("tanh", 1.0, 0.0) == "critical"
    assert theory.phase("tanh", 3.0, 0.0) == "chaotic"
    assert theory.phase("relu", math.sqrt(2), 0.0) == "critical"
    assert theory.phase("relu", 1.5, 0.0) == "chaotic"
    assert theory.phase("tanh", 1.0 + 1e-6, 0.0, tol=1e-3) == "critical"
    with pytest.raises(ValueError, match="tol"):
        theory.phase("tanh", 1.0, 0.0, tol=-1.0)


def test_critical_sigma_w():
    assert theory.critical_sigma_w("tanh", 0.0) == 1.0
    assert theory.critical_sigma_w("erf", 0.0) == pytest.approx(math.sqrt(math.pi) / 2)
    for sb in (0.0, 0.3, 2.0):
        assert theory.critical_sigma_w("relu", sb) == pytest.approx(math.sqrt(2))
        assert theory.critical_sigma_w("leaky_relu", sb, activation_kwargs={"slope": 0.5}) \
            == pytest.approx(math.sqrt(2 / 1.25))
    assert theory.critical_sigma_w("selu", 0.0) == pytest.approx(
        math.sqrt(2 / (1 + SELU_ALPHA**2)) / SELU_SCALE)
    # tanh with bias: check chi1 = 1 at the independently computed fixed point
    act = get_activation("tanh")
    for sb in (math.sqrt(0.05), 0.5, 1.0):
        sw = theory.critical_sigma_w(act, sb)
        qs = optimize.brentq(lambda q: ref_length_map(act, sw, sb, q) - q, 1e-6, sw * sw + sb * sb,
                             xtol=1e-300, rtol=1e-14)
        assert ref_chi(act, sw, qs) == pytest.approx(1.0, abs=1e-9)
    # the classic value: sigma_w^2 ~ 1.76 at sigma_b^2 = 0.05 (Schoenholz et al. 2017)
    assert theory.critical_sigma_w("tanh", math.sqrt(0.05)) ** 2 == pytest.approx(1.76095, abs=1e-5)
    # sigmoid has an edge of chaos too
    sw = theory.critical_sigma_w("sigmoid", 0.2)
    assert theory.chi1("sigmoid", sw, 0.2) == pytest.approx(1.0, abs=1e-9)


def test_critical_sigma_w_none_when_absent():
    # softplus: chi1 < sigma_w^2 / 2 < 1 wherever q* is finite; never critical
    for sb in (0.0, 0.5, 1.0):
        assert theory.critical_sigma_w("softplus", sb) is None
    # swish/gelu without bias: the only candidate has a diverging q*
    assert theory.critical_sigma_w("swish", 0.0) is None
    line = theory.critical_line("swish", [0.0, 1.0])
    assert math.isnan(line[0]) and line[1] == pytest.approx(theory.critical_sigma_w("swish", 1.0))


def test_critical_line_matches_pointwise():
    sb = np.sqrt(np.linspace(0, 0.5, 11))
    line = theory.critical_line("tanh", sb)
    assert line.shape == sb.shape
    for s, w in zip(sb, line):
        assert w == theory.critical_sigma_w("tanh", s)
        assert theory.chi1("tanh", w, s) == pytest.approx(1.0, abs=1e-10)
    assert np.all(np.diff(line) > 0)


def test_phase_diagram():
    sw2 = np.linspace(0.0, 4.0, 41)
    sb2 = np.linspace(0.0, 0.5, 21)
    chi = theory.phase_diagram("tanh", sw2, sb2)
    assert chi.shape == (41, 21)
    np.testing.assert_array_equal(chi[0], 0.0)
    act = get_activation("tanh")
    rng = np.random.default_rng(7)
    for i, j in rng.integers(0, [41, 21], size=(25, 2)):
        scalar = theory.chi1(act, math.sqrt(sw2[i]), math.sqrt(sb2[j]))
        assert chi[i, j] == pytest.approx(scalar, rel=1e-9, abs=1e-15)
    # against quadrature at a few points (target accuracy of the diagram: 1e-6)
    for i, j in ((40, 0), (17, 5), (25, 20)):
        sw, sb = math.sqrt(sw2[i]), math.sqrt(sb2[j])
        qs = optimize.brentq(lambda q: ref_length_map(act, sw, sb, q) - q, 1e-9, 5.0,
                             xtol=1e-300, rtol=1e-14)
        assert chi[i, j] == pytest.approx(ref_chi(act, sw, qs), rel=1e-8)
    # the sign of log chi1 agrees with the critical line
    crit = theory.critical_line("tanh", np.sqrt(sb2)) ** 2
    for j in range(sb2.size):
        below = sw2 < crit[j] - 1e-9
        above = sw2 > crit[j] + 1e-9
        assert np.all(chi[below, j] < 1) and np.all(chi[above, j] > 1)


@pytest.mark.parametrize("name", ["sigmoid", "swish", "elu", "relu", "erf"])
def test_phase_diagram_other_activations(name):
    sw2 = np.linspace(0.5, 4.0, 8)
    sb2 = np.array([0.0, 0.3])
    chi = theory.phase_diagram(name, sw2, sb2)
    for i in range(sw2.size):
        for j in range(sb2.size):
            assert chi[i, j] == pytest.approx(
                theory.chi1(name, math.sqrt(sw2[i]), math.sqrt(sb2[j])), rel=1e-9)


def test_plot_phase_diagram_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    monkeypatch.setitem(sys.modules, "matplotlib.colors", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        theory.plot_phase_diagram("tanh")


def test_plot_phase_diagram(tmp_path):
    try:
        import matplotlib
    except ImportError:
        # matplotlib is an optional extra: without it the call must say how to get it
        with pytest.raises(ImportError, match="pip install"):
            theory.plot_phase_diagram("tanh")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sw2 = np.linspace(0.1, 4.0, 30)
    sb2 = np.linspace(0.0, 0.5, 20)
    ax = theory.plot_phase_diagram("tanh", sw2, sb2)
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_xdata(), theory.critical_line("tanh", np.sqrt(sb2)) ** 2)
    assert ax.get_xlabel() and ax.get_ylabel()
    ax.figure.savefig(tmp_path / "phase.png")
    plt.close(ax.figure)
    fig, ax2 = plt.subplots()
    assert theory.plot_phase_diagram("relu", sw2, sb2, ax=ax2, critical=False) is ax2
    assert not ax2.get_lines()
    plt.close(fig)


# --------------------------------------------------------------------------
# Gains
# --------------------------------------------------------------------------

def test_variance_preserving_gain():
    g = theory.variance_preserving_gain
    assert g("linear") == 1.0
    assert g("relu") == pytest.approx(math.sqrt(2), rel=1e-15)
    assert g("leaky_relu", activation_kwargs={"negative_slope": 0.2}) == pytest.approx(
        math.sqrt(2 / 1.04), rel=1e-15)
    assert g("selu") == pytest.approx(1.0, abs=1e-12)
    tanh, sig = get_activation("tanh"), get_activation("sigmoid")
    assert g("tanh") == pytest.approx(ref_expect(lambda x: tanh.f(x) ** 2, 1.0) ** -0.5, rel=1e-12)
    assert g("tanh", "backward") == pytest.approx(
        ref_expect(lambda x: tanh.df(x) ** 2, 1.0) ** -0.5, rel=1e-12)
    assert g("sigmoid", "variance") == pytest.approx(
        ref_expect(lambda x: (sig.f(x) - 0.5) ** 2, 1.0) ** -0.5, rel=1e-12)
    assert g("relu", "backward") == pytest.approx(math.sqrt(2), rel=1e-15)
    assert g("relu", "variance") == pytest.approx(math.sqrt(2 * math.pi / (math.pi - 1)))
    # torch's table differs for tanh (5/3), sigmoid (1) and selu (3/4)
    assert abs(g("tanh") - 5 / 3) > 0.05
    # the defining property: q = 1 is a fixed point of the length map without bias
    for name in ACTIVATIONS:
        assert theory.length_map(name, g(name), 0.0, 1.0) == pytest.approx(1.0, rel=1e-13)
        m = theory.activation_moments(name, 1.0)
        assert g(name, "backward") ** 2 * m.deriv_second_moment == pytest.approx(1.0, rel=1e-13)
        assert g(name, "variance") ** 2 * m.variance == pytest.approx(1.0, rel=1e-13)


def test_variance_preserving_gain_bad_criterion():
    with pytest.raises(ValueError) as exc:
        theory.variance_preserving_gain("tanh", "forward")
    assert "'forward'" in str(exc.value) and "'second_moment'" in str(exc.value)
    with pytest.raises(TypeError, match="'alpha'"):
        theory.variance_preserving_gain("relu", activation_kwargs={"alpha": 1})


# --------------------------------------------------------------------------
# Per-layer prediction
# --------------------------------------------------------------------------

def test_predict_stack_is_consistent():
    sw, sb, m0, depth = 1.3, 0.2, 0.7, 12
    p = theory.predict_stack("tanh", sw, sb, depth, input_second_moment=m0, input_correlation=0.4)
    assert p.layer.tolist() == list(range(1, depth + 1))
    assert p.q[0] == sw * sw * m0 + sb * sb  # layer 1 sees the raw input
    for l in range(depth - 1):
        assert p.q[l + 1] == pytest.approx(theory.length_map("tanh", sw, sb, p.q[l]), rel=1e-15)
    mom = theory.activation_moments("tanh", p.q)
    np.testing.assert_allclose(p.post_second_moment, mom.second_moment, rtol=1e-15)
    np.testing.assert_allclose(p.post_variance, mom.variance, rtol=1e-15)
    np.testing.assert_allclose(p.post_mean, mom.mean, atol=1e-15)
    np.testing.assert_allclose(p.chi, sw * sw * mom.deriv_second_moment, rtol=1e-15)
    assert p.grad_scale[-1] == 1.0
    np.testing.assert_allclose(p.grad_scale[:-1], np.cumprod(p.chi[::-1])[::-1][1:], rtol=1e-14)
    assert p.c[0] == pytest.approx((sw * sw * 0.4 * m0 + sb * sb) / p.q[0])
    for l in range(depth - 1):
        assert p.c[l + 1] == pytest.approx(
            theory.correlation_map("tanh", sw, sb, p.c[l], q=p.q[l]), rel=1e-14)
    act = get_activation("tanh")
    assert p.post_correlation[3] == pytest.approx(
        ref_cross(act.f, p.q[3], p.c[3]) / p.post_second_moment[3], rel=1e-9)
    assert p.q_star == pytest.approx(theory.fixed_point("tanh", sw, sb), rel=1e-12)
    assert p.chi1 == pytest.approx(theory.chi1("tanh", sw, sb), rel=1e-12)
    assert p.phase == theory.phase("tanh", sw, sb)
    # identical inputs stay identical
    p1 = theory.predict_stack("relu", 1.2, 0.1, 5, input_correlation=1.0)
    np.testing.assert_allclose(p1.c, 1.0, atol=1e-12)
    np.testing.assert_allclose(p1.post_correlation, 1.0, atol=1e-12)
    # at the fixed point the gradient scaling is chi1^(L - l)
    qs = theory.fixed_point("erf", 1.5, 0.3)
    m0 = (qs - 0.09) / 2.25
    pe = theory.predict_stack("erf", 1.5, 0.3, 6, input_second_moment=m0)
    np.testing.assert_allclose(pe.q, qs, rtol=1e-12)
    np.testing.assert_allclose(pe.grad_scale, pe.chi1 ** np.arange(5, -1, -1), rtol=1e-12)
    assert pe.c is None and pe.post_correlation is None


def test_predict_stack_overflow_is_inf_not_nan():
    p = theory.predict_stack("relu", 4.0, 0.0, 600)
    assert p.q[-1] == math.inf
    assert not np.any(np.isnan(p.q))
    p = theory.predict_stack("swish", 3.0, 0.1, 800, input_correlation=0.5)
    assert p.q[-1] == math.inf and not np.any(np.isnan(p.post_second_moment))


def test_format_table():
    p = theory.predict_stack("tanh", 1.2, 0.1, 100, input_correlation=0.3)
    text = theory.format_table(p, max_rows=10)
    lines = text.splitlines()
    assert lines[0].startswith("activation tanh")
    assert "chaotic" in lines[0] or "ordered" in lines[0]
    assert "c (pre)" in lines[1] and "grad scale" in lines[1]
    assert len(lines) == 12
    assert lines[2].split()[0] == "1" and lines[-1].split()[0] == "100"
    assert float(lines[-1].split()[1]) == pytest.approx(p.q[-1], rel=1e-5)
    full = theory.format_table(theory.predict_stack("relu", 1.0, 0.0, 3), max_rows=None)
    assert len(full.splitlines()) == 5 and "c (pre)" not in full
    with pytest.raises(TypeError, match="StackPrediction"):
        theory.format_table({"q": [1.0]})
    with pytest.raises(ValueError, match="max_rows"):
        theory.format_table(p, max_rows=1)


# --------------------------------------------------------------------------
# Monte Carlo: many independent wide networks (NumPy reference)
# --------------------------------------------------------------------------

def simulate_numpy(name, sw, sb, depth, width, n_networks, c0, seed):
    """Per-layer statistics of n_networks independent networks fed two inputs
    of per-coordinate second moment 1 and cosine similarity c0; returns the
    per-network arrays (n_networks, depth) of pre-activation second moment,
    post-activation mean, pre-activation correlation and the mean square of
    dLoss/dh_l for a random unit-variance output gradient."""
    act = get_activation(name)
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((n_networks, 2, width))
    a = g[:, 0]
    b = g[:, 1] - np.sum(g[:, 1] * a, axis=1, keepdims=True) / width * a / np.mean(
        a * a, axis=1, keepdims=True)
    a /= np.sqrt(np.mean(a * a, axis=1, keepdims=True))
    b /= np.sqrt(np.mean(b * b, axis=1, keepdims=True))
    h = np.stack([a, c0 * a + math.sqrt(1 - c0 * c0) * b], axis=1)  # (n, 2, width)
    q = np.empty((n_networks, depth))
    mean = np.empty((n_networks, depth))
    corr = np.empty((n_networks, depth))
    weights, derivs = [], []
    for layer in range(depth):
        w = rng.standard_normal((n_networks, width, width)) * (sw / math.sqrt(width))
        bias = rng.standard_normal((n_networks, 1, width)) * sb
        u = h @ w + bias
        q[:, layer] = np.mean(u * u, axis=(1, 2))
        corr[:, layer] = np.sum(u[:, 0] * u[:, 1], axis=1) / np.sqrt(
            np.sum(u[:, 0] ** 2, axis=1) * np.sum(u[:, 1] ** 2, axis=1))
        h = act.f(u)
        mean[:, layer] = np.mean(h, axis=(1, 2))
        weights.append(w)
        derivs.append(act.df(u[:, 0]))
    grad = rng.standard_normal((n_networks, width))  # dLoss/dh_depth
    gms = np.empty((n_networks, depth))
    gms[:, depth - 1] = np.mean(grad * grad, axis=1)
    for layer in range(depth - 1, 0, -1):
        delta = grad * derivs[layer]
        grad = np.einsum("nj,nij->ni", delta, weights[layer])
        gms[:, layer - 1] = np.mean(grad * grad, axis=1)
    return q, mean, corr, gms


@pytest.mark.parametrize("name, sw, sb", [("tanh", 1.5, 0.3), ("relu", 1.3, 0.2),
                                          ("swish", 1.6, 0.4), ("sigmoid", 4.0, 0.5)])
def test_monte_carlo_agreement(name, sw, sb):
    depth, width, n_net, c0 = 6, 256, 192, 0.3
    q, mean, corr, gms = simulate_numpy(name, sw, sb, depth, width, n_net, c0, seed=12345)
    p = theory.predict_stack(name, sw, sb, depth, input_second_moment=1.0, input_correlation=c0)

    def check(measured, predicted, what):
        m = measured.mean(axis=0)
        se = measured.std(axis=0, ddof=1) / math.sqrt(measured.shape[0])
        # finite width biases the statistics by O(1/width): allowed on top of 5 s.e.
        tol = 5 * se + 3.0 / width * np.abs(predicted)
        assert np.all(np.abs(m - predicted) <= tol), (what, m, predicted, se)

    check(q, p.q, "second moment")
    check(mean, p.post_mean, "post mean")
    check(corr, p.c, "correlation")
    check(gms / gms[:, -1:], p.grad_scale, "gradient scale")


# --------------------------------------------------------------------------
# Jacobian spectrum
# --------------------------------------------------------------------------

def test_jacobian_spectrum_exact_cases():
    s = theory.predict_jacobian_spectrum("linear", 1.0, 0.0, 5, weights="orthogonal")
    np.testing.assert_array_equal(s.mean, 1.0)
    np.testing.assert_array_equal(s.variance, 0.0)
    # product of L Gaussian matrices: free Wishart moments m1 = 1, m2 = L + 1
    s = theory.predict_jacobian_spectrum("linear", 1.0, 0.0, 5)
    np.testing.assert_allclose(s.mean, 1.0)
    np.testing.assert_allclose(s.variance, np.arange(1, 6))
    # relu at He init: D^2 is a Bernoulli(1/2) projection times 2
    s = theory.predict_jacobian_spectrum("relu", math.sqrt(2), 0.0, 3, weights="orthogonal")
    np.testing.assert_allclose(s.mean, 1.0)
    np.testing.assert_allclose(s.variance, [1.0, 2.0, 3.0])
    p = theory.predict_stack("tanh", 1.1, 0.2, 4)
    s = theory.predict_jacobian_spectrum("tanh", 1.1, 0.2, 4)
    np.testing.assert_allclose(s.mean, np.cumprod(p.chi), rtol=1e-14)
    with pytest.raises(ValueError, match="'uniform'"):
        theory.predict_jacobian_spectrum("tanh", 1.0, 0.0, 3, weights="uniform")


@pytest.mark.parametrize("weights", ["gaussian", "orthogonal"])
@pytest.mark.parametrize("name, sw, sb", [("tanh", 1.1, 0.1), ("relu", math.sqrt(2), 0.0),
                                          ("erf", 1.0, 0.2)])
def test_jacobian_spectrum_monte_carlo(name, sw, sb, weights):
    width, depth, reps = 96, 3, 12
    rng = np.random.default_rng(2024)
    means, variances = [], []
    for _ in range(reps):
        if weights == "gaussian":
            ws = [rng.standard_normal((width, width)) * (sw / math.sqrt(width))
                  for _ in range(depth)]
        else:
            ws = []
            for _ in range(depth):
                qm, r = np.linalg.qr(rng.standard_normal((width, width)))
                ws.append(sw * qm * np.sign(np.diag(r)))
        bs = [rng.standard_normal(width) * sb for _ in range(depth)]
        x = rng.standard_normal(width)
        x /= np.sqrt(np.mean(x * x))
        m = theory.measure_jacobian_spectrum(ws, x, name, biases=bs)
        means.append(m.mean)
        variances.append(m.variance)
    pred = theory.predict_jacobian_spectrum(name, sw, sb, depth, weights=weights)
    for measured, predicted in ((means, pred.mean[-1]), (variances, pred.variance[-1])):
        measured = np.asarray(measured)
        se = measured.std(ddof=1) / math.sqrt(reps)
        # finite width: O(depth / width) relative bias on top of 5 s.e.
        assert abs(measured.mean() - predicted) <= 5 * se + 0.1 * predicted


def test_measure_jacobian_spectrum_against_finite_differences():
    rng = np.random.default_rng(3)
    ws = [rng.standard_normal((5, 7)) * 0.5, rng.standard_normal((7, 4)) * 0.5]
    bs = [rng.standard_normal(7) * 0.1, rng.standard_normal(4) * 0.1]
    x = rng.standard_normal(5)
    act = get_activation("gelu")

    def forward(v):
        for w, b in zip(ws, bs):
            v = act.f(v @ w + b)
        return v

    eps = 1e-6
    jac = np.array([(forward(x + eps * e) - forward(x - eps * e)) / (2 * eps) for e in np.eye(5)])
    m = theory.measure_jacobian_spectrum(ws, x, "gelu", biases=bs)
    sv = np.linalg.svd(jac, compute_uv=False) ** 2
    np.testing.assert_allclose(m.squared_singular_values[0], sv, rtol=1e-7)
    assert m.squared_singular_values.shape == (1, 4)
    batch = theory.measure_jacobian_spectrum(ws, np.stack([x, -x]), "gelu", biases=bs)
    assert batch.squared_singular_values.shape == (2, 4)
    np.testing.assert_allclose(batch.squared_singular_values[0], sv, rtol=1e-7)


def test_measure_jacobian_spectrum_bad_input():
    w = np.eye(3)
    with pytest.raises(ValueError, match="at least one"):
        theory.measure_jacobian_spectrum([], np.ones(3), "tanh")
    with pytest.raises(ValueError, match="two-dimensional"):
        theory.measure_jacobian_spectrum([np.ones(3)], np.ones(3), "tanh")
    with pytest.raises(ValueError, match="rows"):
        theory.measure_jacobian_spectrum([w, np.ones((4, 2))], np.ones(3), "tanh")
    with pytest.raises(ValueError, match="shape"):
        theory.measure_jacobian_spectrum([w], np.ones(4), "tanh")
    with pytest.raises(ValueError, match="biases"):
        theory.measure_jacobian_spectrum([w], np.ones(3), "tanh", biases=[np.ones(2)])
    with pytest.raises(ValueError, match="finite"):
        theory.measure_jacobian_spectrum([w * np.nan], np.ones(3), "tanh")
    with pytest.raises(ValueError, match="unknown activation"):
        theory.measure_jacobian_spectrum([w], np.ones(3), "tanhh")


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda: theory.length_map("rleu", 1.0, 0.0, 1.0),
    lambda: theory.fixed_point("rleu", 1.0, 0.0),
    lambda: theory.chi1("rleu", 1.0, 0.0),
    lambda: theory.phase_diagram("rleu", [1.0], [0.0]),
    lambda: theory.critical_sigma_w("rleu", 0.0),
    lambda: theory.predict_stack("rleu", 1.0, 0.0, 3),
    lambda: theory.variance_preserving_gain("rleu"),
])
def test_unknown_activation(call):
    with pytest.raises(ValueError, match="unknown activation 'rleu'; valid names are .*'tanh'"):
        call()


@pytest.mark.parametrize("sw, sb, exc, match", [
    (-1.0, 0.0, ValueError, "sigma_w < 0"), (-0.0, 0.0, ValueError, "sigma_w < 0"),
    (1.0, -0.5, ValueError, "sigma_b < 0"), (float("nan"), 0.0, ValueError, "sigma_w must be finite"),
    (float("inf"), 0.0, ValueError, "sigma_w must be finite"),
    (1.0, float("-inf"), ValueError, "sigma_b must be finite"),
    ("1", 0.0, TypeError, "sigma_w must be a real number"), (True, 0.0, TypeError, "real number"),
])
def test_bad_sigma(sw, sb, exc, match):
    for call in (lambda: theory.length_map("tanh", sw, sb, 1.0),
                 lambda: theory.fixed_point("tanh", sw, sb),
                 lambda: theory.chi1("tanh", sw, sb),
                 lambda: theory.depth_scales("tanh", sw, sb),
                 lambda: theory.correlation_map("tanh", sw, sb, 0.5),
                 lambda: theory.predict_stack("tanh", sw, sb, 3)):
        with pytest.raises(exc, match=match):
            call()


@pytest.mark.parametrize("q", [0.0, -1.0, float("nan"), float("inf"), [1.0, 0.0]])
def test_bad_q(q):
    with pytest.raises(ValueError, match="q"):
        theory.length_map("tanh", 1.0, 0.0, q)
    with pytest.raises(ValueError, match="q"):
        theory.activation_moments("tanh", q)
    if np.ndim(q) == 0:
        with pytest.raises(ValueError, match="q0"):
            theory.fixed_point("tanh", 1.0, 0.0, q0=q)
        with pytest.raises(ValueError, match="q0"):
            theory.variance_path("tanh", 1.0, 0.0, 3, q)
        with pytest.raises(ValueError, match="input_second_moment"):
            theory.predict_stack("tanh", 1.0, 0.0, 3, input_second_moment=q)


def test_other_bad_arguments():
    with pytest.raises(ValueError, match="depth"):
        theory.predict_stack("tanh", 1.0, 0.0, 0)
    with pytest.raises(TypeError, match="depth"):
        theory.variance_path("tanh", 1.0, 0.0, 2.5, 1.0)
    with pytest.raises(ValueError, match=r"c must lie in \[-1, 1\]"):
        theory.correlation_map("tanh", 1.0, 0.0, 1.5)
    with pytest.raises(ValueError, match="input_correlation"):
        theory.predict_stack("tanh", 1.0, 0.0, 3, input_correlation=-1.01)
    with pytest.raises(ValueError, match="sigma_b_values < 0"):
        theory.critical_line("tanh", [0.1, -0.2])
    with pytest.raises(ValueError, match="sigma_w2_values must be finite"):
        theory.phase_diagram("tanh", [1.0, np.inf], [0.0])
    with pytest.raises(ValueError, match="one-dimensional"):
        theory.phase_diagram("tanh", [[1.0]], [0.0])
    with pytest.raises(TypeError, match="'alpha'"):
        theory.chi1("tanh", 1.0, 0.0, activation_kwargs={"alpha": 1.0})
    with pytest.raises(ValueError, match="sigma_b < 0"):
        theory.critical_sigma_w("tanh", -1.0)


def test_inputs_not_modified():
    sw2 = np.linspace(0.5, 2.0, 5)
    sb2 = np.linspace(0.0, 0.2, 3)
    keep_w, keep_b = sw2.copy(), sb2.copy()
    theory.phase_diagram("tanh", sw2, sb2)
    np.testing.assert_array_equal(sw2, keep_w)
    np.testing.assert_array_equal(sb2, keep_b)
    q = np.array([0.5, 1.0])
    theory.activation_moments("swish", q)
    np.testing.assert_array_equal(q, [0.5, 1.0])
