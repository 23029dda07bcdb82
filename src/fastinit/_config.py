"""Build and run-time configuration: ``fastinit.show_config()``."""

from __future__ import annotations

import os
import platform
import sys

import numpy as np

from . import _core

__all__ = ["show_config", "config_dict", "set_simd_path"]


def config_dict() -> dict:
    """The configuration as a dict (also recorded as provenance in experiment results)."""
    from . import __version__

    return {
        "fastinit": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "openmp": _core.have_openmp(),
        "openmp_version": _core.openmp_version(),
        "default_threads": _core.default_threads(),
        "omp_num_threads_env": os.environ.get("OMP_NUM_THREADS"),
        "cpu_has_avx2_fma": _core.cpu_has_avx2(),
        "simd_path": _core.simd_path(),
        "fastinit_simd_env": os.environ.get("FASTINIT_SIMD"),
        "cpu_count": os.cpu_count(),
    }


def show_config(file=None) -> None:
    """Print fastinit's version, OpenMP status, default thread count and SIMD path.

    The SIMD path is chosen at run time (AVX2 when the CPU has AVX2 and FMA); set the environment
    variable ``FASTINIT_SIMD=baseline`` before import to force the portable path. Sampling and
    elementwise kernels give the same bits on both paths.
    """
    cfg = config_dict()
    out = file or sys.stdout
    width = max(len(k) for k in cfg)
    for key, value in cfg.items():
        print(f"{key:<{width}} : {value}", file=out)


def set_simd_path(name: str) -> str:
    """Switch the SIMD path at run time ("avx2" or "baseline"); returns the path in use.

    Mostly for tests and benchmarks; ``FASTINIT_SIMD`` sets it at start-up.
    """
    if name not in ("avx2", "baseline"):
        raise ValueError(f"unknown SIMD path {name!r}; valid paths are 'avx2', 'baseline'")
    return _core.set_simd_path(name)
