"""Weight initialization schemes: every classic scheme, with exact fans and gains.

Conventions
-----------
**Dense weights are ``(fan_in, fan_out)``** and are used as ``x @ W``, as in the course notes
(``np.random.randn(M1, M2) / np.sqrt(M1)`` with ``M1`` the input size), Keras and JAX.
Convolution kernels follow ``layout=``:

* ``"keras"`` (aliases ``"tf"``, ``"jax"``; the default for NumPy arrays and shapes):
  ``(*k, in/groups, out)``; a 2-D shape is ``(fan_in, fan_out)``.
* ``"torch"`` (the default when a PyTorch tensor is filled in place): ``(out, in/groups, *k)``;
  a 2-D shape is ``nn.Linear.weight``'s ``(out, in)``.
* ``"torch_transposed"``: ``nn.ConvTranspose*d``'s ``(in, out/groups, *k)``.
* ``"keras_transposed"``: ``Conv*DTranspose``'s ``(*k, out/groups, in)``.
* ``"keras_depthwise"``: ``DepthwiseConv*D``'s ``(*k, in, multiplier)``.
* explicit ``in_axis``/``out_axis`` (as in ``jax.nn.initializers``): the in axis holds
  ``in/groups`` channels, the out axis ``out`` channels, every other axis is spatial.

Fans are counted correctly for grouped, depthwise and transposed convolutions:
``fan_in = (in / groups) * receptive_field`` and ``fan_out = (out / groups) * receptive_field``
(transposed convolutions: stride ignored, as every library does). ``torch_compat=True`` counts as
the layout's own library does (``torch.nn.init._calculate_fan_in_and_fan_out``: dimension 1 is
"in" and dimension 0 "out" whatever the layer; Keras: the last two axes; groups ignored).

Names
-----
``xavier_*``/``glorot_*`` mean Glorot & Bengio's variance ``2 / (fan_in + fan_out)`` (torch's and
Keras's meaning); ``lecun_*`` means ``1 / fan_in``. **The course notes call**
``randn(M1, M2) / sqrt(M1)`` **"Xavier"**: that is LeCun initialization here (also available as
the seed-note name ``"lecture_xavier"``). ``he_*``/``kaiming_*`` use torch's arguments ``a``,
``mode``, ``nonlinearity`` (gain from :func:`calculate_gain`). Normal schemes draw a plain
normal by default (torch's meaning); ``distribution="truncated_normal"`` or ``preset="keras"``
gives Keras's truncated versions (truncated at two standard deviations and rescaled so the
variance is the scheme's).

Values and reproducibility
--------------------------
Every scheme returns float32 by default (the dtype of the networks it initializes). ``rng`` is a
seed, a ``numpy.random.SeedSequence`` or a :class:`fastinit.Generator`; ``rng=None`` draws from
the global generator that :func:`fastinit.random.seed` sets, so a seeded script is reproducible
like ``torch.manual_seed`` followed by ``torch.nn.init``. Values are drawn in C (row-major) order
of the array's shape: element ``[i, j, ...]`` gets the same value whatever the memory order of an
array filled in place.

The in-place twins (names ending in ``_``) fill an existing writable float32/float64 buffer: a
NumPy array (C- or F-contiguous) or a PyTorch CPU tensor (through ``tensor.detach().numpy()``,
which shares memory; torch is never imported unless a tensor is given). Arguments are checked
before anything is written.
"""

from __future__ import annotations

import inspect
import math
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ._generator import Generator, default_rng, stream_id, truncnorm_std
from ._validate import (_OUT_LAYOUT_MSG, check_finite, check_int, check_scale, check_truncation,
                        float_dtype, normalize_size)

__all__ = [
    "InitSpec",
    "Fixup",
    "SCHEMES",
    "SEED_NOTE_NAMES",
    "LAYOUTS",
    "calculate_gain",
    "variance_preserving_gain",
    "compute_fans",
    "resolve",
    "layer_weights",
    "network",
    "bias",
    "fixup_scale",
    "fixup",
]



def __getattr__(name: str) -> Any:
    # variance_preserving_gain is theory's, re-exported lazily: theory imports SciPy's special
    # functions, which a script that only draws weights does not need to load
    if name == "variance_preserving_gain":
        from .theory import variance_preserving_gain

        return variance_preserving_gain
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_SQRT3 = math.sqrt(3.0)
#: Keras/JAX's truncation interval (in standard deviations) for truncated normal schemes.
_TRUNC = (-2.0, 2.0)


# ---- gains ---------------------------------------------------------------------------------------

