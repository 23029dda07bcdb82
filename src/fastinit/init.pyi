# Type stub for fastinit.init. The scheme functions are built at run time (init._make), so
# without this file type checkers and IDEs see none of them. Defaults are the runtime ones
# (tests/test_stubs.py compares every signature here with inspect.signature of the module).
import math
from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence, TypeVar, overload

import numpy as np
import numpy.typing as npt

from fastinit._generator import Generator
from fastinit.activations import Activation

_ShapeLike = int | Sequence[int]
_RNG = int | Sequence[int] | np.random.SeedSequence | Generator | None
_Seed = int | Sequence[int] | np.random.SeedSequence | None
_Array = npt.NDArray[np.floating[Any]]
# an in-place twin returns the buffer it was given (ndarray or torch.Tensor)
_Buf = TypeVar("_Buf")

_Layout = Literal["keras", "tf", "jax", "torch", "keras_transposed", "torch_transposed",
                  "keras_depthwise"]
_Mode = Literal["fan_in", "fan_out", "fan_avg"]
_Preset = Literal["torch", "keras"]
_NormalDistribution = Literal["normal", "truncated_normal", "untruncated_normal"]

__all__: list[str]

#: Every scheme name resolve() accepts (canonical names, aliases, seed-note names).
SCHEMES: tuple[str, ...]
#: The course notes' names for their hand-written schemes.
SEED_NOTE_NAMES: dict[str, str]
#: Layout names accepted by layout= (aliases "tf", "jax" for "keras").
LAYOUTS: tuple[str, ...]

# ---- gains and fans ------------------------------------------------------------------------------

def calculate_gain(nonlinearity: str, param: float | None = None) -> float: ...
def variance_preserving_gain(
    activation: str | Activation,
    criterion: Literal["second_moment", "variance", "backward"] = "second_moment",
    activation_kwargs: Mapping[str, Any] | None = None,
) -> float: ...
@overload
def compute_fans(shape: _ShapeLike, layout: _Layout | None = None, groups: int = 1, *,
                 in_axis: int | None = None, out_axis: int | None = None,
                 torch_compat: bool = False,
                 explain: Literal[False] = False) -> tuple[int, int]: ...
@overload
def compute_fans(shape: _ShapeLike, layout: _Layout | None = None, groups: int = 1, *,
                 in_axis: int | None = None, out_axis: int | None = None,
                 torch_compat: bool = False, explain: Literal[True]) -> tuple[int, int, str]: ...
@overload
def compute_fans(shape: _ShapeLike, layout: _Layout | None = None, groups: int = 1, *,
                 in_axis: int | None = None, out_axis: int | None = None,
                 torch_compat: bool = False,
                 explain: bool = False) -> tuple[int, int] | tuple[int, int, str]: ...

# ---- scheme specifications -----------------------------------------------------------------------

@dataclass(frozen=True)
class InitSpec:
    name: str
    distribution: str
    loc: float = 0.0
    scale: float = 0.0
    bound: float = 0.0
    a: float = -math.inf
    b: float = math.inf
    value: float = 0.0
    low: float = 0.0
    high: float = 0.0
    gain: float = 1.0
    sparsity: float = 0.0
    std: float = math.nan

def resolve(init: str, fan_in: int, fan_out: int, *, dtype: npt.DTypeLike = np.float32,
            **init_kwargs: Any) -> InitSpec: ...

# ---- layers and networks -------------------------------------------------------------------------

def layer_weights(init: str, fan_in: int, fan_out: int, *, layer: int, seed: _Seed,
                  dtype: npt.DTypeLike = np.float32, **init_kwargs: Any) -> _Array: ...
@overload
def network(widths: Sequence[int], init: str = "xavier_normal", *, seed: _Seed = None,
            dtype: npt.DTypeLike = np.float32, bias: None = None,
            bias_kwargs: Mapping[str, Any] | None = None,
            **init_kwargs: Any) -> list[_Array]: ...
@overload
def network(widths: Sequence[int], init: str = "xavier_normal", *, seed: _Seed = None,
            dtype: npt.DTypeLike = np.float32, bias: str,
            bias_kwargs: Mapping[str, Any] | None = None,
            **init_kwargs: Any) -> tuple[list[_Array], list[_Array]]: ...
@overload
def network(widths: Sequence[int], init: str = "xavier_normal", *, seed: _Seed = None,
            dtype: npt.DTypeLike = np.float32, bias: str | None = None,
            bias_kwargs: Mapping[str, Any] | None = None,
            **init_kwargs: Any) -> list[_Array] | tuple[list[_Array], list[_Array]]: ...
