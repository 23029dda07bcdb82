"""The activation registry shared by every layer of fastinit.

The C kernels (forward and backward propagation), the initialization gains and
:mod:`fastinit.theory` all identify an activation by the same
:class:`Activation` record, obtained from :func:`get_activation`. The record
carries the integer code of the C enum, the single numeric parameter handed to
C (``p0``) and float64 NumPy reference formulas for the function and its
derivative, which the test suite uses as the reference for the C kernels.

C enum (fixed; other modules depend on these values)::

    linear=0  sigmoid=1  tanh=2  erf=3  relu=4  leaky_relu=5  elu=6  selu=7
    softplus=8  swish=9  gelu=10  gelu_tanh=11

Derivative conventions at the kink ``x = 0``:

* ``relu'(0) = 0``;
* ``leaky_relu'(0) = negative_slope``;
* ``elu'(0) = alpha`` (the left limit);
* ``selu'(0) = scale * alpha`` (the left limit).
"""

from __future__ import annotations

import math
import numbers
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
from scipy import special

__all__ = [
    "ACTIVATIONS",
    "ALIASES",
    "Activation",
    "SELU_ALPHA",
    "SELU_SCALE",
    "get_activation",
]

#: SELU constants of Klambauer et al. (2017), as in ``torch.nn.SELU``.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

_CODES: dict[str, int] = {
    "linear": 0,
    "sigmoid": 1,
    "tanh": 2,
    "erf": 3,
    "relu": 4,
    "leaky_relu": 5,
    "elu": 6,
    "selu": 7,
    "softplus": 8,
    "swish": 9,
    "gelu": 10,
    "gelu_tanh": 11,
}

#: Canonical activation names, ordered by their C enum value.
ACTIVATIONS: tuple[str, ...] = tuple(sorted(_CODES, key=_CODES.__getitem__))

#: Accepted alternative names and the canonical name each one resolves to.
ALIASES: Mapping[str, str] = types.MappingProxyType({"silu": "swish"})

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_GELU_TANH_C = 0.044715


# ---------------------------------------------------------------------------
# Reference formulas. Each takes a float64 array and the resolved parameters.
# They are written to be free of overflow/invalid warnings for any finite x.
# ---------------------------------------------------------------------------

def _sech2(x: np.ndarray) -> np.ndarray:
    # 1 - tanh(x)**2 cancels to 0 long before the true value underflows;
    # 4 e^{-2|x|} / (1 + e^{-2|x|})**2 keeps full relative accuracy.
    # |x| is clamped where the result has long underflowed (no 2x overflow).
    e = np.exp(-2.0 * np.minimum(np.abs(x), 400.0))
    return 4.0 * e / (1.0 + e) ** 2


def _linear_f(x, p):
    return x.copy()


def _linear_df(x, p):
    return np.ones_like(x)


def _sigmoid_f(x, p):
    return special.expit(x)


def _sigmoid_df(x, p):
    # s(x) * (1 - s(x)) written as s(x) * s(-x): no cancellation for x >> 0.
    return special.expit(x) * special.expit(-x)


def _tanh_f(x, p):
    return np.tanh(x)


def _tanh_df(x, p):
    return _sech2(x)


def _erf_f(x, p):
    return special.erf(x)


def _erf_df(x, p):
    # Clamp |x| so that x * x cannot overflow; exp(-30**2) already underflows.
    xc = np.minimum(np.abs(x), 30.0)
    return _TWO_OVER_SQRT_PI * np.exp(-xc * xc)


def _relu_f(x, p):
    return np.maximum(x, 0.0)


def _relu_df(x, p):
    return (x > 0).astype(np.float64)


def _leaky_f(x, p):
    return np.where(x > 0, x, p["negative_slope"] * x)


def _leaky_df(x, p):
    return np.where(x > 0, 1.0, p["negative_slope"])


def _elu_core(x, alpha):
    # expm1 only sees x <= 0, so it never overflows.
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def _elu_dcore(x, alpha):
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))


def _elu_f(x, p):
    return _elu_core(x, p["alpha"])


def _elu_df(x, p):
    return _elu_dcore(x, p["alpha"])


def _selu_f(x, p):
    return p["scale"] * _elu_core(x, p["alpha"])


def _selu_df(x, p):
    return p["scale"] * _elu_dcore(x, p["alpha"])


def _softplus_f(x, p):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _softplus_df(x, p):
    return special.expit(x)


