"""Argument checks shared by every public function, worded as NumPy words them.

Everything is checked here, before any array is converted to a typed memoryview or the GIL is
released: after an argument error nothing has changed (no stream moved, no output written).
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

__all__ = [
    "normalize_size",
    "float_dtype",
    "check_out",
    "flat_view",
    "check_scale",
    "check_finite",
    "check_n_threads",
    "check_truncation",
    "check_int",
    "positive_int",
]

_OUT_LAYOUT_MSG = (
    "Supplied output array must be contiguous, writable, aligned, and in machine byte-order."
)


def normalize_size(size: Any) -> tuple[int, ...] | None:
    """``size`` as a shape tuple (None stays None), with NumPy's exceptions and messages."""
    if size is None:
        return None
    if isinstance(size, (bool, np.bool_)):
        raise TypeError(f"expected a sequence of integers or a single integer, got '{size!r}'")
    try:
        dims: tuple[int, ...] = (operator.index(size),)
    except TypeError:
        if isinstance(size, (str, bytes)):
            raise TypeError(f"'{type(size).__name__}' object cannot be interpreted as an integer") from None
        if isinstance(size, (float, np.floating)):
            raise TypeError(
                f"expected a sequence of integers or a single integer, got '{size!r}'"
            ) from None
        try:
            items = list(size)
        except TypeError:
            raise TypeError(
                f"expected a sequence of integers or a single integer, got '{size!r}'"
            ) from None
        out = []
        for item in items:
            if isinstance(item, (bool, np.bool_)):
                raise TypeError("expected a sequence of integers or a single integer, "
                                f"got '{size!r}'")
            try:
                out.append(operator.index(item))
            except TypeError:
                raise TypeError(
                    f"'{type(item).__name__}' object cannot be interpreted as an integer"
                ) from None
        dims = tuple(out)
    if any(d < 0 for d in dims):
        raise ValueError("negative dimensions are not allowed")
    return dims


def float_dtype(dtype: Any, method: str) -> np.dtype:
    """float32 or float64, else NumPy's ``Unsupported dtype ... for <method>``."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"Unsupported dtype {dtype!r} for {method}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"Unsupported dtype {dt!r} for {method}")
    return dt


def check_out(out: Any, dtype: np.dtype, size: tuple[int, ...] | None) -> np.ndarray:
    """Validate a user-supplied ``out=`` array (C- or F-contiguous, writable, aligned, native)."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy array, got {type(out).__name__}")
    if out.dtype != dtype and out.dtype.newbyteorder("=") != dtype:
        raise TypeError(
            "Supplied output array has the wrong type. "
            f"Expected {dtype.name}, got {out.dtype.name}"
        )
    flags = out.flags
    if not (
        (flags.c_contiguous or flags.f_contiguous)
        and flags.writeable
        and flags.aligned
        and out.dtype.isnative
    ):
        raise ValueError(_OUT_LAYOUT_MSG)
    if size is not None and tuple(out.shape) != size:
        raise ValueError("size must match out.shape when used together")
    return out


def flat_view(arr: np.ndarray) -> np.ndarray:
    """A 1-D view of a contiguous array in memory order (never a copy)."""
    flat = arr.reshape(-1, order="F" if (arr.flags.f_contiguous and not arr.flags.c_contiguous) else "C")
    return flat


def check_finite(value: Any, name: str) -> float:
    """A finite Python float, else ``<name> must be finite``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        if np.ndim(value) != 0:
            raise TypeError(f"{name} must be a scalar, got an array of shape {np.shape(value)}") from None
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite")
    return v


def check_scale(value: Any, name: str = "scale") -> float:
    """A finite, non-negative scale (-0.0 counts as negative, as NumPy does)."""
    v = check_finite(value, name)
    if v < 0 or math.copysign(1.0, v) < 0:
        raise ValueError(f"{name} < 0")
    return v


def check_truncation(a: Any, b: Any) -> tuple[float, float]:
    """Truncation bounds ``a < b`` as floats (either may be infinite), else NumPy-style errors.

    Non-numbers raise ``TypeError("a and b must be real scalars")``; ``a >= b`` or a NaN bound
    raises ``ValueError("a >= b")``.
    """
    try:
        fa, fb = float(a), float(b)
    except (TypeError, ValueError):
        raise TypeError("a and b must be real scalars") from None
    if math.isnan(fa) or math.isnan(fb) or not fa < fb:
        raise ValueError("a >= b")
    return fa, fb


def check_int(value: Any, name: str) -> int:
    """``value`` as an int (anything with ``__index__``; bools rejected), else
    ``TypeError("<name> must be an integer, got <value>")``."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None


def positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum`` (bools rejected), else TypeError/ValueError naming
    ``name``."""
    v = check_int(value, name)
    if v < 0:
        raise ValueError(f"{name} must be >= {minimum}, got {v} "
                         "(negative dimensions are not allowed)")
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    return v


def check_n_threads(n_threads: Any) -> int:
    """None -> 0 (the C default: omp_get_max_threads()); otherwise a positive int."""
    if n_threads is None:
        return 0
    if isinstance(n_threads, (bool, np.bool_)):
        raise TypeError("n_threads must be None or a positive integer")
    try:
        n = operator.index(n_threads)
    except TypeError:
        raise TypeError(f"n_threads must be None or a positive integer, got {n_threads!r}") from None
    if n < 1:
        raise ValueError(f"n_threads must be None or a positive integer, got {n}")
    return min(n, 2**31 - 1)
