# Type stubs for the Cython extension fastinit._activation (thin wrappers over
# csrc/fi_activation.h). Arrays are 1-d, C-contiguous, all float32 or all float64, of one length;
# validation belongs to the caller.
from typing import Any

import numpy as np
import numpy.typing as npt

_Floats = npt.NDArray[np.floating[Any]]

#: Number of activation codes (the C enum's FI_ACT_COUNT).
COUNT: int

def forward(code: int, p0: float, z: _Floats, out: _Floats) -> None: ...
def backward(code: int, p0: float, z: _Floats, g: _Floats, out: _Floats) -> None: ...
def forward_deriv(code: int, p0: float, z: _Floats, out: _Floats, dphi: _Floats) -> None: ...
def apply_mt(mode: int, code: int, p0: float, z: _Floats, g: _Floats | None, a: _Floats,
             b: _Floats | None, n_threads: int) -> None: ...