def _swish_f(x, p):
    return x * special.expit(x)


def _swish_df(x, p):
    # s + x s (1 - s) = s (1 + x s(-x)).
    return special.expit(x) * (1.0 + x * special.expit(-x))


def _gelu_f(x, p):
    # x * Phi(x) with Phi = ndtr, accurate in the lower tail where
    # 0.5 * (1 + erf(x / sqrt 2)) cancels.
    return x * special.ndtr(x)


def _gelu_df(x, p):
    # x * pdf(x) with |x| clamped where pdf(x) has underflowed (no x*x overflow).
    xc = np.clip(x, -40.0, 40.0)
    return special.ndtr(x) + xc * (np.exp(-0.5 * xc * xc) / math.sqrt(2.0 * math.pi))


def _gelu_tanh_u(x):
    # Beyond |x| = 1e4, expit(2u) is exactly 0 or 1, so clamping x changes
    # nothing but keeps x**3 from overflowing.
    xc = np.clip(x, -1e4, 1e4)
    return _SQRT_2_OVER_PI * (xc + _GELU_TANH_C * xc * xc * xc), xc


def _gelu_tanh_f(x, p):
    # 0.5 x (1 + tanh u) = x * expit(2u), which cannot overflow.
    u, _ = _gelu_tanh_u(x)
    return x * special.expit(2.0 * u)


def _gelu_tanh_df(x, p):
    u, xc = _gelu_tanh_u(x)
    s = special.expit(2.0 * u)
    du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_TANH_C * xc * xc)
    # d/dx [x s(2u)] = s + 2 x s(2u) s(-2u) u'; s(2u) s(-2u) is exactly 0
    # wherever x was clamped.
    return s + 2.0 * xc * (s * special.expit(-2.0 * u)) * du


_FUNCS: dict[str, tuple[Callable, Callable]] = {
    "linear": (_linear_f, _linear_df),
    "sigmoid": (_sigmoid_f, _sigmoid_df),
    "tanh": (_tanh_f, _tanh_df),
    "erf": (_erf_f, _erf_df),
    "relu": (_relu_f, _relu_df),
    "leaky_relu": (_leaky_f, _leaky_df),
    "elu": (_elu_f, _elu_df),
    "selu": (_selu_f, _selu_df),
    "softplus": (_softplus_f, _softplus_df),
    "swish": (_swish_f, _swish_df),
    "gelu": (_gelu_f, _gelu_df),
    "gelu_tanh": (_gelu_tanh_f, _gelu_tanh_df),
}

_BOUNDS: dict[str, tuple[float, float]] = {
    "sigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "erf": (-1.0, 1.0),
}

# phi(x) - c is an odd function of x for these activations (value: c).
_ODD_OFFSET: dict[str, float] = {"linear": 0.0, "tanh": 0.0, "erf": 0.0, "sigmoid": 0.5}

_KINKED = ("relu", "leaky_relu", "elu", "selu")


def _as_float_array(x: Any) -> tuple[np.ndarray, bool]:
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"activation input must be real numbers, got array of dtype {arr.dtype!r}"
        )
    return arr.astype(np.float64, copy=False), arr.ndim == 0


