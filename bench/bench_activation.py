"""pytest-benchmark cases for the activation kernels (csrc/fi_activation*.c), each in the same group
as its NumPy/SciPy baseline: forward phi(z) and backward g * phi'(z), float32 and float64, one
thread (fastinit._activation.forward/backward are single-threaded; the engine parallelizes).
Outputs are pre-allocated on both sides. ns/element = mean time / n.

Run: ``python -m pytest bench/bench_activation.py --benchmark-only``
(``FASTINIT_SIMD=baseline`` measures the portable SSE2 path instead of AVX2)."""

import numpy as np
import pytest
from scipy import special

import fastinit
from fastinit import _activation as K
from fastinit.activations import get_activation

N = 1 << 16  # 64 Ki elements: in L2 cache, so the kernels, not memory, are measured
SQRT_2_OVER_PI = np.sqrt(2 / np.pi)


def _numpy_forward(name, z, out):
    if name == "tanh":
        return lambda: np.tanh(z, out=out)
    if name == "sigmoid":
        return lambda: special.expit(z, out=out)
    if name == "gelu":
        tmp = np.empty_like(z)
        return lambda: np.multiply(z, special.ndtr(z, out=tmp), out=out)
    if name == "relu":
        return lambda: np.maximum(z, 0, out=out)
    raise AssertionError(name)


def _numpy_backward(name, z, g, out):
    """g * phi'(z) the way a NumPy user writes it (one temporary, reused)."""
    tmp = np.empty_like(z)
    if name == "tanh":
        def run():
            np.tanh(z, out=tmp)
            np.multiply(tmp, tmp, out=tmp)
            np.subtract(1, tmp, out=tmp)
            np.multiply(g, tmp, out=out)
    elif name == "sigmoid":
        def run():
            special.expit(z, out=tmp)
            np.multiply(tmp, 1 - tmp, out=tmp)
            np.multiply(g, tmp, out=out)
    elif name == "gelu":
        tmp2 = np.empty_like(z)

        def run():
            special.ndtr(z, out=tmp)
            np.multiply(z, z, out=tmp2)
            np.exp(np.multiply(tmp2, -0.5, out=tmp2), out=tmp2)
            np.multiply(tmp2, z, out=tmp2)
            np.multiply(tmp2, 1 / np.sqrt(2 * np.pi), out=tmp2)
            np.add(tmp, tmp2, out=tmp)
            np.multiply(g, tmp, out=out)
    elif name == "relu":
        def run():
            np.multiply(g, z > 0, out=out)
    else:
        raise AssertionError(name)
    return run


@pytest.mark.parametrize("impl", ["numpy", "fastinit"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("name", ["tanh", "sigmoid", "gelu", "relu"])
def test_activation(benchmark, name, direction, dtype, impl):
    benchmark.group = f"{name} {direction} {dtype} n={N}"
    benchmark.extra_info["n_threads"] = 1
    benchmark.extra_info["n"] = N
    benchmark.extra_info["simd"] = fastinit._core.simd_path()
    rng = np.random.default_rng(0)
    z = (rng.standard_normal(N) * 2).astype(dtype)
    g = rng.standard_normal(N).astype(dtype)
    out = np.empty_like(z)
    act = get_activation(name)
    if impl == "numpy":
        fn = _numpy_forward(name, z, out) if direction == "forward" else \
            _numpy_backward(name, z, g, out)
    elif direction == "forward":
        def fn():
            K.forward(act.code, act.p0, z, out)
    else:
        def fn():
            K.backward(act.code, act.p0, z, g, out)
    benchmark(fn)