def bias(fan_in: int, fan_out: int, init: str = "zeros", *, dtype: npt.DTypeLike = np.float32,
         rng: _RNG = None, **init_kwargs: Any) -> _Array: ...

# ---- Fixup ---------------------------------------------------------------------------------------

def fixup_scale(num_branches: int, layers_per_branch: int) -> float: ...

@dataclass
class Fixup:
    branches: list[list[_Array]]
    classifier: _Array | None
    scale: float
    biases: list[list[float]]
    multipliers: list[float]

def fixup(num_branches: int, layers_per_branch: int, width: int, num_classes: int | None = None,
          *, nonlinearity: str = "relu", dtype: npt.DTypeLike = np.float32,
          rng: _RNG = None) -> Fixup: ...

# ---- the schemes: a new array (shape, ...) and the in-place twin (tensor, ...) -------------------

def zeros(shape: _ShapeLike, *, dtype: npt.DTypeLike = np.float32, rng: _RNG = None,
          layout: _Layout | None = None, groups: int = 1, in_axis: int | None = None,
          out_axis: int | None = None, torch_compat: bool = False) -> _Array: ...
def zeros_(tensor: _Buf, *, rng: _RNG = None, layout: _Layout | None = None, groups: int = 1,
           in_axis: int | None = None, out_axis: int | None = None,
           torch_compat: bool = False) -> _Buf: ...
def ones(shape: _ShapeLike, *, dtype: npt.DTypeLike = np.float32, rng: _RNG = None,
         layout: _Layout | None = None, groups: int = 1, in_axis: int | None = None,
         out_axis: int | None = None, torch_compat: bool = False) -> _Array: ...
def ones_(tensor: _Buf, *, rng: _RNG = None, layout: _Layout | None = None, groups: int = 1,
          in_axis: int | None = None, out_axis: int | None = None,
          torch_compat: bool = False) -> _Buf: ...
def constant(shape: _ShapeLike, value: float = 0.0, *, dtype: npt.DTypeLike = np.float32,
             rng: _RNG = None, layout: _Layout | None = None, groups: int = 1,
             in_axis: int | None = None, out_axis: int | None = None,
             torch_compat: bool = False) -> _Array: ...
def constant_(tensor: _Buf, value: float = 0.0, *, rng: _RNG = None,
              layout: _Layout | None = None, groups: int = 1, in_axis: int | None = None,
              out_axis: int | None = None, torch_compat: bool = False) -> _Buf: ...
def normal(shape: _ShapeLike, mean: float = 0.0, std: float = 0.01, *,
           dtype: npt.DTypeLike = np.float32, rng: _RNG = None, layout: _Layout | None = None,
           groups: int = 1, in_axis: int | None = None, out_axis: int | None = None,
           torch_compat: bool = False) -> _Array: ...
def normal_(tensor: _Buf, mean: float = 0.0, std: float = 0.01, *, rng: _RNG = None,
            layout: _Layout | None = None, groups: int = 1, in_axis: int | None = None,
            out_axis: int | None = None, torch_compat: bool = False) -> _Buf: ...
def uniform(shape: _ShapeLike, low: float = -0.05, high: float = 0.05, *,
            dtype: npt.DTypeLike = np.float32, rng: _RNG = None, layout: _Layout | None = None,
            groups: int = 1, in_axis: int | None = None, out_axis: int | None = None,
            torch_compat: bool = False) -> _Array: ...
def uniform_(tensor: _Buf, low: float = -0.05, high: float = 0.05, *, rng: _RNG = None,
             layout: _Layout | None = None, groups: int = 1, in_axis: int | None = None,
             out_axis: int | None = None, torch_compat: bool = False) -> _Buf: ...
def truncated_normal(shape: _ShapeLike, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                     b: float = 2.0, unit_variance: bool = False, *,
                     dtype: npt.DTypeLike = np.float32, rng: _RNG = None,
                     layout: _Layout | None = None, groups: int = 1, in_axis: int | None = None,
                     out_axis: int | None = None, torch_compat: bool = False) -> _Array: ...
def truncated_normal_(tensor: _Buf, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                      b: float = 2.0, unit_variance: bool = False, *, rng: _RNG = None,
                      layout: _Layout | None = None, groups: int = 1,
                      in_axis: int | None = None, out_axis: int | None = None,
                      torch_compat: bool = False) -> _Buf: ...
