"""Pure-NumPy reference formulas for fastinit.init: fans, gains and the law of every scheme.

Written from the papers and the torch/Keras documentation, independently of fastinit.init.
"""

import math

import numpy as np
from scipy import stats

TRUNC_STD_2 = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2] (Keras/JAX constant)


def gain(nonlinearity, param=None):
    """torch.nn.init.calculate_gain's table."""
    table = {"linear": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0,
             "conv_transpose1d": 1.0, "conv_transpose2d": 1.0, "conv_transpose3d": 1.0,
             "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 0.75}
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    return table[nonlinearity]


def fans(shape, layout="keras", groups=1, in_axis=None, out_axis=None):
    """Correct (fan_in, fan_out): per group, times the receptive field."""
    shape = tuple(shape)
    nd = len(shape)
    if in_axis is not None or out_axis is not None:
        ia = (-2 if in_axis is None else in_axis) % nd
        oa = (-1 if out_axis is None else out_axis) % nd
        rf = int(np.prod([d for i, d in enumerate(shape) if i not in (ia, oa)]))
        return shape[ia] * rf, shape[oa] // groups * rf
    if layout == "torch":                       # (out, in/g, *k)
        rf = int(np.prod(shape[2:]))
        return shape[1] * rf, shape[0] // groups * rf
    if layout == "torch_transposed":            # (in, out/g, *k)
        rf = int(np.prod(shape[2:]))
        return shape[0] // groups * rf, shape[1] * rf
    rf = int(np.prod(shape[:-2]))
    if layout == "keras":                       # (*k, in/g, out)
        return shape[-2] * rf, shape[-1] // groups * rf
    if layout == "keras_transposed":            # (*k, out/g, in)
        return shape[-1] // groups * rf, shape[-2] * rf
    if layout == "keras_depthwise":             # (*k, in, multiplier)
        return rf, shape[-1] * rf
    raise ValueError(layout)


def torch_fans(shape):
    """torch.nn.init._calculate_fan_in_and_fan_out."""
    rf = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * rf, shape[0] * rf


def keras_fans(shape):
    """Keras's _compute_fans (last two axes, the rest receptive field)."""
    rf = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * rf, shape[-1] * rf


def _fan(mode, fi, fo):
    return {"fan_in": fi, "fan_out": fo, "fan_avg": (fi + fo) / 2}[mode]


def _zero_mean(std, distribution):
    if distribution == "normal":
        return ("normal", 0.0, std)
    if distribution == "truncated_normal":
        return ("truncnorm", 0.0, std / TRUNC_STD_2, -2.0, 2.0)
    b = math.sqrt(3.0) * std
    return ("uniform", -b, b)


def law(scheme, fi, fo, **kw):
    """The exact law of each weight: ("normal", mean, std), ("uniform", low, high),
    ("truncnorm", loc, scale, a, b) with a, b in standard deviations, ("constant", value)."""
    preset = kw.get("preset")
    dist_n = kw.get("distribution") or ("truncated_normal" if preset == "keras" else "normal")
    g = kw.get("gain", 1.0)
    if scheme == "zeros":
        return ("constant", 0.0)
    if scheme == "ones":
        return ("constant", 1.0)
    if scheme == "constant":
        return ("constant", kw.get("value", 0.0))
    if scheme == "normal":
        return ("normal", kw.get("mean", 0.0), kw.get("std", 0.01))
    if scheme == "uniform":
        return ("uniform", kw.get("low", -0.05), kw.get("high", 0.05))
    if scheme == "truncated_normal":
        s = kw.get("std", 1.0)
        a, b = kw.get("a", -2.0), kw.get("b", 2.0)
        if kw.get("unit_variance"):
            s = s / math.sqrt(stats.truncnorm.var(a, b))
        return ("truncnorm", kw.get("mean", 0.0), s, a, b)
    if scheme == "variance_scaling":
        n = _fan(kw.get("mode", "fan_in"), fi, fo)
        return _zero_mean(math.sqrt(kw.get("scale", 1.0) / n),
                          kw.get("distribution", "truncated_normal"))
    if scheme in ("lecun_normal", "lecun"):
        return _zero_mean(g / math.sqrt(fi), dist_n)
    if scheme == "lecun_uniform":
        return ("uniform", -g * math.sqrt(3.0 / fi), g * math.sqrt(3.0 / fi))
    if scheme in ("xavier_normal", "glorot_normal", "glorot"):   # torch: gain*sqrt(2/(in+out))
        return _zero_mean(g * math.sqrt(2.0 / (fi + fo)), dist_n)
    if scheme in ("xavier_uniform", "glorot_uniform"):          # torch: gain*sqrt(6/(in+out))
        b = g * math.sqrt(6.0 / (fi + fo))
        return ("uniform", -b, b)
    if scheme in ("he_normal", "kaiming_normal", "he_uniform", "kaiming_uniform"):
        gg = gain(kw.get("nonlinearity", "leaky_relu"), kw.get("a", 0.0))
        std = gg / math.sqrt(_fan(kw.get("mode", "fan_in"), fi, fo))
        if scheme.endswith("uniform"):
            return ("uniform", -math.sqrt(3.0) * std, math.sqrt(3.0) * std)
        return _zero_mean(std, dist_n)
    if scheme == "small":
        return ("normal", 0.0, 0.01)
    if scheme == "randn":
        return ("normal", 0.0, 1.0)
    if scheme == "lecture_xavier":           # randn(M1, M2) / sqrt(M1)
        return ("normal", 0.0, 1.0 / math.sqrt(fi))
    if scheme == "he":                       # randn(M1, M2) / sqrt(M1 / 2)
        return ("normal", 0.0, 1.0 / math.sqrt(fi / 2))
    raise KeyError(scheme)


def frozen(lw):
    """scipy.stats frozen distribution of a law() tuple (for KS tests)."""
    kind = lw[0]
    if kind == "normal":
        return stats.norm(lw[1], lw[2])
    if kind == "uniform":
        return stats.uniform(lw[1], lw[2] - lw[1])
    if kind == "truncnorm":
        _, loc, scale, a, b = lw
        return stats.truncnorm(a, b, loc=loc, scale=scale)
    raise ValueError(kind)


def std_of(lw):
    """Standard deviation of a law() tuple."""
    if lw[0] == "constant":
        return 0.0
    return float(frozen(lw).std())


def fixup_scale(L, m):
    """Zhang et al. 2019: L^(-1/(2m-2))."""
    return L ** (-1.0 / (2 * m - 2))


def haar_first_entry_law(n):
    """Law of (Q[0, 0] + 1) / 2 for Haar Q in O(n): Beta((n-1)/2, (n-1)/2)."""
    return stats.beta((n - 1) / 2, (n - 1) / 2)
