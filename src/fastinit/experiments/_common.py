"""Argument checks and small helpers shared by the experiment modules."""

from __future__ import annotations

import math

import numpy as np

# re-exported for the experiment modules
from fastinit._validate import check_n_threads, float_dtype, positive_int  # noqa: F401

DTYPES = ("float32", "float64")


def int_list(values, name, *, minimum=1):
    """A non-empty list of ints >= `minimum` (a single int is accepted)."""
    if isinstance(values, (int, np.integer)) and not isinstance(values, (bool, np.bool_)):
        values = [values]
    try:
        items = list(values)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of integers, got {values!r}") from None
    if not items:
        raise ValueError(f"{name} must not be empty")
    return [positive_int(v, f"each of {name}", minimum=minimum) for v in items]


def choices(values, valid, what):
    """A non-empty list of names from `valid`, in the order given, no repeats.

    A single string is one name. Unknown names raise ValueError naming the
    bad value and listing the valid ones.
    """
    if isinstance(values, str):
        values = [values]
    items = list(values)
    if not items:
        raise ValueError(f"at least one {what} is needed; valid: {', '.join(valid)}")
    out = []
    for v in items:
        if v not in valid:
            raise ValueError(f"unknown {what} {v!r}; valid: {', '.join(valid)}")
        if v not in out:
            out.append(v)
    return out


def dtype_list(dtype, func):
    """None -> both float types; one dtype or a sequence -> their names."""
    if dtype is None:
        return list(DTYPES)
    if isinstance(dtype, (list, tuple)):
        items = list(dtype)
        if not items:
            raise ValueError("at least one dtype is needed; valid: float32, float64")
    else:
        items = [dtype]
    out = []
    for d in items:
        name = float_dtype(d, func).name
        if name not in out:
            out.append(name)
    return out


def finite_float(value, name, *, positive=False):
    """A finite float (positive if asked), else ValueError/TypeError naming `name`."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if positive and not v > 0:
        raise ValueError(f"{name} must be > 0, got {v}")
    return v


def small_layer_threads(threads):
    """Engine threads for experiments with small layers: `threads` checked, None -> 1.

    Layers of a few hundred units gain nothing from a second thread, and on a busy machine
    OpenMP's spin-waiting between the many short parallel regions makes two threads up to 10x
    slower. The numbers do not depend on the count.
    """
    check_n_threads(threads)
    return 1 if threads is None else threads


def no_progress(done, total):
    """The default progress callback: does nothing."""


def stats64(x):
    """(mean, std, rms, all_finite, all_zero) of all elements, in float64.

    Values are scaled by a power of two (exact) before squaring, so that
    finite values beyond 1e154 do not overflow the sum of squares; a
    non-finite element gives NaN/inf statistics without warnings.
    """
    x64 = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        finite = bool(np.isfinite(x64).all())
        amax = float(np.max(np.abs(x64))) if x64.size else 0.0
        zero = amax == 0.0
        e = math.frexp(amax)[1] if finite and not zero else 0
        xs = np.ldexp(x64, -e) if e else x64
        mean = math.ldexp(float(xs.mean()), e)
        std = math.ldexp(float(xs.std()), e)
        rms = math.ldexp(float(np.sqrt(np.mean(np.square(xs)))), e)
    return mean, std, rms, finite, zero


# ----------------------------------------------------------- argparse types
# The command line checks values as it parses them, so a bad value is a
# usage error (one line, exit 2) before any work starts.


def _arg(check):
    import argparse

    def convert(text):
        try:
            return check(text)
        except (TypeError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _parse_int(text):
    try:
        return int(text, 10)
    except ValueError:
        raise ValueError(f"expected an integer, got {text!r}") from None


def arg_int(minimum=1):
    """argparse type: an int >= `minimum`."""
    return _arg(lambda t: positive_int(_parse_int(t), "value", minimum=minimum))


def arg_int_list(minimum=1):
    """argparse type: comma-separated ints >= `minimum` (``10,100,1000``)."""
    return _arg(lambda t: int_list([_parse_int(p) for p in t.split(",") if p.strip()], "list",
                                   minimum=minimum))


def arg_names(valid, what):
    """argparse type: comma-separated names from `valid`."""
    return _arg(lambda t: choices([p.strip() for p in t.split(",") if p.strip()], valid, what))


def arg_float(positive=False):
    """argparse type: a finite float (positive if asked)."""
    return _arg(lambda t: finite_float(t, "value", positive=positive))