@dataclass(frozen=True)
class Activation:
    """A resolved activation function: canonical name, C code and parameters.

    Instances are made by :func:`get_activation`; they are immutable and
    hashable, so they can serve as dictionary keys and cache keys.

    Attributes
    ----------
    name : str
        Canonical name, one of :data:`ACTIVATIONS`.
    code : int
        Value of the C enum ``fi_activation`` for this activation.
    params : Mapping[str, float]
        Read-only mapping of the resolved parameter values
        (``negative_slope`` for ``leaky_relu``, ``alpha`` for ``elu``,
        ``alpha`` and ``scale`` for ``selu``, ``beta`` for ``softplus``,
        ``approximate`` for ``gelu``/``gelu_tanh``; empty otherwise).
    p0 : float
        The single numeric parameter passed to C: the slope of ``leaky_relu``,
        ``alpha`` of ``elu``, ``0.0`` for every other activation (the SELU
        constants are compiled into the C kernel).
    bounds : tuple of float or None
        ``(lo, hi)``, the open output range of a bounded activation
        (``sigmoid`` (0, 1), ``tanh`` and ``erf`` (-1, 1)); ``None`` for
        unbounded ones.
    kinks : tuple of float
        Positions ``x`` where ``f`` or ``f'`` is not smooth (``(0.0,)`` for
        ``relu``, ``leaky_relu``, ``elu``, ``selu``; empty otherwise).
        Quadrature in :mod:`fastinit.theory` splits its intervals there.
    odd_offset : float or None
        ``c`` such that ``f(x) - c`` is an odd function of ``x`` (``0`` for
        ``linear``, ``tanh``, ``erf``; ``0.5`` for ``sigmoid``), ``None`` when
        there is no such symmetry.
    piecewise_linear : tuple of float or None
        ``(slope for x > 0, slope for x < 0)`` when ``f`` is piecewise linear
        through the origin (``linear``, ``relu``, ``leaky_relu``), so that
        ``f(a x) = a f(x)`` for ``a > 0``; ``None`` otherwise.
    """

    name: str
    code: int
    params: Mapping[str, Any] = field(hash=False)
    p0: float
    bounds: tuple[float, float] | None
    kinks: tuple[float, ...]
    odd_offset: float | None
    piecewise_linear: tuple[float, float] | None

    def __post_init__(self) -> None:
        if self.name not in _CODES:
            raise ValueError(_unknown_message(self.name))
        if self.code != _CODES[self.name]:
            raise ValueError(
                f"code {self.code} does not match activation {self.name!r} "
                f"(expected {_CODES[self.name]})"
            )
        if not isinstance(self.params, types.MappingProxyType):
            object.__setattr__(self, "params", types.MappingProxyType(dict(self.params)))

    def __hash__(self) -> int:
        return hash((self.name, self.code, self.p0, tuple(sorted(self.params.items()))))

    def f(self, x: Any) -> Any:
        """Evaluate the activation in float64 (vectorized, warning-free).

        Parameters
        ----------
        x : array_like
            Real input. Scalars give a NumPy float64 scalar.

        Returns
        -------
        numpy.ndarray or numpy.float64
            ``f(x)`` with the shape of ``x``.
        """
        arr, scalar = _as_float_array(x)
        out = _FUNCS[self.name][0](arr, self.params)
        return out[()] if scalar else out

    def df(self, x: Any) -> Any:
        """Evaluate the derivative in float64 (vectorized, warning-free).

        At the kink ``x = 0``: ``relu'(0) = 0``, ``leaky_relu'(0) =
        negative_slope``, ``elu'(0) = alpha`` and ``selu'(0) = scale * alpha``
        (left limits for the ELU family).

        Parameters
        ----------
        x : array_like
            Real input. Scalars give a NumPy float64 scalar.

        Returns
        -------
        numpy.ndarray or numpy.float64
            ``f'(x)`` with the shape of ``x``.
        """
        arr, scalar = _as_float_array(x)
        out = _FUNCS[self.name][1](arr, self.params)
        return out[()] if scalar else out

    def __call__(self, x: Any) -> Any:
        """Same as :meth:`f`."""
        return self.f(x)

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"get_activation({self.name!r}{args})"


def _unknown_message(name: Any) -> str:
    valid = ", ".join(repr(n) for n in ACTIVATIONS + tuple(ALIASES))
    return f"unknown activation {name!r}; valid names are {valid}"


def _check_real(name: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"parameter {key!r} of activation {name!r} must be a real number, "
            f"got {value!r}"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"parameter {key!r} of activation {name!r} must be finite, got {value!r}")
    return value