def variance_scaling(shape: _ShapeLike, scale: float = 1.0, mode: _Mode = "fan_in",
                     distribution: Literal["truncated_normal", "normal", "untruncated_normal",
                                           "uniform"] = "truncated_normal", *,
                     dtype: npt.DTypeLike = np.float32, rng: _RNG = None,
                     layout: _Layout | None = None, groups: int = 1, in_axis: int | None = None,
                     out_axis: int | None = None, torch_compat: bool = False) -> _Array: ...
def variance_scaling_(tensor: _Buf, scale: float = 1.0, mode: _Mode = "fan_in",
                      distribution: Literal["truncated_normal", "normal", "untruncated_normal",
                                            "uniform"] = "truncated_normal", *, rng: _RNG = None,
                      layout: _Layout | None = None, groups: int = 1,
                      in_axis: int | None = None, out_axis: int | None = None,
                      torch_compat: bool = False) -> _Buf: ...
def lecun_normal(shape: _ShapeLike, gain: float = 1.0, *,
                 distribution: _NormalDistribution | None = None, preset: _Preset | None = None,
                 dtype: npt.DTypeLike = np.float32, rng: _RNG = None,
                 layout: _Layout | None = None, groups: int = 1, in_axis: int | None = None,
                 out_axis: int | None = None, torch_compat: bool = False) -> _Array: ...
def lecun_normal_(tensor: _Buf, gain: float = 1.0, *,
                  distribution: _NormalDistribution | None = None, preset: _Preset | None = None,
                  rng: _RNG = None, layout: _Layout | None = None, groups: int = 1,
                  in_axis: int | None = None, out_axis: int | None = None,
                  torch_compat: bool = False) -> _Buf: ...
def lecun_uniform(shape: _ShapeLike, gain: float = 1.0, *, preset: _Preset | None = None,
                  dtype: npt.DTypeLike = np.float32, rng: _RNG = None,
                  layout: _Layout | None = None, groups: int = 1, in_axis: int | None = None,
                  out_axis: int | None = None, torch_compat: bool = False) -> _Array: ...
def lecun_uniform_(tensor: _Buf, gain: float = 1.0, *, preset: _Preset | None = None,
                   rng: _RNG = None, layout: _Layout | None = None, groups: int = 1,
                   in_axis: int | None = None, out_axis: int | None = None,
                   torch_compat: bool = False) -> _Buf: ...
def xavier_normal(shape: _ShapeLike, gain: float = 1.0, *,
                  distribution: _NormalDistribution | None = None, preset: _Preset | None = None,
                  dtype: npt.DTypeLike = np.float32, rng: _RNG = None,
                  layout: _Layout | None = None, groups: int = 1, in_axis: int | None = None,
                  out_axis: int | None = None, torch_compat: bool = False) -> _Array: ...
def xavier_normal_(tensor: _Buf, gain: float = 1.0, *,
                   distribution: _NormalDistribution | None = None,
                   preset: _Preset | None = None, rng: _RNG = None,
                   layout: _Layout | None = None, groups: int = 1, in_axis: int | None = None,
                   out_axis: int | None = None, torch_compat: bool = False) -> _Buf: ...
def xavier_uniform(shape: _ShapeLike, gain: float = 1.0, *, preset: _Preset | None = None,
                   dtype: npt.DTypeLike = np.float32, rng: _RNG = None,
                   layout: _Layout | None = None, groups: int = 1, in_axis: int | None = None,
                   out_axis: int | None = None, torch_compat: bool = False) -> _Array: ...
def xavier_uniform_(tensor: _Buf, gain: float = 1.0, *, preset: _Preset | None = None,
                    rng: _RNG = None, layout: _Layout | None = None, groups: int = 1,
                    in_axis: int | None = None, out_axis: int | None = None,
                    torch_compat: bool = False) -> _Buf: ...
def he_normal(shape: _ShapeLike, a: float = 0.0, mode: _Mode = "fan_in",
              nonlinearity: str = "leaky_relu", *,
              distribution: _NormalDistribution | None = None, preset: _Preset | None = None,
              dtype: npt.DTypeLike = np.float32, rng: _RNG = None,
              layout: _Layout | None = None, groups: int = 1, in_axis: int | None = None,
              out_axis: int | None = None, torch_compat: bool = False) -> _Array: ...