_GAIN_TABLE = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
               "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for ``nonlinearity``: PyTorch's table, for compatibility.

    Parameters
    ----------
    nonlinearity : str
        One of ``linear``, ``conv1d``, ``conv2d``, ``conv3d``, ``conv_transpose1d``,
        ``conv_transpose2d``, ``conv_transpose3d``, ``sigmoid``, ``tanh``, ``relu``,
        ``leaky_relu``, ``selu``.
    param : float, optional
        The negative slope of ``leaky_relu`` (default 0.01, as in torch).

    Returns
    -------
    float
        1 for linear/conv/sigmoid, 5/3 for tanh, sqrt(2) for relu,
        sqrt(2 / (1 + slope**2)) for leaky_relu, 3/4 for selu.

    Raises
    ------
    ValueError
        Unknown nonlinearity (the message lists the valid ones), or a slope that is not a number.

    Notes
    -----
    The table is partly heuristic. :func:`variance_preserving_gain` computes the gain from the
    activation itself (for every activation fastinit supports): it agrees with the table for
    linear, relu and leaky_relu, and differs for tanh (1.5925 preserves the second moment; 5/3
    is a rule of thumb slightly into the chaotic phase), sigmoid (1 preserves nothing; the
    second-moment gain is 1.8467) and selu (torch picks 3/4 on purpose; SELU's self-normalizing
    gain is 1).

    Examples
    --------
    >>> from fastinit.init import calculate_gain
    >>> calculate_gain("leaky_relu", 0.2)  # doctest: +ELLIPSIS
    1.3867...
    """
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                        "conv_transpose2d", "conv_transpose3d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (bool, np.bool_)) or not isinstance(param, (int, float, np.number)):
            raise ValueError(f"negative_slope {param!r} not a valid number")
        else:
            slope = float(param)
            if not math.isfinite(slope):
                raise ValueError(f"negative_slope {param!r} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}; valid nonlinearities are "
                     f"{list(_GAIN_TABLE)}")


# ---- fans and layouts ------------------------------------------------------------------------------

#: Layout names accepted by ``layout=`` (aliases: "tf" and "jax" for "keras").
LAYOUTS = ("keras", "torch", "keras_transposed", "torch_transposed", "keras_depthwise")
_LAYOUT_ALIASES = {"tf": "keras", "jax": "keras"}


@dataclass(frozen=True)
class _Geometry:
    """Where the channels of a weight array are, and its fans."""

    shape: tuple
    in_axis: int
    out_axis: int
    fan_in: int
    fan_out: int
    groups: int
    layout: str
    explanation: str

    @property
    def spatial_axes(self) -> tuple:
        return tuple(i for i in range(len(self.shape)) if i not in (self.in_axis, self.out_axis))


def _check_layout(layout: Any) -> str:
    if not isinstance(layout, str) or _LAYOUT_ALIASES.get(layout, layout) not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; valid layouts are "
                         f"{list(LAYOUTS) + sorted(_LAYOUT_ALIASES)}")
    return _LAYOUT_ALIASES.get(layout, layout)


def _axis(ax: Any, ndim: int, name: str) -> int:
    try:
        a = operator.index(ax)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {ax!r}") from None
    if not -ndim <= a < ndim:
        raise ValueError(f"{name} {a} is out of bounds for a shape with {ndim} dimensions")
    return a % ndim


def _geometry(shape: Any, layout: Any = None, groups: Any = 1, in_axis: Any = None,
              out_axis: Any = None, torch_compat: bool = False) -> _Geometry:
    shp = normalize_size(shape)
    if shp is None or len(shp) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than "
                         "2 dimensions")
    nd = len(shp)
    g = check_int(groups, "groups")
    if g < 1:
        raise ValueError(f"groups must be a positive integer, got {g}")
    if in_axis is not None or out_axis is not None:
        if layout is not None:
            raise ValueError("give either layout= or in_axis=/out_axis=, not both")
        ia = _axis(-2 if in_axis is None else in_axis, nd, "in_axis")
        oa = _axis(-1 if out_axis is None else out_axis, nd, "out_axis")
        if ia == oa:
            raise ValueError("in_axis and out_axis must be different axes")
        lay = f"in_axis={ia}, out_axis={oa}"
        in_total, out_total = False, True   # JAX: the in axis holds in/groups channels
    else:
        lay = _check_layout("keras" if layout is None else layout)
        ia, oa, in_total, out_total = {
            "keras": (nd - 2, nd - 1, False, True),
            "torch": (1, 0, False, True),
            "keras_transposed": (nd - 1, nd - 2, True, False),
            "torch_transposed": (0, 1, True, False),
            "keras_depthwise": (nd - 2, nd - 1, True, False),
        }[lay]
    rf = 1
    for i, d in enumerate(shp):
        if i not in (ia, oa):
            rf *= d
    n_in, n_out = shp[ia], shp[oa]
    spatial = " x ".join(str(shp[i]) for i in range(nd) if i not in (ia, oa)) or "1"
    if lay == "keras_depthwise":
        if g != 1 and g != n_in:
            raise ValueError(f"groups={g} must equal the {n_in} input channels of a depthwise "
                             "kernel (or be left at 1)")
        g = n_in
    if torch_compat:
        if lay in ("torch", "torch_transposed"):
            fi, fo = shp[1] * rf, shp[0] * rf
            how = (f"torch's counting: fan_in = shape[1] * receptive field = {shp[1]} * {rf}, "
                   f"fan_out = shape[0] * receptive field = {shp[0]} * {rf} (groups ignored)")
        elif lay in LAYOUTS:  # Keras's _compute_fans: the last two axes, whatever the layer
            fi, fo = shp[-2] * rf, shp[-1] * rf
            how = (f"Keras's counting: fan_in = shape[-2] * receptive field = {shp[-2]} * {rf}, "
                   f"fan_out = shape[-1] * receptive field = {shp[-1]} * {rf} (groups ignored)")
        else:
            fi, fo = n_in * rf, n_out * rf
            how = (f"JAX's counting: fan_in = {n_in} * {rf}, fan_out = {n_out} * {rf} "
                   "(groups ignored)")
        return _Geometry(shp, ia, oa, fi, fo, g, lay, f"layout {lay}: {how}")
    # channels per group: a total count along an axis is divided by groups
    if in_total:
        if n_in % g:
            raise ValueError(f"groups={g} does not divide the {n_in} input channels")
        in_pg = n_in // g
    else:
        in_pg = n_in
    if out_total:
        if n_out % g:
            raise ValueError(f"groups={g} does not divide the {n_out} output channels")
        out_pg = n_out // g
    else:
        out_pg = n_out
    if lay == "keras_depthwise":
        out_pg = n_out  # the depth multiplier: outputs per input channel
    fi, fo = in_pg * rf, out_pg * rf
    how = (f"layout {lay}: shape {shp}, in axis {ia} ({n_in}{'' if in_total else ' per group'}), "
           f"out axis {oa} ({n_out}{' per group' if not out_total else ''}), receptive field "
           f"{spatial} = {rf}, groups {g}: fan_in = {in_pg} * {rf} = {fi}, "
           f"fan_out = {out_pg} * {rf} = {fo}")
    return _Geometry(shp, ia, oa, fi, fo, g, lay, how)


def compute_fans(shape: Any, layout: str | None = None, groups: int = 1, *,
                 in_axis: int | None = None, out_axis: int | None = None,
                 torch_compat: bool = False, explain: bool = False):
    """``(fan_in, fan_out)`` of a dense or convolution weight of ``shape``.

    Parameters
    ----------
    shape : tuple of ints
        The weight's shape (at least 2 dimensions).
    layout : str, optional
        ``"keras"`` (default; dense ``(fan_in, fan_out)``, convolutions ``(*k, in/groups, out)``),
        ``"torch"`` (``(out, in/groups, *k)``), ``"torch_transposed"`` (``(in, out/groups, *k)``),
        ``"keras_transposed"`` (``(*k, out/groups, in)``), ``"keras_depthwise"``
        (``(*k, in, multiplier)``). Aliases ``"tf"``, ``"jax"`` = ``"keras"``.
    groups : int, optional
        Convolution groups; must divide the channel counts stored in full.
    in_axis, out_axis : int, optional
        Explicit axes instead of ``layout`` (JAX's convention: the in axis holds ``in/groups``).
    torch_compat : bool, optional
        Count as the layout's library does (torch layouts: ``shape[1] * rf``, ``shape[0] * rf``;
        Keras layouts: ``shape[-2] * rf``, ``shape[-1] * rf``; explicit axes: the two axes as
        stored), ignoring ``groups``: wrong for grouped, depthwise and transposed convolutions,
        but what ``torch.nn.init``/Keras compute.
    explain : bool, optional
        Also return a sentence saying how the fans were obtained.

    Returns
    -------
    (fan_in, fan_out) : tuple of int
        Or ``(fan_in, fan_out, explanation)`` with ``explain=True``.

    Raises
    ------
    ValueError
        Fewer than 2 dimensions (torch's wording), unknown layout (valid ones listed), groups that
        do not divide the channels, in/out axes out of range or equal.

    Notes
    -----
    For a grouped convolution each output unit sees ``in/groups`` channels over the receptive
    field and each input unit feeds ``out/groups`` channels: ``fan_in = in/groups * rf`` and
    ``fan_out = out/groups * rf``. torch counts ``fan_out = out * rf`` (pytorch #23854) and, for
    transposed convolutions, swaps in and out; Keras counts a depthwise kernel's fan_in as
    ``in * rf`` (keras #11773).

    Examples
    --------
    >>> from fastinit.init import compute_fans
    >>> compute_fans((784, 256))
    (784, 256)
    >>> compute_fans((64, 32, 3, 3), layout="torch")
    (288, 576)
    >>> compute_fans((64, 8, 3, 3), layout="torch", groups=4)
    (72, 144)
    """
    g = _geometry(shape, layout, groups, in_axis, out_axis, torch_compat)
    if explain:
        return g.fan_in, g.fan_out, g.explanation
    return g.fan_in, g.fan_out


# ---- scheme specifications ---------------------------------------------------------------------------

@dataclass(frozen=True)
class InitSpec:
    """A scheme resolved for given fans: the law each weight is drawn from.

    Attributes
    ----------
    name : str
        The scheme (canonical name).
    distribution : str
        ``"normal"`` (N(loc, scale**2)), ``"uniform"`` (U(-bound, bound)), ``"truncated_normal"``
        (N(loc, scale**2) truncated to [loc + a*scale, loc + b*scale], a and b in standard
        deviations, as :meth:`fastinit.Generator.truncated_normal`), ``"uniform_interval"``
        (U(low, high)), ``"constant"`` (``value``), or a structured scheme that only
        :func:`layer_weights` generates (``"orthogonal"``, ``"eye"``, ``"dirac"``,
        ``"delta_orthogonal"``, ``"sparse"``).
    loc, scale, bound, a, b, value, low, high : float
        The law's parameters (unused ones are 0 or infinite).
    gain, sparsity : float
        Parameters of the structured schemes.
    """

    name: str
    distribution: str
    loc: float = 0.0
    scale: float = 0.0
    bound: float = 0.0
    a: float = -math.inf
    b: float = math.inf
    value: float = 0.0
    low: float = 0.0
    high: float = 0.0
    gain: float = 1.0
    sparsity: float = 0.0
    std: float = field(default=math.nan)

    def __post_init__(self) -> None:
        if math.isnan(self.std):
            object.__setattr__(self, "std", self._std())

    def _std(self) -> float:
        d = self.distribution
        if d == "normal":
            return self.scale
        if d == "uniform":
            return self.bound / _SQRT3
        if d == "truncated_normal":
            return self.scale * truncnorm_std(self.a, self.b)
        if d == "uniform_interval":
            return (self.high - self.low) / (2 * _SQRT3)
        if d == "constant":
            return 0.0
        return math.nan


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("normal", "truncated_normal", "uniform")
_PRESETS = ("torch", "keras")


def _gain(gain: Any, name: str = "gain") -> float:
    return check_scale(gain, name)


def _fan(name: str, mode: Any, fan_in: int, fan_out: int) -> float:
    if mode not in _MODES:
        raise ValueError(f"unknown mode {mode!r}; valid modes are {list(_MODES)}")
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    if n <= 0:
        raise ValueError(f"{name}: {mode} is 0, and the scheme divides by it "
                         f"(fan_in={fan_in}, fan_out={fan_out})")
    return n


def _distribution(distribution: Any, preset: Any, allowed: tuple, default: str) -> str:
    if preset is not None and preset not in _PRESETS:
        raise ValueError(f"unknown preset {preset!r}; valid presets are {list(_PRESETS)}")
    if distribution is None:
        distribution = "truncated_normal" if (preset == "keras" and default == "normal") else default
    if distribution == "untruncated_normal":  # Keras's name
        distribution = "normal"
    if distribution not in allowed:
        raise ValueError(f"unknown distribution {distribution!r}; valid distributions are "
                         f"{list(allowed)}")
    return distribution


def _variance_spec(name: str, var: float, distribution: str) -> InitSpec:
    """Zero-mean weights of variance ``var`` (truncated normals rescaled to reach it)."""
    if distribution == "normal":
        return InitSpec(name, "normal", scale=math.sqrt(var))
    if distribution == "uniform":
        return InitSpec(name, "uniform", bound=math.sqrt(3.0 * var))
    a, b = _TRUNC
    if var == 0:
        return InitSpec(name, "constant", value=0.0)
    return InitSpec(name, "truncated_normal", scale=math.sqrt(var) / truncnorm_std(a, b), a=a, b=b)


def _s_zeros(fi, fo):
    return InitSpec("zeros", "constant", value=0.0)


def _s_ones(fi, fo):
    return InitSpec("ones", "constant", value=1.0)


def _s_constant(fi, fo, value=0.0):
    return InitSpec("constant", "constant", value=check_finite(value, "value"))


def _s_normal(fi, fo, mean=0.0, std=0.01):
    return InitSpec("normal", "normal", loc=check_finite(mean, "mean"), scale=check_scale(std, "std"))


def _s_uniform(fi, fo, low=-0.05, high=0.05):
    lo, hi = check_finite(low, "low"), check_finite(high, "high")
    if hi - lo < 0:
        raise ValueError("high - low < 0")
    if not math.isfinite(hi - lo):
        raise OverflowError("high - low range exceeds valid bounds")
    if lo == -hi:
        return InitSpec("uniform", "uniform", bound=hi)
    return InitSpec("uniform", "uniform_interval", low=lo, high=hi, loc=(lo + hi) / 2)


def _s_truncated_normal(fi, fo, mean=0.0, std=1.0, a=-2.0, b=2.0, unit_variance=False):
    loc, scale = check_finite(mean, "mean"), check_scale(std, "std")
    fa, fb = check_truncation(a, b)
    if scale == 0:
        return InitSpec("truncated_normal", "constant", value=loc, loc=loc)
    if unit_variance:
        scale = scale / truncnorm_std(fa, fb)
    return InitSpec("truncated_normal", "truncated_normal", loc=loc, scale=scale, a=fa, b=fb)


def _s_variance_scaling(fi, fo, scale=1.0, mode="fan_in", distribution="truncated_normal"):
    s = check_scale(scale, "scale")
    dist = _distribution(distribution, None, _DISTRIBUTIONS, "truncated_normal")
    n = _fan("variance_scaling", mode, fi, fo)
    return _variance_spec("variance_scaling", s / n, dist)


def _glorot_family(name, mode, fi, fo, gain, distribution, preset):
    """LeCun (fan_in) and Glorot (fan_avg) schemes: variance gain**2 / n."""
    uniform = name.endswith("_uniform")
    dist = _distribution(distribution, preset, ("uniform",) if uniform else
                         ("normal", "truncated_normal"), "uniform" if uniform else "normal")
    g = _gain(gain)
    return _variance_spec(name, g * g / _fan(name, mode, fi, fo), dist)


def _s_lecun_normal(fi, fo, gain=1.0, *, distribution=None, preset=None):
    return _glorot_family("lecun_normal", "fan_in", fi, fo, gain, distribution, preset)


def _s_lecun_uniform(fi, fo, gain=1.0, *, preset=None):
    return _glorot_family("lecun_uniform", "fan_in", fi, fo, gain, None, preset)


def _s_xavier_normal(fi, fo, gain=1.0, *, distribution=None, preset=None):
    return _glorot_family("xavier_normal", "fan_avg", fi, fo, gain, distribution, preset)


def _s_xavier_uniform(fi, fo, gain=1.0, *, preset=None):
    return _glorot_family("xavier_uniform", "fan_avg", fi, fo, gain, None, preset)


def _he_var(name, fi, fo, a, mode, nonlinearity):
    g = calculate_gain(nonlinearity, a)
    return g * g / _fan(name, mode, fi, fo)


def _s_he_normal(fi, fo, a=0.0, mode="fan_in", nonlinearity="leaky_relu", *, distribution=None,
                 preset=None):
    dist = _distribution(distribution, preset, ("normal", "truncated_normal"), "normal")
    return _variance_spec("he_normal", _he_var("he_normal", fi, fo, a, mode, nonlinearity), dist)


def _s_he_uniform(fi, fo, a=0.0, mode="fan_in", nonlinearity="leaky_relu", *, preset=None):
    _distribution(None, preset, ("uniform",), "uniform")
    return _variance_spec("he_uniform", _he_var("he_uniform", fi, fo, a, mode, nonlinearity),
                          "uniform")


def _s_orthogonal(fi, fo, gain=1.0):
    return InitSpec("orthogonal", "orthogonal", gain=_gain(gain))


def _s_eye(fi, fo, gain=1.0):
    return InitSpec("eye", "eye", gain=_gain(gain))


def _s_dirac(fi, fo, gain=1.0):
    return InitSpec("dirac", "dirac", gain=_gain(gain))


def _s_delta_orthogonal(fi, fo, gain=1.0):
    return InitSpec("delta_orthogonal", "delta_orthogonal", gain=_gain(gain))


def _s_sparse(fi, fo, sparsity=0.9, std=0.01):
    sp = check_finite(sparsity, "sparsity")
    if not 0 <= sp <= 1:
        raise ValueError(f"sparsity must be in [0, 1], got {sp}")
    return InitSpec("sparse", "sparse", scale=check_scale(std, "std"), sparsity=sp)


# the seed notes' names: literal formulas of the course notes
def _s_small(fi, fo):
    return InitSpec("small", "normal", scale=0.01)


def _s_randn(fi, fo):
    return InitSpec("randn", "normal", scale=1.0)


def _s_lecture_xavier(fi, fo):
    n = _fan("lecture_xavier", "fan_in", fi, fo)
    return InitSpec("lecture_xavier", "normal", scale=1.0 / math.sqrt(n))


def _s_lecture_he(fi, fo):
    n = _fan("he", "fan_in", fi, fo)
    return InitSpec("he", "normal", scale=1.0 / math.sqrt(n / 2))


_BUILDERS: dict[str, Callable[..., InitSpec]] = {
    "zeros": _s_zeros,
    "ones": _s_ones,
    "constant": _s_constant,
    "normal": _s_normal,
    "uniform": _s_uniform,
    "truncated_normal": _s_truncated_normal,
    "variance_scaling": _s_variance_scaling,
    "lecun_normal": _s_lecun_normal,
    "lecun_uniform": _s_lecun_uniform,
    "xavier_normal": _s_xavier_normal,
    "xavier_uniform": _s_xavier_uniform,
    "he_normal": _s_he_normal,
    "he_uniform": _s_he_uniform,
    "orthogonal": _s_orthogonal,
    "eye": _s_eye,
    "dirac": _s_dirac,
    "delta_orthogonal": _s_delta_orthogonal,
    "sparse": _s_sparse,
}

#: Aliases of scheme names.
_ALIASES = {
    "glorot_normal": "xavier_normal",
    "glorot_uniform": "xavier_uniform",
    "kaiming_normal": "he_normal",
    "kaiming_uniform": "he_uniform",
    "identity": "eye",
    "delta": "dirac",
}

#: The course notes' names for their hand-written schemes (usable wherever a scheme name is).
SEED_NOTE_NAMES = {
    "small": "0.01 * randn(M1, M2)",
    "randn": "1.0 * randn(M1, M2)",
    "lecun": "LeCun: variance 1 / M1 (lecun_normal)",
    "lecture_xavier": "randn(M1, M2) / sqrt(M1), the lecture's 'Xavier' (= LeCun)",
    "he": "randn(M1, M2) / sqrt(M1 / 2) (He, variance 2 / M1)",
    "glorot": "Glorot: variance 2 / (M1 + M2) (xavier_normal)",
}
_SEED_BUILDERS = {
    "small": _s_small,
    "randn": _s_randn,
    "lecun": _s_lecun_normal,
    "lecture_xavier": _s_lecture_xavier,
    "he": _s_lecture_he,
    "glorot": _s_xavier_normal,
}

#: Every scheme name :func:`resolve` accepts (canonical names, aliases, seed-note names).
SCHEMES = tuple(sorted(set(_BUILDERS) | set(_ALIASES) | set(_SEED_BUILDERS)))

#: Schemes whose law depends on the fans (the others also accept zero-size shapes).
_FAN_FREE = {"zeros", "ones", "constant", "normal", "uniform", "truncated_normal", "small", "randn",
             "sparse"}


def _builder(init: Any) -> tuple[str, Callable[..., InitSpec]]:
    if not isinstance(init, str):
        raise TypeError(f"init must be a scheme name (str), got {type(init).__name__}")
    if init in _SEED_BUILDERS:
        return init, _SEED_BUILDERS[init]
    name = _ALIASES.get(init, init)
    if name not in _BUILDERS:
        raise ValueError(f"unknown init scheme {init!r}; valid schemes are {list(SCHEMES)}")
    return name, _BUILDERS[name]


def _spec_for(init: Any, fan_in: int, fan_out: int, kwargs: Mapping[str, Any]) -> InitSpec:
    name, build = _builder(init)
    params = inspect.signature(build).parameters
    for k in kwargs:
        if k not in params or k in ("fi", "fo"):
            valid = [p for p in params if p not in ("fi", "fo")]
            raise TypeError(f"{init}() got an unexpected keyword argument {k!r}; its parameters "
                            f"are {valid}")
    return build(fan_in, fan_out, **kwargs)


def _nonneg_int(v: Any, name: str) -> int:
    n = check_int(v, name)
    if n < 0:
        raise ValueError("negative dimensions are not allowed")
    return n


def resolve(init: str, fan_in: int, fan_out: int, *, dtype: Any = np.float32,
            **init_kwargs: Any) -> InitSpec:
    """The law a scheme gives a ``(fan_in, fan_out)`` layer.

    Parameters
    ----------
    init : str
        A scheme name (see :data:`SCHEMES`): a function of this module (``"xavier_normal"``,
        ``"he_uniform"``, ``"normal"``, ``"orthogonal"``, ...), an alias (``"glorot_*"``,
        ``"kaiming_*"``) or a seed-note name (:data:`SEED_NOTE_NAMES`: ``"small"``, ``"randn"``,
        ``"lecun"``, ``"lecture_xavier"``, ``"he"``, ``"glorot"``).
    fan_in, fan_out : int
        The layer's fans.
    dtype : {np.float32, np.float64}
        The weights' dtype.
    **init_kwargs
        The scheme's parameters (``gain``, ``mode``, ``std``, ``distribution``, ``preset``...).

    Returns
    -------
    InitSpec

    Raises
    ------
    ValueError
        Unknown scheme (the message names it and lists the valid ones), bad parameters, a zero
        fan the scheme divides by.
    TypeError
        A parameter the scheme does not take, a dtype other than float32/float64.

    Examples
    --------
    >>> from fastinit.init import resolve
    >>> s = resolve("he_normal", 512, 256)
    >>> s.distribution, round(s.scale, 6)
    ('normal', 0.0625)
    """
    float_dtype(dtype, "resolve")
    fi, fo = _nonneg_int(fan_in, "fan_in"), _nonneg_int(fan_out, "fan_out")
    return _spec_for(init, fi, fo, init_kwargs)


# ---- generation -------------------------------------------------------------------------------------

def _rng(rng: Any) -> Generator:
    if rng is None:
        from .random import get_generator

        return get_generator()
    if isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a seed, a SeedSequence or a fastinit.Generator, not a "
                        "numpy.random.Generator")
    return default_rng(rng)


def _householder_reflectors(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LAPACK reflectors (``?larfg``) of the rows of a C-ordered (n, m) matrix, n <= m, in place.

    Row k, from column k on, is the vector x = (alpha, x[1:]) of reflector k. On return row k
    holds v[1:] = x[1:] / (alpha - beta) after column k and zeros up to it (columns <= k are
    read by no one: ``?orgqr`` takes v[0] = 1 and ignores the transposed matrix's upper
    triangle), and the function returns tau = (beta - alpha) / beta with beta =
    -copysign(hypot(alpha, ||x[1:]||), alpha), so H = I - tau v v^T maps x to beta e1; a zero
    tail gives tau = 0 and beta = alpha, as ``?larfg`` does. The scalars are computed in
    float64, so tau and v agree (tau v^T v = 2) to the output dtype's rounding.

    Returns
    -------
    tau : ndarray of b's dtype, shape (n,)
    beta : ndarray of float64, shape (n,)
    """
    n = b.shape[0]
    k = np.arange(n)
    alpha = b[k, k].astype(np.float64)
    b[np.tri(n, b.shape[1], dtype=bool)] = 0   # keep the strict upper trapezoid: the tails x[1:]
    xnorm = np.sqrt(np.einsum("ij,ij->i", b, b, dtype=np.float64))
    zero = xnorm == 0
    beta = np.where(zero, alpha, -np.copysign(np.hypot(alpha, xnorm), alpha))
    tau = np.where(zero, 0.0, (beta - alpha) / np.where(zero, 1.0, beta))
    scale = np.where(zero, 0.0, 1.0 / np.where(zero, 1.0, alpha - beta))
    b *= scale.astype(b.dtype)[:, None]
    return tau.astype(b.dtype), beta


def _orthonormal(gen: Generator, rows: int, cols: int, dt: np.dtype) -> np.ndarray:
    """A Haar-distributed (rows, cols) matrix with orthonormal rows (rows <= cols) or columns.

    The Q of a Householder QR of an (m, n) Gaussian matrix, m >= n, without computing the
    factorisation: the vector that reflector k of ``?geqrf`` annihilates is again a standard
    Gaussian vector of length m - k, independent of reflectors 0..k-1 (rotation invariance), so
    n fresh Gaussian vectors of lengths m, m - 1, ..., m - n + 1 give reflectors with exactly the
    law of ``?geqrf``'s, and LAPACK's ``?orgqr`` forms Q from them. The diagonal of R is
    beta_k; multiplying column k of Q by sign(beta_k) makes the law exactly Haar (Mezzadri
    2007; Stewart 1980). This replaced ``scipy.linalg.qr`` of the same draw (about 2x faster:
    no ``?geqrf``), so the values for a given seed changed; the law did not.
    """
    from scipy.linalg import lapack

    m, n = max(rows, cols), min(rows, cols)
    # (n, m) in C order is the Fortran-ordered (m, n) matrix ?orgqr wants; row k, from column
    # k on, is the Gaussian vector of reflector k
    b = gen.standard_normal((n, m), dtype=dt)
    tau, beta = _householder_reflectors(b)
    orgqr = lapack.sorgqr if dt == np.float32 else lapack.dorgqr
    a = b.T
    # workspace query (n * block size: the blocked path); it reads nothing, so no copy of a
    work = orgqr(a, tau, lwork=-1, overwrite_a=True)[1]
    q, _, info = orgqr(a, tau, lwork=max(int(work[0]), n), overwrite_a=True)
    if info != 0:  # pragma: no cover - only bad arguments make ?orgqr fail
        raise RuntimeError(f"LAPACK ?orgqr failed (info={info})")
    d = np.sign(beta)
    d[d == 0] = 1
    q *= d.astype(dt)
    return q if rows >= cols else q.T


def _structured(spec: InitSpec, geo: _Geometry, gen: Generator, dt: np.dtype,
                torch_compat: bool) -> np.ndarray:
    shp = geo.shape
    ia, oa = geo.in_axis, geo.out_axis
    d = spec.distribution
    if d == "orthogonal":
        # (out, everything else) matrix, as torch (out, in*k) and Keras (k*in, out).T do
        perm = (oa,) + tuple(i for i in range(len(shp)) if i != oa)
        rows = shp[oa]
        cols = int(np.prod([shp[i] for i in perm[1:]]))
        if rows * cols == 0:
            return np.zeros(shp, dt)
        m = _orthonormal(gen, rows, cols, dt)
        if spec.gain != 1:
            m *= dt.type(spec.gain)
        w = m.reshape([shp[i] for i in perm])
        return np.ascontiguousarray(np.transpose(w, np.argsort(perm)))
    if d == "eye":
        if len(shp) != 2:
            raise ValueError(f"eye needs a 2-D shape, got {shp}; use dirac for convolutions")
        w = np.zeros(shp, dt)
        k = min(shp)
        w[np.arange(k), np.arange(k)] = spec.gain
        return w
    if d in ("dirac", "delta_orthogonal"):
        w = np.zeros(shp, dt)
        sp = geo.spatial_axes
        center = tuple(shp[i] // 2 for i in sp)
        n_in, n_out, g = shp[ia], shp[oa], geo.groups
        # the (out, in) channel matrix of the centre tap, as stored along the two channel axes
        if d == "delta_orthogonal":
            if g != 1:
                raise ValueError("delta_orthogonal needs groups=1")
            mat = _orthonormal(gen, n_out, n_in, dt)
        elif geo.layout == "keras_depthwise":
            mat = np.zeros((n_out, n_in), dt)
            mat[0, :] = 1  # multiplier 0 of every channel passes it through
        elif g == 1:
            mat = np.eye(n_out, n_in, dtype=dt)
        elif geo.layout in ("keras_transposed", "torch_transposed"):
            mat = np.zeros((n_out, n_in), dt)   # stored (in, out/g): in channel j*ipg + c -> c
            ipg = n_in // g
            for j in range(g):
                for c in range(min(n_out, ipg)):
                    mat[c, j * ipg + c] = 1
        else:
            mat = np.zeros((n_out, n_in), dt)   # stored (out, in/g): torch's dirac_ with groups
            opg = n_out // g
            for j in range(g):
                for c in range(min(opg, n_in)):
                    mat[j * opg + c, c] = 1
        if spec.gain != 1:
            mat *= dt.type(spec.gain)
        idx = [slice(None)] * len(shp)
        for ax, c in zip(sp, center):
            idx[ax] = c
        # after fixing the spatial axes the remaining axes are (in, out) in their stored order
        view = w[tuple(idx)]
        view[...] = mat.T if ia < oa else mat
        return w
    if d == "sparse":
        if len(shp) != 2:
            raise ValueError(f"sparse needs a 2-D shape, got {shp}")
        w = gen.normal(0.0, spec.scale, shp, dtype=dt)
        # Martens: each output unit keeps only part of its incoming weights. Keys from the same
        # stream choose which; torch_compat zeros a fraction of each stored column instead.
        axis = 0 if torch_compat else ia
        n = shp[axis]
        nz = math.ceil(spec.sparsity * n)
        if nz and w.size:
            keys = gen.random(shp, dtype=np.float32)
            order = np.argsort(keys, axis=axis, kind="stable")
            zero_idx = np.take(order, np.arange(nz), axis=axis)
            np.put_along_axis(w, zero_idx, 0, axis=axis)
        return w
    raise AssertionError(d)


def _draw(spec: InitSpec, gen: Generator, out: np.ndarray) -> None:
    """Fill the C-contiguous ``out`` with the i.i.d. law of ``spec`` (one draw, C order)."""
    d = spec.distribution
    if d == "normal":
        gen.normal(spec.loc, spec.scale, dtype=out.dtype, out=out)
    elif d == "uniform":
        gen.uniform(-spec.bound, spec.bound, dtype=out.dtype, out=out)
    elif d == "uniform_interval":
        gen.uniform(spec.low, spec.high, dtype=out.dtype, out=out)
    elif d == "truncated_normal":
        gen.truncated_normal(spec.loc, spec.scale, spec.a, spec.b, dtype=out.dtype, out=out)
    elif d == "constant":
        out.fill(spec.value)
    else:
        raise AssertionError(d)


_IID = ("normal", "uniform", "uniform_interval", "truncated_normal", "constant")


def _generate(spec: InitSpec, geo: _Geometry, gen: Generator, dt: np.dtype,
              out: np.ndarray | None, torch_compat: bool = False) -> np.ndarray:
    """The values of ``spec`` for ``geo.shape``, in ``out`` (any contiguous order) or a new array."""
    if spec.distribution in _IID:
        if out is not None and out.flags.c_contiguous:
            _draw(spec, gen, out)
            return out
        arr = np.empty(geo.shape, dt)
        _draw(spec, gen, arr)
    else:
        arr = _structured(spec, geo, gen, dt, torch_compat)
    if out is None:
        return arr
    np.copyto(out, arr)
    return out


def layer_weights(init: str, fan_in: int, fan_out: int, *, layer: int, seed: Any,
                  dtype: Any = np.float32, **init_kwargs: Any) -> np.ndarray:
    """Layer ``layer``'s ``(fan_in, fan_out)`` weights of :func:`network`, alone.

    Parameters
    ----------
    init : str
        Scheme name (as :func:`resolve`).
    fan_in, fan_out : int
        The layer's fans.
    layer : int
        0-based layer index: the weights come from stream ``stream_id("weights", layer)``.
    seed : int, sequence of ints or numpy.random.SeedSequence
        The network's seed.
    dtype : {np.float32, np.float64}
    **init_kwargs
        The scheme's parameters.

    Returns
    -------
    ndarray of shape (fan_in, fan_out)
        Exactly ``network(widths, init, seed=seed)[layer]`` for any widths with these fans there.
    """
    dt = float_dtype(dtype, "layer_weights")
    fi, fo = _nonneg_int(fan_in, "fan_in"), _nonneg_int(fan_out, "fan_out")
    gen = Generator(_seed_seq(seed), stream_id("weights", operator.index(layer)))
    geo = _geometry((fi, fo))
    return _generate(_spec_for(init, fi, fo, init_kwargs), geo, gen, dt, None)


def _seed_seq(seed: Any) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is None:
        from .random import get_generator

        # drawn from the global generator: reproducible after fastinit.random.seed(...)
        words = get_generator().raw(4)
        return np.random.SeedSequence([int(w) for w in words])
    if isinstance(seed, Generator):
        raise TypeError("seed must be an int, a sequence of ints or a SeedSequence; a network "
                        "derives one stream per layer from it")
    return np.random.SeedSequence(seed)


def _widths(widths: Any) -> list[int]:
    try:
        ws = [_nonneg_int(w, "widths") for w in widths]
    except TypeError as e:
        if "iterable" in str(e):
            raise TypeError("widths must be a sequence of layer widths") from None
        raise
    if len(ws) < 2:
        raise ValueError(f"widths must hold at least 2 layer widths (input and output), got {ws}")
    return ws


def network(widths: Sequence[int], init: str = "xavier_normal", *, seed: Any = None,
            dtype: Any = np.float32, bias: str | None = None,
            bias_kwargs: Mapping[str, Any] | None = None, **init_kwargs: Any):
    """Weights (and biases) of a dense network of layer ``widths``, one stream per layer.

    Parameters
    ----------
    widths : sequence of int
        Layer widths, input first (e.g. ``[784] + [1000] * L + [10]``).
    init : str, default "xavier_normal"
        Scheme name (:data:`SCHEMES`, including the seed-note names).
    seed : int, sequence of ints or numpy.random.SeedSequence, optional
        One seed for the whole network. ``None`` draws one from the global generator
        (:func:`fastinit.random.seed` makes it reproducible).
    dtype : {np.float32, np.float64}
    bias : None, "zeros" or a scheme name, optional
        ``None`` returns only weights; otherwise biases of shape ``(fan_out,)`` drawn with the
        layer's fans and ``bias_kwargs``.
    bias_kwargs : mapping, optional
        Parameters of the bias scheme (``{"std": 0.1}`` for ``bias="normal"``).
    **init_kwargs
        Parameters of the weight scheme.

    Returns
    -------
    list of ndarray, or (list of ndarray, list of ndarray)
        Weights ``(widths[l], widths[l + 1])``; with ``bias`` also the biases.

    Notes
    -----
    Layer ``l`` (0-based) is one draw, in C order, from
    ``Generator(SeedSequence(seed), stream=stream_id("weights", l))``: for the i.i.d. schemes
    ``.normal(spec.loc, spec.scale, (fan_in, fan_out), dtype)``,
    ``.uniform(-spec.bound, spec.bound, ...)`` or
    ``.truncated_normal(spec.loc, spec.scale, spec.a, spec.b, ...)`` with ``spec =
    resolve(init, fan_in, fan_out)``; biases come from ``stream_id("biases", l)``. Hence a layer
    does not depend on the others, on the order they are made in or on the thread count, and
    :func:`fastinit.stack.simulate` (which generates the same weights in C) and
    :func:`layer_weights` give the same values bit for bit.

    Examples
    --------
    >>> import fastinit.init as fi
    >>> Ws = fi.network([784, 1000, 1000, 10], "he_normal", seed=0)
    >>> [W.shape for W in Ws]
    [(784, 1000), (1000, 1000), (1000, 10)]
    """
    dt = float_dtype(dtype, "network")
    ws = _widths(widths)
    ss = _seed_seq(seed)
    # every layer's parameters are checked before anything is drawn
    specs = _layer_specs(ws, init, init_kwargs, bias, bias_kwargs or {})
    # layer l as layer_weights(init, ws[l], ws[l + 1], layer=l, seed=ss, dtype=dt) draws it
    weights = [_generate(w, _geometry((ws[l], ws[l + 1])), Generator(ss, stream_id("weights", l)),
                         dt, None)
               for l, (w, _) in enumerate(specs)]
    if bias is None:
        return weights
    biases = [_bias_values(b, bias, ws[l + 1], Generator(ss, stream_id("biases", l)), dt)
              for l, (_, b) in enumerate(specs)]
    return weights, biases


def _layer_specs(widths: Sequence[int], init: Any, kwargs: Mapping[str, Any], bias: Any = None,
                 bias_kwargs: Mapping[str, Any] | None = None) -> list:
    """``(weight spec, bias spec or None)`` of each layer of a dense stack of ``widths``.

    Checked layer by layer (weights before biases), so the first bad layer raises; each distinct
    ``(fan_in, fan_out)`` is resolved once: a spec is a function of the scheme, the fans and the
    parameters, and resolving inspects the scheme's signature (~0.1 ms, 0.1 s at depth 1000).
    """
    by_shape: dict = {}
    out = []
    for l in range(len(widths) - 1):
        shape = (widths[l], widths[l + 1])
        if shape not in by_shape:
            by_shape[shape] = (_spec_for(init, *shape, kwargs),
                               None if bias is None else _spec_for(bias, *shape, bias_kwargs))
        out.append(by_shape[shape])
    return out


def _bias_values(spec: InitSpec, init: Any, fan_out: int, gen: Generator,
                 dt: np.dtype) -> np.ndarray:
    if spec.distribution not in _IID:
        raise ValueError(f"{init!r} cannot initialize a bias (it needs a matrix); use zeros, "
                         "constant, normal, uniform, truncated_normal or a variance scheme")
    out = np.empty(fan_out, dt)
    _draw(spec, gen, out)
    return out


def bias(fan_in: int, fan_out: int, init: str = "zeros", *, dtype: Any = np.float32,
         rng: Any = None, **init_kwargs: Any) -> np.ndarray:
    """A layer's bias vector of shape ``(fan_out,)``.

    Parameters
    ----------
    fan_in, fan_out : int
        The layer's fans (schemes such as ``"lecun_uniform"`` use them: ``bias(fan_in,
        fan_out, "uniform", low=-1/sqrt(fan_in), high=1/sqrt(fan_in))`` is torch's
        ``nn.Linear`` default).
    init : str, default "zeros"
        An i.i.d. scheme (``zeros``, ``constant``, ``normal``, ``uniform``, ``truncated_normal``,
        the variance schemes, the seed-note names).
    dtype : {np.float32, np.float64}
    rng : None, seed, SeedSequence or Generator
        ``None``: the global generator of :mod:`fastinit.random`.
    **init_kwargs
        The scheme's parameters.

    Returns
    -------
    ndarray of shape (fan_out,)

    Raises
    ------
    ValueError
        A structured scheme (orthogonal, eye, ...), and the scheme's own errors.
    """
    dt = float_dtype(dtype, "bias")
    fi, fo = _nonneg_int(fan_in, "fan_in"), _nonneg_int(fan_out, "fan_out")
    spec = _spec_for(init, fi, fo, init_kwargs)
    return _bias_values(spec, init, fo, _rng(rng), dt)


# ---- Fixup ----------------------------------------------------------------------------------------

def fixup_scale(num_branches: int, layers_per_branch: int) -> float:
    """Fixup's rescaling ``L ** (-1 / (2 m - 2))`` of the inner layers of each residual branch.

    Parameters
    ----------
    num_branches : int
        ``L``, the number of residual branches (>= 1).
    layers_per_branch : int
        ``m``, the layers in each branch (>= 2).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        ``num_branches < 1`` or ``layers_per_branch < 2`` (the exponent is undefined for m = 1).

    References
    ----------
    .. [1] H. Zhang, Y. N. Dauphin, T. Ma, "Fixup initialization: residual learning without
       normalization", ICLR 2019.
    """
    L = _nonneg_int(num_branches, "num_branches")
    m = _nonneg_int(layers_per_branch, "layers_per_branch")
    if L < 1:
        raise ValueError(f"num_branches must be >= 1, got {L}")
    if m < 2:
        raise ValueError(f"layers_per_branch must be >= 2 (the exponent -1/(2m-2) needs m >= 2), "
                         f"got {m}")
    return float(L) ** (-1.0 / (2 * m - 2))


@dataclass
class Fixup:
    """A residual stack initialized the Fixup way (returned by :func:`fixup`).

    Attributes
    ----------
    branches : list of list of ndarray
        ``branches[i][j]``: weight ``(width, width)`` of layer ``j`` of branch ``i``; every layer
        but the last is He-normal times :func:`fixup_scale`, the last is zero.
    classifier : ndarray or None
        ``(width, num_classes)`` zeros.
    scale : float
        The factor applied, ``L ** (-1 / (2 m - 2))``.
    biases : list of list of float
        Fixup's scalar biases (zero), two per layer of each branch (before and after).
    multipliers : list of float
        Fixup's scalar multiplier of each branch (one).
    """

    branches: list
    classifier: np.ndarray | None
    scale: float
    biases: list
    multipliers: list


def fixup(num_branches: int, layers_per_branch: int, width: int, num_classes: int | None = None,
          *, nonlinearity: str = "relu", dtype: Any = np.float32, rng: Any = None) -> Fixup:
    """Initialize a residual stack of dense branches the Fixup way.

    Parameters
    ----------
    num_branches : int
        ``L`` residual branches.
    layers_per_branch : int
        ``m >= 2`` layers in each branch, each ``(width, width)``.
    width : int
        The residual stream's width.
    num_classes : int, optional
        Adds a zero ``(width, num_classes)`` classifier.
    nonlinearity : str, default "relu"
        Gain of the He-normal inner layers (:func:`calculate_gain`).
    dtype : {np.float32, np.float64}
    rng : None, seed, SeedSequence or Generator

    Returns
    -------
    Fixup

    Notes
    -----
    Branch layer ``j < m - 1`` is drawn as ``he_normal`` and multiplied by
    ``fixup_scale(L, m)``; the last layer of each branch and the classifier are zero, so every
    branch starts as the identity map of the residual stream.
    """
    s = fixup_scale(num_branches, layers_per_branch)
    dt = float_dtype(dtype, "fixup")
    w = _nonneg_int(width, "width")
    gen = _rng(rng)
    gain = calculate_gain(nonlinearity)
    branches = []
    for _ in range(num_branches):
        layers = []
        for j in range(layers_per_branch):
            if j < layers_per_branch - 1:
                std = gain / math.sqrt(_fan("fixup", "fan_in", w, w)) * s
                layers.append(gen.normal(0.0, std, (w, w), dtype=dt))
            else:
                layers.append(np.zeros((w, w), dt))
        branches.append(layers)
    clf = None if num_classes is None else np.zeros((w, _nonneg_int(num_classes, "num_classes")), dt)
    biases = [[0.0] * (2 * layers_per_branch) for _ in range(num_branches)]
    return Fixup(branches, clf, s, biases, [1.0] * num_branches)


# ---- the public schemes: new arrays and in-place twins --------------------------------------------

def _is_torch_tensor(x: Any) -> bool:
    # no import of torch: a tensor's class lives in the torch package
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach")


def _buffer(target: Any, fname: str) -> tuple[np.ndarray, bool]:
    """A writable NumPy view of ``target`` (ndarray or torch CPU tensor), checked, not copied."""
    is_torch = _is_torch_tensor(target)
    if is_torch:
        t = target.detach()  # an nn.Parameter requires grad; the detached tensor shares memory
        if t.device.type != "cpu":
            raise ValueError(f"{fname} fills CPU tensors only, got a tensor on {t.device}")
        name = str(t.dtype).replace("torch.", "")
        if name not in ("float32", "float64"):
            raise TypeError(f"Unsupported dtype torch.{name} for {fname}")
        try:
            arr = np.from_dlpack(t)
        except (TypeError, RuntimeError, BufferError):
            arr = t.numpy()
    elif isinstance(target, np.ndarray):
        arr = target
    else:
        raise TypeError(f"{fname} fills a NumPy array or a PyTorch CPU tensor, got "
                        f"{type(target).__name__}")
    if arr.dtype.newbyteorder("=") not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"Unsupported dtype {arr.dtype!r} for {fname}")
    f = arr.flags
    if not ((f.c_contiguous or f.f_contiguous) and f.writeable and f.aligned
            and arr.dtype.isnative):
        raise ValueError(_OUT_LAYOUT_MSG)
    return arr, is_torch


def _geometry_for(name: str, shape: Any, layout, groups, in_axis, out_axis, torch_compat):
    shp = normalize_size(shape)
    if shp is None:
        raise TypeError("shape must be an int or a tuple of ints, got None")
    canon = _builder(name)[0]
    if len(shp) < 2 and canon in _FAN_FREE:
        # fan-free schemes take any shape (bias vectors, scalars)
        return _Geometry(shp, -1, -1, 0, 0, 1, "none", "no fans (scheme does not use them)")
    return _geometry(shp, layout, groups, in_axis, out_axis, torch_compat)


def _make(name: str, summary: str, params_doc: str, notes: str, example: str):
    """The scheme ``name`` as a new-array function and its in-place twin ``name_``."""
    build = _BUILDERS[name]
    sparams = [p for p in inspect.signature(build).parameters.values() if p.name not in ("fi", "fo")]
    ssig = inspect.Signature(sparams)
    P = inspect.Parameter
    geo_params = [P("layout", P.KEYWORD_ONLY, default=None), P("groups", P.KEYWORD_ONLY, default=1),
                  P("in_axis", P.KEYWORD_ONLY, default=None),
                  P("out_axis", P.KEYWORD_ONLY, default=None),
                  P("torch_compat", P.KEYWORD_ONLY, default=False)]
    pos = [p for p in sparams if p.kind is P.POSITIONAL_OR_KEYWORD]
    kwo = [p for p in sparams if p.kind is P.KEYWORD_ONLY]

    def bind(args, kwargs):
        try:
            return ssig.bind(*args, **kwargs).arguments
        except TypeError as e:
            raise TypeError(f"{name}(): {e}; its parameters are {list(ssig.parameters)}") from None

    def new(shape, *args, dtype=np.float32, rng=None, layout=None, groups=1, in_axis=None,
            out_axis=None, torch_compat=False, **kwargs):
        kw = bind(args, kwargs)
        dt = float_dtype(dtype, name)
        geo = _geometry_for(name, shape, layout, groups, in_axis, out_axis, torch_compat)
        spec = _spec_for(name, geo.fan_in, geo.fan_out, kw)  # every check before the stream moves
        return _generate(spec, geo, _rng(rng), dt, None, torch_compat)

    def inplace(tensor, *args, rng=None, layout=None, groups=1, in_axis=None, out_axis=None,
                torch_compat=False, **kwargs):
        kw = bind(args, kwargs)
        arr, is_torch = _buffer(tensor, name + "_")
        if layout is None and in_axis is None and out_axis is None and is_torch:
            layout = "torch"
        geo = _geometry_for(name, arr.shape, layout, groups, in_axis, out_axis, torch_compat)
        spec = _spec_for(name, geo.fan_in, geo.fan_out, kw)
        gen = _rng(rng)
        if arr.size:
            _generate(spec, geo, gen, arr.dtype, arr, torch_compat)
        return tensor

    new.__signature__ = inspect.Signature(
        [P("shape", P.POSITIONAL_OR_KEYWORD)] + pos + kwo
        + [P("dtype", P.KEYWORD_ONLY, default=np.float32), P("rng", P.KEYWORD_ONLY, default=None)]
        + geo_params)
    inplace.__signature__ = inspect.Signature(
        [P("tensor", P.POSITIONAL_OR_KEYWORD)] + pos + kwo
        + [P("rng", P.KEYWORD_ONLY, default=None)] + geo_params)
    new.__name__ = new.__qualname__ = name
    inplace.__name__ = inplace.__qualname__ = name + "_"
    new.__module__ = inplace.__module__ = __name__
    common = _COMMON_DOC
    new.__doc__ = _NEW_DOC.format(summary=summary, params=params_doc, common=common, notes=notes,
                                  example=example, name=name)
    inplace.__doc__ = _INPLACE_DOC.format(summary=summary, params=params_doc, common=common,
                                          notes=notes, name=name)
    return new, inplace


_COMMON_DOC = """\
rng : None, int, sequence of ints, numpy.random.SeedSequence or fastinit.Generator, optional
    Source of randomness. ``None`` draws from the global generator that
    :func:`fastinit.random.seed` sets.
layout : str, optional
    Where the channels are (:func:`compute_fans`): ``"keras"`` for arrays (dense
    ``(fan_in, fan_out)``, convolutions ``(*k, in/groups, out)``), ``"torch"`` for torch
    tensors filled in place (``(out, in/groups, *k)``), ``"torch_transposed"``,
    ``"keras_transposed"``, ``"keras_depthwise"``.
groups : int, optional
    Convolution groups (fans are counted per group).
in_axis, out_axis : int, optional
    Explicit channel axes instead of ``layout`` (JAX's convention).
torch_compat : bool, optional
    Count fans as torch/Keras do (groups ignored, transposed convolutions swapped)."""

_NEW_DOC = """{summary}

Parameters
----------
shape : int or tuple of ints
    Shape of the weight array.
{params}
dtype : {{np.float32, np.float64}}, default np.float32
    Output type.
{common}

Returns
-------
ndarray
    A new C-ordered array of ``shape`` and ``dtype``.

Raises
------
ValueError
    Unknown mode/distribution/nonlinearity/layout/preset (the valid ones are listed), negative
    or non-finite gain/std (``gain < 0``, ``std must be finite``), fans of a shape with fewer
    than 2 dimensions, a zero fan the scheme divides by, ``groups`` that do not divide the
    channels.
TypeError
    Unsupported dtype, malformed shape, an unknown parameter.

See Also
--------
{name}_ : the same scheme, in place.

Notes
-----
Values are drawn in C order of ``shape``; an i.i.d. scheme ``s`` gives exactly
``resolve(s, fan_in, fan_out)``'s law, e.g. ``rng.normal(spec.loc, spec.scale, shape, dtype)``.
{notes}

Examples
--------
{example}
"""

_INPLACE_DOC = """In place: {summary}

Parameters
----------
tensor : ndarray or torch.Tensor
    A writable float32/float64 buffer: a NumPy array (C- or F-contiguous) or a PyTorch CPU
    tensor, including an ``nn.Parameter`` (it is detached first; the detached tensor shares its
    memory). Element ``[i, j, ...]`` receives the same value as in the new array of the same
    shape, whatever the memory order. torch is not imported unless a tensor is given.
{params}
{common}

Returns
-------
ndarray or torch.Tensor
    ``tensor`` itself.

Raises
------
TypeError
    A buffer that is not a float32/float64 NumPy array or torch tensor
    (``Unsupported dtype dtype('int32') for {name}_``).
ValueError
    A read-only, non-contiguous, misaligned or byte-swapped buffer (NumPy's ``out=`` message),
    a tensor not on the CPU, and the errors of :func:`{name}`. Nothing is written when an
    argument is rejected.

Notes
-----
{notes}
"""

_P_GAIN = "gain : float, default 1.0\n    Multiplier of the standard deviation (``>= 0``, finite)."
_P_DIST = ("distribution : {'normal', 'truncated_normal'}, optional\n"
           "    ``'normal'`` (default; torch's meaning) or Keras's ``'truncated_normal'``: truncated\n"
           "    at two standard deviations and rescaled to the scheme's variance.")
_P_PRESET = ("preset : {'torch', 'keras'}, optional\n"
             "    ``'keras'`` makes the default distribution ``'truncated_normal'``, as Keras's\n"
             "    initializers of the same name.")
_P_HE = ("a : float, default 0\n    Negative slope of leaky_relu (torch's ``a``).\n"
         "mode : {'fan_in', 'fan_out', 'fan_avg'}, default 'fan_in'\n"
         "    ``'fan_in'`` preserves the forward variance, ``'fan_out'`` the backward one.\n"
         "nonlinearity : str, default 'leaky_relu'\n    Gain from :func:`calculate_gain`.")

zeros, zeros_ = _make(
    "zeros", "Weights equal to 0.", "", "Zero weights make every unit of a layer compute the same "
    "function and receive the same gradient: the symmetry is never broken (use them for biases "
    "and Fixup's last layers only).",
    ">>> import fastinit.init as fi\n>>> fi.zeros((3, 2))\narray([[0., 0.],\n       [0., 0.],\n"
    "       [0., 0.]], dtype=float32)")
ones, ones_ = _make("ones", "Weights equal to 1.", "", "Same symmetry problem as :func:`zeros`.",
                    ">>> import fastinit.init as fi\n>>> w = fi.ones((3, 2))")
constant, constant_ = _make(
    "constant", "Weights equal to ``value``.", "value : float, default 0\n    The constant (finite).",
    "Same symmetry problem as :func:`zeros`.",
    ">>> import fastinit.init as fi\n>>> w = fi.constant((3, 2), 0.5)")
normal, normal_ = _make(
    "normal", "Weights from N(mean, std**2): the course notes' small random init ``0.01 * randn``.",
    "mean : float, default 0\n    Mean (finite).\nstd : float, default 0.01\n"
    "    Standard deviation (``>= 0``, finite).",
    "The default ``std=0.01`` is the notes' ``0.01 * np.random.randn(M1, M2)``; activations of a "
    "deep tanh/ReLU network initialized this way shrink geometrically (vanishing signal).",
    ">>> import fastinit.init as fi\n>>> W = fi.normal((784, 256), std=0.01, rng=0)")
uniform, uniform_ = _make(
    "uniform", "Weights from U(low, high).",
    "low, high : float, default -0.05, 0.05\n    Bounds (Keras's RandomUniform defaults; finite, "
    "``high >= low``).", "Never equal to ``high``.",
    ">>> import fastinit.init as fi\n>>> W = fi.uniform((784, 256), -0.1, 0.1, rng=0)")
truncated_normal, truncated_normal_ = _make(
    "truncated_normal", "Weights from N(mean, std**2) truncated to [mean + a*std, mean + b*std].",
    "mean : float, default 0\n    Location of the parent normal.\nstd : float, default 1\n"
    "    Scale of the parent normal.\na, b : float, default -2, 2\n"
    "    Bounds **in standard deviations** (Keras/JAX/SciPy's convention; "
    "``torch.nn.init.trunc_normal_``'s ``a``, ``b`` are absolute values, which coincide when "
    "``mean=0, std=1``).\nunit_variance : bool, default False\n"
    "    Divide ``std`` by the truncated law's standard deviation so the values have standard "
    "deviation ``std``.",
    "Sampled by an inverse CDF that keeps full precision in both tails: no value lies outside or "
    "on a bound, even in float32 and for far intervals such as [8, 9].",
    ">>> import fastinit.init as fi\n>>> W = fi.truncated_normal((784, 256), std=0.05, rng=0)")
variance_scaling, variance_scaling_ = _make(
    "variance_scaling", "Keras/JAX's VarianceScaling: zero-mean weights of variance scale / n.",
    "scale : float, default 1\n    Variance multiplier (``>= 0``).\n"
    "mode : {'fan_in', 'fan_out', 'fan_avg'}, default 'fan_in'\n    ``n``.\n"
    "distribution : {'truncated_normal', 'normal', 'uniform'}, default 'truncated_normal'\n"
    "    ``'truncated_normal'`` is truncated at 2 standard deviations and rescaled "
    "(0.87962566103423978 for [-2, 2]) to reach the variance; ``'uniform'`` is "
    "U(-sqrt(3 scale / n), sqrt(3 scale / n)); ``'untruncated_normal'`` is ``'normal'``.",
    "lecun_*, xavier_* and he_* are this scheme with scale 1 (fan_in), 1 (fan_avg, times gain**2) "
    "and gain**2 (fan_in).",
    ">>> import fastinit.init as fi\n>>> W = fi.variance_scaling((784, 256), 2.0, 'fan_in', 'normal')")
lecun_normal, lecun_normal_ = _make(
    "lecun_normal", "LeCun normal: zero mean, variance gain**2 / fan_in.",
    _P_GAIN + "\n" + _P_DIST + "\n" + _P_PRESET,
    "The course notes' ``randn(M1, M2) / sqrt(M1)``, which they call \"Xavier\" (seed-note name "
    "``'lecture_xavier'``). Keras's lecun_normal is the truncated version (``preset='keras'``). "
    "With gain 1 it preserves the forward variance of linear layers and is SELU's "
    "self-normalizing init.",
    ">>> import fastinit.init as fi\n>>> W = fi.lecun_normal((784, 256), rng=0)  # ~ randn/sqrt(784)")
lecun_uniform, lecun_uniform_ = _make(
    "lecun_uniform", "LeCun uniform: U(-b, b) with b = gain * sqrt(3 / fan_in).",
    _P_GAIN + "\n" + _P_PRESET, "Variance gain**2 / fan_in, as :func:`lecun_normal`.",
    ">>> import fastinit.init as fi\n>>> W = fi.lecun_uniform((784, 256), rng=0)")
xavier_normal, xavier_normal_ = _make(
    "xavier_normal", "Glorot/Xavier normal: zero mean, variance gain**2 * 2 / (fan_in + fan_out).",
    _P_GAIN + "\n" + _P_DIST + "\n" + _P_PRESET,
    "torch's ``xavier_normal_`` and Keras's ``glorot_normal`` (truncated, ``preset='keras'``). "
    "The course notes' \"Xavier\" ``randn / sqrt(M1)`` is :func:`lecun_normal`. Alias "
    ":func:`glorot_normal`.",
    ">>> import fastinit.init as fi\n>>> W = fi.xavier_normal((784, 256), gain=5/3, rng=0)")
xavier_uniform, xavier_uniform_ = _make(
    "xavier_uniform", "Glorot/Xavier uniform: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)).",
    _P_GAIN + "\n" + _P_PRESET, "torch's ``xavier_uniform_``, Keras's ``glorot_uniform``. Alias "
    ":func:`glorot_uniform`.",
    ">>> import fastinit.init as fi\n>>> W = fi.xavier_uniform((784, 256), rng=0)")
he_normal, he_normal_ = _make(
    "he_normal", "He/Kaiming normal: zero mean, std = gain / sqrt(fan), gain from the nonlinearity.",
    _P_HE + "\n" + _P_DIST + "\n" + _P_PRESET,
    "With the defaults (``a=0``, leaky_relu, i.e. ReLU) the variance is 2 / fan_in: the notes' "
    "``randn(M1, M2) / sqrt(M1 / 2)``. torch's ``kaiming_normal_``; Keras's ``he_normal`` is the "
    "truncated version (``preset='keras'``). Alias :func:`kaiming_normal`.",
    ">>> import fastinit.init as fi\n>>> W = fi.he_normal((784, 256), rng=0)  # ~ randn * sqrt(2/784)")
he_uniform, he_uniform_ = _make(
    "he_uniform", "He/Kaiming uniform: U(-b, b), b = gain * sqrt(3 / fan).", _P_HE + "\n" + _P_PRESET,
    "torch's ``kaiming_uniform_``, Keras's ``he_uniform``. Alias :func:`kaiming_uniform`.",
    ">>> import fastinit.init as fi\n>>> W = fi.he_uniform((784, 256), rng=0)")
orthogonal, orthogonal_ = _make(
    "orthogonal", "A (semi-)orthogonal matrix times gain, Haar-distributed.",
    _P_GAIN,
    "The array is viewed as the matrix M = (out channels, everything else) (torch flattens "
    "``(out, in * k)``, Keras ``(k * in, out)``, the same matrix); M has orthonormal rows if it "
    "has fewer rows than columns, else orthonormal columns. For a dense ``(fan_in, fan_out)`` "
    "W: ``W @ W.T = gain**2 I`` when fan_in <= fan_out, else ``W.T @ W = gain**2 I``. The Q "
    "of QR of a Gaussian matrix without the factorisation: Householder reflectors of fresh "
    "Gaussian vectors (the law of ``?geqrf``'s), Q formed by LAPACK's ``?orgqr`` through "
    "SciPy in the output dtype, with the signs of R's diagonal moved into Q, which makes the "
    "law exactly Haar (Mezzadri 2007).",
    ">>> import numpy as np, fastinit.init as fi\n>>> W = fi.orthogonal((256, 512), rng=0)\n"
    ">>> bool(np.allclose(W @ W.T, np.eye(256), atol=1e-5))\nTrue")
eye, eye_ = _make(
    "eye", "The identity matrix (ones on the main diagonal of a rectangular matrix) times gain.",
    _P_GAIN, "2-D shapes only; :func:`dirac` is its convolution analogue. Alias :func:`identity`.",
    ">>> import fastinit.init as fi\n>>> W = fi.eye((3, 4))")
dirac, dirac_ = _make(
    "dirac", "A convolution kernel that passes channel c to channel c (Dirac delta at the centre).",
    _P_GAIN, "Zero everywhere except the spatial centre tap, where the (out, in) channel matrix is "
    "the identity (per group with ``groups``, as torch's ``dirac_``): the layer is the identity "
    "map on the first min(in, out) channels. On a 2-D shape it is :func:`eye`.",
    ">>> import fastinit.init as fi\n>>> K = fi.dirac((16, 16, 3, 3), layout='torch')")
delta_orthogonal, delta_orthogonal_ = _make(
    "delta_orthogonal", "Delta-orthogonal convolution kernel (Xiao et al. 2018).", _P_GAIN,
    "Zero everywhere except the spatial centre tap, where the (out, in) channel matrix is a "
    "Haar (semi-)orthogonal matrix times gain; it makes deep CNNs dynamically isometric. "
    "``groups`` must be 1.",
    ">>> import fastinit.init as fi\n>>> K = fi.delta_orthogonal((3, 3, 16, 32), rng=0)")
sparse, sparse_ = _make(
    "sparse", "Martens's sparse init: a fraction of each unit's incoming weights is zero, the rest "
    "N(0, std**2).",
    "sparsity : float, default 0.9\n    Fraction of zeros per output unit, in [0, 1] (ceil(sparsity "
    "* fan_in) zeros).\nstd : float, default 0.01\n    Standard deviation of the non-zero weights.",
    "2-D shapes only. Zeros are placed per output unit, i.e. per column of a dense (fan_in, fan_out) "
    "array (Martens 2010). ``torch_compat=True`` zeros a fraction of each stored column as "
    "torch's ``sparse_`` does (for torch's (out, in) layout: per input unit).",
    ">>> import fastinit.init as fi\n>>> W = fi.sparse((784, 256), sparsity=0.9, rng=0)")

glorot_normal, glorot_normal_ = xavier_normal, xavier_normal_
glorot_uniform, glorot_uniform_ = xavier_uniform, xavier_uniform_
kaiming_normal, kaiming_normal_ = he_normal, he_normal_
kaiming_uniform, kaiming_uniform_ = he_uniform, he_uniform_
identity, identity_ = eye, eye_

_PUBLIC_SCHEMES = ("zeros", "ones", "constant", "normal", "uniform", "truncated_normal",
                   "variance_scaling", "lecun_normal", "lecun_uniform", "xavier_normal",
                   "xavier_uniform", "he_normal", "he_uniform", "orthogonal", "eye", "dirac",
                   "delta_orthogonal", "sparse", "glorot_normal", "glorot_uniform",
                   "kaiming_normal", "kaiming_uniform", "identity")
__all__ += [n for s in _PUBLIC_SCHEMES for n in (s, s + "_")]