def _reject_unknown(name: str, kwargs: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    bad = sorted(set(kwargs) - set(allowed))
    if bad:
        listing = ", ".join(repr(k) for k in allowed) if allowed else "none"
        raise TypeError(
            f"activation {name!r} got unexpected parameter(s) "
            f"{', '.join(repr(b) for b in bad)}; accepted parameters: {listing}"
        )


def _resolve(name: str, kwargs: dict[str, Any]) -> tuple[str, dict[str, Any], float]:
    """Return (canonical name, params, p0) for a canonical or alias ``name``."""
    if name in ("gelu", "gelu_tanh"):
        _reject_unknown(name, kwargs, ("approximate",))
        default = "none" if name == "gelu" else "tanh"
        approx = kwargs.get("approximate", default)
        if approx not in ("none", "tanh"):
            raise ValueError(
                f"approximate must be 'none' or 'tanh' for activation {name!r}, got {approx!r}"
            )
        if name == "gelu_tanh" and approx != "tanh":
            raise ValueError("activation 'gelu_tanh' requires approximate='tanh'")
        canonical = "gelu_tanh" if approx == "tanh" else "gelu"
        return canonical, {"approximate": approx}, 0.0
    if name == "leaky_relu":
        _reject_unknown(name, kwargs, ("negative_slope", "slope"))
        if "negative_slope" in kwargs and "slope" in kwargs:
            raise TypeError(
                "activation 'leaky_relu' got both 'negative_slope' and its alias 'slope'"
            )
        slope = kwargs.get("negative_slope", kwargs.get("slope", 0.01))
        slope = _check_real(name, "negative_slope", slope)
        return name, {"negative_slope": slope}, slope
    if name == "elu":
        _reject_unknown(name, kwargs, ("alpha",))
        alpha = _check_real(name, "alpha", kwargs.get("alpha", 1.0))
        return name, {"alpha": alpha}, alpha
    if name == "selu":
        _reject_unknown(name, kwargs, ())
        return name, {"alpha": SELU_ALPHA, "scale": SELU_SCALE}, 0.0
    if name == "softplus":
        _reject_unknown(name, kwargs, ("beta",))
        beta = _check_real(name, "beta", kwargs.get("beta", 1.0))
        if beta != 1.0:
            raise ValueError(f"activation 'softplus' supports only beta=1, got beta={beta!r}")
        return name, {"beta": 1.0}, 0.0
    _reject_unknown(name, kwargs, ())
    return name, {}, 0.0


def get_activation(name: str | Activation, **kwargs: Any) -> Activation:
    """Look up an activation by name and resolve its parameters.

    Parameters
    ----------
    name : str or Activation
        Canonical name (one of :data:`ACTIVATIONS`), an alias (``'silu'`` for
        ``'swish'``), or an :class:`Activation`, which is returned unchanged
        when no keyword arguments are given and re-resolved with its
        parameters updated by them otherwise.
    **kwargs
        Activation parameters:

        * ``leaky_relu``: ``negative_slope`` (alias ``slope``), default 0.01;
        * ``elu``: ``alpha``, default 1.0;
        * ``softplus``: ``beta``, only 1.0 is supported;
        * ``gelu``: ``approximate``, ``'none'`` (exact ``x * Phi(x)``,
          default) or ``'tanh'`` (returns the ``gelu_tanh`` activation);
        * ``selu`` has fixed constants :data:`SELU_ALPHA`, :data:`SELU_SCALE`.

    Returns
    -------
    Activation
        The resolved, immutable activation record.

    Raises
    ------
    ValueError
        Unknown name (the message lists the valid ones), a parameter that is
        not finite, or an unsupported parameter value.
    TypeError
        A name that is not a string, an unknown parameter name, or a
        parameter value that is not a real number.

    Examples
    --------
    >>> act = get_activation("leaky_relu", negative_slope=0.2)
    >>> act.code, act.p0
    (5, 0.2)
    >>> get_activation("gelu", approximate="tanh").name
    'gelu_tanh'
    >>> get_activation("silu").name
    'swish'
    """
    if isinstance(name, Activation):
        if not kwargs:
            return name
        merged = dict(name.params)
        if name.name == "leaky_relu" and "slope" in kwargs:
            merged.pop("negative_slope", None)
        if name.name == "selu":
            merged.clear()
        merged.update(kwargs)
        return get_activation(name.name, **merged)
    if not isinstance(name, str):
        raise TypeError(f"activation name must be a string or an Activation, got {name!r}")
    lookup = ALIASES.get(name, name)
    if lookup not in _CODES:
        raise ValueError(_unknown_message(name))
    canonical, params, p0 = _resolve(lookup, dict(kwargs))
    if canonical == "linear":
        pl: tuple[float, float] | None = (1.0, 1.0)
    elif canonical == "relu":
        pl = (1.0, 0.0)
    elif canonical == "leaky_relu":
        pl = (1.0, params["negative_slope"])
    else:
        pl = None
    return Activation(
        name=canonical,
        code=_CODES[canonical],
        params=types.MappingProxyType(params),
        p0=float(p0),
        bounds=_BOUNDS.get(canonical),
        kinks=(0.0,) if canonical in _KINKED else (),
        odd_offset=_ODD_OFFSET.get(canonical),
        piecewise_linear=pl,
    )