def he_normal_(tensor: _Buf, a: float = 0.0, mode: _Mode = "fan_in",
               nonlinearity: str = "leaky_relu", *,
               distribution: _NormalDistribution | None = None, preset: _Preset | None = None,
               rng: _RNG = None, layout: _Layout | None = None, groups: int = 1,
               in_axis: int | None = None, out_axis: int | None = None,
               torch_compat: bool = False) -> _Buf: ...
def he_uniform(shape: _ShapeLike, a: float = 0.0, mode: _Mode = "fan_in",
               nonlinearity: str = "leaky_relu", *, preset: _Preset | None = None,
               dtype: npt.DTypeLike = np.float32, rng: _RNG = None,
               layout: _Layout | None = None, groups: int = 1, in_axis: int | None = None,
               out_axis: int | None = None, torch_compat: bool = False) -> _Array: ...
def he_uniform_(tensor: _Buf, a: float = 0.0, mode: _Mode = "fan_in",
                nonlinearity: str = "leaky_relu", *, preset: _Preset | None = None,
                rng: _RNG = None, layout: _Layout | None = None, groups: int = 1,
                in_axis: int | None = None, out_axis: int | None = None,
                torch_compat: bool = False) -> _Buf: ...
def orthogonal(shape: _ShapeLike, gain: float = 1.0, *, dtype: npt.DTypeLike = np.float32,
               rng: _RNG = None, layout: _Layout | None = None, groups: int = 1,
               in_axis: int | None = None, out_axis: int | None = None,
               torch_compat: bool = False) -> _Array: ...
def orthogonal_(tensor: _Buf, gain: float = 1.0, *, rng: _RNG = None,
                layout: _Layout | None = None, groups: int = 1, in_axis: int | None = None,
                out_axis: int | None = None, torch_compat: bool = False) -> _Buf: ...
def eye(shape: _ShapeLike, gain: float = 1.0, *, dtype: npt.DTypeLike = np.float32,
        rng: _RNG = None, layout: _Layout | None = None, groups: int = 1,
        in_axis: int | None = None, out_axis: int | None = None,
        torch_compat: bool = False) -> _Array: ...
def eye_(tensor: _Buf, gain: float = 1.0, *, rng: _RNG = None, layout: _Layout | None = None,
         groups: int = 1, in_axis: int | None = None, out_axis: int | None = None,
         torch_compat: bool = False) -> _Buf: ...
def dirac(shape: _ShapeLike, gain: float = 1.0, *, dtype: npt.DTypeLike = np.float32,
          rng: _RNG = None, layout: _Layout | None = None, groups: int = 1,
          in_axis: int | None = None, out_axis: int | None = None,
          torch_compat: bool = False) -> _Array: ...
def dirac_(tensor: _Buf, gain: float = 1.0, *, rng: _RNG = None,
           layout: _Layout | None = None, groups: int = 1, in_axis: int | None = None,
           out_axis: int | None = None, torch_compat: bool = False) -> _Buf: ...
def delta_orthogonal(shape: _ShapeLike, gain: float = 1.0, *,
                     dtype: npt.DTypeLike = np.float32, rng: _RNG = None,
                     layout: _Layout | None = None, groups: int = 1, in_axis: int | None = None,
                     out_axis: int | None = None, torch_compat: bool = False) -> _Array: ...
def delta_orthogonal_(tensor: _Buf, gain: float = 1.0, *, rng: _RNG = None,
                      layout: _Layout | None = None, groups: int = 1,
                      in_axis: int | None = None, out_axis: int | None = None,
                      torch_compat: bool = False) -> _Buf: ...
def sparse(shape: _ShapeLike, sparsity: float = 0.9, std: float = 0.01, *,
           dtype: npt.DTypeLike = np.float32, rng: _RNG = None, layout: _Layout | None = None,
           groups: int = 1, in_axis: int | None = None, out_axis: int | None = None,
           torch_compat: bool = False) -> _Array: ...
def sparse_(tensor: _Buf, sparsity: float = 0.9, std: float = 0.01, *, rng: _RNG = None,
            layout: _Layout | None = None, groups: int = 1, in_axis: int | None = None,
            out_axis: int | None = None, torch_compat: bool = False) -> _Buf: ...

# aliases (the same function objects at run time)
glorot_normal = xavier_normal
glorot_normal_ = xavier_normal_
glorot_uniform = xavier_uniform
glorot_uniform_ = xavier_uniform_
kaiming_normal = he_normal
kaiming_normal_ = he_normal_
kaiming_uniform = he_uniform
kaiming_uniform_ = he_uniform_
identity = eye
identity_ = eye_
