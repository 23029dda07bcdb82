"""Type stub for fastinit._stack, the thin Cython layer over the deep-stack engine
(csrc/fi_stack.h). fastinit.stack validates every argument before calling into it."""

from typing import Sequence

import numpy as np
import numpy.typing as npt

SUMMARY_FIELDS: tuple[str, ...]
DISTRIBUTIONS: dict[str, int]

def gemm(A: npt.NDArray[np.floating], B: npt.NDArray[np.floating],
         C: npt.NDArray[np.floating], n_threads: int) -> None: ...

class Engine:
    is_f64: bool
    depth: int
    batch: int
    pre: npt.NDArray[np.float64]
    act: npt.NDArray[np.float64]
    grad: npt.NDArray[np.float64]
    dw: npt.NDArray[np.float64]
    pre_hist: npt.NDArray[np.int64] | None
    act_hist: npt.NDArray[np.int64] | None
    grad_hist: npt.NDArray[np.int64] | None
    pre_pairs: npt.NDArray[np.float64] | None
    act_pairs: npt.NDArray[np.float64] | None
    def __init__(self, is_f64: bool, batch: int, widths: npt.NDArray[np.int64], n_threads: int,
                 act: int, p0: float, dist: int, wparams: npt.NDArray[np.float64], k0: int,
                 k1: int, streams: npt.NDArray[np.uint64], has_sat: bool, sat_lo: float,
                 sat_hi: float, edges: Sequence[npt.NDArray[np.float64] | None],
                 pairs: npt.NDArray[np.int64] | None) -> None: ...
    def set_weights(self, l: int, W: npt.NDArray[np.floating] | None) -> None: ...
    def set_bias(self, l: int, b: npt.NDArray[np.floating] | None) -> None: ...
    def set_cache_block(self, block: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64]) -> None: ...
    def fill_bias(self, l: int, stream: int, std: float, out: npt.NDArray[np.floating]) -> None: ...
    def uses_gram(self, l: int) -> bool: ...
    def forward(self, l: int, hin: npt.NDArray[np.floating], z: npt.NDArray[np.floating],
                h: npt.NDArray[np.floating]) -> int: ...
    def backward(self, l: int, g: npt.NDArray[np.floating], z: npt.NDArray[np.floating],
                 hprev: npt.NDArray[np.floating], gprev: npt.NDArray[np.floating] | None,
                 dw_out: npt.NDArray[np.floating] | None = ...,
                 db_out: npt.NDArray[np.floating] | None = ...,
                 zprev: npt.NDArray[np.floating] | None = ...,
                 dphi: npt.NDArray[np.floating] | None = ...,
                 dphi_prev: npt.NDArray[np.floating] | None = ...) -> int: ...
    def activate(self, l: int, z: npt.NDArray[np.floating], h: npt.NDArray[np.floating]) -> None: ...
    def stats(self, x: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]: ...
