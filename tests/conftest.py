"""Fixtures shared by the test modules."""

import pytest

import fastinit
from fastinit import _core


@pytest.fixture(params=["avx2", "baseline"])
def simd(request):
    """Run the test on each SIMD path (AVX2 only where the CPU has it), then restore the path."""
    if request.param == "avx2" and not _core.cpu_has_avx2():
        pytest.skip("this CPU has no AVX2+FMA: only the baseline path exists")
    old = _core.simd_path()
    assert fastinit.set_simd_path(request.param) == request.param
    yield request.param
    fastinit.set_simd_path(old)
