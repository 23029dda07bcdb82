"""Mean-field theory of signal propagation at initialization.

For a fully connected network ``h_l = phi(u_l)``, ``u_l = h_{l-1} W_l + b_l``
with weights ``W_l[i, j] ~ N(0, sigma_w**2 / fan_in)``, biases
``b_l[j] ~ N(0, sigma_b**2)`` and ``h_0 = x`` (the raw input: no activation is
applied to it), the infinitely wide limit is described by a few Gaussian
expectations (Poole et al. 2016; Schoenholz et al. 2017):

* the length map ``q' = sigma_w**2 E[phi(sqrt(q) z)**2] + sigma_b**2``,
  ``z ~ N(0, 1)``, for the pre-activation variance ``q``;
* the correlation map for the correlation ``c`` of the pre-activations of two
  inputs, ``c' = (sigma_w**2 E[phi(u1) phi(u2)] + sigma_b**2) / q'``;
* ``chi1 = sigma_w**2 E[phi'(sqrt(q*) z)**2]``, the factor by which the mean
  squared gradient grows per layer at the fixed point ``q*``; ``chi1 < 1`` is
  the ordered phase, ``chi1 > 1`` the chaotic phase, ``chi1 = 1`` the edge of
  chaos;
* the moments of the squared singular values of the input-output Jacobian
  from free probability (Pennington, Schoenholz & Ganguli 2017, 2018).

Every expectation of the code base is defined once, here. Closed forms are
used where they exist (piecewise-linear activations through the arc-cosine
kernel of Cho & Saul (2009); ``erf`` through the arcsine kernel of Williams
(1997)); every other activation is integrated with composite Gauss-Legendre
rules on panels graded geometrically towards ``z = 0`` (where kinks and the
steep part of ``phi(sqrt(q) z)`` sit) and cut at ``|z| = 10``. The rule is
accurate to about 1e-14 relative for ``1e-8 <= q <= 1e4`` (the test suite
checks 1e-9 against ``scipy.integrate.quad``).

Fixed points are found by bracketing followed by safeguarded Newton steps;
the ``q* = 0`` case (ordered ``tanh``/``erf`` without bias, where plain
iteration of the map creeps like ``1/l``) is decided analytically.

References
----------
.. [1] B. Poole, S. Lahiri, M. Raghu, J. Sohl-Dickstein, S. Ganguli,
   "Exponential expressivity in deep neural networks through transient
   chaos", NeurIPS 2016.
.. [2] S. S. Schoenholz, J. Gilmer, S. Ganguli, J. Sohl-Dickstein, "Deep
   information propagation", ICLR 2017.
.. [3] J. Pennington, S. S. Schoenholz, S. Ganguli, "Resurrecting the sigmoid
   in deep learning through dynamical isometry: theory and practice",
   NeurIPS 2017.
.. [4] J. Pennington, S. S. Schoenholz, S. Ganguli, "The emergence of spectral
   universality in deep networks", AISTATS 2018.
.. [5] Y. Cho, L. K. Saul, "Kernel methods for deep learning", NeurIPS 2009.
.. [6] C. K. I. Williams, "Computing with infinite networks", NeurIPS 1997.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .activations import Activation, get_activation

__all__ = [
    "ActivationMoments",
    "JacobianSpectrum",
    "JacobianMeasurement",
    "StackPrediction",
    "activation_moments",
    "chi1",
    "correlation_fixed_point",
    "correlation_map",
    "critical_line",
    "critical_sigma_w",
    "depth_scales",
    "fixed_point",
    "format_table",
    "length_map",
    "measure_jacobian_spectrum",
    "phase",
    "phase_diagram",
    "plot_phase_diagram",
    "predict_jacobian_spectrum",
    "predict_stack",
    "variance_path",
    "variance_preserving_gain",
]

# ---------------------------------------------------------------------------
# Quadrature
# ---------------------------------------------------------------------------

#: Gauss-Legendre nodes per panel: 12 gives ~3e-15 relative for every
#: activation over 1e-8 <= q <= 1e4; 8 gives ~1e-10 (used for phase diagrams).
_NODES = 12
_NODES_FAST = 8
#: Panel edges on the Gaussian scale (z > 1); the rule is cut at |z| = 10,
#: where the Gaussian tail weighs less than 1e-22.
_TAIL_EDGES = (1.0, 2.0, 3.0, 4.5, 6.5, 10.0)
_Z_MAX = 10.0
#: Rows of nodes evaluated at once (keeps temporaries in cache).
_CHUNK = 1 << 16
_TINY = 1e-300
#: |x| at which every activation has reached its asymptotic slope.
_HUGE_X = 1e6
#: Beyond this variance two-input expectations use their q -> inf limit.
_Q_ASYMPTOTIC = 1e24


@functools.lru_cache(maxsize=None)
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


def _panel_nodes(edges: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and plain weights on consecutive panels of ``edges``
    (last axis); zero-length panels get zero weight."""
    x, wx = _legendre(n)
    a = edges[..., :-1, None]
    b = edges[..., 1:, None]
    half = 0.5 * (b - a)
    z = (0.5 * (a + b) + half * x).reshape(*edges.shape[:-1], -1)
    w = (half * wx).reshape(*edges.shape[:-1], -1)
    return z, w


def _grading_level(scale: float) -> int:
    """Power-of-two level of the finest panel needed for a feature of width
    ``scale`` (in z units) at z = 0; levels >= 1 need no grading."""
    if not scale > 0:
        raise ValueError("internal: grading scale must be positive")
    if math.isinf(scale):
        return 1
    return min(1, math.floor(math.log2(scale)))


