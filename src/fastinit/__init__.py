"""fastinit: fast, exact, reproducible weight initialization and deep-stack propagation.

The C/OpenMP core generates Gaussian and uniform arrays many times faster than NumPy from a
counter-based Philox4x32-10 stream: the same seed gives the same numbers whatever the number of
threads, the SIMD path or the way a request is split into calls.

Main entry points
-----------------
default_rng, Generator, BitGenerator
    NumPy-style random numbers (``standard_normal``, ``normal``, ``random``, ``uniform``,
    ``truncated_normal``).
fastinit.random
    Drop-ins for ``np.random.randn`` and friends.
fastinit.init
    Every initialization scheme (``he_normal``, ``xavier_uniform``, ``orthogonal``, ...), new
    arrays or in place, with exact fans and gains; ``init.network`` for a whole stack.
simulate, propagate, StackResult
    Forward and backward through deep stacks in C with per-layer statistics.
fastinit.theory
    Mean-field theory (length and correlation maps, chi1, phase diagram) beside the measurement.
fastinit.activations, fastinit.data, fastinit.experiments
    The activation registry, the bundled digits data set, the seed notes' experiments.
show_config
    Version, OpenMP, threads and SIMD path.

The heavier modules (``init``, ``theory``, ``stack`` and those that import SciPy or matplotlib)
load on first use, so ``import fastinit`` stays quick.
"""

from __future__ import annotations

import os as _os

__version__ = "0.1.0"

from . import _core
from ._config import config_dict as _config_dict
from ._config import set_simd_path, show_config
from ._generator import BitGenerator, Generator, default_rng, stream_id
from . import random

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING

if _TYPE_CHECKING:  # what the lazy attributes below resolve to, for type checkers
    from . import activations, data, experiments, init, theory
    from .stack import StackResult, propagate, simulate

_LAZY_MODULES = ("activations", "data", "experiments", "init", "theory")
_LAZY_FROM_STACK = ("StackResult", "propagate", "simulate")


def __getattr__(name: str):
    # PEP 562: submodules and the engine's entry points are imported on first access.
    if name in _LAZY_MODULES:
        return _importlib.import_module(f".{name}", __name__)
    if name in _LAZY_FROM_STACK:
        return getattr(_importlib.import_module(".stack", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_FROM_STACK))


if hasattr(_os, "register_at_fork"):
    # libgomp's thread pool does not survive fork(): a child that entered a parallel region would
    # hang. Children run serially instead.
    _os.register_at_fork(after_in_child=_core.mark_forked_child)

__all__ = [
    "__version__",
    "BitGenerator",
    "Generator",
    "StackResult",
    "default_rng",
    "activations",
    "data",
    "experiments",
    "init",
    "propagate",
    "random",
    "set_simd_path",
    "show_config",
    "simulate",
    "stream_id",
    "theory",
]
