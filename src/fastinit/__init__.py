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
show_config
    Version, OpenMP, threads and SIMD path.
"""

from __future__ import annotations

import os as _os

__version__ = "0.1.0"

from . import _core
from ._config import config_dict as _config_dict
from ._config import set_simd_path, show_config
from ._generator import BitGenerator, Generator, default_rng, stream_id
from . import random

if hasattr(_os, "register_at_fork"):
    # libgomp's thread pool does not survive fork(): a child that entered a parallel region would
    # hang. Children run serially instead.
    _os.register_at_fork(after_in_child=_core.mark_forked_child)

__all__ = [
    "__version__",
    "BitGenerator",
    "Generator",
    "default_rng",
    "random",
    "set_simd_path",
    "show_config",
    "stream_id",
]