@functools.lru_cache(maxsize=128)
def _half_rule(level: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``z > 0`` and weights ``w`` with ``sum(w * (g(z) + g(-z)))``
    approximating ``E[g(Z)]``, ``Z ~ N(0, 1)``.

    Panels are [0, 2**(level-1)], [2**(level-1), 2**level], ..., [1/2, 1], then
    ``_TAIL_EDGES``. For ``g(z) = f(sqrt(q) z)`` with ``f`` smooth away from 0
    on the unit scale, a level of ``floor(log2(1/sqrt(q)))`` puts each panel
    no farther from 0 than its own length, so that the rule converges
    geometrically for every q up to the one it was built for.
    """
    graded = [2.0**k for k in range(level - 1, 0)]
    edges = np.unique(np.array([0.0, *graded, *_TAIL_EDGES]))
    z, w = _panel_nodes(edges, n)
    w = w * np.exp(-0.5 * z * z)
    w /= 2.0 * w.sum()  # E[1] = 1 exactly
    return z, w


def _rule_for(q_max: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    return _half_rule(_grading_level(1.0 / math.sqrt(q_max)) if q_max > 0 else 1, n)


def _gauss(q: np.ndarray, funcs: Callable[[np.ndarray], Sequence[np.ndarray]],
           parity: Sequence[int], n: int = _NODES) -> list[np.ndarray]:
    """``E[g_k(sqrt(q) Z)]`` for each array ``g_k`` returned by ``funcs(x)``.

    ``parity[k]`` is +1 when ``g_k`` is even (only ``x > 0`` is evaluated and
    doubled), 0 when it has no symmetry. ``q`` is a 1-D array of finite values
    ``> 0``.
    """
    z, w = _rule_for(float(q.max()), n)
    rq = np.sqrt(q)
    out = [np.empty(q.shape) for _ in parity]
    step = max(1, _CHUNK // z.size)
    need_neg = any(p == 0 for p in parity)
    for i in range(0, q.size, step):
        x = rq[i:i + step, None] * z
        pos = funcs(x)
        neg = funcs(-x) if need_neg else None
        for k, p in enumerate(parity):
            vals = 2.0 * pos[k] if p else pos[k] + neg[k]
            out[k][i:i + step] = vals @ w
    return out


# ---------------------------------------------------------------------------
# Expectations (the single definition used by the whole package)
# ---------------------------------------------------------------------------

def _f_df(act: Activation, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``phi(x)`` and ``phi'(x)`` together.

    For ``tanh`` the derivative is taken as ``1 - tanh(x)**2``: its absolute
    error (~1e-16) is harmless inside expectations and it saves an ``exp``;
    ``np.tanh`` dominates the cost of a phase diagram.
    """
    if act.name == "tanh":
        t = np.tanh(x)
        return t, 1.0 - t * t
    return act.f(x), act.df(x)


def _slopes(act: Activation, where: str) -> tuple[float, float]:
    """One-sided slopes ``(phi'(+x), phi'(-x))`` at ``x -> 0`` or ``x -> inf``."""
    x = _TINY if where == "zero" else _HUGE_X
    return float(act.df(x)), float(act.df(-x))


def _arccos_K(c: np.ndarray) -> np.ndarray:
    """``E[relu(u1) relu(u2)]`` for unit variances and correlation ``c``
    (arc-cosine kernel of degree 1, Cho & Saul 2009)."""
    c = np.clip(c, -1.0, 1.0)
    theta = np.arccos(c)
    return (np.sqrt((1.0 - c) * (1.0 + c)) + (math.pi - theta) * c) / (2.0 * math.pi)


def _pl_cross(p: float, m: float, c: np.ndarray) -> np.ndarray:
    """``E[phi(u1) phi(u2)] / q`` for ``phi(x) = p relu(x) - m relu(-x)``."""
    return (p * p + m * m) * _arccos_K(c) - 2.0 * p * m * _arccos_K(-c)


def _pl_dcross(p: float, m: float, c: np.ndarray) -> np.ndarray:
    """``E[phi'(u1) phi'(u2)]`` for ``phi(x) = p relu(x) - m relu(-x)``."""
    theta = np.arccos(np.clip(c, -1.0, 1.0))
    return ((p * p + m * m) * (math.pi - theta) + 2.0 * p * m * theta) / (2.0 * math.pi)


@dataclass(frozen=True)
class ActivationMoments:
    """Gaussian moments of an activation at pre-activation variance ``q``.

    All fields are arrays with the shape of ``q`` (or floats for scalar ``q``).

    Attributes
    ----------
    q : ndarray
        Pre-activation variance.
    mean : ndarray
        ``E[phi(sqrt(q) z)]``, the post-activation mean.
    variance : ndarray
        ``Var[phi(sqrt(q) z)]``, computed in two passes (no cancellation).
    second_moment : ndarray
        ``E[phi(sqrt(q) z)**2]``.
    deriv_second_moment : ndarray
        ``E[phi'(sqrt(q) z)**2]`` (``chi1 / sigma_w**2``).
    deriv_fourth_moment : ndarray
        ``E[phi'(sqrt(q) z)**4]`` (enters the Jacobian spectrum variance).
    """

    q: Any
    mean: Any
    variance: Any
    second_moment: Any
    deriv_second_moment: Any
    deriv_fourth_moment: Any


def _moments(act: Activation, q: np.ndarray, n: int = _NODES) -> dict[str, np.ndarray]:
    """Moments for a 1-D float array ``q >= 0`` (``inf`` allowed)."""
    q = np.asarray(q, dtype=np.float64)
    keys = ("mean", "variance", "second_moment", "d2", "d4")
    res = {k: np.full(q.shape, np.nan) for k in keys}
    pl = act.piecewise_linear
    if pl is not None:
        p, m = pl
        with np.errstate(invalid="ignore"):
            res["mean"] = (p - m) * np.sqrt(q / (2.0 * math.pi))
            res["second_moment"] = 0.5 * (p * p + m * m) * q
            res["variance"] = q * (0.5 * (p * p + m * m) - (p - m) ** 2 / (2.0 * math.pi))
        res["d2"] = np.full(q.shape, 0.5 * (p * p + m * m))
        res["d4"] = np.full(q.shape, 0.5 * (p**4 + m**4))
        return res
    if act.name == "erf":
        with np.errstate(invalid="ignore", divide="ignore"):
            m2 = (2.0 / math.pi) * np.arctan(2.0 * q / np.sqrt(1.0 + 4.0 * q))
        m2 = np.where(np.isinf(q), 1.0, m2)
        res["mean"] = np.zeros(q.shape)
        res["second_moment"] = m2
        res["variance"] = m2.copy()
        res["d2"] = (4.0 / math.pi) / np.sqrt(1.0 + 4.0 * q)
        res["d4"] = (16.0 / math.pi**2) / np.sqrt(1.0 + 8.0 * q)
        return res

    if act.bounds is None:
        # Unbounded phi at astronomically large q: the moments of the
        # piecewise-linear asymptote, exact to O(1/sqrt(q)) < 1e-12 relative
        # (and no overflow of phi(x)**2 at the quadrature nodes).
        huge = q > _Q_ASYMPTOTIC
        if huge.any():
            p, m = _slopes(act, "inf")
            qh = q[huge]
            res["mean"][huge] = (p - m) * np.sqrt(qh / (2.0 * math.pi))
            res["second_moment"][huge] = 0.5 * (p * p + m * m) * qh
            res["variance"][huge] = qh * (0.5 * (p * p + m * m) - (p - m) ** 2 / (2.0 * math.pi))
            res["d2"][huge] = 0.5 * (p * p + m * m)
            res["d4"][huge] = 0.5 * (p**4 + m**4)
        pos = (q > 0) & ~huge & np.isfinite(q)
    else:
        pos = np.isfinite(q) & (q > 0)
    if pos.any():
        qp = q[pos]
        off = act.odd_offset
        f = act.f
        if off is not None:
            # phi - off is odd: the mean is off exactly and every needed
            # integrand is even, so only x > 0 is evaluated.
            def funcs(x):
                y, d = _f_df(act, x)
                psi = y - off
                d2 = d * d
                return psi * psi, d2, d2 * d2

            e_psi2, d2, d4 = _gauss(qp, funcs, (1, 1, 1), n)
            res["mean"][pos] = off
            res["variance"][pos] = e_psi2
            res["second_moment"][pos] = off * off + e_psi2
            res["d2"][pos] = d2
            res["d4"][pos] = d4
        else:
            def funcs1(x):
                y, d = _f_df(act, x)
                d2 = d * d
                return y, y * y, d2, d2 * d2

            mean, m2, d2, d4 = _gauss(qp, funcs1, (0, 0, 0, 0), n)
            # Second pass: E[(phi - mean)**2] avoids cancelling E[phi**2] - mean**2.
            z, w = _rule_for(float(qp.max()), n)
            var = np.empty(qp.shape)
            rq = np.sqrt(qp)
            step = max(1, _CHUNK // z.size)
            for i in range(0, qp.size, step):
                x = rq[i:i + step, None] * z
                mu = mean[i:i + step, None]
                var[i:i + step] = ((f(x) - mu) ** 2 + (f(-x) - mu) ** 2) @ w
            res["mean"][pos] = mean
            res["variance"][pos] = var
            res["second_moment"][pos] = m2
            res["d2"][pos] = d2
            res["d4"][pos] = d4
    zero = q == 0
    if zero.any():
        # Limits q -> 0+: phi -> phi(0); phi'(sqrt(q) z) takes either one-sided
        # slope with probability 1/2.
        f0 = float(act.f(0.0))
        dp, dm = _slopes(act, "zero")
        res["mean"][zero] = f0
        res["variance"][zero] = 0.0
        res["second_moment"][zero] = f0 * f0
        res["d2"][zero] = 0.5 * (dp * dp + dm * dm)
        res["d4"][zero] = 0.5 * (dp**4 + dm**4)
    big = np.isinf(q)
    if big.any():
        dp, dm = _slopes(act, "inf")
        if act.bounds is not None:
            hi, lo = float(act.f(_HUGE_X)), float(act.f(-_HUGE_X))
            res["mean"][big] = 0.5 * (hi + lo)
            res["second_moment"][big] = 0.5 * (hi * hi + lo * lo)
            res["variance"][big] = 0.25 * (hi - lo) ** 2
        else:
            res["mean"][big] = np.inf
            res["second_moment"][big] = np.inf
            res["variance"][big] = np.inf
        res["d2"][big] = 0.5 * (dp * dp + dm * dm)
        res["d4"][big] = 0.5 * (dp**4 + dm**4)
    return res


def _m2_and_slope(act: Activation, q: np.ndarray, n: int = _NODES) -> tuple[np.ndarray, np.ndarray]:
    """``A(q) = E[phi(sqrt(q) z)**2]`` and ``A'(q)`` for a 1-D array ``q > 0``.

    ``A'(q) = E[phi(x) phi'(x) x] / q`` with ``x = sqrt(q) z`` (Stein's lemma),
    which needs no second derivative.
    """
    pl = act.piecewise_linear
    if pl is not None:
        k = 0.5 * (pl[0] ** 2 + pl[1] ** 2)
        return k * q, np.full(q.shape, k)
    if act.name == "erf":
        s = np.sqrt(1.0 + 4.0 * q)
        return ((2.0 / math.pi) * np.arctan(2.0 * q / s),
                (4.0 / math.pi) / ((1.0 + 2.0 * q) * s))
    off = act.odd_offset
    if off is not None:
        def funcs(x):
            y, d = _f_df(act, x)
            psi = y - off
            return psi * psi, psi * d * x

        e_psi2, slope = _gauss(q, funcs, (1, 1), n)
        return off * off + e_psi2, slope / q

    def funcs0(x):
        y, d = _f_df(act, x)
        return y * y, y * d * x

    m2, slope = _gauss(q, funcs0, (0, 0), n)
    return m2, slope / q


def _excess_m2_and_slope(act: Activation, q: np.ndarray, n: int = _NODES
                         ) -> tuple[np.ndarray, np.ndarray]:
    """``D(q) = A(q) - k q`` and ``D'(q)`` for an unbounded activation whose
    asymptote is ``phi_inf(x) = p relu(x) - m relu(-x)``, ``k = (p**2 + m**2) / 2``.

    ``D`` is integrated directly (``phi**2 - phi_inf**2`` decays or stays
    bounded), so the length map's ``sigma_w**2 A(q) - q`` can be formed as
    ``(sigma_w**2 k - 1) q + sigma_w**2 D(q)`` without cancelling two numbers
    of size ``q``: this decides convergence or divergence at ``sigma_w**2 k``
    near 1 (He initialization of ELU, GELU, swish, ...).
    """
    p, m = _slopes(act, "inf")

    def funcs(x):
        y, d = _f_df(act, x)
        slope = np.where(x > 0, p, m)
        y_inf = slope * x
        return y * y - y_inf * y_inf, (y * d - y_inf * slope) * x

    excess, slope_x = _gauss(q, funcs, (0, 0), n)
    return excess, slope_x / q


def _slope_at_zero(act: Activation) -> float:
    """``A'(0+) = E[(phi**2)''] / 2`` at q = 0 (one-sided limits at kinks)."""
    dp, dm = _slopes(act, "zero")
    val = 0.5 * (dp * dp + dm * dm)
    f0 = float(act.f(0.0))
    if f0 != 0.0:
        # phi(0) phi''(0) term; phi is smooth at 0 whenever phi(0) != 0 here.
        h = 1e-5
        d2f = float((act.df(h) - act.df(-h)) / (2.0 * h))
        val += f0 * d2f
    return val


def _cross_numeric(act: Activation, q: float, c: float, deriv: bool,
                   n: int = _NODES) -> float:
    """``E[g(u1) g(u2)]``, ``g = phi`` (or ``phi'``), ``u ~ N(0, q [[1, c], [c, 1]])``.

    ``u1 = sqrt(q) z1`` and, given ``z1``, ``u2 ~ N(sqrt(q) c z1, q (1 - c**2))``.
    The outer rule is graded around ``z1 = 0`` on the scale of both ``phi``
    and the conditional mean's crossing of 0; the inner rule, one per outer
    node, has panel edges at the point where ``u2 = 0`` and graded around it.
    """
    g = act.df if deriv else act.f
    off = 0.0 if (deriv or act.odd_offset is None) else act.odd_offset
    if off:
        base = g
        g = lambda x: base(x) - off  # noqa: E731  (E[phi] = off: cross terms vanish)
    rq = math.sqrt(q)
    if c >= 1.0 or c <= -1.0:
        sign = 1.0 if c >= 1.0 else -1.0
        (val,) = _gauss(np.array([q]), lambda x: (g(x) * g(sign * x),), (0,), n)
        return float(val[0]) + off * off
    one_minus_c2 = (1.0 - c) * (1.0 + c)
    scale = 1.0 / rq
    if c != 0.0:
        scale = min(scale, math.sqrt(one_minus_c2) / abs(c))
    z, w = _half_rule(_grading_level(scale), n)
    z1 = np.concatenate([-z[::-1], z])
    w1 = np.concatenate([w[::-1], w])
    sd = rq * math.sqrt(one_minus_c2)
    mu = rq * c * z1
    # Inner panel edges: the Gaussian grid, the kink u2 = 0 at zc, and points
    # graded towards zc on the scale 1/sd of phi's features.
    zc = -c * z1 / math.sqrt(one_minus_c2)
    level = _grading_level(1.0 / sd)
    offs = np.array([2.0**k for k in range(level - 1, 0)])
    grid = np.concatenate([-np.array(_TAIL_EDGES[::-1]), [0.0], np.array(_TAIL_EDGES)])
    edges = np.concatenate(
        [np.broadcast_to(grid, (z1.size, grid.size)), zc[:, None],
         zc[:, None] + offs, zc[:, None] - offs], axis=1)
    edges = np.sort(np.clip(edges, -_Z_MAX, _Z_MAX), axis=1)
    z2, w2 = _panel_nodes(edges, n)
    w2 = w2 * np.exp(-0.5 * z2 * z2)
    w2 /= w2.sum(axis=1, keepdims=True)
    inner = np.sum(w2 * g(mu[:, None] + sd * z2), axis=1)
    return float(np.sum(w1 * g(rq * z1) * inner)) + off * off


def _cross(act: Activation, q: float, c: float, deriv: bool = False) -> float:
    """``E[phi(u1) phi(u2)]`` (or with ``phi'``) for equal variances ``q``,
    correlation ``c``; closed forms where they exist, limits at q = 0 and inf."""
    c = min(1.0, max(-1.0, c))
    pl = act.piecewise_linear
    if pl is not None:
        if deriv:
            return float(_pl_dcross(pl[0], pl[1], np.float64(c)))
        return float(q * _pl_cross(pl[0], pl[1], np.float64(c))) if q else 0.0
    if act.name == "erf":
        d = 1.0 + 4.0 * q + 4.0 * q * q * (1.0 - c) * (1.0 + c)
        if deriv:
            return (4.0 / math.pi) / math.sqrt(d)
        return (2.0 / math.pi) * math.atan2(2.0 * c * q, math.sqrt(d))
    if q == 0.0:
        dp, dm = _slopes(act, "zero")
        if deriv:
            return float(_pl_dcross(dp, dm, np.float64(c)))
        f0 = float(act.f(0.0))
        return f0 * f0
    if q > _Q_ASYMPTOTIC and (act.bounds is None or not deriv):
        # Relative corrections are O(1/sqrt(q)) < 1e-12: use the limit kernel
        # of the asymptote (a piecewise-linear function for unbounded phi, a
        # step for bounded phi) instead of ever finer graded panels.
        if act.bounds is None:
            dp, dm = _slopes(act, "inf")
            if deriv:
                return float(_pl_dcross(dp, dm, np.float64(c)))
            return q * float(_pl_cross(dp, dm, np.float64(c)))
        hi, lo = float(act.f(_HUGE_X)), float(act.f(-_HUGE_X))
        theta = math.acos(c)
        return ((hi * hi + lo * lo) * (math.pi - theta) + 2.0 * hi * lo * theta) / (2.0 * math.pi)
    return _cross_numeric(act, q, c, deriv)


# ---------------------------------------------------------------------------
# Argument checking
# ---------------------------------------------------------------------------

def _act(activation: str | Activation, activation_kwargs: Mapping[str, Any] | None) -> Activation:
    return get_activation(activation, **dict(activation_kwargs or {}))


def _real(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return float(value)


def _sigma(name: str, value: Any) -> float:
    v = _real(name, value)
    if math.isnan(v) or math.isinf(v):
        raise ValueError(f"{name} must be finite")
    if v < 0 or math.copysign(1.0, v) < 0:
        raise ValueError(f"{name} < 0")
    return v


def _positive(name: str, value: Any) -> float:
    v = _real(name, value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite")
    if v <= 0:
        raise ValueError(f"{name} must be positive, got {v!r}")
    return v


def _positive_array(name: str, value: Any) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be real numbers, got array of dtype {arr.dtype!r}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be positive")
    return arr


def _nonneg_array(name: str, value: Any) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be real numbers, got array of dtype {arr.dtype!r}")
    arr = np.atleast_1d(arr.astype(np.float64))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    if np.any((arr < 0) | np.signbit(arr)):
        raise ValueError(f"{name} < 0")
    return arr


def _depth(value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"depth must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"depth must be at least 1, got {value!r}")
    return int(value)


def _correlation(name: str, value: Any) -> float:
    v = _real(name, value)
    if not (-1.0 <= v <= 1.0):
        raise ValueError(f"{name} must lie in [-1, 1], got {v!r}")
    return v


def _scalar_out(arr: np.ndarray, like: Any) -> Any:
    return float(arr.reshape(())) if np.ndim(like) == 0 else arr


# ---------------------------------------------------------------------------
# Public point functions
# ---------------------------------------------------------------------------

def activation_moments(activation: str | Activation, q: Any, *,
                       activation_kwargs: Mapping[str, Any] | None = None) -> ActivationMoments:
    """Gaussian moments of ``phi(sqrt(q) z)``, ``z ~ N(0, 1)``.

    Parameters
    ----------
    activation : str or Activation
        Activation name (see :data:`fastinit.activations.ACTIVATIONS`).
    q : float or array_like
        Pre-activation variance(s), finite and ``> 0``.
    activation_kwargs : mapping, optional
        Parameters passed to :func:`~fastinit.activations.get_activation`.

    Returns
    -------
    ActivationMoments
        Mean, variance, second moment of ``phi`` and the second and fourth
        moments of ``phi'``; floats for scalar ``q``, arrays otherwise.

    Raises
    ------
    ValueError
        Unknown activation, or ``q`` not finite and positive.

    Notes
    -----
    Closed forms for ``linear``, ``relu``, ``leaky_relu`` (arc-cosine kernel
    [1]_) and ``erf`` (arcsine kernel [2]_); composite Gauss-Legendre
    quadrature, accurate to about 1e-14 relative, otherwise.

    References
    ----------
    .. [1] Y. Cho, L. K. Saul, "Kernel methods for deep learning", NeurIPS 2009.
    .. [2] C. K. I. Williams, "Computing with infinite networks", NeurIPS 1997.

    Examples
    --------
    >>> m = activation_moments("relu", 2.0)
    >>> m.second_moment  # q / 2
    1.0
    """
    act = _act(activation, activation_kwargs)
    qa = _positive_array("q", q)
    res = _moments(act, qa.ravel())
    shape = qa.shape

    def out(key):
        return _scalar_out(res[key].reshape(shape), q)

    return ActivationMoments(q=_scalar_out(qa, q), mean=out("mean"), variance=out("variance"),
                             second_moment=out("second_moment"),
                             deriv_second_moment=out("d2"), deriv_fourth_moment=out("d4"))


def length_map(activation: str | Activation, sigma_w: float, sigma_b: float, q: Any, *,
               activation_kwargs: Mapping[str, Any] | None = None) -> Any:
    """The length map ``q' = sigma_w**2 E[phi(sqrt(q) z)**2] + sigma_b**2``.

    Parameters
    ----------
    activation : str or Activation
        Activation name or record.
    sigma_w, sigma_b : float
        Weight and bias scales, finite and ``>= 0`` (weights have variance
        ``sigma_w**2 / fan_in``, biases ``sigma_b**2``).
    q : float or array_like
        Pre-activation variance(s) of the current layer, finite and ``> 0``.
    activation_kwargs : mapping, optional
        Activation parameters.

    Returns
    -------
    float or ndarray
        The pre-activation variance of the next layer.

    Raises
    ------
    ValueError
        Unknown activation, negative or non-finite sigma, ``q <= 0``.

    References
    ----------
    .. [1] B. Poole et al., "Exponential expressivity in deep neural networks
       through transient chaos", NeurIPS 2016.

    Examples
    --------
    >>> round(length_map("relu", 2 ** 0.5, 0.0, 3.0), 12)  # He init preserves q
    3.0
    """
    act = _act(activation, activation_kwargs)
    sw, sb = _sigma("sigma_w", sigma_w), _sigma("sigma_b", sigma_b)
    qa = _positive_array("q", q)
    m2 = _moments(act, qa.ravel())["second_moment"].reshape(qa.shape)
    return _scalar_out(sw * sw * m2 + sb * sb, q)


def variance_path(activation: str | Activation, sigma_w: float, sigma_b: float, depth: int,
                  q0: float, *, activation_kwargs: Mapping[str, Any] | None = None) -> np.ndarray:
    """Iterate the length map: ``q_0 = q0``, ``q_l = length_map(q_{l-1})``.

    Parameters
    ----------
    activation : str or Activation
        Activation name or record.
    sigma_w, sigma_b : float
        Weight and bias scales (finite, ``>= 0``).
    depth : int
        Number of layers, ``>= 1``.
    q0 : float
        Pre-activation variance of layer 0, finite and ``> 0``. (For a stack
        fed with raw inputs, see :func:`predict_stack`.)
    activation_kwargs : mapping, optional
        Activation parameters.

    Returns
    -------
    ndarray, shape (depth + 1,)
        ``[q_0, q_1, ..., q_depth]``. Values may overflow to ``inf`` in the
        chaotic phase of unbounded activations.

    Examples
    --------
    >>> variance_path("linear", 1.0, 0.0, 3, 2.0)
    array([2., 2., 2., 2.])
    """
    act = _act(activation, activation_kwargs)
    sw, sb = _sigma("sigma_w", sigma_w), _sigma("sigma_b", sigma_b)
    depth = _depth(depth)
    q = _positive("q0", q0)
    path = np.empty(depth + 1)
    path[0] = q
    for layer in range(1, depth + 1):
        q = _next_q(act, sw, sb, q)
        path[layer] = q
    return path


def _next_q(act: Activation, sw: float, sb: float, q: float) -> float:
    m2 = float(_moments(act, np.array([q]))["second_moment"][0])
    with np.errstate(over="ignore", invalid="ignore"):
        val = sw * sw * m2 + sb * sb
    return float(val) if not math.isnan(val) else (sb * sb if sw == 0 else math.inf)


# ---------------------------------------------------------------------------
# Fixed points of the length map
# ---------------------------------------------------------------------------

# Bounded odd activations with |phi(x)| < |phi'(0) x| for x != 0: the length map
# without bias is then below sigma_w**2 phi'(0)**2 q, so q* = 0 exactly when
# sigma_w**2 phi'(0)**2 <= 1 (ordered phase, no bias).
_CONTRACTIVE = frozenset({"tanh", "erf"})
_STEP = 16.0
_DIVERGE_AT = 1e8
_GIVE_UP_AT = 1e30


def _solve_q_star(act: Activation, sw2: np.ndarray, sb2: np.ndarray, q0: np.ndarray,
                  n: int = _NODES) -> np.ndarray:
    """Limit of ``q_{l+1} = T(q_l) = sw2 A(q_l) + sb2`` started at ``q0``.

    ``T`` is increasing, so the iteration moves monotonically to the nearest
    fixed point in the direction of ``T(q0) - q0`` (or to 0 or inf). It is
    found by stepping geometrically in that direction until the sign of
    ``T(q) - q`` changes, then by Newton steps kept inside the bracket.
    """
    sw2, sb2, q0 = (a.ravel().astype(np.float64) for a in np.broadcast_arrays(sw2, sb2, q0))
    out = np.full(sw2.shape, np.nan)
    pl = act.piecewise_linear
    if pl is not None:
        a = sw2 * 0.5 * (pl[0] ** 2 + pl[1] ** 2)
        # He initialization as typed (math.sqrt(2) ** 2 = 2 + 4e-16) is critical
        a = np.where(np.abs(a - 1.0) <= 4 * np.finfo(float).eps, 1.0, a)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(a < 1, sb2 / (1.0 - a), np.inf)
        out = np.where((a == 1) & (sb2 == 0), q0, out)
        return out
    trivial = sw2 == 0
    out[trivial] = sb2[trivial]
    idx = np.flatnonzero(~trivial)
    if idx.size == 0:
        return out

    if act.bounds is None:
        dp_inf, dm_inf = _slopes(act, "inf")
        lin = sw2 * 0.5 * (dp_inf * dp_inf + dm_inf * dm_inf) - 1.0
        lin = np.where(np.abs(lin) <= 4 * np.finfo(float).eps, 0.0, lin)

        def F(q, ii):
            excess, dexcess = _excess_m2_and_slope(act, q, n)
            return lin[ii] * q + sw2[ii] * excess + sb2[ii], lin[ii] + sw2[ii] * dexcess
    else:
        def F(q, ii):
            m2, dm2 = _m2_and_slope(act, q, n)
            return sw2[ii] * m2 + sb2[ii] - q, sw2[ii] * dm2 - 1.0

    # Newton starts from the bracket end last evaluated, whose F and F' are
    # kept (x0, f_x0, df_x0), so no evaluation is repeated.
    lo = np.full(sw2.shape, np.nan)
    hi = np.full(sw2.shape, np.nan)
    x0 = np.full(sw2.shape, np.nan)
    f_x0 = np.full(sw2.shape, np.nan)
    df_x0 = np.full(sw2.shape, np.nan)

    f0, df0 = F(q0[idx], idx)
    out[idx[f0 == 0]] = q0[idx[f0 == 0]]
    x0[idx], f_x0[idx], df_x0[idx] = q0[idx], f0, df0

    up = idx[f0 > 0]
    if up.size:
        if act.bounds is not None:
            bound2 = max(act.bounds[0] ** 2, act.bounds[1] ** 2)
            lo[up] = q0[up]
            hi[up] = sw2[up] * bound2 + sb2[up]  # T(q) < hi for every q
        else:
            a_inf = lin + 1.0
            cur = q0[up].copy()
            active = up
            scale = np.maximum(np.maximum(q0, sb2), 1.0)
            while active.size:
                nxt = cur * _STEP
                fn, dfn = F(nxt, active)
                found = fn <= 0
                fa = active[found]
                lo[fa], hi[fa] = cur[found], nxt[found]
                x0[fa], f_x0[fa], df_x0[fa] = nxt[found], fn[found], dfn[found]
                # Past 1e8 the map is asymptotically linear; with slope > 1 it
                # has no fixed point above (see Notes of fixed_point).
                gone = ~found & (((nxt > _DIVERGE_AT * scale[active]) & (a_inf[active] > 1))
                                 | (nxt > _GIVE_UP_AT * scale[active]))
                out[active[gone]] = np.inf
                keep = ~found & ~gone
                active, cur = active[keep], nxt[keep]

    down = idx[f0 < 0]
    if down.size:
        f_zero = float(act.f(0.0))
        dp, dm = _slopes(act, "zero")
        chi0 = sw2 * 0.5 * (dp * dp + dm * dm)
        to_zero = (sb2[down] == 0) & (f_zero == 0.0) & (chi0[down] <= 1) & (act.name in _CONTRACTIVE)
        out[down[to_zero]] = 0.0
        active = down[~to_zero]
        cur = q0[active].copy()
        fcur, dfcur = f_x0[active], df_x0[active]
        while active.size:
            nxt = np.maximum(cur / _STEP, sb2[active])
            fn, dfn = F(nxt, active)
            found = fn >= 0
            fa = active[found]
            lo[fa], hi[fa] = nxt[found], cur[found]
            x0[fa], f_x0[fa], df_x0[fa] = cur[found], fcur[found], dfcur[found]
            gone = ~found & (nxt < 1e-30 * q0[active])
            out[active[gone]] = 0.0  # T(q) < q all the way down: q -> 0
            keep = ~found & ~gone
            active, cur, fcur, dfcur = active[keep], nxt[keep], fn[keep], dfn[keep]

    # Safeguarded Newton inside [lo, hi], F(lo) >= 0 >= F(hi). Quadratic
    # convergence: a step below 1e-10 relative leaves an error near 1e-20, so
    # the stepped-to point is accepted without another evaluation.
    todo = np.flatnonzero(np.isnan(out) & ~np.isnan(lo))
    x = x0[todo]
    fx, dfx = f_x0[todo], df_x0[todo]
    for _ in range(200):
        if todo.size == 0:
            break
        l, h = lo[todo], hi[todo]
        l = np.where(fx > 0, x, l)
        h = np.where(fx < 0, x, h)
        lo[todo], hi[todo] = l, h
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = x - fx / dfx
        ok = np.isfinite(newton) & (newton > l) & (newton < h)
        bis = np.where((l > 0) & (h > 4.0 * l), np.sqrt(l * h), 0.5 * (l + h))
        xn = np.where(ok, newton, bis)
        done = (fx == 0) | (ok & (np.abs(xn - x) <= 1e-10 * np.abs(x))) | (h - l <= 4e-16 * h)
        out[todo[done]] = np.where(fx[done] == 0, x[done], xn[done])
        todo, x = todo[~done], xn[~done]
        if todo.size:
            fx, dfx = F(x, todo)
    if todo.size:  # pragma: no cover - Newton/bisection always converges first
        out[todo] = x
    return out


def _q_star(act: Activation, sw2: float, sb2: float, q0: float) -> float:
    """Scalar :func:`_solve_q_star` (squares of the scales)."""
    return float(_solve_q_star(act, np.array(sw2), np.array(sb2), np.array(q0))[0])


def fixed_point(activation: str | Activation, sigma_w: float, sigma_b: float, *,
                q0: float = 1.0, activation_kwargs: Mapping[str, Any] | None = None) -> float:
    """Fixed point ``q*`` of the length map reached from ``q0``.

    Parameters
    ----------
    activation : str or Activation
        Activation name or record.
    sigma_w, sigma_b : float
        Weight and bias scales (finite, ``>= 0``).
    q0 : float, default 1.0
        Starting pre-activation variance (finite, ``> 0``). For bounded
        activations the fixed point does not depend on it; for some unbounded
        ones (e.g. ``swish`` near ``sigma_w**2 = 2``) the map has two fixed
        points and ``q0`` decides which is reached.
    activation_kwargs : mapping, optional
        Activation parameters.

    Returns
    -------
    float
        ``lim q_l`` for ``q_l = length_map(q_{l-1})``, ``q_0 = q0``. It is
        ``0.0`` when the variance decays to zero (e.g. ``tanh`` with
        ``sigma_w <= 1`` and no bias), ``inf`` when it grows without bound
        (e.g. ``relu`` with ``sigma_w**2 > 2``), and ``q0`` itself when every
        ``q`` is fixed (``relu`` with ``sigma_w**2 = 2``, ``sigma_b = 0``).

    Raises
    ------
    ValueError
        Unknown activation, negative or non-finite sigma, ``q0 <= 0``.

    Notes
    -----
    The map ``T`` is increasing, so the iterates move monotonically towards
    the nearest fixed point. That point is bracketed by geometric steps (a
    factor 16) and refined by Newton's method with bisection safeguards,
    converging to machine precision in a handful of evaluations. For
    unbounded activations the search stops with ``inf`` once ``q`` exceeds
    ``1e8`` while the asymptotic slope ``sigma_w**2 (phi'(+inf)**2 +
    phi'(-inf)**2) / 2`` is above 1, or once it exceeds ``1e30``.

    References
    ----------
    .. [1] B. Poole et al., NeurIPS 2016.
    .. [2] S. S. Schoenholz et al., "Deep information propagation", ICLR 2017.

    Examples
    --------
    >>> round(fixed_point("tanh", 1.5, 0.3), 6)
    0.960844
    >>> fixed_point("tanh", 0.9, 0.0)
    0.0
    """
    act = _act(activation, activation_kwargs)
    sw, sb = _sigma("sigma_w", sigma_w), _sigma("sigma_b", sigma_b)
    q0 = _positive("q0", q0)
    return _q_star(act, sw * sw, sb * sb, q0)


def _chi_at(act: Activation, sw2: float, q: float) -> float:
    d2 = float(_moments(act, np.array([q]))["d2"][0])
    return sw2 * d2


def chi1(activation: str | Activation, sigma_w: float, sigma_b: float, *, q0: float = 1.0,
         activation_kwargs: Mapping[str, Any] | None = None) -> float:
    """``chi1 = sigma_w**2 E[phi'(sqrt(q*) z)**2]`` at the fixed point ``q*``.

    ``chi1`` is the per-layer growth factor of the mean squared gradient and
    the slope of the correlation map at ``c = 1``: ``< 1`` ordered, ``= 1``
    critical, ``> 1`` chaotic.

    Parameters
    ----------
    activation : str or Activation
        Activation name or record.
    sigma_w, sigma_b : float
        Weight and bias scales (finite, ``>= 0``).
    q0 : float, default 1.0
        Starting variance used to find ``q*`` (see :func:`fixed_point`).
    activation_kwargs : mapping, optional
        Activation parameters.

    Returns
    -------
    float
        ``chi1``. For ``q* = 0`` or ``inf`` the limit is used, with each
        one-sided slope of ``phi`` at 0 (or at infinity) taken with
        probability 1/2.

    References
    ----------
    .. [1] B. Poole et al., NeurIPS 2016.
    .. [2] S. S. Schoenholz et al., ICLR 2017.

    Examples
    --------
    >>> chi1("relu", 2 ** 0.5, 0.0)
    1.0000000000000002
    """
    act = _act(activation, activation_kwargs)
    sw, sb = _sigma("sigma_w", sigma_w), _sigma("sigma_b", sigma_b)
    q0 = _positive("q0", q0)
    qs = _q_star(act, sw * sw, sb * sb, q0)
    return _chi_at(act, sw * sw, qs)


# ---------------------------------------------------------------------------
# Correlation map
# ---------------------------------------------------------------------------

def _c_map(act: Activation, sw2: float, sb2: float, q: float, c: float) -> float:
    """One step of the correlation map at equal input variances ``q``:
    ``(sw2 E[phi(u1) phi(u2)] + sb2) / (sw2 E[phi(u)**2] + sb2)``."""
    q = float(q)
    if q == 0.0 and float(act.f(0.0)) != 0.0:
        return 1.0 if sw2 > 0 or sb2 > 0 else math.nan  # all outputs equal phi(0)
    if q == 0.0 or (act.bounds is None and q > _Q_ASYMPTOTIC):
        # Scale-free limits: phi acts as its piecewise-linear tangent at 0 (or
        # its asymptote at infinity); divide through by q to avoid overflow.
        dp, dm = _slopes(act, "zero" if q == 0.0 else "inf")
        kc = float(_pl_cross(dp, dm, np.float64(c)))
        k1 = 0.5 * (dp * dp + dm * dm)
        if q == 0.0:
            num, den = sw2 * kc, sw2 * k1
        else:
            num, den = sw2 * kc + sb2 / q, sw2 * k1 + sb2 / q
        return num / den if den > 0 else math.nan
    qn = sw2 * float(_moments(act, np.array([q]))["second_moment"][0]) + sb2
    if qn == 0.0:
        return math.nan
    return (sw2 * _cross(act, q, c) + sb2) / qn


def correlation_map(activation: str | Activation, sigma_w: float, sigma_b: float, c: Any, *,
                    q: float | None = None, q0: float = 1.0,
                    activation_kwargs: Mapping[str, Any] | None = None) -> Any:
    """The correlation map ``c -> c'`` for two inputs of equal variance ``q``.

    ``c' = (sigma_w**2 E[phi(u1) phi(u2)] + sigma_b**2) / q'`` with
    ``(u1, u2)`` Gaussian, variances ``q``, correlation ``c``, and
    ``q' = length_map(q)``.

    Parameters
    ----------
    activation : str or Activation
        Activation name or record.
    sigma_w, sigma_b : float
        Weight and bias scales (finite, ``>= 0``).
    c : float or array_like
        Correlation(s) in ``[-1, 1]``.
    q : float, optional
        Pre-activation variance (finite, ``> 0``); by default the fixed point
        ``q*`` reached from ``q0``.
    q0 : float, default 1.0
        Starting variance for ``q*``.
    activation_kwargs : mapping, optional
        Activation parameters.

    Returns
    -------
    float or ndarray
        ``c'``. At ``q* = 0`` or ``inf`` the scale-free limit map of the
        piecewise-linear tangent (or asymptote) is used; it is the identity
        for smooth odd activations. ``nan`` where the map is undefined
        (``sigma_w = sigma_b = 0``).

    References
    ----------
    .. [1] B. Poole et al., NeurIPS 2016.
    .. [2] Y. Cho, L. K. Saul, NeurIPS 2009 (closed form for ReLU).
    .. [3] C. K. I. Williams, NeurIPS 1997 (closed form for erf).

    Examples
    --------
    >>> round(correlation_map("relu", 2 ** 0.5, 0.0, 0.0), 6)  # 1 / pi
    0.31831
    """
    act = _act(activation, activation_kwargs)
    sw, sb = _sigma("sigma_w", sigma_w), _sigma("sigma_b", sigma_b)
    q0 = _positive("q0", q0)
    ca = np.asarray(c)
    if ca.dtype.kind not in "iuf":
        raise TypeError(f"c must be real numbers, got array of dtype {ca.dtype!r}")
    ca = ca.astype(np.float64)
    if not np.all((ca >= -1) & (ca <= 1)):
        raise ValueError("c must lie in [-1, 1]")
    if q is None:
        qv = _q_star(act, sw * sw, sb * sb, q0)
    else:
        qv = _positive("q", q)
    vals = np.array([_c_map(act, sw * sw, sb * sb, qv, float(ci)) for ci in ca.ravel()])
    return _scalar_out(vals.reshape(ca.shape), c)


def _c_star(act: Activation, sw2: float, sb2: float, qs: float) -> float:
    chi = _chi_at(act, sw2, qs)
    if qs == 0.0 or math.isinf(qs):
        dp, dm = _slopes(act, "zero" if qs == 0.0 else "inf")
        if qs == 0.0 and float(act.f(0.0)) != 0.0:
            return 1.0
        # Scale-free limit map: c* = 1 unless the map is the identity (p = m).
        return math.nan if dp == dm else 1.0
    if chi <= 1.0:
        return 1.0
    # f(c) = c_map(c) - c is convex on [0, 1] (Hermite expansion with
    # non-negative coefficients), f(0) >= 0, f(1) = 0, f'(1) = chi - 1 > 0:
    # Newton from c = 0 increases monotonically to the single root below 1.
    c = 0.0
    for _ in range(200):
        fc = (sw2 * _cross(act, qs, c) + sb2) / qs - c
        dfc = sw2 * _cross(act, qs, c, deriv=True) - 1.0
        if fc <= 0.0 or dfc >= 0.0:
            break
        step = -fc / dfc
        c_new = min(c + step, 1.0)
        if c_new - c <= 1e-15:
            c = c_new
            break
        c = c_new
    return c


def correlation_fixed_point(activation: str | Activation, sigma_w: float, sigma_b: float, *,
                            q0: float = 1.0,
                            activation_kwargs: Mapping[str, Any] | None = None) -> float:
    """The stable fixed point ``c*`` of the correlation map at ``q*``.

    Parameters
    ----------
    activation : str or Activation
        Activation name or record.
    sigma_w, sigma_b : float
        Weight and bias scales (finite, ``>= 0``).
    q0 : float, default 1.0
        Starting variance for ``q*``.
    activation_kwargs : mapping, optional
        Activation parameters.

    Returns
    -------
    float
        ``1.0`` in the ordered phase and at criticality (``chi1 <= 1``); the
        unique root in ``[0, 1)`` in the chaotic phase; ``nan`` when the map is
        the identity (smooth odd activations at ``q* = 0``, i.e. no bias and
        ``sigma_w <= 1`` for ``tanh``: every ``c`` is then fixed).

    References
    ----------
    .. [1] B. Poole et al., NeurIPS 2016.
    .. [2] S. S. Schoenholz et al., ICLR 2017.

    Examples
    --------
    >>> correlation_fixed_point("tanh", 1.0, 0.3)
    1.0
    """
    act = _act(activation, activation_kwargs)
    sw, sb = _sigma("sigma_w", sigma_w), _sigma("sigma_b", sigma_b)
    q0 = _positive("q0", q0)
    sw2, sb2 = sw * sw, sb * sb
    qs = _q_star(act, sw2, sb2, q0)
    if qs == 0.0 and sw2 == 0.0:
        return math.nan
    return _c_star(act, sw2, sb2, qs)


def _xi(slope: float) -> float:
    if not math.isfinite(slope):
        return math.nan
    if slope >= 1.0:
        return math.inf
    if slope <= 0.0:
        return 0.0
    return -1.0 / math.log(slope)


def depth_scales(activation: str | Activation, sigma_w: float, sigma_b: float, *,
                 q0: float = 1.0,
                 activation_kwargs: Mapping[str, Any] | None = None) -> tuple[float, float]:
    """Depth scales ``(xi_q, xi_c)`` of Schoenholz et al. (2017).

    ``|q_l - q*| ~ exp(-l / xi_q)`` and ``|c_l - c*| ~ exp(-l / xi_c)`` with
    ``xi_q = -1 / log(dq'/dq at q*)`` and ``xi_c = -1 / log(dc'/dc at c*)``,
    ``dc'/dc = sigma_w**2 E[phi'(u1) phi'(u2)]`` (``= chi1`` at ``c* = 1``).

    Parameters
    ----------
    activation : str or Activation
        Activation name or record.
    sigma_w, sigma_b : float
        Weight and bias scales (finite, ``>= 0``).
    q0 : float, default 1.0
        Starting variance for ``q*``.
    activation_kwargs : mapping, optional
        Activation parameters.

    Returns
    -------
    tuple of float
        ``(xi_q, xi_c)``; ``inf`` where the slope is ``>= 1`` (at criticality
        the approach is a power law), ``nan`` where the fixed point is
        ``inf`` or ``c*`` is undefined.

    References
    ----------
    .. [1] S. S. Schoenholz et al., "Deep information propagation", ICLR 2017.

    Examples
    --------
    >>> xi_q, xi_c = depth_scales("tanh", 1.0, 0.05)
    >>> xi_c > xi_q
    True
    """
    act = _act(activation, activation_kwargs)
    sw, sb = _sigma("sigma_w", sigma_w), _sigma("sigma_b", sigma_b)
    q0 = _positive("q0", q0)
    sw2, sb2 = sw * sw, sb * sb
    qs = _q_star(act, sw2, sb2, q0)
    if math.isinf(qs):
        return math.nan, math.nan
    if qs == 0.0:
        slope_q = sw2 * _slope_at_zero(act)
    else:
        slope_q = sw2 * float(_m2_and_slope(act, np.array([qs]))[1][0])
    if sw2 == 0.0:
        return 0.0, 0.0
    cs = _c_star(act, sw2, sb2, qs)
    if math.isnan(cs):
        return _xi(slope_q), math.nan
    slope_c = sw2 * _cross(act, qs, cs, deriv=True)
    return _xi(slope_q), _xi(slope_c)


def phase(activation: str | Activation, sigma_w: float, sigma_b: float, *, q0: float = 1.0,
          tol: float = 1e-8, activation_kwargs: Mapping[str, Any] | None = None) -> str:
    """Classify ``(sigma_w, sigma_b)`` as ``'ordered'``, ``'critical'`` or ``'chaotic'``.

    Parameters
    ----------
    activation : str or Activation
        Activation name or record.
    sigma_w, sigma_b : float
        Weight and bias scales (finite, ``>= 0``).
    q0 : float, default 1.0
        Starting variance for ``q*``.
    tol : float, default 1e-8
        ``|chi1 - 1| <= tol`` counts as critical.
    activation_kwargs : mapping, optional
        Activation parameters.

    Returns
    -------
    str
        ``'ordered'`` (``chi1 < 1``: gradients vanish, inputs become
        correlated), ``'critical'`` or ``'chaotic'`` (``chi1 > 1``).

    References
    ----------
    .. [1] B. Poole et al., NeurIPS 2016.

    Examples
    --------
    >>> phase("tanh", 0.5, 0.0), phase("tanh", 1.0, 0.0), phase("tanh", 3.0, 0.0)
    ('ordered', 'critical', 'chaotic')
    """
    tol = _real("tol", tol)
    if not (tol >= 0 and math.isfinite(tol)):
        raise ValueError("tol must be finite and >= 0")
    x = chi1(activation, sigma_w, sigma_b, q0=q0, activation_kwargs=activation_kwargs)
    if x < 1.0 - tol:
        return "ordered"
    if x > 1.0 + tol:
        return "chaotic"
    return "critical"


# ---------------------------------------------------------------------------
# Critical line and phase diagram
# ---------------------------------------------------------------------------

_CRIT_Q_GRID = np.logspace(-8, 8, 321)


def _critical_candidates(act: Activation, sb2_values: np.ndarray, q0: float) -> np.ndarray:
    """Smallest critical sigma_w for each sigma_b**2 (nan where none).

    On the critical line ``sigma_w**2 = 1 / B(q*)`` and
    ``sigma_b**2 = q* - A(q*) / B(q*)`` with ``A = E[phi**2]``,
    ``B = E[phi'**2]``: a one-parameter curve in ``q*``. For each target
    ``sigma_b**2`` its roots in ``q*`` are bracketed on a log grid and refined
    with Brent's method; a root is kept only when ``q*`` is the fixed point
    actually reached from ``q0``.
    """
    from scipy.optimize import brentq

    pl = act.piecewise_linear
    result = np.full(sb2_values.shape, np.nan)
    if pl is not None:
        k = 0.5 * (pl[0] ** 2 + pl[1] ** 2)
        if k > 0:
            result[:] = math.sqrt(1.0 / k)
        return result
    grid = _CRIT_Q_GRID
    mom = _moments(act, grid)
    A, B = mom["second_moment"], mom["d2"]
    with np.errstate(divide="ignore", invalid="ignore"):
        G = grid - A / B

    def g_at(qv: float) -> float:
        mm = _moments(act, np.array([qv]))
        return float(qv - mm["second_moment"][0] / mm["d2"][0])

    f0 = float(act.f(0.0))
    dp, dm = _slopes(act, "zero")
    b0 = 0.5 * (dp * dp + dm * dm)
    for i, sb2 in enumerate(sb2_values):
        cands: list[tuple[float, float]] = []
        if sb2 == 0.0 and f0 == 0.0 and b0 > 0:
            cands.append((0.0, 1.0 / b0))
        h = G - sb2
        ok = np.isfinite(h)
        for j in range(grid.size - 1):
            if not (ok[j] and ok[j + 1]):
                continue
            if h[j] == 0.0:
                cands.append((grid[j], 1.0 / B[j]))
            elif h[j] * h[j + 1] < 0:
                root = brentq(lambda qq: g_at(qq) - sb2, grid[j], grid[j + 1],
                              xtol=1e-300, rtol=1e-15, maxiter=200)
                bq = float(_moments(act, np.array([root]))["d2"][0])
                cands.append((root, 1.0 / bq))
        best = math.inf
        for qc, sw2c in cands:
            if not (sw2c > 0 and math.isfinite(sw2c)) or sw2c >= best:
                continue
            reached = _q_star(act, sw2c, sb2, q0)
            if (qc == 0.0 and reached == 0.0) or (
                    qc > 0 and math.isfinite(reached) and abs(reached - qc) <= 1e-7 * qc):
                best = sw2c
        if math.isfinite(best):
            result[i] = math.sqrt(best)
    return result


def critical_sigma_w(activation: str | Activation, sigma_b: float, *, q0: float = 1.0,
                     activation_kwargs: Mapping[str, Any] | None = None) -> float | None:
    """The ``sigma_w`` at which ``chi1 = 1`` for the given ``sigma_b`` (edge of chaos).

    Parameters
    ----------
    activation : str or Activation
        Activation name or record.
    sigma_b : float
        Bias scale (finite, ``>= 0``).
    q0 : float, default 1.0
        Starting variance: a critical point counts only if its ``q*`` is the
        fixed point reached from ``q0``.
    activation_kwargs : mapping, optional
        Activation parameters.

    Returns
    -------
    float or None
        The smallest critical ``sigma_w``, or ``None`` when there is none
        (no ``q*`` in ``[1e-8, 1e8]`` or ``q* = 0`` satisfies both the
        fixed-point and the ``chi1 = 1`` conditions). For piecewise-linear
        activations ``chi1`` does not depend on ``q*`` and the answer is
        ``sqrt(2 / (1 + slope**2))`` for every ``sigma_b`` (with
        ``sigma_b > 0`` the variance then grows without bound).

    Raises
    ------
    ValueError
        Unknown activation, negative or non-finite ``sigma_b``.

    Notes
    -----
    Along the critical line ``sigma_w**2 = 1 / E[phi'(sqrt(q) z)**2]`` and
    ``sigma_b**2 = q - E[phi(sqrt(q) z)**2] / E[phi'(sqrt(q) z)**2]``, so the
    line is a curve parametrized by ``q*``; only a one-dimensional root search
    is needed.

    References
    ----------
    .. [1] B. Poole et al., NeurIPS 2016.
    .. [2] S. S. Schoenholz et al., ICLR 2017.

    Examples
    --------
    >>> critical_sigma_w("tanh", 0.0)
    1.0
    >>> critical_sigma_w("relu", 0.0)
    1.4142135623730951
    """
    act = _act(activation, activation_kwargs)
    sb = _sigma("sigma_b", sigma_b)
    q0 = _positive("q0", q0)
    val = float(_critical_candidates(act, np.array([sb * sb]), q0)[0])
    return None if math.isnan(val) else val


def critical_line(activation: str | Activation, sigma_b_values: Any, *, q0: float = 1.0,
                  activation_kwargs: Mapping[str, Any] | None = None) -> np.ndarray:
    """Critical ``sigma_w`` for each ``sigma_b`` (``nan`` where none exists).

    Parameters
    ----------
    activation : str or Activation
        Activation name or record.
    sigma_b_values : array_like
        One-dimensional bias scales (finite, ``>= 0``).
    q0 : float, default 1.0
        Starting variance (see :func:`critical_sigma_w`).
    activation_kwargs : mapping, optional
        Activation parameters.

    Returns
    -------
    ndarray
        Critical ``sigma_w`` values, same length as ``sigma_b_values``.

    See Also
    --------
    critical_sigma_w

    Examples
    --------
    >>> critical_line("relu", [0.0, 0.5])
    array([1.41421356, 1.41421356])
    """
    act = _act(activation, activation_kwargs)
    sb = _nonneg_array("sigma_b_values", sigma_b_values)
    q0 = _positive("q0", q0)
    return _critical_candidates(act, sb * sb, q0)


def phase_diagram(activation: str | Activation, sigma_w2_values: Any, sigma_b2_values: Any, *,
                  q0: float = 1.0,
                  activation_kwargs: Mapping[str, Any] | None = None) -> np.ndarray:
    """``chi1`` on a grid of ``(sigma_w**2, sigma_b**2)``.

    Parameters
    ----------
    activation : str or Activation
        Activation name or record.
    sigma_w2_values, sigma_b2_values : array_like
        One-dimensional, finite, ``>= 0`` values of ``sigma_w**2`` and
        ``sigma_b**2`` (note: squares).
    q0 : float, default 1.0
        Starting variance for ``q*``.
    activation_kwargs : mapping, optional
        Activation parameters.

    Returns
    -------
    ndarray, shape (len(sigma_w2_values), len(sigma_b2_values))
        ``chi[i, j] = chi1(sigma_w**2 = sigma_w2_values[i],
        sigma_b**2 = sigma_b2_values[j])``; ``log(chi) < 0`` is ordered,
        ``> 0`` chaotic. For plotting with ``sigma_w**2`` on the x axis use
        ``chi.T``.

    Notes
    -----
    All fixed points are solved at once (vectorized bracketing and Newton
    steps) with an 8-node-per-panel rule, accurate to about 1e-10, so a
    200 x 200 ``tanh`` diagram takes well under two seconds.

    References
    ----------
    .. [1] B. Poole et al., NeurIPS 2016.
    .. [2] S. S. Schoenholz et al., ICLR 2017.

    Examples
    --------
    >>> chi = phase_diagram("tanh", [0.5, 1.0, 4.0], [0.0])
    >>> chi.ravel().round(6)
    array([0.5     , 1.      , 1.362673])
    """
    act = _act(activation, activation_kwargs)
    sw2 = _nonneg_array("sigma_w2_values", sigma_w2_values)
    sb2 = _nonneg_array("sigma_b2_values", sigma_b2_values)
    q0 = _positive("q0", q0)
    SW, SB = np.meshgrid(sw2, sb2, indexing="ij")
    qs = _solve_q_star(act, SW, SB, np.array(q0), n=_NODES_FAST)
    d2 = np.empty(qs.shape)
    fin = np.isfinite(qs) & (qs > 0)
    if fin.any():
        d2[fin] = _moments(act, qs[fin], n=_NODES_FAST)["d2"]
    rest = ~fin
    if rest.any():
        d2[rest] = _moments(act, qs[rest])["d2"]
    return (SW.ravel() * d2).reshape(SW.shape)


def plot_phase_diagram(activation: str | Activation, sigma_w2_values: Any = None,
                       sigma_b2_values: Any = None, *, ax: Any = None, q0: float = 1.0,
                       critical: bool = True,
                       activation_kwargs: Mapping[str, Any] | None = None) -> Any:
    """Draw the order/chaos phase diagram in the ``(sigma_w**2, sigma_b**2)`` plane.

    The colour is ``log(chi1)`` (blue ordered, red chaotic) and the critical
    line ``chi1 = 1`` from :func:`critical_line` is drawn on top.

    Parameters
    ----------
    activation : str or Activation
        Activation name or record.
    sigma_w2_values, sigma_b2_values : array_like, optional
        Grid of ``sigma_w**2`` (default ``linspace(0.01, 4, 200)``) and
        ``sigma_b**2`` (default ``linspace(0, 0.5, 200)``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure is created when omitted.
    q0 : float, default 1.0
        Starting variance for ``q*``.
    critical : bool, default True
        Whether to draw the critical line.
    activation_kwargs : mapping, optional
        Activation parameters.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn into.

    Raises
    ------
    ImportError
        When matplotlib is not installed (``pip install matplotlib``).
    """
    try:
        import matplotlib.pyplot as plt
        from matplotlib.colors import TwoSlopeNorm
    except ImportError as exc:
        raise ImportError(
            "plot_phase_diagram requires matplotlib; install it with "
            "'pip install matplotlib' (or 'pip install fastinit[plot]')"
        ) from exc
    act = _act(activation, activation_kwargs)
    sw2 = np.linspace(0.01, 4.0, 200) if sigma_w2_values is None else _nonneg_array(
        "sigma_w2_values", sigma_w2_values)
    sb2 = np.linspace(0.0, 0.5, 200) if sigma_b2_values is None else _nonneg_array(
        "sigma_b2_values", sigma_b2_values)
    chi = phase_diagram(act, sw2, sb2, q0=q0)
    with np.errstate(divide="ignore"):
        logchi = np.log(chi)
    finite = logchi[np.isfinite(logchi)]
    span = float(np.max(np.abs(finite))) if finite.size else 1.0
    span = span if span > 0 else 1.0
    if ax is None:
        _, ax = plt.subplots()
    mesh = ax.pcolormesh(sw2, sb2, np.clip(logchi, -span, span).T, shading="auto",
                         cmap="RdBu_r", norm=TwoSlopeNorm(0.0, -span, span))
    ax.figure.colorbar(mesh, ax=ax, label=r"$\log \chi_1$")
    if critical:
        crit = critical_line(act, np.sqrt(sb2), q0=q0)
        ax.plot(crit**2, sb2, "k-", lw=1.5, label=r"critical line $\chi_1 = 1$")
        ax.legend(loc="upper left")
    ax.set_xlim(sw2.min(), sw2.max())
    ax.set_ylim(sb2.min(), sb2.max())
    ax.set_xlabel(r"$\sigma_w^2$")
    ax.set_ylabel(r"$\sigma_b^2$")
    ax.set_title(f"{act.name}: ordered (blue) / chaotic (red)")
    return ax


# ---------------------------------------------------------------------------
# Gains
# ---------------------------------------------------------------------------

_GAIN_CRITERIA = ("second_moment", "variance", "backward")


def variance_preserving_gain(activation: str | Activation, criterion: str = "second_moment",
                             activation_kwargs: Mapping[str, Any] | None = None) -> float:
    """Gain ``g`` that preserves a unit signal through one layer.

    With ``z ~ N(0, 1)``:

    * ``'second_moment'`` (default): ``g**2 E[phi(z)**2] = 1``. Weights of
      variance ``g**2 / fan_in`` then make ``q = 1`` a fixed point of the
      length map without bias: a unit-variance pre-activation gives a
      unit-variance pre-activation in the next layer.
    * ``'variance'``: ``g**2 Var[phi(z)] = 1`` (the post-activation variance,
      rather than second moment, is rescaled to 1).
    * ``'backward'``: ``g**2 E[phi'(z)**2] = 1``, i.e. ``chi1 = 1`` at
      ``q = 1``: the mean squared gradient is preserved.

    Parameters
    ----------
    activation : str or Activation
        Activation name or record.
    criterion : {'second_moment', 'variance', 'backward'}
        Quantity to preserve.
    activation_kwargs : mapping, optional
        Activation parameters (e.g. ``{'negative_slope': 0.2}``).

    Returns
    -------
    float
        The gain ``g > 0``.

    Raises
    ------
    ValueError
        Unknown activation or criterion (the message lists the valid ones),
        or an activation for which the moment vanishes.

    Notes
    -----
    The three criteria agree with ``torch.nn.init.calculate_gain`` for
    ``linear`` (1), ``relu`` (``sqrt 2``) and ``leaky_relu``
    (``sqrt(2 / (1 + slope**2))``) under ``'second_moment'`` and
    ``'backward'``, and differ elsewhere because torch's table is partly
    heuristic:

    * ``tanh``: torch uses 5/3; the exact second-moment gain is
      ``1 / sqrt(E[tanh(z)**2]) = 1.5925...`` and the backward gain is
      ``1.2220...``. 5/3 is a rule of thumb that keeps activations from
      shrinking over a few layers; it puts the network slightly into the
      chaotic phase (``chi1 > 1``).
    * ``sigmoid``: torch uses 1, which does not preserve anything (the
      sigmoid's slope is at most 1/4); the second-moment gain is ``1.8467...``
      and the variance gain (sigmoid has mean 1/2) ``4.2575...``.
    * ``selu``: torch uses 3/4 on purpose, sacrificing self-normalization for
      more stable gradients in non-square layers; SELU is built so that
      ``E[selu(z)] = 0`` and ``E[selu(z)**2] = 1``, hence the exact
      second-moment gain is 1 (LeCun initialization), which is also what
      torch recommends (``nonlinearity='linear'``) for self-normalizing
      networks.

    References
    ----------
    .. [1] B. Poole et al., NeurIPS 2016.
    .. [2] G. Klambauer, T. Unterthiner, A. Mayr, S. Hochreiter,
       "Self-normalizing neural networks", NeurIPS 2017.

    Examples
    --------
    >>> variance_preserving_gain("relu")
    1.4142135623730951
    >>> round(variance_preserving_gain("tanh"), 4)
    1.5925
    """
    act = _act(activation, activation_kwargs)
    if criterion not in _GAIN_CRITERIA:
        valid = ", ".join(repr(c) for c in _GAIN_CRITERIA)
        raise ValueError(f"unknown criterion {criterion!r}; valid criteria are {valid}")
    mom = _moments(act, np.array([1.0]))
    key = {"second_moment": "second_moment", "variance": "variance", "backward": "d2"}[criterion]
    val = float(mom[key][0])
    if not val > 0:
        raise ValueError(f"activation {act.name!r} has zero {criterion}; no gain preserves it")
    return math.sqrt(1.0 / val)


# ---------------------------------------------------------------------------
# Per-layer prediction for a stack
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class StackPrediction:
    """Mean-field prediction for each layer ``l = 1..depth`` of a stack.

    Conventions: ``h_0 = x`` (raw input, per-coordinate second moment
    ``input_second_moment``), ``u_l = h_{l-1} W_l + b_l``, ``h_l = phi(u_l)``,
    equal widths. Array fields have length ``depth``; entry ``l - 1`` belongs
    to layer ``l``.

    Attributes
    ----------
    activation : Activation
        The activation used.
    sigma_w, sigma_b : float
        Weight and bias scales.
    input_second_moment : float
        Mean of ``x**2`` over the input coordinates.
    layer : ndarray of int
        ``1..depth``.
    q : ndarray
        Pre-activation second moment of each layer (equal to its variance:
        pre-activations have mean 0 over the weight ensemble).
    post_mean, post_variance, post_second_moment : ndarray
        Mean, variance and second moment of the post-activations ``h_l``.
    chi : ndarray
        ``sigma_w**2 E[phi'(u_l)**2]``, the per-layer gradient factor.
    grad_scale : ndarray
        Predicted mean square of ``dLoss/dh_l`` relative to that of
        ``dLoss/dh_depth``: ``prod(chi[k] for k = l+1..depth)``, so the last
        entry is 1; at the fixed point it is ``chi1**(depth - l)``.
    c : ndarray or None
        Correlation of the pre-activations of the two inputs,
        ``E[u u'] / sqrt(E[u**2] E[u'**2])`` (when ``input_correlation`` given).
    post_correlation : ndarray or None
        Cosine similarity of the post-activations of the two inputs,
        ``E[h h'] / E[h**2]`` (uncentred).
    q_star : float
        Fixed point of the length map reached from ``q[0]``.
    chi1 : float
        ``chi`` at ``q_star``.
    """

    activation: Activation
    sigma_w: float
    sigma_b: float
    input_second_moment: float
    layer: np.ndarray
    q: np.ndarray
    post_mean: np.ndarray
    post_variance: np.ndarray
    post_second_moment: np.ndarray
    chi: np.ndarray
    grad_scale: np.ndarray
    c: np.ndarray | None
    post_correlation: np.ndarray | None
    q_star: float
    chi1: float

    @property
    def phase(self) -> str:
        """``'ordered'``, ``'critical'`` or ``'chaotic'`` from :attr:`chi1`
        (critical within 1e-8)."""
        if self.chi1 < 1.0 - 1e-8:
            return "ordered"
        if self.chi1 > 1.0 + 1e-8:
            return "chaotic"
        return "critical"


def predict_stack(activation: str | Activation, sigma_w: float, sigma_b: float, depth: int, *,
                  input_second_moment: float = 1.0, input_correlation: float | None = None,
                  activation_kwargs: Mapping[str, Any] | None = None) -> StackPrediction:
    """Predict the per-layer statistics of a deep stack at initialization.

    Layer 1 sees the raw input (no activation applied to it):
    ``q_1 = sigma_w**2 * input_second_moment + sigma_b**2``; afterwards
    ``q_{l+1} = length_map(q_l)``. The output is meant to sit beside the
    statistics measured by ``fastinit.simulate`` layer by layer.

    Parameters
    ----------
    activation : str or Activation
        Activation name or record.
    sigma_w, sigma_b : float
        Weight and bias scales (finite, ``>= 0``); weights
        ``N(0, sigma_w**2 / fan_in)``, biases ``N(0, sigma_b**2)``.
    depth : int
        Number of layers (``>= 1``).
    input_second_moment : float, default 1.0
        Per-coordinate second moment ``mean(x**2)`` of the inputs (not the
        variance: a non-zero input mean counts), finite and ``> 0``.
    input_correlation : float, optional
        For a pair of inputs ``x, x'`` of equal second moment, their cosine
        similarity ``x . x' / (|x| |x'|)`` in ``[-1, 1]``; when given, the
        pre- and post-activation correlations are tracked.
    activation_kwargs : mapping, optional
        Activation parameters.

    Returns
    -------
    StackPrediction
        Per-layer arrays (see its attributes).

    Raises
    ------
    ValueError
        Unknown activation, bad sigma, depth < 1, bad moment or correlation.

    References
    ----------
    .. [1] B. Poole et al., NeurIPS 2016.
    .. [2] S. S. Schoenholz et al., ICLR 2017.

    Examples
    --------
    >>> p = predict_stack("relu", 2 ** 0.5, 0.0, 3)
    >>> p.q
    array([2., 2., 2.])
    >>> p.post_second_moment
    array([1., 1., 1.])
    """
    act = _act(activation, activation_kwargs)
    sw, sb = _sigma("sigma_w", sigma_w), _sigma("sigma_b", sigma_b)
    depth = _depth(depth)
    m0 = _positive("input_second_moment", input_second_moment)
    c0 = None if input_correlation is None else _correlation("input_correlation", input_correlation)
    sw2, sb2 = sw * sw, sb * sb
    q = np.empty(depth)
    with np.errstate(over="ignore"):
        q[0] = sw2 * m0 + sb2
    for layer in range(1, depth):
        q[layer] = _next_q(act, sw, sb, q[layer - 1])
    mom = _moments(act, q)
    chi = sw2 * mom["d2"]
    grad = np.ones(depth)
    with np.errstate(over="ignore", invalid="ignore"):
        grad[:-1] = np.cumprod(chi[:0:-1])[::-1]
    c = post_c = None
    if c0 is not None:
        c = np.empty(depth)
        post_c = np.empty(depth)
        q12 = sw2 * c0 * m0 + sb2
        c[0] = q12 / q[0] if q[0] > 0 else 1.0
        for layer in range(depth):
            ql = float(q[layer])
            # post-activation cosine similarity: the correlation map of a
            # layer without weights and bias, E[h h'] / E[h**2]
            post_c[layer] = _c_map(act, 1.0, 0.0, ql, c[layer])
            if layer + 1 < depth:
                c[layer + 1] = _c_map(act, sw2, sb2, ql, c[layer])
    qs = _q_star(act, sw2, sb2, float(q[0]) if 0 < q[0] < math.inf else 1.0)
    return StackPrediction(
        activation=act, sigma_w=sw, sigma_b=sb, input_second_moment=m0,
        layer=np.arange(1, depth + 1), q=q, post_mean=mom["mean"],
        post_variance=mom["variance"], post_second_moment=mom["second_moment"],
        chi=chi, grad_scale=grad, c=c, post_correlation=post_c,
        q_star=qs, chi1=_chi_at(act, sw2, qs))


def format_table(prediction: StackPrediction, *, max_rows: int | None = 40) -> str:
    """Format a :class:`StackPrediction` as a plain-text table.

    Parameters
    ----------
    prediction : StackPrediction
        Output of :func:`predict_stack`.
    max_rows : int or None, default 40
        Show at most this many layers (evenly spaced, always the first and
        the last); ``None`` shows all.

    Returns
    -------
    str
        A header with the activation, scales, ``q*``, ``chi1`` and phase,
        followed by one row per shown layer.

    Examples
    --------
    >>> print(format_table(predict_stack("relu", 2 ** 0.5, 0.0, 2)))  # doctest: +NORMALIZE_WHITESPACE
    activation relu  sigma_w 1.41421  sigma_b 0  q* 2  chi1 1  (critical)
    layer   q (pre)       post mean     post var      post 2nd mom  chi           grad scale
        1   2             0.56419       0.68169       1             1             1
        2   2             0.56419       0.68169       1             1             1
    """
    p = prediction
    if not isinstance(p, StackPrediction):
        raise TypeError(f"expected a StackPrediction, got {type(p).__name__}")
    depth = p.layer.size
    if max_rows is None or depth <= max_rows:
        rows = np.arange(depth)
    else:
        if max_rows < 2:
            raise ValueError("max_rows must be at least 2")
        rows = np.unique(np.round(np.linspace(0, depth - 1, max_rows)).astype(int))
    cols = [("q (pre)", p.q), ("post mean", p.post_mean), ("post var", p.post_variance),
            ("post 2nd mom", p.post_second_moment), ("chi", p.chi), ("grad scale", p.grad_scale)]
    if p.c is not None:
        cols += [("c (pre)", p.c), ("c (post)", p.post_correlation)]
    head = (f"activation {p.activation.name}  sigma_w {p.sigma_w:.6g}  sigma_b {p.sigma_b:.6g}  "
            f"q* {p.q_star:.6g}  chi1 {p.chi1:.6g}  ({p.phase})")
    lines = [head, "layer   " + "".join(f"{name:<14}" for name, _ in cols).rstrip()]
    for r in rows:
        lines.append(f"{p.layer[r]:>5}   " + "".join(f"{vals[r]:<14.6g}" for _, vals in cols).rstrip())
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Jacobian spectrum
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class JacobianSpectrum:
    """Predicted moments of the squared singular values of the input-output
    Jacobian ``J_l = d h_l / d h_0`` for ``l = 1..depth``.

    Attributes
    ----------
    layer : ndarray of int
        ``1..depth``.
    mean : ndarray
        Mean squared singular value of ``J_l`` (``= prod chi_k``).
    variance : ndarray
        Variance of the squared singular values of ``J_l``.
    weights : str
        ``'gaussian'`` or ``'orthogonal'``.
    """

    layer: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    weights: str


@dataclass(frozen=True)
class JacobianMeasurement:
    """Measured squared singular values of the input-output Jacobian.

    Attributes
    ----------
    squared_singular_values : ndarray, shape (n_inputs, k)
        Squared singular values for each input (``k = min(n_0, n_L)``).
    mean, variance : float
        Pooled mean and variance over all inputs and singular values.
    """

    squared_singular_values: np.ndarray
    mean: float
    variance: float


_WEIGHT_KINDS = ("gaussian", "orthogonal")


def predict_jacobian_spectrum(activation: str | Activation, sigma_w: float, sigma_b: float,
                              depth: int, *, input_second_moment: float = 1.0,
                              weights: str = "gaussian",
                              activation_kwargs: Mapping[str, Any] | None = None
                              ) -> JacobianSpectrum:
    """Free-probability prediction of the Jacobian spectrum's first two moments.

    ``J J^T`` has the spectrum of the free product of ``D_l**2``
    (``D_l = diag(phi'(u_l))``) and ``W_l W_l^T``. Its S-transform is the
    product of theirs, so the means multiply and the normalized variances
    ``v = m2 / m1**2 - 1`` add:

    ``mean_L = prod_l sigma_w**2 mu1_l``,
    ``variance_L = mean_L**2 * sum_l (mu2_l / mu1_l**2 - 1 + s_W)``,

    with ``mu_k = E[phi'(u_l)**(2k)]`` at the layer's variance ``q_l``, and
    ``s_W = 1`` for Gaussian weights (Marchenko-Pastur), ``0`` for orthogonal.

    Parameters
    ----------
    activation : str or Activation
        Activation name or record.
    sigma_w, sigma_b : float
        Weight and bias scales (finite, ``>= 0``).
    depth : int
        Number of layers (``>= 1``).
    input_second_moment : float, default 1.0
        Per-coordinate second moment of the input (sets ``q_1``, as in
        :func:`predict_stack`).
    weights : {'gaussian', 'orthogonal'}
        Weight distribution (orthogonal: ``sigma_w`` times a Haar-random
        orthogonal matrix, square layers).
    activation_kwargs : mapping, optional
        Activation parameters.

    Returns
    -------
    JacobianSpectrum
        Mean and variance of the squared singular values of ``J_l`` for
        every depth ``l``; compare with :func:`measure_jacobian_spectrum`.

    Raises
    ------
    ValueError
        Bad arguments, unknown activation or weight kind.

    Notes
    -----
    Exact in the limit of infinite width at fixed depth; at width ``N`` the
    measured variance deviates by ``O(depth / N)`` relative.

    References
    ----------
    .. [1] J. Pennington, S. S. Schoenholz, S. Ganguli, NeurIPS 2017.
    .. [2] J. Pennington, S. S. Schoenholz, S. Ganguli, AISTATS 2018.

    Examples
    --------
    >>> s = predict_jacobian_spectrum("linear", 1.0, 0.0, 4, weights="orthogonal")
    >>> s.mean, s.variance
    (array([1., 1., 1., 1.]), array([0., 0., 0., 0.]))
    """
    if weights not in _WEIGHT_KINDS:
        valid = ", ".join(repr(k) for k in _WEIGHT_KINDS)
        raise ValueError(f"unknown weights {weights!r}; valid values are {valid}")
    pred = predict_stack(activation, sigma_w, sigma_b, depth,
                         input_second_moment=input_second_moment,
                         activation_kwargs=activation_kwargs)
    mom = _moments(pred.activation, pred.q)
    mu1, mu2 = mom["d2"], mom["d4"]
    sw2 = pred.sigma_w ** 2
    s_w = 1.0 if weights == "gaussian" else 0.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mean = np.cumprod(sw2 * mu1)
        v = np.cumsum(mu2 / (mu1 * mu1) - 1.0 + s_w)
        variance = mean * mean * v
    return JacobianSpectrum(layer=pred.layer, mean=mean, variance=variance, weights=weights)


def measure_jacobian_spectrum(weights: Sequence[Any], x: Any, activation: str | Activation, *,
                              biases: Sequence[Any] | None = None,
                              activation_kwargs: Mapping[str, Any] | None = None
                              ) -> JacobianMeasurement:
    """Measure the squared singular values of ``d h_L / d x`` for given weights.

    The stack is ``h_0 = x``, ``h_l = phi(h_{l-1} W_l + b_l)`` (float64
    NumPy), and ``J = W_1 D_1 W_2 D_2 ... W_L D_L`` with
    ``D_l = diag(phi'(u_l))``.

    Parameters
    ----------
    weights : sequence of array_like
        ``W_l`` of shape ``(n_{l-1}, n_l)``.
    x : array_like
        One input of shape ``(n_0,)`` or a batch ``(n_inputs, n_0)``.
    activation : str or Activation
        Activation name or record.
    biases : sequence of array_like, optional
        ``b_l`` of shape ``(n_l,)``; zeros when omitted.
    activation_kwargs : mapping, optional
        Activation parameters.

    Returns
    -------
    JacobianMeasurement
        Squared singular values per input and their pooled mean/variance.

    Raises
    ------
    ValueError
        Empty or mismatched shapes, non-finite values.

    Examples
    --------
    >>> import numpy as np
    >>> Q = np.linalg.qr(np.random.default_rng(0).standard_normal((8, 8)))[0]
    >>> m = measure_jacobian_spectrum([Q, Q.T], np.ones(8), "linear")
    >>> round(m.mean, 12), round(m.variance, 12)
    (1.0, 0.0)
    """
    act = _act(activation, activation_kwargs)
    ws = [np.asarray(w, dtype=np.float64) for w in weights]
    if not ws:
        raise ValueError("weights must contain at least one matrix")
    for i, w in enumerate(ws):
        if w.ndim != 2:
            raise ValueError(f"weights[{i}] must be two-dimensional, got shape {w.shape}")
        if i and w.shape[0] != ws[i - 1].shape[1]:
            raise ValueError(f"weights[{i}] has {w.shape[0]} rows but layer {i} has "
                             f"{ws[i - 1].shape[1]} units")
        if not np.all(np.isfinite(w)):
            raise ValueError(f"weights[{i}] must be finite")
    if biases is None:
        bs = [np.zeros(w.shape[1]) for w in ws]
    else:
        bs = [np.asarray(b, dtype=np.float64) for b in biases]
        if len(bs) != len(ws):
            raise ValueError(f"got {len(bs)} biases for {len(ws)} weight matrices")
        for i, (b, w) in enumerate(zip(bs, ws)):
            if b.shape != (w.shape[1],):
                raise ValueError(f"biases[{i}] must have shape ({w.shape[1]},), got {b.shape}")
    xa = np.asarray(x, dtype=np.float64)
    batch = np.atleast_2d(xa)
    if xa.ndim > 2 or batch.shape[1] != ws[0].shape[0]:
        raise ValueError(f"x must have shape ({ws[0].shape[0]},) or (n_inputs, "
                         f"{ws[0].shape[0]}), got {xa.shape}")
    if not np.all(np.isfinite(batch)):
        raise ValueError("x must be finite")
    svals = []
    for row in batch:
        h = row
        jac = None
        for w, b in zip(ws, bs):
            u = h @ w + b
            d = act.df(u)
            step = w * d  # W_l diag(phi'(u_l))
            jac = step if jac is None else jac @ step
            h = act.f(u)
        svals.append(np.linalg.svd(jac, compute_uv=False) ** 2)
    sq = np.array(svals)
    return JacobianMeasurement(squared_singular_values=sq, mean=float(sq.mean()),
                               variance=float(sq.var()))
