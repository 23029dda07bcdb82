"""Drop-ins for the legacy ``numpy.random`` calls the course notes use.

``fastinit.random.randn(M1, M2) * np.sqrt(2 / M1)`` behaves like
``np.random.randn(M1, M2) * np.sqrt(2 / M1)``: same shapes, float64 by default, Python floats
for scalar calls, the same exceptions; only the speed (and the values) differ. All functions
share one global :class:`fastinit.Generator`, which :func:`seed` resets and which
``fastinit.init``'s schemes use when called with ``rng=None``.
"""

from __future__ import annotations

import operator
import threading
from typing import Any

import numpy as np

from ._generator import Generator, default_rng

__all__ = [
    "seed",
    "get_generator",
    "randn",
    "rand",
    "standard_normal",
    "normal",
    "uniform",
    "random",
    "random_sample",
]

_global_lock = threading.Lock()
_global: Generator | None = None


def get_generator() -> Generator:
    """The global generator (created from OS entropy on first use unless :func:`seed` ran)."""
    global _global
    with _global_lock:
        if _global is None:
            _global = default_rng()
        return _global


def seed(seed: Any = None) -> None:
    """Reseed the global generator, like ``np.random.seed``.

    Parameters
    ----------
    seed : None, int in [0, 2**32 - 1], or sequence of such ints

    Raises
    ------
    ValueError
        ``Seed must be between 0 and 2**32 - 1`` (NumPy's legacy wording).
    TypeError
        For a non-integer seed.
    """
    global _global
    if seed is not None:
        values = np.atleast_1d(np.asarray(seed))
        if values.dtype.kind not in "iu" or values.ndim != 1 or values.size == 0:
            if values.dtype.kind == "f":
                raise TypeError(
                    f"Cannot cast scalar from {values.dtype!r} to dtype('int64') according to the rule 'safe'"
                )
            raise TypeError("Seed must be an integer or a sequence of integers")
        if (values < 0).any() or (values > 2**32 - 1).any():
            raise ValueError("Seed must be between 0 and 2**32 - 1")
        entropy: Any = int(values[0]) if np.ndim(seed) == 0 else [int(v) for v in values]
    else:
        entropy = None
    gen = default_rng(entropy)
    with _global_lock:
        _global = gen


def _dims(args: tuple) -> tuple[int, ...] | None:
    if not args:
        return None
    dims = []
    for d in args:
        if isinstance(d, (bool, np.bool_)) or isinstance(d, (float, np.floating)):
            raise TypeError(f"'{type(d).__name__}' object cannot be interpreted as an integer")
        dims.append(operator.index(d))
    if any(d < 0 for d in dims):
        raise ValueError("negative dimensions are not allowed")
    return tuple(dims)


def randn(*dims: int) -> Any:
    """Standard normal float64 samples of shape ``dims`` (a float when called without arguments).

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import random as fr
    >>> fr.seed(0)
    >>> W = fr.randn(784, 256) * np.sqrt(2 / 784)
    """
    return get_generator().standard_normal(_dims(dims))


def rand(*dims: int) -> Any:
    """Uniform float64 samples in [0, 1) of shape ``dims``."""
    return get_generator().random(_dims(dims))


def standard_normal(size: Any = None) -> Any:
    """Standard normal float64 samples (``np.random.standard_normal``)."""
    return get_generator().standard_normal(size)


def normal(loc: float = 0.0, scale: float = 1.0, size: Any = None) -> Any:
    """Normal float64 samples (``np.random.normal``); ``scale < 0`` raises ValueError."""
    return get_generator().normal(loc, scale, size)


def uniform(low: float = 0.0, high: float = 1.0, size: Any = None) -> Any:
    """Uniform float64 samples in [low, high) (``np.random.uniform``)."""
    return get_generator().uniform(low, high, size)


def random(size: Any = None) -> Any:
    """Uniform float64 samples in [0, 1) (``np.random.random``)."""
    return get_generator().random(size)


random_sample = random
